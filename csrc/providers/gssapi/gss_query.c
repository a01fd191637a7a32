/*
 * gss_query.c - QueryContextAttributes from what GSSAPI can tell:
 * gss_inquire_context (names, lifetime, mechanism), gss_wrap_iov_length /
 * gss_get_mic_iov_length (sizes: they do not use up a sequence number, as
 * producing a sample token would) and the SSPI session-key inquiry MIT
 * and gss-ntlmssp both answer.  FLAGS and PACKAGE_INFO are the core's.
 */
#include <string.h>

#include "gss_private.h"

/* NTLM signatures are always 16 bytes (MS-NLMP 2.2.2.9); gss-ntlmssp has
 * no IOV functions to ask. */
#define NTLM_SIGNATURE_SIZE 16

/* NAMES (SecPkgContext_Names) wants the client only; NATIVE_NAMES the
 * server too.  Each name GSSAPI hands over costs MIT a krb5 context (its
 * conversion, display and release), so a query asks for no more than it
 * answers: an HTTP server asking every login's "names" pays half.  Names
 * of an established context do not change: once displayed, they are kept. */
static sspi_status query_names(sspi_context *ctx, sspi_gss_ctx *impl, int native,
                               sspi_attr_value *v, sspi_error *err)
{
    OM_uint32 major, minor;
    gss_name_t src = GSS_C_NO_NAME, targ = GSS_C_NO_NAME;
    int want_src, want_targ;
    sspi_status st = SEC_E_OK;

    if (!impl->established)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                              "names are known once the context is complete");
    /* gss-ntlmssp crashes (strdup(NULL)) when asked for the acceptor's own
     * name, so NTLM asks only for what it knows: the client on the
     * initiator; the acceptor has it from accept_sec_context. */
    want_src = impl->client_name == NULL &&
               (ctx->initiator || impl->actual != SSPI_GSS_MECH_NTLM);
    want_targ = native && impl->server_name == NULL && impl->actual != SSPI_GSS_MECH_NTLM;
    if (want_src || want_targ) {
        major = gss_inquire_context(&minor, impl->ctx, want_src ? &src : NULL,
                                    want_targ ? &targ : NULL, NULL, NULL, NULL, NULL, NULL);
        if (GSS_ERROR(major))
            return sspi_gss_fail(err, "gss_inquire_context", major, minor,
                                 sspi_gss_ctx_mech(ctx));
    }
    if (impl->client_name == NULL)
        st = sspi_gss_display_name(ctx->alloc, src != GSS_C_NO_NAME ? src : impl->source,
                                   &impl->client_name, err);
    if (st == SEC_E_OK && native && impl->server_name == NULL &&
        (targ != GSS_C_NO_NAME || impl->target != GSS_C_NO_NAME))
        st = sspi_gss_display_name(ctx->alloc, targ != GSS_C_NO_NAME ? targ : impl->target,
                                   &impl->server_name, err);
    sspi_gss_drop_name(&src);
    sspi_gss_drop_name(&targ);
    if (st != SEC_E_OK)
        return st;
    v->user_name = impl->client_name;
    v->client_name = impl->client_name;
    v->server_name = native ? impl->server_name : NULL;
    return SEC_E_OK;
}

static sspi_status query_sizes(sspi_context *ctx, sspi_gss_ctx *impl, sspi_attr_value *v,
                               sspi_error *err)
{
    gss_iov_buffer_desc wrap_iov[3], mic_iov[2];
    OM_uint32 major, minor;
    int conf = 1;

    v->max_token = ctx->provider->info.max_token;
    if (!impl->established)
        return SEC_E_OK; /* only max_token is known before the end, as on Windows */
    if (impl->actual == SSPI_GSS_MECH_NTLM) {
        v->max_signature = NTLM_SIGNATURE_SIZE;
        v->security_trailer = NTLM_SIGNATURE_SIZE;
        v->block_size = 0;
        return SEC_E_OK;
    }
    /* The header of EncryptMessage's TOKEN (no separate trailer: MIT puts
     * it in the header, as Windows does) and the padding one byte needs. */
    memset(wrap_iov, 0, sizeof wrap_iov);
    wrap_iov[0].type = GSS_IOV_BUFFER_TYPE_HEADER;
    wrap_iov[1].type = GSS_IOV_BUFFER_TYPE_DATA;
    wrap_iov[1].buffer.length = 1;
    wrap_iov[2].type = GSS_IOV_BUFFER_TYPE_PADDING;
    major = gss_wrap_iov_length(&minor, impl->ctx, conf, GSS_C_QOP_DEFAULT, &conf, wrap_iov, 3);
    if (GSS_ERROR(major))
        return sspi_gss_fail(err, "gss_wrap_iov_length", major, minor, sspi_gss_ctx_mech(ctx));
    memset(mic_iov, 0, sizeof mic_iov);
    mic_iov[0].type = GSS_IOV_BUFFER_TYPE_DATA;
    mic_iov[1].type = GSS_IOV_BUFFER_TYPE_MIC_TOKEN;
    major = gss_get_mic_iov_length(&minor, impl->ctx, GSS_C_QOP_DEFAULT, mic_iov, 2);
    if (GSS_ERROR(major))
        return sspi_gss_fail(err, "gss_get_mic_iov_length", major, minor, sspi_gss_ctx_mech(ctx));
    v->security_trailer = (uint32_t)wrap_iov[0].buffer.length;
    v->block_size = wrap_iov[2].buffer.length ? (uint32_t)wrap_iov[2].buffer.length + 1 : 1;
    v->max_signature = (uint32_t)mic_iov[1].buffer.length;
    return SEC_E_OK;
}

