/*
 * sch_message.c - EncryptMessage / DecryptMessage on Schannel's stream
 * buffers (STREAM_HEADER, DATA, STREAM_TRAILER in; DATA, EMPTY x3 out), and
 * the same on plain strings (wrap: data to records; unwrap: the whole
 * records at the start of the input to data, the rest left over).
 *
 * Non-data records met while decrypting keep SSPI's meaning: a
 * post-handshake message (TLS 1.3 NewSessionTicket, KeyUpdate) is
 * SEC_I_RENEGOTIATE and is handed back as EXTRA for a step; close_notify is
 * SEC_I_CONTEXT_EXPIRED.  OpenSSL has processed the record by then, so it
 * is remembered (conn->replay) and skipped when the caller feeds it again.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "schannel.h"

void sch_stream_sizes(const sch_conn *c, uint32_t *header, uint32_t *trailer,
                      uint32_t *max_message, uint32_t *block)
{
    const SSL_CIPHER *ciph = SSL_get_current_cipher(c->ssl);
    int cnid = ciph ? SSL_CIPHER_get_cipher_nid(ciph) : NID_undef;
    const char *name = ciph ? SSL_CIPHER_get_name(ciph) : "";
    uint32_t tag = strstr(name, "CCM8") || strstr(name, "CCM_8") ? 8 : 16;
    *max_message = SCH_MAX_PLAINTEXT;
    *header = SCH_RECORD_HEADER;
    *block = 1;
    if (ciph == NULL) {
        *trailer = 0;
        return;
    }
    if (SSL_version(c->ssl) >= TLS1_3_VERSION) {
        *trailer = tag + 1; /* the tag and the inner content type */
        return;
    }
    if (SSL_CIPHER_is_aead(ciph)) {
        /* AES-GCM/CCM carry an 8-byte explicit nonce; ChaCha20-Poly1305 none. */
        if (cnid != NID_chacha20_poly1305)
            *header += 8;
        *trailer = tag;
        return;
    }
    {
        const EVP_CIPHER *cipher = EVP_get_cipherbynid(cnid);
        const EVP_MD *md = EVP_get_digestbynid(SSL_CIPHER_get_digest_nid(ciph));
        uint32_t b = cipher ? (uint32_t)EVP_CIPHER_get_block_size(cipher) : 1;
        uint32_t m = md ? (uint32_t)EVP_MD_get_size(md) : 0;
        if (b > 1 && SSL_version(c->ssl) >= TLS1_1_VERSION)
            *header += b; /* explicit IV */
        *trailer = m + (b > 1 ? b : 0); /* MAC, padding and its length byte */
        *block = b;
    }
}

/* Encrypts len bytes into out as records (appended). */
static sspi_status write_records(sch_conn *c, const unsigned char *in, size_t len, sspi_bytes *out,
                                 sspi_error *err)
{
    size_t pos = 0;
    if (c->failed)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "Schannel: the connection failed earlier");
    if (c->shutdown_sent)
        return sspi_error_set(err, SEC_E_CONTEXT_EXPIRED,
                              "Schannel: the connection was shut down (SCHANNEL_SHUTDOWN)");
    while (pos < len) {
        size_t n = len - pos > SCH_MAX_PLAINTEXT ? SCH_MAX_PLAINTEXT : len - pos;
        int r;
        sch_errors_reset();
        r = SSL_write(c->ssl, in + pos, (int)n);
        if (r <= 0)
            return sch_status_from_ssl(c, "encrypt", SSL_get_error(c->ssl, r),
                                       SEC_E_ENCRYPT_FAILURE, err);
        pos += (size_t)r;
    }
    if (sch_conn_drain(c, out) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: out of memory");
    return SEC_E_OK;
}

