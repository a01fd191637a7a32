/*
 * sch_cred.c - a Schannel credential: one SSL_CTX made from SCHANNEL_CRED /
 * SCH_CREDENTIALS-style settings (certificate and key as PEM text or a
 * path, trust anchors, verification, protocols, cipher suites by IANA name,
 * ALPN, session resumption).  Every context on the credential gets an SSL
 * from it (sch_conn.c).
 */
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "schannel.h"

static int is_pem_text(const char *s)
{
    return strstr(s, "-----BEGIN") != NULL;
}

/* The last OpenSSL error as text ("" when none); clears the queue. */
static const char *ssl_reason(char *buf, size_t n)
{
    unsigned long e = ERR_peek_last_error();
    buf[0] = '\0';
    if (e)
        ERR_error_string_n(e, buf, n);
    ERR_clear_error();
    return buf;
}

/* A read BIO over PEM text or a file. */
static BIO *open_source(const char *s)
{
    if (is_pem_text(s))
        return BIO_new_mem_buf(s, (int)strlen(s));
    return BIO_new_file(s, "r");
}

static sspi_status fail(sspi_error *err, sspi_status st, const char *what, const char *src)
{
    char why[256];
    ssl_reason(why, sizeof why);
    return sspi_error_set(err, st, "Schannel: %s %s%s%s", what,
                          src ? (is_pem_text(src) ? "(PEM text)" : src) : "",
                          why[0] ? ": " : "", why);
}

/* Certificate (with its chain) and private key. */
static sspi_status load_identity(SSL_CTX *ctx, const sch_cred_config *cfg, sspi_error *err)
{
    const char *keysrc = cfg->private_key ? cfg->private_key : cfg->certificate;
    BIO *bio = open_source(cfg->certificate);
    X509 *cert = NULL, *extra;
    EVP_PKEY *key;

    if (bio == NULL)
        return fail(err, SEC_E_NO_CREDENTIALS, "cannot read the certificate", cfg->certificate);
    cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (cert == NULL || SSL_CTX_use_certificate(ctx, cert) != 1) {
        X509_free(cert);
        BIO_free(bio);
        return fail(err, SEC_E_NO_CREDENTIALS, "no usable certificate in", cfg->certificate);
    }
    X509_free(cert);
    while ((extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
            X509_free(extra);
            BIO_free(bio);
            return fail(err, SEC_E_NO_CREDENTIALS, "cannot add a chain certificate from",
                        cfg->certificate);
        }
    }
    BIO_free(bio);
    ERR_clear_error(); /* the end of the PEM sequence */

    bio = open_source(keysrc);
    if (bio == NULL)
        return fail(err, SEC_E_NO_CREDENTIALS, "cannot read the private key", keysrc);
    key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (key == NULL)
        return fail(err, SEC_E_NO_CREDENTIALS, "no private key in", keysrc);
    if (SSL_CTX_use_PrivateKey(ctx, key) != 1) {
        EVP_PKEY_free(key);
        return fail(err, SEC_E_NO_CREDENTIALS, "the private key does not match the certificate",
                    NULL);
    }
    EVP_PKEY_free(key);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return fail(err, SEC_E_NO_CREDENTIALS, "the private key does not match the certificate",
                    NULL);
    return SEC_E_OK;
}

/* Trust anchors: PEM text, a file or a directory; else the system store. */
static sspi_status load_trust(SSL_CTX *ctx, const char *ca, sspi_error *err)
{
    struct stat stbuf;
    if (ca == NULL) {
        if (SSL_CTX_set_default_verify_paths(ctx) != 1)
            return fail(err, SEC_E_NO_CREDENTIALS, "cannot load the system trust store", NULL);
        return SEC_E_OK;
    }
    if (is_pem_text(ca)) {
        X509_STORE *store = SSL_CTX_get_cert_store(ctx);
        BIO *bio = BIO_new_mem_buf(ca, (int)strlen(ca));
        STACK_OF(X509_INFO) *infos = bio ? PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL) : NULL;
        int i, added = 0;
        BIO_free(bio);
        if (infos == NULL)
            return fail(err, SEC_E_NO_CREDENTIALS, "cannot read the trust anchors", ca);
        for (i = 0; i < sk_X509_INFO_num(infos); i++) {
            X509_INFO *info = sk_X509_INFO_value(infos, i);
            if (info->x509 && X509_STORE_add_cert(store, info->x509) == 1)
                added++;
        }
        sk_X509_INFO_pop_free(infos, X509_INFO_free);
        if (added == 0)
            return fail(err, SEC_E_NO_CREDENTIALS, "no certificate in the trust anchors", ca);
        return SEC_E_OK;
    }
    if (stat(ca, &stbuf) == 0 && S_ISDIR(stbuf.st_mode)) {
        if (SSL_CTX_load_verify_dir(ctx, ca) != 1)
            return fail(err, SEC_E_NO_CREDENTIALS, "cannot use the trust anchor directory", ca);
        return SEC_E_OK;
    }
    if (SSL_CTX_load_verify_file(ctx, ca) != 1)
        return fail(err, SEC_E_NO_CREDENTIALS, "cannot read the trust anchors", ca);
    return SEC_E_OK;
}

