/*
 * ntlm_accept.c - the acceptor (MS-NLMP 3.2.5): a CHALLENGE for the
 * client's NEGOTIATE, then the verification of its AUTHENTICATE.
 *
 * Checks, in order, each with its own status:
 *   malformed message ...................... SEC_E_INVALID_TOKEN
 *   anonymous without ALLOW_NULL_SESSION ... SEC_E_LOGON_DENIED
 *   unknown user ........................... SEC_E_LOGON_DENIED ("unknown user")
 *   NTLMv1/LM refused by LM_COMPAT_LEVEL ... SEC_E_LOGON_DENIED
 *   wrong NT (or LM) response .............. SEC_E_LOGON_DENIED
 *   timestamp outside the window ........... SEC_E_TIME_SKEW
 *   channel bindings differ or missing ..... SEC_E_BAD_BINDINGS
 *   MIC does not match ..................... SEC_E_MESSAGE_ALTERED
 * The NTLMv2 blob (timestamp, bindings, MIC flag) is authenticated by the
 * NT proof, so it is only believed after the proof verified.  Every
 * comparison of secret-derived bytes is constant-time.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "ntlm.h"

static sspi_status oom(sspi_error *err)
{
    return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory");
}

static sspi_status put_name(sspi_context *ctx, sspi_bytes *list, uint16_t id, const char *s)
{
    unsigned char *u = NULL;
    size_t n = 0;
    int r;
    if (sspi_ntlm_utf16(ctx->alloc, s, strlen(s), 0, &u, &n) != 0)
        return SEC_E_INTERNAL_ERROR;
    r = sspi_ntlm_av_put(list, id, u, n);
    sspi_ntlm_free(ctx->alloc, &u, n);
    return r == 0 ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
}

static sspi_status send_challenge(sspi_context *ctx, sspi_ntlm_ctx *c, const sspi_step_in *in,
                                  uint32_t *ret_flags, sspi_error *err)
{
    sspi_ntlm_cred *cc = ctx->cred->impl;
    sspi_ntlm_negotiate neg;
    sspi_ntlm_writer w;
    sspi_bytes info;
    unsigned char ts[8];
    uint32_t f, want;
    int unicode;
    sspi_status st = sspi_ntlm_parse_negotiate(in->token, in->token_len, &neg, err);
    (void)ret_flags; /* a leg: nothing to return until the handshake completes */
    if (st != SEC_E_OK)
        return st;
    want = neg.flags;
    unicode = (want & NTLMSSP_NEGOTIATE_UNICODE) != 0;
    f = NTLMSSP_REQUEST_TARGET | NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_TARGET_INFO |
        NTLMSSP_TARGET_TYPE_SERVER | NTLMSSP_NEGOTIATE_VERSION |
        (unicode ? NTLMSSP_NEGOTIATE_UNICODE : NTLMSSP_NEGOTIATE_OEM);
    /* Everything else the client asked and we support; never LM_KEY nor
     * DATAGRAM (see docs/ntlm.md). */
    f |= want & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_ALWAYS_SIGN |
                 NTLM_ESS | NTLMSSP_NEGOTIATE_IDENTIFY | NTLMSSP_NEGOTIATE_128 |
                 NTLMSSP_NEGOTIATE_56 | NTLMSSP_NEGOTIATE_KEY_EXCH);
    c->requested = f;
    if (sspi_ntlm_random(c->server_challenge, 8) != 0)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "NTLM: no random bytes");
    c->challenge_time = sspi_ntlm_filetime_now();
    sspi_ntlm_put_le64(ts, c->challenge_time);

    sspi_bytes_init(&info, ctx->alloc);
    st = put_name(ctx, &info, NTLM_AV_NB_DOMAIN_NAME, cc->computer);
    if (st == SEC_E_OK)
        st = put_name(ctx, &info, NTLM_AV_NB_COMPUTER_NAME, cc->computer);
    if (st == SEC_E_OK)
        st = put_name(ctx, &info, NTLM_AV_DNS_DOMAIN_NAME, cc->dns_domain);
    if (st == SEC_E_OK)
        st = put_name(ctx, &info, NTLM_AV_DNS_COMPUTER_NAME, cc->dns_computer);
    if (st == SEC_E_OK && (sspi_ntlm_av_put(&info, NTLM_AV_TIMESTAMP, ts, 8) != 0 ||
                           sspi_ntlm_av_put(&info, NTLM_AV_EOL, NULL, 0) != 0))
        st = SEC_E_INSUFFICIENT_MEMORY;
    if (st == SEC_E_OK && sspi_ntlm_writer_start(&w, &ctx->out_token, 2, 56) != 0)
        st = SEC_E_INSUFFICIENT_MEMORY;
    if (st == SEC_E_OK) {
        /* TargetName: our NetBIOS name (a stand-alone server, TARGET_TYPE_SERVER). */
        if (unicode) {
            unsigned char *u = NULL;
            size_t n = 0;
            if (sspi_ntlm_utf16(ctx->alloc, cc->computer, strlen(cc->computer), 0, &u, &n) != 0 ||
                sspi_ntlm_writer_field(&w, 12, u, n) != 0)
                st = SEC_E_INSUFFICIENT_MEMORY;
            sspi_ntlm_free(ctx->alloc, &u, n);
        } else if (sspi_ntlm_writer_field(&w, 12, cc->computer, strlen(cc->computer)) != 0) {
            st = SEC_E_INSUFFICIENT_MEMORY;
        }
    }
    if (st == SEC_E_OK && sspi_ntlm_writer_field(&w, 40, info.data, info.len) != 0)
        st = SEC_E_INSUFFICIENT_MEMORY;
    sspi_bytes_free(&info);
    if (st != SEC_E_OK)
        return oom(err);
    sspi_ntlm_put_le32(ctx->out_token.data + 20, f);
    memcpy(ctx->out_token.data + 24, c->server_challenge, 8);
    sspi_ntlm_put_version(ctx->out_token.data + 48);
    if (sspi_bytes_set(&c->negotiate, in->token, in->token_len) != 0 ||
        sspi_bytes_set(&c->challenge, ctx->out_token.data, ctx->out_token.len) != 0)
        return oom(err);
    c->server_name = sspi_mem_strdup(ctx->alloc, cc->computer, &(int){1});
    if (c->server_name == NULL)
        return oom(err);
    c->server_name_size = strlen(cc->computer) + 1;
    c->stage = NTLM_STAGE_CHALLENGE_SENT;
    sspi_ntlm_pending_add(ctx->cred, c);
    return SEC_I_CONTINUE_NEEDED;
}

