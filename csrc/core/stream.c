/*
 * stream.c - what stream packages (Schannel) add to a context beside the
 * token-in/token-out model: unwrapping the whole records at the start of a
 * byte stream (the rest is left over, a partial record says how much it
 * still needs), wrapping with the first record handed to the caller as it
 * is written (one copy fewer), and ApplyControlToken (SCHANNEL_SHUTDOWN).
 */
#include <string.h>

#include "internal.h"

/* What a stream message call needs: a result to fill (res, size bytes,
 * zeroed here) and a complete context of a stream package that has the call
 * (`has`).  The context's scratch buffer is then emptied for the output. */
static sspi_status stream_ready(sspi_context *ctx, const char *what, int has, void *res,
                                size_t size, sspi_error *err)
{
    sspi_status st;
    if (ctx == NULL || res == NULL)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "%s: no context", what);
    memset(res, 0, size);
    st = sspi_need_complete(ctx, what, err);
    if (st != SEC_E_OK)
        return st;
    if (!(ctx->provider->info.capabilities & SECPKG_FLAG_STREAM) || !has)
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION, "%s: %s (%s) is not a stream package",
                              what, ctx->provider->info.name, ctx->provider->info.backend);
    ctx->scratch.len = 0;
    return SEC_E_OK;
}

sspi_status sspi_unwrap_stream(sspi_context *ctx, const unsigned char *in, size_t len,
                               sspi_unwrap_result *res, sspi_error *err)
{
    sspi_status st = stream_ready(ctx, "unwrap", ctx && ctx->provider->unwrap_stream, res,
                                  sizeof *res, err);
    if (st != SEC_E_OK)
        return st;
    st = ctx->provider->unwrap_stream(ctx, in, len, &ctx->scratch, &res->consumed, &res->missing,
                                      err);
    if (res->consumed > len)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "unwrap: consumed past the input");
    if (err && st == SEC_E_INCOMPLETE_MESSAGE)
        err->missing = res->missing;
    res->data = ctx->scratch.data;
    res->len = st == SEC_E_OK ? ctx->scratch.len : 0;
    return st;
}

sspi_status sspi_wrap_stream(sspi_context *ctx, const unsigned char *in, size_t len,
                             const sspi_output_sink *sink, sspi_wrap_result *res, sspi_error *err)
{
    sspi_status st = stream_ready(ctx, "wrap", ctx && ctx->provider->wrap, res, sizeof *res, err);
    if (st != SEC_E_OK)
        return st;
    if (ctx->provider->wrap_stream != NULL && sink != NULL)
        st = ctx->provider->wrap_stream(ctx, in, len, sink, &res->taken, &ctx->scratch, err);
    else
        st = ctx->provider->wrap(ctx, 1, in, len, &ctx->scratch, err);
    if (st != SEC_E_OK)
        return st;
    res->data = ctx->scratch.data;
    res->len = ctx->scratch.len;
    return st;
}

sspi_status sspi_apply_control_token(sspi_context *ctx, const sspi_buffer_list *input,
                                     sspi_error *err)
{
    const sspi_buffer *tok;
    uint32_t type;
    if (ctx == NULL)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "apply_control_token: no context");
    if (ctx->provider->apply_control == NULL)
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "apply_control_token: not supported by %s (%s)",
                              ctx->provider->info.name, ctx->provider->info.backend);
    if (ctx->impl == NULL || ctx->state == SSPI_CTX_FAILED)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                              "apply_control_token: the context is %s",
                              ctx->impl == NULL ? "not started" : "failed");
    tok = input ? sspi_buffer_list_find(input, SECBUFFER_TOKEN) : NULL;
    if (tok == NULL || tok->data == NULL || tok->length < 4)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "apply_control_token: a SECBUFFER_TOKEN of at least 4 bytes "
                              "(the token type) is needed");
    type = (uint32_t)tok->data[0] | ((uint32_t)tok->data[1] << 8) | ((uint32_t)tok->data[2] << 16) |
           ((uint32_t)tok->data[3] << 24);
    return ctx->provider->apply_control(ctx, type, err);
}
