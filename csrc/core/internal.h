/*
 * internal.h - what the core shares with the providers (never with the Lua
 * binding, which sees only sspi.h).
 *
 * A provider is one `struct sspi_provider` vtable.  The core owns the
 * credential and context objects, their reference counts, their state
 * machine, the caller's SecBuffers and the output memory modes; a provider
 * owns only its private `impl` pointers and fills tokens into the context's
 * byte buffers.
 */
#ifndef SSPI_CORE_INTERNAL_H
#define SSPI_CORE_INTERNAL_H

#include "../sspi.h"

#define SSPI_INTERNAL __attribute__((visibility("hidden")))

/* ------------------------------------------------------------ allocation */

/* Allocates, resizes, frees through the allocator (never NULL: the default
 * one is malloc/realloc/free).  sspi_mem_free wipes before freeing. */
SSPI_INTERNAL void *sspi_mem_alloc(const sspi_allocator *a, size_t n);
SSPI_INTERNAL void *sspi_mem_realloc(const sspi_allocator *a, void *p, size_t oldn, size_t newn);
SSPI_INTERNAL void sspi_mem_free(const sspi_allocator *a, void *p, size_t n);
/* A copy of s (NULL gives NULL, and *ok stays 1); sets *ok = 0 on ENOMEM. */
SSPI_INTERNAL char *sspi_mem_strdup(const sspi_allocator *a, const char *s, int *ok);
/* Frees a string made by sspi_mem_strdup (wiped), and NULLs the pointer. */
SSPI_INTERNAL void sspi_mem_strfree(const sspi_allocator *a, char **s);
/* Wipes n bytes with OPENSSL_cleanse, which the compiler cannot drop. */
SSPI_INTERNAL void sspi_wipe(void *p, size_t n);
/* Constant-time comparison: 0 when equal. */
SSPI_INTERNAL int sspi_ct_memcmp(const void *a, const void *b, size_t n);

/* A growable byte buffer owned by whoever holds it. */
typedef struct sspi_bytes {
    unsigned char *data;
    size_t len;
    size_t cap;
    const sspi_allocator *alloc;
} sspi_bytes;

SSPI_INTERNAL void sspi_bytes_init(sspi_bytes *b, const sspi_allocator *alloc);
/* Ensures cap >= n (keeps the contents); 0 ok, -1 out of memory. */
SSPI_INTERNAL int sspi_bytes_reserve(sspi_bytes *b, size_t n);
/* Replaces the contents; 0 ok, -1 out of memory. */
SSPI_INTERNAL int sspi_bytes_set(sspi_bytes *b, const void *data, size_t n);
/* Appends; 0 ok, -1 out of memory. */
SSPI_INTERNAL int sspi_bytes_append(sspi_bytes *b, const void *data, size_t n);
/* Wipes and frees; the struct is left empty and reusable. */
SSPI_INTERNAL void sspi_bytes_free(sspi_bytes *b);
/* sspi_bytes_init / sspi_bytes_free on each buffer of a NULL-terminated list. */
SSPI_INTERNAL void sspi_bytes_init_all(sspi_bytes *const *list, const sspi_allocator *alloc);
SSPI_INTERNAL void sspi_bytes_free_all(sspi_bytes *const *list);
/* n zeroed bytes, or NULL with err set (SEC_E_INSUFFICIENT_MEMORY, "<who>:
 * out of memory"). */
SSPI_INTERNAL void *sspi_mem_zalloc(const sspi_allocator *a, size_t n, const char *who,
                                   sspi_error *err);

/* --------------------------------------------------------------- objects */

struct sspi_provider;

