/*
 * ntlm_session.c - NTLM session security (MS-NLMP 3.4): signing and
 * sealing with the per-direction keys, RC4 handles and sequence numbers
 * derived at the end of the handshake.
 *
 * The message format is gss-ntlmssp's and Windows': a 16-byte signature,
 * then (for wrap) the sealed data.  Sealing encrypts the message first and
 * the checksum second with the same RC4 handle (3.4.3).  Each call reuses
 * the context's RC4 and HMAC state: no allocation per message beyond
 * growing the output buffer.
 *
 * After a failed verification the RC4 stream has moved on, as in Windows
 * and gss-ntlmssp: the peers are out of step and the context should be
 * dropped.  A sequence number that is not the expected one is noticed
 * before any state moves (with extended session security the number is
 * sent in clear) and reported as SEC_E_OUT_OF_SEQUENCE.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "ntlm.h"

/* ALWAYS_SIGN without SIGN or SEAL: the dummy signature (3.4.4). */
static const unsigned char dummy_signature[16] = {1};

static void direction_free(sspi_ntlm_direction *d)
{
    EVP_MAC_CTX_free(d->hmac);
    OPENSSL_cleanse(d, sizeof *d); /* keys and RC4 state */
}

void sspi_ntlm_session_free(sspi_ntlm_ctx *c)
{
    direction_free(&c->send);
    direction_free(&c->recv);
    c->shared_handle = 0;
}

sspi_status sspi_ntlm_session_start(sspi_ntlm_ctx *c, int initiator, sspi_error *err)
{
    uint32_t f = c->flags;
    if (!(f & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL)))
        return SEC_E_OK; /* nothing to derive: only the dummy signature */
    if (sspi_ntlm_sealkey(f, c->session_key, initiator, c->send.seal_key, &c->send.seal_key_len) != 0 ||
        sspi_ntlm_sealkey(f, c->session_key, !initiator, c->recv.seal_key, &c->recv.seal_key_len) != 0)
        goto fail;
    if (f & NTLM_ESS) {
        if (sspi_ntlm_signkey(c->session_key, initiator, c->send.sign_key) != 0 ||
            sspi_ntlm_signkey(c->session_key, !initiator, c->recv.sign_key) != 0)
            goto fail;
        c->send.hmac = sspi_ntlm_hmac_new(c->send.sign_key);
        c->recv.hmac = sspi_ntlm_hmac_new(c->recv.sign_key);
        if (!c->send.hmac || !c->recv.hmac ||
            sspi_ntlm_rc4_init(&c->send.rc4_state, c->send.seal_key, c->send.seal_key_len) != 0 ||
            sspi_ntlm_rc4_init(&c->recv.rc4_state, c->recv.seal_key, c->recv.seal_key_len) != 0)
            goto fail;
        c->send.rc4 = &c->send.rc4_state;
        c->recv.rc4 = &c->recv.rc4_state;
    } else {
        /* Without ESS one key, and one RC4 state, serve both directions. */
        if (sspi_ntlm_rc4_init(&c->send.rc4_state, c->send.seal_key, c->send.seal_key_len) != 0)
            goto fail;
        c->send.rc4 = c->recv.rc4 = &c->send.rc4_state;
        c->shared_handle = 1;
    }
    return SEC_E_OK;
fail:
    return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "NTLM: cannot set up session security");
}

sspi_status sspi_ntlm_session_reset(sspi_ntlm_ctx *c, int outgoing, sspi_error *err)
{
    int ok = 1;
    if (c->send.rc4 == NULL)
        return SEC_E_OK; /* no sealing state to reset */
    if (c->shared_handle)
        ok = sspi_ntlm_rc4_init(c->send.rc4, c->send.seal_key, c->send.seal_key_len) == 0;
    else {
        if (outgoing != 0)
            ok = sspi_ntlm_rc4_init(c->send.rc4, c->send.seal_key, c->send.seal_key_len) == 0;
        if (ok && outgoing != 1)
            ok = sspi_ntlm_rc4_init(c->recv.rc4, c->recv.seal_key, c->recv.seal_key_len) == 0;
    }
    if (!ok)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "NTLM: cannot reset the RC4 state");
    return SEC_E_OK;
}

int sspi_ntlm_mac_begin(sspi_ntlm_ctx *c, sspi_ntlm_direction *d, sspi_ntlm_mac *m)
{
    unsigned char seq[4];
    m->crc = 0;
    if (!(c->flags & NTLM_ESS))
        return 0;
    sspi_ntlm_put_le32(seq, d->seq);
    return EVP_MAC_init(d->hmac, NULL, 0, NULL) == 1 && EVP_MAC_update(d->hmac, seq, 4) == 1
               ? 0
               : -1;
}

