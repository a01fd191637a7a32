/*
 * fuzz_schannel_alpn.c - the parser of an input SECBUFFER_APPLICATION_PROTOCOLS
 * (SEC_APPLICATION_PROTOCOLS, csrc/providers/schannel/sch_alpn.c), then, for
 * what it accepts, the same buffer given to both sides' first step of a
 * real handshake (a client offers the list, a server chooses from it).
 *
 * Input: the buffer, as a script hands it to step_init / step_accept.
 *
 * Invariants beyond crashes: the parser agrees with an independent reading
 * of the layout (accept or refuse, and which bytes are the ALPN list); a
 * refusal is SEC_E_INVALID_PARAMETER naming the buffer; an accepted ALPN
 * list lies inside the input and is valid wire format; with the same list
 * on both sides, a completed handshake chose the first name on both, and
 * one without an ALPN list chose none.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_tls.h"
#include "providers/schannel/schannel.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Harness state made once (see fuzz_common.h). */
static sch_cred *server, *client;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char *cert, *key;
    (void)argc;
    (void)argv;
    sspi_fuzz_tls_identity(&cert, &key);
    sspi_fuzz_tls_creds(cert, key, 0, &server, &client);
    free(cert);
    free(key);
    return 0;
}

/* The layout read again, another way: 1 valid with *alpn, *alpn_len the ALPN
 * list (NULL when only NPN lists), 0 malformed. */
static int reference(const uint8_t *d, size_t size, const uint8_t **alpn, size_t *alpn_len)
{
    size_t pos;
    *alpn = NULL;
    *alpn_len = 0;
    if (size < 4 || ((size_t)d[0] | (size_t)d[1] << 8 | (size_t)d[2] << 16 |
                     (size_t)d[3] << 24) != size - 4)
        return 0;
    for (pos = 4; pos < size;) {
        size_t ext, n, i;
        if (pos + 6 > size)
            return 0;
        ext = (size_t)d[pos] | (size_t)d[pos + 1] << 8 | (size_t)d[pos + 2] << 16 |
              (size_t)d[pos + 3] << 24;
        n = (size_t)d[pos + 4] | (size_t)d[pos + 5] << 8;
        pos += 6;
        if (pos + n > size || (ext != 1 && ext != 2))
            return 0;
        if (ext == 2) {
            if (*alpn != NULL || n == 0)
                return 0;
            for (i = 0; i < n; i += 1 + (size_t)d[pos + i])
                if (d[pos + i] == 0 || i + 1 + d[pos + i] > n)
                    return 0;
            *alpn = d + pos;
            *alpn_len = n;
        }
        pos += n;
    }
    return 1;
}

/* One first-or-later step with the buffer on the first. */
static sspi_status step(sch_conn *c, const sspi_bytes *in, sspi_bytes *out, const uint8_t *buf,
                        size_t size, int first, sspi_error *err)
{
    sch_step_io io;
    memset(&io, 0, sizeof io);
    sspi_error_clear(err);
    io.in = in->data;
    io.in_len = in->len;
    io.out = out;
    io.target = "localhost";
    if (first) {
        io.app_protocols = buf;
        io.app_protocols_len = size;
    }
    out->len = 0;
    return sch_step(c, &io, err);
}

