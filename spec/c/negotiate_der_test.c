/*
 * negotiate_der_test.c - unit test of the SPNEGO DER layer of the built-in
 * Negotiate provider (csrc/providers/negotiate/spnego_*.c), built by
 * `make test` and run by spec/40-negotiate_der_spec.lua (alone:
 * `make negotiate-der-test`).
 *
 * The vectors are a real exchange between MIT krb5 1.20's SPNEGO initiator
 * and acceptor with gss-ntlmssp inside (NegTokenInit, the CHALLENGE reply,
 * the AUTHENTICATE with a mechListMIC, the final accept-completed with the
 * acceptor's MIC).  Properties checked on each:
 *  - the decoded fields are the ones MIT sent;
 *  - re-encoding the decoded fields gives the same bytes (DER is canonical);
 *  - every truncation is refused with SEC_E_INVALID_TOKEN;
 *  - every single-byte change either is refused or decodes to fields that
 *    re-encode to exactly the changed token (nothing is silently skipped);
 * plus hand-made non-DER lengths, bad OIDs, NegTokenInit2 with negHints,
 * token classification, and a deeply nested token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/negotiate/spnego_token.h"

static int failures;
static int checks;

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        checks++;                                                                            \
        if (!(cond)) {                                                                       \
            failures++;                                                                      \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fputc('\n', stderr);                                                             \
        }                                                                                    \
    } while (0)

static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = 0;
    while (hex[0] && n < cap) {
        unsigned v;
        if (hex[0] == ' ') {
            hex++;
            continue;
        }
        if (sscanf(hex, "%2x", &v) != 1)
            break;
        out[n++] = (unsigned char)v;
        hex += 2;
    }
    return n;
}

/* MIT SPNEGO + gss-ntlmssp, user bob@TESTDOM, target host@localhost. */
static const char *const mit_init =
    "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d5353500001"
    "000000178208e200000000000000000000000000000000060200000000000f";
static const char *const mit_challenge =
    "a18199308196a0030a0101a10c060a2b06010401823702020aa28180047e4e544c4d535350000200000004"
    "0004003800000015828ae25636d67a01efb80c0000000000000000420042003c000000060200000000000f"
    "56004d000100040056004d000200160057004f0052004b00530054004100540049004f004e000300040076"
    "006d0006000400000000000700080000674b1b127ddd0100000000";
static const char *const mit_authenticate =
    "a182013730820133a0030a0101a2820116048201124e544c4d5353500003000000000000005800000092009"
    "200580000000e000e00ea00000006000600f800000004000400fe000000100010000201000015828ae206020"
    "0000000000f6e4064865b645c264250c133a1fe298d983c82c97636a63584ed94cbdccebcfc010100000000"
    "000000674b1b127ddd0122a6d9fbcae3f23a000000000100040056004d000200160057004f0052004b005300"
    "54004100540049004f004e000300040076006d0006000400020000000700080000674b1b127ddd0109001c00"
    "68006f00730074002f006c006f00630061006c0068006f00730074000000000000000000540045005300540"
    "044004f004d0062006f00620056004d00b92952d46c18638a61697c686a0c73d0a312041001000000a82e83"
    "0b2887be6400000000";
static const char *const mit_final =
    "a11b3019a0030a0100a312041001000000ca186d17f39be57c00000000";

/* Re-encodes a decoded message; returns the bytes in *out (caller frees). */
static int reencode(const sspi_spnego_msg *msg, sspi_bytes *out)
{
    sspi_bytes_init(out, NULL);
    if (msg->kind == SSPI_SPNEGO_MSG_INIT)
        return sspi_spnego_encode_init(out, &msg->init);
    return sspi_spnego_encode_resp(out, &msg->resp);
}

static void check_roundtrip(const char *name, const unsigned char *tok, size_t len)
{
    sspi_spnego_msg msg;
    sspi_bytes again;
    const char *why = NULL;
    sspi_status st = sspi_spnego_decode(tok, len, &msg, &why);
    CHECK(st == SEC_E_OK, "%s: decode: %s", name, why ? why : "?");
    if (st != SEC_E_OK)
        return;
    CHECK(reencode(&msg, &again) == 0, "%s: encode failed", name);
    CHECK(again.len == len && memcmp(again.data, tok, len) == 0, "%s: re-encoding differs", name);
    sspi_bytes_free(&again);
}

