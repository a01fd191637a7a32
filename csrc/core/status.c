/*
 * status.c - the SECURITY_STATUS table (stable names, Windows values,
 * Windows' own texts) and the error details filled by every call.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define S(name, text) {#name, name, text}

static const sspi_status_info status_table[] = {
    S(SEC_E_OK, "The operation completed successfully"),
    S(SEC_I_CONTINUE_NEEDED, "The function completed successfully, but must be called again to complete the context"),
    S(SEC_I_COMPLETE_NEEDED, "The function completed successfully, but CompleteToken must be called"),
    S(SEC_I_COMPLETE_AND_CONTINUE, "The function completed successfully, but both CompleteToken and this function must be called to complete the context"),
    S(SEC_I_LOCAL_LOGON, "The logon was completed, but no network authority was available"),
    S(SEC_I_GENERIC_EXTENSION_RECEIVED, "A generic extension was received"),
    S(SEC_I_CONTEXT_EXPIRED, "The context has expired and can no longer be used"),
    S(SEC_I_INCOMPLETE_CREDENTIALS, "The credentials supplied were not complete, and could not be verified"),
    S(SEC_I_RENEGOTIATE, "The context data must be renegotiated with the peer"),
    S(SEC_I_NO_LSA_CONTEXT, "There is no LSA mode context associated with this context"),
    S(SEC_I_SIGNATURE_NEEDED, "A signature operation must be performed before the user can authenticate"),
    S(SEC_I_NO_RENEGOTIATION, "The recipient rejected the renegotiation request"),
    S(SEC_I_MESSAGE_FRAGMENT, "The returned buffer is only a fragment of the message"),
    S(SEC_I_CONTINUE_NEEDED_MESSAGE_OK, "The function completed successfully, but must be called again; the message is valid"),
    S(SEC_I_ASYNC_CALL_PENDING, "An asynchronous SSPI routine has been called and the work is pending completion"),
    S(SEC_E_INSUFFICIENT_MEMORY, "Not enough memory is available to complete this request"),
    S(SEC_E_INVALID_HANDLE, "The handle specified is invalid"),
    S(SEC_E_UNSUPPORTED_FUNCTION, "The function requested is not supported"),
    S(SEC_E_TARGET_UNKNOWN, "The specified target is unknown or unreachable"),
    S(SEC_E_INTERNAL_ERROR, "The Local Security Authority cannot be contacted"),
    S(SEC_E_SECPKG_NOT_FOUND, "The requested security package does not exist"),
    S(SEC_E_NOT_OWNER, "The caller is not the owner of the desired credentials"),
    S(SEC_E_CANNOT_INSTALL, "The security package failed to initialize, and cannot be installed"),
    S(SEC_E_INVALID_TOKEN, "The token supplied to the function is invalid"),
    S(SEC_E_CANNOT_PACK, "The security package is not able to marshal the logon buffer"),
    S(SEC_E_QOP_NOT_SUPPORTED, "The per-message Quality of Protection is not supported by the security package"),
    S(SEC_E_NO_IMPERSONATION, "The security context does not allow impersonation of the client"),
    S(SEC_E_LOGON_DENIED, "The logon attempt failed"),
    S(SEC_E_UNKNOWN_CREDENTIALS, "The credentials supplied to the package were not recognized"),
    S(SEC_E_NO_CREDENTIALS, "No credentials are available in the security package"),
    S(SEC_E_MESSAGE_ALTERED, "The message or signature supplied for verification has been altered"),
    S(SEC_E_OUT_OF_SEQUENCE, "The message supplied for verification is out of sequence"),
    S(SEC_E_NO_AUTHENTICATING_AUTHORITY, "No authority could be contacted for authentication"),
    S(SEC_E_CONTEXT_EXPIRED, "The context has expired and can no longer be used"),
    S(SEC_E_INCOMPLETE_MESSAGE, "The supplied message is incomplete; the signature was not verified"),
    S(SEC_E_INCOMPLETE_CREDENTIALS, "The credentials supplied were not complete, and could not be verified"),
    S(SEC_E_BUFFER_TOO_SMALL, "The buffers supplied to a function was too small"),
    S(SEC_E_WRONG_PRINCIPAL, "The target principal name is incorrect"),
    S(SEC_E_TIME_SKEW, "The clocks on the client and server machines are skewed"),
    S(SEC_E_UNTRUSTED_ROOT, "The certificate chain was issued by an authority that is not trusted"),
    S(SEC_E_ILLEGAL_MESSAGE, "The message received was unexpected or badly formatted"),
    S(SEC_E_CERT_UNKNOWN, "An unknown error occurred while processing the certificate"),
    S(SEC_E_CERT_EXPIRED, "The received certificate has expired"),
    S(SEC_E_ENCRYPT_FAILURE, "The specified data could not be encrypted"),
    S(SEC_E_DECRYPT_FAILURE, "The specified data could not be decrypted"),
    S(SEC_E_ALGORITHM_MISMATCH, "The client and server cannot communicate, because they do not possess a common algorithm"),
    S(SEC_E_SECURITY_QOS_FAILED, "The security context could not be established due to a failure in the requested quality of service"),
    S(SEC_E_UNFINISHED_CONTEXT_DELETED, "A security context was deleted before the context was completed"),
    S(SEC_E_NO_TGT_REPLY, "The client is trying to negotiate a context and the server requires user-to-user but did not send a TGT reply"),
    S(SEC_E_NO_IP_ADDRESSES, "Unable to accomplish the requested task because the local machine does not have any IP addresses"),
    S(SEC_E_WRONG_CREDENTIAL_HANDLE, "The supplied credential handle does not match the credential associated with the security context"),
    S(SEC_E_CRYPTO_SYSTEM_INVALID, "The cryptographic system or checksum function is invalid"),
    S(SEC_E_MAX_REFERRALS_EXCEEDED, "The number of maximum ticket referrals has been exceeded"),
    S(SEC_E_MUST_BE_KDC, "The local machine must be a Kerberos KDC and it is not"),
    S(SEC_E_STRONG_CRYPTO_NOT_SUPPORTED, "The other end of the security negotiation requires strong crypto but it is not supported on the local machine"),
    S(SEC_E_TOO_MANY_PRINCIPALS, "The KDC reply contained more than one principal name"),
    S(SEC_E_NO_PA_DATA, "Expected to find PA data for a hint of what etype to use, but it was not found"),
    S(SEC_E_PKINIT_NAME_MISMATCH, "The client certificate does not contain a valid UPN, or does not match the client name in the logon request"),
    S(SEC_E_SMARTCARD_LOGON_REQUIRED, "Smartcard logon is required and was not used"),
    S(SEC_E_SHUTDOWN_IN_PROGRESS, "A system shutdown is in progress"),
    S(SEC_E_KDC_INVALID_REQUEST, "An invalid request was sent to the KDC"),
    S(SEC_E_KDC_UNABLE_TO_REFER, "The KDC was unable to generate a referral for the service requested"),
    S(SEC_E_KDC_UNKNOWN_ETYPE, "The encryption type requested is not supported by the KDC"),
    S(SEC_E_UNSUPPORTED_PREAUTH, "An unsupported preauthentication mechanism was presented to the Kerberos package"),
    S(SEC_E_DELEGATION_REQUIRED, "The requested operation cannot be completed; the computer must be trusted for delegation"),
    S(SEC_E_BAD_BINDINGS, "Client's supplied SSPI channel bindings were incorrect"),
    S(SEC_E_MULTIPLE_ACCOUNTS, "The received certificate was mapped to multiple accounts"),
    S(SEC_E_NO_KERB_KEY, "No Kerberos key was found"),
    S(SEC_E_CERT_WRONG_USAGE, "The certificate is not valid for the requested usage"),
    S(SEC_E_DOWNGRADE_DETECTED, "The system cannot contact a domain controller to service the authentication request"),
    S(SEC_E_SMARTCARD_CERT_REVOKED, "The smartcard certificate used for authentication has been revoked"),
    S(SEC_E_ISSUING_CA_UNTRUSTED, "An untrusted certificate authority was detected while processing the smartcard certificate"),
    S(SEC_E_REVOCATION_OFFLINE_C, "The revocation status of the smartcard certificate could not be determined"),
    S(SEC_E_PKINIT_CLIENT_FAILURE, "The smartcard certificate used for authentication was not trusted"),
    S(SEC_E_SMARTCARD_CERT_EXPIRED, "The smartcard certificate used for authentication has expired"),
    S(SEC_E_NO_S4U_PROT_SUPPORT, "The Kerberos subsystem encountered an error; a service for user protocol request was made against a domain controller which does not support it"),
    S(SEC_E_CROSSREALM_DELEGATION_FAILURE, "An attempt was made by this server to make a Kerberos constrained delegation request for a target outside of the server's realm"),
    S(SEC_E_REVOCATION_OFFLINE_KDC, "The revocation status of the domain controller certificate could not be determined"),
    S(SEC_E_ISSUING_CA_UNTRUSTED_KDC, "An untrusted certificate authority was detected while processing the domain controller certificate"),
    S(SEC_E_KDC_CERT_EXPIRED, "The domain controller certificate used for smartcard logon has expired"),
    S(SEC_E_KDC_CERT_REVOKED, "The domain controller certificate used for smartcard logon has been revoked"),
    S(SEC_E_INVALID_PARAMETER, "One or more of the parameters passed to the function was invalid"),
    S(SEC_E_DELEGATION_POLICY, "The client policy does not allow credential delegation to the target server"),
    S(SEC_E_POLICY_NLTM_ONLY, "The client policy does not allow credential delegation to the target server with NTLM only authentication"),
    S(SEC_E_NO_CONTEXT, "The requested security context does not exist"),
    S(SEC_E_PKU2U_CERT_FAILURE, "The PKU2U protocol encountered an error while attempting to utilize the associated certificates"),
    S(SEC_E_MUTUAL_AUTH_FAILED, "The identity of the server computer could not be verified"),
    S(SEC_E_ONLY_HTTPS_ALLOWED, "Only https scheme is allowed"),
    S(SEC_E_APPLICATION_PROTOCOL_MISMATCH, "No common application protocol exists between the client and the server"),
    S(SEC_E_EXT_BUFFER_TOO_SMALL, "The supplied SEC_BUFFER_EXT buffer is too small"),
    S(SEC_E_INSUFFICIENT_BUFFERS, "Not enough secbuffers were supplied to generate a token"),
    {NULL, 0, NULL},
};

#undef S

const sspi_status_info *sspi_status_table(void)
{
    return status_table;
}

const sspi_status_info *sspi_status_lookup(sspi_status code)
{
    const sspi_status_info *row;
    for (row = status_table; row->name; row++)
        if (row->code == code)
            return row;
    return NULL;
}

const char *sspi_status_name(sspi_status code)
{
    const sspi_status_info *row = sspi_status_lookup(code);
    if (row)
        return row->name;
    return SSPI_SUCCESS(code) ? "SEC_I_UNKNOWN" : "SEC_E_UNKNOWN";
}

sspi_status sspi_error_set(sspi_error *err, sspi_status status, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL)
        return status;
    err->status = status;
    err->has_gss = 0;
    err->major = 0;
    err->minor = 0;
    err->needed = 0;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    if (err->message[0] == '\0') {
        const sspi_status_info *row = sspi_status_lookup(status);
        snprintf(err->message, sizeof err->message, "%s", row ? row->message : "unknown status");
    }
    return status;
}

void sspi_error_clear(sspi_error *err)
{
    if (err == NULL)
        return;
    /* Not a memset of the whole: every message call clears one, and the
     * message is a string (read up to its nul), 1 KiB that needs no zeroing. */
    memset(err, 0, offsetof(sspi_error, message));
    err->message[0] = '\0';
}
