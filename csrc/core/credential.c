/*
 * credential.c - AcquireCredentialsHandle: the provider-neutral part of a
 * credential (reference count, allocator, usage); the provider keeps its
 * own state in cred->impl.
 */
#include <string.h>

#include "internal.h"

sspi_status sspi_credential_acquire_with(const sspi_provider *p, const sspi_cred_options *opts,
                                         const sspi_allocator *alloc, sspi_credential **out,
                                         sspi_error *err)
{
    sspi_credential *cred;
    sspi_cred_usage usage;
    sspi_status st;

    if (out == NULL || opts == NULL || p == NULL)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER, "credential: missing argument");
    *out = NULL;
    usage = opts->usage ? opts->usage : SSPI_CRED_OUTBOUND;
    if (usage != SSPI_CRED_INBOUND && usage != SSPI_CRED_OUTBOUND && usage != SSPI_CRED_BOTH)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER, "credential: invalid usage %d",
                              (int)opts->usage);
    if (p->acquire == NULL)
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "package %s (%s) cannot acquire credentials", p->info.name,
                              p->info.backend);

    cred = sspi_mem_alloc(alloc, sizeof *cred);
    if (cred == NULL)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "credential: out of memory");
    memset(cred, 0, sizeof *cred);
    cred->refcount = 1;
    cred->provider = p;
    if (alloc)
        cred->alloc = *alloc;
    cred->usage = usage;
    cred->lookup = opts->lookup;
    cred->lookup_ud = opts->lookup_ud;

    st = p->acquire(cred, opts, err);
    if (!SSPI_SUCCESS(st)) {
        if (cred->impl && p->free_cred)
            p->free_cred(cred);
        sspi_mem_free(&cred->alloc, cred, sizeof *cred);
        return st;
    }
    *out = cred;
    return SEC_E_OK;
}

sspi_status sspi_credential_acquire(const sspi_cred_options *opts, const sspi_allocator *alloc,
                                    sspi_credential **out, sspi_error *err)
{
    const sspi_provider *p;
    sspi_status st;
    if (out)
        *out = NULL;
    if (opts == NULL || out == NULL)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER, "credential: missing argument");
    st = sspi_provider_find(opts->package, opts->backend, &p, err);
    if (st != SEC_E_OK)
        return st;
    return sspi_credential_acquire_with(p, opts, alloc, out, err);
}

void sspi_credential_addref(sspi_credential *cred)
{
    /* Atomic: contexts on one credential may live in different threads. */
    if (cred)
        __atomic_add_fetch(&cred->refcount, 1u, __ATOMIC_RELAXED);
}

void sspi_credential_release(sspi_credential **credp)
{
    sspi_credential *cred;
    sspi_allocator alloc;
    if (credp == NULL || *credp == NULL)
        return;
    cred = *credp;
    *credp = NULL;
    if (__atomic_sub_fetch(&cred->refcount, 1u, __ATOMIC_ACQ_REL) > 0)
        return;
    if (cred->provider->free_cred)
        cred->provider->free_cred(cred);
    alloc = cred->alloc; /* the struct holds the allocator that frees it */
    sspi_mem_free(&alloc, cred, sizeof *cred);
}

const sspi_package_info *sspi_credential_package(const sspi_credential *cred)
{
    return cred ? &cred->provider->info : NULL;
}

sspi_cred_usage sspi_credential_usage(const sspi_credential *cred)
{
    return cred ? cred->usage : SSPI_CRED_OUTBOUND;
}

int64_t sspi_credential_expiry(const sspi_credential *cred)
{
    return cred ? cred->expiry : 0;
}
