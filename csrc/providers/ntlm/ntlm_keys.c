/*
 * ntlm_keys.c - the MS-NLMP key arithmetic: one-way functions of the
 * password (3.3.1, 3.3.2), DESL, the key exchange key (3.4.5.1) and the
 * signing and sealing keys (3.4.5.2, 3.4.5.3).  Responses are built by the
 * initiator and checked by the acceptor with these same functions.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "ntlm.h"

int sspi_ntlm_ntowfv1(const sspi_allocator *a, const char *password, size_t len,
                      unsigned char out[16])
{
    unsigned char *u16 = NULL;
    size_t n = 0;
    int r;
    if (sspi_ntlm_utf16(a, password, len, 0, &u16, &n) != 0)
        return -1;
    r = sspi_ntlm_md4(u16, n, out);
    sspi_ntlm_free(a, &u16, n);
    return r;
}

int sspi_ntlm_lmowfv1(const char *password, size_t len, unsigned char out[16])
{
    static const unsigned char magic[8] = {'K', 'G', 'S', '!', '@', '#', '$', '%'};
    unsigned char key[14];
    size_t i;
    int r;
    /* The LM hash is defined on the OEM upper-cased password of at most 14
     * characters; for anything else Windows stores no LM hash either. */
    if (len > 14)
        return 0;
    memset(key, 0, sizeof key);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)password[i];
        if (c >= 0x80 || c == 0) {
            /* key holds the password's first characters: wipe them too */
            OPENSSL_cleanse(key, sizeof key);
            return 0;
        }
        key[i] = (c >= 'a' && c <= 'z') ? (unsigned char)(c - 32) : c;
    }
    r = (sspi_ntlm_des7(key, magic, out) == 0 && sspi_ntlm_des7(key + 7, magic, out + 8) == 0);
    OPENSSL_cleanse(key, sizeof key);
    return r ? 1 : -1;
}

int sspi_ntlm_ntowfv2(const sspi_allocator *a, const unsigned char nt_hash[16], const char *user,
                      const char *domain, unsigned char out[16])
{
    unsigned char *u = NULL, *d = NULL;
    size_t ul = 0, dl = 0;
    sspi_ntlm_chunk parts[2];
    int r = -1;
    if (sspi_ntlm_utf16(a, user ? user : "", user ? strlen(user) : 0, 1, &u, &ul) != 0)
        goto done;
    if (sspi_ntlm_utf16(a, domain ? domain : "", domain ? strlen(domain) : 0, 0, &d, &dl) != 0)
        goto done;
    parts[0].data = u;
    parts[0].len = ul;
    parts[1].data = d;
    parts[1].len = dl;
    r = sspi_ntlm_hmac_md5(nt_hash, 16, parts, 2, out);
done:
    sspi_ntlm_free(a, &u, ul);
    sspi_ntlm_free(a, &d, dl);
    return r;
}

int sspi_ntlm_desl(const unsigned char key[16], const unsigned char data[8], unsigned char out[24])
{
    unsigned char k[21];
    int r;
    memcpy(k, key, 16);
    memset(k + 16, 0, 5);
    r = (sspi_ntlm_des7(k, data, out) == 0 && sspi_ntlm_des7(k + 7, data, out + 8) == 0 &&
         sspi_ntlm_des7(k + 14, data, out + 16) == 0)
            ? 0
            : -1;
    OPENSSL_cleanse(k, sizeof k);
    return r;
}

int sspi_ntlm_kxkey_v1(uint32_t flags, const unsigned char session_base_key[16],
                       const unsigned char *lm_response, size_t lm_len,
                       const unsigned char server_challenge[8], const unsigned char *lm_hash,
                       unsigned char out[16])
{
    if (flags & NTLM_ESS) {
        sspi_ntlm_chunk parts[2];
        if (lm_len < 8)
            return -1;
        parts[0].data = server_challenge;
        parts[0].len = 8;
        parts[1].data = lm_response;
        parts[1].len = 8;
        return sspi_ntlm_hmac_md5(session_base_key, 16, parts, 2, out);
    }
    if (flags & NTLMSSP_NEGOTIATE_LM_KEY) {
        unsigned char k[7];
        int r;
        if (lm_hash == NULL || lm_len < 8)
            return -1;
        k[0] = lm_hash[7];
        memset(k + 1, 0xBD, 6);
        r = (sspi_ntlm_des7(lm_hash, lm_response, out) == 0 &&
             sspi_ntlm_des7(k, lm_response, out + 8) == 0)
                ? 0
                : -1;
        OPENSSL_cleanse(k, sizeof k);
        return r;
    }
    if (flags & NTLMSSP_REQUEST_NON_NT_SESSION_KEY) {
        if (lm_hash == NULL)
            return -1;
        memcpy(out, lm_hash, 8);
        memset(out + 8, 0, 8);
        return 0;
    }
    memcpy(out, session_base_key, 16);
    return 0;
}