/* Enabled protocols (SP_PROT_*) as OpenSSL's version range and holes. */
static sspi_status set_protocols(SSL_CTX *ctx, const sch_cred_config *cfg, sspi_error *err)
{
    static const struct {
        uint32_t bits;
        int version;
        uint64_t no_op;
    } prot[] = {
        {SP_PROT_TLS1_0, TLS1_VERSION, SSL_OP_NO_TLSv1},
        {SP_PROT_TLS1_1, TLS1_1_VERSION, SSL_OP_NO_TLSv1_1},
        {SP_PROT_TLS1_2, TLS1_2_VERSION, SSL_OP_NO_TLSv1_2},
        {SP_PROT_TLS1_3, TLS1_3_VERSION, SSL_OP_NO_TLSv1_3},
    };
    uint32_t enabled = cfg->protocols ? cfg->protocols : (SP_PROT_TLS1_2 | SP_PROT_TLS1_3);
    int min = 0, max = 0;
    size_t i;
    enabled &= ~cfg->disabled_protocols;
    if (enabled & (SP_PROT_SSL3_SERVER | SP_PROT_SSL3_CLIENT))
        return sspi_error_set(err, SEC_E_ALGORITHM_MISMATCH,
                              "Schannel: SSL 3.0 is not available (TLS 1.0 to 1.3 are)");
    for (i = 0; i < sizeof prot / sizeof prot[0]; i++) {
        if (enabled & prot[i].bits) {
            if (min == 0)
                min = prot[i].version;
            max = prot[i].version;
        }
    }
    if (min == 0)
        return sspi_error_set(err, SEC_E_ALGORITHM_MISMATCH,
                              "Schannel: no protocol is left enabled (protocols 0x%x, "
                              "disabled_protocols 0x%x)", (unsigned)cfg->protocols,
                              (unsigned)cfg->disabled_protocols);
    for (i = 0; i < sizeof prot / sizeof prot[0]; i++)
        if (prot[i].version > min && prot[i].version < max && !(enabled & prot[i].bits))
            SSL_CTX_set_options(ctx, prot[i].no_op);
    /* TLS 1.0/1.1 sign with SHA-1, below OpenSSL 3's default security level:
     * asking for them explicitly is asking for that. */
    if (min < TLS1_2_VERSION)
        SSL_CTX_set_security_level(ctx, 0);
    if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, max) != 1)
        return fail(err, SEC_E_ALGORITHM_MISMATCH, "cannot set the protocol range", NULL);
    return SEC_E_OK;
}

static int is_tls13_suite(const char *name)
{
    static const char *const suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                         "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256",
                                         "TLS_AES_128_CCM_8_SHA256", NULL};
    size_t i;
    for (i = 0; suites[i]; i++)
        if (strcmp(name, suites[i]) == 0)
            return 1;
    return 0;
}

/* Appends s and a separator to the list being built. */
static int list_add(sspi_bytes *b, const char *s, char sep)
{
    if (b->len > 0 && sspi_bytes_append(b, &sep, 1) != 0)
        return -1;
    return sspi_bytes_append(b, s, strlen(s));
}

/* Cipher suites by IANA name: TLS 1.3 ones as they are, the others through
 * OpenSSL's name for them.  A protocol left without a suite is disabled. */