sspi_status sch_wrap(sch_conn *c, const unsigned char *in, size_t len,
                     const sspi_output_sink *sink, int *taken, sspi_bytes *out, sspi_error *err)
{
    sspi_status st;
    out->len = 0;
    /* Only data that fits one record: a sink's piece would have to be
     * joined to the records after it, a copy more than it saves. */
    c->sink = len <= SCH_MAX_PLAINTEXT ? sink : NULL;
    c->sink_taken = c->sink_failed = 0;
    st = write_records(c, in, len, out, err);
    c->sink = NULL;
    if (taken)
        *taken = c->sink_taken;
    /* A record OpenSSL wrote is in no output (the caller drops what the
     * sink took when the call fails): the records after it would arrive out
     * of sequence, so nothing more may be written. */
    if (st != SEC_E_OK && (c->sink_taken || c->sink_failed))
        c->failed = 1;
    return st;
}

sspi_status sch_encrypt_list(sch_conn *c, sspi_buffer_list *msg, sspi_error *err)
{
    sspi_buffer *hdr = sspi_buffer_list_find(msg, SECBUFFER_STREAM_HEADER);
    sspi_buffer *data = sspi_buffer_list_find(msg, SECBUFFER_DATA);
    sspi_buffer *trl = sspi_buffer_list_find(msg, SECBUFFER_STREAM_TRAILER);
    uint32_t h, t, max, block;
    sspi_bytes *rec = &c->scratch;
    size_t whole, count, missing, body;
    sspi_status st;

    if (hdr == NULL || data == NULL || trl == NULL)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_BUFFERS,
                              "Schannel: encrypt_message needs STREAM_HEADER, DATA and "
                              "STREAM_TRAILER buffers");
    sch_stream_sizes(c, &h, &t, &max, &block);
    if (data->length == 0 || data->length > max)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                              "Schannel: encrypt_message takes 1 to %u bytes of DATA (%zu given); "
                              "split longer messages", (unsigned)max, data->length);
    if (hdr->data == NULL || hdr->capacity < h || trl->data == NULL || trl->capacity < t) {
        st = sspi_error_set(err, SEC_E_BUFFER_TOO_SMALL,
                            "Schannel: STREAM_HEADER needs %u bytes and STREAM_TRAILER %u "
                            "(query stream_sizes)", (unsigned)h, (unsigned)t);
        if (err)
            err->needed = hdr->capacity < h ? h : t;
        return st;
    }
    rec->len = 0;
    st = write_records(c, data->data, data->length, rec, err);
    if (st != SEC_E_OK)
        return st;
    /* One record: header | ciphertext of DATA's size | trailer. */
    if (sch_record_scan(rec->data, rec->len, 0, &whole, &count, &missing, NULL) != SEC_E_OK ||
        count != 1 || whole != rec->len || rec->len < h + data->length ||
        (body = rec->len - h - data->length) > t)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR,
                              "Schannel: the record written does not have the stream layout");
    memcpy(hdr->data, rec->data, h);
    hdr->length = h;
    memcpy(data->data, rec->data + h, data->length);
    memcpy(trl->data, rec->data + h + data->length, body);
    trl->length = body;
    sspi_wipe(rec->data, rec->len);
    rec->len = 0;
    return SEC_E_OK;
}

