/*
 * gss_message.c - EncryptMessage / DecryptMessage / MakeSignature /
 * VerifySignature on SecBuffer lists, through GSS IOV functions:
 *   SECBUFFER_TOKEN   -> GSS_IOV_BUFFER_TYPE_HEADER (wrap) / MIC_TOKEN (mic);
 *                        no TRAILER buffer, so MIT puts the trailer in the
 *                        header (RRC), which is the Windows layout
 *   SECBUFFER_DATA    -> DATA, processed in place
 *   DATA | READONLY(_WITH_CHECKSUM) -> SIGN_ONLY
 *   SECBUFFER_PADDING -> PADDING
 *   SECBUFFER_STREAM (decrypt) -> STREAM, DATA pointed into it
 * gss-ntlmssp has no IOV functions: for NTLM the single DATA buffer goes
 * through gss_wrap / gss_get_mic, whose token is the 16-byte signature
 * followed by the sealed data, i.e. exactly SSPI's TOKEN + DATA.
 */
#include <string.h>

#include "gss_private.h"

#define IOV_STACK 8

typedef struct iov_list {
    gss_iov_buffer_desc stack[IOV_STACK];
    gss_iov_buffer_desc *iov;
    sspi_buffer *from[IOV_STACK];   /* the SecBuffer behind each iov (stack case) */
    sspi_buffer **src;
    size_t count, cap;
    const sspi_allocator *alloc;
} iov_list;

static int is_readonly(const sspi_buffer *b)
{
    return (b->type & (SECBUFFER_READONLY | SECBUFFER_READONLY_WITH_CHECKSUM)) != 0;
}

static void iov_free(iov_list *l)
{
    if (l->iov != l->stack) {
        sspi_mem_free(l->alloc, l->iov, l->cap * sizeof *l->iov);
        sspi_mem_free(l->alloc, l->src, l->cap * sizeof *l->src);
    }
}

/* One iov per SecBuffer that GSS should see; `token_type` is HEADER or
 * MIC_TOKEN; sign_only_readonly: READONLY data is SIGN_ONLY (wrap) or
 * plain DATA (a MIC covers everything alike). */
static sspi_status iov_build(iov_list *l, const sspi_context *ctx, sspi_buffer_list *msg,
                             OM_uint32 token_type, int sign_only_readonly, sspi_error *err)
{
    size_t i;
    l->alloc = ctx->alloc;
    l->count = 0;
    l->cap = msg->count;
    if (msg->count <= IOV_STACK) {
        l->iov = l->stack;
        l->src = l->from;
    } else {
        l->iov = sspi_mem_alloc(ctx->alloc, msg->count * sizeof *l->iov);
        l->src = sspi_mem_alloc(ctx->alloc, msg->count * sizeof *l->src);
        if (l->iov == NULL || l->src == NULL) {
            sspi_mem_free(ctx->alloc, l->iov, msg->count * sizeof *l->iov);
            sspi_mem_free(ctx->alloc, l->src, msg->count * sizeof *l->src);
            l->iov = l->stack;
            return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "buffers: out of memory");
        }
    }
    for (i = 0; i < msg->count; i++) {
        sspi_buffer *b = &msg->buffers[i];
        OM_uint32 type;
        switch (SSPI_BUFFER_BASE_TYPE(b->type)) {
        case SECBUFFER_TOKEN:
            type = token_type;
            break;
        case SECBUFFER_DATA:
            type = (sign_only_readonly && is_readonly(b)) ? GSS_IOV_BUFFER_TYPE_SIGN_ONLY
                                                           : GSS_IOV_BUFFER_TYPE_DATA;
            break;
        case SECBUFFER_PADDING:
            type = GSS_IOV_BUFFER_TYPE_PADDING;
            break;
        case SECBUFFER_STREAM:
            type = GSS_IOV_BUFFER_TYPE_STREAM;
            break;
        default:
            continue; /* EMPTY and the rest: not part of the message */
        }
        l->iov[l->count].type = type;
        l->iov[l->count].buffer.length = b->length;
        l->iov[l->count].buffer.value = b->data;
        l->src[l->count] = b;
        l->count++;
    }
    return SEC_E_OK;
}

