/*
 * registry.c - which providers are compiled in, in order of preference.
 * A const table: there is no registration at run time, hence no mutable
 * global state.  The first available provider of a package is its default.
 */
#include <stdio.h>
#include <strings.h>

#include "internal.h"

/* The providers compiled in, in order of preference: adding a package
 * implementation is one line here (its vtable is defined in its folder
 * under csrc/providers/, which the Makefile compiles by wildcard). */
#define SSPI_PROVIDERS(X)                                                                    \
    X(sspi_gssapi_kerberos_provider)                                                         \
    X(sspi_negotiate_builtin_provider)                                                       \
    X(sspi_gssapi_negotiate_provider)                                                        \
    X(sspi_ntlm_builtin_provider)                                                            \
    X(sspi_gssapi_ntlm_provider)                                                             \
    X(sspi_schannel_provider)

/* A test build (build/lua/sspi_toy.so, see the Makefile) compiles this
 * file again with SSPI_EXTRA_PROVIDERS(X) set to X(its_provider), to
 * register a test-only package; the shipped module never has it. */
#ifndef SSPI_EXTRA_PROVIDERS
#define SSPI_EXTRA_PROVIDERS(X)
#endif

#define DECLARE(p) extern const sspi_provider p;
#define ENTRY(p) &p,
SSPI_PROVIDERS(DECLARE)
SSPI_EXTRA_PROVIDERS(DECLARE)

static const sspi_provider *const registry[] = {
    SSPI_PROVIDERS(ENTRY) SSPI_EXTRA_PROVIDERS(ENTRY) NULL,
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

/* "Kerberos, Negotiate, NTLM": each package of the table once. */
static const char *known_names(char *buf, size_t size)
{
    const sspi_provider *const *p, *const *q;
    size_t used = 0;
    buf[0] = '\0';
    for (p = registry; *p; p++) {
        int seen = 0;
        for (q = registry; q < p; q++)
            seen |= strcasecmp((*q)->info.name, (*p)->info.name) == 0;
        if (!seen && used < size) {
            int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", (*p)->info.name);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    return buf;
}

sspi_status sspi_provider_find(const char *package, const char *backend,
                               const sspi_provider **out, sspi_error *err)
{
    const sspi_provider *const *p;
    char names[256];
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
    return sspi_error_set(err, SEC_E_SECPKG_NOT_FOUND, "unknown security package %s (known: %s)",
                          package, known_names(names, sizeof names));
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
