/*
 * ntlm_init.c - the initiator (MS-NLMP 3.1.5): NEGOTIATE, then the
 * AUTHENTICATE answering the server's CHALLENGE.
 *
 * LM_COMPAT_LEVEL decides the responses, as on Windows: 0 sends LM and
 * NTLMv1 without extended session security, 1 the same with ESS, 2 NTLMv1
 * only (the LM field repeats the NT response), 3..5 LMv2 and NTLMv2.  With
 * NTLMv2 and a server timestamp the AUTHENTICATE carries a MIC and the
 * LMv2 response is zeroed (3.1.5.1.2).
 */
#include <string.h>

#include <openssl/crypto.h>

#include "ntlm.h"

static sspi_status oom(sspi_error *err)
{
    return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory");
}

static sspi_status send_negotiate(sspi_context *ctx, sspi_ntlm_ctx *c, const sspi_step_in *in,
                                  uint32_t *ret_flags, sspi_error *err)
{
    sspi_ntlm_cred *cc = ctx->cred->impl;
    uint32_t req = in->context_req, f;
    sspi_ntlm_writer w;

    (void)ret_flags; /* a leg: nothing to return until the handshake completes */
    if (in->token)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "NTLM: the first initiator step takes no input token");
    if (req & ISC_REQ_DATAGRAM)
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "NTLM: connectionless (ISC_REQ_DATAGRAM) NTLM is not supported");
    if (!cc->has_identity && !(req & ISC_REQ_NULL_SESSION))
        return sspi_error_set(err, SEC_E_NO_CREDENTIALS, "NTLM: the credential has no identity");
    f = NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_OEM | NTLMSSP_REQUEST_TARGET |
        NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_ALWAYS_SIGN | NTLMSSP_NEGOTIATE_VERSION |
        NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_56 | NTLMSSP_NEGOTIATE_KEY_EXCH;
    if (cc->lm_compat_level >= 1)
        f |= NTLM_ESS;
    if (req & (ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | ISC_REQ_SEQUENCE_DETECT))
        f |= NTLMSSP_NEGOTIATE_SIGN;
    if (req & ISC_REQ_CONFIDENTIALITY)
        f |= NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_SIGN;
    /* NO_INTEGRITY (LDAP over TLS) overrides the others: no SIGN, no SEAL,
     * as Windows' NTLM does. */
    if (req & ISC_REQ_NO_INTEGRITY)
        f &= ~(uint32_t)(NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL);
    if (req & ISC_REQ_IDENTIFY)
        f |= NTLMSSP_NEGOTIATE_IDENTIFY;
    c->anonymous = (req & ISC_REQ_NULL_SESSION) || cc->anonymous;
    if (c->anonymous)
        f |= NTLMSSP_NEGOTIATE_ANONYMOUS;
    c->requested = f;

    /* Header 32 + VERSION 8; empty domain and workstation fields. */
    if (sspi_ntlm_writer_start(&w, &ctx->out_token, 1, 40) != 0 ||
        sspi_ntlm_writer_field(&w, 16, NULL, 0) != 0 || sspi_ntlm_writer_field(&w, 24, NULL, 0) != 0)
        return oom(err);
    sspi_ntlm_put_le32(ctx->out_token.data + 12, f);
    sspi_ntlm_put_version(ctx->out_token.data + 32);
    if (sspi_bytes_set(&c->negotiate, ctx->out_token.data, ctx->out_token.len) != 0)
        return oom(err);
    c->stage = NTLM_STAGE_NEGOTIATE_SENT;
    return SEC_I_CONTINUE_NEEDED;
}

/* A string field of the AUTHENTICATE in the negotiated encoding. */
static sspi_status put_string(sspi_context *ctx, sspi_ntlm_writer *w, size_t at, const char *s,
                              int unicode, sspi_error *err)
{
    unsigned char *u = NULL;
    size_t n = 0, i;
    int r;
    if (!unicode) {
        for (i = 0; s[i]; i++)
            if ((unsigned char)s[i] >= 0x80)
                return sspi_error_set(err, SEC_E_UNKNOWN_CREDENTIALS,
                                      "NTLM: the server wants OEM strings and \"%s\" is not ASCII",
                                      s);
        return sspi_ntlm_writer_field(w, at, s, i) == 0 ? SEC_E_OK : oom(err);
    }
    if (sspi_ntlm_utf16(ctx->alloc, s, strlen(s), 0, &u, &n) != 0)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER, "NTLM: a name is not valid UTF-8");
    r = sspi_ntlm_writer_field(w, at, u, n);
    sspi_ntlm_free(ctx->alloc, &u, n);
    return r == 0 ? SEC_E_OK : oom(err);
}