struct sspi_credential {
    unsigned refcount;
    const struct sspi_provider *provider;
    sspi_allocator alloc;       /* a copy: the caller's struct need not live on */
    sspi_cred_usage usage;
    /* The lookup function and its default ud, from the options; written
     * once at acquisition and never again (a step may override both with
     * its own per-call pair: sspi_step_args.lookup / lookup_ud). */
    sspi_lookup_fn lookup;
    void *lookup_ud;
    int64_t expiry;             /* Unix time it expires (PSSPI's Expiry), 0 never / unknown */
    void *impl;                 /* the provider's */
};

struct sspi_context {
    sspi_credential *cred;      /* one reference held */
    const struct sspi_provider *provider;
    const sspi_allocator *alloc; /* &cred->alloc */
    sspi_context_state state;
    int initiator;              /* -1 before the first step, then 1 / 0 */
    uint32_t context_req;       /* of the latest step */
    uint32_t ret_flags;         /* ISC_RET / ASC_RET of the latest step */
    int64_t expiry;
    char *target;               /* initiator target of the first step */
    sspi_status failure;        /* why the context failed (state FAILED) */
    /* SEC_I_COMPLETE_NEEDED / SEC_I_COMPLETE_AND_CONTINUE while the core
     * waits for complete_auth_token (state SSPI_CTX_COMPLETE_NEEDED), else 0. */
    sspi_status completion;
    /* A step's outputs, built by the provider (token, alert) and the core
     * (extra: the input bytes the provider did not consume), copied out by
     * the core.  Kept across a SEC_E_BUFFER_TOO_SMALL (pending != 0) so no
     * data is lost. */
    sspi_bytes out_token;
    sspi_bytes out_alert;
    sspi_bytes out_extra;
    int pending;
    sspi_status pending_status;
    /* Output of the plain-bytes message functions (reused: no malloc per message). */
    sspi_bytes scratch;
    void *impl;                 /* the provider's, made by its first step */
};

/* A provider's ctx->impl, made on first use: `size` zeroed bytes from
 * ctx->alloc, given to init (when not NULL) before it is stored.  NULL with
 * err set when out of memory (`who` names the package). */
SSPI_INTERNAL void *sspi_context_impl(sspi_context *ctx, size_t size,
                                      void (*init)(sspi_context *ctx, void *impl),
                                      const char *who, sspi_error *err);

/* ------------------------------------------------------------- providers */

/*
 * The step contract (contract v2).
 *
 * The core calls init_step / accept_step with one sspi_step_in describing
 * the whole call.  Its convenience fields (token, bindings) are the first
 * SECBUFFER_TOKEN and SECBUFFER_CHANNEL_BINDINGS of the input list; a
 * package that needs more (Schannel: APPLICATION_PROTOCOLS, ALERT ...) reads
 * `input` and `output` (the caller's lists, never written by a provider).
 *
 * Per-call data travels here and nowhere else: `lookup` / `lookup_ud` are
 * the user store for this call (the step's own pair, else the credential's);
 * a provider must not keep them past the call, and must not write to the
 * credential (it is shared by every context made from it, possibly in
 * several threads at once).
 *
 * What a provider reports back, beside its status and *ret_flags:
 *  - its output token in ctx->out_token (len 0: none), an alert message in
 *    ctx->out_alert (delivered into an output SECBUFFER_ALERT, if any).  A
 *    failed step's token is dropped; its alert is delivered into the output
 *    token (and SECBUFFER_ALERT), as Windows' Schannel hands out the alert
 *    of a failed handshake for the caller to send;
 *  - out->unconsumed: how many trailing bytes of the input token it did not
 *    consume (0: all).  The core copies them into ctx->out_extra and hands
 *    them back as an output SECBUFFER_EXTRA (when the caller gave one) and
 *    as sspi_step_result.extra (res.extra in Lua);
 *  - out->missing, with SEC_E_INCOMPLETE_MESSAGE: how many more bytes it
 *    needs (0: unknown).  The core puts it in the cbBuffer (length) of an
 *    output SECBUFFER_MISSING, if any, and in sspi_step_result.missing.
 *
 * Statuses:
 *  - SEC_E_OK, SEC_I_CONTINUE_NEEDED: progress.
 *  - SEC_I_COMPLETE_NEEDED, SEC_I_COMPLETE_AND_CONTINUE: the core keeps the
 *    context in SSPI_CTX_COMPLETE_NEEDED until complete_auth_token, which
 *    calls the provider's `complete` (or just moves on when it has none);
 *    a step meanwhile is refused (SEC_E_INVALID_HANDLE, state untouched).
 *  - Retryable (sspi_status_retryable, sspi.h): SEC_E_INCOMPLETE_MESSAGE,
 *    SEC_I_INCOMPLETE_CREDENTIALS, SEC_E_INCOMPLETE_CREDENTIALS.  The
 *    provider must return them without having changed its own state (it
 *    consumed nothing; a first step may have created ctx->impl, which is
 *    then reused); the core restores its own fields, so the context is
 *    exactly as before the call and the same step may be called again.
 *  - Any other failure marks the context failed for good.
 * Providers must leave ctx->impl consistent (freeable) on every return.
 */
