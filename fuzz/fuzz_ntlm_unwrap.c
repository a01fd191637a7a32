/*
 * fuzz_ntlm_unwrap.c - NTLM session security on received messages:
 * unwrap, verify, decrypt_message and verify_signature (SecBuffer lists)
 * on an established built-in NTLM context pair.
 *
 * Input: four configuration bytes, then the payload.
 *   cfg0 bits 0-1  operation: 0 unwrap, 1 verify, 2 decrypt_message,
 *                  3 verify_signature
 *        bits 2-3  the pair: 0 NTLMv2 sealing, 1 NTLMv2 signing only,
 *                  2 NTLMv1 without ESS (CRC32, one RC4 handle), 3 NTLMv1
 *                  with ESS
 *        bit 4     genuine: the peer protects the payload, the message gets
 *                  the edit of cfg2/cfg3, and then the receiver checks it
 *        bit 5     the server sends and the client receives
 *        bit 6     one genuine message goes first (sequence numbers move)
 *   cfg1           buffer layout for the SecBuffer operations: bits 0-1 +1
 *                  DATA buffers, bits 2-5 which of them are READONLY, bit 6
 *                  an empty PADDING buffer, bit 7 a zero-length DATA buffer
 *   cfg2           byte XORed into the genuine message (0: unedited)
 *   cfg3           where (modulo the message's length)
 * Not genuine, the payload is the received message itself: for unwrap the
 * wrapped bytes, for the others a 16-byte signature then the data.
 *
 * A fresh pair per run (its keys are random, so a raw payload exercises
 * the refusals) keeps runs reproducible.  Invariants: an unedited genuine
 * message verifies and gives back the plaintext; an edited one is refused
 * (MESSAGE_ALTERED or OUT_OF_SEQUENCE); refusals of raw input are security
 * statuses; no plaintext is handed out from a refused unwrap.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sspi_credential *clients[4], *server_cred;
static const uint32_t pair_req[4] = {
    FUZZ_ISC_REQ, ISC_REQ_INTEGRITY | ISC_REQ_CONNECTION, FUZZ_ISC_REQ, FUZZ_ISC_REQ};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const int levels[4] = {3, 3, 0, 1};
    int i;
    (void)argc;
    (void)argv;
    for (i = 0; i < 4; i++)
        clients[i] = sspi_fuzz_cred("NTLM", SSPI_CRED_OUTBOUND, levels[i], FUZZ_STORE_LOOKUP);
    server_cred = sspi_fuzz_cred("NTLM", SSPI_CRED_INBOUND, 0, FUZZ_STORE_LOOKUP);
    return 0;
}

/* A SecBuffer list over one contiguous area: TOKEN (16 bytes) first, then
 * the DATA buffers the layout byte asks for, splitting the data. */
typedef struct layout {
    sspi_buffer b[8];
    sspi_buffer_list list;
} layout;

static void make_layout(layout *l, uint8_t shape, unsigned char *area, size_t len)
{
    size_t ndata = 1 + (shape & 3), i, at = 16, data_len = len - 16, part;
    memset(l, 0, sizeof *l);
    l->list.buffers = l->b;
    l->b[0].type = SECBUFFER_TOKEN;
    l->b[0].data = area;
    l->b[0].length = l->b[0].capacity = 16;
    l->list.count = 1;
    for (i = 0; i < ndata; i++) {
        sspi_buffer *b = &l->b[l->list.count++];
        part = i + 1 == ndata ? data_len - (at - 16) : data_len / ndata;
        b->type = SECBUFFER_DATA | (((shape >> (2 + i)) & 1) ? SECBUFFER_READONLY : 0);
        b->data = area + at;
        b->length = b->capacity = part;
        at += part;
    }
    if (shape & 0x40) {
        sspi_buffer *b = &l->b[l->list.count++];
        b->type = SECBUFFER_PADDING;
        b->data = NULL;
    }
    if (shape & 0x80) {
        sspi_buffer *b = &l->b[l->list.count++];
        b->type = SECBUFFER_DATA;
        b->data = area + len; /* zero bytes at the end */
    }
}

/* Protects plain (len bytes) for sending; *msg is malloc'd.  For the
 * SecBuffer operations the message is signature || data. */
static void protect(sspi_context *from, int op, uint8_t shape, const unsigned char *plain,
                    size_t len, unsigned char **msg, size_t *msg_len)
{
    const unsigned char *out;
    size_t out_len;
    sspi_error err;
    sspi_status st;
    layout l;
    *msg_len = len + 16;
    *msg = malloc(*msg_len);
    if (*msg == NULL)
        sspi_fuzz_die("out of memory");
    switch (op) {
    case 0:
        st = sspi_wrap(from, 1, plain, len, &out, &out_len, &err);
        FUZZ_CHECK(st == SEC_E_OK && out_len == len + 16, "wrap: 0x%08x", (unsigned)st);
        memcpy(*msg, out, out_len);
        break;
    case 1:
        st = sspi_sign(from, plain, len, &out, &out_len, &err);
        FUZZ_CHECK(st == SEC_E_OK && out_len == 16, "sign: 0x%08x", (unsigned)st);
        memcpy(*msg, out, 16);
        if (len)
            memcpy(*msg + 16, plain, len);
        break;
    default:
        if (len)
            memcpy(*msg + 16, plain, len);
        make_layout(&l, shape, *msg, *msg_len);
        st = op == 2 ? sspi_encrypt_message(from, 0, &l.list, 0, &err)
                     : sspi_make_signature(from, 0, &l.list, 0, &err);
        FUZZ_CHECK(st == SEC_E_OK && l.b[0].length == 16, "%s: 0x%08x: %s",
                   op == 2 ? "encrypt_message" : "make_signature", (unsigned)st, err.message);
        break;
    }
}

