/*
 * sch_bio.c - the BIOs under a connection's SSL: ciphertext in and out as
 * sspi_bytes, without the extra copies (and the zeroing of each growth) of
 * OpenSSL's memory BIOs.
 *
 * OpenSSL writes records straight into c->outq, which sch_conn_drain hands
 * over whole (a swap of the two buffers) when the caller's buffer is empty;
 * during a wrap with a sink, OpenSSL's first write (the record, or whatever
 * it writes first) goes to the sink instead.
 * It reads from c->inq, or, while a message function reads one whole record
 * (sch_conn_view), straight from the caller's bytes: the record is not
 * copied before OpenSSL reads it, and what it leaves unread is copied to
 * c->inq before the caller gets its bytes back.  All of this is ciphertext
 * and handshake messages, no plaintext.
 *
 * The BIO methods belong to the connection (made in sch_bio_attach, freed
 * after its SSL in sch_bio_free): no process-wide state.
 */
#include <string.h>

#include <openssl/bio.h>

#include "schannel.h"

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int in_read(BIO *b, char *dst, int n)
{
    sch_conn *c = BIO_get_data(b);
    size_t avail, take;
    BIO_clear_retry_flags(b);
    if (n <= 0)
        return 0;
    if (c->inq_off < c->inq.len) {
        avail = c->inq.len - c->inq_off;
        take = avail < (size_t)n ? avail : (size_t)n;
        memcpy(dst, c->inq.data + c->inq_off, take);
        c->inq_off += take;
        if (c->inq_off == c->inq.len)
            c->inq_off = c->inq.len = 0;
        return (int)take;
    }
    if (c->view_off < c->view_len) {
        avail = c->view_len - c->view_off;
        take = avail < (size_t)n ? avail : (size_t)n;
        memcpy(dst, c->view + c->view_off, take);
        c->view_off += take;
        return (int)take;
    }
    /* No data yet, not end of file: the caller brings more. */
    BIO_set_retry_read(b);
    return -1;
}

size_t sch_conn_pending(const sch_conn *c)
{
    return c->inq.len - c->inq_off + c->view_len - c->view_off;
}

static long in_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    sch_conn *c = BIO_get_data(b);
    (void)num;
    (void)ptr;
    if (cmd == BIO_CTRL_PENDING)
        return (long)sch_conn_pending(c);
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int out_write(BIO *b, const char *src, int n)
{
    sch_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (n <= 0)
        return 0;
    /* The first record of a wrap with a sink, nothing queued before it:
     * the caller takes it from OpenSSL's buffer, one copy fewer. */
    if (c->sink != NULL && !c->sink_taken && !c->sink_failed && c->outq.len == 0) {
        if (c->sink->take(c->sink->ud, (const unsigned char *)src, (size_t)n) != 0) {
            c->sink_failed = 1;
            return -1; /* SSL_write fails; so does the connection (sch_wrap) */
        }
        c->sink_taken = 1;
        return n;
    }
    if (sspi_bytes_append(&c->outq, src, (size_t)n) != 0)
        return -1;
    return n;
}

static long out_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    sch_conn *c = BIO_get_data(b);
    (void)num;
    (void)ptr;
    if (cmd == BIO_CTRL_PENDING)
        return (long)c->outq.len;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int sch_bio_attach(sch_conn *c)
{
    BIO *in, *out;
    c->in_method = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "Schannel input");
    c->out_method = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "Schannel output");
    if (c->in_method == NULL || c->out_method == NULL ||
        !BIO_meth_set_create(c->in_method, bio_create) ||
        !BIO_meth_set_read(c->in_method, in_read) || !BIO_meth_set_ctrl(c->in_method, in_ctrl) ||
        !BIO_meth_set_create(c->out_method, bio_create) ||
        !BIO_meth_set_write(c->out_method, out_write) ||
        !BIO_meth_set_ctrl(c->out_method, out_ctrl))
        return -1;
    in = BIO_new(c->in_method);
    out = BIO_new(c->out_method);
    if (in == NULL || out == NULL) {
        BIO_free(in);
        BIO_free(out);
        return -1;
    }
    BIO_set_data(in, c);
    BIO_set_data(out, c);
    c->rbio = in;
    c->wbio = out;
    SSL_set_bio(c->ssl, in, out);
    return 0;
}

void sch_bio_free(sch_conn *c)
{
    BIO_meth_free(c->in_method);
    BIO_meth_free(c->out_method);
    c->in_method = c->out_method = NULL;
}

int sch_conn_drain(sch_conn *c, sspi_bytes *out)
{
    if (c->outq.len == 0)
        return 0;
    if (out->len == 0 && out->alloc == c->outq.alloc) {
        /* hand the buffer over: no copy */
        sspi_bytes t = *out;
        *out = c->outq;
        c->outq = t;
        c->outq.len = 0;
        return 0;
    }
    if (sspi_bytes_append(out, c->outq.data, c->outq.len) != 0)
        return -1;
    c->outq.len = 0;
    return 0;
}

sspi_status sch_conn_feed(sch_conn *c, const unsigned char *in, size_t len, sspi_error *err)
{
    if (len == 0)
        return SEC_E_OK;
    if (c->inq_off > 0) {
        memmove(c->inq.data, c->inq.data + c->inq_off, c->inq.len - c->inq_off);
        c->inq.len -= c->inq_off;
        c->inq_off = 0;
    }
    if (sspi_bytes_append(&c->inq, in, len) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: cannot buffer input");
    return SEC_E_OK;
}

void sch_conn_view(sch_conn *c, const unsigned char *in, size_t len)
{
    c->view = in;
    c->view_len = len;
    c->view_off = 0;
}

sspi_status sch_conn_end_view(sch_conn *c, sspi_error *err)
{
    const unsigned char *rest = c->view + c->view_off;
    size_t left = c->view_len - c->view_off;
    c->view = NULL;
    c->view_len = c->view_off = 0;
    return left ? sch_conn_feed(c, rest, left, err) : SEC_E_OK;
}
