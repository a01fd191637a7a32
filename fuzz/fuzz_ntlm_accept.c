/*
 * fuzz_ntlm_accept.c - the built-in NTLM acceptor processing a whole
 * AUTHENTICATE, after a real NEGOTIATE and the CHALLENGE it answered.
 *
 * Input: two configuration bytes, then the AUTHENTICATE.
 *   cfg0 bits 0-2  the acceptor's LM_COMPAT_LEVEL (mod 6)
 *        bit 3     user store: the user file (else a lookup knowing everyone)
 *        bit 4     ASC_REQ_ALLOW_NULL_SESSION
 *        bit 5     the server binds to a channel (channel bindings given)
 *        bit 6     fix up the responses (see below)
 *        bit 7     fix up the MIC
 *   cfg1 bit 0     ASC_REQ_ALLOW_MISSING_BINDINGS
 *        bit 1-2   which client NEGOTIATE (LM level 0 or 3, sealing or signing only)
 *
 * The server challenge is random per run, so a fuzzer alone never passes
 * the NT proof and the code behind it (the NTLMv2 blob's AV pairs,
 * timestamp, bindings, the MIC, key exchange, session keys) would stay
 * unreached.  With the fix-up bits the harness does what an honest client
 * with the right password would do to the fuzzed message: it recomputes
 * the NTLMv2 proof (after setting the blob's timestamp to now and giving
 * each of the blob's AV pairs that the CHALLENGE also sent, at the same
 * length, the CHALLENGE's value, as a client echoes them), the NTLMv1 or LM
 * response, and the MIC, from the fields as the acceptor will read them,
 * with the provider's own functions.  Everything else stays fuzzed.
 *
 * Invariants: a refusal is one of the statuses docs/ntlm.md lists, with a
 * message; an acceptance leaves a complete context whose names, session
 * key and message functions work.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "providers/ntlm/ntlm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Harness state made once (see fuzz_common.h). */
static sspi_credential *acceptors[6][2];
static sspi_fuzz_token negotiates[4];
static unsigned char bindings[SSPI_FUZZ_BINDINGS_LEN];
static unsigned char nt_hash[16], lm_hash[16];
static const uint32_t client_reqs[2] = {FUZZ_ISC_REQ, ISC_REQ_INTEGRITY | ISC_REQ_CONNECTION};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const int client_levels[2] = {0, 3};
    int lm, store, i;
    (void)argc;
    (void)argv;
    for (lm = 0; lm < 6; lm++)
        for (store = 0; store < 2; store++)
            acceptors[lm][store] =
                sspi_fuzz_cred("NTLM", SSPI_CRED_INBOUND, lm, (sspi_fuzz_store)store);
    for (i = 0; i < 4; i++) {
        sspi_credential *cc =
            sspi_fuzz_cred("NTLM", SSPI_CRED_OUTBOUND, client_levels[i & 1], FUZZ_STORE_LOOKUP);
        sspi_context *ctx = NULL;
        sspi_error err;
        if (sspi_context_new(cc, &ctx, &err) != SEC_E_OK ||
            sspi_fuzz_step(ctx, 1, client_reqs[i >> 1], FUZZ_TARGET, NULL, 0, NULL, 0,
                           &negotiates[i], NULL) != SEC_I_CONTINUE_NEEDED)
            sspi_fuzz_die("no NEGOTIATE");
        sspi_context_free(&ctx);
        sspi_credential_release(&cc);
    }
    sspi_fuzz_bindings(bindings);
    sspi_fuzz_nt_hash(nt_hash);
    if (sspi_ntlm_lmowfv1(FUZZ_PASSWORD, strlen(FUZZ_PASSWORD), lm_hash) != 1)
        sspi_fuzz_die("no LM hash for the test password");
    return 0;
}

/* Gives each pair of the blob's AV list (at av, n bytes) that the
 * CHALLENGE's target info also holds, at the same length, the CHALLENGE's
 * value: the echo an honest client makes. */
static void echo_pairs(unsigned char *av, size_t n, const sspi_fuzz_token *chal)
{
    sspi_ntlm_challenge c;
    sspi_error err;
    size_t at = 0;
    if (sspi_ntlm_parse_challenge(chal->data, chal->len, &c, &err) != SEC_E_OK)
        return;
    while (at + 4 <= n) {
        uint16_t id = (uint16_t)(av[at] | av[at + 1] << 8);
        size_t len = (size_t)(av[at + 2] | av[at + 3] << 8);
        sspi_ntlm_view sent;
        if (id == NTLM_AV_EOL || at + 4 + len > n)
            break;
        if (sspi_ntlm_av_check(c.target_info) == 0 &&
            sspi_ntlm_av_find(c.target_info, id, &sent) && sent.len == len)
            memcpy(av + at + 4, sent.data, len);
        at += 4 + len;
    }
}