typedef struct sspi_step_out {
    size_t unconsumed; /* trailing bytes of the input token not consumed */
    size_t missing;    /* SEC_E_INCOMPLETE_MESSAGE: bytes still needed, 0 unknown */
} sspi_step_out;

typedef struct sspi_step_in {
    const char *target;                  /* initiator only */
    uint32_t context_req;
    uint32_t target_data_rep;
    const unsigned char *token;          /* the first SECBUFFER_TOKEN input, or NULL */
    size_t token_len;
    const unsigned char *bindings;       /* SECBUFFER_CHANNEL_BINDINGS data, or NULL */
    size_t bindings_len;
    const sspi_buffer_list *input;       /* the caller's whole input list (never NULL) */
    const sspi_buffer_list *output;      /* the caller's whole output list (never NULL) */
    /* Per-call: this call's user store (NULL lookup: none). */
    sspi_lookup_fn lookup;
    void *lookup_ud;
    /* Per-call: another credential of the same package and direction the
     * caller named for this step (sspi_step_args.credential), else NULL.
     * Read-only and borrowed for the call (never kept: the context's own
     * credential is ctx->cred). */
    const sspi_credential *credential;
    /* The only writable part: what the provider reports back. */
    sspi_step_out *out;
} sspi_step_in;

/* The vtable, filled with designated initialisers.  Every function pointer
 * may be NULL where the package has no such operation (the core then
 * answers SEC_E_UNSUPPORTED_FUNCTION).  Step functions follow the step
 * contract above; they may set ctx->expiry and create ctx->impl on the
 * first call. */
/* The types of the message calls of the vtable below, for a provider
 * declaring its own (SSPI_INTERNAL sspi_send_fn my_encrypt, my_sign;). */
typedef sspi_status sspi_send_fn(sspi_context *ctx, uint32_t qop, sspi_buffer_list *msg,
                                 uint32_t seqno, sspi_error *err);
typedef sspi_status sspi_receive_fn(sspi_context *ctx, sspi_buffer_list *msg, uint32_t seqno,
                                    uint32_t *qop, sspi_error *err);
typedef sspi_status sspi_wrap_fn(sspi_context *ctx, int encrypt, const unsigned char *in,
                                 size_t len, sspi_bytes *out, sspi_error *err);
typedef sspi_status sspi_unwrap_fn(sspi_context *ctx, const unsigned char *in, size_t len,
                                   sspi_bytes *out, int *encrypted, sspi_error *err);
typedef sspi_status sspi_get_mic_fn(sspi_context *ctx, const unsigned char *in, size_t len,
                                    sspi_bytes *out, sspi_error *err);
typedef sspi_status sspi_verify_mic_fn(sspi_context *ctx, const unsigned char *in, size_t len,
                                       const unsigned char *mic, size_t mic_len, sspi_error *err);

