/*
 * registry.c - which providers are compiled in, in order of preference.
 * A const table: there is no registration at run time, hence no mutable
 * global state.  The first available provider of a package is its default.
 */
#include <stdio.h>
#include <strings.h>

#include "internal.h"

/* A test build (build/lua/sspi_toy.so, see the Makefile) compiles this
 * file again with SSPI_EXTRA_PROVIDERS set to "&its_provider," to register
 * a test-only package; the shipped module never has it. */
#ifndef SSPI_EXTRA_PROVIDERS
#define SSPI_EXTRA_PROVIDERS
#endif

static const sspi_provider *const registry[] = {
    &sspi_gssapi_kerberos_provider,
    &sspi_negotiate_builtin_provider,
    &sspi_gssapi_negotiate_provider,
    &sspi_ntlm_builtin_provider,
    &sspi_gssapi_ntlm_provider,
    &sspi_schannel_provider,
    SSPI_EXTRA_PROVIDERS
    NULL,
};

const sspi_provider *const *sspi_providers(void)
{
    return registry;
}

static sspi_status check_available(const sspi_provider *p, sspi_error *err)
{
    if (p->available == NULL)
        return SEC_E_OK;
    return p->available(err);
}

sspi_status sspi_provider_find(const char *package, const char *backend,
                               const sspi_provider **out, sspi_error *err)
{
    const sspi_provider *const *p;
    sspi_error why;
    int seen = 0;
    *out = NULL;
    sspi_error_clear(&why);
    if (package == NULL)
        return sspi_error_set(err, SEC_E_SECPKG_NOT_FOUND, "no package name given");
    for (p = registry; *p; p++) {
        if (strcasecmp((*p)->info.name, package) != 0)
            continue;
        if (backend && strcasecmp((*p)->info.backend, backend) != 0)
            continue;
        seen = 1;
        if (check_available(*p, &why) == SEC_E_OK) {
            *out = *p;
            return SEC_E_OK;
        }
    }
    if (seen)
        return sspi_error_set(err, SEC_E_SECPKG_NOT_FOUND,
                              "package %s%s%s is not usable on this machine: %s", package,
                              backend ? ", backend " : "", backend ? backend : "", why.message);
    if (backend)
        return sspi_error_set(err, SEC_E_SECPKG_NOT_FOUND,
                              "no package %s with backend %s (backends are \"builtin\" and \"gssapi\")",
                              package, backend);
    return sspi_error_set(err, SEC_E_SECPKG_NOT_FOUND,
                          "unknown security package %s (known: Kerberos, Negotiate, NTLM, Schannel)", package);
}

sspi_status sspi_package_find(const char *name, const char *backend,
                              const sspi_package_info **info, sspi_error *err)
{
    const sspi_provider *p = NULL;
    sspi_status st = sspi_provider_find(name, backend, &p, err);
    if (info)
        *info = st == SEC_E_OK ? &p->info : NULL;
    return st;
}

void sspi_enumerate_packages(sspi_package_fn fn, void *ud)
{
    const sspi_provider *const *p;
    for (p = registry; *p; p++) {
        if (check_available(*p, NULL) != SEC_E_OK)
            continue;
        if (fn(ud, &(*p)->info) != 0)
            return;
    }
}
