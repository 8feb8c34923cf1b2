/* SPDX-License-Identifier: MIT */
/**
 * @file parallel.h
 * A minimal parallel-for over a range of indices, for work where each item
 * (a photo) is independent. Items are handed out dynamically, so a slow
 * photo does not stall the others.
 */
#ifndef PHO_PARALLEL_H
#define PHO_PARALLEL_H

#include <stddef.h>

#include "pho/common.h"
#include "pho/error.h"

PHO_BEGIN_DECLS

/** Called once per index; @p worker is 0..threads-1 (for per-thread scratch). */
typedef void (*pho_parallel_fn)(void *ud, size_t index, unsigned worker);

/**
 * Runs fn(ud, i, worker) for every i in [0, n) on up to @p threads threads
 * (0 = one per online CPU), the calling thread included. Returns when all
 * calls have returned. Cannot fail: if threads cannot be started, the
 * remaining ones (at worst the caller alone) do the work.
 */
PHO_API void pho_parallel_for(size_t n, unsigned threads, pho_parallel_fn fn, void *ud);

/** Number of online CPUs (at least 1). */
PHO_API unsigned pho_cpu_count(void);

PHO_END_DECLS

#endif /* PHO_PARALLEL_H */