/* The enctype is the last arc of 1.2.840.113554.1.2.2.4.<enctype>. */
static int32_t enctype_of(const gss_buffer_desc *oid)
{
    static const unsigned char prefix[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12,
                                           0x01, 0x02, 0x02, 0x04};
    const unsigned char *p = oid->value;
    uint32_t value = 0;
    size_t i;
    if (oid->length <= sizeof prefix || memcmp(p, prefix, sizeof prefix) != 0)
        return 0;
    for (i = sizeof prefix; i < oid->length && i < sizeof prefix + 5; i++)
        value = (value << 7) | (p[i] & 0x7f);
    return (int32_t)value;
}

static sspi_status query_session_key(sspi_context *ctx, sspi_gss_ctx *impl, sspi_attr_value *v,
                                     sspi_error *err)
{
    gss_buffer_set_t data = GSS_C_NO_BUFFER_SET;
    OM_uint32 major, minor;
    int rc;

    if (!impl->established)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                              "the session key is known once the context is complete");
    major = gss_inquire_sec_context_by_oid(&minor, impl->ctx, GSS_C_INQ_SSPI_SESSION_KEY, &data);
    if (GSS_ERROR(major))
        return sspi_gss_fail(err, "gss_inquire_sec_context_by_oid(session key)", major, minor,
                             sspi_gss_ctx_mech(ctx));
    if (data == GSS_C_NO_BUFFER_SET || data->count < 1) {
        gss_release_buffer_set(&minor, &data);
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "the mechanism gave no session key");
    }
    rc = sspi_bytes_set(&impl->session_key, data->elements[0].value, data->elements[0].length);
    v->session_key_type = data->count > 1 ? enctype_of(&data->elements[1]) : 0;
    /* The key is in GSS memory too: wipe it before handing it back. */
    sspi_wipe(data->elements[0].value, data->elements[0].length);
    gss_release_buffer_set(&minor, &data);
    if (rc != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "session key: out of memory");
    v->session_key = impl->session_key.data;
    v->session_key_len = impl->session_key.len;
    return SEC_E_OK;
}

static sspi_status query_lifespan(sspi_context *ctx, sspi_gss_ctx *impl, sspi_attr_value *v,
                                  sspi_error *err)
{
    v->start = impl->start;
    v->expiry = ctx->expiry;
    (void)err;
    return SEC_E_OK;
}

static void package_in_use(sspi_context *ctx, sspi_gss_ctx *impl, sspi_attr_value *v)
{
    const sspi_package_info *inner = NULL;
    if (impl->established)
        inner = sspi_gss_package_of(impl->actual);
    v->package = inner ? *inner : ctx->provider->info;
    v->negotiation_state =
        impl->established ? SECPKG_NEGOTIATION_COMPLETE : SECPKG_NEGOTIATION_IN_PROGRESS;
}

sspi_status sspi_gss_query(sspi_context *ctx, sspi_attr attr, sspi_attr_value *v, sspi_error *err)
{
    sspi_gss_ctx *impl = sspi_gss_ctx_of(ctx);
    if (impl == NULL)
        return SEC_E_UNSUPPORTED_FUNCTION;
    switch (attr) {
    case SSPI_ATTR_NAMES:
        return query_names(ctx, impl, 0, v, err);
    case SSPI_ATTR_NATIVE_NAMES:
        return query_names(ctx, impl, 1, v, err);
    case SSPI_ATTR_SIZES:
        return query_sizes(ctx, impl, v, err);
    case SSPI_ATTR_SESSION_KEY:
        return query_session_key(ctx, impl, v, err);
    case SSPI_ATTR_LIFESPAN:
        return query_lifespan(ctx, impl, v, err);
    case SSPI_ATTR_NEGOTIATION_INFO:
        package_in_use(ctx, impl, v);
        return SEC_E_OK;
    case SSPI_ATTR_STREAM_SIZES:
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "%s has no stream mode (SECPKG_FLAG_STREAM): use sizes",
                              ctx->provider->info.name);
    default:
        return SEC_E_UNSUPPORTED_FUNCTION; /* FLAGS, PACKAGE_INFO: the core answers */
    }
}