/* What the checks of an NTLMv2 response need to see of its blob. */
typedef struct v2_blob {
    uint64_t time;
    sspi_ntlm_view av;
} v2_blob;

static sspi_status parse_v2_blob(const sspi_ntlm_view *nt, v2_blob *b, sspi_error *err)
{
    const unsigned char *p = nt->data + 16;
    size_t n = nt->len - 16;
    /* RespType, HiRespType, Z6, TimeStamp, ChallengeFromClient, Z4, AvPairs */
    if (n < 28 || p[0] != 1 || p[1] != 1)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "NTLM: the NTLMv2 response is not a version 1 client blob");
    b->time = sspi_ntlm_get_le64(p + 8);
    b->av.data = p + 28;
    b->av.len = n - 28;
    return SEC_E_OK;
}

static sspi_status check_bindings(const sspi_step_in *in, const v2_blob *b, sspi_error *err)
{
    static const unsigned char zero[16];
    unsigned char want[16];
    sspi_ntlm_view got;
    int have = sspi_ntlm_av_find(b->av, NTLM_AV_CHANNEL_BINDINGS, &got);
    sspi_status st;
    if (in->bindings == NULL)
        return SEC_E_OK; /* this server binds to no channel */
    st = sspi_ntlm_bindings_hash(in->bindings, in->bindings_len, want, err);
    if (st != SEC_E_OK)
        return st;
    if (!have || CRYPTO_memcmp(got.data, zero, 16) == 0) {
        if (in->context_req & ASC_REQ_ALLOW_MISSING_BINDINGS)
            return SEC_E_OK;
        return sspi_error_set(err, SEC_E_BAD_BINDINGS,
                              "NTLM: the client sent no channel bindings and the server requires "
                              "them (ASC_REQ_ALLOW_MISSING_BINDINGS not set)");
    }
    if (CRYPTO_memcmp(got.data, want, 16) != 0)
        return sspi_error_set(err, SEC_E_BAD_BINDINGS,
                              "NTLM: the client's channel bindings differ from the server's");
    return SEC_E_OK;
}

