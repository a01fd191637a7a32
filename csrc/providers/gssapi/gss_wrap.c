/*
 * gss_wrap.c - wrap / unwrap / get_mic / verify_mic on plain bytes: the
 * tokens of gss_wrap and gss_get_mic, so messages interoperate with any
 * GSSAPI peer.
 *
 * This is the hot path, so no allocation per message and as few copies as
 * raw gss_wrap + gss_unwrap (which copy twice each way):
 *  - wrap: gss_wrap_iov_length sizes HEADER | DATA | PADDING | TRAILER, the
 *    input is copied once into the context's scratch buffer and sealed in
 *    place.  With a TRAILER buffer MIT writes RRC = 0, the layout gss_wrap
 *    writes, so the token is a gss_wrap token.
 *  - unwrap: the token is copied once into scratch and opened in place as a
 *    GSS_IOV_BUFFER_TYPE_STREAM; the data is then moved to the front.
 * gss-ntlmssp has no IOV functions: NTLM goes through gss_wrap/gss_unwrap.
 */
#include <string.h>

#include "gss_private.h"

static sspi_status ready(sspi_gss_ctx *impl, sspi_error *err)
{
    if (impl == NULL || !impl->established)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "the context is not complete");
    return SEC_E_OK;
}

static sspi_status take_gss_buffer(sspi_bytes *out, gss_buffer_t buf, int secret,
                                   sspi_error *err)
{
    OM_uint32 minor;
    int rc = sspi_bytes_set(out, buf->value, buf->length);
    if (secret)
        sspi_wipe(buf->value, buf->length);
    gss_release_buffer(&minor, buf);
    if (rc != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "message: out of memory");
    return SEC_E_OK;
}

sspi_status sspi_gss_wrap(sspi_context *ctx, int encrypt, const unsigned char *in, size_t len,
                          sspi_bytes *out, sspi_error *err)
{
    sspi_gss_ctx *impl = sspi_gss_ctx_of(ctx);
    gss_iov_buffer_desc iov[4];
    OM_uint32 major, minor;
    size_t header, padding, trailer;
    sspi_status st = ready(impl, err);
    if (st != SEC_E_OK)
        return st;

    if (impl->actual == SSPI_GSS_MECH_NTLM) {
        gss_buffer_desc msg, token = GSS_C_EMPTY_BUFFER;
        msg.value = (void *)in;
        msg.length = len;
        major = gss_wrap(&minor, impl->ctx, encrypt, GSS_C_QOP_DEFAULT, &msg, NULL, &token);
        if (GSS_ERROR(major))
            return sspi_gss_fail(err, "gss_wrap", major, minor, sspi_gss_ctx_mech(ctx));
        return take_gss_buffer(out, &token, 0, err);
    }

    memset(iov, 0, sizeof iov);
    iov[0].type = GSS_IOV_BUFFER_TYPE_HEADER;
    iov[1].type = GSS_IOV_BUFFER_TYPE_DATA;
    iov[1].buffer.length = len;
    iov[2].type = GSS_IOV_BUFFER_TYPE_PADDING;
    iov[3].type = GSS_IOV_BUFFER_TYPE_TRAILER;
    major = gss_wrap_iov_length(&minor, impl->ctx, encrypt, GSS_C_QOP_DEFAULT, NULL, iov, 4);
    if (GSS_ERROR(major))
        return sspi_gss_fail(err, "gss_wrap_iov_length", major, minor, sspi_gss_ctx_mech(ctx));
    header = iov[0].buffer.length;
    padding = iov[2].buffer.length;
    trailer = iov[3].buffer.length;
    out->len = 0;
    if (sspi_bytes_reserve(out, header + len + padding + trailer) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "wrap: out of memory");
    if (len)
        memcpy(out->data + header, in, len);
    iov[0].buffer.value = out->data;
    iov[1].buffer.value = out->data + header;
    iov[2].buffer.value = out->data + header + len;
    iov[3].buffer.value = out->data + header + len + padding;
    major = gss_wrap_iov(&minor, impl->ctx, encrypt, GSS_C_QOP_DEFAULT, NULL, iov, 4);
    if (GSS_ERROR(major))
        return sspi_gss_fail(err, "gss_wrap_iov", major, minor, sspi_gss_ctx_mech(ctx));
    /* Lengths as GSS left them (padding may shrink); the buffers are contiguous. */
    out->len = iov[0].buffer.length + len + iov[2].buffer.length + iov[3].buffer.length;
    if (iov[2].buffer.length != padding && iov[3].buffer.length)
        memmove(out->data + header + len + iov[2].buffer.length, iov[3].buffer.value,
                iov[3].buffer.length);
    return SEC_E_OK;
}

