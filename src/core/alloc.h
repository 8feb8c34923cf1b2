/* SPDX-License-Identifier: MIT */
/*
 * All heap allocation in libpho goes through these wrappers so tests can
 * make the N-th allocation fail and check that every caller recovers
 * (returns PHO_ENOMEM, leaks nothing).
 */
#ifndef PHO_CORE_ALLOC_H
#define PHO_CORE_ALLOC_H

#include <stddef.h>

void *pho_malloc(size_t size);
void *pho_calloc(size_t n, size_t size);
/* realloc(p, n * size) with an overflow check; on failure p is untouched. */
void *pho_reallocarray(void *p, size_t n, size_t size);
/*
 * Room for element @n of the array @p (*@cap allocated, @size bytes each):
 * @p itself while n < *cap, else the array grown to twice its capacity
 * (@first the first time). NULL on failure, @p then untouched.
 */
void *pho_array_grow(void *p, size_t *cap, size_t n, size_t size, size_t first);
char *pho_strdup(const char *s);
void pho_free(void *p); /* public: pho/common.h */

/*
 * Test hook: fail the allocation whose 1-based ordinal (counted from this
 * call) equals @p nth; 0 disables. Returns the number of allocations seen
 * since the last call.
 */
unsigned long pho_alloc_fail_at(unsigned long nth);

#endif /* PHO_CORE_ALLOC_H */