/* The key exchange key an honest client derives, written while fixing the
 * responses of the message in t; 0 when t was fixed, -1 when it cannot be
 * (then it is left as fuzzed). */
static int fix_responses(unsigned char *t, size_t n, const sspi_fuzz_token *chal,
                         uint32_t flags, int file_store, unsigned char kxkey[16])
{
    const sspi_allocator *a = sspi_fuzz_allocator();
    const unsigned char *sc = chal->data + 24;
    sspi_ntlm_authenticate m;
    char *user = NULL, *domain = NULL;
    int oem = !(flags & NTLMSSP_NEGOTIATE_UNICODE), r = -1;
    unsigned char sbk[16];
    sspi_error err;
    if (sspi_ntlm_parse_authenticate(t, n, &m, &err) != SEC_E_OK)
        return -1;
    memset(kxkey, 0, 16);
    if (m.nt.len == 0 && (m.lm.len == 0 || (m.lm.len == 1 && m.lm.data[0] == 0)))
        return 0; /* anonymous: nothing to prove, an all-zero key */
    if (sspi_ntlm_utf8(a, m.user.data, m.user.len, oem, &user) != 0 ||
        sspi_ntlm_utf8(a, m.domain.data, m.domain.len, oem, &domain) != 0)
        goto done;
    if (m.nt.len >= 16 + 28) {
        /* NTLMv2: timestamp now, our pairs echoed, then the proof over
         * the blob as sent. */
        unsigned char *nt = t + (m.nt.data - t), v2[16];
        sspi_ntlm_put_le64(nt + 16 + 8, sspi_ntlm_filetime_now());
        echo_pairs(nt + 16 + 28, m.nt.len - 16 - 28, chal);
        if (sspi_ntlm_ntowfv2(a, nt_hash, user, domain, v2) != 0)
            goto done;
        r = sspi_ntlm_ntproof(v2, sc, nt + 16, m.nt.len - 16, nt, kxkey);
        goto done;
    }
    if (m.nt.len == 24) {
        unsigned char chal8[8], *nt = t + (m.nt.data - t);
        memcpy(chal8, sc, 8);
        if ((flags & NTLM_ESS) && m.lm.len == 24 &&
            sspi_ntlm_ess_challenge(sc, m.lm.data, chal8) != 0)
            goto done;
        if (sspi_ntlm_desl(nt_hash, chal8, nt) != 0)
            goto done;
    } else if (m.nt.len == 0 && m.lm.len == 24 && file_store) {
        if (sspi_ntlm_desl(lm_hash, sc, t + (m.lm.data - t)) != 0)
            goto done;
    } else {
        goto done;
    }
    if (sspi_ntlm_md4(nt_hash, 16, sbk) == 0 &&
        sspi_ntlm_kxkey_v1(flags, sbk, m.lm.data, m.lm.len, sc, file_store ? lm_hash : NULL,
                           kxkey) == 0)
        r = 0;
done:
    sspi_mem_strfree(a, &user);
    sspi_mem_strfree(a, &domain);
    return r;
}

/* The MIC an honest client puts in t: HMAC_MD5(ExportedSessionKey,
 * NEGOTIATE || CHALLENGE || AUTHENTICATE with the MIC zeroed). */
static void fix_mic(unsigned char *t, size_t n, const sspi_fuzz_token *neg,
                    const sspi_fuzz_token *chal, uint32_t flags, const unsigned char kxkey[16])
{
    sspi_ntlm_authenticate m;
    sspi_ntlm_chunk parts[3];
    unsigned char key[16];
    sspi_error err;
    if (sspi_ntlm_parse_authenticate(t, n, &m, &err) != SEC_E_OK || !m.has_mic)
        return;
    memcpy(key, kxkey, 16);
    if ((flags & NTLMSSP_NEGOTIATE_KEY_EXCH) &&
        (flags & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL)) && m.session_key.len == 16 &&
        sspi_ntlm_rc4k(kxkey, 16, m.session_key.data, 16, key) != 0)
        return;
    memset(t + NTLM_AUTH_MIC_OFFSET, 0, 16);
    parts[0].data = neg->data;
    parts[0].len = neg->len;
    parts[1].data = chal->data;
    parts[1].len = chal->len;
    parts[2].data = t;
    parts[2].len = n;
    sspi_ntlm_hmac_md5(key, 16, parts, 3, t + NTLM_AUTH_MIC_OFFSET);
}

