/*
 * negotiate_provider.c - the built-in Negotiate provider's vtable: the
 * steps (negotiate_init.c, negotiate_accept.c), and everything after the
 * handshake forwarded to the chosen mechanism's context: queries, message
 * functions, controls.
 */
#include <string.h>

#include "negotiate.h"
#include "../../core/oids.h"

static const unsigned char spnego_oid[] = {SSPI_OID_SPNEGO};

static sspi_nego_ctx *chosen(sspi_context *ctx)
{
    sspi_nego_ctx *nc = ctx->impl;
    return (nc && nc->inner) ? nc : NULL;
}

static sspi_status no_mechanism(sspi_error *err, const char *what)
{
    return sspi_error_set(err, SEC_E_INVALID_HANDLE, "Negotiate: %s: no mechanism chosen yet", what);
}

static uint32_t negotiation_state(const sspi_context *ctx, const sspi_nego_ctx *nc)
{
    if (nc->done || ctx->state == SSPI_CTX_COMPLETE)
        return SECPKG_NEGOTIATION_COMPLETE;
    if (nc->raw)
        return SECPKG_NEGOTIATION_DIRECT;
    if (ctx->initiator == 1 && !nc->nego_done && nc->inner)
        return SECPKG_NEGOTIATION_OPTIMISTIC; /* our first token is a guess the acceptor may refuse */
    return SECPKG_NEGOTIATION_IN_PROGRESS;
}

static sspi_status nego_query(sspi_context *ctx, sspi_attr attr, sspi_attr_value *v, sspi_error *err)
{
    sspi_nego_ctx *nc = ctx->impl;
    const sspi_package_info *pkg = &ctx->provider->info;
    if (nc && nc->inner)
        pkg = sspi_context_package(nc->inner);
    switch (attr) {
    case SSPI_ATTR_PACKAGE_INFO:
        v->package = *pkg;
        return SEC_E_OK;
    case SSPI_ATTR_NEGOTIATION_INFO:
        v->package = *pkg;
        v->negotiation_state = nc ? negotiation_state(ctx, nc) : SECPKG_NEGOTIATION_IN_PROGRESS;
        return SEC_E_OK;
    case SSPI_ATTR_FLAGS:
        return SEC_E_UNSUPPORTED_FUNCTION; /* the core answers with what the steps returned */
    default:
        if (nc == NULL || nc->inner == NULL)
            return no_mechanism(err, "query");
        return sspi_query(nc->inner, attr, v, err);
    }
}

static sspi_status nego_encrypt(sspi_context *ctx, uint32_t qop, sspi_buffer_list *msg,
                                uint32_t seqno, sspi_error *err)
{
    sspi_nego_ctx *nc = chosen(ctx);
    return nc ? sspi_encrypt_message(nc->inner, qop, msg, seqno, err) : no_mechanism(err, "encrypt");
}

static sspi_status nego_decrypt(sspi_context *ctx, sspi_buffer_list *msg, uint32_t seqno,
                                uint32_t *qop, sspi_error *err)
{
    sspi_nego_ctx *nc = chosen(ctx);
    return nc ? sspi_decrypt_message(nc->inner, msg, seqno, qop, err) : no_mechanism(err, "decrypt");
}

static sspi_status nego_sign(sspi_context *ctx, uint32_t qop, sspi_buffer_list *msg, uint32_t seqno,
                             sspi_error *err)
{
    sspi_nego_ctx *nc = chosen(ctx);
    return nc ? sspi_make_signature(nc->inner, qop, msg, seqno, err) : no_mechanism(err, "sign");
}

static sspi_status nego_verify(sspi_context *ctx, sspi_buffer_list *msg, uint32_t seqno,
                               uint32_t *qop, sspi_error *err)
{
    sspi_nego_ctx *nc = chosen(ctx);
    return nc ? sspi_verify_signature(nc->inner, msg, seqno, qop, err) : no_mechanism(err, "verify");
}

/* Plain-bytes results live in the inner context's scratch; copied into the
 * outer one so the pointer the caller gets follows the documented rule
 * (valid until the next call on the context it called).  The inner call is
 * made before, not in the argument list: p and n are read after it. */
