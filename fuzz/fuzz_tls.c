/*
 * fuzz_tls.c - the in-memory TLS identity of the Schannel fuzz targets.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fuzz_common.h"
#include "fuzz_tls.h"

/* A P-256 key and a self-signed certificate for "localhost", as PEM text. */
void sspi_fuzz_tls_identity(char **cert_pem, char **key_pem)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
    X509_NAME *name;
    char *p;
    long n;
    FUZZ_CHECK(key && x && cb && kb, "cannot make a test key");
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, name);
    FUZZ_CHECK(X509_sign(x, key, EVP_sha256()) > 0, "cannot sign the test certificate");
    PEM_write_bio_X509(cb, x);
    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(cb, &p);
    *cert_pem = calloc(1, (size_t)n + 1);
    memcpy(*cert_pem, p, (size_t)n);
    n = BIO_get_mem_data(kb, &p);
    *key_pem = calloc(1, (size_t)n + 1);
    memcpy(*key_pem, p, (size_t)n);
    BIO_free(cb);
    BIO_free(kb);
    X509_free(x);
    EVP_PKEY_free(key);
}

void sspi_fuzz_tls_creds(const char *cert_pem, const char *key_pem, uint32_t protocols,
                         sch_cred **server, sch_cred **client)
{
    sch_cred_config sc, cc;
    sspi_error err;
    memset(&sc, 0, sizeof sc);
    memset(&cc, 0, sizeof cc);
    sc.server = 1;
    sc.certificate = cert_pem;
    sc.private_key = key_pem;
    sc.verify = -1;
    sc.protocols = protocols;
    cc.verify = 0; /* a self-signed server: no trust decisions here */
    cc.protocols = protocols;
    FUZZ_CHECK(sch_cred_new(&sc, sspi_fuzz_allocator(), server, &err) == SEC_E_OK,
               "server credential: %s", err.message);
    FUZZ_CHECK(sch_cred_new(&cc, sspi_fuzz_allocator(), client, &err) == SEC_E_OK,
               "client credential: %s", err.message);
}
