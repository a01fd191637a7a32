/*
 * gss_cred.c - AcquireCredentialsHandle through GSSAPI.
 *
 * Sources, in order of precedence:
 *  - username + password: gss_acquire_cred_with_password.  MIT keeps the
 *    TGT in a private MEMORY cache owned by the credential, so the user's
 *    default cache is never touched; gss-ntlmssp keeps the NT hash.
 *  - NTLM nt_hash: the gss-ntlmssp cred store key "ntlmssp_nthash".
 *  - ccache / keytab / client_keytab / user_file: gss_acquire_cred_from
 *    with the cred store keys "ccache", "keytab", "client_keytab" (MIT) and
 *    "ntlmssp_keyfile" (gss-ntlmssp's name for its user file, both
 *    directions; without it gss-ntlmssp reads $NTLM_USER_FILE).
 *  - nothing: the default ccache / keytab of the environment.
 * A credential is acquired at once, so "no TGT", "bad password" and "KDC
 * unreachable" show at acquisition, as they do on Windows.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <profile.h>

#include "gss_private.h"

/* libdefaults clockskew, read as MIT's krb5_init_context reads it (an
 * integer, 300 when unset). */
static int krb5_clockskew(void)
{
    krb5_context kctx = NULL;
    profile_t profile = NULL;
    int skew = 300;
    if (krb5_init_context(&kctx) != 0)
        return skew;
    if (krb5_get_profile(kctx, &profile) == 0 && profile != NULL) {
        if (profile_get_integer(profile, "libdefaults", "clockskew", NULL, 300, &skew) != 0)
            skew = 300;
        profile_release(profile);
    }
    krb5_free_context(kctx);
    return skew;
}

static gss_cred_usage_t gss_usage(sspi_cred_usage usage)
{
    switch (usage) {
    case SSPI_CRED_INBOUND:
        return GSS_C_ACCEPT;
    case SSPI_CRED_BOTH:
        return GSS_C_BOTH;
    default:
        return GSS_C_INITIATE;
    }
}

/* The name to acquire for: the user for initiators, the service (an SPN
 * or GSS service name) for acceptors.  gss-ntlmssp needs a service name
 * for an acceptor credential that carries a user file (its cred store is
 * read only for a named acceptor). */
static sspi_status desired_name(const sspi_credential *cred, const sspi_cred_options *opts,
                                sspi_gss_mech_kind kind, gss_name_t *name, sspi_error *err)
{
    *name = GSS_C_NO_NAME;
    if (cred->usage == SSPI_CRED_INBOUND) {
        if (opts->username)
            return sspi_gss_import_target(opts->username, name, err);
        if ((kind == SSPI_GSS_MECH_NTLM || kind == SSPI_GSS_MECH_SPNEGO) && opts->user_file) {
            /* "@": no service, no host - gss-ntlmssp's own default acceptor
             * name.  A named host would be checked against the client's
             * target and fail with EINVAL unless they match. */
            OM_uint32 major, minor;
            gss_buffer_desc host = {1, (void *)"@"};
            major = gss_import_name(&minor, &host, GSS_C_NT_HOSTBASED_SERVICE, name);
            if (GSS_ERROR(major))
                return sspi_gss_fail(err, "importing the acceptor name", major, minor,
                                     GSS_C_NO_OID);
        }
        return SEC_E_OK;
    }
    if (opts->username)
        return sspi_gss_import_user(opts->username, name, err);
    return SEC_E_OK;
}

