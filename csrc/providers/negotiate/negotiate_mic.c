/*
 * negotiate_mic.c - the mechListMIC exchange (RFC 4178 section 5, MS-SPNG
 * 3.1.5.1 / 3.3.5.1) and the NegTokenResp read and written, each one
 * function that the initiator and the acceptor both call.
 *
 * The MIC is made and checked with the inner context's sign / verify over
 * the DER of mechTypes exactly as the initiator sent it.  It is required
 * when the chosen mechanism is not the initiator's first choice (both sides
 * know it: the acceptor from the position in the list, the initiator from
 * supportedMech), when NTLM put a MIC in its AUTHENTICATE (Windows), and
 * when the peer sent one.  A choice that is not the first is a possible
 * downgrade: if the mechanism then gives no integrity, nothing can protect
 * it and the step fails (SEC_E_DOWNGRADE_DETECTED); MIT silently goes on
 * without MICs there.
 */
#include <string.h>

#include "negotiate.h"

static int inner_has_integrity(const sspi_context *ctx, const sspi_nego_ctx *nc)
{
    return (nc->inner_flags & (ctx->initiator == 1 ? ISC_RET_INTEGRITY : ASC_RET_INTEGRITY)) != 0;
}

void sspi_nego_check_ntlm_mic(sspi_nego_ctx *nc)
{
    int present = 0;
    /* Windows requires the mechListMIC once NTLM carried a MIC, even for
     * NTLM as the first mechanism (MS-SPNG 3.1.5.1); other mechanisms
     * answer SEC_E_UNSUPPORTED_FUNCTION. */
    if (sspi_context_control(nc->inner, SSPI_CTL_NTLM_MIC_PRESENT, &present, NULL) == SEC_E_OK &&
        present)
        nc->mic_required = 1;
}

static void reset_crypto(sspi_nego_ctx *nc)
{
    /* MS-SPNG 3.3.5.1: NTLM's RC4 state after the mechListMIC is the one
     * before it.  Only NTLM implements the control; for the others it is
     * SEC_E_UNSUPPORTED_FUNCTION and nothing to do. */
    (void)sspi_context_control(nc->inner, SSPI_CTL_RESET_CRYPTO, NULL, NULL);
}

static sspi_status verify_mic(sspi_nego_ctx *nc, const sspi_spnego_opt *mic, sspi_error *err)
{
    sspi_error why;
    sspi_status st;
    sspi_error_clear(&why);
    st = sspi_verify(nc->inner, nc->mech_types.data, nc->mech_types.len, mic->p, mic->len, &why);
    if (st != SEC_E_OK)
        return sspi_error_set(err, st == SEC_E_INSUFFICIENT_MEMORY ? st : SEC_E_MESSAGE_ALTERED,
                              "Negotiate: the peer's mechListMIC does not match the mechanism "
                              "list (tampered negotiation?): %s",
                              why.message);
    reset_crypto(nc);
    return SEC_E_OK;
}

static sspi_status make_mic(sspi_nego_ctx *nc, sspi_error *err)
{
    const unsigned char *mic;
    size_t mic_len;
    sspi_status st = sspi_sign(nc->inner, nc->mech_types.data, nc->mech_types.len, &mic, &mic_len,
                               err);
    if (st != SEC_E_OK)
        return st;
    if (sspi_bytes_set(&nc->mic_out, mic, mic_len) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Negotiate: out of memory");
    reset_crypto(nc);
    return SEC_E_OK;
}

sspi_status sspi_nego_mic_exchange(sspi_context *ctx, sspi_nego_ctx *nc,
                                   const sspi_spnego_opt *mic_in, int *send_mic, sspi_error *err)
{
    const char *peer = ctx->initiator == 1 ? "acceptor" : "initiator";
    sspi_status st;

    *send_mic = 0;
    if (!inner_has_integrity(ctx, nc)) {
        if (nc->not_first)
            return sspi_error_set(err, SEC_E_DOWNGRADE_DETECTED,
                                  "Negotiate: %s was chosen over the initiator's first choice and "
                                  "gives no integrity, so no mechListMIC can protect that choice "
                                  "(possible downgrade, RFC 4178 section 5)",
                                  sspi_context_package(nc->inner)->name);
        return SEC_E_OK; /* no MIC possible, none needed */
    }
    if (mic_in != NULL) {
        if (nc->mic_received)
            return sspi_error_set(err, SEC_E_INVALID_TOKEN, "Negotiate: a second mechListMIC from the %s",
                                  peer);
        st = verify_mic(nc, mic_in, err);
        if (st != SEC_E_OK)
            return st;
        nc->mic_received = 1;
        nc->mic_required = 1; /* a MIC received is answered with ours */
    } else if (nc->mic_required && !nc->mic_received && nc->mech_out.len == 0) {
        /* The peer's token finished the mechanism: its MIC had to come with it. */
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "Negotiate: the %s finished without the mechListMIC this "
                              "negotiation requires",
                              peer);
    }
    if (nc->mic_required && !nc->mic_sent) {
        st = make_mic(nc, err);
        if (st != SEC_E_OK)
            return st;
        nc->mic_sent = 1;
        *send_mic = 1;
    }
    return nc->mic_required && !nc->mic_received ? SEC_I_CONTINUE_NEEDED : SEC_E_OK;
}

sspi_status sspi_nego_send_resp(sspi_context *ctx, const sspi_nego_ctx *nc, int neg_state,
                                int with_mech, int with_mic, sspi_error *err)
{
    sspi_spnego_resp out;
    memset(&out, 0, sizeof out);
    out.neg_state = neg_state;
    if (with_mech) {
        out.supported_mech.present = 1;
        out.supported_mech.p = nc->supported_mech.data;
        out.supported_mech.len = nc->supported_mech.len;
    }
    if (nc->mech_out.len > 0) {
        out.response_token.present = 1;
        out.response_token.p = nc->mech_out.data;
        out.response_token.len = nc->mech_out.len;
    }
    if (with_mic) {
        out.mech_list_mic.present = 1;
        out.mech_list_mic.p = nc->mic_out.data;
        out.mech_list_mic.len = nc->mic_out.len;
    }
    ctx->out_token.len = 0;
    if (sspi_spnego_encode_resp(&ctx->out_token, &out) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Negotiate: out of memory");
    return SEC_E_OK;
}

sspi_status sspi_nego_read_resp(const sspi_step_in *in, const char *peer, sspi_spnego_msg *msg,
                                sspi_error *err)
{
    const char *why = NULL;
    sspi_status st;
    if (in->token == NULL)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "Negotiate: the next step needs the %s's token as input", peer);
    st = sspi_spnego_decode(in->token, in->token_len, msg, &why);
    if (st != SEC_E_OK)
        return sspi_error_set(err, st, "Negotiate: malformed %s token: %s", peer, why);
    if (msg->kind != SSPI_SPNEGO_MSG_RESP)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "Negotiate: expected a NegTokenResp from the %s", peer);
    return SEC_E_OK;
}
