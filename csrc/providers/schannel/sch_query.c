/*
 * sch_query.c - QueryContextAttributes for Schannel: connection and cipher
 * information, the peer's certificate, RFC 5929 channel bindings
 * (tls-server-end-point, tls-unique), the ALPN protocol, the peer's name
 * and the certificate's lifespan.  Answers live in the connection's q*
 * buffers until the next query.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "schannel.h"

static sspi_status need_complete(const sch_conn *c, const char *what, sspi_error *err)
{
    if (!c->complete)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                              "Schannel: %s needs a completed handshake", what);
    return SEC_E_OK;
}

static sspi_status oom(sspi_error *err)
{
    return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: out of memory");
}

/* The contents of a memory BIO as a NUL-terminated string in b. */
static int bio_to_string(BIO *bio, sspi_bytes *b)
{
    char *p;
    long n = BIO_get_mem_data(bio, &p);
    if (n < 0 || sspi_bytes_set(b, p, (size_t)n) != 0 || sspi_bytes_append(b, "", 1) != 0)
        return -1;
    return 0;
}

static int name_to_string(const X509_NAME *name, sspi_bytes *b)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = -1;
    if (bio && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0)
        rc = bio_to_string(bio, b);
    BIO_free(bio);
    return rc;
}

static int64_t unix_time(const ASN1_TIME *t)
{
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    int days = 0, secs = 0;
    int64_t r = 0;
    if (epoch && t && ASN1_TIME_diff(&days, &secs, epoch, t))
        r = (int64_t)days * 86400 + secs;
    ASN1_TIME_free(epoch);
    return r;
}

/* The server's certificate: the peer's on a client, our own on a server. */
static X509 *server_cert(const sch_conn *c)
{
    return c->server ? SSL_get_certificate(c->ssl) : SSL_get0_peer_certificate(c->ssl);
}

static const char *exchange_name(const SSL_CIPHER *ciph, int group)
{
    switch (SSL_CIPHER_get_kx_nid(ciph)) {
    case NID_kx_ecdhe: case NID_kx_ecdhe_psk: return "ECDHE";
    case NID_kx_dhe: case NID_kx_dhe_psk: return "DHE";
    case NID_kx_rsa: case NID_kx_rsa_psk: return "RSA";
    case NID_kx_psk: return "PSK";
    default:
        /* TLS 1.3: the group says which. */
        return (group >= NID_ffdhe2048 && group <= NID_ffdhe8192) ? "DHE" : "ECDHE";
    }
}

sspi_status sch_query_connection(sch_conn *c, sspi_attr_value *v, sspi_error *err)
{
    const SSL_CIPHER *ciph;
    const EVP_MD *md;
    EVP_PKEY *tmp = NULL;
    int group, alg_bits = 0;
    sspi_status st = need_complete(c, "connection_info", err);
    memset(&v->tls, 0, sizeof v->tls);
    if (st != SEC_E_OK)
        return st;
    ciph = SSL_get_current_cipher(c->ssl);
    if (ciph == NULL)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "Schannel: no cipher suite in use");
    v->tls.version = SSL_version(c->ssl);
    v->tls.protocol = sch_protocol_name(v->tls.version);
    v->tls.cipher_suite = SSL_CIPHER_standard_name(ciph);
    v->tls.cipher_suite_id = SSL_CIPHER_get_protocol_id(ciph);
    v->tls.cipher = OBJ_nid2sn(SSL_CIPHER_get_cipher_nid(ciph));
    v->tls.cipher_strength = SSL_CIPHER_get_bits(ciph, &alg_bits);
    md = SSL_CIPHER_get_handshake_digest(ciph);
    if (SSL_CIPHER_is_aead(ciph)) {
        v->tls.hash = "AEAD";
        v->tls.hash_strength = 0;
    } else {
        const EVP_MD *mac = EVP_get_digestbynid(SSL_CIPHER_get_digest_nid(ciph));
        v->tls.hash = mac ? EVP_MD_get0_name(mac) : "none";
        v->tls.hash_strength = mac ? EVP_MD_get_size(mac) * 8 : 0;
    }
    (void)md;
    group = SSL_get_negotiated_group(c->ssl);
    v->tls.group = group ? SSL_group_to_name(c->ssl, group) : NULL;
    v->tls.exchange = exchange_name(ciph, group);
    if (c->server ? SSL_get_tmp_key(c->ssl, &tmp) : SSL_get_peer_tmp_key(c->ssl, &tmp)) {
        v->tls.exchange_strength = EVP_PKEY_get_bits(tmp);
        EVP_PKEY_free(tmp);
    }
    v->tls.resumed = SSL_session_reused(c->ssl);
    ERR_clear_error();
    return SEC_E_OK;
}

