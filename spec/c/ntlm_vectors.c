/*
 * ntlm_vectors.c - the MS-NLMP 4.2 published values against the built-in
 * NTLM provider's own functions (keys, responses, session security).
 *
 * Usage: ntlm_vectors [spec/fixtures/ms-nlmp-4.2.json]
 * Prints one "ok NAME" or "not ok NAME: ..." line per value (TAP-like) and
 * exits 1 when any differs.  spec/33-ntlm_vectors_spec.lua runs it.
 *
 * The JSON file has a fixed, known layout; values are found by walking a
 * path of quoted keys in document order (no JSON library needed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/ntlm/ntlm.h"

static int failures;
static char *doc;

static void check(const char *name, const unsigned char *got, size_t n, const unsigned char *want,
                  size_t wn)
{
    size_t i;
    if (n == wn && memcmp(got, want, n) == 0) {
        printf("ok %s\n", name);
        return;
    }
    failures++;
    printf("not ok %s: got ", name);
    for (i = 0; i < n; i++)
        printf("%02x", got[i]);
    printf(" want ");
    for (i = 0; i < wn; i++)
        printf("%02x", want[i]);
    printf("\n");
}

/* The string value at a path of keys ("ntlmv1", "seal_plaintext", "sealed"). */
static const char *value(const char *const *path, size_t *len)
{
    const char *p = doc;
    char pat[128];
    size_t i;
    for (i = 0; path[i]; i++) {
        snprintf(pat, sizeof pat, "\"%s\":", path[i]);
        p = strstr(p, pat);
        if (p == NULL) {
            fprintf(stderr, "vector %s not in the file\n", path[i]);
            exit(2);
        }
        p += strlen(pat);
    }
    p = strchr(p, '"') + 1;
    *len = (size_t)(strchr(p, '"') - p);
    return p;
}

static size_t hex(const char *const *path, unsigned char *out, size_t cap)
{
    size_t len, i;
    const char *s = value(path, &len);
    if (len / 2 > cap) {
        fprintf(stderr, "vector %s too long\n", path[0]);
        exit(2);
    }
    for (i = 0; i < len / 2; i++) {
        unsigned int b;
        sscanf(s + 2 * i, "%2x", &b);
        out[i] = (unsigned char)b;
    }
    return len / 2;
}

static char *text(const char *const *path)
{
    size_t len;
    const char *s = value(path, &len);
    char *r = malloc(len + 1);
    memcpy(r, s, len);
    r[len] = '\0';
    return r;
}

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})