/* The NTLMv2 client blob (2.2.2.7): the server's AV pairs with our MIC
 * flag, channel bindings hash and target name. */
static sspi_status build_blob(sspi_context *ctx, const sspi_ntlm_challenge *ch,
                              const sspi_step_in *in, uint64_t time, const unsigned char cc[8],
                              int *mic, sspi_bytes *blob, sspi_error *err)
{
    unsigned char head[28], le[4];
    uint32_t avflags = 0;
    sspi_ntlm_view v;
    size_t at = 0;
    int have_flags = 0;
    sspi_status st;

    memset(head, 0, sizeof head);
    head[0] = 1;
    head[1] = 1;
    sspi_ntlm_put_le64(head + 8, time);
    memcpy(head + 16, cc, 8);
    if (sspi_bytes_set(blob, head, sizeof head) != 0)
        return oom(err);
    while (at + 4 <= ch->target_info.len) {
        uint16_t id = sspi_ntlm_get_le16(ch->target_info.data + at);
        size_t len = sspi_ntlm_get_le16(ch->target_info.data + at + 2);
        if (id == NTLM_AV_EOL)
            break;
        if (id == NTLM_AV_FLAGS) {
            avflags = sspi_ntlm_get_le32(ch->target_info.data + at + 4);
            have_flags = 1;
        } else if (id != NTLM_AV_CHANNEL_BINDINGS && id != NTLM_AV_TARGET_NAME) {
            if (sspi_bytes_append(blob, ch->target_info.data + at, 4 + len) != 0)
                return oom(err);
        }
        at += 4 + len;
    }
    *mic = sspi_ntlm_av_find(ch->target_info, NTLM_AV_TIMESTAMP, &v);
    if (*mic)
        avflags |= NTLM_AV_FLAG_MIC_PRESENT;
    if (have_flags || avflags) {
        sspi_ntlm_put_le32(le, avflags);
        if (sspi_ntlm_av_put(blob, NTLM_AV_FLAGS, le, 4) != 0)
            return oom(err);
    }
    if (in->bindings) {
        unsigned char hash[16];
        st = sspi_ntlm_bindings_hash(in->bindings, in->bindings_len, hash, err);
        if (st != SEC_E_OK)
            return st;
        if (sspi_ntlm_av_put(blob, NTLM_AV_CHANNEL_BINDINGS, hash, 16) != 0)
            return oom(err);
    }
    if (ctx->target && ctx->target[0]) {
        unsigned char *u = NULL;
        size_t n = 0;
        int r;
        if (sspi_ntlm_utf16(ctx->alloc, ctx->target, strlen(ctx->target), 0, &u, &n) != 0)
            return sspi_error_set(err, SEC_E_TARGET_UNKNOWN, "NTLM: the target is not UTF-8");
        r = sspi_ntlm_av_put(blob, NTLM_AV_TARGET_NAME, u, n);
        sspi_ntlm_free(ctx->alloc, &u, n);
        if (r != 0)
            return oom(err);
    }
    memset(le, 0, 4);
    if (sspi_ntlm_av_put(blob, NTLM_AV_EOL, NULL, 0) != 0 || sspi_bytes_append(blob, le, 4) != 0)
        return oom(err);
    return SEC_E_OK;
}

/* Responses and the key exchange key for the chosen protocol. */
typedef struct responses {
    unsigned char lm[24];
    size_t lm_len;
    sspi_bytes nt;
    unsigned char kxkey[16];
    int mic;
} responses;

