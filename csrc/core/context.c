/*
 * context.c - security contexts: the step state machine shared by every
 * provider, the output memory modes (package-allocated or preallocated),
 * and dispatch of queries and message functions to the provider.
 *
 * Rules kept here so that every provider behaves alike:
 *  - the provider's context is created by the first step (ctx->impl);
 *  - a token that does not fit a preallocated buffer is kept (no data is
 *    lost) and handed back by the next call of the same step;
 *  - a failed step marks the context failed: it refuses further steps; the
 *    only output it hands out is an alert for the peer (ctx->out_alert, as
 *    Schannel writes one), never a half-made token;
 *  - a retryable status (SEC_E_INCOMPLETE_MESSAGE, SEC_I_INCOMPLETE_CREDENTIALS)
 *    leaves the context exactly as it was;
 *  - SEC_I_COMPLETE_NEEDED / SEC_I_COMPLETE_AND_CONTINUE hold the context in
 *    SSPI_CTX_COMPLETE_NEEDED until complete_auth_token;
 *  - input bytes a provider did not consume come back as EXTRA;
 *  - misuse (wrong direction, step after completion) is refused without
 *    touching the state.
 */
#include <string.h>

#include "internal.h"

sspi_status sspi_context_new(sspi_credential *cred, sspi_context **out, sspi_error *err)
{
    sspi_context *ctx;
    if (out == NULL || cred == NULL)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "context: no credential");
    *out = NULL;
    ctx = sspi_mem_alloc(&cred->alloc, sizeof *ctx);
    if (ctx == NULL)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "context: out of memory");
    memset(ctx, 0, sizeof *ctx);
    sspi_credential_addref(cred);
    ctx->cred = cred;
    ctx->provider = cred->provider;
    ctx->alloc = &cred->alloc;
    ctx->state = SSPI_CTX_NEW;
    ctx->initiator = -1;
    sspi_bytes_init(&ctx->out_token, ctx->alloc);
    sspi_bytes_init(&ctx->out_alert, ctx->alloc);
    sspi_bytes_init(&ctx->out_extra, ctx->alloc);
    sspi_bytes_init(&ctx->scratch, ctx->alloc);
    *out = ctx;
    return SEC_E_OK;
}

void sspi_context_free(sspi_context **ctxp)
{
    sspi_context *ctx;
    sspi_credential *cred;
    if (ctxp == NULL || *ctxp == NULL)
        return;
    ctx = *ctxp;
    *ctxp = NULL;
    if (ctx->impl && ctx->provider->free_context)
        ctx->provider->free_context(ctx);
    sspi_bytes_free(&ctx->out_token);
    sspi_bytes_free(&ctx->out_alert);
    sspi_bytes_free(&ctx->out_extra);
    sspi_bytes_free(&ctx->scratch);
    sspi_mem_strfree(ctx->alloc, &ctx->target);
    cred = ctx->cred;
    /* The context lives in its credential's memory: free it before the
     * credential (and possibly its allocator copy) goes away. */
    {
        sspi_allocator alloc = cred->alloc;
        sspi_mem_free(&alloc, ctx, sizeof *ctx);
    }
    sspi_credential_release(&cred);
}

sspi_context_state sspi_context_get_state(const sspi_context *ctx)
{
    return ctx ? ctx->state : SSPI_CTX_FAILED;
}

int sspi_context_is_initiator(const sspi_context *ctx)
{
    return ctx ? ctx->initiator : -1;
}

const sspi_package_info *sspi_context_package(const sspi_context *ctx)
{
    return ctx ? &ctx->provider->info : NULL;
}

/* Moves kept bytes into the caller's first output buffer of `type`
 * (allocated in ALLOCATE_MEMORY mode, else copied in place).  Without such
 * a buffer: nothing to do, unless `required` (the token) and there are bytes. */