static sspi_status set_suites(SSL_CTX *ctx, const sch_cred_config *cfg, const sspi_allocator *a,
                              sspi_error *err)
{
    sspi_bytes l12, l13;
    sspi_status st = SEC_E_OK;
    size_t i;
    if (cfg->cipher_suites == NULL)
        return SEC_E_OK;
    sspi_bytes_init(&l12, a);
    sspi_bytes_init(&l13, a);
    for (i = 0; i < cfg->cipher_suite_count && st == SEC_E_OK; i++) {
        const char *name = cfg->cipher_suites[i];
        const char *ossl = is_tls13_suite(name) ? NULL : OPENSSL_cipher_name(name);
        int rc;
        if (ossl && strcmp(ossl, "(NONE)") == 0) {
            st = sspi_error_set(err, SEC_E_ALGORITHM_MISMATCH,
                                "Schannel: unknown cipher suite %s (IANA names expected, "
                                "e.g. TLS_AES_128_GCM_SHA256, "
                                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", name);
            break;
        }
        rc = ossl ? list_add(&l12, ossl, ':') : list_add(&l13, name, ':');
        if (rc != 0)
            st = sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: out of memory");
    }
    if (st == SEC_E_OK && (sspi_bytes_append(&l12, "", 1) != 0 || sspi_bytes_append(&l13, "", 1) != 0))
        st = sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: out of memory");
    if (st == SEC_E_OK && SSL_CTX_set_ciphersuites(ctx, (const char *)l13.data) != 1)
        st = fail(err, SEC_E_ALGORITHM_MISMATCH, "cannot set the TLS 1.3 cipher suites", NULL);
    if (st == SEC_E_OK && l12.len > 1 && SSL_CTX_set_cipher_list(ctx, (const char *)l12.data) != 1)
        st = fail(err, SEC_E_ALGORITHM_MISMATCH, "cannot set the TLS 1.2 cipher suites", NULL);
    if (st == SEC_E_OK && l12.len <= 1 && SSL_CTX_get_min_proto_version(ctx) < TLS1_3_VERSION &&
        SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1)
        st = fail(err, SEC_E_ALGORITHM_MISMATCH, "cannot leave only TLS 1.3", NULL);
    if (st == SEC_E_OK && l13.len <= 1) {
        int max = SSL_CTX_get_max_proto_version(ctx);
        if ((max == 0 || max > TLS1_2_VERSION) &&
            SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != 1)
            st = fail(err, SEC_E_ALGORITHM_MISMATCH, "cannot leave only TLS 1.2", NULL);
    }
    if (st == SEC_E_OK && SSL_CTX_get_min_proto_version(ctx) > SSL_CTX_get_max_proto_version(ctx) &&
        SSL_CTX_get_max_proto_version(ctx) != 0)
        st = sspi_error_set(err, SEC_E_ALGORITHM_MISMATCH,
                            "Schannel: no enabled protocol has one of the cipher suites asked for");
    sspi_bytes_free(&l12);
    sspi_bytes_free(&l13);
    return st;
}

/* ALPN list in wire format (length-prefixed names). */
static sspi_status alpn_wire(const sch_cred_config *cfg, sch_cred *c, sspi_error *err)
{
    size_t i, total = 0, pos = 0;
    for (i = 0; i < cfg->alpn_count; i++) {
        size_t n = strlen(cfg->alpn[i]);
        if (n == 0 || n > 255)
            return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                                  "Schannel: ALPN protocol names are 1 to 255 bytes");
        total += 1 + n;
    }
    if (total == 0)
        return SEC_E_OK;
    c->alpn_wire = sspi_mem_alloc(c->alloc, total);
    if (c->alpn_wire == NULL)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: out of memory");
    for (i = 0; i < cfg->alpn_count; i++) {
        size_t n = strlen(cfg->alpn[i]);
        c->alpn_wire[pos++] = (unsigned char)n;
        memcpy(c->alpn_wire + pos, cfg->alpn[i], n);
        pos += n;
    }
    c->alpn_wire_len = total;
    return SEC_E_OK;
}

/* Server: the first of our protocols that the client offers; ours are the
 * context's (an input SECBUFFER_APPLICATION_PROTOCOLS), else the credential's. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    sch_cred *c = arg;
    const sch_conn *conn = SSL_get_app_data(ssl);
    const unsigned char *ours = c->alpn_wire;
    size_t ours_len = c->alpn_wire_len;
    unsigned char *sel = NULL;
    if (conn && conn->alpn.len > 0) {
        ours = conn->alpn.data;
        ours_len = conn->alpn.len;
    }
    if (ours == NULL ||
        SSL_select_next_proto(&sel, outlen, ours, (unsigned)ours_len, in, inlen) !=
            OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* Client without a certificate, asked for one: pause once
 * (SEC_I_INCOMPLETE_CREDENTIALS), then go on with the certificate a step's
 * credential put into the connection (sch_handshake.c), or without. */
static int client_cert_cb(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
    sch_conn *conn = SSL_get_app_data(ssl);
    X509 *cert;
    EVP_PKEY *key;
    if (conn == NULL)
        return 0;
    if (!conn->cert_prompted)
        return -1;
    cert = SSL_get_certificate(ssl);
    key = SSL_get_privatekey(ssl);
    if (cert == NULL || key == NULL)
        return 0;
    /* OpenSSL takes (and frees) these references. */
    X509_up_ref(cert);
    EVP_PKEY_up_ref(key);
    *x509 = cert;
    *pkey = key;
    return 1;
}