static gss_iov_buffer_desc *iov_find(iov_list *l, OM_uint32 type, sspi_buffer **src)
{
    size_t i;
    for (i = 0; i < l->count; i++)
        if (GSS_IOV_BUFFER_TYPE(l->iov[i].type) == type) {
            if (src)
                *src = l->src[i];
            return &l->iov[i];
        }
    return NULL;
}

/* Checks that the TOKEN (and PADDING) SecBuffers can hold what GSS asks. */
static sspi_status fit(iov_list *l, OM_uint32 type, const char *name, int required,
                       sspi_error *err)
{
    sspi_buffer *b = NULL;
    gss_iov_buffer_desc *v = iov_find(l, type, &b);
    if (v == NULL) {
        if (required)
            return sspi_error_set(err, SEC_E_INVALID_TOKEN, "no %s buffer in the message", name);
        return SEC_E_OK;
    }
    if (v->buffer.length > b->capacity || (v->buffer.length > 0 && b->data == NULL)) {
        sspi_status st = sspi_error_set(err, SEC_E_BUFFER_TOO_SMALL,
                                        "the %s buffer needs %zu bytes and holds %zu", name,
                                        (size_t)v->buffer.length, b->data ? b->capacity : 0);
        if (err)
            err->needed = v->buffer.length;
        return st;
    }
    v->buffer.value = b->data;
    return SEC_E_OK;
}

/* GSS works in place: only the lengths change (the TOKEN's, the padding's). */
static void copy_lengths_back(iov_list *l)
{
    size_t i;
    for (i = 0; i < l->count; i++)
        if (l->iov[i].buffer.value == l->src[i]->data &&
            l->iov[i].buffer.length <= l->src[i]->capacity)
            l->src[i]->length = l->iov[i].buffer.length;
}

/* Failures of a message function; sequence bits with no routine error
 * are failures too (SSPI has no "accepted, but out of order"). */
static int gss_message_failed(OM_uint32 major)
{
    return GSS_ERROR(major) || (major & SSPI_GSS_SEQUENCE_BITS);
}

/* ---- NTLM: one DATA buffer through gss_wrap / gss_get_mic */

static sspi_status single_data(sspi_buffer_list *msg, sspi_buffer **token, sspi_buffer **data,
                               sspi_error *err)
{
    size_t i;
    *token = *data = NULL;
    for (i = 0; i < msg->count; i++) {
        sspi_buffer *b = &msg->buffers[i];
        uint32_t base = SSPI_BUFFER_BASE_TYPE(b->type);
        if (base == SECBUFFER_TOKEN && *token == NULL)
            *token = b;
        else if (base == SECBUFFER_DATA) {
            if (*data != NULL || is_readonly(b))
                return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                                      "NTLM through gss-ntlmssp takes exactly one writable DATA "
                                      "buffer (gss-ntlmssp has no IOV message functions)");
            *data = b;
        }
    }
    if (*token == NULL)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN, "no TOKEN buffer in the message");
    if (*data == NULL)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN, "no DATA buffer in the message");
    return SEC_E_OK;
}

