/*
 * gss_deleg.c - the client's delegated credential on an acceptor, handed
 * out as an outbound Kerberos credential (SSPI_CTL_DELEGATED_CREDENTIAL).
 *
 * Only a TGT the client really forwarded counts (GSS_C_DELEG_FLAG in the
 * context's flags).  An acceptor whose credential has usage "both" also gets
 * a delegated handle from MIT when nothing was delegated: an S4U2Proxy
 * evidence credential (the client's service ticket, for constrained
 * delegation).  That is not the client's TGT, so it is not handed out here.
 *
 * Each query gives a new handle of its own (gss_export_cred +
 * gss_import_cred: MIT copies the MEMORY cache by value and destroys the copy
 * with the handle), so the credential outlives the context and two queries
 * never share state.
 */
#include <string.h>

#include "gss_private.h"

static sspi_status delegated_credential(sspi_context *ctx, sspi_credential **out,
                                        sspi_error *err)
{
    const sspi_gss_ctx *impl = sspi_gss_ctx_of(ctx);
    sspi_gss_cred source, *made;
    sspi_credential *cred;
    sspi_status st;

    *out = NULL;
    if (impl == NULL || !impl->established || impl->delegated == GSS_C_NO_CREDENTIAL ||
        !(impl->gss_flags & GSS_C_DELEG_FLAG))
        return SEC_E_OK;
    st = sspi_credential_new_shell(&sspi_gssapi_kerberos_provider, ctx->alloc,
                                   SSPI_CRED_OUTBOUND, &cred, err);
    if (st != SEC_E_OK)
        return st;
    made = sspi_mem_alloc(&cred->alloc, sizeof *made);
    if (made == NULL) {
        sspi_credential_release(&cred);
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "credential: out of memory");
    }
    memset(made, 0, sizeof *made);
    made->cred = GSS_C_NO_CREDENTIAL;
    made->kind = SSPI_GSS_MECH_KRB5;
    made->clockskew = ((const sspi_gss_cred *)ctx->cred->impl)->clockskew;
    cred->impl = made;
    memset(&source, 0, sizeof source);
    source.cred = impl->delegated;
    source.kind = SSPI_GSS_MECH_KRB5;
    st = sspi_gss_cred_copy(&source, &made->cred, err);
    if (st != SEC_E_OK) {
        sspi_credential_release(&cred);
        return st;
    }
    cred->expiry = sspi_gss_cred_expiry(made->cred);
    *out = cred;
    return SEC_E_OK;
}

sspi_status sspi_gss_control(sspi_context *ctx, int op, void *arg, sspi_error *err)
{
    switch (op) {
    case SSPI_CTL_DELEGATED_CREDENTIAL:
        return delegated_credential(ctx, arg, err);
    default:
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION, "control %d not supported", op);
    }
}
