/*
 * negotiate_inner.c - the inner mechanism's context, driven through the
 * core's public API exactly as a caller would drive it (so every provider
 * works inside Negotiate unchanged).
 */
#include <stdint.h>
#include <string.h>

#include "negotiate.h"

static void ctx_init(sspi_context *ctx, void *impl)
{
    sspi_nego_ctx *nc = impl;
    sspi_bytes *const buffers[] = SSPI_NEGO_BUFFERS(nc);
    sspi_bytes_init_all(buffers, ctx->alloc);
}

sspi_status sspi_nego_ctx_get(sspi_context *ctx, sspi_nego_ctx **out, sspi_error *err)
{
    *out = sspi_context_impl(ctx, sizeof **out, ctx_init, "Negotiate", err);
    return *out ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
}

void sspi_nego_drop_inner(sspi_nego_ctx *nc)
{
    sspi_context_free(&nc->inner);
    nc->inner_complete = 0;
    nc->inner_flags = 0;
}

sspi_status sspi_nego_new_inner(sspi_context *ctx, sspi_nego_ctx *nc, size_t index, sspi_error *err)
{
    const sspi_nego_cred *cred = ctx->cred->impl;
    sspi_nego_drop_inner(nc);
    nc->chosen = index;
    return sspi_context_new(cred->mechs[index].cred, &nc->inner, err);
}

sspi_status sspi_nego_step_inner(sspi_context *ctx, sspi_nego_ctx *nc, const sspi_step_in *in,
                                 const unsigned char *tok, size_t tok_len, sspi_error *err)
{
    const int initiator = ctx->initiator == 1;
    sspi_buffer inbufs[2], outbuf;
    sspi_buffer_list inlist, outlist;
    sspi_step_args args;
    sspi_step_result res;
    sspi_status st;
    size_t n = 0;

    memset(inbufs, 0, sizeof inbufs);
    memset(&outbuf, 0, sizeof outbuf);
    if (tok && tok_len > 0) {
        /* The core never writes to an input buffer: the cast only fits the struct. */
        inbufs[n].type = SECBUFFER_TOKEN;
        inbufs[n].data = (unsigned char *)(uintptr_t)tok;
        inbufs[n].length = inbufs[n].capacity = tok_len;
        n++;
    }
    if (in->bindings && in->bindings_len > 0) {
        inbufs[n].type = SECBUFFER_CHANNEL_BINDINGS;
        inbufs[n].data = (unsigned char *)(uintptr_t)in->bindings;
        inbufs[n].length = inbufs[n].capacity = in->bindings_len;
        n++;
    }
    inlist.count = n;
    inlist.buffers = inbufs;
    outbuf.type = SECBUFFER_TOKEN;
    outlist.count = 1;
    outlist.buffers = &outbuf;

    memset(&args, 0, sizeof args);
    args.target = in->target;
    args.target_data_rep = in->target_data_rep;
    args.input = n ? &inlist : NULL;
    args.output = &outlist;
    /* The step's own user store, per call (never written to a credential). */
    args.lookup = in->lookup;
    args.lookup_ud = in->lookup_ud;
    if (initiator) {
        /* Integrity is what makes a mechListMIC possible (MIT asks for it too). */
        args.context_req = in->context_req | ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_INTEGRITY;
        st = sspi_init_step(nc->inner, &args, &res, err);
    } else {
        args.context_req = in->context_req | ASC_REQ_ALLOCATE_MEMORY;
        st = sspi_accept_step(nc->inner, &args, &res, err);
    }
    nc->mech_out.len = 0;
    if (SSPI_SUCCESS(st) && outbuf.length > 0 &&
        sspi_bytes_set(&nc->mech_out, outbuf.data, outbuf.length) != 0)
        st = sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Negotiate: out of memory");
    if (outbuf.package_allocated)
        sspi_buffer_release(&ctx->cred->alloc, &outbuf);
    if (!SSPI_SUCCESS(st))
        return st;
    nc->inner_flags = res.flags & ~(initiator ? ISC_RET_ALLOCATED_MEMORY : ASC_RET_ALLOCATED_MEMORY);
    ctx->expiry = res.expiry;
    nc->inner_complete = (st == SEC_E_OK || st == SEC_I_COMPLETE_NEEDED);
    return st;
}

void sspi_nego_add_reason(sspi_bytes *reasons, const char *name, const char *why)
{
    /* Best effort: a reason lost to memory shortage only shortens a message. */
    if (reasons->len > 0)
        (void)sspi_bytes_append(reasons, "; ", 2);
    (void)sspi_bytes_append(reasons, name, strlen(name));
    (void)sspi_bytes_append(reasons, ": ", 2);
    (void)sspi_bytes_append(reasons, why, strlen(why));
}

sspi_der sspi_nego_mech_oid(const sspi_nego_cred *nc, size_t index)
{
    const sspi_provider *p = nc->mechs[index].provider;
    return sspi_der_view(p->mech_oid, p->mech_oid_len);
}

size_t sspi_nego_find_mech(const sspi_nego_cred *nc, const sspi_der *oid)
{
    size_t i;
    for (i = 0; i < nc->count; i++) {
        sspi_der mine = sspi_nego_mech_oid(nc, i);
        if (sspi_spnego_same_mech(&mine, oid))
            return i;
    }
    return SIZE_MAX;
}