static uint32_t flags_of(const char *section)
{
    unsigned char b[4];
    hex(P(section, "negotiate_flags"), b, 4);
    /* printed big-endian in the file, as MS-NLMP prints flag values */
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Wraps "Plaintext" (UTF-16LE) as the client with the real session code,
 * under `flags` and session key `key`: 0 and out filled (the 16-byte
 * signature, then the message), or -1 with the failure printed. */
static int client_wrap(const char *name, uint32_t flags, const unsigned char key[16],
                       sspi_bytes *out)
{
    sspi_ntlm_ctx c;
    sspi_context ctx;
    sspi_error err;
    unsigned char msg[64];
    size_t mlen = hex(P("common", "plaintext_utf16le"), msg, sizeof msg);
    int rc = 0;

    memset(&c, 0, sizeof c);
    memset(&ctx, 0, sizeof ctx);
    c.flags = flags;
    memcpy(c.session_key, key, 16);
    ctx.impl = &c;
    sspi_bytes_init(out, NULL);
    if (sspi_ntlm_session_start(&c, 1, &err) != SEC_E_OK ||
        sspi_ntlm_wrap(&ctx, 1, msg, mlen, out, &err) != SEC_E_OK) {
        printf("not ok %s: %s\n", name, err.message);
        failures++;
        sspi_bytes_free(out);
        rc = -1;
    }
    sspi_ntlm_session_free(&c);
    return rc;
}

/* The message part of a wrap (sealed, or clear: `data` names the value of
 * `section`) and its signature (`sig_path`). */
static void wrap_check(const char *name, uint32_t flags, const unsigned char key[16],
                       const char *const *data, const char *const *sig_path)
{
    sspi_bytes out;
    unsigned char want[64];
    size_t wl;
    char label[128];

    if (client_wrap(name, flags, key, &out) != 0)
        return;
    if (data) {
        wl = hex(data, want, sizeof want);
        snprintf(label, sizeof label, "%s %s", name,
                 flags & NTLMSSP_NEGOTIATE_SEAL ? "sealed" : "data");
        check(label, out.data + 16, out.len - 16, want, wl);
    }
    wl = hex(sig_path, want, sizeof want);
    snprintf(label, sizeof label, "%s signature", name);
    check(label, out.data, 16, want, wl);
    sspi_bytes_free(&out);
}

static void seal_check(const char *name, uint32_t flags, const unsigned char key[16],
                       const char *section, const char *sig_key)
{
    wrap_check(name, flags, key, P(section, "seal_plaintext", "sealed"),
               P(section, "seal_plaintext", sig_key));
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "spec/fixtures/ms-nlmp-4.2.json";
    FILE *fp = fopen(path, "rb");
    long size;
    unsigned char nt[16], lm[16], sc[8], cc[8], want[64], got[64], key[16], sbk[16], kx[16];
    unsigned char rsk[16];
    char *user, *domain, *password;
    size_t wl;
    sspi_error err;

    if (fp == NULL) {
        perror(path);
        return 2;
    }
    fseek(fp, 0, SEEK_END);
    size = ftell(fp);
    rewind(fp);
    doc = malloc((size_t)size + 1);
    if (fread(doc, 1, (size_t)size, fp) != (size_t)size)
        return 2;
    doc[size] = '\0';
    fclose(fp);
    if (sspi_ntlm_crypto_ready(&err) != SEC_E_OK) {
        printf("not ok crypto: %s\n", err.message);
        return 1;
    }

    user = text(P("common", "user"));
    domain = text(P("common", "user_domain"));
    password = text(P("common", "password"));
    hex(P("common", "server_challenge"), sc, 8);
    hex(P("common", "client_challenge"), cc, 8);
    hex(P("common", "random_session_key"), rsk, 16);

    /* 4.2.2 NTLMv1 */
    sspi_ntlm_ntowfv1(NULL, password, strlen(password), nt);
    check("4.2.2 NTOWFv1", nt, 16, want, hex(P("ntlmv1", "NTOWFv1"), want, 16));
    if (sspi_ntlm_lmowfv1(password, strlen(password), lm) != 1)
        printf("not ok LMOWFv1 not made\n"), failures++;
    check("4.2.2 LMOWFv1", lm, 16, want, hex(P("ntlmv1", "LMOWFv1"), want, 16));
    sspi_ntlm_md4(nt, 16, sbk);
    check("4.2.2 session base key", sbk, 16, want, hex(P("ntlmv1", "session_base_key"), want, 16));
    sspi_ntlm_desl(nt, sc, got);
    check("4.2.2 NTLMv1 response", got, 24, want,
          hex(P("ntlmv1", "NtChallengeResponse"), want, 24));
    {
        unsigned char lmresp[24];
        uint32_t f = flags_of("ntlmv1");
        sspi_ntlm_desl(lm, sc, lmresp);
        check("4.2.2 LMv1 response", lmresp, 24, want,
              hex(P("ntlmv1", "LmChallengeResponse"), want, 24));
        sspi_ntlm_kxkey_v1(f, sbk, lmresp, 24, sc, lm, kx);
        check("4.2.2 key exchange key", kx, 16, want,
              hex(P("ntlmv1", "key_exchange_key"), want, 16));
        sspi_ntlm_rc4k(kx, 16, rsk, 16, got);
        check("4.2.2 encrypted session key", got, 16, want,
              hex(P("ntlmv1", "encrypted_session_key"), want, 16));
        sspi_ntlm_kxkey_v1(f | NTLMSSP_NEGOTIATE_LM_KEY, sbk, lmresp, 24, sc, lm, kx);
        check("4.2.2 LM_KEY key exchange key", kx, 16, want,
              hex(P("ntlmv1", "with_NTLMSSP_NEGOTIATE_LM_KEY", "key_exchange_key"), want, 16));
        sspi_ntlm_rc4k(kx, 16, rsk, 16, got);
        check("4.2.2 LM_KEY encrypted session key", got, 16, want,
              hex(P("ntlmv1", "with_NTLMSSP_NEGOTIATE_LM_KEY", "encrypted_session_key"), want,
                  16));
        sspi_ntlm_kxkey_v1(f | NTLMSSP_REQUEST_NON_NT_SESSION_KEY, sbk, lmresp, 24, sc, lm, kx);
        check("4.2.2 NON_NT_SESSION_KEY key exchange key", kx, 16, want,
              hex(P("ntlmv1", "with_NTLMSSP_REQUEST_NON_NT_SESSION_KEY", "key_exchange_key"),
                  want, 16));
        seal_check("4.2.2.4 NTLMv1", f, rsk, "ntlmv1", "signature");
    }

    /* 4.2.3 NTLMv1 with extended session security */
    {
        uint32_t f = flags_of("ntlmv1_ess");
        unsigned char chal[8], lmresp[24];
        memcpy(lmresp, cc, 8);
        memset(lmresp + 8, 0, 16);
        check("4.2.3 LM response", lmresp, 24, want,
              hex(P("ntlmv1_ess", "LmChallengeResponse"), want, 24));
        sspi_ntlm_ess_challenge(sc, cc, chal);
        sspi_ntlm_desl(nt, chal, got);
        check("4.2.3 NTLMv1 ESS response", got, 24, want,
              hex(P("ntlmv1_ess", "NtChallengeResponse"), want, 24));
        sspi_ntlm_kxkey_v1(f, sbk, lmresp, 24, sc, lm, kx);
        check("4.2.3 key exchange key", kx, 16, want,
              hex(P("ntlmv1_ess", "key_exchange_key"), want, 16));
        sspi_ntlm_sealkey(f, kx, 1, key, &wl);
        check("4.2.3 client sealing key", key, wl, want,
              hex(P("ntlmv1_ess", "seal_key_client"), want, 16));
        sspi_ntlm_signkey(kx, 1, key);
        check("4.2.3 client signing key", key, 16, want,
              hex(P("ntlmv1_ess", "sign_key_client"), want, 16));
        seal_check("4.2.3.4 NTLMv1 ESS", f, kx, "ntlmv1_ess", "signature");
    }

    /* 4.2.4 NTLMv2 */
    {
        uint32_t f = flags_of("ntlmv2");
        unsigned char v2[16], temp[128], proof[16];
        size_t tl = hex(P("ntlmv2", "temp"), temp, sizeof temp);
        sspi_ntlm_ntowfv2(NULL, nt, user, domain, v2);
        check("4.2.4 NTOWFv2", v2, 16, want, hex(P("ntlmv2", "NTOWFv2"), want, 16));
        sspi_ntlm_ntproof(v2, sc, temp, tl, proof, kx);
        check("4.2.4 NTProofStr", proof, 16, want, hex(P("ntlmv2", "NTProofStr"), want, 16));
        sspi_ntlm_lmv2(v2, sc, cc, got);
        check("4.2.4 LMv2 response", got, 24, want, hex(P("ntlmv2", "LMv2_response"), want, 24));
        check("4.2.4 session base key", kx, 16, want,
              hex(P("ntlmv2", "session_base_key"), want, 16));
        sspi_ntlm_rc4k(kx, 16, rsk, 16, got);
        check("4.2.4 encrypted session key", got, 16, want,
              hex(P("ntlmv2", "encrypted_session_key"), want, 16));
        sspi_ntlm_sealkey(f, rsk, 1, key, &wl);
        check("4.2.4 client sealing key", key, wl, want,
              hex(P("ntlmv2", "seal_key_client"), want, 16));
        sspi_ntlm_sealkey(f, rsk, 0, key, &wl);
        check("4.2.4 server sealing key", key, wl, want,
              hex(P("ntlmv2", "seal_key_server"), want, 16));
        sspi_ntlm_signkey(rsk, 1, key);
        check("4.2.4 client signing key", key, 16, want,
              hex(P("ntlmv2", "sign_key_client"), want, 16));
        sspi_ntlm_signkey(rsk, 0, key);
        check("4.2.4 server signing key", key, 16, want,
              hex(P("ntlmv2", "sign_key_server"), want, 16));
        seal_check("4.2.4.4 NTLMv2", f, rsk, "ntlmv2", "signature");

        /* pyspnego's extra values on the same key: 56/40-bit and LM_KEY sealing keys */
        sspi_ntlm_sealkey(NTLM_ESS | NTLMSSP_NEGOTIATE_56, rsk, 1, key, &wl);
        check("ESS 56-bit client sealing key", key, wl, want,
              hex(P("ntlmv2", "extra_not_in_spec", "seal_key_ess_56_client"), want, 16));
        sspi_ntlm_sealkey(NTLM_ESS | NTLMSSP_NEGOTIATE_56, rsk, 0, key, &wl);
        check("ESS 56-bit server sealing key", key, wl, want,
              hex(P("ntlmv2", "extra_not_in_spec", "seal_key_ess_56_server"), want, 16));
        sspi_ntlm_sealkey(NTLM_ESS, rsk, 1, key, &wl);
        check("ESS 40-bit client sealing key", key, wl, want,
              hex(P("ntlmv2", "extra_not_in_spec", "seal_key_ess_40_client"), want, 16));
        sspi_ntlm_sealkey(NTLM_ESS, rsk, 0, key, &wl);
        check("ESS 40-bit server sealing key", key, wl, want,
              hex(P("ntlmv2", "extra_not_in_spec", "seal_key_ess_40_server"), want, 16));
        sspi_ntlm_sealkey(NTLMSSP_NEGOTIATE_LM_KEY | NTLMSSP_NEGOTIATE_56, rsk, 1, key, &wl);
        check("LM_KEY 56-bit sealing key", key, wl, want,
              hex(P("ntlmv2", "extra_not_in_spec", "seal_key_lm_key_56"), want, 16));
        sspi_ntlm_sealkey(NTLMSSP_NEGOTIATE_LM_KEY, rsk, 1, key, &wl);
        check("LM_KEY 40-bit sealing key", key, wl, want,
              hex(P("ntlmv2", "extra_not_in_spec", "seal_key_lm_key_40"), want, 16));
        /* ESS, 128-bit, SEAL, no KEY_EXCH: the checksum is not RC4'd. */
        wrap_check("ESS 128-bit no KEY_EXCH", f & ~NTLMSSP_NEGOTIATE_KEY_EXCH, rsk, NULL,
                   P("ntlmv2", "extra_not_in_spec", "signature_ess_128_no_key_exch"));
        /* SIGN without SEAL: the data goes out clear, the checksum is still
         * RC4'd under KEY_EXCH (3.4.4.2); gss-ntlmssp seals it anyway. */
        wrap_check("4.2.4 sign-only", f & ~NTLMSSP_NEGOTIATE_SEAL, rsk,
                   P("common", "plaintext_utf16le"),
                   P("ntlmv2", "extra_not_in_spec", "signature_sign_only"));
    }

    /* MsvAvChannelBindings of a tls-server-end-point binding, as observed
     * from gss-ntlmssp and ntlm_auth. */
    {
        unsigned char app[128], cb[160];
        size_t al = hex(P("channel_bindings_observed", "application_data_hex"), app, sizeof app);
        sspi_channel_bindings b;
        memset(&b, 0, sizeof b);
        b.application_data = app;
        b.application_length = al;
        sspi_channel_bindings_write(&b, cb);
        if (sspi_ntlm_bindings_hash(cb, sspi_channel_bindings_size(&b), got, &err) != SEC_E_OK)
            printf("not ok bindings: %s\n", err.message), failures++;
        check("MsvAvChannelBindings", got, 16, want,
              hex(P("channel_bindings_observed", "MsvAvChannelBindings"), want, 16));
    }

    /* UTF-16 of a non-BMP password: a surrogate pair, both ways. */
    {
        static const char pw[] = "p\xF0\x9F\x94\x91"; /* "p" U+1F511 */
        static const unsigned char u16[] = {'p', 0, 0x3D, 0xD8, 0x11, 0xDD};
        unsigned char *u = NULL;
        size_t ul = 0;
        char *back = NULL;
        sspi_ntlm_utf16(NULL, pw, strlen(pw), 0, &u, &ul);
        check("UTF-16 of a non-BMP password", u, ul, u16, sizeof u16);
        sspi_ntlm_utf8(NULL, u16, sizeof u16, 0, &back);
        check("UTF-8 from a surrogate pair", (unsigned char *)back, strlen(back),
              (const unsigned char *)pw, strlen(pw));
        sspi_ntlm_free(NULL, &u, ul);
        free(back);
    }
    /* RC4 (sealing): RFC 6229's keystream for the 40-bit key 0102030405 at
     * offsets 0, 16, 240, 256, 4080 and 4096, made in uneven pieces (the
     * 8-byte blocks and the byte-at-a-time tail of sspi_ntlm_rc4 both, state
     * carried between calls) and in place over zeros. */
    {
        static const unsigned char rfc_key[5] = {1, 2, 3, 4, 5};
        static const struct {
            size_t offset;
            const char *hex;
        } rfc6229[] = {
            {0, "b2396305f03dc027ccc3524a0a1118a8"},    {16, "6982944f18fc82d589c403a47a0d0919"},
            {240, "28cb1132c96ce286421dcaadb8b69eae"},  {256, "1cfcf62b03eddb641d77dfcf7f8d8c93"},
            {4080, "068326a2118416d21f9d04b2cd1ca050"}, {4096, "ff25b58995996707e51fbdf08b34d875"},
        };
        static const size_t pieces[] = {1, 7, 8, 13, 64, 3, 200, 9};
        static unsigned char stream[4112];
        sspi_ntlm_rc4_state rc4;
        size_t pos = 0, k = 0, i;
        char label[64];
        memset(stream, 0, sizeof stream);
        sspi_ntlm_rc4_init(&rc4, rfc_key, sizeof rfc_key);
        while (pos < sizeof stream) {
            size_t n = pieces[k++ % (sizeof pieces / sizeof pieces[0])];
            if (n > sizeof stream - pos)
                n = sizeof stream - pos;
            sspi_ntlm_rc4(&rc4, stream + pos, n, stream + pos);
            pos += n;
        }
        for (i = 0; i < sizeof rfc6229 / sizeof rfc6229[0]; i++) {
            for (k = 0; k < 16; k++)
                sscanf(rfc6229[i].hex + 2 * k, "%2hhx", &want[k]);
            snprintf(label, sizeof label, "RFC 6229 RC4 40-bit key, offset %zu", rfc6229[i].offset);
            check(label, stream + rfc6229[i].offset, 16, want, 16);
        }
    }
    printf("%d failure(s)\n", failures);
    free(user);
    free(domain);
    free(password);
    free(doc);
    return failures ? 1 : 0;
}