int sspi_ntlm_mac_update(sspi_ntlm_ctx *c, sspi_ntlm_direction *d, sspi_ntlm_mac *m,
                         const unsigned char *data, size_t len)
{
    if (len == 0)
        return 0;
    if (!(c->flags & NTLM_ESS)) {
        m->crc = sspi_ntlm_crc32(m->crc, data, len);
        return 0;
    }
    return EVP_MAC_update(d->hmac, data, len) == 1 ? 0 : -1;
}

int sspi_ntlm_mac_end(sspi_ntlm_ctx *c, sspi_ntlm_direction *d, sspi_ntlm_mac *m,
                      unsigned char sig[16])
{
    unsigned char seq[4];
    int ok = 1, i;
    sspi_ntlm_put_le32(seq, d->seq);
    sspi_ntlm_put_le32(sig, 1);
    if (c->flags & NTLM_ESS) {
        unsigned char mac[16];
        size_t outl = 0;
        ok = EVP_MAC_final(d->hmac, mac, &outl, sizeof mac) == 1;
        if (ok && (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH))
            sspi_ntlm_rc4(d->rc4, mac, 8, sig + 4);
        else if (ok)
            memcpy(sig + 4, mac, 8);
        memcpy(sig + 12, seq, 4);
        OPENSSL_cleanse(mac, sizeof mac);
    } else {
        /* RandomPad, Checksum and SeqNum through RC4; RandomPad then goes
         * out as zero and SeqNum is XORed in (3.4.4.1). */
        unsigned char plain[12];
        memset(plain, 0, sizeof plain);
        sspi_ntlm_put_le32(plain + 4, m->crc);
        sspi_ntlm_rc4(d->rc4, plain, 12, sig + 4);
        memset(sig + 4, 0, 4);
        for (i = 0; i < 4; i++)
            sig[12 + i] ^= seq[i];
    }
    if (!ok)
        return -1;
    if (d->seq == SSPI_NTLM_SEQ_LAST)
        d->spent = 1; /* the next number would wrap: never reuse one */
    else
        d->seq++;
    return 0;
}

sspi_status sspi_ntlm_seq_left(const sspi_ntlm_direction *d, sspi_error *err)
{
    if (d->spent)
        return sspi_error_set(err, SEC_E_CONTEXT_EXPIRED,
                              "NTLM: this direction has used all 2^32 sequence numbers; a new "
                              "one would repeat an old one: establish a new context");
    return SEC_E_OK;
}

sspi_status sspi_ntlm_signature(sspi_ntlm_ctx *c, sspi_ntlm_direction *d,
                                const sspi_ntlm_chunk *parts, size_t n, unsigned char sig[16],
                                sspi_error *err)
{
    sspi_ntlm_mac m;
    size_t i;
    int ok;
    sspi_status st = sspi_ntlm_seq_left(d, err);
    if (st != SEC_E_OK)
        return st;
    ok = sspi_ntlm_mac_begin(c, d, &m) == 0;
    for (i = 0; ok && i < n; i++)
        ok = sspi_ntlm_mac_update(c, d, &m, parts[i].data, parts[i].len) == 0;
    if (!ok || sspi_ntlm_mac_end(c, d, &m, sig) != 0)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "NTLM: signing failed");
    return SEC_E_OK;
}

int sspi_ntlm_signing(const sspi_ntlm_ctx *c)
{
    return (c->flags & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL)) != 0;
}

sspi_status sspi_ntlm_check_seq(const sspi_ntlm_ctx *c, const unsigned char sig[16],
                                const char *what, sspi_error *err)
{
    if ((c->flags & NTLM_ESS) && sspi_ntlm_get_le32(sig + 12) != c->recv.seq)
        return sspi_error_set(err, SEC_E_OUT_OF_SEQUENCE,
                              "NTLM: %s carries sequence number %lu, expected %lu (replayed, "
                              "reordered or lost message)",
                              what, (unsigned long)sspi_ntlm_get_le32(sig + 12),
                              (unsigned long)c->recv.seq);
    return SEC_E_OK;
}

sspi_status sspi_ntlm_compare_signature(const sspi_ntlm_ctx *c, const unsigned char want[16],
                                        const unsigned char got[16], const char *what,
                                        sspi_error *err)
{
    if (CRYPTO_memcmp(want, got, 16) == 0)
        return SEC_E_OK;
    if (!(c->flags & NTLM_ESS) && CRYPTO_memcmp(want, got, 12) == 0)
        return sspi_error_set(err, SEC_E_OUT_OF_SEQUENCE,
                              "NTLM: %s has a valid checksum but the wrong sequence number", what);
    return sspi_error_set(err, SEC_E_MESSAGE_ALTERED,
                          "NTLM: %s does not verify: the message was altered", what);
}

