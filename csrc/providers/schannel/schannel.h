/*
 * schannel.h - the Schannel package: TLS as an SSPI package, over OpenSSL 3
 * libssl on memory BIOs (private to csrc/providers/schannel/).
 *
 * The script owns the transport: a step takes the bytes the peer sent and
 * gives the bytes to send back, exactly like InitializeSecurityContext /
 * AcceptSecurityContext with the Schannel package.  SSPI's stream rules are
 * kept here, not left to OpenSSL:
 *  - a step consumes whole TLS records only (the 5-byte record header is
 *    parsed here); bytes that are not TLS are SEC_E_ILLEGAL_MESSAGE at once;
 *    a partial record is SEC_E_INCOMPLETE_MESSAGE with the missing count and
 *    nothing consumed; bytes past what the step needed come back as EXTRA;
 *  - records that OpenSSL already had to process although SSPI hands them
 *    back to the caller (a post-handshake message met by decrypt, the
 *    handshake paused for a client certificate) are remembered as `replay`:
 *    when the caller feeds them again they are skipped, not processed twice.
 *
 * One concept per file: sch_record.c (record framing), sch_alpn.c (ALPN
 * from an input buffer), sch_cred.c (the
 * SSL_CTX of a credential), sch_cache.c (client session cache),
 * sch_conn.c (the SSL of a context and its buffers), sch_handshake.c
 * (steps), sch_status.c (OpenSSL failures as SSPI statuses), sch_message.c
 * (Encrypt/DecryptMessage, wrap/unwrap), sch_query.c (attributes),
 * sch_provider.c (the vtable).
 */
#ifndef SSPI_SCHANNEL_H
#define SSPI_SCHANNEL_H

#include <pthread.h>

#include <openssl/ssl.h>

#include "../../core/internal.h"

/* ------------------------------------------------ Windows constants */

/* The flags this package honours; any other is refused at acquisition. */
#define SCH_CRED_HONOURED                                                                  \
    (SCH_CRED_NO_SYSTEM_MAPPER | SCH_CRED_NO_SERVERNAME_CHECK | SCH_CRED_MANUAL_CRED_VALIDATION | \
     SCH_CRED_NO_DEFAULT_CREDS | SCH_CRED_AUTO_CRED_VALIDATION | SCH_CRED_DISABLE_RECONNECTS |  \
     SCH_USE_STRONG_CRYPTO | SCH_CRED_RESTRICTED_ROOTS)

/* TLS record layer. */
#define SCH_RECORD_HEADER  5u
#define SCH_MAX_PLAINTEXT  16384u
#define SCH_MAX_RECORD     (16384u + 2048u) /* TLSCiphertext.length limit */

/* ------------------------------------------------------- sch_record.c */

/* Scans the records at the start of in[0..len).  *whole gets the bytes of
 * the first `max_records` whole records (0: as many as there are),
 * *count their number; when not even one is whole, *missing gets the bytes
 * still needed for the first (the rest of the header while it is shorter
 * than 5 bytes).  SEC_E_ILLEGAL_MESSAGE (err says why) when the first bytes
 * that are there are not a TLS record header; a bad header after whole
 * records only ends the scan (it is a later call's to refuse). */
SSPI_INTERNAL sspi_status sch_record_scan(const unsigned char *in, size_t len, size_t max_records,
                                          size_t *whole, size_t *count, size_t *missing,
                                          sspi_error *err);

/* -------------------------------------------------------- sch_alpn.c */

/* Parses a SECBUFFER_APPLICATION_PROTOCOLS (SEC_APPLICATION_PROTOCOLS):
 * *wire points at its ALPN list (wire format, checked) inside in, or NULL
 * when it holds only NPN lists; SEC_E_INVALID_PARAMETER (err says where)
 * for a malformed structure. */
SSPI_INTERNAL sspi_status sch_alpn_parse(const unsigned char *in, size_t len,
                                         const unsigned char **wire, size_t *wire_len,
                                         sspi_error *err);

/* -------------------------------------------------------- sch_cred.c */

/* What a credential asks for (AcquireCredentialsHandle's SCHANNEL_CRED /
 * SCH_CREDENTIALS).  Strings are PEM text or a file path; lists are copied
 * into the SSL_CTX, nothing here is kept. */
