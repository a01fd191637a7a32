/*
 * ntlm_iov.c - EncryptMessage / DecryptMessage / MakeSignature /
 * VerifySignature on SecBuffer lists, in place.
 *
 * The TOKEN buffer holds the 16-byte signature.  Every DATA buffer is
 * signed in list order; DATA buffers without READONLY or
 * READONLY_WITH_CHECKSUM are also sealed (when SEAL was negotiated).  One
 * pass per buffer: MAC the plaintext, then RC4 it, then the checksum, which
 * is the RC4 stream order of gss-ntlmssp's and Windows' single-buffer form.
 */
#include <string.h>

#include "ntlm.h"

#define READONLY_BITS (SECBUFFER_READONLY | SECBUFFER_READONLY_WITH_CHECKSUM)

static sspi_status find_token(sspi_buffer_list *msg, int for_output, sspi_buffer **tok,
                              sspi_error *err)
{
    sspi_buffer *t = msg ? sspi_buffer_list_find(msg, SECBUFFER_TOKEN) : NULL;
    if (t == NULL)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "NTLM: the buffer list has no SECBUFFER_TOKEN for the signature");
    if (for_output && (t->data == NULL || t->capacity < NTLM_SIGNATURE_SIZE)) {
        sspi_status st = sspi_error_set(err, SEC_E_BUFFER_TOO_SMALL,
                                        "NTLM: the SECBUFFER_TOKEN needs %u bytes for the "
                                        "signature",
                                        NTLM_SIGNATURE_SIZE);
        if (err)
            err->needed = NTLM_SIGNATURE_SIZE;
        return st;
    }
    if (!for_output && (t->data == NULL || t->length < NTLM_SIGNATURE_SIZE))
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "NTLM: the SECBUFFER_TOKEN holds %zu bytes, a signature is %u",
                              t->data ? t->length : (size_t)0, NTLM_SIGNATURE_SIZE);
    *tok = t;
    return SEC_E_OK;
}

/* MACs every DATA buffer's plaintext and runs RC4 over the writable ones
 * when sealing: after the MAC when encrypting, before it when decrypting. */
static int process(sspi_ntlm_ctx *c, sspi_ntlm_direction *d, sspi_buffer_list *msg, int seal,
                   int decrypting, sspi_ntlm_mac *m)
{
    size_t i;
    for (i = 0; i < msg->count; i++) {
        sspi_buffer *b = &msg->buffers[i];
        int sealed = seal && !(b->type & READONLY_BITS);
        if (SSPI_BUFFER_BASE_TYPE(b->type) != SECBUFFER_DATA || b->length == 0)
            continue;
        if (b->data == NULL)
            return -1;
        if (sealed && decrypting)
            sspi_ntlm_rc4(d->rc4, b->data, b->length, b->data);
        if (sspi_ntlm_mac_update(c, d, m, b->data, b->length) != 0)
            return -1;
        if (sealed && !decrypting)
            sspi_ntlm_rc4(d->rc4, b->data, b->length, b->data);
    }
    return 0;
}

static sspi_status protect(sspi_context *ctx, uint32_t qop, sspi_buffer_list *msg, int seal,
                           sspi_error *err)
{
    sspi_ntlm_ctx *c = ctx->impl;
    sspi_buffer *tok;
    sspi_ntlm_mac m;
    size_t i;
    sspi_status st = find_token(msg, 1, &tok, err);
    if (st == SEC_E_OK)
        st = sspi_ntlm_seq_left(&c->send, err);
    if (st != SEC_E_OK)
        return st;
    if (sspi_ntlm_mac_begin(c, &c->send, &m) != 0 ||
        process(c, &c->send, msg, seal, 0, &m) != 0 ||
        sspi_ntlm_mac_end(c, &c->send, &m, tok->data) != 0)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "NTLM: signing failed");
    tok->length = NTLM_SIGNATURE_SIZE;
    for (i = 0; i < msg->count; i++) /* NTLM never pads */
        if (SSPI_BUFFER_BASE_TYPE(msg->buffers[i].type) == SECBUFFER_PADDING)
            msg->buffers[i].length = 0;
    (void)qop;
    return SEC_E_OK;
}

