/*
 * negotiate_accept.c - the acceptor (AcceptSecurityContext).
 *
 * No input on the first step: the acceptor speaks first with a
 * NegTokenInit2 (MS-SPNG 3.2.5.2).  A NegTokenInit: the first mechanism of
 * the client's list that a credential supports is chosen; an optimistic
 * token made for another one is discarded, and then the mechListMIC
 * exchange is required (request-mic).  A bare NTLMSSP or Kerberos token,
 * as browsers and curl send under "Negotiate", is handed to that mechanism
 * directly and the exchange goes on without SPNEGO framing.
 * supportedMech (and request-mic) go in the first reply only.
 */
#include <stdint.h>
#include <string.h>

#include "negotiate.h"

static const unsigned char hint_name[] = SSPI_NEGO_HINT_NAME;

static sspi_status speak_first(sspi_context *ctx, sspi_nego_ctx *nc, sspi_error *err)
{
    const sspi_nego_cred *cred = ctx->cred->impl;
    sspi_der oids[SSPI_NEGO_MAX_MECHS];
    sspi_spnego_init out;
    sspi_bytes list;
    size_t i;
    int rc;

    for (i = 0; i < cred->count; i++)
        oids[i] = sspi_nego_mech_oid(cred, i);
    sspi_bytes_init(&list, ctx->alloc);
    memset(&out, 0, sizeof out);
    rc = sspi_spnego_encode_mech_list(&list, oids, cred->count);
    if (rc == 0) {
        out.mech_types = sspi_der_view(list.data, list.len);
        out.init2 = 1;
        out.hint_name.present = 1;
        out.hint_name.p = hint_name;
        out.hint_name.len = sizeof hint_name - 1;
        rc = sspi_spnego_encode_init(&ctx->out_token, &out);
    }
    sspi_bytes_free(&list);
    if (rc != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Negotiate: out of memory");
    nc->hints_sent = 1;
    return SEC_I_CONTINUE_NEEDED;
}

/* A bare mechanism token: no SPNEGO from here on. */
static sspi_status accept_raw(sspi_context *ctx, sspi_nego_ctx *nc, const sspi_step_in *in,
                              const sspi_der *mech, uint32_t *ret_flags, sspi_error *err)
{
    const sspi_nego_cred *cred = ctx->cred->impl;
    size_t index = sspi_nego_find_mech(cred, mech);
    sspi_status st;
    if (index == SIZE_MAX)
        return sspi_error_set(err, SEC_E_SECPKG_NOT_FOUND,
                              "Negotiate: a bare %s token, and this credential has no such mechanism",
                              sspi_spnego_same_mech(mech, &sspi_spnego_ntlm_oid) ? "NTLM" : "mechanism");
    st = sspi_nego_new_inner(ctx, nc, index, err);
    if (st != SEC_E_OK)
        return st;
    nc->raw = 1;
    nc->nego_done = 1;
    return SEC_E_OK;
}

static sspi_status raw_step(sspi_context *ctx, sspi_nego_ctx *nc, const sspi_step_in *in,
                            uint32_t *ret_flags, sspi_error *err)
{
    sspi_status st = sspi_nego_step_inner(ctx, nc, in, in->token, in->token_len, err);
    if (!SSPI_SUCCESS(st))
        return st;
    *ret_flags = nc->inner_flags;
    if (nc->mech_out.len > 0 && sspi_bytes_set(&ctx->out_token, nc->mech_out.data, nc->mech_out.len) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Negotiate: out of memory");
    if (nc->inner_complete)
        nc->done = 1;
    return st;
}

/* The client's NegTokenInit: choose the mechanism. */
static sspi_status choose(sspi_context *ctx, sspi_nego_ctx *nc, const sspi_spnego_init *init,
                          int *first_choice, sspi_error *err)
{
    const sspi_nego_cred *cred = ctx->cred->impl;
    sspi_der it = {NULL, 0}, oid;
    size_t position = 0, index = SIZE_MAX;

    while (sspi_spnego_next_mech(&init->mech_types, &it, &oid)) {
        index = sspi_nego_find_mech(cred, &oid);
        if (index != SIZE_MAX)
            break;
        position++;
    }
    if (index == SIZE_MAX) {
        /* Tell the client (the core drops the token of a failed step, but
         * a caller driving the exchange by hand can still read why). */
        nc->mech_out.len = 0;
        (void)sspi_nego_send_resp(ctx, nc, SSPI_SPNEGO_REJECT, 0, 0, NULL);
        return sspi_error_set(err, SEC_E_SECPKG_NOT_FOUND,
                              "Negotiate: none of the client's %zu mechanisms is available here",
                              init->mech_count);
    }
    if (sspi_bytes_set(&nc->mech_types, init->mech_types.p, init->mech_types.len) != 0 ||
        sspi_bytes_set(&nc->supported_mech, oid.p, oid.len) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Negotiate: out of memory");
    *first_choice = position == 0;
    nc->nego_done = 1;
    if (!*first_choice)
        nc->mic_required = nc->not_first = 1; /* RFC 4178 section 5: protects the choice */
    return sspi_nego_new_inner(ctx, nc, index, err);
}

/* After the inner step: MIC and negState; returns the step's status. */
static sspi_status finish_step(sspi_context *ctx, sspi_nego_ctx *nc, int first,
                               const sspi_spnego_opt *mic_in, sspi_error *err)
{
    sspi_status st, mic;
    int new_mic = 0;

    if (!nc->inner_complete) {
        if (mic_in->present)
            return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                                  "Negotiate: a mechListMIC before the mechanism completed");
        st = sspi_nego_send_resp(ctx, nc, SSPI_SPNEGO_ACCEPT_INCOMPLETE, first, 0, err);
        return st != SEC_E_OK ? st : SEC_I_CONTINUE_NEEDED;
    }
    mic = sspi_nego_mic_exchange(ctx, nc, mic_in->present ? mic_in : NULL, &new_mic, err);
    if (!SSPI_SUCCESS(mic))
        return mic;
    if (mic == SEC_I_CONTINUE_NEEDED) {
        st = sspi_nego_send_resp(ctx, nc, SSPI_SPNEGO_ACCEPT_INCOMPLETE, first, new_mic, err);
        return st != SEC_E_OK ? st : SEC_I_CONTINUE_NEEDED;
    }
    nc->done = 1;
    /* Our MIC went out in an earlier reply and this one has nothing: the
     * client is already complete and reads no more (MIT does the same). */
    if (nc->mic_required && !new_mic && nc->mech_out.len == 0 && !first)
        return SEC_E_OK;
    st = sspi_nego_send_resp(ctx, nc, SSPI_SPNEGO_ACCEPT_COMPLETED, first, new_mic, err);
    return st != SEC_E_OK ? st : SEC_E_OK;
}

static sspi_status accept_init(sspi_context *ctx, sspi_nego_ctx *nc, const sspi_step_in *in,
                               const sspi_spnego_init *init, uint32_t *ret_flags, sspi_error *err)
{
    int first_choice = 0;
    sspi_status st = choose(ctx, nc, init, &first_choice, err);
    if (st != SEC_E_OK)
        return st;
    nc->mech_out.len = 0;
    if (first_choice && init->mech_token.present && init->mech_token.len > 0) {
        st = sspi_nego_step_inner(ctx, nc, in, init->mech_token.p, init->mech_token.len, err);
        if (!SSPI_SUCCESS(st))
            return st;
        *ret_flags = nc->inner_flags;
        if (nc->inner_complete)
            sspi_nego_check_ntlm_mic(nc);
        return finish_step(ctx, nc, 1, &init->mech_list_mic, err);
    }
    /* No optimistic token for our choice: ask for one (request-mic when the
     * choice is not the client's first).  A MIC cannot exist yet. */
    if (init->mech_list_mic.present)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "Negotiate: a mechListMIC before the mechanism completed");
    st = sspi_nego_send_resp(ctx, nc,
                             first_choice ? SSPI_SPNEGO_ACCEPT_INCOMPLETE : SSPI_SPNEGO_REQUEST_MIC,
                             1, 0, err);
    return st != SEC_E_OK ? st : SEC_I_CONTINUE_NEEDED;
}

static sspi_status first_token(sspi_context *ctx, sspi_nego_ctx *nc, const sspi_step_in *in,
                               uint32_t *ret_flags, sspi_error *err)
{
    sspi_spnego_msg msg;
    sspi_der mech;
    const char *why = NULL;
    sspi_status st;

    switch (sspi_spnego_classify(in->token, in->token_len, &mech)) {
    case SSPI_TOKEN_NTLMSSP:
        st = accept_raw(ctx, nc, in, &sspi_spnego_ntlm_oid, ret_flags, err);
        return st != SEC_E_OK ? st : raw_step(ctx, nc, in, ret_flags, err);
    case SSPI_TOKEN_GSS_MECH:
        st = accept_raw(ctx, nc, in, &mech, ret_flags, err);
        return st != SEC_E_OK ? st : raw_step(ctx, nc, in, ret_flags, err);
    default:
        break;
    }
    st = sspi_spnego_decode(in->token, in->token_len, &msg, &why);
    if (st != SEC_E_OK)
        return sspi_error_set(err, st, "Negotiate: malformed initial token: %s", why);
    if (msg.kind != SSPI_SPNEGO_MSG_INIT)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "Negotiate: expected the client's initial token, got a NegTokenResp");
    return accept_init(ctx, nc, in, &msg.init, ret_flags, err);
}

