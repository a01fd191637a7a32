/*
 * ntlm_crypto.c - the primitives NTLM needs, from OpenSSL libcrypto but for
 * RC4, which is a dozen lines here so that its state (S-box, i, j) can be
 * exported with a context (an EVP handle hides it).
 *
 * MD4 and DES live in OpenSSL 3's legacy provider.  Loading it into the
 * host's default library context would change what every other user of
 * OpenSSL in the process gets, so NTLM fetches everything (legacy and
 * modern algorithms alike) from a private OSSL_LIB_CTX made once, under
 * pthread_once.  The fetched algorithm objects are immutable after that.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "ntlm.h"

/* Written once by load(), read-only afterwards. */
static struct {
    OSSL_LIB_CTX *libctx;
    EVP_MD *md4, *md5;
    EVP_CIPHER *des;
    EVP_MAC *hmac;
    sspi_status status;
    char why[256];
} crypto;

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

static void fail(const char *what)
{
    unsigned long e = ERR_get_error();
    char detail[160] = "";
    if (e)
        ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    snprintf(crypto.why, sizeof crypto.why, "%s%s%s", what, detail[0] ? ": " : "", detail);
    crypto.status = SEC_E_SECPKG_NOT_FOUND;
}

static void load(void)
{
    crypto.status = SEC_E_OK;
    crypto.libctx = OSSL_LIB_CTX_new();
    if (crypto.libctx == NULL) {
        fail("NTLM: cannot create a private OpenSSL library context");
        return;
    }
    if (OSSL_PROVIDER_load(crypto.libctx, "default") == NULL) {
        fail("NTLM: the OpenSSL default provider does not load");
        return;
    }
    if (OSSL_PROVIDER_load(crypto.libctx, "legacy") == NULL) {
        fail("NTLM: the OpenSSL legacy provider (MD4, DES) does not load; "
             "install the OpenSSL 3 legacy module (ossl-modules/legacy.so)");
        return;
    }
    crypto.md4 = EVP_MD_fetch(crypto.libctx, "MD4", NULL);
    crypto.md5 = EVP_MD_fetch(crypto.libctx, "MD5", NULL);
    crypto.des = EVP_CIPHER_fetch(crypto.libctx, "DES-ECB", NULL);
    crypto.hmac = EVP_MAC_fetch(crypto.libctx, "HMAC", NULL);
    if (!crypto.md4 || !crypto.md5 || !crypto.des || !crypto.hmac)
        fail("NTLM: OpenSSL lacks MD4, MD5, DES-ECB or HMAC");
}

sspi_status sspi_ntlm_crypto_ready(sspi_error *err)
{
    if (pthread_once(&crypto_once, load) != 0)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "NTLM: pthread_once failed");
    if (crypto.status != SEC_E_OK)
        return sspi_error_set(err, crypto.status, "%s", crypto.why);
    return SEC_E_OK;
}

static int digest(const EVP_MD *md, const sspi_ntlm_chunk *parts, size_t n, unsigned char out[16])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t i;
    int ok = c != NULL && EVP_DigestInit_ex(c, md, NULL) == 1;
    for (i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(c, parts[i].data, parts[i].len) == 1;
    ok = ok && EVP_DigestFinal_ex(c, out, NULL) == 1;
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

int sspi_ntlm_md4(const unsigned char *in, size_t len, unsigned char out[16])
{
    sspi_ntlm_chunk part;
    part.data = in;
    part.len = len;
    return digest(crypto.md4, &part, 1, out);
}

int sspi_ntlm_md5(const sspi_ntlm_chunk *parts, size_t n, unsigned char out[16])
{
    return digest(crypto.md5, parts, n, out);
}

EVP_MAC_CTX *sspi_ntlm_hmac_new(const unsigned char key[16])
{
    OSSL_PARAM params[2];
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(crypto.hmac);
    if (c == NULL)
        return NULL;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"MD5", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(c, key, 16, params) != 1) {
        EVP_MAC_CTX_free(c);
        return NULL;
    }
    return c;
}

int sspi_ntlm_hmac_md5(const unsigned char *key, size_t keylen, const sspi_ntlm_chunk *parts,
                       size_t n, unsigned char out[16])
{
    OSSL_PARAM params[2];
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(crypto.hmac);
    size_t i, outl = 0;
    int ok;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"MD5", 0);
    params[1] = OSSL_PARAM_construct_end();
    ok = c != NULL && EVP_MAC_init(c, key, keylen, params) == 1;
    for (i = 0; ok && i < n; i++)
        ok = EVP_MAC_update(c, parts[i].data, parts[i].len) == 1;
    ok = ok && EVP_MAC_final(c, out, &outl, 16) == 1 && outl == 16;
    EVP_MAC_CTX_free(c);
    return ok ? 0 : -1;
}

/* 56 key bits spread over 8 bytes, the low bit of each left for parity
 * (which DES ignores): MS-NLMP 6, "DES(K, D)". */
