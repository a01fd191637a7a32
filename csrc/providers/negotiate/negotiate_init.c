/*
 * negotiate_init.c - the initiator (InitializeSecurityContext).
 *
 * First step: the credential's mechanisms (restricted to the acceptor's
 * list when it spoke first with a NegTokenInit2) are started in order; one
 * that cannot start (no ticket, unknown SPN, KDC unreachable) is dropped
 * and the next one tried, unless the credential says no_fallback.  The
 * first that starts gives the optimistic token; it and the untried ones
 * form mechTypes.
 * Later steps: the acceptor's NegTokenResp.  Its first reply names the
 * mechanism (a different one restarts the exchange with it and needs the
 * mechListMIC exchange); then tokens go to the inner context until it is
 * complete, and the mechListMIC is checked and sent as RFC 4178 section 5
 * and MS-SPNG 3.1.5.1 require.
 */
#include <stdint.h>
#include <string.h>

#include "negotiate.h"

static sspi_status start(sspi_context *ctx, sspi_nego_ctx *nc, const sspi_step_in *in,
                         sspi_error *err)
{
    const sspi_nego_cred *cred = ctx->cred->impl;
    sspi_der oids[SSPI_NEGO_MAX_MECHS];
    size_t i, k;
    sspi_status st = SEC_E_NO_CREDENTIALS;
    int started = 0;

    nc->offered_count = 0;
    for (i = 0; i < cred->count; i++) {
        sspi_error why;
        if (started) {
            nc->offered[nc->offered_count++] = i; /* offered, started if chosen */
            continue;
        }
        sspi_error_clear(&why);
        st = sspi_nego_new_inner(ctx, nc, i, &why);
        if (st == SEC_E_OK)
            st = sspi_nego_step_inner(ctx, nc, in, NULL, 0, &why);
        if (SSPI_SUCCESS(st)) {
            started = 1;
            nc->offered[nc->offered_count++] = i;
            continue;
        }
        sspi_nego_drop_inner(nc);
        if (cred->no_fallback) {
            return sspi_error_set(err, st, "Negotiate: %s could not start and no_fallback is set: %s",
                                  cred->mechs[i].provider->info.name, why.message);
        }
        sspi_nego_add_reason(&nc->reasons, cred->mechs[i].provider->info.name, why.message);
    }
    if (!started) {
        const sspi_nego_cred *c = cred;
        return sspi_error_set(
            err, SEC_E_NO_CREDENTIALS, "Negotiate: no mechanism could start: %.*s%s%.*s", (int)nc->reasons.len,
            nc->reasons.data ? (const char *)nc->reasons.data : "", c->dropped.len ? "; " : "",
            (int)c->dropped.len, c->dropped.data ? (const char *)c->dropped.data : "");
    }
    for (k = 0; k < nc->offered_count; k++)
        oids[k] = sspi_nego_mech_oid(cred, nc->offered[k]);
    nc->mech_types.len = 0;
    if (sspi_spnego_encode_mech_list(&nc->mech_types, oids, nc->offered_count) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Negotiate: out of memory");
    {
        sspi_spnego_init out;
        memset(&out, 0, sizeof out);
        out.mech_types = sspi_der_view(nc->mech_types.data, nc->mech_types.len);
        if (nc->mech_out.len > 0) {
            out.mech_token.present = 1;
            out.mech_token.p = nc->mech_out.data;
            out.mech_token.len = nc->mech_out.len;
        }
        if (sspi_spnego_encode_init(&ctx->out_token, &out) != 0)
            return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Negotiate: out of memory");
    }
    return SEC_I_CONTINUE_NEEDED;
}

/* The acceptor's first reply: which mechanism it chose. */
static sspi_status negotiate_reply(sspi_context *ctx, sspi_nego_ctx *nc, const sspi_step_in *in,
                                   const sspi_spnego_resp *resp, int *restarted, sspi_error *err)
{
    const sspi_nego_cred *cred = ctx->cred->impl;
    size_t k, index = SIZE_MAX;
    sspi_status st;

    *restarted = 0;
    nc->nego_done = 1;
    if (!resp->supported_mech.present) {
        /* Some Java acceptors omit it: the optimistic mechanism goes on (as MIT does). */
        index = nc->offered[0];
    } else {
        sspi_der chosen = sspi_der_view(resp->supported_mech.p, resp->supported_mech.len);
        for (k = 0; k < nc->offered_count; k++) {
            sspi_der mine = sspi_nego_mech_oid(cred, nc->offered[k]);
            if (sspi_spnego_same_mech(&mine, &chosen)) {
                index = nc->offered[k];
                break;
            }
        }
        if (index == SIZE_MAX)
            return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                                  "Negotiate: the acceptor chose a mechanism that was not offered");
    }
    if (resp->neg_state == SSPI_SPNEGO_REQUEST_MIC)
        nc->mic_required = 1;
    if (index == nc->offered[0])
        return SEC_E_OK;

    /* Counter-proposal: RFC 4178 wants request-mic here; Windows 2003 sent
     * accept-incomplete (RFC 2478), tolerated as MIT does. */
    if (resp->neg_state != SSPI_SPNEGO_REQUEST_MIC && resp->neg_state != SSPI_SPNEGO_ACCEPT_INCOMPLETE)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "Negotiate: the acceptor chose another mechanism without "
                              "request-mic or accept-incomplete");
    st = sspi_nego_new_inner(ctx, nc, index, err);
    if (st != SEC_E_OK)
        return st;
    st = sspi_nego_step_inner(ctx, nc, in, NULL, 0, err);
    if (!SSPI_SUCCESS(st))
        return st;
    /* Not our first choice: the MICs must protect it whatever negState said. */
    nc->mic_required = nc->not_first = 1;
    *restarted = 1;
    return SEC_E_OK;
}

