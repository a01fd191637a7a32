/*
 * base64.c - RFC 4648 base64, the form HTTP Negotiate (RFC 4559) and SASL
 * give tokens.  In C because it is on every HTTP login's path (a Kerberos
 * AP-REQ is about 1.5 KB of base64) and the pure Lua codec cost tens of
 * microseconds per login; the Lua layer (sspi.base) calls this one.
 */
#include <string.h>

#include "internal.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t sspi_base64_encoded_size(size_t n)
{
    return (n + 2) / 3 * 4;
}

void sspi_base64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = alphabet[(v >> 6) & 63];
        *out++ = alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
}

/* The value of one character, or -1; base64url's two only when lenient. */
static int value_of(unsigned char c, int lenient)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || (lenient && c == '-'))
        return 62;
    if (c == '/' || (lenient && c == '_'))
        return 63;
    return -1;
}

const char *sspi_base64_decode(const char *in, size_t n, int lenient, unsigned char *out,
                               size_t *out_len)
{
    size_t body = n, pad = 0, i, o = 0;
    uint32_t v = 0;
    int bits = 0;
    while (body > 0 && in[body - 1] == '=') {
        body--;
        pad++;
    }
    *out_len = 0;
    for (i = 0; i < body; i++) {
        int d = value_of((unsigned char)in[i], lenient);
        if (d < 0)
            return "invalid base64: unexpected character";
        v = (v << 6) | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(v >> bits);
            v &= (1u << bits) - 1;
        }
    }
    if (!lenient && (body % 4 == 1 || pad > 2 || (pad > 0 && n % 4 != 0)))
        return "invalid base64: bad length or padding";
    if (lenient && body % 4 == 1)
        return "invalid base64: bad length or padding";
    if (!lenient && v != 0)
        return "invalid base64: non-zero trailing bits";
    *out_len = o;
    return NULL;
}
