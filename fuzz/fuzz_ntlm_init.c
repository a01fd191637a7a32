/*
 * fuzz_ntlm_init.c - the built-in NTLM initiator processing a CHALLENGE,
 * after sending its real NEGOTIATE.
 *
 * Input: one configuration byte, then the CHALLENGE.
 *   bits 0-2  the client's LM_COMPAT_LEVEL (mod 6): LM/NTLMv1, ESS, NTLMv2
 *   bit 3     ISC_REQ_CONFIDENTIALITY (else integrity only)
 *   bit 4     ISC_REQ_NULL_SESSION (anonymous)
 *   bit 5     channel bindings given
 *   bit 6     no target name
 *   bit 7     ISC_REQ_IDENTIFY
 *
 * Invariants: a refusal is SEC_E_INVALID_TOKEN with a message and fails
 * the context; an acceptance completes it and its AUTHENTICATE is a
 * message our own parser accepts, within NTLM's cbMaxToken.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "providers/ntlm/ntlm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sspi_credential *initiators[6];
static unsigned char bindings[SSPI_FUZZ_BINDINGS_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int lm;
    (void)argc;
    (void)argv;
    for (lm = 0; lm < 6; lm++)
        initiators[lm] = sspi_fuzz_cred("NTLM", SSPI_CRED_OUTBOUND, lm, FUZZ_STORE_LOOKUP);
    sspi_fuzz_bindings(bindings);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sspi_context *ctx = NULL;
    sspi_fuzz_token neg = {NULL, 0}, auth = {NULL, 0};
    const char *target;
    unsigned char *msg;
    uint32_t req;
    sspi_error err;
    sspi_status st;
    if (size < 1)
        return 0;
    target = (data[0] & 0x40) ? NULL : FUZZ_TARGET;
    req = ISC_REQ_CONNECTION | ((data[0] & 0x08) ? FUZZ_ISC_REQ : ISC_REQ_INTEGRITY) |
          ((data[0] & 0x10) ? ISC_REQ_NULL_SESSION : 0) |
          ((data[0] & 0x80) ? ISC_REQ_IDENTIFY : 0);
    if (sspi_context_new(initiators[(data[0] & 7) % 6], &ctx, &err) != SEC_E_OK)
        sspi_fuzz_die("new context: %s", err.message);
    st = sspi_fuzz_step(ctx, 1, req, target, NULL, 0, NULL, 0, &neg, NULL);
    FUZZ_CHECK(st == SEC_I_CONTINUE_NEEDED, "no NEGOTIATE: 0x%08x", (unsigned)st);

    size -= 1;
    msg = malloc(size ? size : 1);
    if (msg == NULL)
        return 0;
    memcpy(msg, data + 1, size);
    st = sspi_fuzz_step(ctx, 1, req, target, msg, size, (data[0] & 0x20) ? bindings : NULL,
                        sizeof bindings, &auth, NULL);
    if (st == SEC_E_OK) {
        sspi_ntlm_authenticate m;
        sspi_attr_value v;
        FUZZ_CHECK(sspi_context_get_state(ctx) == SSPI_CTX_COMPLETE, "OK but not complete");
        FUZZ_CHECK(auth.len > 0 && auth.len <= NTLM_MAX_TOKEN, "AUTHENTICATE of %zu bytes",
                   auth.len);
        FUZZ_CHECK(sspi_ntlm_parse_authenticate(auth.data, auth.len, &m, &err) == SEC_E_OK,
                   "our own AUTHENTICATE does not parse: %s", err.message);
        memset(&v, 0, sizeof v);
        FUZZ_CHECK(sspi_query(ctx, SSPI_ATTR_NATIVE_NAMES, &v, &err) == SEC_E_OK,
                   "no names: %s", err.message);
    } else {
        /* UNSUPPORTED_FUNCTION: signing or sealing offered without 128-bit keys */
        FUZZ_CHECK(st == SEC_E_INVALID_TOKEN || st == SEC_E_UNSUPPORTED_FUNCTION,
                   "CHALLENGE answered with 0x%08x (%s)",
                   (unsigned)st, sspi_status_name(st));
        FUZZ_CHECK(sspi_context_get_state(ctx) == SSPI_CTX_FAILED, "refused but not failed");
    }
    free(msg);
    sspi_fuzz_token_free(&neg);
    sspi_fuzz_token_free(&auth);
    sspi_context_free(&ctx);
    return 0;
}
