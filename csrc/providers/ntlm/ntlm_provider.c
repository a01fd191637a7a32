/*
 * ntlm_provider.c - the vtable of the built-in NTLM provider ("NTLM",
 * backend "builtin"), the default for package "NTLM".
 */
#include "ntlm.h"

static sspi_status available(sspi_error *err)
{
    return sspi_ntlm_crypto_ready(err);
}

/* 1.3.6.1.4.1.311.2.2.10, the NTLMSSP mechanism OID (for Negotiate). */
static const unsigned char ntlm_oid[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};

const sspi_provider sspi_ntlm_builtin_provider = {
    {
        "NTLM",
        "NTLM Security Package (built-in, MS-NLMP)",
        "builtin",
        SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_TOKEN_ONLY |
            SECPKG_FLAG_CONNECTION | SECPKG_FLAG_MULTI_REQUIRED | SECPKG_FLAG_IMPERSONATION |
            SECPKG_FLAG_ACCEPT_WIN32_NAME | SECPKG_FLAG_NEGOTIABLE | SECPKG_FLAG_LOGON |
            SECPKG_FLAG_READONLY_WITH_CHECKSUM,
        1,      /* version */
        10,     /* RPC_C_AUTHN_WINNT */
        NTLM_MAX_TOKEN,
    },
    ntlm_oid,
    sizeof ntlm_oid,
    available,
    sspi_ntlm_acquire,
    sspi_ntlm_free_cred,
    sspi_ntlm_init_step,
    sspi_ntlm_accept_step,
    NULL, /* complete: NTLM never asks for CompleteAuthToken */
    sspi_ntlm_query,
    sspi_ntlm_encrypt,
    sspi_ntlm_decrypt,
    sspi_ntlm_sign,
    sspi_ntlm_verify,
    sspi_ntlm_wrap,
    sspi_ntlm_unwrap,
    sspi_ntlm_get_mic,
    sspi_ntlm_verify_mic,
    sspi_ntlm_control,
    sspi_ntlm_free_context,
    NULL, NULL, NULL, NULL, /* export/import: not yet */
};
