/*
 * fuzz_negotiate_init.c - the built-in Negotiate (SPNEGO) initiator, with
 * the built-in NTLM inside (no KDC needed).
 *
 * Input: one configuration byte, then the payload.
 *   bits 0-1  mode:
 *             0  the payload is the acceptor's first reply (after our
 *                NegTokenInit with an optimistic NTLM NEGOTIATE)
 *             1  a real acceptor's first reply, then the payload as its
 *                final token (accept-completed and mechListMIC)
 *             2  a real exchange whose acceptor tokens get the payload's
 *                edits (sspi_fuzz_mutate ops; the first op's position byte
 *                also picks the leg); unedited, it must complete
 *             3  the payload is the acceptor's NegTokenInit2 (it spoke
 *                first), answered by our first step
 *   bit 2     channel bindings
 *   bit 3     ISC_REQ_INTEGRITY only (no confidentiality)
 *
 * Invariants as for the acceptor: refusals are security statuses with a
 * message that fail the context; an unedited exchange completes.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sspi_credential *server_cred, *client_cred;
static unsigned char bindings[SSPI_FUZZ_BINDINGS_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    server_cred = sspi_fuzz_cred("Negotiate", SSPI_CRED_INBOUND, 3, FUZZ_STORE_LOOKUP);
    client_cred = sspi_fuzz_cred("Negotiate", SSPI_CRED_OUTBOUND, 3, FUZZ_STORE_LOOKUP);
    sspi_fuzz_bindings(bindings);
    return 0;
}

static sspi_status initiate(sspi_context *c, uint32_t req, const unsigned char *cb,
                            const unsigned char *tok, size_t len, sspi_fuzz_token *out)
{
    sspi_status st =
        sspi_fuzz_step(c, 1, req, FUZZ_TARGET, tok, len, cb, sizeof bindings, out, NULL);
    if (!SSPI_SUCCESS(st)) {
        FUZZ_CHECK(sspi_fuzz_clean_refusal(st), "initiator step: 0x%08x (%s)", (unsigned)st,
                   sspi_status_name(st));
        FUZZ_CHECK(sspi_context_get_state(c) == SSPI_CTX_FAILED, "refused but not failed");
    }
    return st;
}

/* Modes 1 and 2: a real exchange; the acceptor's token of leg `fuzz_leg`
 * is replaced by the payload (mode 1) or edited by it (mode 2). */
static void exchange(int mode, uint32_t req, const unsigned char *cb, const uint8_t *payload,
                     size_t len)
{
    sspi_context *c = NULL, *s = NULL;
    sspi_fuzz_token tok = {NULL, 0}, back = {NULL, 0};
    sspi_status cst, sst = SEC_I_CONTINUE_NEEDED;
    sspi_error err;
    size_t edited = 0;
    int leg, target_leg = mode == 1 ? 1 : (len ? payload[0] & 1 : -1);
    if (sspi_context_new(client_cred, &c, &err) != SEC_E_OK ||
        sspi_context_new(server_cred, &s, &err) != SEC_E_OK)
        sspi_fuzz_die("new context: %s", err.message);
    cst = initiate(c, req, cb, NULL, 0, &tok);
    FUZZ_CHECK(cst == SEC_I_CONTINUE_NEEDED, "no first token: 0x%08x", (unsigned)cst);
    for (leg = 0; leg < 3 && tok.len; leg++) {
        /* The client's token goes to the acceptor even when the client
         * is already complete (SEC_E_OK with a last token). */
        sst = sspi_fuzz_step(s, 0, sspi_fuzz_asc_req(req), NULL, tok.data, tok.len, cb,
                             sizeof bindings, &back, NULL);
        sspi_fuzz_token_free(&tok);
        /* Once the client saw an edited reply, the acceptor may well
         * refuse what it answers (an NTLM MIC over an altered CHALLENGE). */
        FUZZ_CHECK(SSPI_SUCCESS(sst) || (edited && sspi_fuzz_clean_refusal(sst)),
                   "a real acceptor refused a real token: 0x%08x (%s)", (unsigned)sst,
                   sspi_status_name(sst));
        /* A complete client takes no more tokens (a driver drops a last
         * acceptor token then); an edited reply may complete it early. */
        if (!SSPI_SUCCESS(sst) || back.len == 0 || cst == SEC_E_OK)
            break;
        if (leg == target_leg && mode == 1) {
            unsigned char *copy = malloc(len ? len : 1);
            if (copy == NULL)
                break;
            memcpy(copy, payload, len);
            cst = initiate(c, req, cb, copy, len, &tok);
            free(copy);
            edited = 1;
        } else {
            if (leg == target_leg)
                edited = sspi_fuzz_mutate(back.data, back.len, payload, len);
            cst = initiate(c, req, cb, back.data, back.len, &tok);
        }
        sspi_fuzz_token_free(&back);
        if (!SSPI_SUCCESS(cst))
            break;
    }
    sspi_fuzz_token_free(&tok);
    sspi_fuzz_token_free(&back);
    if (edited == 0)
        FUZZ_CHECK(sspi_context_get_state(c) == SSPI_CTX_COMPLETE &&
                       sspi_context_get_state(s) == SSPI_CTX_COMPLETE,
                   "an unedited exchange did not complete (client 0x%08x, server 0x%08x)",
                   (unsigned)cst, (unsigned)sst);
    sspi_context_free(&c);
    sspi_context_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sspi_context *c = NULL;
    sspi_fuzz_token out = {NULL, 0};
    const unsigned char *cb;
    unsigned char *msg;
    uint32_t req;
    sspi_error err;
    sspi_status st;
    int mode;
    if (size < 1)
        return 0;
    mode = data[0] & 3;
    cb = (data[0] & 4) ? bindings : NULL;
    req = (data[0] & 8) ? (ISC_REQ_INTEGRITY | ISC_REQ_CONNECTION) : FUZZ_ISC_REQ;
    size -= 1;
    if (mode == 1 || mode == 2) {
        exchange(mode, req, cb, data + 1, size);
        return 0;
    }
    msg = malloc(size ? size : 1);
    if (msg == NULL)
        return 0;
    memcpy(msg, data + 1, size);
    if (sspi_context_new(client_cred, &c, &err) != SEC_E_OK)
        sspi_fuzz_die("new context: %s", err.message);
    if (mode == 0) {
        st = initiate(c, req, cb, NULL, 0, &out);
        FUZZ_CHECK(st == SEC_I_CONTINUE_NEEDED, "no first token: 0x%08x", (unsigned)st);
        sspi_fuzz_token_free(&out);
    }
    st = initiate(c, req, cb, msg, size, &out);
    if (st == SEC_E_OK)
        FUZZ_CHECK(sspi_context_get_state(c) == SSPI_CTX_COMPLETE, "OK but not complete");
    sspi_fuzz_token_free(&out);
    free(msg);
    sspi_context_free(&c);
    return 0;
}
