/*
 * spnego_der.c - strict DER reading and writing for SPNEGO (see
 * spnego_der.h for the rules it enforces).
 */
#include <string.h>

#include "spnego_der.h"

sspi_der sspi_der_view(const unsigned char *p, size_t len)
{
    sspi_der d;
    d.p = p;
    d.len = p ? len : 0;
    return d;
}

int sspi_der_peek(const sspi_der *in)
{
    if (in == NULL || in->len == 0)
        return -1;
    return in->p[0];
}

sspi_status sspi_der_read(sspi_der *in, unsigned tag, sspi_der *content, sspi_der *whole,
                          const char **why)
{
    const unsigned char *p = in->p;
    size_t left = in->len;
    size_t len, hdr;

    if (left == 0) {
        *why = "element missing: the token ends early";
        return SEC_E_INVALID_TOKEN;
    }
    if ((p[0] & 0x1Fu) == 0x1Fu) {
        *why = "high tag numbers do not occur in SPNEGO";
        return SEC_E_INVALID_TOKEN;
    }
    if (p[0] != tag) {
        *why = "unexpected tag";
        return SEC_E_INVALID_TOKEN;
    }
    if (left < 2) {
        *why = "element header truncated";
        return SEC_E_INVALID_TOKEN;
    }
    if (p[1] < 0x80u) {
        len = p[1];
        hdr = 2;
    } else {
        size_t n = p[1] & 0x7Fu, i;
        if (n == 0) {
            *why = "indefinite length is not DER";
            return SEC_E_INVALID_TOKEN;
        }
        if (n > 3) {
            /* 0xFF is reserved; four or more length bytes exceed SSPI_DER_MAX_LEN. */
            *why = "element length too large";
            return SEC_E_INVALID_TOKEN;
        }
        if (left < 2 + n) {
            *why = "element length truncated";
            return SEC_E_INVALID_TOKEN;
        }
        if (p[2] == 0) {
            *why = "length with a leading zero byte is not DER";
            return SEC_E_INVALID_TOKEN;
        }
        len = 0;
        for (i = 0; i < n; i++)
            len = (len << 8) | p[2 + i];
        if (len < 0x80u) {
            *why = "long-form length where the short form fits is not DER";
            return SEC_E_INVALID_TOKEN;
        }
        hdr = 2 + n;
    }
    if (len > left - hdr) {
        *why = "element length runs past the end of the token";
        return SEC_E_INVALID_TOKEN;
    }
    content->p = p + hdr;
    content->len = len;
    if (whole) {
        whole->p = p;
        whole->len = hdr + len;
    }
    in->p = p + hdr + len;
    in->len = left - hdr - len;
    return SEC_E_OK;
}

sspi_status sspi_der_check_oid(const sspi_der *oid, const char **why)
{
    size_t i;
    int start = 1; /* at the first byte of a sub-identifier */
    if (oid->len == 0) {
        *why = "empty object identifier";
        return SEC_E_INVALID_TOKEN;
    }
    for (i = 0; i < oid->len; i++) {
        if (start && oid->p[i] == 0x80u) {
            *why = "object identifier with a non-minimal sub-identifier";
            return SEC_E_INVALID_TOKEN;
        }
        start = (oid->p[i] & 0x80u) == 0;
    }
    if (!start) {
        *why = "object identifier with an unterminated sub-identifier";
        return SEC_E_INVALID_TOKEN;
    }
    return SEC_E_OK;
}

size_t sspi_der_header_size(size_t content_len)
{
    if (content_len < 0x80u)
        return 2;
    if (content_len <= 0xFFu)
        return 3;
    if (content_len <= 0xFFFFu)
        return 4;
    return 5;
}

size_t sspi_der_element_size(size_t content_len)
{
    return sspi_der_header_size(content_len) + content_len;
}

int sspi_der_put_header(sspi_bytes *out, unsigned tag, size_t content_len)
{
    unsigned char h[5];
    size_t n = 0;
    if (content_len > SSPI_DER_MAX_LEN)
        return -1;
    h[n++] = (unsigned char)tag;
    if (content_len < 0x80u) {
        h[n++] = (unsigned char)content_len;
    } else if (content_len <= 0xFFu) {
        h[n++] = 0x81;
        h[n++] = (unsigned char)content_len;
    } else if (content_len <= 0xFFFFu) {
        h[n++] = 0x82;
        h[n++] = (unsigned char)(content_len >> 8);
        h[n++] = (unsigned char)content_len;
    } else {
        h[n++] = 0x83;
        h[n++] = (unsigned char)(content_len >> 16);
        h[n++] = (unsigned char)(content_len >> 8);
        h[n++] = (unsigned char)content_len;
    }
    return sspi_bytes_append(out, h, n);
}

int sspi_der_put_element(sspi_bytes *out, unsigned tag, const unsigned char *data, size_t len)
{
    if (sspi_der_put_header(out, tag, len) != 0)
        return -1;
    return sspi_bytes_append(out, data, len);
}
