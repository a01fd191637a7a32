/*
 * sch_provider.c - the vtable of the Schannel package ("Schannel", backend
 * "builtin": implemented here, over libssl): the provider contract's calls
 * mapped onto the engine (sch_*.c).  A Schannel context takes steps after
 * completion (post-handshake messages, shutdown).
 */
#include <string.h>

#include "schannel.h"

static sch_cred *cred_of(const sspi_context *ctx)
{
    return ctx->cred->impl;
}

static sspi_status acquire(sspi_credential *cred, const sspi_cred_options *opts, sspi_error *err)
{
    sch_cred_config cfg;
    sch_cred *c = NULL;
    sspi_status st;
    if (cred->usage == SSPI_CRED_BOTH)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                              "Schannel: a credential is either inbound (a server, with its "
                              "certificate) or outbound (a client); usage \"both\" is not one");
    memset(&cfg, 0, sizeof cfg);
    cfg.server = cred->usage == SSPI_CRED_INBOUND;
    sch_options_read(opts, &cfg);
    st = sch_cred_new(&cfg, &cred->alloc, &c, err);
    cred->impl = c;
    return st;
}

static void free_cred(sspi_credential *cred)
{
    sch_cred *c = cred->impl;
    sch_cred_free(&c);
    cred->impl = NULL;
}

static sspi_status step(sspi_context *ctx, const sspi_step_in *in, uint32_t *ret_flags,
                        sspi_error *err, int server)
{
    sch_conn *c = ctx->impl;
    sch_step_io io;
    sspi_status st;
    if (c == NULL) {
        st = sch_conn_new(cred_of(ctx), server, ctx->alloc, &c, err);
        if (st != SEC_E_OK)
            return st;
        ctx->impl = c;
    }
    memset(&io, 0, sizeof io);
    io.in = in->token;
    io.in_len = in->token ? in->token_len : 0;
    io.out = &ctx->out_token;
    io.context_req = in->context_req;
    io.target = in->target;
    io.step_cred = in->credential ? in->credential->impl : NULL;
    {
        const sspi_buffer *ap = sspi_buffer_list_find(in->input, SECBUFFER_APPLICATION_PROTOCOLS);
        if (ap && ap->data) {
            io.app_protocols = ap->data;
            io.app_protocols_len = ap->length;
        }
    }
    st = sch_step(c, &io, err);
    *ret_flags = sch_ret_flags(c, in->context_req);
    if (st == SEC_E_INCOMPLETE_MESSAGE) {
        in->out->missing = io.missing;
        return st;
    }
    if (!SSPI_SUCCESS(st)) {
        if (c->alert.len > 0)
            sspi_bytes_set(&ctx->out_alert, c->alert.data, c->alert.len);
        return st;
    }
    if (st == SEC_I_INCOMPLETE_CREDENTIALS)
        return st;
    in->out->unconsumed = io.in_len - io.consumed;
    if (st == SEC_E_OK) {
        int64_t start;
        sch_query_lifespan(c, &start, &ctx->expiry);
    }
    return st;
}

static sspi_status init_step(sspi_context *ctx, const sspi_step_in *in, uint32_t *ret_flags,
                             sspi_error *err)
{
    return step(ctx, in, ret_flags, err, 0);
}

static sspi_status accept_step(sspi_context *ctx, const sspi_step_in *in, uint32_t *ret_flags,
                               sspi_error *err)
{
    return step(ctx, in, ret_flags, err, 1);
}