typedef struct sch_cred_config {
    int server;                       /* usage inbound */
    const char *certificate;          /* PEM text (with "-----BEGIN") or a path, or NULL */
    const char *private_key;          /* idem; NULL: in the certificate's file */
    const char *ca;                   /* trust anchors; NULL: the system store */
    int verify;                       /* -1 default (outbound: on; inbound: on when ca) */
    uint32_t protocols;               /* SP_PROT_* enabled, 0: TLS 1.2 and 1.3 */
    uint32_t disabled_protocols;      /* SP_PROT_* removed from that */
    const char *const *cipher_suites; /* IANA names, or NULL: OpenSSL's defaults */
    size_t cipher_suite_count;
    const char *const *alpn;          /* protocol names in preference order */
    size_t alpn_count;
    uint32_t flags;                   /* SCH_CRED_* */
} sch_cred_config;

/* Client session cache (sch_cache.c): a few sessions per credential,
 * keyed by target, under a lock (contexts may run in several threads). */
#define SCH_CACHE_SLOTS 16
typedef struct sch_cache_entry {
    char target[256];
    SSL_SESSION *session;
    unsigned long long used;
} sch_cache_entry;

typedef struct sch_cred {
    SSL_CTX *ctx;
    int server;
    int verify;               /* outbound: check chain (and name); inbound: require a client cert */
    int request_client_cert;  /* inbound: ask for one even when not required */
    int check_name;           /* outbound: match the target against the certificate */
    int has_certificate;
    int reconnects;           /* session resumption allowed */
    uint32_t flags;
    unsigned char *alpn_wire; /* server: its ALPN list in wire format */
    size_t alpn_wire_len;
    const sspi_allocator *alloc;
    pthread_mutex_t lock;     /* guards cache */
    sch_cache_entry cache[SCH_CACHE_SLOTS];
    unsigned long long clock;
} sch_cred;

SSPI_INTERNAL sspi_status sch_cred_new(const sch_cred_config *cfg, const sspi_allocator *alloc,
                                       sch_cred **out, sspi_error *err);
SSPI_INTERNAL void sch_cred_free(sch_cred **cred);

/* ------------------------------------------------------ sch_options.c */

/* The options Schannel declares (certificate, ca, protocols, flags ...). */
SSPI_INTERNAL extern const sspi_option_decl sch_options[];
/* The declared options given in opts into cfg (verify -1 when not given). */
SSPI_INTERNAL void sch_options_read(const sspi_cred_options *opts, sch_cred_config *cfg);

/* ------------------------------------------------------- sch_cache.c */

/* Called by OpenSSL when a client session is ready to cache (takes it). */
SSPI_INTERNAL int sch_cache_new_session(SSL *ssl, SSL_SESSION *sess);
/* A cached session for the target set on ssl (its reference taken), or NULL. */
SSPI_INTERNAL void sch_cache_resume(sch_cred *cred, SSL *ssl, const char *target);
SSPI_INTERNAL void sch_cache_clear(sch_cred *cred);

/* -------------------------------------------------------- sch_conn.c */

typedef enum sch_event {
    SCH_EVENT_NONE = 0,
    SCH_EVENT_RENEGOTIATE,   /* a post-handshake message was processed */
    SCH_EVENT_CLOSED         /* close_notify was received */
} sch_event;