static void check_truncations(const char *name, const unsigned char *tok, size_t len)
{
    size_t cut;
    int bad = 0;
    for (cut = 0; cut < len; cut++) {
        sspi_spnego_msg msg;
        const char *why = NULL;
        sspi_status st = sspi_spnego_decode(tok, cut, &msg, &why);
        checks++;
        if (st != SEC_E_INVALID_TOKEN || why == NULL) {
            bad++;
            if (bad < 5)
                fprintf(stderr, "%s: truncation to %zu bytes gave 0x%08x\n", name, cut, st);
        }
    }
    failures += bad;
}

/* Every position, every byte value. */
static void check_mutations(const char *name, const unsigned char *tok, size_t len)
{
    unsigned char *copy = malloc(len);
    size_t i;
    unsigned v;
    int bad = 0, accepted = 0;
    if (copy == NULL) {
        failures++;
        return;
    }
    for (i = 0; i < len; i++) {
        for (v = 0; v < 256; v++) {
            sspi_spnego_msg msg;
            sspi_bytes again;
            const char *why = NULL;
            sspi_status st;
            if (v == tok[i])
                continue;
            memcpy(copy, tok, len);
            copy[i] = (unsigned char)v;
            st = sspi_spnego_decode(copy, len, &msg, &why);
            checks++;
            if (st == SEC_E_INVALID_TOKEN && why != NULL)
                continue;
            if (st != SEC_E_OK) {
                bad++;
                continue;
            }
            accepted++;
            if (reencode(&msg, &again) != 0 || again.len != len ||
                memcmp(again.data, copy, len) != 0) {
                if (bad < 5)
                    fprintf(stderr, "%s: byte %zu = 0x%02x accepted but does not re-encode\n",
                            name, i, v);
                bad++;
            }
            sspi_bytes_free(&again);
        }
    }
    free(copy);
    failures += bad;
    printf("# %s: %zu bytes, %d single-byte variants decoded (inside token/MIC data)\n", name, len,
           accepted);
}

