/* SPDX-License-Identifier: MIT */
/*
 * Private to src/group: what the two link rules share. group.c is the
 * original tool's rule (one hash, a threshold, a time window, the chain
 * guard), auto.c the default rule (hash variants, time, camera, verified by
 * thumbnail correlation in verify.c); both end in union-find components and
 * the same canonical order (common.c).
 */
#ifndef PHO_GROUP_INTERNAL_H
#define PHO_GROUP_INTERNAL_H

#include "core/common.h"

#include "pho/group.h"
#include "pho/hash.h"

/*
 * Most of a search's time is popcounts: functions marked so come in two
 * versions, with the CPU's own instruction (x86-64 since 2008) and the
 * portable baseline, and glibc picks one when the program loads. Static
 * helpers inlined into them get the same popcount.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
        !defined(__SANITIZE_ADDRESS__)
#    define PHO_GROUP_POPCNT __attribute__((target_clones("popcnt", "default")))
#else
#    define PHO_GROUP_POPCNT
#endif

/* ---- sorting ---- */

struct pho_group_keyed {
    uint64_t key;
    uint32_t id;
};

int pho_group__cmp_keyed(const void *pa, const void *pb);

/* Sorts by (key, id). Stable LSD radix for large inputs, whose ids arrive ascending. */
int pho_group__sort_keyed(struct pho_group_keyed *a, size_t n);

/* Sort key of an item's time: order-preserving bits; -0 and non-finite values count as 0. */
uint64_t pho_group__time_key(double t);

/* ---- union-find ---- */

struct pho_group_uf {
    uint32_t *parent;
    uint32_t *size;
};

int pho_group__uf_init(struct pho_group_uf *u, uint32_t n);
void pho_group__uf_release(struct pho_group_uf *u);

/* Read-only: safe while other threads read too (nothing writes during a search block). */
static inline uint32_t pho_group__uf_root(const struct pho_group_uf *u, uint32_t x)
{
    while (u->parent[x] != x)
        x = u->parent[x];
    return x;
}

static inline uint32_t pho_group__uf_find(struct pho_group_uf *u, uint32_t x)
{
    while (u->parent[x] != x) {
        u->parent[x] = u->parent[u->parent[x]];
        x = u->parent[x];
    }
    return x;
}

/* Joins the sets of @a and @b; false when they were one already. */
bool pho_group__uf_union(struct pho_group_uf *u, uint32_t a, uint32_t b);

/* ---- the result ---- */

/*
 * The public result from groups in any order: group g is
 * member[off[g] .. off[g + 1]), item indices. Members are sorted by capture
 * time (ties by index), groups by their first member. Caller owns *out.
 */
int pho_group__result(struct pho_groups **out, const struct pho_group_item *items,
                      const uint32_t *member, const size_t *off, size_t ngroup);

/* ---- verification (verify.c) ---- */

struct pho_group_vcache;

/*
 * How alike two signatures' thumbnails are: the best normalised cross-
 * correlation of the one thumbnail against centre crops (100, 90, 80, 70 %)
 * of the other, both ways; -1..1. The search stops as soon as a score
 * reaches @enough (pass 2 for the true best). @cache (may be NULL) keeps the
 * crops of items @ia and @ib for their next comparisons. Two flat thumbnails of about
 * the same brightness score 1, a flat one against a textured one 0.
 */
float pho_group__similarity(struct pho_group_vcache *cache, uint32_t ia,
                            const struct pho_hash_sig *a, uint32_t ib, const struct pho_hash_sig *b,
                            float enough);

/* Crops of recently compared photos, keyed by item index (NULL: no cache). One thread. */
struct pho_group_vcache;
struct pho_group_vcache *pho_group__vcache_new(void);
void pho_group__vcache_free(struct pho_group_vcache *c);

/* The best correlation of @a's thumbnail mirrored, or turned either way, with @b's. */
float pho_group__turned_similarity(const struct pho_hash_sig *a, const struct pho_hash_sig *b);

/* Colour histogram intersection of two signatures, 0..1 (1: the same palette). */
float pho_group__colour(const struct pho_hash_sig *a, const struct pho_hash_sig *b);

/* The auto rule (auto.c). */
int pho_group__auto(struct pho_groups **out, const struct pho_group_item *items, size_t n,
                    const struct pho_group_opts *o, struct pho_err *err);

#endif