typedef struct sspi_provider {
    sspi_package_info info;              /* name, comment, backend, capabilities ... */
    /* DER content bytes of the GSS mechanism OID (for Negotiate), or NULL */
    const unsigned char *mech_oid;
    size_t mech_oid_len;
    /* The credential options it takes: up to six NULL-name-terminated
     * tables (shared sets or its own), walked by the binding and checked by
     * sspi_credential_acquire.  Options with no sspi_cred_options field are
     * read with sspi_option_get. */
    const sspi_option_decl *options[6];
    /* Non-zero: a complete context still takes steps (Schannel's
     * post-handshake messages and shutdown); else a step after completion
     * is refused. */
    int steps_after_complete;

    /* Whether this machine can use it; 0 yes, else a status + reason. */
    sspi_status (*available)(sspi_error *err);

    sspi_status (*acquire)(sspi_credential *cred, const sspi_cred_options *opts, sspi_error *err);
    void (*free_cred)(sspi_credential *cred);

    sspi_status (*init_step)(sspi_context *ctx, const sspi_step_in *in, uint32_t *ret_flags,
                             sspi_error *err);
    sspi_status (*accept_step)(sspi_context *ctx, const sspi_step_in *in, uint32_t *ret_flags,
                               sspi_error *err);
    /* CompleteAuthToken, called only while a completion is pending. */
    sspi_status (*complete)(sspi_context *ctx, sspi_buffer_list *buffers, sspi_error *err);
    /* FLAGS and PACKAGE_INFO are answered by the core unless the provider
     * answers them (Negotiate does, for its inner package). */
    sspi_status (*query)(sspi_context *ctx, sspi_attr attr, sspi_attr_value *v, sspi_error *err);

    sspi_status (*encrypt)(sspi_context *ctx, uint32_t qop, sspi_buffer_list *msg, uint32_t seqno,
                           sspi_error *err);
    sspi_status (*decrypt)(sspi_context *ctx, sspi_buffer_list *msg, uint32_t seqno, uint32_t *qop,
                           sspi_error *err);
    sspi_status (*sign)(sspi_context *ctx, uint32_t qop, sspi_buffer_list *msg, uint32_t seqno,
                        sspi_error *err);
    sspi_status (*verify)(sspi_context *ctx, sspi_buffer_list *msg, uint32_t seqno, uint32_t *qop,
                          sspi_error *err);

    /* Plain bytes: output replaces the contents of `out` (ctx->scratch). */
    sspi_status (*wrap)(sspi_context *ctx, int encrypt, const unsigned char *in, size_t len,
                        sspi_bytes *out, sspi_error *err);
    sspi_status (*unwrap)(sspi_context *ctx, const unsigned char *in, size_t len, sspi_bytes *out,
                          int *encrypted, sspi_error *err);
    sspi_status (*get_mic)(sspi_context *ctx, const unsigned char *in, size_t len, sspi_bytes *out,
                           sspi_error *err);
    sspi_status (*verify_mic)(sspi_context *ctx, const unsigned char *in, size_t len,
                              const unsigned char *mic, size_t mic_len, sspi_error *err);

    /* Provider-private controls used by Negotiate on an inner context
     * (SSPI_CTL_*); returns SEC_E_UNSUPPORTED_FUNCTION when unknown. */
    sspi_status (*control)(sspi_context *ctx, int op, void *arg, sspi_error *err);

    /* ApplyControlToken (sspi_apply_control_token): token_type is the first
     * 4 bytes (little-endian) of the caller's SECBUFFER_TOKEN, e.g.
     * SCHANNEL_SHUTDOWN; called on a started, not failed context. */
    sspi_status (*apply_control)(sspi_context *ctx, uint32_t token_type, sspi_error *err);
    /* Stream packages (SECPKG_FLAG_STREAM, sspi_unwrap_stream): decrypts the
     * whole records at the start of in[0..len) into out (replaced; it is
     * ctx->scratch); *consumed: bytes of in used (the rest is extra);
     * *missing with SEC_E_INCOMPLETE_MESSAGE.  Called on a complete context. */
    sspi_status (*unwrap_stream)(sspi_context *ctx, const unsigned char *in, size_t len,
                                 sspi_bytes *out, size_t *consumed, size_t *missing,
                                 sspi_error *err);
    /* Stream packages (sspi_wrap_stream): wrap, offering the first piece
     * of output written to sink (NULL: none) before copying it; *taken set
     * when the sink took it; the rest replaces out (ctx->scratch).  Called on
     * a complete context.  Optional: without it the core calls wrap. */
    sspi_status (*wrap_stream)(sspi_context *ctx, const unsigned char *in, size_t len,
                               const sspi_output_sink *sink, int *taken, sspi_bytes *out,
                               sspi_error *err);

    void (*free_context)(sspi_context *ctx);

    /* Export / import (transfer.c wraps the bytes in the checked envelope):
     * export_context writes a complete context's state into out and leaves
     * the context unusable; import_context fills a new context (on a shell
     * credential whose impl may be NULL) from those bytes.  The same for a
     * credential, which stays usable after export. */
    sspi_status (*export_context)(sspi_context *ctx, sspi_bytes *out, sspi_error *err);
    sspi_status (*import_context)(sspi_context *ctx, const unsigned char *in, size_t len,
                                  sspi_error *err);
    sspi_status (*export_cred)(sspi_credential *cred, sspi_bytes *out, sspi_error *err);
    sspi_status (*import_cred)(sspi_credential *cred, const unsigned char *in, size_t len,
                               sspi_error *err);
} sspi_provider;