static sspi_status check_time(const sspi_ntlm_cred *cc, const v2_blob *b, sspi_error *err)
{
    uint64_t now = sspi_ntlm_filetime_now();
    uint64_t window = (uint64_t)cc->timestamp_window * 10000000ull;
    uint64_t skew = now > b->time ? now - b->time : b->time - now;
    if (skew > window)
        return sspi_error_set(err, SEC_E_TIME_SKEW,
                              "NTLM: the response's timestamp is %llu s away from now (window "
                              "%ld s): stale or replayed",
                              (unsigned long long)(skew / 10000000ull), cc->timestamp_window);
    return SEC_E_OK;
}

/* The AV pairs this acceptor put in its CHALLENGE must come back unchanged
 * in the client's blob (protected by NTProofStr).  The client may add
 * pairs of its own (MsvAvFlags, MsvAvSingleHost, MsvAvTargetName,
 * MsvAvChannelBindings: 3.1.5.1.2) and set bits in MsvAvFlags, but a
 * missing or different server pair means the CHALLENGE was edited on its
 * way: deleting MsvAvTimestamp, for one, makes a client send no MIC. */
static sspi_status check_echo(const sspi_ntlm_ctx *c, const v2_blob *b, sspi_error *err)
{
    sspi_ntlm_challenge sent;
    sspi_error ignore;
    size_t at = 0;
    if (sspi_ntlm_parse_challenge(c->challenge.data, c->challenge.len, &sent, &ignore) != SEC_E_OK)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "NTLM: our own CHALLENGE is unreadable");
    while (at + 4 <= sent.target_info.len) {
        uint16_t id = sspi_ntlm_get_le16(sent.target_info.data + at);
        size_t len = sspi_ntlm_get_le16(sent.target_info.data + at + 2);
        sspi_ntlm_view got;
        if (id == NTLM_AV_EOL)
            break;
        if (id != NTLM_AV_FLAGS &&
            (!sspi_ntlm_av_find(b->av, id, &got) || got.len != len ||
             memcmp(got.data, sent.target_info.data + at + 4, len) != 0))
            return sspi_error_set(err, SEC_E_MESSAGE_ALTERED,
                                  "NTLM: AV pair %u of our CHALLENGE does not come back unchanged "
                                  "in the client's NTLMv2 response: the CHALLENGE was altered",
                                  (unsigned)id);
        at += 4 + len;
    }
    return SEC_E_OK;
}

/* target_names: the client's MsvAvTargetName, when it sent one, must name
 * one of the services this credential answers to. */
static sspi_status check_target(sspi_context *ctx, const v2_blob *b, sspi_error *err)
{
    sspi_ntlm_cred *cc = ctx->cred->impl;
    sspi_ntlm_view v;
    char *name = NULL;
    size_t i;
    int ok = 0;
    if (cc->target_name_count == 0 || !sspi_ntlm_av_find(b->av, NTLM_AV_TARGET_NAME, &v) ||
        v.len == 0)
        return SEC_E_OK;
    if (sspi_ntlm_utf8(ctx->alloc, v.data, v.len, 0, &name) != 0)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "NTLM: MsvAvTargetName is not valid UTF-16");
    for (i = 0; i < cc->target_name_count && !ok; i++)
        ok = sspi_ntlm_name_equal(name, cc->target_names[i]);
    if (!ok)
        sspi_error_set(err, SEC_E_BAD_BINDINGS,
                       "NTLM: the client authenticated to \"%s\", which is not one of this "
                       "server's target_names (relayed?)",
                       name);
    sspi_mem_strfree(ctx->alloc, &name);
    return ok ? SEC_E_OK : SEC_E_BAD_BINDINGS;
}