static sspi_status deliver(sspi_context *ctx, const sspi_step_args *args, int initiator,
                           uint32_t type, const sspi_bytes *bytes, int required, uint32_t *flags,
                           sspi_error *err)
{
    const uint32_t alloc_req = initiator ? ISC_REQ_ALLOCATE_MEMORY : ASC_REQ_ALLOCATE_MEMORY;
    const uint32_t alloc_ret = initiator ? ISC_RET_ALLOCATED_MEMORY : ASC_RET_ALLOCATED_MEMORY;
    const char *name = type == SECBUFFER_TOKEN   ? "SECBUFFER_TOKEN"
                       : type == SECBUFFER_EXTRA ? "SECBUFFER_EXTRA"
                                                 : "SECBUFFER_ALERT";
    sspi_buffer *buf = args->output ? sspi_buffer_list_find(args->output, type) : NULL;
    size_t n = bytes->len;

    if (buf == NULL) {
        if (n == 0 || !required)
            return SEC_E_OK;
        return sspi_error_set(err, SEC_E_INSUFFICIENT_BUFFERS,
                              "the step produced a %zu-byte token but no %s output buffer was "
                              "given; call again with one", n, name);
    }
    if (n == 0) {
        buf->length = 0;
        return SEC_E_OK;
    }
    if (args->context_req & alloc_req) {
        unsigned char *p = sspi_mem_alloc(ctx->alloc, n);
        if (p == NULL)
            return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "output %s: out of memory",
                                  name);
        memcpy(p, bytes->data, n);
        buf->data = p;
        buf->length = n;
        buf->capacity = n;
        buf->package_allocated = 1;
        *flags |= alloc_ret;
        return SEC_E_OK;
    }
    if (buf->data == NULL || buf->capacity < n) {
        sspi_status st = sspi_error_set(
            err, SEC_E_BUFFER_TOO_SMALL,
            "the output needs %zu bytes and the %s buffer holds %zu; the output is kept: "
            "call the same step again with a larger buffer",
            n, name, buf->data ? buf->capacity : (size_t)0);
        if (err)
            err->needed = n;
        return st;
    }
    memcpy(buf->data, bytes->data, n);
    buf->length = n;
    return SEC_E_OK;
}

/* Every output of a step: token (required), extra and alert (when asked). */
static sspi_status deliver_all(sspi_context *ctx, const sspi_step_args *args, int initiator,
                               uint32_t *flags, sspi_error *err)
{
    sspi_status st = deliver(ctx, args, initiator, SECBUFFER_TOKEN, &ctx->out_token, 1, flags, err);
    if (st == SEC_E_OK)
        st = deliver(ctx, args, initiator, SECBUFFER_EXTRA, &ctx->out_extra, 0, flags, err);
    if (st == SEC_E_OK)
        st = deliver(ctx, args, initiator, SECBUFFER_ALERT, &ctx->out_alert, 0, flags, err);
    return st;
}

/* The alert a failed step left (Schannel) goes, as Windows' Schannel hands
 * it out, into the output token, and into an output SECBUFFER_ALERT when
 * one is given, so that the caller can send it before closing.  Best
 * effort: a preallocated buffer too small for it stays empty; the step's
 * own failure is what the caller gets. */
static void deliver_alert(sspi_context *ctx, const sspi_step_args *args, int initiator)
{
    if (ctx->out_alert.len > 0) {
        uint32_t flags = 0;
        sspi_error ignored;
        sspi_error_clear(&ignored);
        (void)deliver(ctx, args, initiator, SECBUFFER_TOKEN, &ctx->out_alert, 0, &flags, &ignored);
        (void)deliver(ctx, args, initiator, SECBUFFER_ALERT, &ctx->out_alert, 0, &flags, &ignored);
    }
    ctx->out_alert.len = 0;
}

