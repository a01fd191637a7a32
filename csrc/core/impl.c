/*
 * impl.c - zeroed allocations that report running out of memory, and a
 * provider's per-context state (ctx->impl) made on first use.  Apart from
 * memory.c, which the stand-alone DER test links without the status code.
 */
#include <string.h>

#include "internal.h"

void *sspi_mem_zalloc(const sspi_allocator *a, size_t n, const char *who, sspi_error *err)
{
    void *p = sspi_mem_alloc(a, n);
    if (p == NULL) {
        sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "%s: out of memory", who);
        return NULL;
    }
    memset(p, 0, n);
    return p;
}

void *sspi_context_impl(sspi_context *ctx, size_t size, void (*init)(sspi_context *ctx, void *impl),
                        const char *who, sspi_error *err)
{
    void *impl = ctx->impl;
    if (impl == NULL) {
        impl = sspi_mem_zalloc(ctx->alloc, size, who, err);
        if (impl == NULL)
            return NULL;
        if (init)
            init(ctx, impl);
        ctx->impl = impl;
    }
    return impl;
}