/* NTLMv2: the NT proof, then the blob's contents.  Fills the session base
 * key (which is the key exchange key). */
static sspi_status verify_v2(sspi_context *ctx, sspi_ntlm_ctx *c, const sspi_step_in *in,
                             const sspi_ntlm_authenticate *m, const unsigned char nt_hash[16],
                             const char *user, const char *domain, unsigned char kxkey[16],
                             int *mic_flag, sspi_error *err)
{
    sspi_ntlm_cred *cc = ctx->cred->impl;
    unsigned char v2[16], proof[16];
    sspi_ntlm_view avf;
    v2_blob b = {0, {NULL, 0}};
    sspi_status st = parse_v2_blob(&m->nt, &b, err);
    if (st != SEC_E_OK)
        return st;
    if (sspi_ntlm_ntowfv2(ctx->alloc, nt_hash, user, domain, v2) != 0 ||
        sspi_ntlm_ntproof(v2, c->server_challenge, m->nt.data + 16, m->nt.len - 16, proof,
                          kxkey) != 0) {
        st = oom(err);
        goto done;
    }
    if (CRYPTO_memcmp(proof, m->nt.data, 16) != 0) {
        st = sspi_error_set(err, SEC_E_LOGON_DENIED,
                            "NTLM: the NTLMv2 response of %s%s%s does not verify (wrong password)",
                            domain, domain[0] ? "\\" : "", user);
        goto done;
    }
    /* Only now is the blob the client's: read its AV pairs. */
    if (sspi_ntlm_av_check(b.av) != 0) {
        st = sspi_error_set(err, SEC_E_INVALID_TOKEN,
                            "NTLM: the NTLMv2 response carries a malformed AV pair list");
        goto done;
    }
    st = check_echo(c, &b, err);
    if (st == SEC_E_OK)
        st = check_time(cc, &b, err);
    if (st == SEC_E_OK)
        st = check_bindings(in, &b, err);
    if (st == SEC_E_OK)
        st = check_target(ctx, &b, err);
    *mic_flag = sspi_ntlm_av_find(b.av, NTLM_AV_FLAGS, &avf) &&
                (sspi_ntlm_get_le32(avf.data) & NTLM_AV_FLAG_MIC_PRESENT);
done:
    OPENSSL_cleanse(v2, sizeof v2);
    OPENSSL_cleanse(proof, sizeof proof);
    return st;
}

/* NTLMv1 (with or without ESS) and LM: allowed only where the credential
 * lowered its level below 5 (LM-only below 4), and never where the server
 * requires channel bindings: these responses cannot carry any. */