/* Restricts SPNEGO to the allowed packages (in order) minus the refused. */
static sspi_status set_neg_mechs(sspi_gss_cred *impl, const sspi_cred_options *opts,
                                 sspi_error *err)
{
    static const char *const known[] = {"Kerberos", "NTLM"};
    static const sspi_gss_mech_kind kinds[] = {SSPI_GSS_MECH_KRB5, SSPI_GSS_MECH_NTLM};
    gss_OID_desc *chosen = impl->neg;
    gss_OID_set_desc set;
    const char *const *order = opts->mechs ? opts->mechs : known;
    size_t count = opts->mechs ? opts->mech_count : 2, i, j, k;
    OM_uint32 major, minor;

    if (opts->mechs == NULL && opts->reject == NULL)
        return SEC_E_OK;
    set.count = 0;
    set.elements = chosen;
    for (i = 0; i < count; i++) {
        int refused = 0, found = 0;
        for (j = 0; j < opts->reject_count; j++)
            if (opts->reject && opts->reject[j] && strcasecmp(opts->reject[j], order[i]) == 0)
                refused = 1;
        for (k = 0; k < 2; k++) {
            if (order[i] == NULL || strcasecmp(order[i], known[k]) != 0)
                continue;
            found = 1;
            if (!refused && set.count < 2)
                chosen[set.count++] = *sspi_gss_mech_oid(kinds[k]);
        }
        if (!found)
            return sspi_error_set(err, SEC_E_SECPKG_NOT_FOUND,
                                  "Negotiate (gssapi) can negotiate Kerberos and NTLM, not %s",
                                  order[i] ? order[i] : "(null)");
    }
    if (set.count == 0)
        return sspi_error_set(err, SEC_E_SECPKG_NOT_FOUND,
                              "Negotiate: every package was refused; nothing to negotiate");
    impl->neg_count = set.count;
    major = gss_set_neg_mechs(&minor, impl->cred, &set);
    if (GSS_ERROR(major))
        return sspi_gss_fail(err, "gss_set_neg_mechs", major, minor, GSS_C_NO_OID);
    return SEC_E_OK;
}

/* Whether Negotiate may use `which` ("Kerberos" / "NTLM") and nothing else. */
static int only_mech(const sspi_cred_options *opts, const char *which)
{
    size_t i;
    int kerberos = 0, ntlm = 0;
    if (opts->mechs) {
        for (i = 0; i < opts->mech_count; i++) {
            if (opts->mechs[i] && strcasecmp(opts->mechs[i], "Kerberos") == 0)
                kerberos = 1;
            else if (opts->mechs[i] && strcasecmp(opts->mechs[i], "NTLM") == 0)
                ntlm = 1;
        }
    } else {
        kerberos = ntlm = 1;
    }
    for (i = 0; opts->reject && i < opts->reject_count; i++) {
        if (opts->reject[i] && strcasecmp(opts->reject[i], "Kerberos") == 0)
            kerberos = 0;
        else if (opts->reject[i] && strcasecmp(opts->reject[i], "NTLM") == 0)
            ntlm = 0;
    }
    return strcmp(which, "NTLM") == 0 ? ntlm && !kerberos : kerberos && !ntlm;
}