static void test_mit_vectors(void)
{
    unsigned char tok[1024];
    sspi_spnego_msg msg;
    const char *why = NULL;
    sspi_der it = {NULL, 0}, oid;
    size_t len;

    len = unhex(mit_init, tok, sizeof tok);
    CHECK(sspi_spnego_decode(tok, len, &msg, &why) == SEC_E_OK, "init: %s", why);
    CHECK(msg.kind == SSPI_SPNEGO_MSG_INIT, "init kind");
    CHECK(msg.init.mech_count == 1, "init mech count %zu", msg.init.mech_count);
    CHECK(msg.init.mech_types.len == 14 && msg.init.mech_types.p == tok + 16,
          "mechTypes element as sent");
    CHECK(sspi_spnego_next_mech(&msg.init.mech_types, &it, &oid) == 1, "first mech");
    CHECK(sspi_spnego_same_mech(&oid, &sspi_spnego_ntlm_oid), "NTLM OID");
    CHECK(sspi_spnego_next_mech(&msg.init.mech_types, &it, &oid) == 0, "one mech only");
    CHECK(msg.init.mech_token.present && msg.init.mech_token.len == 40 &&
              memcmp(msg.init.mech_token.p, "NTLMSSP\0\1", 9) == 0,
          "NEGOTIATE inside");
    CHECK(!msg.init.mech_list_mic.present && !msg.init.init2 && !msg.init.req_flags.present,
          "no MIC, no hints, no reqFlags");
    CHECK(sspi_spnego_classify(tok, len, NULL) == SSPI_TOKEN_SPNEGO_INIT, "classify init");
    check_roundtrip("init", tok, len);
    check_truncations("init", tok, len);
    check_mutations("init", tok, len);

    len = unhex(mit_challenge, tok, sizeof tok);
    CHECK(sspi_spnego_decode(tok, len, &msg, &why) == SEC_E_OK, "challenge: %s", why);
    CHECK(msg.kind == SSPI_SPNEGO_MSG_RESP, "challenge kind");
    CHECK(msg.resp.neg_state == SSPI_SPNEGO_ACCEPT_INCOMPLETE, "accept-incomplete");
    CHECK(msg.resp.supported_mech.present, "supportedMech");
    {
        sspi_der sm = {msg.resp.supported_mech.p, msg.resp.supported_mech.len};
        CHECK(sspi_spnego_same_mech(&sm, &sspi_spnego_ntlm_oid), "supportedMech NTLM");
    }
    CHECK(msg.resp.response_token.present && msg.resp.response_token.len == 126, "CHALLENGE");
    CHECK(!msg.resp.mech_list_mic.present, "no MIC yet");
    CHECK(sspi_spnego_classify(tok, len, NULL) == SSPI_TOKEN_SPNEGO_RESP, "classify resp");
    check_roundtrip("challenge", tok, len);
    check_truncations("challenge", tok, len);
    check_mutations("challenge", tok, len);

    len = unhex(mit_authenticate, tok, sizeof tok);
    CHECK(sspi_spnego_decode(tok, len, &msg, &why) == SEC_E_OK, "authenticate: %s", why);
    CHECK(msg.resp.neg_state == SSPI_SPNEGO_ACCEPT_INCOMPLETE, "authenticate negState");
    CHECK(!msg.resp.supported_mech.present, "no supportedMech after the first reply");
    CHECK(msg.resp.response_token.present && msg.resp.response_token.len == 274, "AUTHENTICATE");
    CHECK(msg.resp.mech_list_mic.present && msg.resp.mech_list_mic.len == 16, "MIC 16 bytes");
    check_roundtrip("authenticate", tok, len);
    check_truncations("authenticate", tok, len);

    len = unhex(mit_final, tok, sizeof tok);
    CHECK(sspi_spnego_decode(tok, len, &msg, &why) == SEC_E_OK, "final: %s", why);
    CHECK(msg.resp.neg_state == SSPI_SPNEGO_ACCEPT_COMPLETED, "accept-completed");
    CHECK(!msg.resp.response_token.present && msg.resp.mech_list_mic.present, "MIC only");
    check_roundtrip("final", tok, len);
    check_truncations("final", tok, len);
    check_mutations("final", tok, len);
}

static void expect_invalid(const char *name, const char *hex)
{
    unsigned char tok[256];
    sspi_spnego_msg msg;
    const char *why = NULL;
    size_t len = unhex(hex, tok, sizeof tok);
    sspi_status st = sspi_spnego_decode(tok, len, &msg, &why);
    CHECK(st == SEC_E_INVALID_TOKEN && why != NULL, "%s: accepted (0x%08x)", name, st);
}

static void expect_valid(const char *name, const char *hex)
{
    unsigned char tok[256];
    sspi_spnego_msg msg;
    const char *why = NULL;
    size_t len = unhex(hex, tok, sizeof tok);
    sspi_status st = sspi_spnego_decode(tok, len, &msg, &why);
    CHECK(st == SEC_E_OK, "%s: refused: %s", name, why ? why : "?");
    if (st == SEC_E_OK)
        check_roundtrip(name, tok, len);
}