/* Both sides step with the buffer; on completion, checks the choice. */
static void handshake(const uint8_t *buf, size_t size, const uint8_t *alpn)
{
    sch_conn *cl = NULL, *sv = NULL;
    sspi_bytes a, b;
    sspi_error err;
    sspi_status cs = SEC_I_CONTINUE_NEEDED, ss = SEC_I_CONTINUE_NEEDED;
    int i;
    FUZZ_CHECK(sch_conn_new(client, 0, sspi_fuzz_allocator(), &cl, &err) == SEC_E_OK, "conn");
    FUZZ_CHECK(sch_conn_new(server, 1, sspi_fuzz_allocator(), &sv, &err) == SEC_E_OK, "conn");
    sspi_bytes_init(&a, sspi_fuzz_allocator());
    sspi_bytes_init(&b, sspi_fuzz_allocator());
    for (i = 0; i < 10 && SSPI_SUCCESS(cs) && SSPI_SUCCESS(ss) &&
                (cs != SEC_E_OK || ss != SEC_E_OK); i++) {
        if (cs != SEC_E_OK)
            cs = step(cl, &b, &a, buf, size, i == 0, &err);
        if (SSPI_SUCCESS(cs) && a.len)
            ss = step(sv, &a, &b, buf, size, i == 0, &err);
        else
            b.len = 0;
    }
    if (!SSPI_SUCCESS(cs) || !SSPI_SUCCESS(ss)) {
        /* OpenSSL refuses a ClientHello whose ALPN extension would not fit
         * its 16-bit length; anything else is a finding. */
        FUZZ_CHECK(alpn != NULL && size > 60000 && err.message[0],
                   "handshake with a valid buffer failed: 0x%08x / 0x%08x (%s)", (unsigned)cs,
                   (unsigned)ss, err.message);
    } else {
        const char *c_alpn = sch_query_alpn(cl, &err), *s_alpn;
        char want[256];
        FUZZ_CHECK(cs == SEC_E_OK && ss == SEC_E_OK, "handshake did not finish");
        if (c_alpn != NULL) {
            /* copied: the client's answer lives until its next query */
            size_t n = strlen(c_alpn);
            FUZZ_CHECK(n < sizeof want, "ALPN name of %zu bytes", n);
            memcpy(want, c_alpn, n + 1);
            c_alpn = want;
        }
        s_alpn = sch_query_alpn(sv, &err);
        if (alpn == NULL) {
            FUZZ_CHECK(c_alpn == NULL && s_alpn == NULL, "ALPN chosen without a list");
        } else {
            FUZZ_CHECK(c_alpn != NULL && s_alpn != NULL, "no ALPN chosen from a valid list");
            FUZZ_CHECK(strcmp(c_alpn, s_alpn) == 0, "client chose %s, server %s", c_alpn,
                       s_alpn);
            FUZZ_CHECK(strncmp(c_alpn, (const char *)alpn + 1, alpn[0]) == 0,
                       "chose %s, not the first name", c_alpn);
        }
    }
    sspi_bytes_free(&a);
    sspi_bytes_free(&b);
    sch_conn_free(&cl);
    sch_conn_free(&sv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *wire = NULL;
    const uint8_t *ref;
    size_t wire_len = 0, ref_len;
    sspi_error err;
    sspi_status st;
    int valid;
    /* the parser sees a copy of exactly size bytes: ASan catches over-reads */
    uint8_t *buf = malloc(size ? size : 1);
    FUZZ_CHECK(buf != NULL, "out of memory");
    if (size)
        memcpy(buf, data, size);
    sspi_error_clear(&err);
    st = sch_alpn_parse(buf, size, &wire, &wire_len, &err);
    valid = reference(buf, size, &ref, &ref_len);
    if (st != SEC_E_OK) {
        FUZZ_CHECK(!valid, "refused (0x%08x, %s) a valid buffer", (unsigned)st, err.message);
        FUZZ_CHECK(st == SEC_E_INVALID_PARAMETER, "refused with 0x%08x", (unsigned)st);
        FUZZ_CHECK(strstr(err.message, "SECBUFFER_APPLICATION_PROTOCOLS") != NULL,
                   "refusal does not name the buffer: %s", err.message);
    } else {
        FUZZ_CHECK(valid, "accepted a malformed buffer");
        FUZZ_CHECK(wire == ref && wire_len == ref_len,
                   "ALPN list at offset %td (%zu bytes), expected %td (%zu bytes)",
                   wire ? wire - buf : -1, wire_len, ref ? ref - buf : -1, ref_len);
        handshake(buf, size, wire);
    }
    free(buf);
    return 0;
}