static sspi_status ntlm_encrypt(sspi_context *ctx, sspi_gss_ctx *impl, sspi_buffer_list *msg,
                                sspi_error *err)
{
    sspi_buffer *token, *data;
    gss_buffer_desc in, out = GSS_C_EMPTY_BUFFER;
    OM_uint32 major, minor;
    size_t sig_len;
    sspi_status st = single_data(msg, &token, &data, err);
    if (st != SEC_E_OK)
        return st;
    in.value = data->data;
    in.length = data->length;
    major = gss_wrap(&minor, impl->ctx, 1, GSS_C_QOP_DEFAULT, &in, NULL, &out);
    if (GSS_ERROR(major))
        return sspi_gss_fail(err, "gss_wrap", major, minor, sspi_gss_ctx_mech(ctx));
    sig_len = out.length - data->length;
    if (token->data == NULL || token->capacity < sig_len) {
        gss_release_buffer(&minor, &out);
        st = sspi_error_set(err, SEC_E_BUFFER_TOO_SMALL,
                            "the TOKEN buffer needs %zu bytes and holds %zu", sig_len,
                            token->data ? token->capacity : 0);
        if (err)
            err->needed = sig_len;
        return st;
    }
    memcpy(token->data, out.value, sig_len);
    token->length = sig_len;
    memcpy(data->data, (unsigned char *)out.value + sig_len, data->length);
    gss_release_buffer(&minor, &out);
    return SEC_E_OK;
}

static sspi_status ntlm_decrypt(sspi_context *ctx, sspi_gss_ctx *impl, sspi_buffer_list *msg,
                                sspi_error *err)
{
    sspi_buffer *token, *data;
    sspi_bytes joined;
    gss_buffer_desc in, out = GSS_C_EMPTY_BUFFER;
    OM_uint32 major, minor;
    sspi_status st = single_data(msg, &token, &data, err);
    if (st != SEC_E_OK)
        return st;
    sspi_bytes_init(&joined, ctx->alloc);
    if (sspi_bytes_reserve(&joined, token->length + data->length) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "decrypt: out of memory");
    sspi_bytes_append(&joined, token->data, token->length);
    sspi_bytes_append(&joined, data->data, data->length);
    in.value = joined.data;
    in.length = joined.len;
    major = gss_unwrap(&minor, impl->ctx, &in, &out, NULL, NULL);
    sspi_bytes_free(&joined);
    if (gss_message_failed(major)) {
        gss_release_buffer(&minor, &out);
        return sspi_gss_fail(err, "gss_unwrap", major, minor, sspi_gss_ctx_mech(ctx));
    }
    if (out.length > data->capacity) {
        gss_release_buffer(&minor, &out);
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "gss_unwrap grew the message");
    }
    memcpy(data->data, out.value, out.length);
    data->length = out.length;
    sspi_wipe(out.value, out.length);
    gss_release_buffer(&minor, &out);
    return SEC_E_OK;
}

/* A MIC covers every DATA buffer, READONLY or not, in order (MS-NLMP
 * 3.4.4: the signature is over the concatenation). */
static sspi_status ntlm_sign(sspi_context *ctx, sspi_gss_ctx *impl, sspi_buffer_list *msg,
                             int verify, sspi_error *err)
{
    sspi_buffer *token = NULL, *only = NULL;
    sspi_bytes joined;
    gss_buffer_desc in, mic = GSS_C_EMPTY_BUFFER;
    OM_uint32 major, minor;
    size_t i, data_count = 0;
    sspi_status st = SEC_E_OK;

    sspi_bytes_init(&joined, ctx->alloc);
    for (i = 0; i < msg->count; i++) {
        sspi_buffer *b = &msg->buffers[i];
        uint32_t base = SSPI_BUFFER_BASE_TYPE(b->type);
        if (base == SECBUFFER_TOKEN && token == NULL)
            token = b;
        else if (base == SECBUFFER_DATA) {
            data_count++;
            only = b;
        }
    }
    if (token == NULL)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN, "no TOKEN buffer in the message");
    if (data_count == 1) {
        in.value = only->data;
        in.length = only->length;
    } else {
        for (i = 0; i < msg->count; i++) {
            sspi_buffer *b = &msg->buffers[i];
            if (SSPI_BUFFER_BASE_TYPE(b->type) == SECBUFFER_DATA &&
                sspi_bytes_append(&joined, b->data, b->length) != 0) {
                sspi_bytes_free(&joined);
                return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "sign: out of memory");
            }
        }
        in.value = joined.data;
        in.length = joined.len;
    }
    if (verify) {
        mic.value = token->data;
        mic.length = token->length;
        major = gss_verify_mic(&minor, impl->ctx, &in, &mic, NULL);
        if (gss_message_failed(major))
            st = sspi_gss_fail(err, "gss_verify_mic", major, minor, sspi_gss_ctx_mech(ctx));
        goto done;
    }
    major = gss_get_mic(&minor, impl->ctx, GSS_C_QOP_DEFAULT, &in, &mic);
    if (GSS_ERROR(major)) {
        st = sspi_gss_fail(err, "gss_get_mic", major, minor, sspi_gss_ctx_mech(ctx));
        goto done;
    }
    if (token->data == NULL || token->capacity < mic.length) {
        st = sspi_error_set(err, SEC_E_BUFFER_TOO_SMALL,
                            "the TOKEN buffer needs %zu bytes and holds %zu", (size_t)mic.length,
                            token->data ? token->capacity : 0);
        if (err)
            err->needed = mic.length;
    } else {
        memcpy(token->data, mic.value, mic.length);
        token->length = mic.length;
    }
    gss_release_buffer(&minor, &mic);
