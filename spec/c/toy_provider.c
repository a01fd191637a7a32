/*
 * toy_provider.c - a test-only package that proves the step contract
 * (csrc/core/internal.h) for packages that are not token-in/token-out.
 *
 * Framing: records of a 2-byte big-endian length and that many payload
 * bytes, as a stream package (Schannel) reads its transport: a step may get
 * less than one record (SEC_E_INCOMPLETE_MESSAGE with the bytes missing) or
 * more (the rest comes back as SECBUFFER_EXTRA).
 *
 * Handshake: the initiator sends HELLO (HELLO-C when the target is
 * "complete", HELLO-ASK when it is "ask"); the acceptor answers WELCOME and
 * is done (SEC_I_COMPLETE_NEEDED for HELLO-C, so the core holds it until
 * complete_auth_token), or ASK; the initiator is done on WELCOME, and on ASK
 * it returns SEC_I_INCOMPLETE_CREDENTIALS unless context_req has
 * ISC_REQ_USE_SUPPLIED_CREDS (go on without).  No message protection.
 */
#include <string.h>

#include "toy_provider.h"

typedef struct toy_ctx {
    int stage;     /* 0: nothing sent or read yet, 1: HELLO sent (initiator) */
    int completed; /* complete_auth_token ran */
} toy_ctx;

static sspi_status toy_acquire(sspi_credential *cred, const sspi_cred_options *opts,
                               sspi_error *err)
{
    (void)cred;
    (void)opts;
    (void)err;
    return SEC_E_OK; /* nothing to hold */
}

static sspi_status toy_impl(sspi_context *ctx, toy_ctx **out, sspi_error *err)
{
    if (ctx->impl == NULL) {
        ctx->impl = sspi_mem_alloc(ctx->alloc, sizeof(toy_ctx));
        if (ctx->impl == NULL)
            return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Toy: out of memory");
        memset(ctx->impl, 0, sizeof(toy_ctx));
    }
    *out = ctx->impl;
    return SEC_E_OK;
}

/* One record from the input token: nothing is consumed unless it is whole. */
static sspi_status read_record(const sspi_step_in *in, const unsigned char **payload, size_t *len,
                               sspi_error *err)
{
    size_t have = in->token_len, need;
    if (have < 2) {
        in->out->missing = 2 - have; /* the rest of the header */
        return sspi_error_set(err, SEC_E_INCOMPLETE_MESSAGE,
                              "Toy: %zu of the 2 header bytes", have);
    }
    need = 2 + ((size_t)in->token[0] << 8 | in->token[1]);
    if (have < need) {
        in->out->missing = need - have;
        return sspi_error_set(err, SEC_E_INCOMPLETE_MESSAGE,
                              "Toy: %zu of the %zu bytes of a record", have, need);
    }
    *payload = in->token + 2;
    *len = need - 2;
    in->out->unconsumed = have - need;
    return SEC_E_OK;
}

static int is(const unsigned char *p, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(p, word, len) == 0;
}

static sspi_status write_record(sspi_context *ctx, const char *payload, sspi_error *err)
{
    size_t n = strlen(payload);
    unsigned char hdr[2];
    hdr[0] = (unsigned char)(n >> 8);
    hdr[1] = (unsigned char)(n & 0xff);
    if (sspi_bytes_set(&ctx->out_token, hdr, 2) != 0 ||
        sspi_bytes_append(&ctx->out_token, payload, n) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Toy: out of memory");
    return SEC_E_OK;
}

static sspi_status toy_init(sspi_context *ctx, const sspi_step_in *in, uint32_t *ret_flags,
                            sspi_error *err)
{
    const unsigned char *p;
    size_t len;
    toy_ctx *c = NULL;
    sspi_status st = toy_impl(ctx, &c, err);
    if (st != SEC_E_OK)
        return st;
    *ret_flags = ISC_RET_CONNECTION;
    if (c->stage == 0) {
        const char *hello = "HELLO";
        if (in->target && strcmp(in->target, "complete") == 0)
            hello = "HELLO-C";
        else if (in->target && strcmp(in->target, "ask") == 0)
            hello = "HELLO-ASK";
        st = write_record(ctx, hello, err);
        if (st != SEC_E_OK)
            return st;
        c->stage = 1;
        return SEC_I_CONTINUE_NEEDED;
    }
    st = read_record(in, &p, &len, err);
    if (st != SEC_E_OK)
        return st;
    if (is(p, len, "WELCOME"))
        return SEC_E_OK;
    if (is(p, len, "ASK")) {
        if (in->context_req & ISC_REQ_USE_SUPPLIED_CREDS)
            return SEC_E_OK; /* go on without */
        return SEC_I_INCOMPLETE_CREDENTIALS; /* nothing changed: stage stays 1 */
    }
    return sspi_error_set(err, SEC_E_INVALID_TOKEN, "Toy: unexpected record from the acceptor");
}

static sspi_status toy_accept(sspi_context *ctx, const sspi_step_in *in, uint32_t *ret_flags,
                              sspi_error *err)
{
    const unsigned char *p;
    size_t len;
    toy_ctx *c = NULL;
    sspi_status st = toy_impl(ctx, &c, err);
    if (st != SEC_E_OK)
        return st;
    st = read_record(in, &p, &len, err);
    if (st != SEC_E_OK)
        return st;
    *ret_flags = ASC_RET_CONNECTION;
    if (is(p, len, "HELLO-ASK"))
        return write_record(ctx, "ASK", err);
    if (!is(p, len, "HELLO") && !is(p, len, "HELLO-C"))
        return sspi_error_set(err, SEC_E_INVALID_TOKEN, "Toy: expected HELLO");
    st = write_record(ctx, "WELCOME", err);
    if (st != SEC_E_OK)
        return st;
    return is(p, len, "HELLO-C") ? SEC_I_COMPLETE_NEEDED : SEC_E_OK;
}

static sspi_status toy_complete(sspi_context *ctx, sspi_buffer_list *buffers, sspi_error *err)
{
    toy_ctx *c = ctx->impl;
    (void)buffers;
    if (c == NULL || c->completed)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "Toy: completion called twice");
    c->completed = 1;
    return SEC_E_OK;
}

static void toy_free_context(sspi_context *ctx)
{
    sspi_mem_free(ctx->alloc, ctx->impl, sizeof(toy_ctx));
    ctx->impl = NULL;
}

const sspi_provider sspi_toy_provider = {
    .info = {.name = "Toy",
             .comment = "test-only record framing (spec/c/toy_provider.c)",
             .backend = "test",
             .capabilities = SECPKG_FLAG_CONNECTION | SECPKG_FLAG_STREAM,
             .version = 1,
             .rpcid = 0xffff,
             .max_token = 65537},
    .acquire = toy_acquire,
    .init_step = toy_init,
    .accept_step = toy_accept,
    .complete = toy_complete,
    .free_context = toy_free_context,
};
