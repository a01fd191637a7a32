/*
 * ntlm_context.c - the NTLM context object: creation on the first step,
 * queries, the controls Negotiate uses, and freeing (with every secret
 * wiped).  Also the two computations both sides share: the MIC over the
 * three messages and the MsvAvChannelBindings hash.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "ntlm.h"

static void ctx_init(sspi_context *ctx, void *impl)
{
    sspi_ntlm_ctx *c = impl;
    sspi_bytes_init(&c->negotiate, ctx->alloc);
    sspi_bytes_init(&c->challenge, ctx->alloc);
}

sspi_status sspi_ntlm_ctx_get(sspi_context *ctx, sspi_ntlm_ctx **out, sspi_error *err)
{
    *out = sspi_context_impl(ctx, sizeof **out, ctx_init, "NTLM", err);
    return *out ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
}

sspi_status sspi_ntlm_step(sspi_context *ctx, const sspi_step_in *in, uint32_t *ret_flags,
                           sspi_error *err)
{
    /* the core sets the side before the step */
    const sspi_ntlm_legs *legs =
        ctx->initiator == 1 ? &sspi_ntlm_initiator_legs : &sspi_ntlm_acceptor_legs;
    sspi_ntlm_ctx *c = NULL;
    sspi_status st = sspi_ntlm_ctx_get(ctx, &c, err);
    if (st != SEC_E_OK)
        return st;
    *ret_flags = 0;
    if (c->stage != NTLM_STAGE_START && c->stage != legs->waiting)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "NTLM: the context is already complete");
    if (in->token == NULL && (c->stage == legs->waiting || legs->first_takes_token))
        return sspi_error_set(err, SEC_E_INVALID_TOKEN, "NTLM: the %s needs an input token",
                              c->stage == legs->waiting ? legs->second_name : legs->first_name);
    if (c->stage == NTLM_STAGE_START)
        return legs->first(ctx, c, in, ret_flags, err);
    return legs->second(ctx, c, in, ret_flags, err);
}

sspi_status sspi_ntlm_finish(sspi_ntlm_ctx *c, sspi_status st, int initiator, uint32_t flags,
                             uint32_t *ret_flags, sspi_error *err)
{
    if (st == SEC_E_OK)
        st = sspi_ntlm_session_start(c, initiator, err);
    if (st == SEC_E_OK) {
        c->stage = NTLM_STAGE_DONE;
        *ret_flags = flags;
    }
    /* The handshake transcript is only needed for the MIC. */
    sspi_bytes_free(&c->negotiate);
    sspi_bytes_free(&c->challenge);
    return st;
}

sspi_status sspi_ntlm_set_client_name(sspi_context *ctx, sspi_ntlm_ctx *c, const char *domain,
                                      const char *user, sspi_error *err)
{
    static const char anonymous_name[] = "NT AUTHORITY\\ANONYMOUS LOGON";
    size_t dl, ul;
    char *s;
    if (c->anonymous) {
        domain = NULL;
        user = anonymous_name;
    }
    dl = domain ? strlen(domain) : 0;
    ul = strlen(user);
    s = sspi_mem_alloc(ctx->alloc, dl + ul + 2);
    if (s == NULL)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory");
    c->client_name = s;
    c->client_name_size = dl + ul + 2;
    if (dl) {
        memcpy(s, domain, dl);
        s[dl++] = '\\';
    }
    memcpy(s + dl, user, ul + 1);
    return SEC_E_OK;
}

sspi_status sspi_ntlm_bindings_hash(const unsigned char *data, size_t len, unsigned char out[16],
                                    sspi_error *err)
{
    sspi_channel_bindings cb;
    unsigned char hdr[3][8];
    sspi_ntlm_chunk parts[6];
    sspi_status st = sspi_channel_bindings_parse(data, len, &cb, err);
    if (st != SEC_E_OK)
        return st;
    /* gss_channel_bindings_struct as MIT and Windows hash it: each address
     * as (type, length, bytes), then (length, bytes) of application data. */
    sspi_ntlm_put_le32(hdr[0], cb.initiator_addrtype);
    sspi_ntlm_put_le32(hdr[0] + 4, (uint32_t)cb.initiator_length);
    sspi_ntlm_put_le32(hdr[1], cb.acceptor_addrtype);
    sspi_ntlm_put_le32(hdr[1] + 4, (uint32_t)cb.acceptor_length);
    sspi_ntlm_put_le32(hdr[2], (uint32_t)cb.application_length);
    parts[0].data = hdr[0];
    parts[0].len = 8;
    parts[1].data = cb.initiator_address;
    parts[1].len = cb.initiator_length;
    parts[2].data = hdr[1];
    parts[2].len = 8;
    parts[3].data = cb.acceptor_address;
    parts[3].len = cb.acceptor_length;
    parts[4].data = hdr[2];
    parts[4].len = 4;
    parts[5].data = cb.application_data;
    parts[5].len = cb.application_length;
    if (sspi_ntlm_md5(parts, 6, out) != 0)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "NTLM: MD5 failed");
    return SEC_E_OK;
}

