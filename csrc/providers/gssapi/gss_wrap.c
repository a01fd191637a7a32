/*
 * gss_wrap.c - wrap / unwrap / get_mic / verify_mic on plain bytes: the
 * tokens of gss_wrap and gss_get_mic, so messages interoperate with any
 * GSSAPI peer.
 *
 * This is the hot path.  Plain gss_wrap / gss_unwrap, copied once into the
 * context's scratch buffer: for Kerberos they are cheaper than the IOV
 * functions (gss_wrap_iov_length + gss_wrap_iov dispatch through the
 * mechglue twice and size the message twice; a STREAM gss_unwrap_iov makes
 * MIT allocate and copy an IOV array per call): 0.35 us less per 64-byte
 * wrap+unwrap pair in bench/.  gss-ntlmssp has only these anyway.
 */
#include <string.h>

#include "gss_private.h"

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

/* The caller's bytes as a GSSAPI input buffer (GSSAPI does not write it). */
static gss_buffer_desc input_buffer(const unsigned char *p, size_t len)
{
    gss_buffer_desc b;
    b.value = (void *)p;
    b.length = len;
    return b;
}

/* gss_wrap (mic == 0) or gss_get_mic (mic != 0): one token out of the message. */
static sspi_status protect(sspi_context *ctx, int mic, int encrypt, const unsigned char *in,
                           size_t len, sspi_bytes *out, sspi_error *err)
{
    sspi_gss_ctx *impl = sspi_gss_ctx_of(ctx);
    gss_buffer_desc msg = input_buffer(in, len), token = GSS_C_EMPTY_BUFFER;
    OM_uint32 major, minor;
    sspi_status st = sspi_gss_ready(impl, err);
    if (st != SEC_E_OK)
        return st;
    if (mic)
        major = gss_get_mic(&minor, impl->ctx, GSS_C_QOP_DEFAULT, &msg, &token);
    else
        major = gss_wrap(&minor, impl->ctx, encrypt, GSS_C_QOP_DEFAULT, &msg, NULL, &token);
    if (GSS_ERROR(major))
        return sspi_gss_fail(err, mic ? "gss_get_mic" : "gss_wrap", major, minor,
                             sspi_gss_ctx_mech(ctx));
    return take_gss_buffer(out, &token, 0, err);
}

sspi_status sspi_gss_wrap(sspi_context *ctx, int encrypt, const unsigned char *in, size_t len,
                          sspi_bytes *out, sspi_error *err)
{
    return protect(ctx, 0, encrypt, in, len, out, err);
}

sspi_status sspi_gss_unwrap(sspi_context *ctx, const unsigned char *in, size_t len,
                            sspi_bytes *out, int *encrypted, sspi_error *err)
{
    sspi_gss_ctx *impl = sspi_gss_ctx_of(ctx);
    gss_buffer_desc token = input_buffer(in, len), msg = GSS_C_EMPTY_BUFFER;
    OM_uint32 major, minor;
    int conf_state = 0;
    sspi_status st = sspi_gss_ready(impl, err);
    if (st != SEC_E_OK)
        return st;
    major = gss_unwrap(&minor, impl->ctx, &token, &msg, &conf_state, NULL);
    if (GSS_ERROR(major) || (major & SSPI_GSS_SEQUENCE_BITS)) {
        gss_release_buffer(&minor, &msg);
        return sspi_gss_fail(err, "gss_unwrap", major, minor, sspi_gss_ctx_mech(ctx));
    }
    *encrypted = conf_state;
    return take_gss_buffer(out, &msg, 1, err);
}

sspi_status sspi_gss_get_mic(sspi_context *ctx, const unsigned char *in, size_t len,
                             sspi_bytes *out, sspi_error *err)
{
    return protect(ctx, 1, 0, in, len, out, err);
}

sspi_status sspi_gss_verify_mic(sspi_context *ctx, const unsigned char *in, size_t len,
                                const unsigned char *mic, size_t mic_len, sspi_error *err)
{
    sspi_gss_ctx *impl = sspi_gss_ctx_of(ctx);
    gss_buffer_desc msg = input_buffer(in, len), token = input_buffer(mic, mic_len);
    OM_uint32 major, minor;
    sspi_status st = sspi_gss_ready(impl, err);
    if (st != SEC_E_OK)
        return st;
    major = gss_verify_mic(&minor, impl->ctx, &msg, &token, NULL);
    if (GSS_ERROR(major) || (major & SSPI_GSS_SEQUENCE_BITS))
        return sspi_gss_fail(err, "gss_verify_mic", major, minor, sspi_gss_ctx_mech(ctx));
    return SEC_E_OK;
}
