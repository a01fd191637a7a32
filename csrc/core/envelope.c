/*
 * envelope.c - the versioned envelope around every exported blob (a context
 * or a credential handed to another process).
 *
 * What a mechanism exports (MIT's gss_export_sec_context, gss_export_cred)
 * carries no integrity check of its own: edited bytes import silently or
 * crash the importer.  So nothing reaches a provider's import until the
 * envelope has checked the magic, the version, every length and a SHA-256
 * digest over all of it.  The digest catches truncation and accidental
 * damage; it is not a MAC (there is no key both processes share), so a blob
 * must travel and rest as the secret it is.
 *
 * Layout (integers big-endian):
 *   "SSPIBLOB"  8   magic
 *   version     1   SSPI_ENVELOPE_VERSION
 *   kind        1   SSPI_ENVELOPE_CONTEXT | SSPI_ENVELOPE_CREDENTIAL
 *   reserved    2   zero
 *   body length 4   N
 *   body        N   package (1-byte length + name), backend (same), side,
 *                   context_req 4, ret_flags 4, expiry 8, payload (4-byte
 *                   length + bytes); nothing after the payload
 *   digest      32  SHA-256 of everything before it
 */
#include <string.h>

#include <openssl/evp.h>

#include "internal.h"

static const unsigned char magic[8] = {'S', 'S', 'P', 'I', 'B', 'L', 'O', 'B'};

#define HEADER 16
#define DIGEST 32
#define MAX_PAYLOAD (16u * 1024u * 1024u)

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int sha256(const unsigned char *p, size_t n, unsigned char out[DIGEST])
{
    unsigned int len = 0;
    return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == DIGEST ? 0 : -1;
}

static int put_name(sspi_bytes *b, const char *name)
{
    size_t n = name ? strlen(name) : 0;
    unsigned char len = (unsigned char)n;
    if (n > SSPI_ENVELOPE_NAME_MAX)
        return -1;
    return sspi_bytes_append(b, &len, 1) != 0 || (n && sspi_bytes_append(b, name, n) != 0) ? -1
                                                                                           : 0;
}

sspi_status sspi_envelope_write(const sspi_envelope *e, sspi_bytes *out, sspi_error *err)
{
    unsigned char head[HEADER], fixed[17], len4[4], digest[DIGEST];
    uint64_t expiry = (uint64_t)e->expiry;
    size_t body;
    int i;

    if (e->payload_len > MAX_PAYLOAD)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "export: %zu bytes is too large",
                              e->payload_len);
    out->len = 0;
    memcpy(head, magic, 8);
    head[8] = SSPI_ENVELOPE_VERSION;
    head[9] = e->kind;
    head[10] = head[11] = 0;
    if (sspi_bytes_append(out, head, HEADER) != 0 || put_name(out, e->package) != 0 ||
        put_name(out, e->backend) != 0)
        goto oom;
    fixed[0] = e->side;
    put32(fixed + 1, e->context_req);
    put32(fixed + 5, e->ret_flags);
    for (i = 0; i < 8; i++)
        fixed[9 + i] = (unsigned char)(expiry >> (56 - 8 * i));
    put32(len4, (uint32_t)e->payload_len);
    if (sspi_bytes_append(out, fixed, sizeof fixed) != 0 ||
        sspi_bytes_append(out, len4, 4) != 0 ||
        (e->payload_len && sspi_bytes_append(out, e->payload, e->payload_len) != 0))
        goto oom;
    body = out->len - HEADER;
    put32(out->data + 12, (uint32_t)body);
    if (sha256(out->data, out->len, digest) != 0) {
        sspi_bytes_free(out);
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "export: SHA-256 failed");
    }
    if (sspi_bytes_append(out, digest, DIGEST) != 0)
        goto oom;
    return SEC_E_OK;
oom:
    sspi_bytes_free(out);
    return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "export: out of memory");
}

static sspi_status bad(sspi_error *err, const char *why)
{
    return sspi_error_set(err, SEC_E_INVALID_TOKEN, "import: not an intact sspi blob (%s)", why);
}

/* A 1-byte length and that many bytes of printable name. */
static int get_name(const unsigned char **p, const unsigned char *end, char *dst)
{
    size_t n, i;
    if (*p >= end)
        return -1;
    n = **p;
    if (n > SSPI_ENVELOPE_NAME_MAX || (size_t)(end - *p - 1) < n)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned char c = (*p)[1 + i];
        if (c < 0x21 || c > 0x7e)
            return -1;
        dst[i] = (char)c;
    }
    dst[n] = '\0';
    *p += 1 + n;
    return 0;
}

sspi_status sspi_envelope_read(const unsigned char *blob, size_t len, sspi_envelope *e,
                               sspi_error *err)
{
    unsigned char digest[DIGEST];
    const unsigned char *p, *end;
    uint64_t expiry = 0;
    size_t body;
    int i;

    memset(e, 0, sizeof *e);
    if (blob == NULL || len < HEADER + DIGEST)
        return bad(err, "too short");
    if (memcmp(blob, magic, 8) != 0)
        return bad(err, "no SSPIBLOB magic");
    if (blob[8] != SSPI_ENVELOPE_VERSION)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "import: blob version %u, this library reads version %u",
                              (unsigned)blob[8], (unsigned)SSPI_ENVELOPE_VERSION);
    if (blob[9] != SSPI_ENVELOPE_CONTEXT && blob[9] != SSPI_ENVELOPE_CREDENTIAL)
        return bad(err, "unknown kind");
    if (blob[10] != 0 || blob[11] != 0)
        return bad(err, "reserved bytes set");
    body = get32(blob + 12);
    if (body > len - HEADER - DIGEST || HEADER + body + DIGEST != len)
        return bad(err, "its length does not match: truncated or extended");
    if (sha256(blob, HEADER + body, digest) != 0)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "import: SHA-256 failed");
    if (sspi_ct_memcmp(digest, blob + HEADER + body, DIGEST) != 0)
        return bad(err, "the digest does not match: the bytes were changed");
    e->kind = blob[9];
    p = blob + HEADER;
    end = p + body;
    if (get_name(&p, end, e->package) != 0 || get_name(&p, end, e->backend) != 0)
        return bad(err, "bad package or backend name");
    if ((size_t)(end - p) < 21)
        return bad(err, "short body");
    e->side = p[0];
    e->context_req = get32(p + 1);
    e->ret_flags = get32(p + 5);
    for (i = 0; i < 8; i++)
        expiry = (expiry << 8) | p[9 + i];
    e->expiry = (int64_t)expiry;
    e->payload_len = get32(p + 17);
    p += 21;
    if (e->payload_len != (size_t)(end - p))
        return bad(err, "the payload length does not match the body");
    e->payload = p;
    return SEC_E_OK;
}