int sspi_ntlm_mic(const sspi_ntlm_ctx *c, const unsigned char *auth, size_t len,
                  unsigned char out[16])
{
    sspi_ntlm_chunk parts[3];
    parts[0].data = c->negotiate.data;
    parts[0].len = c->negotiate.len;
    parts[1].data = c->challenge.data;
    parts[1].len = c->challenge.len;
    parts[2].data = auth;
    parts[2].len = len;
    return sspi_ntlm_hmac_md5(c->session_key, 16, parts, 3, out);
}

static sspi_status query(sspi_context *ctx, sspi_attr attr, sspi_attr_value *v, sspi_error *err)
{
    sspi_ntlm_ctx *c = ctx->impl;
    int done = c->stage == NTLM_STAGE_DONE;
    switch (attr) {
    case SSPI_ATTR_SIZES:
        v->max_token = NTLM_MAX_TOKEN;
        v->max_signature = NTLM_SIGNATURE_SIZE;
        v->block_size = 0;
        v->security_trailer = NTLM_SIGNATURE_SIZE;
        return SEC_E_OK;
    case SSPI_ATTR_NAMES:
    case SSPI_ATTR_NATIVE_NAMES:
        if (!done || c->client_name == NULL)
            return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                                  "NTLM: names are known once the handshake is complete");
        v->user_name = c->client_name;
        v->client_name = c->client_name;
        v->server_name = c->server_name;
        return SEC_E_OK;
    case SSPI_ATTR_SESSION_KEY:
        if (!done)
            return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                                  "NTLM: the session key is known once the handshake is complete");
        v->session_key = c->session_key;
        v->session_key_len = 16;
        v->session_key_type = 0;
        return SEC_E_OK;
    case SSPI_ATTR_LIFESPAN:
        /* NTLM contexts do not expire. */
        v->start = 0;
        v->expiry = 0;
        return SEC_E_OK;
    case SSPI_ATTR_STREAM_SIZES:
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "NTLM is not a stream package: stream_sizes is not available");
    default:
        return SEC_E_UNSUPPORTED_FUNCTION; /* the core answers FLAGS and PACKAGE_INFO */
    }
}

sspi_status sspi_ntlm_query(sspi_context *ctx, sspi_attr attr, sspi_attr_value *v,
                            sspi_error *err)
{
    return query(ctx, attr, v, err);
}

sspi_status sspi_ntlm_control(sspi_context *ctx, int op, void *arg, sspi_error *err)
{
    sspi_ntlm_ctx *c = ctx->impl;
    switch (op) {
    case SSPI_CTL_NTLM_MIC_PRESENT:
        if (arg == NULL)
            return sspi_error_set(err, SEC_E_INVALID_PARAMETER, "NTLM: control needs an int*");
        *(int *)arg = c->mic_present;
        return SEC_E_OK;
    case SSPI_CTL_RESET_CRYPTO:
        if (c->stage != NTLM_STAGE_DONE)
            return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                                  "NTLM: reset of the sealing state before the handshake ends");
        /* arg NULL: both directions; an int*: 1 outgoing only, 0 incoming only. */
        return sspi_ntlm_session_reset(c, arg ? *(int *)arg : -1, err);
    default:
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION, "NTLM: unknown control %d", op);
    }
}

void sspi_ntlm_free_context(sspi_context *ctx)
{
    sspi_ntlm_ctx *c = ctx->impl;
    if (c == NULL)
        return;
    sspi_ntlm_pending_remove(ctx->cred, c);
    sspi_ntlm_session_free(c);
    sspi_bytes_free(&c->negotiate);
    sspi_bytes_free(&c->challenge);
    sspi_mem_free(ctx->alloc, c->client_name, c->client_name_size);
    sspi_mem_free(ctx->alloc, c->server_name, c->server_name_size);
    sspi_mem_free(ctx->alloc, c, sizeof *c); /* wipes the session key */
    ctx->impl = NULL;
}
