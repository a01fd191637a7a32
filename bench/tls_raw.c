/*
 * tls_raw.c - the raw C baseline for the Schannel benchmarks: the same
 * work as bench/tls_bench.lua, straight on OpenSSL 3 libssl with memory
 * BIOs, client and server in one process.
 *
 *   tls_raw tls13|tls12 handshake SECONDS
 *   tls_raw tls13|tls12 wrap SIZE SECONDS
 *
 * Environment: BENCH_TLS_CERT, BENCH_TLS_KEY (the server's PEM files),
 * BENCH_TLS_CA (the client's trust anchor).  Like our package, the client
 * verifies the chain and the name "localhost"; no session resumption; the
 * server sends one TLS 1.3 ticket (which the client does not read during
 * the handshake, as in the Lua contender).  AES-128-GCM suites.  Prints
 * "ops=N secs=T bytes=B".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static void die(const char *what)
{
    fprintf(stderr, "tls_raw: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        die(name);
    return v;
}

static SSL_CTX *make_ctx(int server, int tls13)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    int v = tls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    if (ctx == NULL)
        die("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(ctx, v);
    SSL_CTX_set_max_proto_version(ctx, v);
    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
    SSL_CTX_set_cipher_list(ctx, "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256");
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_clear_mode(ctx, SSL_MODE_AUTO_RETRY);
    if (server) {
        if (SSL_CTX_use_certificate_chain_file(ctx, env("BENCH_TLS_CERT")) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, env("BENCH_TLS_KEY"), SSL_FILETYPE_PEM) != 1)
            die("server certificate");
        SSL_CTX_set_num_tickets(ctx, 1);
    } else {
        if (SSL_CTX_load_verify_file(ctx, env("BENCH_TLS_CA")) != 1)
            die("CA");
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    return ctx;
}

static SSL *make_ssl(SSL_CTX *ctx, int server)
{
    SSL *s = SSL_new(ctx);
    BIO *r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());
    if (s == NULL || r == NULL || w == NULL)
        die("SSL_new");
    BIO_set_mem_eof_return(r, -1);
    SSL_set_bio(s, r, w);
    if (server) {
        SSL_set_accept_state(s);
    } else {
        SSL_set_connect_state(s);
        SSL_set_tlsext_host_name(s, "localhost");
        SSL_set1_host(s, "localhost");
    }
    return s;
}

/* Moves what `from` wrote into `to`'s read BIO. */
static size_t pump(SSL *from, SSL *to, unsigned char *buf, size_t cap)
{
    size_t total = 0;
    int n;
    while ((n = BIO_read(SSL_get_wbio(from), buf, (int)cap)) > 0) {
        if (BIO_write(SSL_get_rbio(to), buf, n) != n)
            die("BIO_write");
        total += (size_t)n;
    }
    return total;
}

static void handshake(SSL *c, SSL *s, unsigned char *buf, size_t cap)
{
    int cdone = 0, sdone = 0, i;
    for (i = 0; i < 20 && !(cdone && sdone); i++) {
        if (!cdone) {
            int r = SSL_do_handshake(c);
            if (r == 1)
                cdone = 1;
            else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ)
                die("client handshake");
        }
        pump(c, s, buf, cap);
        if (!sdone) {
            int r = SSL_do_handshake(s);
            if (r == 1)
                sdone = 1;
            else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
                die("server handshake");
        }
        pump(s, c, buf, cap);
    }
    if (!(cdone && sdone))
        die("handshake did not complete");
}

int main(int argc, char **argv)
{
    static unsigned char buf[65536];
    SSL_CTX *cctx, *sctx;
    unsigned long ops = 0;
    double start, elapsed, seconds;
    int tls13;
    if (argc < 4)
        die("usage: tls_raw tls13|tls12 handshake SECONDS | tls_raw tls13|tls12 wrap SIZE SECONDS");
    tls13 = strcmp(argv[1], "tls13") == 0;
    cctx = make_ctx(0, tls13);
    sctx = make_ctx(1, tls13);
    if (strcmp(argv[2], "handshake") == 0) {
        seconds = atof(argv[3]);
        start = now();
        do {
            SSL *c = make_ssl(cctx, 0), *s = make_ssl(sctx, 1);
            handshake(c, s, buf, sizeof buf);
            SSL_free(c);
            SSL_free(s);
            ops++;
        } while ((elapsed = now() - start) < seconds);
        printf("ops=%lu secs=%.6f bytes=0\n", ops, elapsed);
    } else if (strcmp(argv[2], "wrap") == 0 && argc == 5) {
        size_t size = (size_t)atol(argv[3]);
        unsigned char *data = calloc(1, size), *out = malloc(size);
        SSL *c = make_ssl(cctx, 0), *s = make_ssl(sctx, 1);
        seconds = atof(argv[4]);
        handshake(c, s, buf, sizeof buf);
        pump(s, c, buf, sizeof buf);
        start = now();
        do {
            size_t got = 0;
            if (SSL_write(c, data, (int)size) != (int)size)
                die("SSL_write");
            pump(c, s, buf, sizeof buf);
            while (got < size) {
                int n = SSL_read(s, out + got, (int)(size - got));
                if (n <= 0)
                    die("SSL_read");
                got += (size_t)n;
            }
            ops++;
        } while ((elapsed = now() - start) < seconds);
        printf("ops=%lu secs=%.6f bytes=%lu\n", ops, elapsed, (unsigned long)size);
    } else {
        die("unknown mode");
    }
    return 0;
}
