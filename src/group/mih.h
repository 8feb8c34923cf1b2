/* SPDX-License-Identifier: MIT */
/*
 * Private to the group module: multi-index hashing (Norouzi, Punjani and
 * Fleet, "Fast search in Hamming space with multi-index hashing", CVPR 2012)
 * over 64-bit keys. The keys are cut into m contiguous substrings, each with
 * its own bucket table. Two keys within distance t agree within
 * floor(t / m) bits on at least one substring (pigeonhole), so probing every
 * substring value within that radius finds all of them.
 */
#ifndef PHO_GROUP_MIH_H
#define PHO_GROUP_MIH_H

#include <stddef.h>
#include <stdint.h>

#define PHO_MIH_MAX_M 16

struct pho_mih;

struct pho_mih_plan {
    unsigned m;        /* substrings, 0 = no usable layout */
    double query_cost; /* estimated work per query, in key comparisons */
    double build_cost; /* estimated work to build, same unit */
};

/* Picks the substring count for @p n keys and threshold @p t (0..63). */
void pho_mih__plan(struct pho_mih_plan *out, size_t n, int t);

/* Indexes keys[0..n-1] (copied). @return 0, PHO_EINVAL (bad plan), PHO_ENOMEM. */
int pho_mih__new(struct pho_mih **out, const uint64_t *keys, uint32_t n,
                 const struct pho_mih_plan *plan, int t);

void pho_mih__free(struct pho_mih *x);

typedef void (*pho_mih_hit_fn)(void *ud, uint32_t entry, int dist);

/*
 * Calls fn for every entry e >= @p from whose key lies within t of @p q,
 * exactly once each, in an order that depends only on the keys. Thread-safe
 * on a built index. @return the number of full-key comparisons made.
 */
size_t pho_mih__query(const struct pho_mih *x, uint64_t q, uint32_t from, pho_mih_hit_fn fn,
                      void *ud);

/*
 * The part of pho_mih__query() that probes substring table @p s: a full query
 * is the union of its tables' hits, each hit reported by exactly one table.
 * Many queries run table by table, each table's queries in the order of their
 * value of that substring (pho_mih__substring()), probe neighbouring buckets
 * one after another: the tables of a million keys are far larger than the
 * CPU's caches, and random probes would each wait for memory.
 */
size_t pho_mih__query_table(const struct pho_mih *x, unsigned s, uint64_t q, uint32_t from,
                            pho_mih_hit_fn fn, void *ud);

/* The number of substring tables, the value of substring @p s of @p q, and its width. */
unsigned pho_mih__tables(const struct pho_mih *x);
uint32_t pho_mih__substring(const struct pho_mih *x, unsigned s, uint64_t q);
unsigned pho_mih__substring_bits(const struct pho_mih *x, unsigned s);

#endif /* PHO_GROUP_MIH_H */
