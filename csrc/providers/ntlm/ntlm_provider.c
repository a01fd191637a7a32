/*
 * ntlm_provider.c - the vtable of the built-in NTLM provider ("NTLM",
 * backend "builtin"), the default for package "NTLM".
 */
#include "ntlm.h"
#include "../../core/oids.h"

static sspi_status available(sspi_error *err)
{
    return sspi_ntlm_crypto_ready(err);
}

/* 1.3.6.1.4.1.311.2.2.10, the NTLMSSP mechanism OID (for Negotiate). */
static const unsigned char ntlm_oid[] = {SSPI_OID_NTLM};

const sspi_provider sspi_ntlm_builtin_provider = {
    .info = {.name = "NTLM",
             .comment = "NTLM Security Package (built-in, MS-NLMP)",
             .backend = "builtin",
             .capabilities = SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_TOKEN_ONLY |
                             SECPKG_FLAG_CONNECTION | SECPKG_FLAG_MULTI_REQUIRED |
                             SECPKG_FLAG_IMPERSONATION | SECPKG_FLAG_ACCEPT_WIN32_NAME |
                             SECPKG_FLAG_NEGOTIABLE | SECPKG_FLAG_LOGON |
                             SECPKG_FLAG_READONLY_WITH_CHECKSUM,
             .version = 1,
             .rpcid = 10, /* RPC_C_AUTHN_WINNT */
             .max_token = NTLM_MAX_TOKEN},
    .mech_oid = ntlm_oid,
    .mech_oid_len = sizeof ntlm_oid,
    .available = available,
    .options = {sspi_options_identity, sspi_options_ntlm, sspi_options_ntlm_builtin},
    .acquire = sspi_ntlm_acquire,
    .free_cred = sspi_ntlm_free_cred,
    .init_step = sspi_ntlm_step, /* one step: the legs follow the context's side */
    .accept_step = sspi_ntlm_step,
    /* no .complete: NTLM never asks for CompleteAuthToken */
    .query = sspi_ntlm_query,
    .encrypt = sspi_ntlm_encrypt,
    .decrypt = sspi_ntlm_decrypt,
    .sign = sspi_ntlm_sign,
    .verify = sspi_ntlm_verify,
    .wrap = sspi_ntlm_wrap,
    .unwrap = sspi_ntlm_unwrap,
    .get_mic = sspi_ntlm_get_mic,
    .verify_mic = sspi_ntlm_verify_mic,
    .control = sspi_ntlm_control,
    .free_context = sspi_ntlm_free_context,
    .export_context = sspi_ntlm_export_context,
    .import_context = sspi_ntlm_import_context,
};