static sspi_status continue_exchange(sspi_context *ctx, sspi_nego_ctx *nc, const sspi_step_in *in,
                                     uint32_t *ret_flags, sspi_error *err)
{
    sspi_spnego_msg msg;
    const sspi_spnego_resp *resp = &msg.resp;
    sspi_status st, mic;
    int restarted = 0, have_mic, new_mic = 0;

    st = sspi_nego_read_resp(in, "acceptor", &msg, err);
    if (st != SEC_E_OK)
        return st;
    have_mic = resp->mech_list_mic.present;
    /* Windows 2000 put the Kerberos AP-REP in mechListMIC as well: a "MIC"
     * equal to the response token is that bug, not a MIC. */
    if (have_mic && resp->response_token.present &&
        resp->mech_list_mic.len == resp->response_token.len &&
        memcmp(resp->mech_list_mic.p, resp->response_token.p, resp->response_token.len) == 0)
        have_mic = 0;

    if (resp->neg_state == SSPI_SPNEGO_REJECT) {
        if (!nc->nego_done)
            return sspi_error_set(err, SEC_E_SECPKG_NOT_FOUND,
                                  "Negotiate: the acceptor supports none of the offered mechanisms");
        if (resp->response_token.present && resp->response_token.len > 0 && !nc->inner_complete) {
            /* The error token may give the mechanism's own, better, status. */
            st = sspi_nego_step_inner(ctx, nc, in, resp->response_token.p, resp->response_token.len,
                                      err);
            if (!SSPI_SUCCESS(st))
                return st;
        }
        return sspi_error_set(err, SEC_E_LOGON_DENIED,
                              "Negotiate: the acceptor rejected the authentication");
    }
    if (!nc->nego_done) {
        st = negotiate_reply(ctx, nc, in, resp, &restarted, err);
        if (st != SEC_E_OK)
            return st;
    } else if (resp->supported_mech.present) {
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "Negotiate: supportedMech after the acceptor's first reply");
    }

    if (!restarted) {
        nc->mech_out.len = 0;
        if (!nc->inner_complete) {
            if (!resp->response_token.present || resp->response_token.len == 0)
                return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                                      "Negotiate: the acceptor sent no mechanism token");
            st = sspi_nego_step_inner(ctx, nc, in, resp->response_token.p,
                                      resp->response_token.len, err);
            if (!SSPI_SUCCESS(st))
                return st;
            if (nc->inner_complete)
                sspi_nego_check_ntlm_mic(nc);
        } else if (resp->response_token.present && resp->response_token.len > 0) {
            /* (an empty one is what old IIS sends instead of none) */
            return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                                  "Negotiate: a mechanism token after the mechanism completed");
        }
        if (resp->neg_state == SSPI_SPNEGO_ACCEPT_COMPLETED && !nc->inner_complete)
            return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                                  "Negotiate: the acceptor completed before the mechanism did");
    }
    *ret_flags = nc->inner_flags;

    if (!nc->inner_complete) {
        if (have_mic)
            return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                                  "Negotiate: a mechListMIC before the mechanism completed");
        st = sspi_nego_send_resp(ctx, nc, SSPI_SPNEGO_NO_STATE, 0, 0, err);
        return st != SEC_E_OK ? st : SEC_I_CONTINUE_NEEDED;
    }
    mic = sspi_nego_mic_exchange(ctx, nc, have_mic ? &resp->mech_list_mic : NULL, &new_mic, err);
    if (!SSPI_SUCCESS(mic))
        return mic;
    if (mic == SEC_I_CONTINUE_NEEDED || nc->mech_out.len > 0 || new_mic) {
        /* RFC 4178 defines negState for the acceptor; the initiator leaves it out. */
        st = sspi_nego_send_resp(ctx, nc, SSPI_SPNEGO_NO_STATE, 0, new_mic, err);
        if (st != SEC_E_OK)
            return st;
        /* The acceptor's MIC is still to come; or this is our last
         * mechanism token: the acceptor has not seen it, so its verdict
         * (accept-completed) is still to come whatever negState claimed
         * (Microsoft's SPNEGO expects an even number of messages, MIT
         * waits the same way). */
        if (mic == SEC_I_CONTINUE_NEEDED || (nc->mech_out.len > 0 && !new_mic))
            return SEC_I_CONTINUE_NEEDED;
    }
    nc->done = 1;
    return SEC_E_OK;
}