static sspi_status compute(sspi_context *ctx, sspi_ntlm_ctx *c, const sspi_ntlm_challenge *ch,
                           const sspi_step_in *in, responses *r, sspi_error *err)
{
    sspi_ntlm_cred *cc = ctx->cred->impl;
    const unsigned char *sc = ch->server_challenge;
    unsigned char cc8[8], sbk[16];
    sspi_status st = SEC_E_OK;

    if (c->anonymous) {
        /* 3.1.5.1.2: NtChallengeResponse empty, LmChallengeResponse Z(1). */
        r->lm[0] = 0;
        r->lm_len = 1;
        memset(r->kxkey, 0, 16);
        return SEC_E_OK;
    }
    if (sspi_ntlm_random(cc8, 8) != 0)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "NTLM: no random bytes");
    if (cc->lm_compat_level >= 3) {
        sspi_ntlm_view ts;
        unsigned char proof[16];
        uint64_t time = sspi_ntlm_av_find(ch->target_info, NTLM_AV_TIMESTAMP, &ts)
                            ? sspi_ntlm_get_le64(ts.data)
                            : sspi_ntlm_filetime_now();
        sspi_bytes blob;
        sspi_bytes_init(&blob, ctx->alloc);
        st = build_blob(ctx, ch, in, time, cc8, &r->mic, &blob, err);
        if (st == SEC_E_OK &&
            (sspi_ntlm_ntproof(cc->ntowfv2, sc, blob.data, blob.len, proof, r->kxkey) != 0 ||
             sspi_bytes_set(&r->nt, proof, 16) != 0 ||
             sspi_bytes_append(&r->nt, blob.data, blob.len) != 0))
            st = oom(err);
        r->lm_len = 24;
        /* With a MIC the LMv2 response is zeroed (3.1.5.1.2). */
        if (st == SEC_E_OK && !r->mic && sspi_ntlm_lmv2(cc->ntowfv2, sc, cc8, r->lm) != 0)
            st = oom(err);
        sspi_bytes_free(&blob);
        OPENSSL_cleanse(proof, sizeof proof);
        return st;
    }
    /* NTLMv1, with or without extended session security. */
    {
        unsigned char nt[24], chal[8];
        if (c->flags & NTLM_ESS) {
            if (sspi_ntlm_ess_challenge(sc, cc8, chal) != 0)
                return oom(err);
            memcpy(r->lm, cc8, 8);
            memset(r->lm + 8, 0, 16);
        } else {
            memcpy(chal, sc, 8);
        }
        /* nt is the challenge response: wiped on every path below (the
         * copy in r->nt is wiped with r by the caller). */
        if (sspi_ntlm_desl(cc->self.nt_hash, chal, nt) != 0) {
            st = oom(err);
        } else if (!(c->flags & NTLM_ESS) && cc->lm_compat_level < 2 && cc->self.has_lm) {
            if (sspi_ntlm_desl(cc->self.lm_hash, sc, r->lm) != 0)
                st = oom(err);
        } else if (!(c->flags & NTLM_ESS)) {
            memcpy(r->lm, nt, 24);
        }
        r->lm_len = 24;
        if (st == SEC_E_OK &&
            (sspi_bytes_set(&r->nt, nt, 24) != 0 || sspi_ntlm_md4(cc->self.nt_hash, 16, sbk) != 0 ||
             sspi_ntlm_kxkey_v1(c->flags, sbk, r->lm, 24, sc,
                                cc->self.has_lm ? cc->self.lm_hash : NULL, r->kxkey) != 0))
            st = oom(err);
        OPENSSL_cleanse(nt, sizeof nt);
        OPENSSL_cleanse(sbk, sizeof sbk);
        return st;
    }
}

/* The flags of the AUTHENTICATE: what the server chose among what we
 * offered, in one string encoding. */
static sspi_status choose_flags(sspi_ntlm_ctx *c, const sspi_ntlm_challenge *ch, sspi_error *err)
{
    uint32_t f = ch->flags & (c->requested | NTLMSSP_NEGOTIATE_TARGET_INFO |
                              NTLMSSP_TARGET_TYPE_DOMAIN | NTLMSSP_TARGET_TYPE_SERVER);
    if (f & NTLMSSP_NEGOTIATE_UNICODE)
        f &= ~NTLMSSP_NEGOTIATE_OEM;
    else if (!(f & NTLMSSP_NEGOTIATE_OEM))
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "NTLM: the CHALLENGE picks no string encoding we offered");
    f |= NTLMSSP_NEGOTIATE_VERSION | (c->requested & NTLMSSP_NEGOTIATE_ANONYMOUS);
    c->flags = f;
    return SEC_E_OK;
}

static uint32_t isc_ret(const sspi_ntlm_ctx *c, uint32_t req)
{
    uint32_t r = req & ISC_REQ_CONNECTION;
    if (c->flags & NTLMSSP_NEGOTIATE_SIGN)
        r |= req & (ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | ISC_REQ_SEQUENCE_DETECT);
    if (c->flags & NTLMSSP_NEGOTIATE_SEAL)
        r |= req & ISC_REQ_CONFIDENTIALITY;
    if ((c->flags & NTLMSSP_NEGOTIATE_IDENTIFY) && (req & ISC_REQ_IDENTIFY))
        r |= ISC_RET_IDENTIFY;
    if (c->anonymous)
        r |= ISC_RET_NULL_SESSION;
    return r;
}