done:
    sspi_bytes_free(&joined);
    return st;
}

/* ---- Kerberos and the rest: GSS IOV functions */

/* The iov list of a message that must have a TOKEN (as token_type); l is
 * freed when the answer is not SEC_E_OK. */
static sspi_status iov_begin(iov_list *l, const sspi_context *ctx, sspi_buffer_list *msg,
                             OM_uint32 token_type, int sign_only_readonly, sspi_error *err)
{
    sspi_status st = iov_build(l, ctx, msg, token_type, sign_only_readonly, err);
    if (st != SEC_E_OK)
        return st;
    if (iov_find(l, token_type, NULL) == NULL) {
        iov_free(l);
        return sspi_error_set(err, SEC_E_INVALID_TOKEN, "no TOKEN buffer in the message");
    }
    return SEC_E_OK;
}

/* gss_wrap_iov (mic == 0) or gss_get_mic_iov (mic != 0) on the list, or
 * their _length forms (length != 0) that only size the token. */
static sspi_status produce_iov(sspi_context *ctx, sspi_gss_ctx *impl, iov_list *l, int mic,
                               int conf_req, int length, sspi_error *err)
{
    static const char *const names[2][2] = {{"gss_wrap_iov", "gss_wrap_iov_length"},
                                            {"gss_get_mic_iov", "gss_get_mic_iov_length"}};
    OM_uint32 major, minor;
    int n = (int)l->count;
    if (mic)
        major = length ? gss_get_mic_iov_length(&minor, impl->ctx, GSS_C_QOP_DEFAULT, l->iov, n)
                       : gss_get_mic_iov(&minor, impl->ctx, GSS_C_QOP_DEFAULT, l->iov, n);
    else
        major = length ? gss_wrap_iov_length(&minor, impl->ctx, conf_req, GSS_C_QOP_DEFAULT, NULL,
                                             l->iov, n)
                       : gss_wrap_iov(&minor, impl->ctx, conf_req, GSS_C_QOP_DEFAULT, NULL,
                                      l->iov, n);
    if (GSS_ERROR(major))
        return sspi_gss_fail(err, names[mic != 0][length != 0], major, minor,
                             sspi_gss_ctx_mech(ctx));
    return SEC_E_OK;
}

/* Wrap or MIC: ask the sizes, check the TOKEN (and PADDING) buffers hold
 * them, then make the token in place. */
