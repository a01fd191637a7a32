/*
 * fuzz_negotiate_accept.c - the built-in Negotiate (SPNEGO) acceptor, with
 * the built-in NTLM inside (no KDC needed).
 *
 * Input: one configuration byte, then the payload.
 *   bits 0-1  mode:
 *             0  the payload is the client's first token (NegTokenInit,
 *                a bare NTLMSSP or GSS token, or anything else)
 *             1  a real client's first token, then the payload as its second
 *             2  a real exchange whose client tokens get the payload's edits
 *                (sspi_fuzz_mutate ops; the first op's position byte also
 *                picks the leg); unedited, it must complete
 *             3  the acceptor speaks first (NegTokenInit2), then the payload
 *   bit 2     channel bindings on the acceptor's steps
 *   bit 3     ASC_REQ_ALLOW_MISSING_BINDINGS
 *
 * Invariants: every refusal is a security status with a message that
 * fails the context; an unedited real exchange completes on both sides.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sspi_credential *server_cred, *client_cred;
static sspi_fuzz_token first_token;
static unsigned char bindings[SSPI_FUZZ_BINDINGS_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    sspi_context *c = NULL;
    sspi_error err;
    (void)argc;
    (void)argv;
    server_cred = sspi_fuzz_cred("Negotiate", SSPI_CRED_INBOUND, 3, FUZZ_STORE_LOOKUP);
    client_cred = sspi_fuzz_cred("Negotiate", SSPI_CRED_OUTBOUND, 3, FUZZ_STORE_LOOKUP);
    if (sspi_context_new(client_cred, &c, &err) != SEC_E_OK ||
        sspi_fuzz_step(c, 1, FUZZ_ISC_REQ, FUZZ_TARGET, NULL, 0, NULL, 0, &first_token, NULL) !=
            SEC_I_CONTINUE_NEEDED)
        sspi_fuzz_die("no first Negotiate token");
    sspi_context_free(&c);
    sspi_fuzz_bindings(bindings);
    return 0;
}

/* Steps the acceptor; checks what a refusal must look like. */
static sspi_status accept(sspi_context *s, uint32_t req, const unsigned char *cb,
                          const unsigned char *tok, size_t len, sspi_fuzz_token *out)
{
    sspi_status st = sspi_fuzz_step(s, 0, req, NULL, tok, len, cb, sizeof bindings, out, NULL);
    if (!SSPI_SUCCESS(st)) {
        FUZZ_CHECK(sspi_fuzz_clean_refusal(st), "acceptor step: 0x%08x (%s)", (unsigned)st,
                   sspi_status_name(st));
        FUZZ_CHECK(sspi_context_get_state(s) == SSPI_CTX_FAILED, "refused but not failed");
    }
    return st;
}

/* Mode 2: a real exchange, the client's tokens edited on the way. */
static void edited_exchange(uint32_t req, const unsigned char *cb, const uint8_t *ops,
                            size_t ops_len)
{
    sspi_context *c = NULL, *s = NULL;
    sspi_fuzz_token tok = {NULL, 0}, back = {NULL, 0};
    sspi_status cst = SEC_I_CONTINUE_NEEDED, sst = SEC_I_CONTINUE_NEEDED;
    sspi_error err;
    size_t edited = 0;
    int leg, target_leg = ops_len ? ops[0] & 1 : -1;
    if (sspi_context_new(client_cred, &c, &err) != SEC_E_OK ||
        sspi_context_new(server_cred, &s, &err) != SEC_E_OK)
        sspi_fuzz_die("new context: %s", err.message);
    for (leg = 0; leg < 4; leg++) {
        cst = sspi_fuzz_step(c, 1, FUZZ_ISC_REQ, FUZZ_TARGET, back.data, back.len, cb,
                             sizeof bindings, &tok, NULL);
        sspi_fuzz_token_free(&back);
        if (!SSPI_SUCCESS(cst) || tok.len == 0)
            break;
        if (leg == target_leg)
            edited = sspi_fuzz_mutate(tok.data, tok.len, ops, ops_len);
        sst = accept(s, req, cb, tok.data, tok.len, &back);
        sspi_fuzz_token_free(&tok);
        /* A complete client takes no more tokens. */
        if (!SSPI_SUCCESS(sst) || cst == SEC_E_OK)
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
    sspi_context *s = NULL;
    sspi_fuzz_token out = {NULL, 0};
    const unsigned char *cb;
    unsigned char *msg;
    uint32_t req;
    sspi_error err;
    sspi_status st = SEC_I_CONTINUE_NEEDED;
    int mode;
    if (size < 1)
        return 0;
    mode = data[0] & 3;
    cb = (data[0] & 4) ? bindings : NULL;
    req = FUZZ_ASC_REQ | ((data[0] & 8) ? ASC_REQ_ALLOW_MISSING_BINDINGS : 0);
    size -= 1;
    if (mode == 2) {
        /* Bindings on both sides here, or on neither: an unedited
         * exchange must then complete. */
        edited_exchange(FUZZ_ASC_REQ, cb, data + 1, size);
        return 0;
    }
    msg = malloc(size ? size : 1);
    if (msg == NULL)
        return 0;
    memcpy(msg, data + 1, size);
    if (sspi_context_new(server_cred, &s, &err) != SEC_E_OK)
        sspi_fuzz_die("new context: %s", err.message);
    if (mode == 1)
        st = accept(s, req, cb, first_token.data, first_token.len, &out);
    else if (mode == 3)
        st = accept(s, req, cb, NULL, 0, &out);
    FUZZ_CHECK(st == SEC_I_CONTINUE_NEEDED, "the real first leg failed: 0x%08x", (unsigned)st);
    sspi_fuzz_token_free(&out);
    st = accept(s, req, cb, msg, size, &out);
    if (SSPI_SUCCESS(st) && st != SEC_I_CONTINUE_NEEDED) {
        sspi_attr_value v;
        FUZZ_CHECK(sspi_context_get_state(s) == SSPI_CTX_COMPLETE, "OK but not complete");
        memset(&v, 0, sizeof v);
        FUZZ_CHECK(sspi_query(s, SSPI_ATTR_NAMES, &v, &err) == SEC_E_OK, "no names: %s",
                   err.message);
    }
    sspi_fuzz_token_free(&out);
    free(msg);
    sspi_context_free(&s);
    return 0;
}
