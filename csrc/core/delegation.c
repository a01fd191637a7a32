/*
 * delegation.c - credentials a context hands out: the client's delegated
 * credential on an acceptor (Kerberos: its forwarded TGT).  The provider
 * builds the credential through the SSPI_CTL_DELEGATED_CREDENTIAL control,
 * so Negotiate passes the question to its inner context unchanged.
 */
#include <string.h>

#include "internal.h"

sspi_status sspi_credential_new_shell(const sspi_provider *p, const sspi_allocator *alloc,
                                      sspi_cred_usage usage, sspi_credential **out,
                                      sspi_error *err)
{
    sspi_credential *cred = sspi_mem_alloc(alloc, sizeof *cred);
    *out = NULL;
    if (cred == NULL)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "credential: out of memory");
    memset(cred, 0, sizeof *cred);
    cred->refcount = 1;
    cred->provider = p;
    if (alloc)
        cred->alloc = *alloc;
    cred->usage = usage;
    *out = cred;
    return SEC_E_OK;
}

sspi_status sspi_context_delegated_credential(sspi_context *ctx, sspi_credential **out,
                                              sspi_error *err)
{
    sspi_status st;
    if (out == NULL || ctx == NULL)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER, "delegated credential: missing argument");
    *out = NULL;
    if (ctx->state != SSPI_CTX_COMPLETE || ctx->initiator != 0 ||
        ctx->provider->control == NULL || ctx->impl == NULL)
        return SEC_E_OK;
    st = ctx->provider->control(ctx, SSPI_CTL_DELEGATED_CREDENTIAL, out, err);
    if (st == SEC_E_UNSUPPORTED_FUNCTION) { /* a package that cannot delegate */
        *out = NULL;
        sspi_error_clear(err);
        return SEC_E_OK;
    }
    return st;
}
