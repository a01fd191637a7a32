/*
 * sspi.h - the public C API of sspi for Lua.
 *
 * The Windows SSPI security-context model (AcquireCredentialsHandle,
 * InitializeSecurityContext, AcceptSecurityContext, QueryContextAttributes,
 * Encrypt/DecryptMessage, Make/VerifySignature on SecBuffer lists) for a C host,
 * with Kerberos, Negotiate and NTLM behind it.  Usable without Lua: the Lua
 * module (luaopen_sspi_core) is one client of this API.
 *
 * Conventions
 *  - Every function that can fail returns an sspi_status (SEC_E_OK == 0, the
 *    SEC_I_* values are positive progress codes, the SEC_E_* values negative
 *    when read as int32_t) and fills an optional sspi_error with the details.
 *  - Constructors return a status and an out-pointer; destructors take `**`,
 *    are NULL-safe, wipe secrets and NULL the caller's pointer.
 *  - All memory comes from the allocator given at credential acquisition
 *    (lua_Alloc's signature, so a Lua host's accounting sees it).  Contexts use
 *    their credential's allocator.
 *  - No global mutable state: everything hangs off credentials and contexts.
 *    Different credentials and contexts may be used from different threads at
 *    once; one object must not be used by two threads at the same time.
 */
#ifndef SSPI_H
#define SSPI_H

#include <stddef.h>
#include <stdint.h>

#include "sspi_constants.h" /* the Windows names and values: statuses, flags, buffer types */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SSPI_API __attribute__((visibility("default")))
#else
#define SSPI_API
#endif

/* ---------------------------------------------------------------- status */

/* A SECURITY_STATUS: Windows' HRESULT-style values, stored unsigned. */
typedef uint32_t sspi_status;

/* True for SEC_E_OK and the SEC_I_* progress codes. */
#define SSPI_SUCCESS(s) (((s) & 0x80000000u) == 0)

/* One row of the status table: stable name, SSPI value, human text. */
typedef struct sspi_status_info {
    const char *name;    /* "SEC_E_LOGON_DENIED" */
    sspi_status code;    /* 0x8009030C */
    const char *message; /* "The logon attempt failed" */
} sspi_status_info;

/* The whole table, terminated by a row whose name is NULL. */
SSPI_API const sspi_status_info *sspi_status_table(void);
/* The row for a code, or NULL for a code not in the table. */
SSPI_API const sspi_status_info *sspi_status_lookup(sspi_status code);
/* The stable name of a code ("SEC_E_0x80091234" style is never produced:
 * an unknown failure code gives "SEC_E_UNKNOWN", an unknown success code
 * "SEC_I_UNKNOWN"). */
SSPI_API const char *sspi_status_name(sspi_status code);

/* The details of a failure.  Filled by every function that takes one; the
 * message is human text and never empty on failure.  GSSAPI-backed failures
 * carry the major/minor codes (has_gss != 0) and their display text inside
 * the message. */
#define SSPI_ERROR_MESSAGE_MAX 1024
typedef struct sspi_error {
    sspi_status status;
    int has_gss;
    uint32_t major;
    uint32_t minor;
    size_t needed; /* SEC_E_BUFFER_TOO_SMALL: bytes the buffer needs */
    size_t missing; /* SEC_E_INCOMPLETE_MESSAGE from a message function: bytes still needed */
    char message[SSPI_ERROR_MESSAGE_MAX]; /* last: sspi_error_clear zeroes what comes before */
} sspi_error;

