/*
 * gss_provider.c - the three packages the system GSSAPI (MIT krb5) gives:
 * Kerberos (the krb5 mechanism), Negotiate (MIT's SPNEGO) and NTLM (the
 * gss-ntlmssp plugin).  One set of functions drives all three; only the
 * mechanism OID and the package info differ.
 *
 * Capabilities are Windows' values for the package, less what GSSAPI
 * cannot do here (SECPKG_FLAG_DATAGRAM: no datagram contexts;
 * SECPKG_FLAG_IMPERSONATION: no Windows tokens).  max_token is Windows'.
 */
#include <string.h>

#include "gss_private.h"
#include "../../core/oids.h"

static const unsigned char krb5_oid_der[] = {SSPI_OID_KRB5};
static const unsigned char spnego_oid_der[] = {SSPI_OID_SPNEGO};
static const unsigned char ntlm_oid_der[] = {SSPI_OID_NTLM};

static const gss_OID_desc mech_oids[] = {
    {sizeof krb5_oid_der, (void *)krb5_oid_der},
    {sizeof spnego_oid_der, (void *)spnego_oid_der},
    {sizeof ntlm_oid_der, (void *)ntlm_oid_der},
};

void sspi_gss_provider_oid(const sspi_provider *p, gss_OID_desc *oid)
{
    oid->length = (OM_uint32)p->mech_oid_len;
    oid->elements = (void *)p->mech_oid;
}

static int oid_equal(gss_const_OID a, const gss_OID_desc *b)
{
    return a != GSS_C_NO_OID && a->length == b->length &&
           memcmp(a->elements, b->elements, a->length) == 0;
}

sspi_gss_mech_kind sspi_gss_mech_kind_of(gss_const_OID oid)
{
    if (oid_equal(oid, &mech_oids[SSPI_GSS_MECH_KRB5]))
        return SSPI_GSS_MECH_KRB5;
    if (oid_equal(oid, &mech_oids[SSPI_GSS_MECH_SPNEGO]))
        return SSPI_GSS_MECH_SPNEGO;
    if (oid_equal(oid, &mech_oids[SSPI_GSS_MECH_NTLM]))
        return SSPI_GSS_MECH_NTLM;
    /* MIT also answers with the pre-RFC krb5 OIDs (1.2.840.48018.1.2.2, ...). */
    if (oid != GSS_C_NO_OID && gss_oid_equal(oid, gss_mech_krb5_old))
        return SSPI_GSS_MECH_KRB5;
    if (oid != GSS_C_NO_OID && gss_oid_equal(oid, gss_mech_krb5_wrong))
        return SSPI_GSS_MECH_KRB5;
    return SSPI_GSS_MECH_OTHER;
}

gss_OID sspi_gss_mech_oid(sspi_gss_mech_kind kind)
{
    if (kind > SSPI_GSS_MECH_NTLM)
        return GSS_C_NO_OID;
    return (gss_OID)&mech_oids[kind];
}

static sspi_status available_kind(sspi_gss_mech_kind kind, const char *package, sspi_error *err)
{
    OM_uint32 major, minor;
    gss_OID_set mechs = GSS_C_NO_OID_SET;
    int present = 0;

    major = gss_indicate_mechs(&minor, &mechs);
    if (GSS_ERROR(major))
        return sspi_gss_fail_as(err, SEC_E_SECPKG_NOT_FOUND, "gss_indicate_mechs", major, minor,
                                GSS_C_NO_OID);
    gss_test_oid_set_member(&minor, sspi_gss_mech_oid(kind), mechs, &present);
    gss_release_oid_set(&minor, &mechs);
    if (present)
        return SEC_E_OK;
    return sspi_error_set(err, SEC_E_SECPKG_NOT_FOUND,
                          "the system GSSAPI has no %s mechanism%s", package,
                          kind == SSPI_GSS_MECH_NTLM
                              ? " (install gss-ntlmssp: it registers itself in /etc/gss/mech.d)"
                              : " (install libgssapi-krb5-2)");
}

