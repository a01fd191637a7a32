/*
 * sch_status.c - OpenSSL's failures as Schannel's statuses.  The table is
 * the one DESIGN.md pins: an untrusted chain SEC_E_UNTRUSTED_ROOT, a name
 * mismatch SEC_E_WRONG_PRINCIPAL, an expired (or not yet valid) certificate
 * SEC_E_CERT_EXPIRED, no common protocol or cipher found on our side
 * SEC_E_ALGORITHM_MISMATCH, an alert from the peer or bytes that are not
 * valid TLS SEC_E_ILLEGAL_MESSAGE (with the alert's description), a
 * required client certificate that never came SEC_E_NO_CREDENTIALS, a
 * record that fails its authentication SEC_E_DECRYPT_FAILURE.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "schannel.h"

void sch_errors_reset(void)
{
    /* SSL_get_error decides SSL_ERROR_SSL by ERR_peek_error, so the queue must
     * be empty before an SSL call; peeking first keeps an already empty queue
     * (every call after a successful one) from paying ERR_clear_error's pass
     * over all the queue's slots, twice per wrap+unwrap. */
    if (ERR_peek_error() != 0)
        ERR_clear_error();
}

const char *sch_protocol_name(int version)
{
    switch (version) {
    case TLS1_3_VERSION: return "TLSv1.3";
    case TLS1_2_VERSION: return "TLSv1.2";
    case TLS1_1_VERSION: return "TLSv1.1";
    case TLS1_VERSION: return "TLSv1";
    case SSL3_VERSION: return "SSLv3";
    default: return "unknown";
    }
}

static sspi_status from_verify(long v, sspi_status *st)
{
    switch (v) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return *st = SEC_E_CERT_EXPIRED;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
        return *st = SEC_E_WRONG_PRINCIPAL;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
        return *st = SEC_E_UNTRUSTED_ROOT;
    case X509_V_ERR_INVALID_PURPOSE:
        return *st = SEC_E_CERT_WRONG_USAGE;
    case X509_V_ERR_CERT_REVOKED:
        return *st = SEC_E_CERT_UNKNOWN;
    default:
        return *st = SEC_E_CERT_UNKNOWN;
    }
}

static int is_mismatch(int reason)
{
    switch (reason) {
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_CIPHERS_AVAILABLE:
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_VERSION_TOO_HIGH:
    case SSL_R_WRONG_SSL_VERSION:
    case SSL_R_UNSUPPORTED_SSL_VERSION:
    case SSL_R_WRONG_CIPHER_RETURNED:
    case SSL_R_UNKNOWN_CIPHER_RETURNED:
        return 1;
    default:
        return 0;
    }
}

sspi_status sch_status_from_ssl(sch_conn *c, const char *what, int ssl_error, sspi_status fallback,
                                sspi_error *err)
{
    unsigned long e = ERR_peek_error();
    char text[256];
    sspi_status st = fallback;
    int reason;

    if (e == 0) {
        ERR_clear_error();
        return sspi_error_set(err, fallback, "Schannel: %s failed (SSL error %d)", what, ssl_error);
    }
    ERR_error_string_n(e, text, sizeof text);
    reason = ERR_GET_REASON(e);
    ERR_clear_error();
    if (ERR_GET_LIB(e) != ERR_LIB_SSL)
        return sspi_error_set(err, fallback, "Schannel: %s failed: %s", what, text);

    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        long v = SSL_get_verify_result(c->ssl);
        from_verify(v, &st);
        return sspi_error_set(err, st, "Schannel: %s: the %s certificate was refused: %s", what,
                              c->server ? "client's" : "server's", X509_verify_cert_error_string(v));
    }
    if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
        int alert = reason - SSL_AD_REASON_OFFSET;
        return sspi_error_set(err, SEC_E_ILLEGAL_MESSAGE,
                              "Schannel: %s: the peer sent a fatal alert: %s (%d)", what,
                              SSL_alert_desc_string_long(alert), alert);
    }
    if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
        return sspi_error_set(err, SEC_E_NO_CREDENTIALS,
                              "Schannel: %s: the client sent no certificate and one is required",
                              what);
    if (is_mismatch(reason))
        return sspi_error_set(err, SEC_E_ALGORITHM_MISMATCH,
                              "Schannel: %s: no protocol or cipher suite in common: %s", what,
                              text);
    if (reason == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC)
        return sspi_error_set(err, SEC_E_DECRYPT_FAILURE,
                              "Schannel: %s: a record failed its authentication (altered?): %s",
                              what, text);
    if (reason == SSL_R_PROTOCOL_IS_SHUTDOWN)
        return sspi_error_set(err, SEC_E_CONTEXT_EXPIRED,
                              "Schannel: %s: the connection was shut down", what);
    return sspi_error_set(err, st, "Schannel: %s failed: %s", what, text);
}
