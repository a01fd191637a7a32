/*
 * memory.c - allocation through the host's allocator, growable byte
 * buffers, wiping and constant-time comparison.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

/* malloc/realloc/free with lua_Alloc's contract, for hosts that give none. */
static void *default_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

static const sspi_allocator default_allocator = {default_alloc, NULL};

static const sspi_allocator *effective(const sspi_allocator *a)
{
    return (a && a->fn) ? a : &default_allocator;
}

void *sspi_mem_alloc(const sspi_allocator *a, size_t n)
{
    a = effective(a);
    if (n == 0)
        n = 1; /* a zero-size request would mean "free" to lua_Alloc */
    return a->fn(a->ud, NULL, 0, n);
}

void *sspi_mem_realloc(const sspi_allocator *a, void *p, size_t oldn, size_t newn)
{
    a = effective(a);
    if (p == NULL)
        return sspi_mem_alloc(a, newn);
    if (newn == 0)
        newn = 1;
    return a->fn(a->ud, p, oldn, newn);
}

void sspi_mem_free(const sspi_allocator *a, void *p, size_t n)
{
    sspi_allocator use;
    if (p == NULL)
        return;
    /* Copy first: the allocator may live inside the block being wiped. */
    use = *effective(a);
    sspi_wipe(p, n);
    use.fn(use.ud, p, n ? n : 1, 0);
}

char *sspi_mem_strdup(const sspi_allocator *a, const char *s, int *ok)
{
    size_t n;
    char *copy;
    if (s == NULL)
        return NULL;
    n = strlen(s) + 1;
    copy = sspi_mem_alloc(a, n);
    if (copy == NULL) {
        *ok = 0;
        return NULL;
    }
    memcpy(copy, s, n);
    return copy;
}

void sspi_mem_strfree(const sspi_allocator *a, char **s)
{
    if (s == NULL || *s == NULL)
        return;
    sspi_mem_free(a, *s, strlen(*s) + 1);
    *s = NULL;
}

void sspi_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        OPENSSL_cleanse(p, n);
}

int sspi_ct_memcmp(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) != 0;
}

void sspi_bytes_init(sspi_bytes *b, const sspi_allocator *alloc)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->alloc = alloc;
}

int sspi_bytes_reserve(sspi_bytes *b, size_t n)
{
    size_t cap;
    unsigned char *p;
    if (n <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < n) {
        if (cap > ((size_t)-1) / 2) {
            cap = n;
            break;
        }
        cap *= 2;
    }
    /* Not realloc: the old block may hold key material and must be wiped. */
    p = sspi_mem_alloc(b->alloc, cap);
    if (p == NULL)
        return -1;
    if (b->len)
        memcpy(p, b->data, b->len);
    sspi_mem_free(b->alloc, b->data, b->cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

int sspi_bytes_set(sspi_bytes *b, const void *data, size_t n)
{
    b->len = 0;
    if (sspi_bytes_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data, data, n);
    b->len = n;
    return 0;
}

int sspi_bytes_append(sspi_bytes *b, const void *data, size_t n)
{
    if (n > ((size_t)-1) - b->len)
        return -1;
    if (sspi_bytes_reserve(b, b->len + n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    return 0;
}

void sspi_bytes_free(sspi_bytes *b)
{
    sspi_mem_free(b->alloc, b->data, b->cap);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void sspi_bytes_init_all(sspi_bytes *const *list, const sspi_allocator *alloc)
{
    for (; *list; list++)
        sspi_bytes_init(*list, alloc);
}

void sspi_bytes_free_all(sspi_bytes *const *list)
{
    for (; *list; list++)
        sspi_bytes_free(*list);
}
