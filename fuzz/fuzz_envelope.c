/*
 * fuzz_envelope.c - the envelope of exported blobs (sspi_envelope_read),
 * the parser every byte of sspi.import_context / sspi.import_credential
 * goes through before a mechanism sees it.
 *
 * Invariants: a refusal says why; an accepted blob has its payload inside
 * the input and names of printable bytes; the format is canonical, so
 * writing the parsed envelope again gives the input back byte for byte.
 * Then the same input goes through the public import functions: whatever
 * the envelope refuses, they refuse with the same status.  Random bytes
 * almost never carry a right digest, so each input is parsed a second time
 * with its last 32 bytes replaced by the right one: that reaches the body's
 * parser (names, fixed fields, payload length) with any body.
 *
 * The payload parsers of the built-in packages (ntlm_export.c,
 * negotiate_export.c) are ours, so a digest-fixed context blob of NTLM or
 * Negotiate (builtin) goes on into sspi_context_import: refused with
 * SEC_E_INVALID_TOKEN and a message, or imported as a complete context that
 * exports again.  A Negotiate payload holds a whole inner envelope: its
 * digest is fixed too (when the payload's layout finds one), so NTLM's
 * parser is reached through Negotiate's.  MIT's bytes (Kerberos) are never
 * fed edited: an inner Kerberos blob only imports with its own right digest.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "core/internal.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_parse(const uint8_t *data, size_t size, int try_import);
static void check_builtin_import(const uint8_t *data, size_t size);
static int is_builtin(const sspi_envelope *e, const char *package);

/* Replaces the last 32 bytes of blob by the SHA-256 of the rest. */
static int fix_digest(unsigned char *blob, size_t size)
{
    unsigned int n = 0;
    return size >= 48 &&
           EVP_Digest(blob, size - 32, blob + size - 32, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

static int is_builtin(const sspi_envelope *e, const char *package)
{
    return e->kind == SSPI_ENVELOPE_CONTEXT && strcasecmp(e->package, package) == 0 &&
           strcasecmp(e->backend, "builtin") == 0;
}

/* A Negotiate payload: version, bits, 0 0, flags 4, OID length + OID, then
 * the inner blob's length and the inner blob, whose digest this fixes when
 * it is built-in NTLM's. */
static void fix_inner_digest(unsigned char *blob, size_t size)
{
    sspi_envelope e, ie;
    sspi_error err;
    unsigned char *p, *inner, saved[32];
    size_t oid_len, inner_len;
    if (sspi_envelope_read(blob, size, &e, &err) != SEC_E_OK || !is_builtin(&e, "Negotiate") ||
        e.payload_len < 9)
        return;
    p = blob + (e.payload - blob);
    oid_len = p[8];
    if (e.payload_len - 9 < oid_len + 4)
        return;
    inner_len = sspi_get_be32(p + 9 + oid_len);
    inner = p + 13 + oid_len;
    if (inner_len != e.payload_len - 9 - oid_len - 4 || inner_len < 48)
        return;
    memcpy(saved, inner + inner_len - 32, 32);
    if (!fix_digest(inner, inner_len))
        return;
    /* Only our own parser gets edited bytes: an inner blob of another
     * package (MIT's) keeps the digest it came with. */
    if (sspi_envelope_read(inner, inner_len, &ie, &err) != SEC_E_OK || !is_builtin(&ie, "NTLM"))
        memcpy(inner + inner_len - 32, saved, 32);
    fix_digest(blob, size); /* the outer digest covers the inner one */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *fixed;
    check_parse(data, size, 1);
    if (size < 48)
        return 0;
    fixed = malloc(size);
    if (fixed == NULL)
        return 0;
    memcpy(fixed, data, size);
    if (fix_digest(fixed, size)) {
        fix_inner_digest(fixed, size);
        check_parse(fixed, size, 0);
    }
    free(fixed);
    return 0;
}

/* A digest-fixed context blob of a built-in package through the public
 * import: a clear refusal, or a complete context that exports again. */
static void check_builtin_import(const uint8_t *data, size_t size)
{
    sspi_context *ctx = NULL;
    sspi_buffer again;
    sspi_error err;
    sspi_attr_value v;
    const unsigned char *out = NULL;
    size_t out_len = 0;
    sspi_status st = sspi_context_import(data, size, NULL, &ctx, &err);
    if (st != SEC_E_OK) {
        FUZZ_CHECK(ctx == NULL, "a refused import returned a context");
        FUZZ_CHECK(err.message[0], "a refused import without a message");
        FUZZ_CHECK(st == SEC_E_INVALID_TOKEN || st == SEC_E_SECPKG_NOT_FOUND,
                   "import refused with 0x%08x: %s", (unsigned)st, err.message);
        return;
    }
    FUZZ_CHECK(sspi_context_get_state(ctx) == SSPI_CTX_COMPLETE, "an import not complete");
    FUZZ_CHECK(sspi_query(ctx, SSPI_ATTR_NAMES, &v, &err) == SEC_E_OK,
               "an imported context without names: %s", err.message);
    memset(&again, 0, sizeof again);
    FUZZ_CHECK(sspi_context_export(ctx, NULL, &again, &err) == SEC_E_OK,
               "an imported context does not export again: %s", err.message);
    sspi_buffer_release(NULL, &again);
    /* moved: the old context must never seal again (key stream reuse) */
    FUZZ_CHECK(sspi_wrap(ctx, 1, (const unsigned char *)"x", 1, &out, &out_len, &err) ==
                   SEC_E_INVALID_HANDLE,
               "an exported context still wraps");
    sspi_context_free(&ctx);
}

/* try_import: also through the public import functions (only for inputs
 * whose digest is not forged: past the envelope, the bytes are MIT's). */
static void check_parse(const uint8_t *data, size_t size, int try_import)
{
    sspi_envelope e;
    sspi_error err;
    sspi_bytes again;
    sspi_context *ctx = NULL;
    sspi_credential *cred = NULL;
    sspi_status st = sspi_envelope_read(data, size, &e, &err);

    if (st != SEC_E_OK) {
        FUZZ_CHECK(err.message[0], "a refusal without a message");
        FUZZ_CHECK(st == SEC_E_INVALID_TOKEN, "refused with 0x%08x", (unsigned)st);
        if (!try_import)
            return;
        FUZZ_CHECK(sspi_context_import(data, size, NULL, &ctx, &err) == st && ctx == NULL,
                   "import_context accepts what the envelope refuses");
        FUZZ_CHECK(sspi_credential_import(data, size, NULL, &cred, &err) == st && cred == NULL,
                   "import_credential accepts what the envelope refuses");
        return;
    }
    FUZZ_CHECK(e.payload >= data && e.payload_len <= size &&
                   (size_t)(e.payload - data) <= size - e.payload_len,
               "the payload is outside the input");
    FUZZ_CHECK(strlen(e.package) <= SSPI_ENVELOPE_NAME_MAX &&
                   strlen(e.backend) <= SSPI_ENVELOPE_NAME_MAX,
               "a name too long");
    sspi_bytes_init(&again, NULL);
    FUZZ_CHECK(sspi_envelope_write(&e, &again, &err) == SEC_E_OK, "cannot write back: %s",
               err.message);
    FUZZ_CHECK(again.len == size && memcmp(again.data, data, size) == 0,
               "write(read(blob)) differs from the blob");
    sspi_bytes_free(&again);
    if (!try_import && (is_builtin(&e, "NTLM") || is_builtin(&e, "Negotiate")))
        check_builtin_import(data, size);
}
