/* SPDX-License-Identifier: MIT */
/* Allocation wrappers with a fault-injection counter for OOM tests. */
#include "core/common.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_ulong alloc_count;
static atomic_ulong alloc_fail_nth;

unsigned long pho_alloc_fail_at(unsigned long nth)
{
    unsigned long seen = atomic_exchange(&alloc_count, 0);
    atomic_store(&alloc_fail_nth, nth);
    return seen;
}

static bool should_fail(void)
{
    unsigned long nth = atomic_load_explicit(&alloc_fail_nth, memory_order_relaxed);
    unsigned long n = atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed) + 1;
    return nth != 0 && n == nth;
}

void *pho_malloc(size_t size)
{
    if (should_fail())
        return NULL;
    return malloc(size ? size : 1);
}

void *pho_calloc(size_t n, size_t size)
{
    if (should_fail())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *pho_reallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    if (should_fail())
        return NULL;
    size_t bytes = n * size;
    return realloc(p, bytes ? bytes : 1);
}

void *pho_array_grow(void *p, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n < *cap)
        return p;
    size_t ncap = *cap ? 2 * *cap : first;
    void *q = pho_reallocarray(p, ncap, size);
    if (q)
        *cap = ncap;
    return q;
}

char *pho_strdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *d = pho_malloc(len);
    if (d)
        memcpy(d, s, len);
    return d;
}

void pho_free(void *p)
{
    free(p);
}