static sspi_status refuse(sspi_context *ctx, const sspi_step_args *args, int initiator,
                          sspi_error *err)
{
    const char *want = initiator ? "an initiator (step_init)" : "an acceptor (step_accept)";
    if (ctx->state == SSPI_CTX_FAILED)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                              "the context failed earlier (%s) and refuses further steps; "
                              "create a new context", sspi_status_name(ctx->failure));
    if (ctx->initiator != -1 && ctx->initiator != initiator)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                              "the context is %s; it cannot be stepped as %s",
                              ctx->initiator ? "an initiator" : "an acceptor", want);
    if (ctx->state == SSPI_CTX_COMPLETE_NEEDED)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                              "the last step returned %s: call complete_auth_token before "
                              "the next step", sspi_status_name(ctx->completion));
    if (ctx->state == SSPI_CTX_COMPLETE && !ctx->pending && !ctx->provider->steps_after_complete)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                              "the context is already complete; no more steps are needed");
    if (initiator && !(ctx->cred->usage & SSPI_CRED_OUTBOUND))
        return sspi_error_set(err, SEC_E_NO_CREDENTIALS,
                              "the credential was acquired for inbound use only; "
                              "step_init needs usage \"outbound\" or \"both\"");
    if (!initiator && !(ctx->cred->usage & SSPI_CRED_INBOUND))
        return sspi_error_set(err, SEC_E_NO_CREDENTIALS,
                              "the credential was acquired for outbound use only; "
                              "step_accept needs usage \"inbound\" or \"both\"");
    if (args->credential && args->credential != ctx->cred) {
        if (args->credential->provider != ctx->provider)
            return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                                  "the step's credential is for %s (%s), the context for %s (%s)",
                                  args->credential->provider->info.name,
                                  args->credential->provider->info.backend,
                                  ctx->provider->info.name, ctx->provider->info.backend);
        if (!(args->credential->usage & (initiator ? SSPI_CRED_OUTBOUND : SSPI_CRED_INBOUND)))
            return sspi_error_set(err, SEC_E_NO_CREDENTIALS,
                                  "the step's credential was acquired for %s use only",
                                  initiator ? "inbound" : "outbound");
    }
    if ((initiator ? ctx->provider->init_step : ctx->provider->accept_step) == NULL)
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION, "%s (%s) cannot act as %s",
                              ctx->provider->info.name, ctx->provider->info.backend, want);
    return SEC_E_OK;
}

int sspi_status_retryable(sspi_status st)
{
    return st == SEC_E_INCOMPLETE_MESSAGE || st == SEC_I_INCOMPLETE_CREDENTIALS ||
           st == SEC_E_INCOMPLETE_CREDENTIALS;
}

/* What the core itself changes during a step, to put back after a
 * retryable status. */
typedef struct step_saved {
    int initiator;
    uint32_t context_req;
    int64_t expiry;
    int target_set; /* ctx->target was set by this call */
} step_saved;

/* A retryable status: the context as it was, the MISSING count out. */
static sspi_status retry_later(sspi_context *ctx, const step_saved *saved, sspi_status st,
                               const sspi_step_args *args, const sspi_step_out *out,
                               sspi_step_result *res)
{
    sspi_buffer *missing = args->output ? sspi_buffer_list_find(args->output, SECBUFFER_MISSING)
                                        : NULL;
    ctx->initiator = saved->initiator;
    ctx->context_req = saved->context_req;
    ctx->expiry = saved->expiry;
    if (saved->target_set)
        sspi_mem_strfree(ctx->alloc, &ctx->target);
    ctx->out_token.len = 0;
    ctx->out_alert.len = 0;
    ctx->out_extra.len = 0;
    if (missing && st == SEC_E_INCOMPLETE_MESSAGE)
        missing->length = out->missing; /* cbBuffer is the count, as Windows has it */
    if (res && st == SEC_E_INCOMPLETE_MESSAGE)
        res->missing = out->missing;
    return st;
}

