/*
 * gss_s4u.c - protocol transition (S4U2Self): a credential for a user who
 * never gave us a ticket, made by the service from its own credential with
 * MIT's gss_acquire_cred_impersonate_name.
 *
 * The service's credential is acquired as any other, with usage "both"
 * (MIT asks for an initiator credential, and a keytab alone is used as the
 * client keytab too), then exchanged for the user's.  The result is an
 * outbound credential: a context on it to the service itself presents the
 * S4U2Self ticket; to any other target MIT asks the KDC for constrained
 * delegation (S4U2Proxy), which the KDC grants only to targets in the
 * service's allowed list (MIT: the LDAP KDB's krbAllowedToDelegateTo) and
 * with an evidence ticket it made forwardable (+ok_to_auth_as_delegate).
 */
#include <string.h>

#include "gss_private.h"

sspi_status sspi_gss_acquire_s4u(sspi_credential *cred, const sspi_cred_options *opts,
                                 sspi_error *err)
{
    sspi_cred_options own = *opts;
    sspi_cred_usage usage = cred->usage;
    sspi_gss_cred *impl;
    gss_OID_desc mech;
    gss_OID_set_desc mechs;
    gss_name_t user = GSS_C_NO_NAME;
    gss_cred_id_t impersonated = GSS_C_NO_CREDENTIAL;
    OM_uint32 major, minor, ignored;
    sspi_status st;

    if (usage == SSPI_CRED_INBOUND)
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "impersonate makes an outbound credential (usage \"outbound\"), "
                              "not an inbound one");
    sspi_gss_provider_oid(cred->provider, &mech);
    if (sspi_gss_mech_kind_of(&mech) == SSPI_GSS_MECH_NTLM)
        return sspi_error_set(err, SEC_E_NO_S4U_PROT_SUPPORT,
                              "impersonate (S4U) is Kerberos; NTLM has no protocol transition");
    own.impersonate = NULL;
    if (own.keytab && !own.client_keytab && !own.ccache && !own.password)
        own.client_keytab = own.keytab;
    cred->usage = SSPI_CRED_BOTH;
    st = sspi_gss_acquire_plain(cred, &own, err);
    cred->usage = usage;
    if (st != SEC_E_OK)
        return st;
    impl = cred->impl;

    st = sspi_gss_import_user(opts->impersonate, &user, err);
    if (st != SEC_E_OK)
        return st;
    mechs.count = 1;
    mechs.elements = &mech;
    major = gss_acquire_cred_impersonate_name(&minor, impl->cred, user, GSS_C_INDEFINITE, &mechs,
                                              GSS_C_INITIATE, &impersonated, NULL, NULL);
    gss_release_name(&ignored, &user);
    if (GSS_ERROR(major))
        return sspi_gss_fail(err, "gss_acquire_cred_impersonate_name (S4U2Self)", major, minor,
                             &mech);
    /* The user's credential holds what it needs (the evidence ticket and
     * the service's TGT, in a MEMORY cache of its own). */
    gss_release_cred(&ignored, &impl->cred);
    impl->cred = impersonated;
    impl->impersonated = 1;
    cred->expiry = sspi_gss_cred_expiry(impl->cred);
    return SEC_E_OK;
}