static sspi_status verify_v1(sspi_context *ctx, sspi_ntlm_ctx *c, const sspi_step_in *in,
                             const sspi_ntlm_authenticate *m, const sspi_ntlm_account *acct,
                             unsigned char kxkey[16], sspi_error *err)
{
    sspi_ntlm_cred *cc = ctx->cred->impl;
    unsigned char want[24], chal[8], sbk[16];
    const unsigned char *got, *lm_hash = acct->has_lm ? acct->lm_hash : NULL;
    sspi_status st = SEC_E_OK;
    int lm_only = m->nt.len == 0;
    if (cc->lm_compat_level >= 5)
        return sspi_error_set(err, SEC_E_LOGON_DENIED,
                              "NTLM: an NTLMv1 response, refused at LM_COMPAT_LEVEL %d (the "
                              "default: lower lm_compat_level to accept it)",
                              cc->lm_compat_level);
    if (lm_only && cc->lm_compat_level >= 4)
        return sspi_error_set(err, SEC_E_LOGON_DENIED,
                              "NTLM: an LM-only response, refused at LM_COMPAT_LEVEL %d",
                              cc->lm_compat_level);
    if (in->bindings != NULL && !(in->context_req & ASC_REQ_ALLOW_MISSING_BINDINGS))
        return sspi_error_set(err, SEC_E_BAD_BINDINGS,
                              "NTLM: an %s response cannot carry channel bindings and the server "
                              "requires them (ASC_REQ_ALLOW_MISSING_BINDINGS not set)",
                              lm_only ? "LM" : "NTLMv1");
    if (lm_only && lm_hash == NULL)
        return sspi_error_set(err, SEC_E_LOGON_DENIED,
                              "NTLM: an LM-only response and no LM hash for the user");
    memcpy(chal, c->server_challenge, 8);
    if (!lm_only && (c->flags & NTLM_ESS)) {
        if (m->lm.len != 24)
            return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                                  "NTLM: an ESS response needs a 24-byte LM field");
        if (sspi_ntlm_ess_challenge(c->server_challenge, m->lm.data, chal) != 0)
            return oom(err);
    }
    if (sspi_ntlm_desl(lm_only ? lm_hash : acct->nt_hash, chal, want) != 0) {
        st = oom(err);
        goto done;
    }
    got = lm_only ? m->lm.data : m->nt.data;
    if (CRYPTO_memcmp(want, got, 24) != 0) {
        st = sspi_error_set(err, SEC_E_LOGON_DENIED,
                            "NTLM: the NTLMv1 response does not verify (wrong password)");
        goto done;
    }
    if (sspi_ntlm_md4(acct->nt_hash, 16, sbk) != 0 ||
        sspi_ntlm_kxkey_v1(c->flags, sbk, m->lm.data, m->lm.len, c->server_challenge, lm_hash,
                           kxkey) != 0)
        st = sspi_error_set(err, SEC_E_LOGON_DENIED, "NTLM: no key exchange key for these flags");
done:
    OPENSSL_cleanse(want, sizeof want);
    OPENSSL_cleanse(sbk, sizeof sbk);
    return st;
}

/* After the response verified, as Samba's sam_account_ok: what the account
 * itself forbids. */
static sspi_status check_account(const sspi_ntlm_cred *cc, const sspi_ntlm_account *a,
                                 sspi_error *err)
{
    /* NTOWFv1("") */
    static const unsigned char blank[16] = {0x31, 0xd6, 0xcf, 0xe0, 0xd1, 0x6a, 0xe9, 0x31,
                                            0xb7, 0x3c, 0x59, 0xd7, 0xe0, 0xc0, 0x89, 0xc0};
    if (a->acct & NTLM_ACCT_DISABLED)
        return sspi_error_set(err, SEC_E_LOGON_DENIED, "NTLM: the account %s is disabled ([D])",
                              a->user);
    if (a->acct & NTLM_ACCT_TRUST)
        return sspi_error_set(err, SEC_E_LOGON_DENIED,
                              "NTLM: %s is a trust account ([W], [S] or [I]), not a user: no "
                              "network logon",
                              a->user);
    if (!cc->allow_blank_passwords && CRYPTO_memcmp(a->nt_hash, blank, 16) == 0)
        return sspi_error_set(err, SEC_E_LOGON_DENIED,
                              "NTLM: %s has a blank password, refused for a network logon "
                              "(allow_blank_passwords not set)",
                              a->user);
    return SEC_E_OK;
}

/* What the caller's ASC_REQ flags demand of the negotiated ones, and what
 * any signing or sealing demands: 128-bit keys. */
static sspi_status check_protection(const sspi_ntlm_ctx *c, uint32_t req, sspi_error *err)
{
    if ((req & ASC_REQ_INTEGRITY) && !(c->flags & NTLMSSP_NEGOTIATE_SIGN))
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "NTLM: ASC_REQ_INTEGRITY asked and the client did not negotiate "
                              "signing");
    if ((req & ASC_REQ_CONFIDENTIALITY) && !(c->flags & NTLMSSP_NEGOTIATE_SEAL))
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "NTLM: ASC_REQ_CONFIDENTIALITY asked and the client did not "
                              "negotiate sealing");
    if (sspi_ntlm_signing(c) && !(c->flags & NTLMSSP_NEGOTIATE_128))
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "NTLM: signing or sealing without 128-bit keys, refused");
    return SEC_E_OK;
}