/* Sets err (when not NULL) and returns status: `return sspi_error_set(...)`. */
SSPI_API sspi_status sspi_error_set(sspi_error *err, sspi_status status,
                                    const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
SSPI_API void sspi_error_clear(sspi_error *err);

/* ------------------------------------------------------------- allocator */

/* lua_Alloc's signature: nsize == 0 frees ptr (returns NULL); otherwise
 * (re)allocates ptr from osize to nsize bytes.  osize is the exact size of
 * the block being freed or resized (callers track it). */
typedef void *(*sspi_alloc_fn)(void *ud, void *ptr, size_t osize, size_t nsize);

typedef struct sspi_allocator {
    sspi_alloc_fn fn;
    void *ud;
} sspi_allocator;

/* ----------------------------------------------------------------- flags */

/* The flag tables, by kind. */
typedef enum sspi_flag_kind {
    SSPI_FLAGS_ISC_REQ,
    SSPI_FLAGS_ISC_RET,
    SSPI_FLAGS_ASC_REQ,
    SSPI_FLAGS_ASC_RET,
    SSPI_FLAGS_SCH_CRED /* Schannel's credential flags (SCH_CRED_*, SCH_*) */
} sspi_flag_kind;

typedef struct sspi_flag_info {
    const char *name; /* "ISC_REQ_MUTUAL_AUTH" */
    uint32_t value;
} sspi_flag_info;

/* The table of a kind, terminated by a row whose name is NULL. */
SSPI_API const sspi_flag_info *sspi_flag_table(sspi_flag_kind kind);
/* The kind's prefix: "ISC_REQ", "ISC_RET", "ASC_REQ", "ASC_RET", "SCH_CRED". */
SSPI_API const char *sspi_flag_prefix(sspi_flag_kind kind);
/* Value of a name in a kind ("ISC_REQ_MUTUAL_AUTH", or "MUTUAL_AUTH" without
 * the prefix, or "NONE" = 0); returns 0 and sets *value, -1 when unknown. */
SSPI_API int sspi_flag_parse(sspi_flag_kind kind, const char *name, uint32_t *value);
/* The same over any table (a MASK option's names): a name of `table` (any
 * case), or one without `prefix` + "_" when it has it (prefix may be NULL),
 * or "NONE". */
SSPI_API int sspi_flag_lookup(const sspi_flag_info *table, const char *prefix, const char *name,
                              uint32_t *value);

/* ------------------------------------------------------------ SecBuffers */

/* The type without its attribute flags. */
#define SSPI_BUFFER_BASE_TYPE(t) ((t) & ~SECBUFFER_ATTRMASK)

/* A name and its value ("SECBUFFER_TOKEN", 2): the rows of the flag tables. */
typedef sspi_flag_info sspi_typename_info;

/* The other Windows constants (SECPKG_FLAG_*, SECPKG_NEGOTIATION_*,
 * SECURITY_*_DREP, SECQOP_WRAP_NO_ENCRYPT, SP_PROT_*, SCHANNEL_*), then a
 * NULL row. */
SSPI_API const sspi_flag_info *sspi_constant_table(void);
/* SECBUFFER_* types, then a NULL row; and the attribute flags, then NULL. */
SSPI_API const sspi_typename_info *sspi_buffer_type_table(void);
SSPI_API const sspi_typename_info *sspi_buffer_flag_table(void);
/* A SECBUFFER_* type by name: "SECBUFFER_TOKEN", "TOKEN", or PSSPI's
 * "Token" / "StreamHeader" (case and underscores ignored).  0 and *type
 * set, or -1 for an unknown name. */
SSPI_API int sspi_buffer_type_parse(const char *name, uint32_t *type);

/* One SecBuffer.  `data` points at `capacity` bytes of which `length` are in
 * use.  For input, data may point at memory the caller does not let us write
 * (a Lua string); the library never writes to an input buffer.  An output
 * buffer filled by the package in ALLOCATE_MEMORY mode has package_allocated
 * set: its data came from the credential's allocator and is the caller's to
 * free with sspi_buffer_release. */
typedef struct sspi_buffer {
    uint32_t type; /* SECBUFFER_* | attribute flags */
    size_t length;
    size_t capacity;
    unsigned char *data;
    int package_allocated;
} sspi_buffer;

/* SecBufferDesc. */
typedef struct sspi_buffer_list {
    size_t count;
    sspi_buffer *buffers;
} sspi_buffer_list;

/* The first buffer of a base type (flags ignored), or NULL. */
SSPI_API sspi_buffer *sspi_buffer_list_find(const sspi_buffer_list *list, uint32_t base_type);
/* Frees a package-allocated buffer's data (wiped) with the allocator. */
SSPI_API void sspi_buffer_release(const sspi_allocator *alloc, sspi_buffer *buf);

/* ------------------------------------------------------ channel bindings */

/* SEC_CHANNEL_BINDINGS (and gss_channel_bindings_struct): the serialised
 * form is a 32-byte little-endian header (dwInitiatorAddrType,
 * cbInitiatorLength, dwInitiatorOffset, dwAcceptorAddrType,
 * cbAcceptorLength, dwAcceptorOffset, cbApplicationDataLength,
 * dwApplicationDataOffset) followed by initiator, acceptor and application
 * data. */
typedef struct sspi_channel_bindings {
    uint32_t initiator_addrtype;
    const unsigned char *initiator_address;
    size_t initiator_length;
    uint32_t acceptor_addrtype;
    const unsigned char *acceptor_address;
    size_t acceptor_length;
    const unsigned char *application_data;
    size_t application_length;
} sspi_channel_bindings;

#define SSPI_CHANNEL_BINDINGS_HEADER 32

/* Bytes the serialised form needs (0 when a field is over 4 GiB). */
SSPI_API size_t sspi_channel_bindings_size(const sspi_channel_bindings *cb);
/* Serialises into out (at least sspi_channel_bindings_size bytes). */
SSPI_API void sspi_channel_bindings_write(const sspi_channel_bindings *cb, unsigned char *out);
/* Parses a serialised form; the pointers in *cb point into data.  Every
 * offset and length is checked: SEC_E_INVALID_TOKEN when one is outside. */
SSPI_API sspi_status sspi_channel_bindings_parse(const unsigned char *data, size_t len,
                                                 sspi_channel_bindings *cb, sspi_error *err);

/* ---------------------------------------------------------------- base64 */

/* Base64 (RFC 4648, standard alphabet, padded): what HTTP Negotiate/NTLM
 * (RFC 4559) and SASL carry tokens in.  Bytes the encoding of n bytes
 * takes (no terminator). */
SSPI_API size_t sspi_base64_encoded_size(size_t n);
/* Writes sspi_base64_encoded_size(n) characters to out. */
SSPI_API void sspi_base64_encode(const unsigned char *in, size_t n, char *out);
/* Decodes n characters into out (room for n / 4 * 3 + 2 bytes) and sets
 * *out_len.  Strict (lenient = 0): the standard alphabet only, padding
 * optional but right when present, zero trailing bits.  Lenient (text a
 * person pasted): the base64url alphabet too, trailing '=' dropped,
 * trailing bits ignored.  Returns NULL, or why the text is not base64. */
SSPI_API const char *sspi_base64_decode(const char *in, size_t n, int lenient, unsigned char *out,
                                        size_t *out_len);

/* ------------------------------------------------------------ packages */

/* SecPkgInfo, plus which implementation it is. */
typedef struct sspi_package_info {
    const char *name;    /* "Kerberos" | "NTLM" | "Negotiate" */
    const char *comment;
    const char *backend; /* "gssapi" | "builtin" */
    uint32_t capabilities; /* SECPKG_FLAG_* */
    uint16_t version;
    uint16_t rpcid;
    uint32_t max_token;
} sspi_package_info;

/* The package info of a name (any case) and backend (NULL: the package's
 * default, the first available implementation), as sspi_credential_acquire
 * would choose it (QuerySecurityPackageInfo).  SEC_E_SECPKG_NOT_FOUND for
 * an unknown or unusable one. */
SSPI_API sspi_status sspi_package_find(const char *name, const char *backend,
                                       const sspi_package_info **info, sspi_error *err);
/* Calls fn for each (package, backend) this machine can use, in order of
 * preference; stops early when fn returns non-zero. */
typedef int (*sspi_package_fn)(void *ud, const sspi_package_info *info);
SSPI_API void sspi_enumerate_packages(sspi_package_fn fn, void *ud);

/* ---------------------------------------------------------- credentials */

typedef struct sspi_credential sspi_credential;
typedef struct sspi_context sspi_context;

/* SECPKG_CRED_* */
typedef enum sspi_cred_usage {
    SSPI_CRED_INBOUND = 1,
    SSPI_CRED_OUTBOUND = 2,
    SSPI_CRED_BOTH = 3
} sspi_cred_usage;

/* sspi_lookup_fn (declared with the options above): an acceptor's user
 * store, for NTLM: called with the user and domain of an AUTHENTICATE
 * message (UTF-8).  Returns 1 and fills nt_hash when the user exists, 0 when
 * not, -1 on a failure of its own (described in err). */

/* ---------------------------------------------------- declared options */

/* Each package declares the credential options it takes (name, type, doc):
 * the Lua binding parses sspi.credential{...} from that declaration, and a
 * C host may pass any of them by name (sspi_cred_options.values). */
typedef enum sspi_option_type {
    SSPI_OPTION_STRING = 1, /* UTF-8, no NUL inside */
    SSPI_OPTION_SECRET,     /* bytes with a length (may hold NULs); wiped after use */
    SSPI_OPTION_INTEGER,    /* within [min, max] */
    SSPI_OPTION_BOOLEAN,
    SSPI_OPTION_LIST,       /* of strings, at most max (0: SSPI_OPTION_LIST_MAX) */
    SSPI_OPTION_FUNCTION,   /* a user store: sspi_lookup_fn + ud */
    SSPI_OPTION_MASK        /* 32 bits: from an integer, a name, or a list of both */
} sspi_option_type;

#define SSPI_OPTION_LIST_MAX 64

typedef struct sspi_option_decl {
    const char *name;       /* NULL ends a table */
    sspi_option_type type;
    const char *doc;        /* one line, for messages and documentation */
    int64_t min, max;       /* INTEGER: the allowed range; LIST: max names (0: the default) */
    /* STRING / SECRET / each name of a LIST: NULL, or a format check: 0 ok,
     * else -1 and *why set ("16 bytes or 32 hex digits expected"). */
    int (*check)(const char *s, size_t len, const char **why);
    /* MASK: the names it takes, and a prefix they may be written without
     * ("SCH_CRED": "MANUAL_CRED_VALIDATION"), or NULL (sspi_flag_lookup). */
    const sspi_flag_info *names;
    const char *prefix;
} sspi_option_decl;

/* How many names a LIST option takes (its max, else SSPI_OPTION_LIST_MAX). */
SSPI_API size_t sspi_option_list_max(const sspi_option_decl *d);

/* One option given by name. */
typedef int (*sspi_lookup_fn)(void *ud, const char *user, const char *domain,
                              unsigned char nt_hash[16], struct sspi_error *err);
typedef struct sspi_option_value {
    const char *name;
    sspi_option_type type;
    const char *string;     /* STRING, SECRET */
    size_t length;          /* STRING, SECRET */
    int64_t integer;        /* INTEGER, MASK; BOOLEAN: 0 or 1 */
    const char *const *list; /* LIST */
    size_t count;           /* LIST */
    sspi_lookup_fn fn;      /* FUNCTION */
    void *ud;               /* FUNCTION */
} sspi_option_value;

/* The declaration of option `name` for a package (any case) and backend
 * (NULL: the package's default), or NULL when it takes no such option or
 * the package is unknown.  "package", "usage" and "backend" are the
 * struct's own fields, not declared options. */
SSPI_API const sspi_option_decl *sspi_package_option(const char *package, const char *backend,
                                                     const char *name);
/* Calls fn for each option a package declares; stops when fn returns
 * non-zero.  SEC_E_SECPKG_NOT_FOUND for an unknown package. */
typedef int (*sspi_option_fn)(void *ud, const sspi_option_decl *decl);
SSPI_API sspi_status sspi_package_options(const char *package, const char *backend,
                                          sspi_option_fn fn, void *ud, sspi_error *err);

/* AcquireCredentialsHandle's inputs.  Zero-initialise, then set what you
 * need; strings are UTF-8 and NUL-terminated, and are copied.  Options may
 * be given as the named fields below (the built-in packages' options) or
 * by name in `values` (every declared option, the only way for options
 * that have no field here); sspi_credential_acquire checks each value
 * against the package's declaration (SEC_E_INVALID_PARAMETER naming it). */
typedef struct sspi_cred_options {
    const char *package;        /* required: "Kerberos" | "NTLM" | "Negotiate" (any case) */
    sspi_cred_usage usage;      /* 0 means SSPI_CRED_OUTBOUND */
    const char *backend;        /* NULL: the package's default implementation */
    const char *username;       /* "user@REALM", "DOMAIN\\user", "user" */
    const char *password;       /* with password_len (may contain NULs: UTF-8) */
    size_t password_len;
    const unsigned char *nt_hash; /* 16 bytes, NTLM only */
    const char *ccache;         /* Kerberos: "FILE:/tmp/x", "MEMORY:y" */
    const char *keytab;         /* acceptor keytab */
    const char *client_keytab;  /* initiator keytab */
    const char *user_file;      /* NTLM user database (DOMAIN:USER:PASSWORD lines) */
    const char *const *mechs;   /* Negotiate: allowed packages, in order */
    size_t mech_count;
    const char *const *reject;  /* Negotiate: refused packages */
    size_t reject_count;
    int lm_compat_level;        /* NTLM: 0..5, or -1 for the default (env LM_COMPAT_LEVEL, else 5) */
    int no_fallback;            /* Negotiate: do not drop to the next mechanism */
    long timestamp_window;      /* NTLM acceptor: seconds of allowed skew, 0 = default (300) */
    const char *workstation;    /* NTLM: overrides NETBIOS_COMPUTER_NAME / host name */
    sspi_lookup_fn lookup;      /* NTLM acceptor: user store */
    void *lookup_ud;
    /* NTLM acceptor hardening (docs/security.md) */
    int allow_blank_passwords;  /* blank passwords may log on over the network */
    const char *const *target_names; /* service names answered to (MsvAvTargetName) */
    size_t target_name_count;
    const sspi_option_value *values; /* options by name, as declared */
    size_t value_count;
} sspi_cred_options;

/* An NT hash given as 16 raw bytes or 32 hex digits: 0 and out (16 bytes,
 * when not NULL) filled, or -1 for neither. */
SSPI_API int sspi_nt_hash_parse(const char *s, size_t len, unsigned char *out);

/* AcquireCredentialsHandle.  alloc may be NULL (malloc/free). */
SSPI_API sspi_status sspi_credential_acquire(const sspi_cred_options *opts,
                                             const sspi_allocator *alloc,
                                             sspi_credential **out, sspi_error *err);
/* Drops the caller's reference (contexts hold their own); NULL-safe. */
SSPI_API void sspi_credential_release(sspi_credential **cred);
SSPI_API void sspi_credential_addref(sspi_credential *cred);
SSPI_API const sspi_package_info *sspi_credential_package(const sspi_credential *cred);
SSPI_API sspi_cred_usage sspi_credential_usage(const sspi_credential *cred);
/* When the credential expires (AcquireCredentialsHandle's ptsExpiry;
 * Kerberos: the end time of its TGT), a Unix time; 0 when it never expires
 * or nobody can tell (NTLM, a keytab acceptor). */
SSPI_API int64_t sspi_credential_expiry(const sspi_credential *cred);
/* The credential the client delegated to this acceptor context (Kerberos:
 * its forwarded TGT), as a new outbound credential the caller owns
 * (release it with sspi_credential_release); *out is NULL when nothing was
 * delegated (no ISC_REQ_DELEGATE, no forwardable TGT, a package that
 * cannot delegate, or a context that is not complete). */
SSPI_API sspi_status sspi_context_delegated_credential(sspi_context *ctx, sspi_credential **out,
                                                       sspi_error *err);

/* -------------------------------------------------------------- contexts */

typedef enum sspi_context_state {
    SSPI_CTX_NEW,         /* no step yet */
    SSPI_CTX_IN_PROGRESS, /* ContinueNeeded returned */
    SSPI_CTX_COMPLETE,    /* Ok returned: message functions usable */
    SSPI_CTX_FAILED,      /* a step failed: refuses further steps */
    SSPI_CTX_COMPLETE_NEEDED /* CompleteNeeded / CompleteAndContinue returned: waits
                              * for sspi_complete_auth_token, refuses steps */
} sspi_context_state;

/* One step's inputs. */
typedef struct sspi_step_args {
    const char *target;          /* initiator: SPN ("HTTP/web.example.test") or principal */
    uint32_t context_req;        /* ISC_REQ_* (init) or ASC_REQ_* (accept) */
    uint32_t target_data_rep;    /* SECURITY_NATIVE_DREP / SECURITY_NETWORK_DREP */
    const sspi_buffer_list *input;   /* may be NULL */
    sspi_buffer_list *output;        /* may be NULL (then no token can be returned) */
    /* Per-call user store for this step (an NTLM acceptor's lookup): used
     * instead of the credential's when lookup is not NULL.  Nothing of it
     * is kept after the call, so contexts of one credential may be stepped
     * by different threads, each with its own ud. */
    sspi_lookup_fn lookup;
    void *lookup_ud;
    /* Another credential of the same package for this step, or NULL (the
     * context's).  As InitializeSecurityContext may name another
     * credential handle than the context's: after SEC_I_INCOMPLETE_CREDENTIALS
     * a Schannel client steps again with a credential holding a client
     * certificate.  Borrowed for the call; the context keeps its own. */
    sspi_credential *credential;
} sspi_step_args;

/* One step's results (beside the returned status). */
typedef struct sspi_step_result {
    uint32_t flags;  /* ISC_RET_* / ASC_RET_* */
    int64_t expiry;  /* Unix time the context expires, 0 unknown */
    /* SEC_E_INCOMPLETE_MESSAGE: bytes still needed (0 unknown). */
    size_t missing;
    /* Trailing bytes of the input token the package did not consume (the
     * start of the next message), as Windows' SECBUFFER_EXTRA; points into
     * the context, valid until its next step or free. */
    const unsigned char *extra;
    size_t extra_len;
} sspi_step_result;

/* A new context on cred (New-SecContext).  The provider's context is made
 * by the first step. */
SSPI_API sspi_status sspi_context_new(sspi_credential *cred, sspi_context **out, sspi_error *err);
SSPI_API void sspi_context_free(sspi_context **ctx);
SSPI_API sspi_context_state sspi_context_get_state(const sspi_context *ctx);
SSPI_API int sspi_context_is_initiator(const sspi_context *ctx); /* -1 before any step */
SSPI_API const sspi_package_info *sspi_context_package(const sspi_context *ctx);

/* InitializeSecurityContext / AcceptSecurityContext.  Returns SEC_E_OK,
 * SEC_I_CONTINUE_NEEDED, SEC_I_COMPLETE_NEEDED, SEC_I_COMPLETE_AND_CONTINUE,
 * a retryable status (sspi_status_retryable: SEC_E_INCOMPLETE_MESSAGE with
 * res->missing, and the cbBuffer of an output SECBUFFER_MISSING, set to the
 * bytes still needed; SEC_I_INCOMPLETE_CREDENTIALS) which leaves the context
 * exactly as it was, or a failure.  Input bytes the package did not consume
 * come back in res->extra and in an output SECBUFFER_EXTRA when one is
 * given; an alert goes into an output SECBUFFER_ALERT when one is given.
 * A failed step hands out no token, only the alert for the peer that a
 * package wrote (Schannel: the TLS alert record), in the output token and
 * in an output SECBUFFER_ALERT, so that the caller can send it (allocated
 * as on success in ALLOCATE_MEMORY mode: free it as usual).
 * After CompleteNeeded / CompleteAndContinue the context waits in
 * SSPI_CTX_COMPLETE_NEEDED for sspi_complete_auth_token; a step meanwhile is
 * refused with SEC_E_INVALID_HANDLE (the state is untouched).  The output token goes into the first SECBUFFER_TOKEN of
 * args->output: allocated from the allocator when context_req has
 * ISC_REQ_ALLOCATE_MEMORY / ASC_REQ_ALLOCATE_MEMORY (and *_RET_ALLOCATED_MEMORY
 * is returned), else written in place with its length updated.  When it does
 * not fit, SEC_E_BUFFER_TOO_SMALL is returned with err->needed set, the
 * token is kept, and the same step may be called again with a larger
 * buffer: it then hands back the kept token and result.  Any other failure
 * marks the context failed. */
SSPI_API sspi_status sspi_init_step(sspi_context *ctx, const sspi_step_args *args,
                                    sspi_step_result *res, sspi_error *err);
SSPI_API sspi_status sspi_accept_step(sspi_context *ctx, const sspi_step_args *args,
                                      sspi_step_result *res, sspi_error *err);
/* CompleteAuthToken: only while a completion is pending (state
 * SSPI_CTX_COMPLETE_NEEDED); then the context goes on to COMPLETE
 * (CompleteNeeded) or IN_PROGRESS (CompleteAndContinue).  On any other
 * context: SEC_E_INVALID_HANDLE, the state untouched. */
SSPI_API sspi_status sspi_complete_auth_token(sspi_context *ctx, sspi_buffer_list *buffers,
                                              sspi_error *err);
/* Whether a step status is retryable: the context is as before the call
 * and the same step may be called again (with more input, or credentials). */
SSPI_API int sspi_status_retryable(sspi_status st);
/* Whether the package takes steps on a complete context (Schannel's
 * post-handshake messages); the others refuse them. */
SSPI_API int sspi_context_steps_after_complete(const sspi_context *ctx);

/* QueryContextAttributes. */
typedef enum sspi_attr {
    SSPI_ATTR_NAMES,
    SSPI_ATTR_NATIVE_NAMES,
    SSPI_ATTR_SIZES,
    SSPI_ATTR_STREAM_SIZES,
    SSPI_ATTR_SESSION_KEY,
    SSPI_ATTR_FLAGS,
    SSPI_ATTR_LIFESPAN,
    SSPI_ATTR_PACKAGE_INFO,
    SSPI_ATTR_NEGOTIATION_INFO,
    /* Schannel */
    SSPI_ATTR_CONNECTION_INFO,    /* tls */
    SSPI_ATTR_CIPHER_INFO,        /* tls */
    SSPI_ATTR_REMOTE_CERT,        /* cert */
    SSPI_ATTR_ENDPOINT_BINDINGS,  /* bytes: "tls-server-end-point:" || hash (RFC 5929) */
    SSPI_ATTR_UNIQUE_BINDINGS,    /* bytes: "tls-unique:" || Finished (TLS 1.2) */
    SSPI_ATTR_APPLICATION_PROTOCOL /* application_protocol (NULL: none negotiated) */
} sspi_attr;

/* The answer to a query: the fields of the attribute asked are set.
 * Pointers point into the context and stay valid until its next step,
 * message call or free. */
typedef struct sspi_attr_value {
    /* NAMES: user_name (the client, on both sides: SecPkgContext_Names).
     * NATIVE_NAMES: client_name and server_name. */
    const char *user_name;
    const char *client_name;
    const char *server_name;
    /* SIZES */
    uint32_t max_token, max_signature, block_size, security_trailer;
    /* STREAM_SIZES (block_size shared) */
    uint32_t stream_header, stream_trailer, stream_max_message, stream_buffers;
    /* SESSION_KEY */
    const unsigned char *session_key;
    size_t session_key_len;
    int32_t session_key_type; /* Kerberos enctype, 0 otherwise */
    /* FLAGS: ISC_RET_* or ASC_RET_* */
    uint32_t flags;
    /* LIFESPAN: Unix times, 0 unknown */
    int64_t start, expiry;
    /* PACKAGE_INFO and NEGOTIATION_INFO: the package in use (for Negotiate:
     * the chosen inner package once known) */
    sspi_package_info package;
    /* NEGOTIATION_INFO */
    uint32_t negotiation_state; /* SECPKG_NEGOTIATION_* */
    /* CONNECTION_INFO and CIPHER_INFO (SecPkgContext_ConnectionInfo /
     * SecPkgContext_CipherInfo): names as OpenSSL and IANA give them. */
    struct {
        const char *protocol;     /* "TLSv1.2" | "TLSv1.3" */
        int version;              /* 0x0303, 0x0304 */
        const char *cipher_suite; /* IANA: "TLS_AES_128_GCM_SHA256" */
        uint16_t cipher_suite_id; /* its number: 0x1301 */
        const char *cipher;       /* "AES-128-GCM" */
        int cipher_strength;      /* bits */
        const char *hash;         /* MAC: "SHA256", or "AEAD" */
        int hash_strength;
        const char *exchange;     /* "ECDHE" | "DHE" | "RSA" | "PSK" */
        int exchange_strength;    /* bits of the key exchange key */
        const char *group;        /* "x25519" ..., or NULL */
        int resumed;              /* the session was resumed */
    } tls;
    /* REMOTE_CERT: the peer's certificate. */
    struct {
        const unsigned char *der;
        size_t der_len;
        const char *pem;
        const char *subject;      /* RFC 4514 */
        const char *issuer;       /* RFC 4514 */
        int64_t not_before, not_after; /* Unix times */
    } cert;
    /* ENDPOINT_BINDINGS, UNIQUE_BINDINGS */
    const unsigned char *bytes;
    size_t bytes_len;
    /* APPLICATION_PROTOCOL */
    const char *application_protocol;
} sspi_attr_value;

SSPI_API sspi_status sspi_query(sspi_context *ctx, sspi_attr attr, sspi_attr_value *value,
                                sspi_error *err);

/* ------------------------------------------------------ message functions */

/* On SecBuffer lists, in place (EncryptMessage / DecryptMessage /
 * MakeSignature / VerifySignature): TOKEN (the security header/trailer),
 * DATA (processed in place), PADDING, and DATA with READONLY or
 * READONLY_WITH_CHECKSUM (signed, not encrypted). */
SSPI_API sspi_status sspi_encrypt_message(sspi_context *ctx, uint32_t qop, sspi_buffer_list *msg,
                                          uint32_t seqno, sspi_error *err);
SSPI_API sspi_status sspi_decrypt_message(sspi_context *ctx, sspi_buffer_list *msg,
                                          uint32_t seqno, uint32_t *qop, sspi_error *err);
SSPI_API sspi_status sspi_make_signature(sspi_context *ctx, uint32_t qop, sspi_buffer_list *msg,
                                         uint32_t seqno, sspi_error *err);
SSPI_API sspi_status sspi_verify_signature(sspi_context *ctx, sspi_buffer_list *msg,
                                           uint32_t seqno, uint32_t *qop, sspi_error *err);

/* On plain bytes, byte-compatible with gss_wrap / gss_unwrap / gss_get_mic
 * of the same mechanism.  The output points into the context and stays
 * valid until its next call or free (no allocation per message). */
SSPI_API sspi_status sspi_wrap(sspi_context *ctx, int encrypt, const unsigned char *in, size_t len,
                               const unsigned char **out, size_t *out_len, sspi_error *err);
SSPI_API sspi_status sspi_unwrap(sspi_context *ctx, const unsigned char *in, size_t len,
                                 const unsigned char **out, size_t *out_len, int *encrypted,
                                 sspi_error *err);
SSPI_API sspi_status sspi_sign(sspi_context *ctx, const unsigned char *in, size_t len,
                               const unsigned char **mic, size_t *mic_len, sspi_error *err);
/* Stream packages (Schannel): the whole records at the start of `in` to
 * plain data; the rest is left for the next call.  Besides SEC_E_OK:
 * SEC_E_INCOMPLETE_MESSAGE (missing: the bytes still needed; nothing
 * consumed), SEC_I_RENEGOTIATE (in[consumed..] starts with post-handshake
 * record(s): step with them, then go on), SEC_I_CONTEXT_EXPIRED (the peer
 * closed the connection). */
typedef struct sspi_unwrap_result {
    const unsigned char *data; /* points into the context until its next call */
    size_t len;
    size_t consumed;           /* bytes of `in` used; the rest is extra */
    size_t missing;
} sspi_unwrap_result;
SSPI_API sspi_status sspi_unwrap_stream(sspi_context *ctx, const unsigned char *in, size_t len,
                                        sspi_unwrap_result *res, sspi_error *err);

/* Takes a piece of a package's output while the package writes it, before
 * it is copied into the context: the bytes are valid only during the call.
 * take returns 0 when it took them, nonzero when it failed: the call then
 * fails, and the context refuses its message calls and steps from then on
 * (SEC_E_INVALID_HANDLE: the piece was written and belongs to no output).
 * It runs inside the package's call: it must not use that context. */
typedef struct sspi_output_sink {
    int (*take)(void *ud, const unsigned char *data, size_t len);
    void *ud;
} sspi_output_sink;
typedef struct sspi_wrap_result {
    int taken;                 /* the sink took the output's first piece */
    const unsigned char *data; /* the rest: points into the context until its next call */
    size_t len;
} sspi_wrap_result;
/* Stream packages: sspi_wrap (data to records), offering the first piece
 * written (Schannel, for data that fits one record and nothing queued before
 * it: OpenSSL's first write, normally the record) to `sink` (NULL: none),
 * which saves a copy of large records.  The output is the piece taken, if
 * any, then res->data.  When the call fails after the sink took a piece, or
 * because it failed, that piece belongs to no output: the records after it
 * could not be read in order, so the context refuses its message calls and
 * steps from then on (SEC_E_INVALID_HANDLE). */
SSPI_API sspi_status sspi_wrap_stream(sspi_context *ctx, const unsigned char *in, size_t len,
                                      const sspi_output_sink *sink, sspi_wrap_result *res,
                                      sspi_error *err);

/* ApplyControlToken: `input` holds a SECBUFFER_TOKEN whose first 4 bytes
 * are the token type, little-endian (Schannel: SCHANNEL_SHUTDOWN, after
 * which the next step produces close_notify). */
SSPI_API sspi_status sspi_apply_control_token(sspi_context *ctx, const sspi_buffer_list *input,
                                              sspi_error *err);

SSPI_API sspi_status sspi_verify(sspi_context *ctx, const unsigned char *in, size_t len,
                                 const unsigned char *mic, size_t mic_len, sspi_error *err);

/* ------------------------------------------- contexts and credentials that move */

/* ExportSecurityContext: a complete context as a blob another process can
 * import (a pre-forked server accepts in one process and protects messages
 * in another).  The blob is package-allocated memory in *out (free it with
 * sspi_buffer_release(alloc, out)); it holds the session keys: treat it as a
 * secret.  The context is moved, not copied: free it afterwards, it must
 * not be used again.  Every blob is in a versioned envelope whose lengths
 * and SHA-256 digest are checked before the mechanism sees a byte. */
SSPI_API sspi_status sspi_context_export(sspi_context *ctx, const sspi_allocator *alloc,
                                         sspi_buffer *out, sspi_error *err);
/* ImportSecurityContext: SEC_E_INVALID_TOKEN for a truncated, extended or
 * edited blob, or one of another version. */
SSPI_API sspi_status sspi_context_import(const unsigned char *blob, size_t len,
                                         const sspi_allocator *alloc, sspi_context **out,
                                         sspi_error *err);
/* The same for a credential (Kerberos: its tickets); the credential stays
 * usable after export. */
SSPI_API sspi_status sspi_credential_export(sspi_credential *cred, const sspi_allocator *alloc,
                                            sspi_buffer *out, sspi_error *err);
/* The credential a context lives on (borrowed: addref to keep it); an
 * imported context has one of its own. */
SSPI_API sspi_credential *sspi_context_credential(const sspi_context *ctx);
SSPI_API sspi_status sspi_credential_import(const unsigned char *blob, size_t len,
                                            const sspi_allocator *alloc, sspi_credential **out,
                                            sspi_error *err);

#ifdef __cplusplus
}
#endif

#endif /* SSPI_H */