typedef struct sch_conn {
    SSL *ssl;
    BIO *rbio, *wbio;        /* owned by ssl (sch_bio.c) */
    BIO_METHOD *in_method, *out_method;
    /* Ciphertext OpenSSL has yet to read (from inq_off on), and has written. */
    sspi_bytes inq, outq;
    size_t inq_off;
    /* A caller's record OpenSSL reads in place (sch_conn_view), after inq. */
    const unsigned char *view;
    size_t view_len, view_off;
    sch_cred *cred;          /* borrowed: the credential outlives its contexts */
    const sspi_allocator *alloc;
    int server;
    int started;
    int complete;            /* handshake done */
    int failed;              /* a fatal error: no further use */
    int shutdown_requested;  /* SCHANNEL_SHUTDOWN applied */
    int shutdown_sent;
    int cert_prompted;       /* SEC_I_INCOMPLETE_CREDENTIALS given once */
    int cert_awaited;        /* ... by the latest step: the next may bring a certificate */
    int peer_closed;
    int saw_handshake;       /* a handshake message was received (message callback) */
    char *target;
    /* Records already processed that the caller will hand back (skipped
     * then), and what they meant for a message function. */
    sspi_bytes replay;
    sch_event replay_event;
    /* Output produced outside a step (a KeyUpdate answer written while
     * decrypting, the flight before a client-certificate pause): the next
     * step hands it out first. */
    sspi_bytes pending;
    /* The alert OpenSSL wrote when the handshake failed (for the caller to send). */
    sspi_bytes alert;
    /* A server's ALPN list from an input SECBUFFER_APPLICATION_PROTOCOLS
     * (wire format; empty: the credential's). */
    sspi_bytes alpn;
    /* Query answers (pointers handed out point here until the next query). */
    sspi_bytes q1, q2, q3, q4;
    sspi_bytes scratch;      /* encrypt_message's record */
    /* During a wrap with a sink: OpenSSL's first write goes to it, not to
     * outq, when nothing is queued before it (sch_bio.c). */
    const sspi_output_sink *sink;
    int sink_taken, sink_failed;
} sch_conn;

SSPI_INTERNAL sspi_status sch_conn_new(sch_cred *cred, int server, const sspi_allocator *alloc,
                                       sch_conn **out, sspi_error *err);
SSPI_INTERNAL void sch_conn_free(sch_conn **conn);
/* ------------------------------------------------------- sch_bio.c */

/* Makes the connection's BIOs and sets them on c->ssl; 0 ok, -1 no memory. */
SSPI_INTERNAL int sch_bio_attach(sch_conn *c);
/* Frees the BIO methods (after SSL_free). */
SSPI_INTERNAL void sch_bio_free(sch_conn *c);
/* Appends what OpenSSL wrote to out (hands the buffer over when out is
 * empty); 0 ok, -1 no memory. */
SSPI_INTERNAL int sch_conn_drain(sch_conn *c, sspi_bytes *out);
/* Lets OpenSSL read in[0..len) in place until sch_conn_end_view, which
 * keeps a copy of what it left unread.  Only when nothing is queued. */
SSPI_INTERNAL void sch_conn_view(sch_conn *c, const unsigned char *in, size_t len);
/* Ciphertext the read BIO holds that OpenSSL has not read yet. */
SSPI_INTERNAL size_t sch_conn_pending(const sch_conn *c);
SSPI_INTERNAL sspi_status sch_conn_end_view(sch_conn *c, sspi_error *err);
/* Hands bytes to the read BIO (all or an error status). */
SSPI_INTERNAL sspi_status sch_conn_feed(sch_conn *c, const unsigned char *in, size_t len,
                                        sspi_error *err);
/* Skips the replayed records at the start of in: returns how many bytes of
 * in they are (0 when in does not start with them; replay is then dropped). */
SSPI_INTERNAL size_t sch_conn_skip_replay(sch_conn *c, const unsigned char *in, size_t len);

/* --------------------------------------------------- sch_handshake.c */

/* The result of a step beyond its status. */
typedef struct sch_step_io {
    const unsigned char *in; /* the input bytes (TOKEN) */
    size_t in_len;
    sspi_bytes *out;         /* bytes to send (appended) */
    size_t consumed;         /* of in; in[consumed..] is EXTRA */
    size_t missing;          /* SEC_E_INCOMPLETE_MESSAGE: bytes still needed */
    uint32_t context_req;
    const char *target;
    /* The step's own credential (another than the context's), or NULL:
     * after SEC_I_INCOMPLETE_CREDENTIALS, the client certificate to send. */
    sch_cred *step_cred;
    /* An input SECBUFFER_APPLICATION_PROTOCOLS (first step), or NULL. */
    const unsigned char *app_protocols;
    size_t app_protocols_len;
} sch_step_io;

/* One InitializeSecurityContext / AcceptSecurityContext.  SEC_E_OK,
 * SEC_I_CONTINUE_NEEDED, SEC_E_INCOMPLETE_MESSAGE, SEC_I_INCOMPLETE_CREDENTIALS
 * (retryable: nothing consumed) or a failure (then c->alert may hold the
 * alert to send). */