static uint32_t asc_ret(const sspi_ntlm_ctx *c, uint32_t req)
{
    uint32_t r = req & ASC_REQ_CONNECTION;
    if (c->flags & NTLMSSP_NEGOTIATE_SIGN)
        r |= ASC_RET_INTEGRITY | ASC_RET_REPLAY_DETECT | ASC_RET_SEQUENCE_DETECT;
    if (c->flags & NTLMSSP_NEGOTIATE_SEAL)
        r |= ASC_RET_CONFIDENTIALITY;
    if (c->flags & NTLMSSP_NEGOTIATE_IDENTIFY)
        r |= ASC_RET_IDENTIFY;
    if (c->anonymous)
        r |= ASC_RET_NULL_SESSION;
    return r;
}

/* The user's part of the AUTHENTICATE: the account, its response, what the
 * account forbids.  Fills kxkey, *mic_flag and the name to report. */
static sspi_status verify_user(sspi_context *ctx, sspi_ntlm_ctx *c, const sspi_step_in *in,
                               const sspi_ntlm_authenticate *m, const char *user,
                               const char *domain, unsigned char kxkey[16], int *mic_flag,
                               sspi_error *err)
{
    sspi_ntlm_cred *cc = ctx->cred->impl;
    sspi_ntlm_account acct;
    sspi_status st = SEC_E_OK;
    int found;
    if (m->nt.len != 0 && m->nt.len != 24 && m->nt.len < 16 + 28)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "NTLM: an NT response of %zu bytes is neither NTLMv1 nor NTLMv2",
                              m->nt.len);
    if (m->nt.len == 0 && m->lm.len != 24)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "NTLM: no NT response and an LM response of %zu bytes", m->lm.len);
    found = sspi_ntlm_find_user(ctx->cred, in, user, domain, &acct, &st, err);
    if (found < 0)
        goto done;
    if (found == 0) {
        st = sspi_error_set(err, SEC_E_LOGON_DENIED, "NTLM: unknown user %s%s%s", domain,
                            domain[0] ? "\\" : "", user);
        goto done;
    }
    if (acct.acct & NTLM_ACCT_LOCKED) { /* Samba checks this one before the password */
        st = sspi_error_set(err, SEC_E_LOGON_DENIED, "NTLM: the account %s is locked ([L])",
                            acct.user);
        goto done;
    }
    if (m->nt.len > 24)
        st = verify_v2(ctx, c, in, m, acct.nt_hash, user, domain, kxkey, mic_flag, err);
    else
        st = verify_v1(ctx, c, in, m, &acct, kxkey, err);
    if (st == SEC_E_OK)
        st = check_account(cc, &acct, err);
    if (st == SEC_E_OK)
        st = sspi_ntlm_set_client_name(ctx, c, acct.domain, acct.user, err);
done:
    OPENSSL_cleanse(&acct, sizeof acct);
    return st;
}

