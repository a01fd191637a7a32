/*
 * gss_both.c - what a usage = "both" credential accepts with, when
 * gss-ntlmssp is in it.
 *
 * gss-ntlmssp 1.2 cannot accept with a user's credential, and a "both"
 * credential with a user in it (a username, or a user_file without one:
 * its first user) is one.  Its gss_accept_sec_context sees the credential
 * is not a server's (GSS_S_DEFECTIVE_CREDENTIAL) and goes to its cleanup,
 * which calls gssntlm_delete_sec_context on its local context pointer
 * before anything was stored in it: free() of stack garbage, a crash of
 * the process.  So that call never sees such a credential:
 *  - NTLM accepts with a server credential of its own (no name, or "@"
 *    with a user_file, as an inbound credential would), its users from
 *    user_file (or NTLM_USER_FILE);
 *  - SPNEGO cannot be given another credential per mechanism: it accepts
 *    with an inbound SPNEGO credential of the same name and keytab that
 *    negotiates Kerberos only.  When Kerberos is not negotiable, or has
 *    nothing to accept with, step_accept refuses with accept_refused.
 */
#include <string.h>

#include "gss_private.h"

/* Whether gss-ntlmssp made `handle` a user's credential: it says
 * GSS_C_INITIATE for those, whatever usage was asked for. */
static int ntlm_user_cred(gss_cred_id_t handle)
{
    OM_uint32 major, minor;
    gss_cred_usage_t usage = GSS_C_BOTH;
    major = gss_inquire_cred_by_mech(&minor, handle, sspi_gss_mech_oid(SSPI_GSS_MECH_NTLM), NULL,
                                     NULL, NULL, &usage);
    return GSS_ERROR(major) || usage == GSS_C_INITIATE;
}

static sspi_status ntlm_acceptor(sspi_gss_cred *impl, const char *user_file, sspi_error *err)
{
    gss_OID_set_desc mechs = {1, sspi_gss_mech_oid(SSPI_GSS_MECH_NTLM)};
    gss_key_value_element_desc element = {"ntlmssp_keyfile", user_file};
    gss_key_value_set_desc store = {1, &element};
    gss_buffer_desc host = {1, (void *)"@"};
    gss_name_t name = GSS_C_NO_NAME;
    OM_uint32 major, minor, ignored;

    if (!ntlm_user_cred(impl->cred))
        return SEC_E_OK;
    /* Unnamed, gss-ntlmssp reads a cred store as a user's credential. */
    if (user_file) {
        major = gss_import_name(&minor, &host, GSS_C_NT_HOSTBASED_SERVICE, &name);
        if (GSS_ERROR(major))
            return sspi_gss_fail(err, "importing the acceptor name", major, minor, GSS_C_NO_OID);
    }
    major = user_file ? gss_acquire_cred_from(&minor, name, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT,
                                              &store, &impl->accept_cred, NULL, NULL)
                      : gss_acquire_cred(&minor, name, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT,
                                         &impl->accept_cred, NULL, NULL);
    if (name != GSS_C_NO_NAME)
        gss_release_name(&ignored, &name);
    if (GSS_ERROR(major)) {
        impl->accept_cred = GSS_C_NO_CREDENTIAL;
        return sspi_gss_fail(err, "gss_acquire_cred (NTLM's acceptor, for usage \"both\")", major,
                             minor, mechs.elements);
    }
    if (ntlm_user_cred(impl->accept_cred)) {
        sspi_gss_drop_cred(&impl->accept_cred);
        impl->accept_refused = "NTLM (gssapi): gss-ntlmssp gave a user's credential for the "
                               "acceptor of this usage = \"both\" credential, and cannot accept "
                               "with one: accept with an inbound credential";
    }
    return SEC_E_OK;
}

/* SPNEGO: an inbound credential that negotiates Kerberos only. */
static sspi_status spnego_acceptor(sspi_gss_cred *impl, const sspi_cred_options *opts,
                                   sspi_error *err)
{
    static const char *const no_kerberos =
        "Negotiate (gssapi): a usage = \"both\" credential accepts with Kerberos only "
        "(gss-ntlmssp cannot accept with a user's credential), and this one has no Kerberos "
        "to accept with: accept with an inbound credential";
    gss_OID_set_desc mechs = {1, sspi_gss_mech_oid(SSPI_GSS_MECH_SPNEGO)};
    gss_OID_set_desc krb5 = {1, sspi_gss_mech_oid(SSPI_GSS_MECH_KRB5)};
    gss_key_value_element_desc element = {"keytab", NULL};
    gss_key_value_set_desc store = {1, &element};
    gss_name_t name = GSS_C_NO_NAME;
    OM_uint32 major, minor, ignored;
    size_t i;
    int kerberos = impl->neg_count == 0;
    sspi_status st = SEC_E_OK;

    for (i = 0; i < impl->neg_count; i++)
        if (sspi_gss_mech_kind_of(&impl->neg[i]) == SSPI_GSS_MECH_KRB5)
            kerberos = 1;
    if (!kerberos) {
        impl->accept_refused = no_kerberos;
        return SEC_E_OK;
    }
    if (opts && opts->username)
        st = sspi_gss_import_target(opts->username, &name, err);
    else if (opts == NULL)
        major = gss_inquire_cred(&minor, impl->cred, &name, NULL, NULL, NULL);
    if (st != SEC_E_OK)
        return st;
    element.value = opts ? opts->keytab : NULL;
    major = element.value ? gss_acquire_cred_from(&minor, name, GSS_C_INDEFINITE, &mechs,
                                                  GSS_C_ACCEPT, &store, &impl->accept_cred, NULL,
                                                  NULL)
                          : gss_acquire_cred(&minor, name, GSS_C_INDEFINITE, &mechs,
                                             GSS_C_ACCEPT, &impl->accept_cred, NULL, NULL);
    sspi_gss_drop_name(&name);
    if (!GSS_ERROR(major))
        major = gss_set_neg_mechs(&minor, impl->accept_cred, &krb5);
    if (GSS_ERROR(major)) {
        gss_release_cred(&ignored, &impl->accept_cred);
        impl->accept_cred = GSS_C_NO_CREDENTIAL;
        impl->accept_refused = no_kerberos;
    }
    return SEC_E_OK;
}

sspi_status sspi_gss_accept_side(sspi_credential *cred, const sspi_cred_options *opts,
                                 sspi_error *err)
{
    sspi_gss_cred *impl = cred->impl;
    if (cred->usage != SSPI_CRED_BOTH)
        return SEC_E_OK;
    if (impl->kind == SSPI_GSS_MECH_NTLM)
        return ntlm_acceptor(impl, opts ? opts->user_file : NULL, err);
    if (impl->kind == SSPI_GSS_MECH_SPNEGO)
        return spnego_acceptor(impl, opts, err);
    return SEC_E_OK;
}
