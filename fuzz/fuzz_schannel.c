/*
 * fuzz_schannel.c - the Schannel record and handshake feeding path: bytes
 * from the network handed to a server's step, to a client's step after its
 * ClientHello, or to unwrap / decrypt_message on a connection that has just
 * completed a real handshake.
 *
 * Input: one configuration byte, then the bytes "received".
 *   cfg bits 0-1  0: a server's step_accept; 1: a client's step_init after
 *                 its ClientHello; 2: unwrap after a handshake; 3:
 *                 decrypt_message after a handshake
 *       bit 2     feed the bytes one at a time (a stream cut everywhere)
 *       bit 3     credentials limited to TLS 1.2 (else 1.2 and 1.3)
 *
 * Invariants beyond crashes: a step never consumes more than it was given,
 * never reports IncompleteMessage with nothing missing or with bytes
 * consumed, and never "needs" more than a record can hold; every refusal is
 * one of the statuses docs/schannel.md lists, with a message; unwrap never
 * returns more data than it was given bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_tls.h"
#include "providers/schannel/schannel.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Harness state made once (see fuzz_common.h). */
static sch_cred *servers[2], *clients[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char *cert, *key;
    int i;
    (void)argc;
    (void)argv;
    sspi_fuzz_tls_identity(&cert, &key);
    for (i = 0; i < 2; i++)
        sspi_fuzz_tls_creds(cert, key, i ? SP_PROT_TLS1_2 : 0, &servers[i], &clients[i]);
    free(cert);
    free(key);
    return 0;
}

static int refusal_ok(sspi_status st)
{
    switch (st) {
    case SEC_E_ILLEGAL_MESSAGE:
    case SEC_E_ALGORITHM_MISMATCH:
    case SEC_E_DECRYPT_FAILURE:
    case SEC_E_UNTRUSTED_ROOT:
    case SEC_E_WRONG_PRINCIPAL:
    case SEC_E_CERT_EXPIRED:
    case SEC_E_CERT_UNKNOWN:
    case SEC_E_CERT_WRONG_USAGE:
    case SEC_E_NO_CREDENTIALS:
    case SEC_E_INVALID_HANDLE:
    case SEC_E_CONTEXT_EXPIRED:
    case SEC_E_INSUFFICIENT_BUFFERS:
        return 1;
    default:
        return 0;
    }
}

/* One step with in[0..len); checks the stream invariants. */
static sspi_status step(sch_conn *c, const uint8_t *in, size_t len, sspi_bytes *out,
                        size_t *consumed)
{
    sch_step_io io;
    sspi_error err;
    sspi_status st;
    memset(&io, 0, sizeof io);
    sspi_error_clear(&err);
    io.in = in;
    io.in_len = len;
    io.out = out;
    io.target = "localhost";
    st = sch_step(c, &io, &err);
    FUZZ_CHECK(io.consumed <= len, "step consumed %zu of %zu bytes", io.consumed, len);
    if (st == SEC_E_INCOMPLETE_MESSAGE) {
        FUZZ_CHECK(io.missing >= 1 && io.missing <= SCH_RECORD_HEADER + SCH_MAX_RECORD,
                   "IncompleteMessage with %zu bytes missing", io.missing);
        FUZZ_CHECK(io.consumed == 0, "IncompleteMessage consumed %zu bytes", io.consumed);
    } else if (!SSPI_SUCCESS(st)) {
        FUZZ_CHECK(refusal_ok(st) && err.message[0], "step refused with 0x%08x (%s)", (unsigned)st,
                   err.message);
    } else {
        FUZZ_CHECK(st == SEC_E_OK || st == SEC_I_CONTINUE_NEEDED || st == SEC_I_INCOMPLETE_CREDENTIALS,
                   "step returned 0x%08x", (unsigned)st);
    }
    *consumed = io.consumed;
    return st;
}

/* Feeds bytes to a step the way a script would: whole, or one at a time. */
static void feed_steps(sch_conn *c, const uint8_t *data, size_t size, int bytewise)
{
    sspi_bytes out, buf;
    size_t pos = 0, consumed;
    int rounds = 0;
    sspi_bytes_init(&out, sspi_fuzz_allocator());
    sspi_bytes_init(&buf, sspi_fuzz_allocator());
    while (pos < size && rounds++ < 100000) {
        size_t take = bytewise ? 1 : size - pos;
        sspi_status st;
        if (sspi_bytes_append(&buf, data + pos, take) != 0)
            break;
        pos += take;
        out.len = 0;
        st = step(c, buf.data, buf.len, &out, &consumed);
        if (!SSPI_SUCCESS(st) && st != SEC_E_INCOMPLETE_MESSAGE)
            break;
        if (st == SEC_E_INCOMPLETE_MESSAGE)
            continue;
        memmove(buf.data, buf.data + consumed, buf.len - consumed);
        buf.len -= consumed;
    }
    sspi_bytes_free(&out);
    sspi_bytes_free(&buf);
}

