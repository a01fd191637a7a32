/*
 * transfer.c - contexts and credentials that move between processes
 * (ExportSecurityContext / ImportSecurityContext, and the same for a
 * credential): the provider's bytes inside the checked envelope of
 * envelope.c.  Exporting a context moves it: the caller frees the old one.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Wraps the provider's payload into an envelope handed out as
 * package-allocated memory (sspi_buffer_release frees it). */
static sspi_status seal(sspi_envelope *e, const sspi_provider *p, sspi_bytes *payload,
                        const sspi_allocator *alloc, sspi_buffer *out, sspi_error *err)
{
    sspi_bytes blob;
    sspi_status st;
    snprintf(e->package, sizeof e->package, "%s", p->info.name);
    snprintf(e->backend, sizeof e->backend, "%s", p->info.backend);
    e->payload = payload->data;
    e->payload_len = payload->len;
    sspi_bytes_init(&blob, alloc);
    st = sspi_envelope_write(e, &blob, err);
    sspi_bytes_free(payload);
    if (st != SEC_E_OK)
        return st;
    memset(out, 0, sizeof *out);
    out->type = SECBUFFER_TOKEN;
    out->data = blob.data;
    out->length = blob.len;
    out->capacity = blob.cap;
    out->package_allocated = 1;
    return SEC_E_OK;
}

/* The envelope of a blob of the given kind, and its provider. */
static sspi_status open_blob(const unsigned char *blob, size_t len, unsigned char kind,
                             sspi_envelope *e, const sspi_provider **p, sspi_error *err)
{
    sspi_status st = sspi_envelope_read(blob, len, e, err);
    if (st != SEC_E_OK)
        return st;
    if (e->kind != kind)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN, "import: the blob holds a %s, not a %s",
                              e->kind == SSPI_ENVELOPE_CONTEXT ? "context" : "credential",
                              kind == SSPI_ENVELOPE_CONTEXT ? "context" : "credential");
    st = sspi_provider_find(e->package, e->backend, p, err);
    if (st != SEC_E_OK)
        return st;
    if ((kind == SSPI_ENVELOPE_CONTEXT && (*p)->import_context == NULL) ||
        (kind == SSPI_ENVELOPE_CREDENTIAL && (*p)->import_cred == NULL))
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION, "import: %s (%s) cannot import",
                              e->package, e->backend);
    return SEC_E_OK;
}

/* Export a complete context (ctx) or a credential (cred): the provider's
 * payload in a sealed envelope with what the core keeps of the object. */
static sspi_status export_object(sspi_context *ctx, sspi_credential *cred,
                                 const sspi_allocator *alloc, sspi_buffer *out, sspi_error *err)
{
    const sspi_provider *p = ctx ? ctx->provider : cred->provider;
    sspi_envelope e;
    sspi_bytes payload;
    sspi_status st;
    if (ctx ? p->export_context == NULL : p->export_cred == NULL)
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION, "%s (%s) cannot export a %s",
                              p->info.name, p->info.backend, ctx ? "context" : "credential");
    if (ctx && ctx->state != SSPI_CTX_COMPLETE)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                              "export: only a complete context can be exported");
    memset(&e, 0, sizeof e);
    sspi_bytes_init(&payload, alloc);
    st = ctx ? p->export_context(ctx, &payload, err) : p->export_cred(cred, &payload, err);
    if (st != SEC_E_OK) {
        sspi_bytes_free(&payload);
        return st;
    }
    if (ctx) {
        /* Moved: the message functions refuse the old context from now on
         * (two live copies would reuse sequence numbers and key streams). */
        ctx->state = SSPI_CTX_FAILED;
        ctx->failure = SEC_E_INVALID_HANDLE;
        e.kind = SSPI_ENVELOPE_CONTEXT;
        e.side = ctx->initiator == 1;
        e.context_req = ctx->context_req;
        e.ret_flags = ctx->ret_flags;
        e.expiry = ctx->expiry;
    } else {
        e.kind = SSPI_ENVELOPE_CREDENTIAL;
        e.side = (unsigned char)cred->usage;
        e.expiry = cred->expiry;
    }
    return seal(&e, p, &payload, alloc, out, err);
}