/* Each package's .available: is its mechanism in the system GSSAPI. */
#define GSS_AVAILABLE(fn, kind, label) \
    static sspi_status fn(sspi_error *err) { return available_kind(kind, label, err); }
GSS_AVAILABLE(krb5_available, SSPI_GSS_MECH_KRB5, "Kerberos")
GSS_AVAILABLE(spnego_available, SSPI_GSS_MECH_SPNEGO, "SPNEGO")
GSS_AVAILABLE(ntlm_available, SSPI_GSS_MECH_NTLM, "NTLM")

#define GSS_OPERATIONS                                                                       \
    .acquire = sspi_gss_acquire, .free_cred = sspi_gss_free_cred,                            \
    .init_step = sspi_gss_init_step, .accept_step = sspi_gss_accept_step, .complete = NULL, \
    .query = sspi_gss_query, .encrypt = sspi_gss_encrypt, .decrypt = sspi_gss_decrypt,      \
    .sign = sspi_gss_sign, .verify = sspi_gss_verify, .wrap = sspi_gss_wrap,                \
    .unwrap = sspi_gss_unwrap, .get_mic = sspi_gss_get_mic, .verify_mic = sspi_gss_verify_mic, \
    .control = sspi_gss_control, .free_context = sspi_gss_free_context,                   \
    .export_context = sspi_gss_export_context, .import_context = sspi_gss_import_context,     \
    .export_cred = sspi_gss_export_cred, .import_cred = sspi_gss_import_cred

/* One package: its info, mechanism, availability test and option sets
 * (the variadic tail); the operations are GSS_OPERATIONS for all three. */
#define GSS_PROVIDER(pkg, desc, caps, rpc, token_max, oid, avail, ...)                         \
    {                                                                                        \
        .info = {.name = pkg, .comment = desc, .backend = "gssapi",                          \
                 .capabilities = (caps) & ~(SECPKG_FLAG_DATAGRAM | SECPKG_FLAG_IMPERSONATION), \
                 .version = 1, .rpcid = rpc, .max_token = token_max},                         \
        .mech_oid = oid, .mech_oid_len = sizeof oid, .available = avail,                     \
        .options = {__VA_ARGS__}, GSS_OPERATIONS,                                            \
    }

/* rpcid: RPC_C_AUTHN_GSS_KERBEROS (16), RPC_C_AUTHN_GSS_NEGOTIATE (9),
 * RPC_C_AUTHN_WINNT (10). */
const sspi_provider sspi_gssapi_kerberos_provider =
    GSS_PROVIDER("Kerberos", "Kerberos V5 through the system GSSAPI (MIT krb5)", 0x000F3BBFu, 16,
                 48000, krb5_oid_der, krb5_available, sspi_options_identity, sspi_options_kerberos);
const sspi_provider sspi_gssapi_negotiate_provider =
    GSS_PROVIDER("Negotiate", "SPNEGO (RFC 4178) through the system GSSAPI (MIT krb5)",
                 0x00083BB3u, 9, 48256, spnego_oid_der, spnego_available, sspi_options_identity,
                 sspi_options_kerberos, sspi_options_ntlm, sspi_options_negotiate);
const sspi_provider sspi_gssapi_ntlm_provider =
    GSS_PROVIDER("NTLM", "NTLM through the system GSSAPI and gss-ntlmssp", 0x00082B37u, 10, 2888,
                 ntlm_oid_der, ntlm_available, sspi_options_identity, sspi_options_kerberos,
                 sspi_options_ntlm);

const sspi_package_info *sspi_gss_package_of(sspi_gss_mech_kind kind)
{
    switch (kind) {
    case SSPI_GSS_MECH_KRB5:
        return &sspi_gssapi_kerberos_provider.info;
    case SSPI_GSS_MECH_NTLM:
        return &sspi_gssapi_ntlm_provider.info;
    case SSPI_GSS_MECH_SPNEGO:
        return &sspi_gssapi_negotiate_provider.info;
    default:
        return NULL;
    }
}