/* A real handshake between our client and server; 0 when both complete. */
static int handshake(sch_conn *cl, sch_conn *sv)
{
    sspi_bytes a, b;
    sspi_status cs = SEC_I_CONTINUE_NEEDED, ss = SEC_I_CONTINUE_NEEDED;
    size_t consumed;
    int i;
    sspi_bytes_init(&a, sspi_fuzz_allocator());
    sspi_bytes_init(&b, sspi_fuzz_allocator());
    for (i = 0; i < 10 && (cs != SEC_E_OK || ss != SEC_E_OK); i++) {
        if (cs != SEC_E_OK) {
            a.len = 0;
            cs = step(cl, b.data, b.len, &a, &consumed);
            FUZZ_CHECK(cs == SEC_E_OK || cs == SEC_I_CONTINUE_NEEDED, "client: 0x%08x", (unsigned)cs);
        }
        b.len = 0;
        if (a.len) {
            ss = step(sv, a.data, a.len, &b, &consumed);
            FUZZ_CHECK(ss == SEC_E_OK || ss == SEC_I_CONTINUE_NEEDED, "server: 0x%08x", (unsigned)ss);
            a.len = 0;
        }
    }
    sspi_bytes_free(&a);
    sspi_bytes_free(&b);
    return cs == SEC_E_OK && ss == SEC_E_OK ? 0 : -1;
}

static void fuzz_messages(sch_conn *c, const uint8_t *data, size_t size, int lists)
{
    sspi_bytes out;
    sspi_error err;
    size_t pos = 0;
    sspi_bytes_init(&out, sspi_fuzz_allocator());
    while (pos < size) {
        size_t consumed = 0, missing = 0;
        sspi_status st;
        sspi_error_clear(&err);
        if (lists) {
            sspi_buffer b[4];
            sspi_buffer_list l = {4, b};
            unsigned char *copy = malloc(size - pos);
            int k;
            memcpy(copy, data + pos, size - pos);
            memset(b, 0, sizeof b);
            b[0].type = SECBUFFER_DATA;
            b[0].data = copy;
            b[0].length = b[0].capacity = size - pos;
            st = sch_decrypt_list(c, &l, &missing, &err);
            for (k = 1; k < 4; k++)
                sspi_buffer_release(sspi_fuzz_allocator(), &b[k]);
            consumed = size - pos; /* one record per call: done */
            free(copy);
        } else {
            st = sch_unwrap(c, data + pos, size - pos, &out, &consumed, &missing, &err);
            FUZZ_CHECK(consumed <= size - pos, "unwrap consumed past its input");
            FUZZ_CHECK(st != SEC_E_OK || out.len <= consumed, "unwrap made data out of nothing");
        }
        if (st == SEC_E_INCOMPLETE_MESSAGE)
            FUZZ_CHECK(missing >= 1, "incomplete with nothing missing");
        else if (!SSPI_SUCCESS(st))
            FUZZ_CHECK(refusal_ok(st) && err.message[0], "unwrap refused with 0x%08x", (unsigned)st);
        if (st != SEC_E_OK || consumed == 0)
            break;
        pos += consumed;
    }
    sspi_bytes_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sch_conn *cl = NULL, *sv = NULL;
    sspi_error err;
    int mode, bytewise, tls12;
    if (size < 1)
        return 0;
    mode = data[0] & 3;
    bytewise = (data[0] >> 2) & 1;
    tls12 = (data[0] >> 3) & 1;
    data++;
    size--;
    if (bytewise && size > 4096)
        return 0;
    FUZZ_CHECK(sch_conn_new(clients[tls12], 0, sspi_fuzz_allocator(), &cl, &err) == SEC_E_OK, "conn");
    FUZZ_CHECK(sch_conn_new(servers[tls12], 1, sspi_fuzz_allocator(), &sv, &err) == SEC_E_OK, "conn");
    if (mode == 0) {
        feed_steps(sv, data, size, bytewise);
    } else if (mode == 1) {
        sspi_bytes hello;
        size_t consumed;
        sspi_bytes_init(&hello, sspi_fuzz_allocator());
        FUZZ_CHECK(step(cl, NULL, 0, &hello, &consumed) == SEC_I_CONTINUE_NEEDED, "ClientHello");
        sspi_bytes_free(&hello);
        feed_steps(cl, data, size, bytewise);
    } else if (handshake(cl, sv) == 0) {
        fuzz_messages(cl, data, size, mode == 3);
    }
    sch_conn_free(&cl);
    sch_conn_free(&sv);
    return 0;
}
