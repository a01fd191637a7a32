/*
 * gss_export.c - contexts and credentials that move between processes:
 * gss_export_sec_context / gss_import_sec_context and gss_export_cred /
 * gss_import_cred, with the state GSSAPI does not carry (NO_INTEGRITY, the
 * mechanism in use, the SPNEGO mechanism list, the delegation policy) in a
 * small header before MIT's bytes.  The core's envelope around all of it
 * has already checked every length and the digest when import runs.
 *
 * Context payload: version 1, no_integrity 1, actual mech kind 1, 0 1,
 *   established-at 8 (big-endian), GSS flags 4, then MIT's token.
 * Credential payload: version 1, delegate_always 1, impersonated 1, kind 1,
 *   neg_count 1, neg kinds 2, 0 1, clockskew 4, then MIT's token.
 */
#include <string.h>

#include "gss_private.h"

#define PAYLOAD_VERSION 1
#define CTX_HEADER 16
#define CRED_HEADER 12

/* Header then MIT's token (wiped: it holds keys) into out. */
static sspi_status emit(sspi_bytes *out, const unsigned char *head, size_t head_len,
                        gss_buffer_t token, sspi_error *err)
{
    OM_uint32 minor;
    int rc = sspi_bytes_set(out, head, head_len) != 0 ||
             sspi_bytes_append(out, token->value, token->length) != 0;
    sspi_wipe(token->value, token->length);
    gss_release_buffer(&minor, token);
    if (rc)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "export: out of memory");
    return SEC_E_OK;
}

static sspi_status bad_payload(sspi_error *err, const char *why)
{
    return sspi_error_set(err, SEC_E_INVALID_TOKEN, "import: %s", why);
}

sspi_status sspi_gss_export_context(sspi_context *ctx, sspi_bytes *out, sspi_error *err)
{
    sspi_gss_ctx *impl = sspi_gss_ctx_of(ctx);
    gss_buffer_desc token = GSS_C_EMPTY_BUFFER;
    unsigned char head[CTX_HEADER];
    uint64_t start;
    OM_uint32 major, minor;
    int i;

    if (impl == NULL || !impl->established)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "export: the context is not complete");
    major = gss_export_sec_context(&minor, &impl->ctx, &token);
    if (GSS_ERROR(major))
        return sspi_gss_fail(err, "gss_export_sec_context", major, minor, sspi_gss_ctx_mech(ctx));
    /* MIT has deleted its context: this one is spent. */
    impl->established = 0;
    memset(head, 0, sizeof head);
    head[0] = PAYLOAD_VERSION;
    head[1] = (unsigned char)(impl->no_integrity != 0);
    head[2] = (unsigned char)impl->actual;
    start = (uint64_t)impl->start;
    for (i = 0; i < 8; i++)
        head[4 + i] = (unsigned char)(start >> (56 - 8 * i));
    sspi_put_be32(head + 12, impl->gss_flags);
    return emit(out, head, sizeof head, &token, err);
}

/* The credential part of an imported context: a handle-less credential of
 * the provider's mechanism. */
/* MIT's token after the header into a context handle (ctx) or a
 * credential handle (cred), the handle left empty when MIT refuses it. */
static sspi_status import_handle(const unsigned char *in, size_t len, size_t header,
                                 gss_ctx_id_t *ctx, gss_cred_id_t *cred, sspi_error *err)
{
    gss_buffer_desc token;
    OM_uint32 major, minor;
    token.value = (void *)(in + header);
    token.length = len - header;
    if (ctx != NULL) {
        major = gss_import_sec_context(&minor, &token, ctx);
        if (GSS_ERROR(major))
            *ctx = GSS_C_NO_CONTEXT;
    } else {
        major = gss_import_cred(&minor, &token, cred);
        if (GSS_ERROR(major))
            *cred = GSS_C_NO_CREDENTIAL;
    }
    if (GSS_ERROR(major))
        return sspi_gss_fail_as(err, SEC_E_INVALID_TOKEN,
                                ctx != NULL ? "gss_import_sec_context" : "gss_import_cred", major,
                                minor, GSS_C_NO_OID);
    return SEC_E_OK;
}

