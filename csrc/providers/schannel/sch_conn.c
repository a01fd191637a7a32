/*
 * sch_conn.c - a Schannel context's connection: one SSL from its
 * credential's SSL_CTX over two byte-queue BIOs (sch_bio.c; the script
 * carries the bytes),
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
    sspi_bytes_init(&c->inq, alloc);
    sspi_bytes_init(&c->outq, alloc);
    ERR_clear_error();
    c->ssl = SSL_new(cred->ctx);
    if (c->ssl == NULL || sch_bio_attach(c) != 0) {
        sch_conn_free(&c);
        ERR_clear_error();
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: cannot make an SSL");
    }
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
    sch_bio_free(c);
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
    sspi_bytes_free(&c->inq);
    sspi_bytes_free(&c->outq);
    sspi_mem_free(c->alloc, c, sizeof *c);
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