sspi_status sspi_nego_init_step(sspi_context *ctx, const sspi_step_in *in, uint32_t *ret_flags,
                                sspi_error *err)
{
    sspi_nego_ctx *nc;
    sspi_status st = sspi_nego_ctx_get(ctx, &nc, err);
    if (st != SEC_E_OK)
        return st;
    if (nc->inner == NULL) {
        sspi_spnego_msg hint;
        const char *why = NULL;
        if (in->token) {
            /* The acceptor spoke first (NegTokenInit2).  Its list does not
             * narrow ours (MIT ignores it too): an acceptor, or anyone on
             * the way, could otherwise make us offer only the weakest
             * mechanism, and the mechListMIC would then cover that short
             * list.  A mechanism it lacks is answered by its counter-choice
             * and protected by the MIC. */
            st = sspi_spnego_decode(in->token, in->token_len, &hint, &why);
            if (st != SEC_E_OK)
                return sspi_error_set(err, st, "Negotiate: malformed acceptor token: %s", why);
            if (hint.kind != SSPI_SPNEGO_MSG_INIT)
                return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                                      "Negotiate: the first input of an initiator must be the "
                                      "acceptor's NegTokenInit2 (or nothing)");
        }
        st = start(ctx, nc, in, err);
        *ret_flags = nc->inner_flags;
        return st;
    }
    return continue_exchange(ctx, nc, in, ret_flags, err);
}