sspi_status sspi_gss_import_context(sspi_context *ctx, const unsigned char *in, size_t len,
                                    sspi_error *err)
{
    sspi_gss_ctx *impl;
    uint64_t start = 0;
    sspi_status st;
    int i;

    if (len <= CTX_HEADER || in[0] != PAYLOAD_VERSION || in[1] > 1 ||
        in[2] > SSPI_GSS_MECH_OTHER || in[3] != 0)
        return bad_payload(err, "not a GSSAPI context of this version");
    st = sspi_gss_cred_shell(ctx->cred, err);
    if (st == SEC_E_OK)
        st = sspi_gss_new_impl(ctx, err);
    if (st != SEC_E_OK)
        return st;
    impl = ctx->impl;
    st = import_handle(in, len, CTX_HEADER, &impl->ctx, NULL, err);
    if (st != SEC_E_OK)
        return st;
    impl->no_integrity = in[1];
    impl->actual = (sspi_gss_mech_kind)in[2];
    for (i = 0; i < 8; i++)
        start = (start << 8) | in[4 + i];
    impl->start = (int64_t)start;
    impl->gss_flags = sspi_get_be32(in + 12);
    impl->established = 1;
    return SEC_E_OK;
}

sspi_status sspi_gss_export_cred(sspi_credential *cred, sspi_bytes *out, sspi_error *err)
{
    const sspi_gss_cred *c = cred->impl;
    gss_buffer_desc token = GSS_C_EMPTY_BUFFER;
    unsigned char head[CRED_HEADER];
    OM_uint32 major, minor;
    size_t i;

    if (c == NULL || c->cred == GSS_C_NO_CREDENTIAL)
        return sspi_error_set(err, SEC_E_NO_CREDENTIALS, "export: the credential has no handle");
    major = gss_export_cred(&minor, c->cred, &token);
    if (GSS_ERROR(major))
        return sspi_gss_fail(err, "gss_export_cred", major, minor, GSS_C_NO_OID);
    memset(head, 0, sizeof head);
    head[0] = PAYLOAD_VERSION;
    head[1] = (unsigned char)(c->delegate_always != 0);
    head[2] = (unsigned char)(c->impersonated != 0);
    head[3] = (unsigned char)c->kind;
    head[4] = (unsigned char)c->neg_count;
    for (i = 0; i < c->neg_count && i < 2; i++)
        head[5 + i] = (unsigned char)sspi_gss_mech_kind_of(&c->neg[i]);
    sspi_put_be32(head + 8, (uint32_t)c->clockskew);
    return emit(out, head, sizeof head, &token, err);
}

sspi_status sspi_gss_import_cred(sspi_credential *cred, const unsigned char *in, size_t len,
                                 sspi_error *err)
{
    gss_OID_desc mech;
    sspi_gss_cred *c;
    OM_uint32 major, minor;
    size_t i;
    sspi_status st;

    sspi_gss_provider_oid(cred->provider, &mech);
    if (len <= CRED_HEADER || in[0] != PAYLOAD_VERSION || in[1] > 1 || in[2] > 1 ||
        in[3] != (unsigned char)sspi_gss_mech_kind_of(&mech) || in[4] > 2 || in[7] != 0)
        return bad_payload(err, "not a GSSAPI credential of this version and package");
    for (i = 0; i < in[4]; i++)
        if (in[5 + i] != SSPI_GSS_MECH_KRB5 && in[5 + i] != SSPI_GSS_MECH_NTLM)
            return bad_payload(err, "unknown SPNEGO mechanism");
    st = sspi_gss_cred_shell(cred, err);
    if (st != SEC_E_OK)
        return st;
    c = cred->impl;
    st = import_handle(in, len, CRED_HEADER, NULL, &c->cred, err);
    if (st != SEC_E_OK)
        return st;
    c->delegate_always = in[1];
    c->impersonated = in[2];
    c->clockskew = (int)sspi_get_be32(in + 8);
    c->neg_count = in[4];
    for (i = 0; i < c->neg_count; i++)
        c->neg[i] = *sspi_gss_mech_oid((sspi_gss_mech_kind)in[5 + i]);
    if (c->neg_count > 0) {
        gss_OID_set_desc set;
        set.count = c->neg_count;
        set.elements = c->neg;
        major = gss_set_neg_mechs(&minor, c->cred, &set);
        if (GSS_ERROR(major))
            return sspi_gss_fail(err, "gss_set_neg_mechs", major, minor, GSS_C_NO_OID);
    }
    return sspi_gss_accept_side(cred, NULL, err);
}