static sspi_status protect_iov(sspi_context *ctx, sspi_gss_ctx *impl, sspi_buffer_list *msg,
                               int mic, int conf_req, sspi_error *err)
{
    OM_uint32 token_type = mic ? GSS_IOV_BUFFER_TYPE_MIC_TOKEN : GSS_IOV_BUFFER_TYPE_HEADER;
    iov_list l;
    sspi_status st = iov_begin(&l, ctx, msg, token_type, !mic, err);
    if (st != SEC_E_OK)
        return st;
    st = produce_iov(ctx, impl, &l, mic, conf_req, 1, err);
    if (st == SEC_E_OK)
        st = fit(&l, token_type, "TOKEN", 1, err);
    if (st == SEC_E_OK && !mic)
        st = fit(&l, GSS_IOV_BUFFER_TYPE_PADDING, "PADDING", 0, err);
    if (st == SEC_E_OK)
        st = produce_iov(ctx, impl, &l, mic, conf_req, 0, err);
    if (st == SEC_E_OK)
        copy_lengths_back(&l);
    iov_free(&l);
    return st;
}

static sspi_status verify_iov(sspi_context *ctx, sspi_gss_ctx *impl, sspi_buffer_list *msg,
                              sspi_error *err)
{
    iov_list l;
    OM_uint32 major, minor;
    sspi_status st = iov_begin(&l, ctx, msg, GSS_IOV_BUFFER_TYPE_MIC_TOKEN, 0, err);
    if (st != SEC_E_OK)
        return st;
    major = gss_verify_mic_iov(&minor, impl->ctx, NULL, l.iov, (int)l.count);
    if (gss_message_failed(major))
        st = sspi_gss_fail(err, "gss_verify_mic_iov", major, minor, sspi_gss_ctx_mech(ctx));
    iov_free(&l);
    return st;
}

/* ---- the SSPI functions */

sspi_status sspi_gss_encrypt(sspi_context *ctx, uint32_t qop, sspi_buffer_list *msg,
                             uint32_t seqno, sspi_error *err)
{
    sspi_gss_ctx *impl = sspi_gss_ctx_of(ctx);
    int conf_req;
    sspi_status st = sspi_gss_ready(impl, err);
    (void)seqno; /* connection-oriented: GSS keeps the sequence numbers */
    if (st != SEC_E_OK)
        return st;
    if (qop != 0 && qop != SECQOP_WRAP_NO_ENCRYPT)
        return sspi_error_set(err, SEC_E_QOP_NOT_SUPPORTED, "qop 0x%08x is not supported",
                              (unsigned)qop);
    conf_req = qop != SECQOP_WRAP_NO_ENCRYPT;
    if (impl->actual == SSPI_GSS_MECH_NTLM) {
        if (!conf_req)
            return sspi_error_set(err, SEC_E_QOP_NOT_SUPPORTED,
                                  "gss-ntlmssp always seals: SECQOP_WRAP_NO_ENCRYPT is refused");
        return ntlm_encrypt(ctx, impl, msg, err);
    }
    return protect_iov(ctx, impl, msg, 0, conf_req, err);
}