sspi_status sspi_gss_unwrap(sspi_context *ctx, const unsigned char *in, size_t len,
                            sspi_bytes *out, int *encrypted, sspi_error *err)
{
    sspi_gss_ctx *impl = sspi_gss_ctx_of(ctx);
    gss_iov_buffer_desc iov[2];
    OM_uint32 major, minor;
    int conf_state = 0;
    sspi_status st = ready(impl, err);
    if (st != SEC_E_OK)
        return st;

    if (impl->actual == SSPI_GSS_MECH_NTLM) {
        gss_buffer_desc token, msg = GSS_C_EMPTY_BUFFER;
        token.value = (void *)in;
        token.length = len;
        major = gss_unwrap(&minor, impl->ctx, &token, &msg, &conf_state, NULL);
        if (GSS_ERROR(major) || (major & SSPI_GSS_SEQUENCE_BITS)) {
            gss_release_buffer(&minor, &msg);
            return sspi_gss_fail(err, "gss_unwrap", major, minor, sspi_gss_ctx_mech(ctx));
        }
        *encrypted = conf_state;
        return take_gss_buffer(out, &msg, 1, err);
    }

    if (sspi_bytes_set(out, in, len) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "unwrap: out of memory");
    iov[0].type = GSS_IOV_BUFFER_TYPE_STREAM;
    iov[0].buffer.value = out->data;
    iov[0].buffer.length = len;
    iov[1].type = GSS_IOV_BUFFER_TYPE_DATA;
    iov[1].buffer.value = NULL;
    iov[1].buffer.length = 0;
    major = gss_unwrap_iov(&minor, impl->ctx, &conf_state, NULL, iov, 2);
    if (GSS_ERROR(major) || (major & SSPI_GSS_SEQUENCE_BITS)) {
        out->len = 0;
        return sspi_gss_fail(err, "gss_unwrap_iov", major, minor, sspi_gss_ctx_mech(ctx));
    }
    if (iov[1].buffer.length && iov[1].buffer.value != out->data)
        memmove(out->data, iov[1].buffer.value, iov[1].buffer.length);
    out->len = iov[1].buffer.length;
    *encrypted = conf_state;
    return SEC_E_OK;
}

sspi_status sspi_gss_get_mic(sspi_context *ctx, const unsigned char *in, size_t len,
                             sspi_bytes *out, sspi_error *err)
{
    sspi_gss_ctx *impl = sspi_gss_ctx_of(ctx);
    gss_buffer_desc msg, mic = GSS_C_EMPTY_BUFFER;
    OM_uint32 major, minor;
    sspi_status st = ready(impl, err);
    if (st != SEC_E_OK)
        return st;
    msg.value = (void *)in;
    msg.length = len;
    major = gss_get_mic(&minor, impl->ctx, GSS_C_QOP_DEFAULT, &msg, &mic);
    if (GSS_ERROR(major))
        return sspi_gss_fail(err, "gss_get_mic", major, minor, sspi_gss_ctx_mech(ctx));
    return take_gss_buffer(out, &mic, 0, err);
}

sspi_status sspi_gss_verify_mic(sspi_context *ctx, const unsigned char *in, size_t len,
                                const unsigned char *mic, size_t mic_len, sspi_error *err)
{
    sspi_gss_ctx *impl = sspi_gss_ctx_of(ctx);
    gss_buffer_desc msg, token;
    OM_uint32 major, minor;
    sspi_status st = ready(impl, err);
    if (st != SEC_E_OK)
        return st;
    msg.value = (void *)in;
    msg.length = len;
    token.value = (void *)mic;
    token.length = mic_len;
    major = gss_verify_mic(&minor, impl->ctx, &msg, &token, NULL);
    if (GSS_ERROR(major) || (major & SSPI_GSS_SEQUENCE_BITS))
        return sspi_gss_fail(err, "gss_verify_mic", major, minor, sspi_gss_ctx_mech(ctx));
    return SEC_E_OK;
}