static void expand_des_key(const unsigned char k[7], unsigned char out[8])
{
    out[0] = k[0];
    out[1] = (unsigned char)((k[0] << 7) | (k[1] >> 1));
    out[2] = (unsigned char)((k[1] << 6) | (k[2] >> 2));
    out[3] = (unsigned char)((k[2] << 5) | (k[3] >> 3));
    out[4] = (unsigned char)((k[3] << 4) | (k[4] >> 4));
    out[5] = (unsigned char)((k[4] << 3) | (k[5] >> 5));
    out[6] = (unsigned char)((k[5] << 2) | (k[6] >> 6));
    out[7] = (unsigned char)(k[6] << 1);
}

int sspi_ntlm_des7(const unsigned char key7[7], const unsigned char in[8], unsigned char out[8])
{
    unsigned char key[8];
    int outl = 0, ok;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    expand_des_key(key7, key);
    ok = c != NULL && EVP_EncryptInit_ex2(c, crypto.des, key, NULL, NULL) == 1 &&
         EVP_CIPHER_CTX_set_padding(c, 0) == 1 && EVP_EncryptUpdate(c, out, &outl, in, 8) == 1 &&
         outl == 8;
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(key, sizeof key);
    return ok ? 0 : -1;
}

int sspi_ntlm_rc4_init(sspi_ntlm_rc4_state *h, const unsigned char *key, size_t keylen)
{
    unsigned j = 0, i, t;
    if (keylen == 0 || keylen > 256)
        return -1;
    for (i = 0; i < 256; i++)
        h->s[i] = (unsigned char)i;
    for (i = 0; i < 256; i++) {
        j = (j + h->s[i] + key[i % keylen]) & 0xff;
        t = h->s[i];
        h->s[i] = h->s[j];
        h->s[j] = (unsigned char)t;
    }
    h->i = h->j = 0;
    return 0;
}

/* One RC4 step: moves the state on and returns the next keystream byte. */
static inline unsigned char rc4_next(unsigned char *s, unsigned *i, unsigned *j)
{
    unsigned si, sj;
    *i = (*i + 1) & 0xff;
    si = s[*i];
    *j = (*j + si) & 0xff;
    sj = s[*j];
    s[*i] = (unsigned char)sj;
    s[*j] = (unsigned char)si;
    return s[(si + sj) & 0xff];
}

void sspi_ntlm_rc4(sspi_ntlm_rc4_state *h, const unsigned char *in, size_t len, unsigned char *out)
{
    unsigned char *s = h->s;
    unsigned i = h->i, j = h->j;
    size_t n = 0;
    /* Eight keystream bytes, written out (compilers do not unroll a loop of
     * eight at -O2), then one 64-bit XOR: a third faster than a byte at a
     * time, and faster than OpenSSL's RC4, on the 64 KiB seal of the bench,
     * where RC4 is most of an NTLM wrap.  Byte order does not matter: both
     * words are loaded from byte arrays the same way. */
    for (; len - n >= 8; n += 8) {
        unsigned char ks[8];
        uint64_t data, stream;
        ks[0] = rc4_next(s, &i, &j);
        ks[1] = rc4_next(s, &i, &j);
        ks[2] = rc4_next(s, &i, &j);
        ks[3] = rc4_next(s, &i, &j);
        ks[4] = rc4_next(s, &i, &j);
        ks[5] = rc4_next(s, &i, &j);
        ks[6] = rc4_next(s, &i, &j);
        ks[7] = rc4_next(s, &i, &j);
        memcpy(&data, in + n, 8);
        memcpy(&stream, ks, 8);
        data ^= stream;
        memcpy(out + n, &data, 8);
    }
    for (; n < len; n++)
        out[n] = (unsigned char)(in[n] ^ rc4_next(s, &i, &j));
    h->i = (unsigned char)i;
    h->j = (unsigned char)j;
}

int sspi_ntlm_rc4_valid(const sspi_ntlm_rc4_state *h)
{
    unsigned char seen[256];
    size_t i;
    memset(seen, 0, sizeof seen);
    for (i = 0; i < 256; i++) {
        if (seen[h->s[i]])
            return 0;
        seen[h->s[i]] = 1;
    }
    return 1;
}

int sspi_ntlm_rc4k(const unsigned char *key, size_t keylen, const unsigned char *in, size_t len,
                   unsigned char *out)
{
    sspi_ntlm_rc4_state h;
    if (sspi_ntlm_rc4_init(&h, key, keylen) != 0)
        return -1;
    sspi_ntlm_rc4(&h, in, len, out);
    OPENSSL_cleanse(&h, sizeof h);
    return 0;
}

int sspi_ntlm_random(unsigned char *out, size_t len)
{
    return RAND_bytes_ex(crypto.libctx, out, len, 0) == 1 ? 0 : -1;
}

/* CRC-32 with the reflected polynomial 0xEDB88320, four bits at a time
 * from a const table (no run-time table, no global state). */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t sspi_ntlm_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
    }
    return ~crc;
}