/* Receives msg; on success *plain (pointing into msg or the context)
 * holds the recovered data.  msg is modified in place by the SecBuffer
 * operations. */
static sspi_status receive(sspi_context *to, int op, uint8_t shape, unsigned char *msg,
                           size_t len, const unsigned char **plain, size_t *plain_len)
{
    sspi_error err;
    sspi_status st;
    uint32_t qop = 0;
    int encrypted = 0;
    layout l;
    *plain = NULL;
    *plain_len = 0;
    sspi_error_clear(&err);
    switch (op) {
    case 0:
        st = sspi_unwrap(to, msg, len, plain, plain_len, &encrypted, &err);
        break;
    case 1:
        if (len < 16)
            return sspi_verify(to, msg + len, 0, msg, len, &err);
        st = sspi_verify(to, msg + 16, len - 16, msg, 16, &err);
        *plain = msg + 16;
        *plain_len = len - 16;
        break;
    default:
        if (len < 16) {
            /* A token shorter than a signature, the rest empty. */
            sspi_buffer b[2];
            sspi_buffer_list list = {2, b};
            memset(b, 0, sizeof b);
            b[0].type = SECBUFFER_TOKEN;
            b[0].data = msg;
            b[0].length = b[0].capacity = len;
            b[1].type = SECBUFFER_DATA;
            st = op == 2 ? sspi_decrypt_message(to, &list, 0, &qop, &err)
                         : sspi_verify_signature(to, &list, 0, &qop, &err);
            break;
        }
        make_layout(&l, shape, msg, len);
        st = op == 2 ? sspi_decrypt_message(to, &l.list, 0, &qop, &err)
                     : sspi_verify_signature(to, &l.list, 0, &qop, &err);
        *plain = msg + 16;
        *plain_len = len - 16;
        break;
    }
    FUZZ_CHECK(st == SEC_E_OK || err.message[0], "refusal 0x%08x without a message",
               (unsigned)st);
    if (st != SEC_E_OK) {
        FUZZ_CHECK(op != 0 || *plain_len == 0, "a refused unwrap handed out %zu bytes",
                   *plain_len);
        FUZZ_CHECK(sspi_fuzz_clean_refusal(st), "receiving: 0x%08x (%s)", (unsigned)st,
                   sspi_status_name(st));
    }
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sspi_context *c = NULL, *s = NULL, *from, *to;
    const unsigned char *plain;
    unsigned char *msg = NULL;
    size_t msg_len, plain_len;
    int op, genuine;
    uint8_t shape, edit_xor, edit_at;
    sspi_status st;
    if (size < 4)
        return 0;
    op = data[0] & 3;
    genuine = (data[0] >> 4) & 1;
    shape = data[1];
    edit_xor = data[2];
    edit_at = data[3];
    sspi_fuzz_handshake(clients[(data[0] >> 2) & 3], server_cred, pair_req[(data[0] >> 2) & 3],
                        sspi_fuzz_asc_req(pair_req[(data[0] >> 2) & 3]), &c, &s);
    from = (data[0] & 0x20) ? s : c;
    to = (data[0] & 0x20) ? c : s;
    if (data[0] & 0x40) {
        /* A genuine message first: the receiver's numbers and RC4 move on. */
        protect(from, op, shape, (const unsigned char *)"first", 5, &msg, &msg_len);
        st = receive(to, op, shape, msg, msg_len, &plain, &plain_len);
        FUZZ_CHECK(st == SEC_E_OK, "a genuine first message refused: 0x%08x", (unsigned)st);
        free(msg);
    }
    data += 4;
    size -= 4;
    if (genuine) {
        unsigned char *orig;
        int edited;
        protect(from, op, shape, data, size, &msg, &msg_len);
        orig = malloc(msg_len);
        if (orig == NULL)
            sspi_fuzz_die("out of memory");
        memcpy(orig, msg, msg_len);
        msg[edit_at % msg_len] ^= edit_xor;
        /* Every byte lies in the signature or a signed DATA buffer. */
        edited = memcmp(orig, msg, msg_len) != 0;
        st = receive(to, op, shape, msg, msg_len, &plain, &plain_len);
        if (!edited) {
            FUZZ_CHECK(st == SEC_E_OK, "an unedited genuine message refused: 0x%08x (%s)",
                       (unsigned)st, sspi_status_name(st));
            FUZZ_CHECK(plain_len == size && (size == 0 || memcmp(plain, data, size) == 0),
                       "the received data differs from what was sent");
        } else {
            FUZZ_CHECK(st == SEC_E_MESSAGE_ALTERED || st == SEC_E_OUT_OF_SEQUENCE,
                       "an edited message answered 0x%08x (%s)", (unsigned)st,
                       sspi_status_name(st));
        }
        free(orig);
    } else {
        msg_len = size;
        msg = malloc(size ? size : 1);
        if (msg == NULL)
            sspi_fuzz_die("out of memory");
        memcpy(msg, data, size);
        receive(to, op, shape, msg, msg_len, &plain, &plain_len);
    }
    free(msg);
    sspi_context_free(&c);
    sspi_context_free(&s);
    return 0;
}