/* The magic constants include their terminating NUL (3.4.5.2, 3.4.5.3). */
static const char sign_c2s[] = "session key to client-to-server signing key magic constant";
static const char sign_s2c[] = "session key to server-to-client signing key magic constant";
static const char seal_c2s[] = "session key to client-to-server sealing key magic constant";
static const char seal_s2c[] = "session key to server-to-client sealing key magic constant";

int sspi_ntlm_signkey(const unsigned char session_key[16], int client, unsigned char out[16])
{
    sspi_ntlm_chunk parts[2];
    parts[0].data = session_key;
    parts[0].len = 16;
    parts[1].data = (const unsigned char *)(client ? sign_c2s : sign_s2c);
    parts[1].len = sizeof sign_c2s;
    return sspi_ntlm_md5(parts, 2, out);
}

int sspi_ntlm_sealkey(uint32_t flags, const unsigned char session_key[16], int client,
                      unsigned char out[16], size_t *outlen)
{
    if (flags & NTLM_ESS) {
        sspi_ntlm_chunk parts[2];
        parts[0].data = session_key;
        parts[0].len = (flags & NTLMSSP_NEGOTIATE_128) ? 16 : (flags & NTLMSSP_NEGOTIATE_56) ? 7 : 5;
        parts[1].data = (const unsigned char *)(client ? seal_c2s : seal_s2c);
        parts[1].len = sizeof seal_c2s;
        *outlen = 16;
        return sspi_ntlm_md5(parts, 2, out);
    }
    if (flags & (NTLMSSP_NEGOTIATE_LM_KEY | NTLMSSP_NEGOTIATE_DATAGRAM)) {
        if (flags & NTLMSSP_NEGOTIATE_56) {
            memcpy(out, session_key, 7);
            out[7] = 0xA0;
        } else {
            memcpy(out, session_key, 5);
            out[5] = 0xE5;
            out[6] = 0x38;
            out[7] = 0xB0;
        }
        *outlen = 8;
        return 0;
    }
    memcpy(out, session_key, 16);
    *outlen = 16;
    return 0;
}

int sspi_ntlm_ess_challenge(const unsigned char server_challenge[8],
                            const unsigned char client_challenge[8], unsigned char out[8])
{
    unsigned char md[16];
    sspi_ntlm_chunk parts[2];
    int r;
    parts[0].data = server_challenge;
    parts[0].len = 8;
    parts[1].data = client_challenge;
    parts[1].len = 8;
    r = sspi_ntlm_md5(parts, 2, md);
    memcpy(out, md, 8);
    return r;
}

int sspi_ntlm_ntproof(const unsigned char ntowfv2[16], const unsigned char server_challenge[8],
                      const unsigned char *temp, size_t len, unsigned char proof[16],
                      unsigned char session_base_key[16])
{
    sspi_ntlm_chunk parts[2];
    parts[0].data = server_challenge;
    parts[0].len = 8;
    parts[1].data = temp;
    parts[1].len = len;
    if (sspi_ntlm_hmac_md5(ntowfv2, 16, parts, 2, proof) != 0)
        return -1;
    parts[0].data = proof;
    parts[0].len = 16;
    return sspi_ntlm_hmac_md5(ntowfv2, 16, parts, 1, session_base_key);
}

int sspi_ntlm_lmv2(const unsigned char ntowfv2[16], const unsigned char server_challenge[8],
                   const unsigned char client_challenge[8], unsigned char out[24])
{
    sspi_ntlm_chunk parts[2];
    parts[0].data = server_challenge;
    parts[0].len = 8;
    parts[1].data = client_challenge;
    parts[1].len = 8;
    memcpy(out + 16, client_challenge, 8);
    return sspi_ntlm_hmac_md5(ntowfv2, 16, parts, 2, out);
}