static sspi_status copy_out(sspi_status st, const unsigned char *p, size_t n, sspi_bytes *out,
                            sspi_error *err)
{
    if (st != SEC_E_OK)
        return st;
    if (sspi_bytes_set(out, p, n) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Negotiate: out of memory");
    return SEC_E_OK;
}

static sspi_status nego_wrap(sspi_context *ctx, int encrypt, const unsigned char *in, size_t len,
                             sspi_bytes *out, sspi_error *err)
{
    sspi_nego_ctx *nc = chosen(ctx);
    const unsigned char *p = NULL;
    size_t n = 0;
    sspi_status st;
    if (nc == NULL)
        return no_mechanism(err, "wrap");
    st = sspi_wrap(nc->inner, encrypt, in, len, &p, &n, err);
    return copy_out(st, p, n, out, err);
}

static sspi_status nego_unwrap(sspi_context *ctx, const unsigned char *in, size_t len,
                               sspi_bytes *out, int *encrypted, sspi_error *err)
{
    sspi_nego_ctx *nc = chosen(ctx);
    const unsigned char *p = NULL;
    size_t n = 0;
    sspi_status st;
    if (nc == NULL)
        return no_mechanism(err, "unwrap");
    st = sspi_unwrap(nc->inner, in, len, &p, &n, encrypted, err);
    return copy_out(st, p, n, out, err);
}

static sspi_status nego_get_mic(sspi_context *ctx, const unsigned char *in, size_t len,
                                sspi_bytes *out, sspi_error *err)
{
    sspi_nego_ctx *nc = chosen(ctx);
    const unsigned char *p = NULL;
    size_t n = 0;
    sspi_status st;
    if (nc == NULL)
        return no_mechanism(err, "sign");
    st = sspi_sign(nc->inner, in, len, &p, &n, err);
    return copy_out(st, p, n, out, err);
}

static sspi_status nego_verify_mic(sspi_context *ctx, const unsigned char *in, size_t len,
                                   const unsigned char *mic, size_t mic_len, sspi_error *err)
{
    sspi_nego_ctx *nc = chosen(ctx);
    return nc ? sspi_verify(nc->inner, in, len, mic, mic_len, err) : no_mechanism(err, "verify");
}

static sspi_status nego_control(sspi_context *ctx, int op, void *arg, sspi_error *err)
{
    sspi_nego_ctx *nc = chosen(ctx);
    return nc ? sspi_context_control(nc->inner, op, arg, err) : no_mechanism(err, "control");
}

static void nego_free_context(sspi_context *ctx)
{
    sspi_nego_ctx *nc = ctx->impl;
    if (nc != NULL) {
        sspi_bytes *const buffers[] = SSPI_NEGO_BUFFERS(nc);
        sspi_nego_drop_inner(nc);
        sspi_bytes_free_all(buffers);
        sspi_mem_free(ctx->alloc, nc, sizeof *nc);
        ctx->impl = NULL;
    }
}

const sspi_provider sspi_negotiate_builtin_provider = {
    .info = {.name = "Negotiate",
             .comment = "Microsoft Package Negotiator (built-in SPNEGO over Kerberos and NTLM)",
             .backend = "builtin",
             .capabilities = SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_CONNECTION |
                             SECPKG_FLAG_MULTI_REQUIRED | SECPKG_FLAG_EXTENDED_ERROR |
                             SECPKG_FLAG_IMPERSONATION | SECPKG_FLAG_ACCEPT_WIN32_NAME |
                             SECPKG_FLAG_NEGOTIABLE | SECPKG_FLAG_GSS_COMPATIBLE |
                             SECPKG_FLAG_LOGON | SECPKG_FLAG_MUTUAL_AUTH | SECPKG_FLAG_DELEGATION |
                             SECPKG_FLAG_READONLY_WITH_CHECKSUM | SECPKG_FLAG_RESTRICTED_TOKENS |
                             SECPKG_FLAG_APPCONTAINER_CHECKS,
             .version = 1,
             .rpcid = 9,         /* RPC_C_AUTHN_GSS_NEGOTIATE */
             .max_token = 48256}, /* Windows' cbMaxToken for Negotiate */
    .mech_oid = spnego_oid,
    .mech_oid_len = sizeof spnego_oid,
    /* no .available: whenever one inner mechanism is, decided at acquisition */
    /* its own options and those of the packages it negotiates */
    .options = {sspi_options_identity, sspi_options_kerberos, sspi_options_ntlm,
                sspi_options_ntlm_builtin,
                sspi_options_negotiate},
    .acquire = sspi_nego_acquire,
    .free_cred = sspi_nego_free_cred,
    .init_step = sspi_nego_init_step,
    .accept_step = sspi_nego_accept_step,
    /* no .complete: neither Kerberos nor NTLM asks for CompleteAuthToken */
    .query = nego_query,
    .encrypt = nego_encrypt,
    .decrypt = nego_decrypt,
    .sign = nego_sign,
    .verify = nego_verify,
    .wrap = nego_wrap,
    .unwrap = nego_unwrap,
    .get_mic = nego_get_mic,
    .verify_mic = nego_verify_mic,
    .control = nego_control,
    .free_context = nego_free_context,
    .export_context = sspi_nego_export_context,
    .import_context = sspi_nego_import_context,
};