static void hex16(const unsigned char *in, char out[33])
{
    static const char digits[] = "0123456789abcdef";
    int i;
    for (i = 0; i < 16; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[32] = '\0';
}

sspi_status sspi_gss_acquire(sspi_credential *cred, const sspi_cred_options *opts, sspi_error *err)
{
    const sspi_option_value *impersonate = sspi_option_get(opts, "impersonate");
    const sspi_option_value *delegation = sspi_option_get(opts, "delegation");
    sspi_status st = impersonate ? sspi_gss_acquire_s4u(cred, opts, impersonate->string, err)
                                 : sspi_gss_acquire_plain(cred, opts, err);
    if (st == SEC_E_OK && delegation && strcmp(delegation->string, "always") == 0)
        ((sspi_gss_cred *)cred->impl)->delegate_always = 1;
    return st;
}

sspi_status sspi_gss_acquire_plain(sspi_credential *cred, const sspi_cred_options *opts,
                                   sspi_error *err)
{
    sspi_gss_cred *impl;
    gss_OID_desc mech;
    gss_OID_set_desc mechs;
    gss_name_t name = GSS_C_NO_NAME;
    gss_key_value_element_desc elements[6];
    gss_key_value_set_desc store;
    char nt_hex[33];
    char own_ccache[64];
    OM_uint32 major = GSS_S_COMPLETE, minor = 0;
    const char *what = "gss_acquire_cred";
    sspi_status st;

    sspi_gss_provider_oid(cred->provider, &mech);
    mechs.count = 1;
    mechs.elements = &mech;

    st = sspi_gss_cred_shell(cred, err);
    if (st != SEC_E_OK)
        return st;
    impl = cred->impl;

    if (opts->nt_hash && impl->kind != SSPI_GSS_MECH_NTLM)
        return sspi_error_set(err, SEC_E_UNKNOWN_CREDENTIALS,
                              "nt_hash is an NTLM credential; %s cannot use it",
                              cred->provider->info.name);
    if ((opts->password || opts->nt_hash) && opts->username == NULL)
        return sspi_error_set(err, SEC_E_UNKNOWN_CREDENTIALS,
                              "a password or nt_hash needs a username (\"user@REALM\" or "
                              "\"DOMAIN\\\\user\")");
    /* gss-ntlmssp 1.2 reads a cred store for an unnamed acceptor as an
     * initiator credential (the file's first user) and crashes accepting
     * with it inside SPNEGO; named "@" it is an acceptor, but MIT's SPNEGO
     * gives every mechanism that one name and Kerberos has no key for it. */
    if (impl->kind == SSPI_GSS_MECH_SPNEGO && cred->usage == SSPI_CRED_INBOUND &&
        opts->user_file && opts->username == NULL && !only_mech(opts, "NTLM"))
        return sspi_error_set(err, SEC_E_UNKNOWN_CREDENTIALS,
                              "Negotiate (gssapi): gss-ntlmssp reads a user_file only for a named "
                              "acceptor: give the service name (username = \"HTTP/host\"), or "
                              "mechs = { \"NTLM\" }, or use backend = \"builtin\"");
    st = desired_name(cred, opts, impl->kind, &name, err);
    if (st != SEC_E_OK)
        return st;

    store.count = 0;
    store.elements = elements;
    if (opts->nt_hash) {
        hex16(opts->nt_hash, nt_hex);
        elements[store.count].key = "ntlmssp_nthash";
        elements[store.count++].value = nt_hex;
    }
    if (opts->ccache) {
        elements[store.count].key = "ccache";
        elements[store.count++].value = opts->ccache;
    }
    if (opts->keytab) {
        elements[store.count].key = "keytab";
        elements[store.count++].value = opts->keytab;
    }
    if (opts->client_keytab) {
        elements[store.count].key = "client_keytab";
        elements[store.count++].value = opts->client_keytab;
        /* Without a ccache MIT would use (and write to) the default one:
         * keep the tickets got from the keytab in a cache of our own. */
        if (opts->ccache == NULL) {
            snprintf(own_ccache, sizeof own_ccache, "MEMORY:sspi-%p", (void *)impl);
            elements[store.count].key = "ccache";
            elements[store.count++].value = own_ccache;
        }
    }
    if (opts->user_file) {
        elements[store.count].key = "ntlmssp_keyfile";
        elements[store.count++].value = opts->user_file;
    }

    if (opts->password && impl->kind == SSPI_GSS_MECH_SPNEGO && only_mech(opts, "Kerberos")) {
        /* SPNEGO takes a password credential if any mechanism does (and
         * gss-ntlmssp takes any): with Kerberos the only choice, ask
         * Kerberos first so a wrong password fails here, as it would alone. */
        gss_cred_id_t probe = GSS_C_NO_CREDENTIAL;
        gss_OID_set_desc krb5_only = {1, sspi_gss_mech_oid(SSPI_GSS_MECH_KRB5)};
        gss_buffer_desc pw;
        OM_uint32 ignored;
        pw.value = (void *)opts->password;
        pw.length = opts->password_len;
        major = gss_acquire_cred_with_password(&minor, name, &pw, GSS_C_INDEFINITE, &krb5_only,
                                               gss_usage(cred->usage), &probe, NULL, NULL);
        if (GSS_ERROR(major)) {
            gss_release_name(&ignored, &name);
            return sspi_gss_fail(err, "gss_acquire_cred_with_password (Kerberos)", major, minor,
                                 krb5_only.elements);
        }
        gss_release_cred(&ignored, &probe);
    }
    if (opts->password) {
        gss_buffer_desc pw;
        pw.value = (void *)opts->password;
        pw.length = opts->password_len;
        what = "gss_acquire_cred_with_password";
        major = gss_acquire_cred_with_password(&minor, name, &pw, GSS_C_INDEFINITE, &mechs,
                                               gss_usage(cred->usage), &impl->cred, NULL, NULL);
    } else if (store.count > 0) {
        what = "gss_acquire_cred_from";
        major = gss_acquire_cred_from(&minor, name, GSS_C_INDEFINITE, &mechs,
                                      gss_usage(cred->usage), &store, &impl->cred, NULL, NULL);
    } else {
        major = gss_acquire_cred(&minor, name, GSS_C_INDEFINITE, &mechs, gss_usage(cred->usage),
                                 &impl->cred, NULL, NULL);
    }
    sspi_wipe(nt_hex, sizeof nt_hex);
    if (name != GSS_C_NO_NAME) {
        OM_uint32 ignored;
        gss_release_name(&ignored, &name);
    }
    if (GSS_ERROR(major)) {
        impl->cred = GSS_C_NO_CREDENTIAL;
        return sspi_gss_fail(err, what, major, minor, &mech);
    }
    cred->expiry = sspi_gss_cred_expiry(impl->cred);
    if (impl->kind != SSPI_GSS_MECH_NTLM)
        impl->clockskew = krb5_clockskew();
    if (impl->kind == SSPI_GSS_MECH_SPNEGO) {
        st = set_neg_mechs(impl, opts, err);
        if (st != SEC_E_OK)
            return st;
    }
    return sspi_gss_accept_side(cred, opts, err);
}

sspi_status sspi_gss_cred_shell(sspi_credential *cred, sspi_error *err)
{
    sspi_gss_cred *c;
    gss_OID_desc mech;
    if (cred->impl)
        return SEC_E_OK;
    c = sspi_mem_zalloc(&cred->alloc, sizeof *c, "credential", err);
    if (c == NULL)
        return SEC_E_INSUFFICIENT_MEMORY;
    c->cred = GSS_C_NO_CREDENTIAL;
    c->accept_cred = GSS_C_NO_CREDENTIAL;
    sspi_gss_provider_oid(cred->provider, &mech);
    c->kind = sspi_gss_mech_kind_of(&mech);
    cred->impl = c;
    return SEC_E_OK;
}

/* gss_inquire_cred counts the seconds left from a "now" of its own: read
 * the clock around it until it did not tick, so the end time is exact. */
int64_t sspi_gss_cred_expiry(gss_cred_id_t handle)
{
    OM_uint32 major, minor, lifetime = 0;
    time_t t0 = 0;
    int i;
    for (i = 0; i < 3; i++) {
        t0 = time(NULL);
        major = gss_inquire_cred(&minor, handle, NULL, &lifetime, NULL, NULL);
        if (GSS_ERROR(major) || lifetime == GSS_C_INDEFINITE)
            return 0;
        if (time(NULL) == t0)
            break;
    }
    return (int64_t)t0 + (int64_t)lifetime;
}

void sspi_gss_drop_name(gss_name_t *name)
{
    OM_uint32 minor;
    if (*name != GSS_C_NO_NAME)
        gss_release_name(&minor, name);
    *name = GSS_C_NO_NAME;
}

void sspi_gss_drop_cred(gss_cred_id_t *cred)
{
    OM_uint32 minor;
    if (*cred != GSS_C_NO_CREDENTIAL)
        gss_release_cred(&minor, cred);
    *cred = GSS_C_NO_CREDENTIAL;
}

void sspi_gss_free_cred(sspi_credential *cred)
{
    sspi_gss_cred *impl = cred->impl;
    if (impl == NULL)
        return;
    sspi_gss_drop_cred(&impl->cred);
    sspi_gss_drop_cred(&impl->accept_cred);
    sspi_mem_free(&cred->alloc, impl, sizeof *impl);
    cred->impl = NULL;
}

sspi_status sspi_gss_cred_copy(const sspi_gss_cred *cred, gss_cred_id_t *out, sspi_error *err)
{
    gss_buffer_desc token = GSS_C_EMPTY_BUFFER;
    OM_uint32 major, minor, ignored;

    *out = GSS_C_NO_CREDENTIAL;
    major = gss_export_cred(&minor, cred->cred, &token);
    if (GSS_ERROR(major))
        return sspi_gss_fail(err, "gss_export_cred (a handle of the context's own)", major,
                             minor, GSS_C_NO_OID);
    major = gss_import_cred(&minor, &token, out);
    /* A MEMORY cache travels by value: the token holds the tickets. */
    sspi_wipe(token.value, token.length);
    gss_release_buffer(&ignored, &token);
    if (GSS_ERROR(major)) {
        *out = GSS_C_NO_CREDENTIAL;
        return sspi_gss_fail(err, "gss_import_cred (a handle of the context's own)", major,
                             minor, GSS_C_NO_OID);
    }
    if (cred->kind == SSPI_GSS_MECH_SPNEGO && cred->neg_count > 0) {
        gss_OID_set_desc set;
        set.count = cred->neg_count;
        set.elements = (gss_OID)cred->neg;
        major = gss_set_neg_mechs(&minor, *out, &set);
        if (GSS_ERROR(major)) {
            gss_release_cred(&ignored, out);
            return sspi_gss_fail(err, "gss_set_neg_mechs", major, minor, GSS_C_NO_OID);
        }
    }
    return SEC_E_OK;
}
