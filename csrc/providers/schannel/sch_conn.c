/*
 * sch_conn.c - a Schannel context's connection: one SSL from its
 * credential's SSL_CTX over two memory BIOs (the script carries the bytes),
 * plus the byte buffers SSPI's stream rules need (replayed records, output
 * held for the next step, the alert of a failed handshake).
 */
#include <string.h>

#include <openssl/err.h>

#include "schannel.h"

/* Notes received handshake messages: in TLS 1.3 a post-handshake message
 * hides in an application_data record, and SSL_read's WANT_READ alone does
 * not tell it from an empty record. */
static void on_message(int write_p, int version, int content_type, const void *buf, size_t len,
                       SSL *ssl, void *arg)
{
    sch_conn *c = arg;
    (void)version;
    (void)buf;
    (void)len;
    (void)ssl;
    if (!write_p && content_type == SSL3_RT_HANDSHAKE)
        c->saw_handshake = 1;
}

sspi_status sch_conn_new(sch_cred *cred, int server, const sspi_allocator *alloc, sch_conn **out,
                         sspi_error *err)
{
    sch_conn *c;
    *out = NULL;
    c = sspi_mem_alloc(alloc, sizeof *c);
    if (c == NULL)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: out of memory");
    memset(c, 0, sizeof *c);
    c->cred = cred;
    c->alloc = alloc;
    c->server = server;
    sspi_bytes_init(&c->replay, alloc);
    sspi_bytes_init(&c->pending, alloc);
    sspi_bytes_init(&c->alert, alloc);
    sspi_bytes_init(&c->alpn, alloc);
    sspi_bytes_init(&c->q1, alloc);
    sspi_bytes_init(&c->q2, alloc);
    sspi_bytes_init(&c->q3, alloc);
    sspi_bytes_init(&c->q4, alloc);
    sspi_bytes_init(&c->scratch, alloc);
    ERR_clear_error();
    c->ssl = SSL_new(cred->ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
        BIO_free(c->rbio);
        BIO_free(c->wbio);
        c->rbio = c->wbio = NULL;
        sch_conn_free(&c);
        ERR_clear_error();
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: cannot make an SSL");
    }
    /* An empty memory BIO means "no data yet", not end of file. */
    BIO_set_mem_eof_return(c->rbio, -1);
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_app_data(c->ssl, c);
    SSL_set_msg_callback(c->ssl, on_message);
    SSL_set_msg_callback_arg(c->ssl, c);
    if (server)
        SSL_set_accept_state(c->ssl);
    else
        SSL_set_connect_state(c->ssl);
    *out = c;
    return SEC_E_OK;
}

void sch_conn_free(sch_conn **connp)
{
    sch_conn *c;
    if (connp == NULL || *connp == NULL)
        return;
    c = *connp;
    *connp = NULL;
    /* A context freed without close_notify still leaves its session
     * resumable, as Schannel's cache does; OpenSSL would mark it bad. */
    if (c->ssl && c->complete && !c->failed)
        SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(c->ssl); /* and its BIOs; OpenSSL cleanses its own key material */
    sspi_mem_strfree(c->alloc, &c->target);
    sspi_bytes_free(&c->replay);
    sspi_bytes_free(&c->pending);
    sspi_bytes_free(&c->alert);
    sspi_bytes_free(&c->alpn);
    sspi_bytes_free(&c->q1);
    sspi_bytes_free(&c->q2);
    sspi_bytes_free(&c->q3);
    sspi_bytes_free(&c->q4);
    sspi_bytes_free(&c->scratch);
    sspi_mem_free(c->alloc, c, sizeof *c);
}

int sch_conn_drain(sch_conn *c, sspi_bytes *out)
{
    size_t n = (size_t)BIO_ctrl_pending(c->wbio);
    int got;
    if (n == 0)
        return 0;
    if (sspi_bytes_reserve(out, out->len + n) != 0)
        return -1;
    got = BIO_read(c->wbio, out->data + out->len, (int)n);
    if (got > 0)
        out->len += (size_t)got;
    return 0;
}

sspi_status sch_conn_feed(sch_conn *c, const unsigned char *in, size_t len, sspi_error *err)
{
    if (len == 0)
        return SEC_E_OK;
    if (BIO_write(c->rbio, in, (int)len) != (int)len)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: cannot buffer input");
    return SEC_E_OK;
}

size_t sch_conn_skip_replay(sch_conn *c, const unsigned char *in, size_t len)
{
    size_t n = c->replay.len;
    if (n == 0)
        return 0;
    if (len >= n && memcmp(in, c->replay.data, n) == 0)
        return n;
    return 0;
}