static sspi_status send_authenticate(sspi_context *ctx, sspi_ntlm_ctx *c, const sspi_step_in *in,
                                     uint32_t *ret_flags, sspi_error *err)
{
    sspi_ntlm_cred *cc = ctx->cred->impl;
    sspi_ntlm_challenge ch;
    responses r;
    sspi_ntlm_writer w;
    unsigned char enc[16];
    int unicode, exchange;
    sspi_status st;

    memset(&r, 0, sizeof r);
    sspi_bytes_init(&r.nt, ctx->alloc);
    st = sspi_ntlm_parse_challenge(in->token, in->token_len, &ch, err);
    if (st == SEC_E_OK)
        st = choose_flags(c, &ch, err);
    if (st == SEC_E_OK && sspi_ntlm_pending_issued(ctx->cred, ch.server_challenge))
        st = sspi_error_set(err, SEC_E_LOGON_DENIED,
                            "NTLM: the CHALLENGE carries a server challenge this credential's own "
                            "acceptor issued: a reflected handshake (MS08-068), refused");
    if (st == SEC_E_OK && sspi_ntlm_signing(c) && !(c->flags & NTLMSSP_NEGOTIATE_128))
        st = sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                            "NTLM: the server offers signing or sealing without 128-bit keys, "
                            "refused");
    if (st != SEC_E_OK)
        goto done;
    if (sspi_bytes_set(&c->challenge, in->token, in->token_len) != 0) {
        st = oom(err);
        goto done;
    }
    memcpy(c->server_challenge, ch.server_challenge, 8);
    st = compute(ctx, c, &ch, in, &r, err);
    if (st != SEC_E_OK)
        goto done;

    exchange = (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH) &&
               (c->flags & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL));
    if (exchange) {
        if (sspi_ntlm_random(c->session_key, 16) != 0 ||
            sspi_ntlm_rc4k(r.kxkey, 16, c->session_key, 16, enc) != 0) {
            st = sspi_error_set(err, SEC_E_INTERNAL_ERROR, "NTLM: key exchange failed");
            goto done;
        }
    } else {
        memcpy(c->session_key, r.kxkey, 16);
    }
    unicode = (c->flags & NTLMSSP_NEGOTIATE_UNICODE) != 0;
    if (sspi_ntlm_writer_start(&w, &ctx->out_token, 3, r.mic ? 88 : 72) != 0) {
        st = oom(err);
        goto done;
    }
    st = put_string(ctx, &w, 28, c->anonymous ? "" : cc->self.domain, unicode, err);
    if (st == SEC_E_OK)
        st = put_string(ctx, &w, 36, c->anonymous ? "" : cc->self.user, unicode, err);
    if (st == SEC_E_OK)
        st = put_string(ctx, &w, 44, cc->workstation, unicode, err);
    if (st != SEC_E_OK)
        goto done;
    if (sspi_ntlm_writer_field(&w, 12, r.lm, r.lm_len) != 0 ||
        sspi_ntlm_writer_field(&w, 20, r.nt.data, r.nt.len) != 0 ||
        sspi_ntlm_writer_field(&w, 52, enc, exchange ? 16 : 0) != 0) {
        st = oom(err);
        goto done;
    }
    sspi_ntlm_put_le32(ctx->out_token.data + 60, c->flags);
    sspi_ntlm_put_version(ctx->out_token.data + 64);
    if (r.mic) {
        unsigned char mic[16];
        if (sspi_ntlm_mic(c, ctx->out_token.data, ctx->out_token.len, mic) != 0) {
            st = oom(err);
            goto done;
        }
        memcpy(ctx->out_token.data + NTLM_AUTH_MIC_OFFSET, mic, 16);
        c->mic_present = 1;
    }

    st = sspi_ntlm_set_client_name(ctx, c, cc->self.domain, cc->self.user, err);
    if (st != SEC_E_OK)
        goto done;
    if (ctx->target) {
        int ok = 1;
        c->server_name = sspi_mem_strdup(ctx->alloc, ctx->target, &ok);
        c->server_name_size = strlen(ctx->target) + 1;
        if (!ok) {
            st = oom(err);
            goto done;
        }
    }
done:
    sspi_bytes_free(&r.nt);
    OPENSSL_cleanse(&r, sizeof r);
    OPENSSL_cleanse(enc, sizeof enc);
    return sspi_ntlm_finish(c, st, 1, isc_ret(c, in->context_req), ret_flags, err);
}

const sspi_ntlm_legs sspi_ntlm_initiator_legs = {send_negotiate, send_authenticate,
                                                 NTLM_STAGE_NEGOTIATE_SENT, 0,
                                                 "first initiator step",
                                                 "second initiator step (the CHALLENGE)"};