/* What a complete acceptor context must be able to do. */
static void check_complete(sspi_context *ctx)
{
    sspi_attr_value v;
    sspi_error err;
    const unsigned char *out;
    size_t out_len;
    sspi_status st;
    FUZZ_CHECK(sspi_context_get_state(ctx) == SSPI_CTX_COMPLETE, "accepted but not complete");
    memset(&v, 0, sizeof v);
    FUZZ_CHECK(sspi_query(ctx, SSPI_ATTR_NAMES, &v, &err) == SEC_E_OK && v.user_name &&
                   v.user_name[0],
               "no client name after acceptance");
    (void)strlen(v.user_name);
    memset(&v, 0, sizeof v);
    FUZZ_CHECK(sspi_query(ctx, SSPI_ATTR_SESSION_KEY, &v, &err) == SEC_E_OK &&
                   v.session_key_len == 16,
               "no 16-byte session key after acceptance");
    st = sspi_wrap(ctx, 1, (const unsigned char *)"ping", 4, &out, &out_len, &err);
    FUZZ_CHECK(st == SEC_E_OK ? out_len == 20 : st == SEC_E_UNSUPPORTED_FUNCTION,
               "wrap after acceptance: 0x%08x", (unsigned)st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sspi_context *ctx = NULL;
    sspi_fuzz_token chal = {NULL, 0};
    const sspi_fuzz_token *neg;
    unsigned char *msg, kxkey[16];
    uint32_t req, flags;
    sspi_error err;
    sspi_status st;
    int lm, file_store;
    if (size < 2)
        return 0;
    lm = (data[0] & 7) % 6;
    file_store = (data[0] >> 3) & 1;
    req = sspi_fuzz_asc_req(client_reqs[(data[1] >> 2) & 1]) |
          ((data[0] & 0x10) ? ASC_REQ_ALLOW_NULL_SESSION : 0) |
          ((data[1] & 1) ? ASC_REQ_ALLOW_MISSING_BINDINGS : 0);
    neg = &negotiates[(data[1] >> 1) & 3];
    if (sspi_context_new(acceptors[lm][file_store], &ctx, &err) != SEC_E_OK)
        sspi_fuzz_die("new context: %s", err.message);
    st = sspi_fuzz_step(ctx, 0, req, NULL, neg->data, neg->len, NULL, 0, &chal, NULL);
    FUZZ_CHECK(st == SEC_I_CONTINUE_NEEDED && chal.len >= 32, "no CHALLENGE: 0x%08x",
               (unsigned)st);

    /* An exact-size copy, so that ASan sees a read one byte past it. */
    size -= 2;
    msg = malloc(size ? size : 1);
    if (msg == NULL)
        return 0;
    memcpy(msg, data + 2, size);
    /* The flags the acceptor will use: the client's, within the offer. */
    flags = size >= 64 ? sspi_fuzz_le32(msg + 60) : 0;
    flags = (flags & sspi_fuzz_le32(chal.data + 20)) | (flags & NTLMSSP_NEGOTIATE_ANONYMOUS);
    if (flags & NTLMSSP_NEGOTIATE_UNICODE)
        flags &= ~NTLMSSP_NEGOTIATE_OEM;
    if ((data[0] & 0x40) && fix_responses(msg, size, &chal, flags, file_store, kxkey) == 0 &&
        (data[0] & 0x80))
        fix_mic(msg, size, neg, &chal, flags, kxkey);

    st = sspi_fuzz_step(ctx, 0, req, NULL, msg, size, (data[0] & 0x20) ? bindings : NULL,
                        sizeof bindings, NULL, NULL);
    switch (st) {
    case SEC_E_OK:
        check_complete(ctx);
        break;
    case SEC_E_INVALID_TOKEN:
    case SEC_E_LOGON_DENIED:
    case SEC_E_TIME_SKEW:
    case SEC_E_BAD_BINDINGS:
    case SEC_E_MESSAGE_ALTERED:
    case SEC_E_UNSUPPORTED_FUNCTION: /* 40/56-bit keys, or a protection the step asked for */
        FUZZ_CHECK(sspi_context_get_state(ctx) == SSPI_CTX_FAILED, "refused but not failed");
        break;
    default:
        sspi_fuzz_die("AUTHENTICATE answered with unexpected status 0x%08x (%s)", (unsigned)st,
                      sspi_status_name(st));
    }
    free(msg);
    sspi_fuzz_token_free(&chal);
    sspi_context_free(&ctx);
    return 0;
}