/* Runs the provider; on success its outputs are pending in the context. */
static sspi_status run_provider(sspi_context *ctx, const sspi_step_args *args,
                                sspi_step_result *res, sspi_error *err, int initiator,
                                uint32_t *flags)
{
    static const sspi_buffer_list none = {0, NULL};
    sspi_step_in in;
    sspi_step_out out;
    step_saved saved;
    const sspi_buffer *tok, *cb;
    sspi_status st;

    memset(&in, 0, sizeof in);
    memset(&out, 0, sizeof out);
    in.target = args->target;
    in.context_req = args->context_req;
    in.target_data_rep = args->target_data_rep;
    in.input = args->input ? args->input : &none;
    in.output = args->output ? args->output : &none;
    in.lookup = args->lookup ? args->lookup : ctx->cred->lookup;
    in.lookup_ud = args->lookup ? args->lookup_ud : ctx->cred->lookup_ud;
    in.credential = args->credential != ctx->cred ? args->credential : NULL;
    in.out = &out;
    tok = sspi_buffer_list_find(in.input, SECBUFFER_TOKEN);
    if (tok && tok->length > 0) {
        in.token = tok->data;
        in.token_len = tok->length;
    }
    cb = sspi_buffer_list_find(in.input, SECBUFFER_CHANNEL_BINDINGS);
    if (cb && cb->length > 0) {
        in.bindings = cb->data;
        in.bindings_len = cb->length;
    }
    saved.initiator = ctx->initiator;
    saved.context_req = ctx->context_req;
    saved.expiry = ctx->expiry;
    saved.target_set = 0;
    if (initiator && ctx->target == NULL && args->target) {
        int ok = 1;
        ctx->target = sspi_mem_strdup(ctx->alloc, args->target, &ok);
        if (!ok)
            return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "step: out of memory");
        saved.target_set = 1;
    }
    ctx->initiator = initiator;
    ctx->context_req = args->context_req;
    ctx->out_token.len = 0;
    ctx->out_alert.len = 0;
    ctx->out_extra.len = 0;
    st = initiator ? ctx->provider->init_step(ctx, &in, flags, err)
                   : ctx->provider->accept_step(ctx, &in, flags, err);
    if (sspi_status_retryable(st))
        return retry_later(ctx, &saved, st, args, &out, res);
    if (SSPI_SUCCESS(st) && out.unconsumed > in.token_len)
        st = sspi_error_set(err, SEC_E_INTERNAL_ERROR,
                            "%s (%s): the step left %zu bytes unconsumed of a %zu-byte input",
                            ctx->provider->info.name, ctx->provider->info.backend,
                            out.unconsumed, in.token_len);
    if (SSPI_SUCCESS(st) && out.unconsumed > 0 &&
        sspi_bytes_set(&ctx->out_extra, in.token + in.token_len - out.unconsumed,
                       out.unconsumed) != 0)
        st = sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "step: out of memory");
    if (!SSPI_SUCCESS(st)) {
        ctx->state = SSPI_CTX_FAILED;
        ctx->failure = st;
        ctx->out_token.len = 0; /* out_alert stays for deliver_alert */
        ctx->out_extra.len = 0;
        return st;
    }
    ctx->ret_flags = *flags;
    ctx->pending = 1;
    ctx->pending_status = st;
    return st;
}

static sspi_status step(sspi_context *ctx, const sspi_step_args *args, sspi_step_result *res,
                        sspi_error *err, int initiator)
{
    sspi_status st, dst;
    uint32_t flags = 0;

    if (ctx == NULL || args == NULL)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "step: no context");
    if (res)
        memset(res, 0, sizeof *res);
    st = refuse(ctx, args, initiator, err);
    if (st != SEC_E_OK)
        return st;

    if (ctx->pending) {
        /* The provider already ran: hand back what it produced. */
        st = ctx->pending_status;
        flags = ctx->ret_flags;
    } else {
        st = run_provider(ctx, args, res, err, initiator, &flags);
        if (!ctx->pending) {
            if (!SSPI_SUCCESS(st) && !sspi_status_retryable(st))
                deliver_alert(ctx, args, initiator);
            return st; /* failed or retryable */
        }
    }

    dst = deliver_all(ctx, args, initiator, &flags, err);
    if (dst != SEC_E_OK) {
        /* Only a too-small or missing buffer keeps the output for a retry. */
        if (dst != SEC_E_BUFFER_TOO_SMALL && dst != SEC_E_INSUFFICIENT_BUFFERS) {
            ctx->state = SSPI_CTX_FAILED;
            ctx->failure = dst;
            ctx->pending = 0;
        }
        return dst;
    }
    ctx->pending = 0;
    ctx->out_token.len = 0;
    ctx->out_alert.len = 0;
    if (st == SEC_I_COMPLETE_NEEDED || st == SEC_I_COMPLETE_AND_CONTINUE) {
        ctx->state = SSPI_CTX_COMPLETE_NEEDED;
        ctx->completion = st;
    } else {
        ctx->state = (st == SEC_E_OK) ? SSPI_CTX_COMPLETE : SSPI_CTX_IN_PROGRESS;
    }
    if (res) {
        res->flags = flags;
        res->expiry = ctx->expiry;
        /* out_extra stays until the next step: res->extra points into it. */
        res->extra = ctx->out_extra.len ? ctx->out_extra.data : NULL;
        res->extra_len = ctx->out_extra.len;
    }
    return st;
}

sspi_status sspi_init_step(sspi_context *ctx, const sspi_step_args *args, sspi_step_result *res,
                           sspi_error *err)
{
    return step(ctx, args, res, err, 1);
}

sspi_status sspi_accept_step(sspi_context *ctx, const sspi_step_args *args, sspi_step_result *res,
                             sspi_error *err)
{
    return step(ctx, args, res, err, 0);
}

int sspi_context_steps_after_complete(const sspi_context *ctx)
{
    return ctx ? ctx->provider->steps_after_complete != 0 : 0;
}