sspi_status sspi_gss_decrypt(sspi_context *ctx, sspi_buffer_list *msg, uint32_t seqno,
                             uint32_t *qop, sspi_error *err)
{
    sspi_gss_ctx *impl = sspi_gss_ctx_of(ctx);
    iov_list l;
    OM_uint32 major, minor;
    int conf_state = 0;
    sspi_buffer *stream_src = NULL, *data_src = NULL;
    sspi_status st = sspi_gss_ready(impl, err);
    (void)seqno;
    if (st != SEC_E_OK)
        return st;
    *qop = 0;
    if (impl->actual == SSPI_GSS_MECH_NTLM)
        return ntlm_decrypt(ctx, impl, msg, err);
    st = iov_build(&l, ctx, msg, GSS_IOV_BUFFER_TYPE_HEADER, 1, err);
    if (st != SEC_E_OK)
        return st;
    if (iov_find(&l, GSS_IOV_BUFFER_TYPE_STREAM, &stream_src) != NULL) {
        /* Stream form: one STREAM buffer and the DATA buffer to point into it. */
        gss_iov_buffer_desc sv[2];
        if (iov_find(&l, GSS_IOV_BUFFER_TYPE_DATA, &data_src) == NULL) {
            st = sspi_error_set(err, SEC_E_INVALID_TOKEN,
                                "a STREAM message needs a DATA buffer to receive the data");
            goto done;
        }
        sv[0].type = GSS_IOV_BUFFER_TYPE_STREAM;
        sv[0].buffer.value = stream_src->data;
        sv[0].buffer.length = stream_src->length;
        sv[1].type = GSS_IOV_BUFFER_TYPE_DATA;
        sv[1].buffer.value = NULL;
        sv[1].buffer.length = 0;
        major = gss_unwrap_iov(&minor, impl->ctx, &conf_state, NULL, sv, 2);
        if (gss_message_failed(major)) {
            st = sspi_gss_fail(err, "gss_unwrap_iov", major, minor, sspi_gss_ctx_mech(ctx));
            goto done;
        }
        /* Windows points DATA into the stream; our buffers own their memory,
         * so the data is copied into DATA, or into new package memory when
         * DATA is too small (the caller frees it like ALLOCATE_MEMORY output). */
        if (data_src->data == NULL || data_src->capacity < sv[1].buffer.length) {
            unsigned char *p = sspi_mem_alloc(ctx->alloc, sv[1].buffer.length);
            if (p == NULL) {
                st = sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "decrypt: out of memory");
                goto done;
            }
            data_src->data = p;
            data_src->capacity = sv[1].buffer.length;
            data_src->package_allocated = 1;
        }
        if (sv[1].buffer.length)
            memmove(data_src->data, sv[1].buffer.value, sv[1].buffer.length);
        data_src->length = sv[1].buffer.length;
    } else {
        if (iov_find(&l, GSS_IOV_BUFFER_TYPE_HEADER, NULL) == NULL) {
            st = sspi_error_set(err, SEC_E_INVALID_TOKEN, "no TOKEN buffer in the message");
            goto done;
        }
        major = gss_unwrap_iov(&minor, impl->ctx, &conf_state, NULL, l.iov, (int)l.count);
        if (gss_message_failed(major)) {
            st = sspi_gss_fail(err, "gss_unwrap_iov", major, minor, sspi_gss_ctx_mech(ctx));
            goto done;
        }
        copy_lengths_back(&l);
    }
    *qop = conf_state ? 0 : SECQOP_WRAP_NO_ENCRYPT;
done:
    iov_free(&l);
    return st;
}

sspi_status sspi_gss_sign(sspi_context *ctx, uint32_t qop, sspi_buffer_list *msg, uint32_t seqno,
                          sspi_error *err)
{
    sspi_gss_ctx *impl = sspi_gss_ctx_of(ctx);
    sspi_status st = sspi_gss_ready(impl, err);
    (void)seqno;
    if (st != SEC_E_OK)
        return st;
    if (qop != 0)
        return sspi_error_set(err, SEC_E_QOP_NOT_SUPPORTED, "qop 0x%08x is not supported",
                              (unsigned)qop);
    if (impl->actual == SSPI_GSS_MECH_NTLM)
        return ntlm_sign(ctx, impl, msg, 0, err);
    return protect_iov(ctx, impl, msg, 1, 0, err);
}

sspi_status sspi_gss_verify(sspi_context *ctx, sspi_buffer_list *msg, uint32_t seqno,
                            uint32_t *qop, sspi_error *err)
{
    sspi_gss_ctx *impl = sspi_gss_ctx_of(ctx);
    sspi_status st = sspi_gss_ready(impl, err);
    (void)seqno;
    if (st != SEC_E_OK)
        return st;
    *qop = 0;
    if (impl->actual == SSPI_GSS_MECH_NTLM)
        return ntlm_sign(ctx, impl, msg, 1, err);
    return verify_iov(ctx, impl, msg, err);
}