static sspi_status verify_authenticate(sspi_context *ctx, sspi_ntlm_ctx *c,
                                       const sspi_step_in *in, uint32_t *ret_flags,
                                       sspi_error *err)
{
    sspi_ntlm_authenticate m;
    char *user = NULL, *domain = NULL;
    unsigned char kxkey[16];
    int mic_flag = 0, oem;
    sspi_status st = sspi_ntlm_parse_authenticate(in->token, in->token_len, &m, err);
    memset(kxkey, 0, 16);
    sspi_ntlm_pending_remove(ctx->cred, c);
    if (st != SEC_E_OK)
        goto done;
    /* The flags both sides use from now on: the client's answer, within
     * what we offered. */
    c->flags = (m.flags & c->requested) | (m.flags & NTLMSSP_NEGOTIATE_ANONYMOUS);
    if (c->flags & NTLMSSP_NEGOTIATE_UNICODE)
        c->flags &= ~NTLMSSP_NEGOTIATE_OEM;
    else if (!(c->flags & NTLMSSP_NEGOTIATE_OEM)) {
        st = sspi_error_set(err, SEC_E_INVALID_TOKEN,
                            "NTLM: the AUTHENTICATE uses a string encoding not offered");
        goto done;
    }
    oem = !(c->flags & NTLMSSP_NEGOTIATE_UNICODE);
    if (sspi_ntlm_utf8(ctx->alloc, m.user.data, m.user.len, oem, &user) != 0 ||
        sspi_ntlm_utf8(ctx->alloc, m.domain.data, m.domain.len, oem, &domain) != 0) {
        st = sspi_error_set(err, SEC_E_INVALID_TOKEN,
                            "NTLM: the user or domain name is not valid UTF-16");
        goto done;
    }

    if (user[0] == '\0' && m.nt.len == 0 && (m.lm.len == 0 || (m.lm.len == 1 && m.lm.data[0] == 0))) {
        /* Anonymous (3.2.5.1.2): no proof, an all-zero session base key. */
        if (!(in->context_req & ASC_REQ_ALLOW_NULL_SESSION)) {
            st = sspi_error_set(err, SEC_E_LOGON_DENIED,
                                "NTLM: anonymous logon refused (ASC_REQ_ALLOW_NULL_SESSION not set)");
            goto done;
        }
        c->anonymous = 1;
        c->flags |= NTLMSSP_NEGOTIATE_ANONYMOUS;
        st = sspi_ntlm_set_client_name(ctx, c, NULL, "", err);
    } else if (user[0] == '\0') {
        st = sspi_error_set(err, SEC_E_LOGON_DENIED, "NTLM: a response without a user name");
    } else {
        st = verify_user(ctx, c, in, &m, user, domain, kxkey, &mic_flag, err);
    }
    if (st == SEC_E_OK)
        st = check_protection(c, in->context_req, err);
    if (st != SEC_E_OK)
        goto done;

    if ((c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH) &&
        (c->flags & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL))) {
        if (m.session_key.len != 16) {
            st = sspi_error_set(err, SEC_E_INVALID_TOKEN,
                                "NTLM: KEY_EXCH without a 16-byte encrypted session key");
            goto done;
        }
        if (sspi_ntlm_rc4k(kxkey, 16, m.session_key.data, 16, c->session_key) != 0) {
            st = oom(err);
            goto done;
        }
    } else {
        memcpy(c->session_key, kxkey, 16);
    }
    if (mic_flag) {
        unsigned char want[16];
        sspi_bytes copy;
        int same;
        if (!m.has_mic) {
            st = sspi_error_set(err, SEC_E_INVALID_TOKEN,
                                "NTLM: MsvAvFlags announces a MIC the AUTHENTICATE has no room for");
            goto done;
        }
        sspi_bytes_init(&copy, ctx->alloc);
        if (sspi_bytes_set(&copy, in->token, in->token_len) != 0) {
            st = oom(err);
            goto done;
        }
        memset(copy.data + NTLM_AUTH_MIC_OFFSET, 0, 16);
        same = sspi_ntlm_mic(c, copy.data, copy.len, want) == 0 &&
               CRYPTO_memcmp(want, m.mic, 16) == 0;
        sspi_bytes_free(&copy);
        if (!same) {
            st = sspi_error_set(err, SEC_E_MESSAGE_ALTERED,
                                "NTLM: the AUTHENTICATE message's MIC does not match: the "
                                "handshake was altered");
            goto done;
        }
        c->mic_present = 1;
    }
done:
    OPENSSL_cleanse(kxkey, sizeof kxkey);
    sspi_mem_strfree(ctx->alloc, &user);
    sspi_mem_strfree(ctx->alloc, &domain);
    return sspi_ntlm_finish(c, st, 0, asc_ret(c, in->context_req), ret_flags, err);
}

const sspi_ntlm_legs sspi_ntlm_acceptor_legs = {send_challenge, verify_authenticate,
                                                NTLM_STAGE_CHALLENGE_SENT, 1,
                                                "acceptor (the NEGOTIATE)",
                                                "acceptor (the AUTHENTICATE)"};