/* --------------------------------------------------------------- options */

/* The option sets of the built-in packages (csrc/core/options.c): each name
 * maps onto a field of sspi_cred_options, which the core fills from
 * opts->values before the provider's acquire runs. */
SSPI_INTERNAL extern const sspi_option_decl sspi_options_identity[]; /* username, password, nt_hash */
SSPI_INTERNAL extern const sspi_option_decl sspi_options_kerberos[]; /* ccache, keytab, client_keytab */
SSPI_INTERNAL extern const sspi_option_decl sspi_options_ntlm[];     /* user_file, lookup, ... */
SSPI_INTERNAL extern const sspi_option_decl sspi_options_ntlm_builtin[]; /* allow_blank_passwords, target_names */
SSPI_INTERNAL extern const sspi_option_decl sspi_options_negotiate[]; /* mechs, reject, no_fallback */
/* The SCH_CRED_* flags (sspi_flag_table(SSPI_FLAGS_SCH_CRED)), for Schannel's declaration. */
SSPI_INTERNAL extern const sspi_flag_info sspi_sch_cred_flags[];

/* The declaration of `name` in a provider's tables, or NULL. */
SSPI_INTERNAL const sspi_option_decl *sspi_provider_option(const struct sspi_provider *p,
                                                          const char *name);
/* The value given by name for an option (NULL: not given); how a provider
 * reads a declared option that has no sspi_cred_options field. */
SSPI_INTERNAL const sspi_option_value *sspi_option_get(const sspi_cred_options *opts,
                                                      const char *name);
/* Checks opts->values against p's declaration and copies the built-in
 * options onto the fields of *out (a copy of *opts); nt_hash needs 16 bytes
 * of the caller's, wiped by the caller after use. */
SSPI_INTERNAL sspi_status sspi_options_resolve(const struct sspi_provider *p,
                                              const sspi_cred_options *opts,
                                              sspi_cred_options *out, unsigned char nt_hash[16],
                                              sspi_error *err);