sspi_status sspi_context_export(sspi_context *ctx, const sspi_allocator *alloc, sspi_buffer *out,
                                sspi_error *err)
{
    if (ctx == NULL || out == NULL)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER, "export: missing argument");
    return export_object(ctx, NULL, alloc, out, err);
}

/* A context on a new shell credential of its package (the provider's
 * import may fill it), with what the envelope kept of it. */
static sspi_status import_context(const sspi_envelope *e, const sspi_provider *p,
                                  const sspi_allocator *alloc, sspi_context **out,
                                  sspi_error *err)
{
    sspi_credential *cred = NULL;
    sspi_context *ctx = NULL;
    sspi_status st = sspi_credential_new_shell(
        p, alloc, e->side ? SSPI_CRED_OUTBOUND : SSPI_CRED_INBOUND, &cred, err);
    if (st == SEC_E_OK)
        st = sspi_context_new(cred, &ctx, err);
    sspi_credential_release(&cred); /* the context holds its own reference */
    if (st != SEC_E_OK)
        return st;
    ctx->initiator = e->side ? 1 : 0;
    ctx->context_req = e->context_req;
    ctx->ret_flags = e->ret_flags;
    ctx->expiry = e->expiry;
    st = p->import_context(ctx, e->payload, e->payload_len, err);
    if (st != SEC_E_OK) {
        sspi_context_free(&ctx);
        return st;
    }
    ctx->state = SSPI_CTX_COMPLETE;
    *out = ctx;
    return SEC_E_OK;
}

static sspi_status import_cred(const sspi_envelope *e, const sspi_provider *p,
                               const sspi_allocator *alloc, sspi_credential **out,
                               sspi_error *err)
{
    sspi_credential *cred = NULL;
    sspi_status st;
    if (e->side != SSPI_CRED_INBOUND && e->side != SSPI_CRED_OUTBOUND && e->side != SSPI_CRED_BOTH)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN, "import: unknown credential usage %u",
                              (unsigned)e->side);
    st = sspi_credential_new_shell(p, alloc, (sspi_cred_usage)e->side, &cred, err);
    if (st != SEC_E_OK)
        return st;
    cred->expiry = e->expiry;
    st = p->import_cred(cred, e->payload, e->payload_len, err);
    if (st != SEC_E_OK) {
        sspi_credential_release(&cred);
        return st;
    }
    *out = cred;
    return SEC_E_OK;
}

/* Import a context (ctx_out) or a credential (cred_out) from its blob. */
static sspi_status import_object(const unsigned char *blob, size_t len,
                                 const sspi_allocator *alloc, sspi_context **ctx_out,
                                 sspi_credential **cred_out, sspi_error *err)
{
    const sspi_provider *p;
    sspi_envelope e;
    sspi_status st;
    if (ctx_out == NULL && cred_out == NULL)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER, "import: missing argument");
    if (ctx_out)
        *ctx_out = NULL;
    else
        *cred_out = NULL;
    st = open_blob(blob, len, ctx_out ? SSPI_ENVELOPE_CONTEXT : SSPI_ENVELOPE_CREDENTIAL, &e, &p,
                   err);
    if (st != SEC_E_OK)
        return st;
    return ctx_out ? import_context(&e, p, alloc, ctx_out, err)
                   : import_cred(&e, p, alloc, cred_out, err);
}

sspi_status sspi_context_import(const unsigned char *blob, size_t len,
                                const sspi_allocator *alloc, sspi_context **out, sspi_error *err)
{
    return import_object(blob, len, alloc, out, NULL, err);
}

sspi_status sspi_credential_export(sspi_credential *cred, const sspi_allocator *alloc,
                                   sspi_buffer *out, sspi_error *err)
{
    if (cred == NULL || out == NULL)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER, "export: missing argument");
    return export_object(NULL, cred, alloc, out, err);
}

sspi_status sspi_credential_import(const unsigned char *blob, size_t len,
                                   const sspi_allocator *alloc, sspi_credential **out,
                                   sspi_error *err)
{
    return import_object(blob, len, alloc, NULL, out, err);
}

sspi_credential *sspi_context_credential(const sspi_context *ctx)
{
    return ctx ? ctx->cred : NULL;
}