sspi_status sch_query_remote_cert(sch_conn *c, sspi_attr_value *v, sspi_error *err)
{
    X509 *peer = SSL_get0_peer_certificate(c->ssl);
    unsigned char *p;
    int n;
    BIO *bio;
    memset(&v->cert, 0, sizeof v->cert);
    if (peer == NULL)
        return sspi_error_set(err, SEC_E_NO_CREDENTIALS,
                              "Schannel: the peer sent no certificate");
    n = i2d_X509(peer, NULL);
    if (n <= 0 || sspi_bytes_reserve(&c->q1, (size_t)n) != 0)
        return oom(err);
    p = c->q1.data;
    i2d_X509(peer, &p);
    c->q1.len = (size_t)n;
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_X509(bio, peer) != 1 || bio_to_string(bio, &c->q2) != 0) {
        BIO_free(bio);
        return oom(err);
    }
    BIO_free(bio);
    if (name_to_string(X509_get_subject_name(peer), &c->q3) != 0 ||
        name_to_string(X509_get_issuer_name(peer), &c->q4) != 0)
        return oom(err);
    v->cert.der = c->q1.data;
    v->cert.der_len = c->q1.len;
    v->cert.pem = (const char *)c->q2.data;
    v->cert.subject = (const char *)c->q3.data;
    v->cert.issuer = (const char *)c->q4.data;
    v->cert.not_before = unix_time(X509_get0_notBefore(peer));
    v->cert.not_after = unix_time(X509_get0_notAfter(peer));
    return SEC_E_OK;
}

sspi_status sch_query_endpoint_bindings(sch_conn *c, const unsigned char **out, size_t *len,
                                        sspi_error *err)
{
    static const char prefix[] = "tls-server-end-point:";
    X509 *cert;
    int mdnid = NID_undef;
    const EVP_MD *md;
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;
    sspi_status st = need_complete(c, "endpoint_bindings", err);
    if (st != SEC_E_OK)
        return st;
    cert = server_cert(c);
    if (cert == NULL)
        return sspi_error_set(err, SEC_E_NO_CREDENTIALS, "Schannel: no server certificate");
    /* RFC 5929 4.1: the certificate's signature hash, MD5 and SHA-1 raised
     * to SHA-256; none (Ed25519, Ed448) is undefined there: SHA-256 too. */
    if (!X509_get_signature_info(cert, &mdnid, NULL, NULL, NULL))
        mdnid = NID_undef;
    if (mdnid == NID_undef || mdnid == NID_md5 || mdnid == NID_sha1 || mdnid == NID_md5_sha1)
        mdnid = NID_sha256;
    md = EVP_get_digestbynid(mdnid);
    if (md == NULL || X509_digest(cert, md, hash, &hlen) != 1) {
        ERR_clear_error();
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR,
                              "Schannel: cannot hash the server certificate");
    }
    if (sspi_bytes_set(&c->q1, prefix, sizeof prefix - 1) != 0 ||
        sspi_bytes_append(&c->q1, hash, hlen) != 0)
        return oom(err);
    *out = c->q1.data;
    *len = c->q1.len;
    return SEC_E_OK;
}

sspi_status sch_query_unique_bindings(sch_conn *c, const unsigned char **out, size_t *len,
                                      sspi_error *err)
{
    static const char prefix[] = "tls-unique:";
    unsigned char fin[EVP_MAX_MD_SIZE];
    size_t n;
    int own;
    sspi_status st = need_complete(c, "unique_bindings", err);
    if (st != SEC_E_OK)
        return st;
    if (SSL_version(c->ssl) >= TLS1_3_VERSION)
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "Schannel: tls-unique is not defined for TLS 1.3 (RFC 9266); "
                              "use endpoint_bindings");
    /* The first Finished of the handshake: the client's in a full
     * handshake, the server's in a resumed one. */
    own = (c->server != 0) == (SSL_session_reused(c->ssl) != 0);
    n = own ? SSL_get_finished(c->ssl, fin, sizeof fin) : SSL_get_peer_finished(c->ssl, fin, sizeof fin);
    if (n == 0 || n > sizeof fin)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "Schannel: no Finished message");
    if (sspi_bytes_set(&c->q1, prefix, sizeof prefix - 1) != 0 ||
        sspi_bytes_append(&c->q1, fin, n) != 0)
        return oom(err);
    *out = c->q1.data;
    *len = c->q1.len;
    return SEC_E_OK;
}

const char *sch_query_alpn(sch_conn *c, sspi_error *err)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(c->ssl, &p, &n);
    if (p == NULL || n == 0)
        return NULL;
    if (sspi_bytes_set(&c->q1, p, n) != 0 || sspi_bytes_append(&c->q1, "", 1) != 0) {
        oom(err);
        return NULL;
    }
    return (const char *)c->q1.data;
}

const char *sch_query_peer_name(sch_conn *c)
{
    X509 *peer = SSL_get0_peer_certificate(c->ssl);
    if (peer == NULL || name_to_string(X509_get_subject_name(peer), &c->q3) != 0)
        return NULL;
    return (const char *)c->q3.data;
}

void sch_query_lifespan(sch_conn *c, int64_t *start, int64_t *expiry)
{
    X509 *cert = server_cert(c);
    *start = cert ? unix_time(X509_get0_notBefore(cert)) : 0;
    *expiry = cert ? unix_time(X509_get0_notAfter(cert)) : 0;
}