/* Checks a received signature against the expected one for parts. */
static sspi_status check_signature(sspi_ntlm_ctx *c, const sspi_ntlm_chunk *parts, size_t n,
                                   const unsigned char *sig, const char *what, sspi_error *err)
{
    unsigned char want[16];
    sspi_status st = sspi_ntlm_check_seq(c, sig, what, err);
    if (st == SEC_E_OK)
        st = sspi_ntlm_signature(c, &c->recv, parts, n, want, err);
    if (st == SEC_E_OK)
        st = sspi_ntlm_compare_signature(c, want, sig, what, err);
    return st;
}

sspi_status sspi_ntlm_get_mic(sspi_context *ctx, const unsigned char *in, size_t len,
                              sspi_bytes *out, sspi_error *err)
{
    sspi_ntlm_ctx *c = ctx->impl;
    sspi_ntlm_chunk part;
    if (sspi_bytes_reserve(out, 16) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory");
    out->len = 16;
    if (!sspi_ntlm_signing(c)) {
        memcpy(out->data, dummy_signature, 16);
        return SEC_E_OK;
    }
    part.data = in;
    part.len = len;
    return sspi_ntlm_signature(c, &c->send, &part, 1, out->data, err);
}

sspi_status sspi_ntlm_verify_mic(sspi_context *ctx, const unsigned char *in, size_t len,
                                 const unsigned char *mic, size_t mic_len, sspi_error *err)
{
    sspi_ntlm_ctx *c = ctx->impl;
    sspi_ntlm_chunk part;
    if (mic_len != 16)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "NTLM: a signature is 16 bytes, this one is %zu", mic_len);
    if (!sspi_ntlm_signing(c)) {
        if (CRYPTO_memcmp(mic, dummy_signature, 16) != 0)
            return sspi_error_set(err, SEC_E_MESSAGE_ALTERED,
                                  "NTLM: not the dummy signature of a context without signing");
        return SEC_E_OK;
    }
    part.data = in;
    part.len = len;
    return check_signature(c, &part, 1, mic, "the signature", err);
}

sspi_status sspi_ntlm_wrap(sspi_context *ctx, int encrypt, const unsigned char *in, size_t len,
                           sspi_bytes *out, sspi_error *err)
{
    sspi_ntlm_ctx *c = ctx->impl;
    sspi_ntlm_chunk part;
    sspi_status st;
    (void)encrypt; /* sealing is decided by the negotiated flags: see docs/ntlm.md */
    if (!sspi_ntlm_signing(c))
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "NTLM: wrap needs integrity or confidentiality, and neither "
                              "was negotiated");
    st = sspi_ntlm_seq_left(&c->send, err);
    if (st != SEC_E_OK)
        return st;
    if (len > ((size_t)-1) - 16 || sspi_bytes_reserve(out, len + 16) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory");
    out->len = len + 16;
    part.data = in;
    part.len = len;
    if (c->flags & NTLMSSP_NEGOTIATE_SEAL)
        sspi_ntlm_rc4(c->send.rc4, in, len, out->data + 16);
    else if (len) {
        memcpy(out->data + 16, in, len);
    }
    return sspi_ntlm_signature(c, &c->send, &part, 1, out->data, err);
}

sspi_status sspi_ntlm_unwrap(sspi_context *ctx, const unsigned char *in, size_t len,
                             sspi_bytes *out, int *encrypted, sspi_error *err)
{
    sspi_ntlm_ctx *c = ctx->impl;
    sspi_ntlm_chunk part;
    sspi_status st;
    if (!sspi_ntlm_signing(c))
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "NTLM: unwrap needs integrity or confidentiality, and neither "
                              "was negotiated");
    if (len < 16)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "NTLM: a wrapped message is at least 16 bytes, this one is %zu", len);
    st = sspi_ntlm_seq_left(&c->recv, err);
    if (st == SEC_E_OK)
        st = sspi_ntlm_check_seq(c, in, "the wrapped message", err);
    if (st != SEC_E_OK)
        return st;
    if (sspi_bytes_reserve(out, len - 16) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory");
    out->len = len - 16;
    if (c->flags & NTLMSSP_NEGOTIATE_SEAL)
        sspi_ntlm_rc4(c->recv.rc4, in + 16, len - 16, out->data);
    else if (len > 16) {
        memcpy(out->data, in + 16, len - 16);
    }
    part.data = out->data;
    part.len = out->len;
    st = check_signature(c, &part, 1, in, "the wrapped message", err);
    if (st != SEC_E_OK) {
        sspi_wipe(out->data, out->len); /* never hand out unverified plaintext */
        out->len = 0;
        return st;
    }
    *encrypted = (c->flags & NTLMSSP_NEGOTIATE_SEAL) != 0;
    return SEC_E_OK;
}
