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
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/internal.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_parse(const uint8_t *data, size_t size, int try_import);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *fixed;
    unsigned int n = 0;
    check_parse(data, size, 1);
    if (size < 48)
        return 0;
    fixed = malloc(size);
    if (fixed == NULL)
        return 0;
    memcpy(fixed, data, size);
    if (EVP_Digest(fixed, size - 32, fixed + size - 32, &n, EVP_sha256(), NULL) == 1 && n == 32)
        check_parse(fixed, size, 0);
    free(fixed);
    return 0;
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
}