sspi_status sspi_nego_accept_step(sspi_context *ctx, const sspi_step_in *in, uint32_t *ret_flags,
                                  sspi_error *err)
{
    sspi_nego_ctx *nc;
    sspi_spnego_msg msg;
    sspi_status st = sspi_nego_ctx_get(ctx, &nc, err);
    if (st != SEC_E_OK)
        return st;
    if (nc->raw)
        return raw_step(ctx, nc, in, ret_flags, err);
    if (!nc->nego_done) {
        if (in->token == NULL) {
            if (nc->hints_sent)
                return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                                      "Negotiate: the client's initial token is missing");
            return speak_first(ctx, nc, err);
        }
        return first_token(ctx, nc, in, ret_flags, err);
    }

    st = sspi_nego_read_resp(in, "client", &msg, err);
    if (st != SEC_E_OK)
        return st;
    if (msg.resp.supported_mech.present)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "Negotiate: supportedMech in a client token");
    if (msg.resp.neg_state == SSPI_SPNEGO_REJECT)
        return sspi_error_set(err, SEC_E_LOGON_DENIED,
                              "Negotiate: the client abandoned the authentication");
    nc->mech_out.len = 0;
    if (msg.resp.response_token.present && msg.resp.response_token.len > 0) {
        if (nc->inner_complete)
            return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                                  "Negotiate: a mechanism token after the mechanism completed");
        st = sspi_nego_step_inner(ctx, nc, in, msg.resp.response_token.p,
                                  msg.resp.response_token.len, err);
        if (!SSPI_SUCCESS(st))
            return st;
        if (nc->inner_complete)
            sspi_nego_check_ntlm_mic(nc);
    } else if (!nc->inner_complete || !msg.resp.mech_list_mic.present) {
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "Negotiate: the client's token carries neither a mechanism token "
                              "nor a mechListMIC");
    }
    *ret_flags = nc->inner_flags;
    return finish_step(ctx, nc, 0, &msg.resp.mech_list_mic, err);
}
