/*
 * spnego_der.h - the small strict DER reader and writer the SPNEGO messages
 * need (X.690 distinguished encoding, single-byte tags, definite lengths).
 *
 * The reader never allocates and never recurses: a caller walks a fixed
 * structure one level at a time, so a token cannot drive it deeper than
 * the code is written.  Every length is checked against what is left
 * before anything is read.  Only what DER allows is accepted: no
 * indefinite lengths, no long form where the short one fits, no leading
 * zero length bytes, no high tag numbers.
 */
#ifndef SSPI_NEGOTIATE_SPNEGO_DER_H
#define SSPI_NEGOTIATE_SPNEGO_DER_H

#include "../../core/internal.h"

/* The largest content length the reader or writer handles.  SPNEGO tokens
 * carry Kerberos tickets (tens of KiB with a PAC); 16 MiB is far above any
 * real token and keeps every size sum below SIZE_MAX on 32-bit hosts. */
#define SSPI_DER_MAX_LEN 0x00FFFFFFu

/* Universal and context tags used by SPNEGO. */
#define SSPI_DER_BIT_STRING     0x03u
#define SSPI_DER_OCTET_STRING   0x04u
#define SSPI_DER_OID            0x06u
#define SSPI_DER_ENUMERATED     0x0Au
#define SSPI_DER_GENERAL_STRING 0x1Bu
#define SSPI_DER_SEQUENCE       0x30u
#define SSPI_DER_APPLICATION0   0x60u /* [APPLICATION 0] constructed: GSS framing */
#define SSPI_DER_CONTEXT(n)     (0xA0u | (unsigned)(n)) /* [n] constructed */

/* A window of bytes still to read (or one element's content). */
typedef struct sspi_der {
    const unsigned char *p;
    size_t len;
} sspi_der;

/* A window over len bytes at p. */
SSPI_INTERNAL sspi_der sspi_der_view(const unsigned char *p, size_t len);

/* The identifier octet at the front of in, or -1 when in is empty. */
SSPI_INTERNAL int sspi_der_peek(const sspi_der *in);

/* Reads one element with identifier `tag` from the front of in: on success
 * *content is its content, *whole (when not NULL) the element with its
 * header, and in moves past it.  On failure in is unchanged and *why (a
 * static string) says what was wrong.  Returns SEC_E_OK or
 * SEC_E_INVALID_TOKEN. */
SSPI_INTERNAL sspi_status sspi_der_read(sspi_der *in, unsigned tag, sspi_der *content,
                                        sspi_der *whole, const char **why);

/* Checks an OBJECT IDENTIFIER's content: not empty, every sub-identifier
 * minimally encoded and terminated. */
SSPI_INTERNAL sspi_status sspi_der_check_oid(const sspi_der *oid, const char **why);

/* Bytes of a header (identifier + length octets) for content_len. */
SSPI_INTERNAL size_t sspi_der_header_size(size_t content_len);
/* Bytes of a whole element with content_len bytes of content. */
SSPI_INTERNAL size_t sspi_der_element_size(size_t content_len);
/* Appends an identifier and a DER length; 0 ok, -1 out of memory or a
 * length above SSPI_DER_MAX_LEN. */
SSPI_INTERNAL int sspi_der_put_header(sspi_bytes *out, unsigned tag, size_t content_len);
/* Appends a whole primitive element (header + bytes). */
SSPI_INTERNAL int sspi_der_put_element(sspi_bytes *out, unsigned tag, const unsigned char *data,
                                       size_t len);

#endif /* SSPI_NEGOTIATE_SPNEGO_DER_H */