SSPI_INTERNAL sspi_status sch_step(sch_conn *c, sch_step_io *io, sspi_error *err);
/* ISC_RET_* / ASC_RET_* of the handshake so far. */
SSPI_INTERNAL uint32_t sch_ret_flags(const sch_conn *c, uint32_t context_req);
/* ApplyControlToken: SCHANNEL_SHUTDOWN. */
SSPI_INTERNAL sspi_status sch_apply_control(sch_conn *c, uint32_t token, sspi_error *err);

/* ------------------------------------------------------ sch_status.c */

/* Empties this thread's OpenSSL error queue before an SSL I/O call. */
SSPI_INTERNAL void sch_errors_reset(void);
/* The status for the failure that OpenSSL reports now (the error queue and
 * the verify result), with its text in err; clears the queue. */
SSPI_INTERNAL sspi_status sch_status_from_ssl(sch_conn *c, const char *what, int ssl_error,
                                              sspi_status fallback, sspi_error *err);
/* Name of a TLS version number ("TLSv1.3"). */
SSPI_INTERNAL const char *sch_protocol_name(int version);

/* ----------------------------------------------------- sch_message.c */

/* Header, trailer and maximum message of the negotiated suite. */
SSPI_INTERNAL void sch_stream_sizes(const sch_conn *c, uint32_t *header, uint32_t *trailer,
                                    uint32_t *max_message, uint32_t *block);
SSPI_INTERNAL sspi_status sch_encrypt_list(sch_conn *c, sspi_buffer_list *msg, sspi_error *err);
/* missing/extra: set for SEC_E_INCOMPLETE_MESSAGE / SEC_I_RENEGOTIATE. */
SSPI_INTERNAL sspi_status sch_decrypt_list(sch_conn *c, sspi_buffer_list *msg, size_t *missing,
                                           sspi_error *err);
/* Encrypts in as records into out (replaced).  With a sink (or NULL), the
 * first record written is offered to it first (*taken: it took it; out then
 * holds the rest); a failure after it took one, or of the sink, fails the
 * connection. */
SSPI_INTERNAL sspi_status sch_wrap(sch_conn *c, const unsigned char *in, size_t len,
                                   const sspi_output_sink *sink, int *taken, sspi_bytes *out,
                                   sspi_error *err);
/* Decrypts the whole records at the start of in into out; *consumed: bytes
 * of in used (the rest is extra).  Non-Ok outcomes: SEC_E_INCOMPLETE_MESSAGE
 * (*missing), SEC_I_RENEGOTIATE (in[*consumed..] starts with the
 * post-handshake record(s) to step with), SEC_I_CONTEXT_EXPIRED. */
SSPI_INTERNAL sspi_status sch_unwrap(sch_conn *c, const unsigned char *in, size_t len,
                                     sspi_bytes *out, size_t *consumed, size_t *missing,
                                     sspi_error *err);

/* ------------------------------------------------------- sch_query.c */

/* A query answer: strings point into the connection (until its next call). */
/* connection_info / cipher_info into v->tls, remote_cert into v->cert
 * (strings owned by the connection, valid until its next query). */
SSPI_INTERNAL sspi_status sch_query_connection(sch_conn *c, sspi_attr_value *v, sspi_error *err);
SSPI_INTERNAL sspi_status sch_query_remote_cert(sch_conn *c, sspi_attr_value *v, sspi_error *err);
/* RFC 5929: "tls-server-end-point:" || hash and "tls-unique:" || Finished. */
SSPI_INTERNAL sspi_status sch_query_endpoint_bindings(sch_conn *c, const unsigned char **out,
                                                      size_t *len, sspi_error *err);
SSPI_INTERNAL sspi_status sch_query_unique_bindings(sch_conn *c, const unsigned char **out,
                                                    size_t *len, sspi_error *err);
/* The ALPN protocol chosen, or NULL. */
SSPI_INTERNAL const char *sch_query_alpn(sch_conn *c, sspi_error *err);
/* The peer's certificate subject (RFC 4514), or NULL when it sent none. */
SSPI_INTERNAL const char *sch_query_peer_name(sch_conn *c);
/* The validity of the server's certificate (Unix times). */
SSPI_INTERNAL void sch_query_lifespan(sch_conn *c, int64_t *start, int64_t *expiry);

#endif /* SSPI_SCHANNEL_H */