static sspi_status configure(sch_cred *c, const sch_cred_config *cfg, sspi_error *err)
{
    SSL_CTX *ctx = c->ctx;
    sspi_status st;
    static const unsigned char sid_ctx[] = "sspi-schannel";

    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    /* A memory BIO: SSL_read must return after a non-data record so that
     * post-handshake messages surface as SEC_I_RENEGOTIATE. */
    SSL_CTX_clear_mode(ctx, SSL_MODE_AUTO_RETRY);
    st = set_protocols(ctx, cfg, err);
    if (st == SEC_E_OK)
        st = set_suites(ctx, cfg, c->alloc, err);
    if (st == SEC_E_OK && cfg->certificate)
        st = load_identity(ctx, cfg, err);
    if (st != SEC_E_OK)
        return st;
    c->has_certificate = cfg->certificate != NULL;
    if (c->server && !c->has_certificate)
        return sspi_error_set(err, SEC_E_NO_CREDENTIALS,
                              "Schannel: an inbound credential needs a certificate and its "
                              "private_key");
    if (!c->server || cfg->ca) {
        st = load_trust(ctx, cfg->ca, err);
        if (st != SEC_E_OK)
            return st;
    }
    st = alpn_wire(cfg, c, err);
    if (st != SEC_E_OK)
        return st;

    if (c->server) {
        c->verify = cfg->verify < 0 ? cfg->ca != NULL : cfg->verify;
        c->request_client_cert = cfg->ca != NULL;
        if (c->verify && cfg->ca == NULL)
            return sspi_error_set(err, SEC_E_NO_CREDENTIALS,
                                  "Schannel: an inbound credential with verify = true needs the "
                                  "trust anchors of its clients (ca)");
        SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
        if (c->reconnects) {
            SSL_CTX_set_num_tickets(ctx, 1);
        } else {
            SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
            SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
            SSL_CTX_set_num_tickets(ctx, 0);
        }
        SSL_CTX_set_alpn_select_cb(ctx, alpn_select, c);
    } else {
        c->verify = cfg->verify < 0 ? 1 : cfg->verify;
        if (cfg->flags & SCH_CRED_MANUAL_CRED_VALIDATION)
            c->verify = 0;
        c->check_name = c->verify && !(cfg->flags & SCH_CRED_NO_SERVERNAME_CHECK);
        if (c->reconnects) {
            SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
                                                    SSL_SESS_CACHE_NO_INTERNAL_STORE);
            SSL_CTX_sess_set_new_cb(ctx, sch_cache_new_session);
        } else {
            SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        }
        if (c->alpn_wire && SSL_CTX_set_alpn_protos(ctx, c->alpn_wire,
                                                    (unsigned)c->alpn_wire_len) != 0)
            return fail(err, SEC_E_INTERNAL_ERROR, "cannot set ALPN", NULL);
        if (!c->has_certificate)
            SSL_CTX_set_client_cert_cb(ctx, client_cert_cb);
    }
    return SEC_E_OK;
}

sspi_status sch_cred_new(const sch_cred_config *cfg, const sspi_allocator *alloc, sch_cred **out,
                         sspi_error *err)
{
    sch_cred *c;
    sspi_status st;
    *out = NULL;
    if (cfg->flags & ~SCH_CRED_HONOURED)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                              "Schannel: flags 0x%08x are not supported (revocation checks, "
                              "SNI credentials, DTLS, PSK)", (unsigned)(cfg->flags & ~SCH_CRED_HONOURED));
    c = sspi_mem_alloc(alloc, sizeof *c);
    if (c == NULL)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: out of memory");
    memset(c, 0, sizeof *c);
    c->alloc = alloc;
    c->server = cfg->server;
    c->flags = cfg->flags;
    c->reconnects = !(cfg->flags & SCH_CRED_DISABLE_RECONNECTS);
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        sspi_mem_free(alloc, c, sizeof *c);
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "Schannel: cannot make a lock");
    }
    ERR_clear_error();
    c->ctx = SSL_CTX_new(cfg->server ? TLS_server_method() : TLS_client_method());
    if (c->ctx == NULL) {
        st = fail(err, SEC_E_INTERNAL_ERROR, "cannot make an SSL_CTX", NULL);
        sch_cred_free(&c);
        return st;
    }
    st = configure(c, cfg, err);
    if (st != SEC_E_OK) {
        sch_cred_free(&c);
        ERR_clear_error();
        return st;
    }
    *out = c;
    return SEC_E_OK;
}

void sch_cred_free(sch_cred **credp)
{
    sch_cred *c;
    if (credp == NULL || *credp == NULL)
        return;
    c = *credp;
    *credp = NULL;
    sch_cache_clear(c);
    SSL_CTX_free(c->ctx);
    if (c->alpn_wire)
        sspi_mem_free(c->alloc, c->alpn_wire, c->alpn_wire_len);
    pthread_mutex_destroy(&c->lock);
    sspi_mem_free(c->alloc, c, sizeof *c);
}
