/*
 * ntlm_text.c - NTLM's strings: UTF-8 at the API, UTF-16LE on the wire
 * (or OEM bytes, taken as Latin-1, for peers without UNICODE), and the
 * upper-casing of user names that NTOWFv2 needs.
 *
 * Upper-casing follows Windows' RtlUpcaseUnicodeString: one UTF-16 code
 * unit at a time, surrogates untouched.  The case table is the C library's
 * (towupper_l on a "C.UTF-8" locale made once, never the process locale,
 * which belongs to the host); ASCII folding when that locale is missing.
 */
#include <locale.h>
#include <pthread.h>
#include <string.h>
#include <wctype.h>

#include "ntlm.h"

static locale_t utf8_locale = (locale_t)0; /* written once under pthread_once */
static pthread_once_t locale_once = PTHREAD_ONCE_INIT;

static void load_locale(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static uint32_t upper(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') ? cp - 32 : cp;
    if (cp >= 0x10000 || (cp >= 0xD800 && cp <= 0xDFFF))
        return cp;
    pthread_once(&locale_once, load_locale);
    if (utf8_locale == (locale_t)0)
        return cp;
    return (uint32_t)towupper_l((wint_t)cp, utf8_locale);
}

/* Decodes one code point; returns bytes used, 0 on invalid UTF-8 (overlong
 * forms, surrogates and values past U+10FFFF included). */
static size_t decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    uint32_t c;
    size_t len, i;
    if (n == 0)
        return 0;
    c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2;
        c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        c &= 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
        c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

int sspi_ntlm_utf16(const sspi_allocator *a, const char *s, size_t len, int up,
                    unsigned char **out, size_t *outlen)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, units = 0, o = 0;
    unsigned char *buf;
    uint32_t cp;
    *out = NULL;
    *outlen = 0;
    while (i < len) { /* first pass: validate and count */
        size_t k = decode(p + i, len - i, &cp);
        if (k == 0)
            return -1;
        units += cp >= 0x10000 ? 2 : 1;
        i += k;
    }
    buf = sspi_mem_alloc(a, units * 2);
    if (buf == NULL)
        return -2;
    for (i = 0; i < len;) {
        i += decode(p + i, len - i, &cp);
        if (up)
            cp = upper(cp);
        if (cp >= 0x10000) {
            uint32_t v = cp - 0x10000;
            sspi_ntlm_put_le16(buf + o, (uint16_t)(0xD800 | (v >> 10)));
            sspi_ntlm_put_le16(buf + o + 2, (uint16_t)(0xDC00 | (v & 0x3FF)));
            o += 4;
        } else {
            sspi_ntlm_put_le16(buf + o, (uint16_t)cp);
            o += 2;
        }
    }
    *out = buf;
    *outlen = units * 2;
    return 0;
}

void sspi_ntlm_free(const sspi_allocator *a, unsigned char **p, size_t len)
{
    if (p && *p) {
        sspi_mem_free(a, *p, len ? len : 1);
        *p = NULL;
    }
}

static size_t encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int sspi_ntlm_utf8(const sspi_allocator *a, const unsigned char *in, size_t len, int oem,
                   char **out)
{
    /* Each UTF-16 unit gives at most 3 bytes (a pair gives 4 for 2 units);
     * each Latin-1 byte at most 2. */
    size_t cap = (oem ? len * 2 : (len / 2) * 3) + 1, o = 0, i;
    char *s;
    *out = NULL;
    if (!oem && (len & 1))
        return -1;
    s = sspi_mem_alloc(a, cap);
    if (s == NULL)
        return -2;
    if (oem) {
        for (i = 0; i < len; i++) {
            if (in[i] == 0)
                goto bad; /* an embedded NUL would cut the name short */
            o += encode(in[i], s + o);
        }
    } else {
        for (i = 0; i < len; i += 2) {
            uint32_t u = sspi_ntlm_get_le16(in + i);
            if (u >= 0xD800 && u <= 0xDBFF) {
                uint32_t lo;
                if (i + 4 > len)
                    goto bad;
                lo = sspi_ntlm_get_le16(in + i + 2);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    goto bad;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            } else if (u >= 0xDC00 && u <= 0xDFFF) {
                goto bad;
            }
            if (u == 0)
                goto bad; /* an embedded NUL would cut the name short */
            o += encode(u, s + o);
        }
    }
    s[o] = '\0';
    /* Keep the block's size derivable (strlen + 1) for sspi_mem_strfree. */
    if (o + 1 != cap) {
        char *fit = sspi_mem_alloc(a, o + 1);
        if (fit == NULL) {
            sspi_mem_free(a, s, cap);
            return -2;
        }
        memcpy(fit, s, o + 1);
        sspi_mem_free(a, s, cap);
        s = fit;
    }
    *out = s;
    return 0;
bad:
    sspi_mem_free(a, s, cap);
    return -1;
}

int sspi_ntlm_name_equal(const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    size_t n = strlen(a), m = strlen(b);
    while (n > 0 && m > 0) {
        uint32_t x, y;
        size_t k = decode(p, n, &x), l = decode(q, m, &y);
        if (k == 0 || l == 0)
            return 0;
        if (upper(x) != upper(y))
            return 0;
        p += k;
        n -= k;
        q += l;
        m -= l;
    }
    return n == 0 && m == 0;
}