/* control ops */
#define SSPI_CTL_NTLM_MIC_PRESENT 1   /* arg: int*, 1 when the AUTHENTICATE carried a MIC */
#define SSPI_CTL_RESET_CRYPTO     2   /* arg: NULL; NTLM: re-key sealing (MS-SPNG 3.3.5.1) */
#define SSPI_CTL_DELEGATED_CREDENTIAL 3 /* arg: sspi_credential **: a new credential, or NULL */

/* --------------------------------------------------------------- export */

/* The envelope around exported blobs (envelope.c): versioned, every length
 * and a SHA-256 digest checked before a provider sees a byte. */
#define SSPI_ENVELOPE_VERSION 1
#define SSPI_ENVELOPE_CONTEXT 1
#define SSPI_ENVELOPE_CREDENTIAL 2
#define SSPI_ENVELOPE_NAME_MAX 31

typedef struct sspi_envelope {
    unsigned char kind;          /* SSPI_ENVELOPE_* */
    char package[SSPI_ENVELOPE_NAME_MAX + 1];
    char backend[SSPI_ENVELOPE_NAME_MAX + 1];
    unsigned char side;          /* context: 1 initiator, 0 acceptor; credential: usage */
    uint32_t context_req, ret_flags;
    int64_t expiry;
    const unsigned char *payload; /* the provider's bytes (into the blob when read) */
    size_t payload_len;
} sspi_envelope;

/* Big-endian 32-bit integers (the envelope's and the providers' payloads). */
SSPI_INTERNAL void sspi_put_be32(unsigned char *p, uint32_t v);
SSPI_INTERNAL uint32_t sspi_get_be32(const unsigned char *p);

/* Writes e into out (replacing its contents). */
SSPI_INTERNAL sspi_status sspi_envelope_write(const sspi_envelope *e, sspi_bytes *out,
                                             sspi_error *err);
/* Checks and parses a blob; e->payload points into it.  SEC_E_INVALID_TOKEN
 * for anything short, long, edited or of another version. */
SSPI_INTERNAL sspi_status sspi_envelope_read(const unsigned char *blob, size_t len,
                                            sspi_envelope *e, sspi_error *err);

/* -------------------------------------------------------------- registry */

/* The providers compiled in, in order of preference (const: no mutable
 * global state), NULL-terminated. */
SSPI_INTERNAL const sspi_provider *const *sspi_providers(void);
/* The provider for a package name (case-insensitive) and backend (NULL:
 * the package's default, the first available one in the table). */
SSPI_INTERNAL sspi_status sspi_provider_find(const char *package, const char *backend,
                                             const sspi_provider **out, sspi_error *err);

/* Acquire with a given provider (Negotiate acquires its inner credentials
 * this way). */
SSPI_INTERNAL sspi_status sspi_credential_acquire_with(const sspi_provider *p,
                                                      const sspi_cred_options *opts,
                                                      const sspi_allocator *alloc,
                                                      sspi_credential **out, sspi_error *err);

/* A credential shell (refcount 1, impl NULL) of provider p for a provider
 * to fill: how a context hands out a credential it made (delegation).  On
 * a failure to fill it, sspi_credential_release frees it. */
SSPI_INTERNAL sspi_status sspi_credential_new_shell(const sspi_provider *p,
                                                   const sspi_allocator *alloc,
                                                   sspi_cred_usage usage, sspi_credential **out,
                                                   sspi_error *err);

/* Message functions and queries need a finished handshake: SEC_E_OK, or
 * SEC_E_INVALID_HANDLE naming `what` and the state (context.c). */
SSPI_INTERNAL sspi_status sspi_need_complete(const sspi_context *ctx, const char *what,
                                             sspi_error *err);
/* Generic control on a context (Negotiate to its inner context). */
SSPI_INTERNAL sspi_status sspi_context_control(sspi_context *ctx, int op, void *arg,
                                              sspi_error *err);

/* The providers are defined in csrc/providers/ and listed (and declared)
 * in one place: SSPI_PROVIDERS in csrc/core/registry.c. */

#endif /* SSPI_CORE_INTERNAL_H */
