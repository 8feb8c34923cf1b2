/* SPDX-License-Identifier: MIT */
/**
 * @file group.h
 * Near-duplicate and burst grouping.
 *
 * Two photos are linked when the Hamming distance of their hashes is at most
 * `threshold` and, when the time window is on and both have a capture time,
 * their capture times are at most `time_window` seconds apart. Groups are the
 * connected components of that graph (the original Python tool compared each
 * photo only with the first photo of a group), with a guard that keeps long
 * chains of slowly changing shots from merging into one huge group; groups
 * smaller than `min_group_size` are dropped (their photos stay ungrouped).
 *
 * The result depends only on the items and options, never on thread count or
 * timing. Cost is sub-quadratic: a time-sorted sweep when the window is on,
 * multi-index hashing otherwise.
 */
#ifndef PHO_GROUP_H
#define PHO_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"
#include "pho/error.h"

PHO_BEGIN_DECLS

struct pho_group_item {
    uint64_t hash;
    /** Capture time in seconds (any fixed epoch; the camera's wall clock). */
    double time;
    /** False when the photo has no trustworthy capture time (the window then ignores it). */
    bool has_time;
};

struct pho_group_opts {
    int version;
    /** Maximum Hamming distance, 0..64 (default 5). */
    int threshold;
    /** Maximum time gap in seconds between linked photos; 0 = visual only (default 300). */
    double time_window;
    /** Smallest group kept (default 3, never below 2). */
    size_t min_group_size;
    /** Worker threads for candidate search (0 = all CPUs). Results do not depend on it. */
    unsigned threads;
};

#define PHO_GROUP_OPTS_INIT \
    {                       \
        1, 5, 300.0, 3, 0   \
    }

/**
 * Groups, in a canonical order. Group g has members
 * members[offsets[g]] .. members[offsets[g+1]-1] (indices into the item
 * array), sorted by capture time, ties by index; groups are sorted by their
 * first member's time, ties by that member's index.
 */
struct pho_groups {
    size_t count;
    size_t *offsets; /**< count + 1 entries */
    size_t *members;
    /** Statistics for reports and benchmarks. */
    size_t pairs_compared;
    size_t links;
    size_t chains_split; /**< components the chain guard divided */
};

/**
 * Groups @p n items. Caller owns *out (free with pho_groups_free()).
 * @return 0, PHO_EINVAL for bad options, PHO_ENOMEM.
 */
PHO_API int pho_group_run(struct pho_groups **out, const struct pho_group_item *items, size_t n,
                          const struct pho_group_opts *opts, struct pho_err *err);

/** Frees a grouping; NULL is a no-op. */
PHO_API void pho_groups_free(struct pho_groups *groups);

PHO_END_DECLS

#endif /* PHO_GROUP_H */
