/*
 * fuzz_channel_bindings.c - the SEC_CHANNEL_BINDINGS parser
 * (sspi_channel_bindings_parse) and the NTLM hash over it.
 *
 * A parsed structure points inside the input; writing it out again and
 * parsing that gives the same fields (the serialised form is canonical up
 * to offsets); the NTLM MsvAvChannelBindings hash of input and rewrite
 * agree, since it hashes fields, not layout.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "providers/ntlm/ntlm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    sspi_error err;
    (void)argc;
    (void)argv;
    /* The hash needs NTLM's crypto, loaded when an NTLM credential is made. */
    if (sspi_ntlm_crypto_ready(&err) != SEC_E_OK)
        sspi_fuzz_die("NTLM crypto: %s", err.message);
    return 0;
}

static int inside(const unsigned char *p, size_t n, const uint8_t *data, size_t size)
{
    if (n == 0)
        return p == NULL;
    return p >= data + SSPI_CHANNEL_BINDINGS_HEADER && p <= data + size &&
           n <= (size_t)(data + size - p);
}

static int same(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sspi_channel_bindings cb, again;
    unsigned char *out, h1[16], h2[16];
    sspi_error err;
    size_t n;
    sspi_status st1, st2;

    if (sspi_channel_bindings_parse(data, size, &cb, &err) != SEC_E_OK) {
        FUZZ_CHECK(err.message[0], "a refusal without a message");
        FUZZ_CHECK(sspi_ntlm_bindings_hash(data, size, h1, &err) != SEC_E_OK,
                   "NTLM hashes bindings the parser refuses");
        return 0;
    }
    FUZZ_CHECK(inside(cb.initiator_address, cb.initiator_length, data, size) &&
                   inside(cb.acceptor_address, cb.acceptor_length, data, size) &&
                   inside(cb.application_data, cb.application_length, data, size),
               "a field outside the input");
    n = sspi_channel_bindings_size(&cb);
    FUZZ_CHECK(n >= SSPI_CHANNEL_BINDINGS_HEADER && n <= SSPI_CHANNEL_BINDINGS_HEADER + 3 * size,
               "size %zu for %zu bytes of input", n, size);
    out = malloc(n);
    if (out == NULL)
        return 0;
    sspi_channel_bindings_write(&cb, out);
    FUZZ_CHECK(sspi_channel_bindings_parse(out, n, &again, &err) == SEC_E_OK,
               "our own serialisation does not parse: %s", err.message);
    FUZZ_CHECK(again.initiator_addrtype == cb.initiator_addrtype &&
                   again.acceptor_addrtype == cb.acceptor_addrtype &&
                   same(again.initiator_address, again.initiator_length, cb.initiator_address,
                        cb.initiator_length) &&
                   same(again.acceptor_address, again.acceptor_length, cb.acceptor_address,
                        cb.acceptor_length) &&
                   same(again.application_data, again.application_length, cb.application_data,
                        cb.application_length),
               "write then parse changed the bindings");
    st1 = sspi_ntlm_bindings_hash(data, size, h1, &err);
    st2 = sspi_ntlm_bindings_hash(out, n, h2, &err);
    FUZZ_CHECK(st1 == SEC_E_OK && st2 == SEC_E_OK && memcmp(h1, h2, 16) == 0,
               "the NTLM bindings hash depends on the layout");
    free(out);
    return 0;
}