sspi_status sspi_complete_auth_token(sspi_context *ctx, sspi_buffer_list *buffers, sspi_error *err)
{
    sspi_status st = SEC_E_OK;
    if (ctx == NULL)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "complete_auth_token: no context");
    if (ctx->state != SSPI_CTX_COMPLETE_NEEDED)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                              "complete_auth_token: no completion is pending (the context is "
                              "%s; only a step that returned CompleteNeeded or "
                              "CompleteAndContinue asks for one)",
                              ctx->state == SSPI_CTX_NEW           ? "new"
                              : ctx->state == SSPI_CTX_IN_PROGRESS ? "in progress"
                              : ctx->state == SSPI_CTX_COMPLETE    ? "complete"
                                                                   : "failed");
    if (ctx->provider->complete)
        st = ctx->provider->complete(ctx, buffers, err);
    if (!SSPI_SUCCESS(st)) {
        ctx->state = SSPI_CTX_FAILED;
        ctx->failure = st;
        ctx->completion = 0;
        return st;
    }
    ctx->state = ctx->completion == SEC_I_COMPLETE_NEEDED ? SSPI_CTX_COMPLETE
                                                          : SSPI_CTX_IN_PROGRESS;
    ctx->completion = 0;
    return SEC_E_OK;
}

sspi_status sspi_need_complete(const sspi_context *ctx, const char *what, sspi_error *err)
{
    if (ctx == NULL)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "%s: no context", what);
    if (ctx->state != SSPI_CTX_COMPLETE)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                              "%s: the context is %s, not complete", what,
                              ctx->state == SSPI_CTX_NEW             ? "new"
                              : ctx->state == SSPI_CTX_IN_PROGRESS   ? "in progress"
                              : ctx->state == SSPI_CTX_COMPLETE_NEEDED ? "waiting for "
                                                                         "complete_auth_token"
                                                                     : "failed");
    return SEC_E_OK;
}

sspi_status sspi_query(sspi_context *ctx, sspi_attr attr, sspi_attr_value *v, sspi_error *err)
{
    sspi_status st = SEC_E_UNSUPPORTED_FUNCTION;
    if (ctx == NULL || v == NULL)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "query: no context");
    memset(v, 0, sizeof *v);
    if (ctx->state == SSPI_CTX_NEW)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "query: the context has not been stepped yet");
    /* Whatever an inner or half-made context still holds (names, keys) is
     * not an answer once the step failed: as Windows, the handle is dead. */
    if (ctx->state == SSPI_CTX_FAILED)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                              "query: the context failed earlier (%s); create a new context",
                              sspi_status_name(ctx->failure));
    if (ctx->impl && ctx->provider->query)
        st = ctx->provider->query(ctx, attr, v, err);
    if (st != SEC_E_UNSUPPORTED_FUNCTION)
        return st;
    switch (attr) {
    case SSPI_ATTR_FLAGS:
        v->flags = ctx->ret_flags;
        return SEC_E_OK;
    case SSPI_ATTR_PACKAGE_INFO:
        v->package = ctx->provider->info;
        return SEC_E_OK;
    case SSPI_ATTR_NEGOTIATION_INFO:
        v->package = ctx->provider->info;
        v->negotiation_state = ctx->state == SSPI_CTX_COMPLETE ? SECPKG_NEGOTIATION_COMPLETE
                                                               : SECPKG_NEGOTIATION_IN_PROGRESS;
        return SEC_E_OK;
    case SSPI_ATTR_LIFESPAN:
        v->expiry = ctx->expiry;
        return SEC_E_OK;
    default:
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "query: %s (%s) does not answer this attribute",
                              ctx->provider->info.name, ctx->provider->info.backend);
    }
}

sspi_status sspi_context_control(sspi_context *ctx, int op, void *arg, sspi_error *err)
{
    if (ctx == NULL || ctx->provider->control == NULL || ctx->impl == NULL)
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION, "control %d not supported", op);
    return ctx->provider->control(ctx, op, arg, err);
}

#define UNSUPPORTED(ctx, what)                                                               \
    sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION, "%s: not supported by %s (%s)", what,   \
                   (ctx)->provider->info.name, (ctx)->provider->info.backend)

