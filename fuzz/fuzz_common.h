/*
 * fuzz_common.h - what the libFuzzer targets in fuzz/ share: the test
 * identity, credentials made through the public API, one-call steps and
 * whole handshakes, and an abort that libFuzzer reports as a crash.
 *
 * libFuzzer's entry point takes no user pointer, so each target keeps the
 * objects its LLVMFuzzerInitialize made in file-scope statics.  That state
 * belongs to the harness, never to the library under test.
 */
#ifndef SSPI_FUZZ_COMMON_H
#define SSPI_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "sspi.h"

/* The identity every target uses (and fuzz/make_corpus.lua too, so that
 * seed tokens name a user the acceptor knows). */
#define FUZZ_USER "alice"
#define FUZZ_DOMAIN "DOMAIN"
#define FUZZ_PASSWORD "Passw0rd"
#define FUZZ_TARGET "host/localhost"

/* The request flags a full-featured client and server use. */
#define FUZZ_ISC_REQ (ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | \
                      ISC_REQ_SEQUENCE_DETECT | ISC_REQ_CONNECTION)
#define FUZZ_ASC_REQ (ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_REPLAY_DETECT | \
                      ASC_REQ_SEQUENCE_DETECT | ASC_REQ_CONNECTION)

/* Prints what broke and aborts: an invariant of the library failed. */
void sspi_fuzz_die(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

#define FUZZ_CHECK(cond, ...)              \
    do {                                   \
        if (!(cond))                       \
            sspi_fuzz_die(__VA_ARGS__);    \
    } while (0)

/* The allocator every fuzz credential uses: it aborts when the library
 * frees or resizes a block with a size other than the one it allocated. */
const sspi_allocator *sspi_fuzz_allocator(void);

/* How a credential finds users (acceptor) or which it is (initiator). */
typedef enum sspi_fuzz_store {
    FUZZ_STORE_LOOKUP = 0, /* acceptor: a lookup function that knows every user */
    FUZZ_STORE_FILE = 1    /* acceptor: a user file with DOMAIN:alice:Passw0rd */
} sspi_fuzz_store;

/* A credential of package "NTLM" or "Negotiate" (built-in, NTLM inside).
 * lm_level 0..5; store only matters for inbound.  Aborts on failure: a
 * harness that cannot set up tests nothing. */
sspi_credential *sspi_fuzz_cred(const char *package, sspi_cred_usage usage, int lm_level,
                                sspi_fuzz_store store);

/* The NT hash of FUZZ_PASSWORD (what the lookup answers for every user). */
void sspi_fuzz_nt_hash(unsigned char out[16]);

/* A step's output token (malloc'd; free with sspi_fuzz_token_free). */
typedef struct sspi_fuzz_token {
    unsigned char *data;
    size_t len;
} sspi_fuzz_token;

void sspi_fuzz_token_free(sspi_fuzz_token *t);

/* One step with an optional input token and channel bindings; the output
 * token (if any) goes into out (may be NULL).  Returns the step's status. */
sspi_status sspi_fuzz_step(sspi_context *ctx, int initiator, uint32_t req, const char *target,
                           const unsigned char *in, size_t in_len, const unsigned char *cb,
                           size_t cb_len, sspi_fuzz_token *out, uint32_t *ret_flags);

/* The serialised channel bindings of a TLS channel ("tls-server-end-point:"
 * and a fixed hash); out must hold SSPI_FUZZ_BINDINGS_LEN bytes. */
#define SSPI_FUZZ_BINDINGS_LEN (SSPI_CHANNEL_BINDINGS_HEADER + 21 + 32)
void sspi_fuzz_bindings(unsigned char out[SSPI_FUZZ_BINDINGS_LEN]);

/* Runs a whole handshake between two fresh contexts on the credentials;
 * aborts unless it completes.  The caller frees both contexts. */
void sspi_fuzz_handshake(sspi_credential *client_cred, sspi_credential *server_cred,
                         uint32_t isc_req, uint32_t asc_req, sspi_context **client,
                         sspi_context **server);

/* Applies fuzz-chosen edits to a genuine token: each 3-byte op is a
 * 16-bit little-endian position (modulo len) and a byte XORed in there.
 * Returns how many bytes changed. */
size_t sspi_fuzz_mutate(unsigned char *buf, size_t len, const uint8_t *ops, size_t ops_len);

/* Whether a refusal status is a security answer (not a harness or
 * internal fault): anything but INTERNAL_ERROR, INSUFFICIENT_MEMORY,
 * INVALID_HANDLE and the success codes. */
int sspi_fuzz_clean_refusal(sspi_status st);
/* FUZZ_ASC_REQ without ASC_REQ_CONFIDENTIALITY when the client does not ask
 * for it: the NTLM acceptor fails a step whose requested protection the
 * client did not negotiate. */
uint32_t sspi_fuzz_asc_req(uint32_t isc_req);

/* Reads a little-endian 16/32-bit value. */
uint32_t sspi_fuzz_le16(const unsigned char *p);
uint32_t sspi_fuzz_le32(const unsigned char *p);

#endif /* SSPI_FUZZ_COMMON_H */
