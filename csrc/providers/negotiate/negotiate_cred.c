/*
 * negotiate_cred.c - a Negotiate credential: one inner credential per
 * mechanism, in order of preference, acquired through the core with the
 * caller's options (username, password, ccache, keytab, user_file ...).
 *
 * The list is the caller's `mechs` (allow list, in order) or every package
 * of the registry that has a GSS mechanism OID (Kerberos before NTLM, the
 * registry's order), minus `reject`.  A mechanism whose credential cannot
 * be acquired is dropped and its reason kept: SEC_E_NO_CREDENTIALS lists
 * the reasons when none remains.
 */
#include <string.h>
#include <strings.h>

#include "negotiate.h"

/* The first provider of the registry named `name` that is a GSS mechanism
 * (so it can be listed in mechTypes), Negotiate excluded; NULL if none. */
static const sspi_provider *known_mechanism(const char *name)
{
    const sspi_provider *const *p;
    for (p = sspi_providers(); *p; p++)
        if ((*p)->mech_oid && strcasecmp((*p)->info.name, "Negotiate") != 0 &&
            strcasecmp((*p)->info.name, name) == 0)
            return *p;
    return NULL;
}

static int listed(const char *const *names, size_t n, const char *name)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (strcasecmp(names[i], name) == 0)
            return 1;
    return 0;
}

/* The package names to try, canonical spelling, in order; SEC_E_OK or an
 * error for an unknown name. */
static sspi_status wanted_packages(const sspi_cred_options *opts, const char **names, size_t *n,
                                   sspi_error *err)
{
    size_t i;
    *n = 0;
    for (i = 0; i < opts->reject_count; i++) {
        if (opts->reject[i] == NULL || known_mechanism(opts->reject[i]) == NULL)
            return sspi_error_set(err, SEC_E_SECPKG_NOT_FOUND,
                                  "Negotiate: reject names an unknown mechanism package \"%s\" "
                                  "(known: Kerberos, NTLM)",
                                  opts->reject[i] ? opts->reject[i] : "(null)");
    }
    if (opts->mech_count > 0) {
        for (i = 0; i < opts->mech_count; i++) {
            const sspi_provider *p = opts->mechs[i] ? known_mechanism(opts->mechs[i]) : NULL;
            if (p == NULL)
                return sspi_error_set(err, SEC_E_SECPKG_NOT_FOUND,
                                      "Negotiate: mechs names an unknown mechanism package "
                                      "\"%s\" (known: Kerberos, NTLM)",
                                      opts->mechs[i] ? opts->mechs[i] : "(null)");
            if (!listed(names, *n, p->info.name) && *n < SSPI_NEGO_MAX_MECHS)
                names[(*n)++] = p->info.name;
        }
    } else {
        const sspi_provider *const *p;
        for (p = sspi_providers(); *p; p++)
            if ((*p)->mech_oid && strcasecmp((*p)->info.name, "Negotiate") != 0 &&
                !listed(names, *n, (*p)->info.name) && *n < SSPI_NEGO_MAX_MECHS)
                names[(*n)++] = (*p)->info.name;
    }
    return SEC_E_OK;
}

sspi_status sspi_nego_acquire(sspi_credential *cred, const sspi_cred_options *opts, sspi_error *err)
{
    const char *names[SSPI_NEGO_MAX_MECHS];
    size_t n, i;
    sspi_nego_cred *nc;
    sspi_status st;
    int rejected = 0;

    st = wanted_packages(opts, names, &n, err);
    if (st != SEC_E_OK)
        return st;
    nc = sspi_mem_alloc(&cred->alloc, sizeof *nc);
    if (nc == NULL)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Negotiate: out of memory");
    memset(nc, 0, sizeof *nc);
    sspi_bytes_init(&nc->dropped, &cred->alloc);
    nc->no_fallback = opts->no_fallback;
    cred->impl = nc;

    for (i = 0; i < n; i++) {
        const sspi_provider *p;
        sspi_cred_options inner = *opts;
        sspi_error why;

        if (listed(opts->reject, opts->reject_count, names[i])) {
            sspi_nego_add_reason(&nc->dropped, names[i], "rejected by the credential's reject list");
            rejected++;
            continue;
        }
        sspi_error_clear(&why);
        if (sspi_provider_find(names[i], NULL, &p, &why) != SEC_E_OK) {
            sspi_nego_add_reason(&nc->dropped, names[i], why.message);
            continue;
        }
        inner.package = p->info.name;
        inner.backend = p->info.backend;
        inner.mechs = NULL;
        inner.mech_count = 0;
        inner.reject = NULL;
        inner.reject_count = 0;
        inner.no_fallback = 0;
        st = sspi_credential_acquire_with(p, &inner, &cred->alloc, &nc->mechs[nc->count].cred,
                                          &why);
        if (st != SEC_E_OK) {
            sspi_nego_add_reason(&nc->dropped, names[i], why.message);
            continue;
        }
        nc->mechs[nc->count].provider = p;
        nc->count++;
    }
    if (nc->count == 0) {
        st = sspi_error_set(err, SEC_E_NO_CREDENTIALS,
                            "Negotiate: no usable mechanism%s: %.*s",
                            rejected == (int)n ? " (the reject list removed all of them)" : "",
                            (int)nc->dropped.len, nc->dropped.data ? (const char *)nc->dropped.data : "");
        if (n == 0)
            st = sspi_error_set(err, SEC_E_NO_CREDENTIALS, "Negotiate: no mechanism to negotiate");
        sspi_nego_free_cred(cred);
        return st;
    }
    return SEC_E_OK;
}

void sspi_nego_free_cred(sspi_credential *cred)
{
    sspi_nego_cred *nc = cred->impl;
    size_t i;
    if (nc == NULL)
        return;
    for (i = 0; i < nc->count; i++)
        sspi_credential_release(&nc->mechs[i].cred);
    sspi_bytes_free(&nc->dropped);
    sspi_mem_free(&cred->alloc, nc, sizeof *nc);
    cred->impl = NULL;
}