sspi_status sspi_encrypt_message(sspi_context *ctx, uint32_t qop, sspi_buffer_list *msg,
                                 uint32_t seqno, sspi_error *err)
{
    sspi_status st = sspi_need_complete(ctx, "encrypt_message", err);
    if (st != SEC_E_OK)
        return st;
    if (ctx->provider->encrypt == NULL)
        return UNSUPPORTED(ctx, "encrypt_message");
    return ctx->provider->encrypt(ctx, qop, msg, seqno, err);
}

sspi_status sspi_decrypt_message(sspi_context *ctx, sspi_buffer_list *msg, uint32_t seqno,
                                 uint32_t *qop, sspi_error *err)
{
    uint32_t dummy = 0;
    sspi_status st = sspi_need_complete(ctx, "decrypt_message", err);
    if (st != SEC_E_OK)
        return st;
    if (ctx->provider->decrypt == NULL)
        return UNSUPPORTED(ctx, "decrypt_message");
    return ctx->provider->decrypt(ctx, msg, seqno, qop ? qop : &dummy, err);
}

sspi_status sspi_make_signature(sspi_context *ctx, uint32_t qop, sspi_buffer_list *msg,
                                uint32_t seqno, sspi_error *err)
{
    sspi_status st = sspi_need_complete(ctx, "make_signature", err);
    if (st != SEC_E_OK)
        return st;
    if (ctx->provider->sign == NULL)
        return UNSUPPORTED(ctx, "make_signature");
    return ctx->provider->sign(ctx, qop, msg, seqno, err);
}

sspi_status sspi_verify_signature(sspi_context *ctx, sspi_buffer_list *msg, uint32_t seqno,
                                  uint32_t *qop, sspi_error *err)
{
    uint32_t dummy = 0;
    sspi_status st = sspi_need_complete(ctx, "verify_signature", err);
    if (st != SEC_E_OK)
        return st;
    if (ctx->provider->verify == NULL)
        return UNSUPPORTED(ctx, "verify_signature");
    return ctx->provider->verify(ctx, msg, seqno, qop ? qop : &dummy, err);
}

sspi_status sspi_wrap(sspi_context *ctx, int encrypt, const unsigned char *in, size_t len,
                      const unsigned char **out, size_t *out_len, sspi_error *err)
{
    sspi_status st = sspi_need_complete(ctx, "wrap", err);
    if (st != SEC_E_OK)
        return st;
    if (ctx->provider->wrap == NULL)
        return UNSUPPORTED(ctx, "wrap");
    st = ctx->provider->wrap(ctx, encrypt, in, len, &ctx->scratch, err);
    if (st == SEC_E_OK) {
        *out = ctx->scratch.data;
        *out_len = ctx->scratch.len;
    }
    return st;
}

sspi_status sspi_unwrap(sspi_context *ctx, const unsigned char *in, size_t len,
                        const unsigned char **out, size_t *out_len, int *encrypted, sspi_error *err)
{
    int dummy = 0;
    sspi_status st = sspi_need_complete(ctx, "unwrap", err);
    if (st != SEC_E_OK)
        return st;
    if (ctx->provider->unwrap == NULL)
        return UNSUPPORTED(ctx, "unwrap");
    st = ctx->provider->unwrap(ctx, in, len, &ctx->scratch, encrypted ? encrypted : &dummy, err);
    if (st == SEC_E_OK) {
        *out = ctx->scratch.data;
        *out_len = ctx->scratch.len;
    }
    return st;
}

sspi_status sspi_sign(sspi_context *ctx, const unsigned char *in, size_t len,
                      const unsigned char **mic, size_t *mic_len, sspi_error *err)
{
    sspi_status st = sspi_need_complete(ctx, "sign", err);
    if (st != SEC_E_OK)
        return st;
    if (ctx->provider->get_mic == NULL)
        return UNSUPPORTED(ctx, "sign");
    st = ctx->provider->get_mic(ctx, in, len, &ctx->scratch, err);
    if (st == SEC_E_OK) {
        *mic = ctx->scratch.data;
        *mic_len = ctx->scratch.len;
    }
    return st;
}

sspi_status sspi_verify(sspi_context *ctx, const unsigned char *in, size_t len,
                        const unsigned char *mic, size_t mic_len, sspi_error *err)
{
    sspi_status st = sspi_need_complete(ctx, "verify", err);
    if (st != SEC_E_OK)
        return st;
    if (ctx->provider->verify_mic == NULL)
        return UNSUPPORTED(ctx, "verify");
    return ctx->provider->verify_mic(ctx, in, len, mic, mic_len, err);
}