static sspi_status unprotect(sspi_context *ctx, sspi_buffer_list *msg, int seal, const char *what,
                             sspi_error *err)
{
    sspi_ntlm_ctx *c = ctx->impl;
    sspi_buffer *tok;
    sspi_ntlm_mac m;
    unsigned char want[16];
    sspi_status st = find_token(msg, 0, &tok, err);
    if (st == SEC_E_OK)
        st = sspi_ntlm_seq_left(&c->recv, err);
    if (st == SEC_E_OK)
        st = sspi_ntlm_check_seq(c, tok->data, what, err);
    if (st != SEC_E_OK)
        return st;
    if (sspi_ntlm_mac_begin(c, &c->recv, &m) != 0 ||
        process(c, &c->recv, msg, seal, 1, &m) != 0 ||
        sspi_ntlm_mac_end(c, &c->recv, &m, want) != 0)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "NTLM: verification failed");
    return sspi_ntlm_compare_signature(c, want, tok->data, what, err);
}

static sspi_status need_signing(const sspi_ntlm_ctx *c, const char *what, sspi_error *err)
{
    if (!sspi_ntlm_signing(c))
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "NTLM: %s needs integrity or confidentiality, and neither was "
                              "negotiated",
                              what);
    return SEC_E_OK;
}

sspi_status sspi_ntlm_encrypt(sspi_context *ctx, uint32_t qop, sspi_buffer_list *msg,
                              uint32_t seqno, sspi_error *err)
{
    sspi_ntlm_ctx *c = ctx->impl;
    int seal = (c->flags & NTLMSSP_NEGOTIATE_SEAL) != 0;
    sspi_status st = need_signing(c, "encrypt_message", err);
    (void)seqno; /* connection-oriented: the context keeps the numbers */
    if (st != SEC_E_OK)
        return st;
    /* A receiver cannot tell a sign-only message from a sealed one, so
     * WRAP_NO_ENCRYPT is only meaningful where SEAL was not negotiated. */
    if (qop != 0 && !(qop == SECQOP_WRAP_NO_ENCRYPT && !seal))
        return sspi_error_set(err, SEC_E_QOP_NOT_SUPPORTED,
                              "NTLM: quality of protection 0x%08lx is not supported here",
                              (unsigned long)qop);
    return protect(ctx, qop, msg, seal, err);
}

sspi_status sspi_ntlm_decrypt(sspi_context *ctx, sspi_buffer_list *msg, uint32_t seqno,
                              uint32_t *qop, sspi_error *err)
{
    sspi_ntlm_ctx *c = ctx->impl;
    int seal = (c->flags & NTLMSSP_NEGOTIATE_SEAL) != 0;
    sspi_status st = need_signing(c, "decrypt_message", err);
    (void)seqno;
    if (st != SEC_E_OK)
        return st;
    st = unprotect(ctx, msg, seal, "the message", err);
    if (st == SEC_E_OK)
        *qop = seal ? 0 : SECQOP_WRAP_NO_ENCRYPT;
    return st;
}

sspi_status sspi_ntlm_sign(sspi_context *ctx, uint32_t qop, sspi_buffer_list *msg, uint32_t seqno,
                           sspi_error *err)
{
    sspi_ntlm_ctx *c = ctx->impl;
    sspi_buffer *tok;
    sspi_status st;
    (void)seqno;
    if (qop != 0)
        return sspi_error_set(err, SEC_E_QOP_NOT_SUPPORTED,
                              "NTLM: quality of protection 0x%08lx is not supported",
                              (unsigned long)qop);
    if (!sspi_ntlm_signing(c)) {
        static const unsigned char dummy[16] = {1};
        st = find_token(msg, 1, &tok, err);
        if (st != SEC_E_OK)
            return st;
        memcpy(tok->data, dummy, 16);
        tok->length = 16;
        return SEC_E_OK;
    }
    return protect(ctx, 0, msg, 0, err);
}

sspi_status sspi_ntlm_verify(sspi_context *ctx, sspi_buffer_list *msg, uint32_t seqno,
                             uint32_t *qop, sspi_error *err)
{
    sspi_ntlm_ctx *c = ctx->impl;
    (void)seqno;
    *qop = 0;
    if (!sspi_ntlm_signing(c)) {
        static const unsigned char dummy[16] = {1};
        sspi_buffer *tok;
        sspi_status st = find_token(msg, 0, &tok, err);
        if (st != SEC_E_OK)
            return st;
        if (sspi_ct_memcmp(tok->data, dummy, 16) != 0)
            return sspi_error_set(err, SEC_E_MESSAGE_ALTERED,
                                  "NTLM: not the dummy signature of a context without signing");
        return SEC_E_OK;
    }
    return unprotect(ctx, msg, 0, "the signature", err);
}