static void test_non_der(void)
{
    /* Variations of a minimal NegTokenResp, a1 07 30 05 a0 03 0a 01 00. */
    expect_valid("minimal NegTokenResp", "a1073005a0030a0100");
    expect_valid("empty NegTokenResp", "a1023000");
    expect_invalid("indefinite length", "a1803005a0030a01000000");
    expect_invalid("long form for a short length", "a181073005a0030a0100");
    expect_invalid("long form with a leading zero", "a18200073005a0030a0100");
    expect_invalid("four length bytes", "a184000000073005a0030a0100");
    expect_invalid("length past the end", "a1083005a0030a0100");
    expect_invalid("trailing byte", "a1073005a0030a010000");
    expect_invalid("negState 4", "a1073005a0030a0104");
    expect_invalid("negState of two bytes", "a1083006a0040a020000");
    expect_invalid("negState as INTEGER", "a1073005a003020100");
    expect_invalid("fields out of order", "a10b3009a2020400a0030a0101");
    expect_invalid("unknown field [4]", "a1073005a4030401aa");
    expect_invalid("two elements in one tag", "a10a3008a0060a01000a0101");
    expect_invalid("duplicate field", "a10c300aa0030a0100a0030a0100");
    expect_invalid("empty token", "");
    expect_invalid("not SPNEGO", "3003020100");
    expect_invalid("high tag number", "bf1f00");
    expect_invalid("bare NegTokenInit without the GSS framing", "a0063004a0023000");
    /* Initial tokens: 60 L 06 06 2b0601050502 a0 L 30 L ... */
    expect_valid("NegTokenInit with an empty mechTypes", "6010 06062b0601050502 a006 3004 a0023000");
    expect_invalid("another mechanism's OID", "600f 06092a864886f712010202 a0023000");
    expect_invalid("NegTokenInit without mechTypes", "6010 06062b0601050502 a006 3004 a2020400");
    expect_invalid("NegTokenResp inside the GSS framing", "600c 06062b0601050502 a1023000");
    expect_invalid("mechTypes holding an INTEGER",
                   "6013 06062b0601050502 a009 3007 a005 3003 020101");
    expect_invalid("empty OID", "6012 06062b0601050502 a008 3006 a004 3002 0600");
    expect_invalid("OID sub-identifier with a 0x80 lead",
                   "6014 06062b0601050502 a00a 3008 a006 3004 06028001");
    expect_invalid("OID with an unterminated sub-identifier",
                   "6014 06062b0601050502 a00a 3008 a006 3004 06028686");
    expect_invalid("reqFlags with 8 unused bits",
                   "6016 06062b0601050502 a00c 300a a0023000 a104 03020800");
    expect_valid("reqFlags", "6016 06062b0601050502 a00c 300a a0023000 a104 03020160");
    expect_invalid("bytes after the initial token", "6010 06062b0601050502 a006 3004 a0023000 00");
    expect_invalid("bytes after NegTokenInit in the framing",
                   "6012 06062b0601050502 a006 3004 a0023000 0500");
}

static void test_init2(void)
{
    static const unsigned char hint[] = "not_defined_in_RFC4178@please_ignore";
    sspi_der oids[2];
    sspi_bytes list, tok;
    sspi_spnego_init in;
    sspi_spnego_msg msg;
    sspi_der it = {NULL, 0}, oid;
    const char *why = NULL;

    oids[0] = sspi_spnego_krb5_oid;
    oids[1] = sspi_spnego_ntlm_oid;
    sspi_bytes_init(&list, NULL);
    sspi_bytes_init(&tok, NULL);
    CHECK(sspi_spnego_encode_mech_list(&list, oids, 2) == 0, "mech list");
    memset(&in, 0, sizeof in);
    in.mech_types = sspi_der_view(list.data, list.len);
    in.init2 = 1;
    in.hint_name.present = 1;
    in.hint_name.p = hint;
    in.hint_name.len = sizeof hint - 1;
    CHECK(sspi_spnego_encode_init(&tok, &in) == 0, "encode init2");
    CHECK(sspi_spnego_decode(tok.data, tok.len, &msg, &why) == SEC_E_OK, "decode init2: %s", why);
    CHECK(msg.init.init2 && msg.init.hint_name.present &&
              msg.init.hint_name.len == sizeof hint - 1 &&
              memcmp(msg.init.hint_name.p, hint, sizeof hint - 1) == 0,
          "hintName");
    CHECK(msg.init.mech_count == 2 && !msg.init.mech_token.present, "two mechs, no token");
    CHECK(sspi_spnego_next_mech(&msg.init.mech_types, &it, &oid) &&
              sspi_spnego_same_mech(&oid, &sspi_spnego_mskrb_oid),
          "Kerberos first (and the MS OID names the same mechanism)");
    CHECK(!sspi_spnego_same_mech(&oid, &sspi_spnego_ntlm_oid), "Kerberos is not NTLM");
    check_roundtrip("init2", tok.data, tok.len);
    check_truncations("init2", tok.data, tok.len);
    check_mutations("init2", tok.data, tok.len);

    /* NegTokenInit2 with a mechListMIC goes to [4]. */
    tok.len = 0;
    in.mech_list_mic.present = 1;
    in.mech_list_mic.p = (const unsigned char *)"0123456789abcdef";
    in.mech_list_mic.len = 16;
    CHECK(sspi_spnego_encode_init(&tok, &in) == 0, "encode init2 with MIC");
    CHECK(sspi_spnego_decode(tok.data, tok.len, &msg, &why) == SEC_E_OK, "decode: %s", why);
    CHECK(msg.init.mech_list_mic.present && msg.init.mech_list_mic.len == 16, "MIC at [4]");
    check_roundtrip("init2+mic", tok.data, tok.len);
    sspi_bytes_free(&list);
    sspi_bytes_free(&tok);
}