/* Remembers a processed non-data record for the caller's next call. */
static sspi_status remember(sch_conn *c, const unsigned char *rec, size_t n, sch_event ev,
                            sspi_error *err)
{
    if (sspi_bytes_set(&c->replay, rec, n) != 0 || sch_conn_drain(c, &c->pending) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: out of memory");
    c->replay_event = ev;
    return SEC_E_OK;
}

/* The outcome of one record: > 0 data bytes at dst, 0 none, or a status. */
typedef struct one_record {
    sspi_status status; /* SEC_E_OK: data (possibly none) */
    size_t n;           /* plaintext bytes */
    sch_event event;
} one_record;

/* Whether [a, a+alen) and [b, b+blen) do not overlap. */
static int apart(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return x + alen <= y || y + blen <= x;
}

static one_record read_record(sch_conn *c, const unsigned char *rec, size_t reclen,
                              unsigned char *dst, size_t cap, sspi_error *err)
{
    one_record o = {SEC_E_OK, 0, SCH_EVENT_NONE};
    int r, e;
    /* OpenSSL reads the record in place unless older input is queued or
     * the plaintext goes over it (decrypt_message) */
    int view = sch_conn_pending(c) == 0 && apart(dst, cap, rec, reclen);
    if (view) {
        sch_conn_view(c, rec, reclen);
    } else {
        o.status = sch_conn_feed(c, rec, reclen, err);
        if (o.status != SEC_E_OK)
            return o;
    }
    c->saw_handshake = 0;
    sch_errors_reset();
    r = SSL_read(c->ssl, dst, (int)(cap > 0 ? cap : 1));
    e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
    if (view) {
        sspi_error keep;
        /* the failure being reported wins over this one's message */
        o.status = sch_conn_end_view(c, e == SSL_ERROR_NONE ? err : &keep);
        if (o.status != SEC_E_OK && e == SSL_ERROR_NONE)
            return o;
        o.status = SEC_E_OK;
    }
    if (r > 0) {
        o.n = (size_t)r;
        return o;
    }
    if (e == SSL_ERROR_WANT_READ) {
        if (c->saw_handshake)
            o.event = SCH_EVENT_RENEGOTIATE;
        return o;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
        c->peer_closed = 1;
        o.event = SCH_EVENT_CLOSED;
        return o;
    }
    c->failed = 1;
    o.status = sch_status_from_ssl(c, "decrypt", e, SEC_E_ILLEGAL_MESSAGE, err);
    return o;
}

static sspi_status event_status(sch_event ev, sspi_error *err)
{
    if (ev == SCH_EVENT_CLOSED)
        return sspi_error_set(err, SEC_I_CONTEXT_EXPIRED,
                              "Schannel: the peer closed the connection (close_notify)");
    return sspi_error_set(err, SEC_I_RENEGOTIATE,
                          "Schannel: a post-handshake message (session ticket or key update) "
                          "arrived: step with err.extra, then carry on");
}

/* A call whose input starts with a remembered record gives its meaning. */
static int replayed_event(sch_conn *c, const unsigned char *in, size_t len, sspi_status *st,
                          sspi_error *err)
{
    sch_event ev = c->replay_event;
    if (ev == SCH_EVENT_NONE || sch_conn_skip_replay(c, in, len) == 0)
        return 0;
    *st = event_status(ev, err);
    if (ev == SCH_EVENT_CLOSED) {
        c->replay.len = 0;
        c->replay_event = SCH_EVENT_NONE;
    }
    return 1;
}

static sspi_status incomplete(size_t missing, size_t *out, sspi_error *err)
{
    *out = missing;
    return sspi_error_set(err, SEC_E_INCOMPLETE_MESSAGE,
                          "Schannel: %zu more byte(s) needed for a whole TLS record", missing);
}

sspi_status sch_unwrap(sch_conn *c, const unsigned char *in, size_t len, sspi_bytes *out,
                       size_t *consumed, size_t *missing, sspi_error *err)
{
    static const unsigned char nothing[1] = {0};
    size_t pos = 0, whole, count, miss;
    sspi_status st;
    out->len = 0;
    *consumed = 0;
    *missing = 0;
    if (in == NULL) {
        in = nothing;
        len = 0;
    }
    if (c->failed)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "Schannel: the connection failed earlier");
    if (replayed_event(c, in, len, &st, err))
        return st;
    if (c->peer_closed)
        return event_status(SCH_EVENT_CLOSED, err);
    for (;;) {
        one_record o;
        st = sch_record_scan(in + pos, len - pos, 1, &whole, &count, &miss, err);
        if (st != SEC_E_OK) {
            if (pos > 0)
                break; /* the next call refuses it */
            c->failed = 1;
            return st;
        }
        if (count == 0) {
            if (pos == 0)
                return incomplete(miss, missing, err);
            break;
        }
        if (sspi_bytes_reserve(out, out->len + whole) != 0)
            return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: out of memory");
        o = read_record(c, in + pos, whole, out->data + out->len, whole, err);
        if (o.status != SEC_E_OK)
            return o.status;
        if (o.event != SCH_EVENT_NONE) {
            if (out->len > 0) {
                /* Give the data first; the next call starts with this record. */
                st = remember(c, in + pos, whole, o.event, err);
                if (st != SEC_E_OK)
                    return st;
                break;
            }
            if (o.event == SCH_EVENT_RENEGOTIATE) {
                st = remember(c, in + pos, whole, o.event, err);
                if (st != SEC_E_OK)
                    return st;
            } else {
                pos += whole;
            }
            *consumed = pos;
            return event_status(o.event, err);
        }
        out->len += o.n;
        pos += whole;
    }
    *consumed = pos;
    return SEC_E_OK;
}