static sspi_status query(sspi_context *ctx, sspi_attr attr, sspi_attr_value *v, sspi_error *err)
{
    sch_conn *c = ctx->impl;
    switch (attr) {
    case SSPI_ATTR_STREAM_SIZES:
        if (!c->complete)
            return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                                  "Schannel: stream_sizes needs a completed handshake");
        sch_stream_sizes(c, &v->stream_header, &v->stream_trailer, &v->stream_max_message,
                         &v->block_size);
        v->stream_buffers = 4;
        return SEC_E_OK;
    case SSPI_ATTR_NAMES:
        v->user_name = sch_query_peer_name(c);
        if (v->user_name == NULL)
            return sspi_error_set(err, SEC_E_NO_CREDENTIALS,
                                  "Schannel: the peer sent no certificate, so it has no name");
        return SEC_E_OK;
    case SSPI_ATTR_LIFESPAN:
        sch_query_lifespan(c, &v->start, &v->expiry);
        return SEC_E_OK;
    case SSPI_ATTR_CONNECTION_INFO:
    case SSPI_ATTR_CIPHER_INFO:
        return sch_query_connection(c, v, err);
    case SSPI_ATTR_REMOTE_CERT:
        return sch_query_remote_cert(c, v, err);
    case SSPI_ATTR_ENDPOINT_BINDINGS:
        return sch_query_endpoint_bindings(c, &v->bytes, &v->bytes_len, err);
    case SSPI_ATTR_UNIQUE_BINDINGS:
        return sch_query_unique_bindings(c, &v->bytes, &v->bytes_len, err);
    case SSPI_ATTR_APPLICATION_PROTOCOL: {
        sspi_error why;
        sspi_error_clear(&why);
        v->application_protocol = sch_query_alpn(c, &why);
        if (v->application_protocol == NULL && why.status != SEC_E_OK)
            return sspi_error_set(err, why.status, "%s", why.message);
        return SEC_E_OK;
    }
    default:
        return SEC_E_UNSUPPORTED_FUNCTION;
    }
}

static sspi_status encrypt(sspi_context *ctx, uint32_t qop, sspi_buffer_list *msg, uint32_t seqno,
                           sspi_error *err)
{
    (void)qop;
    (void)seqno;
    return sch_encrypt_list(ctx->impl, msg, err);
}

static sspi_status decrypt(sspi_context *ctx, sspi_buffer_list *msg, uint32_t seqno, uint32_t *qop,
                           sspi_error *err)
{
    size_t missing = 0;
    sspi_status st;
    (void)seqno;
    *qop = 0;
    st = sch_decrypt_list(ctx->impl, msg, &missing, err);
    if (st == SEC_E_INCOMPLETE_MESSAGE && err)
        err->missing = missing;
    return st;
}

static sspi_status wrap(sspi_context *ctx, int encrypt_data, const unsigned char *in, size_t len,
                        sspi_bytes *out, sspi_error *err)
{
    if (!encrypt_data)
        return sspi_error_set(err, SEC_E_QOP_NOT_SUPPORTED,
                              "Schannel: TLS records are always encrypted");
    return sch_wrap(ctx->impl, in, len, NULL, NULL, out, err);
}

static sspi_status wrap_stream(sspi_context *ctx, const unsigned char *in, size_t len,
                               const sspi_output_sink *sink, int *taken, sspi_bytes *out,
                               sspi_error *err)
{
    return sch_wrap(ctx->impl, in, len, sink, taken, out, err);
}

static sspi_status apply_control(sspi_context *ctx, uint32_t token_type, sspi_error *err)
{
    return sch_apply_control(ctx->impl, token_type, err);
}

static sspi_status unwrap_stream(sspi_context *ctx, const unsigned char *in, size_t len,
                                 sspi_bytes *out, size_t *consumed, size_t *missing,
                                 sspi_error *err)
{
    return sch_unwrap(ctx->impl, in, len, out, consumed, missing, err);
}

static void free_context(sspi_context *ctx)
{
    sch_conn *c = ctx->impl;
    sch_conn_free(&c);
    ctx->impl = NULL;
}

const sspi_provider sspi_schannel_provider = {
    .info = {
        .name = "Schannel",
        .comment = "Schannel Security Package (TLS 1.2/1.3 over OpenSSL libssl)",
        .backend = "builtin",
        .capabilities = SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_CONNECTION |
                        SECPKG_FLAG_MULTI_REQUIRED | SECPKG_FLAG_EXTENDED_ERROR |
                        SECPKG_FLAG_IMPERSONATION | SECPKG_FLAG_ACCEPT_WIN32_NAME |
                        SECPKG_FLAG_STREAM | SECPKG_FLAG_MUTUAL_AUTH,
        .version = 1,
        .rpcid = 14,        /* UNISP_RPC_ID */
        .max_token = 24576, /* Windows' cbMaxToken for Schannel */
    },
    .options = {sch_options},
    .steps_after_complete = 1,
    .acquire = acquire,
    .free_cred = free_cred,
    .init_step = init_step,
    .accept_step = accept_step,
    .query = query,
    .encrypt = encrypt,
    .decrypt = decrypt,
    .wrap = wrap,
    .apply_control = apply_control,
    .unwrap_stream = unwrap_stream,
    .wrap_stream = wrap_stream,
    .free_context = free_context,
};