static void test_large_token(void)
{
    /* Long-form lengths of two and three bytes, both directions. */
    size_t sizes[] = {127, 128, 255, 256, 65535, 65536, 100000};
    size_t i;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *blob = calloc(1, sizes[i]);
        sspi_spnego_resp r;
        sspi_spnego_msg msg;
        sspi_bytes tok;
        const char *why = NULL;
        memset(&r, 0, sizeof r);
        r.neg_state = SSPI_SPNEGO_ACCEPT_INCOMPLETE;
        r.response_token.present = 1;
        r.response_token.p = blob;
        r.response_token.len = sizes[i];
        sspi_bytes_init(&tok, NULL);
        CHECK(sspi_spnego_encode_resp(&tok, &r) == 0, "encode %zu", sizes[i]);
        CHECK(sspi_spnego_decode(tok.data, tok.len, &msg, &why) == SEC_E_OK, "decode %zu: %s",
              sizes[i], why);
        CHECK(msg.resp.response_token.len == sizes[i], "length %zu", sizes[i]);
        check_roundtrip("large", tok.data, tok.len);
        sspi_bytes_free(&tok);
        free(blob);
    }
}

static void test_classify(void)
{
    unsigned char tok[64];
    sspi_der mech;
    size_t len;
    CHECK(sspi_spnego_classify((const unsigned char *)"NTLMSSP\0\1\0\0\0", 12, NULL) ==
              SSPI_TOKEN_NTLMSSP,
          "bare NTLMSSP");
    len = unhex("601006092a864886f712010202010061020500", tok, sizeof tok);
    tok[1] = (unsigned char)(len - 2);
    CHECK(sspi_spnego_classify(tok, len, &mech) == SSPI_TOKEN_GSS_MECH &&
              sspi_spnego_same_mech(&mech, &sspi_spnego_krb5_oid),
          "bare Kerberos AP-REQ framing");
    CHECK(sspi_spnego_classify(tok, len - 1, &mech) == SSPI_TOKEN_UNKNOWN, "truncated framing");
    CHECK(sspi_spnego_classify((const unsigned char *)"\x30\x00", 2, NULL) == SSPI_TOKEN_UNKNOWN,
          "a SEQUENCE is unknown");
    CHECK(sspi_spnego_classify(NULL, 0, NULL) == SSPI_TOKEN_UNKNOWN, "empty");
}

static void test_deep_nesting(void)
{
    /* 20000 nested [1] tags: refused at the first level where a SEQUENCE is
     * due, without descending (the decoder has no recursion to exhaust). */
    const size_t depth = 20000;
    unsigned char *tok = malloc(depth * 5);
    sspi_spnego_msg msg;
    const char *why = NULL;
    size_t i;
    if (tok == NULL) {
        failures++;
        return;
    }
    for (i = 0; i < depth; i++) {
        size_t rest = (depth - i - 1) * 5;
        tok[i * 5] = 0xA1;
        tok[i * 5 + 1] = 0x83;
        tok[i * 5 + 2] = (unsigned char)(rest >> 16);
        tok[i * 5 + 3] = (unsigned char)(rest >> 8);
        tok[i * 5 + 4] = (unsigned char)rest;
    }
    CHECK(sspi_spnego_decode(tok, depth * 5, &msg, &why) == SEC_E_INVALID_TOKEN, "deep nesting");
    free(tok);
}

int main(void)
{
    test_mit_vectors();
    test_non_der();
    test_init2();
    test_large_token();
    test_classify();
    test_deep_nesting();
    printf("# %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