/* Gives an EMPTY buffer a copy of n bytes (package-allocated). */
static sspi_status put_copy(sch_conn *c, sspi_buffer *b, uint32_t type, const unsigned char *p,
                            size_t n, sspi_error *err)
{
    b->type = type;
    b->length = 0;
    if (n == 0)
        return SEC_E_OK;
    b->data = sspi_mem_alloc(c->alloc, n);
    if (b->data == NULL) {
        b->capacity = 0;
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: out of memory");
    }
    memcpy(b->data, p, n);
    b->capacity = n;
    b->length = n;
    b->package_allocated = 1;
    return SEC_E_OK;
}

sspi_status sch_decrypt_list(sch_conn *c, sspi_buffer_list *msg, size_t *missing, sspi_error *err)
{
    sspi_buffer *data = sspi_buffer_list_find(msg, SECBUFFER_DATA), *empty[3];
    uint32_t h, t, max, block;
    size_t i, k = 0, whole, count, miss;
    unsigned char *in;
    one_record o;
    sspi_status st;

    *missing = 0;
    for (i = 0; msg && i < msg->count && k < 3; i++)
        if (SSPI_BUFFER_BASE_TYPE(msg->buffers[i].type) == SECBUFFER_EMPTY)
            empty[k++] = &msg->buffers[i];
    if (data == NULL || k < 3)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_BUFFERS,
                              "Schannel: decrypt_message needs a DATA buffer and three EMPTY ones");
    if (c->failed)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "Schannel: the connection failed earlier");
    in = data->data;
    if (in == NULL)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_BUFFERS,
                              "Schannel: decrypt_message: the DATA buffer holds nothing");
    if (replayed_event(c, in, data->length, &st, err))
        return st == SEC_I_RENEGOTIATE
                   ? (put_copy(c, empty[2], SECBUFFER_EXTRA, in, data->length, err), st)
                   : st;
    if (c->peer_closed)
        return event_status(SCH_EVENT_CLOSED, err);
    st = sch_record_scan(in, data->length, 1, &whole, &count, &miss, err);
    if (st != SEC_E_OK) {
        c->failed = 1;
        return st;
    }
    if (count == 0) {
        empty[0]->type = SECBUFFER_MISSING;
        return incomplete(miss, missing, err);
    }
    sch_stream_sizes(c, &h, &t, &max, &block);
    if (whole < h)
        h = SCH_RECORD_HEADER;
    /* In place, as Windows: the plaintext overwrites the record after its header. */
    o = read_record(c, in, whole, in + h, whole - h, err);
    if (o.status != SEC_E_OK)
        return o.status;
    if (o.event == SCH_EVENT_RENEGOTIATE) {
        st = remember(c, in, whole, o.event, err);
        if (st == SEC_E_OK)
            st = put_copy(c, empty[2], SECBUFFER_EXTRA, in, data->length, err);
        return st != SEC_E_OK ? st : event_status(o.event, err);
    }
    if (o.event == SCH_EVENT_CLOSED) {
        st = put_copy(c, empty[2], SECBUFFER_EXTRA, in + whole, data->length - whole, err);
        return st != SEC_E_OK ? st : event_status(o.event, err);
    }
    st = put_copy(c, empty[0], SECBUFFER_DATA, in + h, o.n, err);
    if (st == SEC_E_OK)
        st = put_copy(c, empty[1], SECBUFFER_STREAM_TRAILER, in + h + o.n, whole - h - o.n, err);
    if (st == SEC_E_OK && data->length > whole)
        st = put_copy(c, empty[2], SECBUFFER_EXTRA, in + whole, data->length - whole, err);
    if (st != SEC_E_OK)
        return st;
    data->type = SECBUFFER_STREAM_HEADER | (data->type & SECBUFFER_ATTRMASK);
    data->length = h;
    return SEC_E_OK;
}
