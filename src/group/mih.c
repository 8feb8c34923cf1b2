/* SPDX-License-Identifier: MIT */
/*
 * Multi-index hashing for the near-duplicate search: which photos' hashes
 * lie within the threshold of a given hash, without comparing against all
 * of them. Each of the m substrings has a direct-address bucket table
 * (counting sort of the entries by substring value), with the full keys
 * copied in bucket order so that checking a candidate reads memory
 * sequentially. A candidate found through substring s is reported only if
 * no earlier substring is also within the probe radius, which is exactly
 * the substring where it was found first: every pair once, no visited set,
 * no dependence on thread count.
 *
 * The substring count comes from a cost model (probes times expected bucket
 * occupancy for uniformly spread keys, plus table building), restricted to
 * tables of at most about 8n buckets so memory stays linear in n.
 */
#include "core/common.h"

#include <math.h>
#include <string.h>

#include "group/internal.h"
#include "group/mih.h"

/* A bucket probe (random access) costs a few sequential key checks. */
#define COST_PROBE 3.0

struct pho_mih {
    unsigned m, radius;
    int t;
    uint32_t n;
    unsigned bits[PHO_MIH_MAX_M], shift[PHO_MIH_MAX_M];
    uint64_t mask[PHO_MIH_MAX_M]; /* the substring's bits in place */
    uint32_t *start[PHO_MIH_MAX_M];
    uint32_t *entry[PHO_MIH_MAX_M];
    uint64_t *key[PHO_MIH_MAX_M];
    /* The values within the radius of 0 in each substring, in probing order (NULL when
     * there would be more than MAX_FLIPS: then they are enumerated per query). */
    uint32_t *flips[PHO_MIH_MAX_M];
    uint32_t nflips[PHO_MIH_MAX_M];
};

/* Flip lists up to this long are kept (a 22-bit substring at radius 2 has 254). */
#define MAX_FLIPS 65536

/* Substring s of an m-way split: the first 64 % m substrings are one bit longer. */
static void layout(unsigned m, unsigned *bits, unsigned *shift)
{
    unsigned top = 64;
    for (unsigned s = 0; s < m; s++) {
        bits[s] = 64 / m + (s < 64 % m);
        top -= bits[s];
        shift[s] = top;
    }
}

/* Keys within radius r of a b-bit value: sum of C(b, k), k <= r. */
static double ball(unsigned b, unsigned r)
{
    double sum = 0.0, c = 1.0;
    for (unsigned k = 0; k <= r && k <= b; k++) {
        sum += c;
        c = c * (b - k) / (k + 1);
    }
    return sum;
}

static unsigned ceil_log2(size_t n)
{
    unsigned b = 0;
    while (b < 63 && ((size_t)1 << b) < n)
        b++;
    return b;
}

void pho_mih__plan(struct pho_mih_plan *out, size_t n, int t)
{
    memset(out, 0, sizeof(*out));
    if (t < 0 || t >= 64)
        return;
    unsigned cap = PHO_MAX(12u, PHO_MIN(24u, ceil_log2(n + 1) + 2));
    double best = INFINITY;
    for (unsigned m = 3; m <= PHO_MIH_MAX_M; m++) {
        unsigned bits[PHO_MIH_MAX_M], shift[PHO_MIH_MAX_M];
        layout(m, bits, shift);
        if (bits[0] > cap)
            continue;
        unsigned r = (unsigned)t / m;
        double q = 0.0, build = 0.0;
        for (unsigned s = 0; s < m; s++) {
            double buckets = ldexp(1.0, (int)bits[s]);
            q += ball(bits[s], r) * (COST_PROBE + (double)n / buckets);
            build += (double)n * 2 + buckets;
        }
        double total = (double)n * q + build;
        if (total < best) {
            best = total;
            out->m = m;
            out->query_cost = q;
            out->build_cost = build;
        }
    }
}

void pho_mih__free(struct pho_mih *x)
{
    if (!x)
        return;
    for (unsigned s = 0; s < PHO_MIH_MAX_M; s++) {
        pho_free(x->start[s]);
        pho_free(x->entry[s]);
        pho_free(x->key[s]);
        pho_free(x->flips[s]);
    }
    pho_free(x);
}

/* Next larger integer with the same number of set bits (Gosper's hack). */
static inline uint64_t next_same_weight(uint64_t v)
{
    uint64_t c = v & (~v + 1);
    uint64_t r = v + c;
    return (((r ^ v) >> 2) / c) | r;
}

/*
 * Every value of a @bits-bit substring within @radius of 0, by weight then
 * value: the probes of one query are its substring XOR each. Made once per
 * index, so a query never divides (Gosper's hack does, per probe).
 */
static uint32_t *flip_list(unsigned bits, unsigned radius, uint32_t *count)
{
    double want = ball(bits, radius);
    *count = 0;
    if (want > MAX_FLIPS)
        return NULL;
    uint32_t *v = pho_reallocarray(NULL, (size_t)want, sizeof(*v));
    if (!v)
        return NULL;
    uint64_t limit = (uint64_t)1 << bits;
    for (unsigned w = 0; w <= radius && w <= bits; w++) {
        uint64_t flip = w ? ((uint64_t)1 << w) - 1 : 0;
        for (; flip < limit; flip = w ? next_same_weight(flip) : limit) {
            v[(*count)++] = (uint32_t)flip;
            if (!w)
                break;
        }
    }
    return v;
}

int pho_mih__new(struct pho_mih **out, const uint64_t *keys, uint32_t n,
                 const struct pho_mih_plan *plan, int t)
{
    *out = NULL;
    if (!plan->m || plan->m > PHO_MIH_MAX_M || t < 0 || t >= 64)
        return PHO_EINVAL;
    struct pho_mih *x = pho_calloc(1, sizeof(*x));
    if (!x)
        return PHO_ENOMEM;
    x->m = plan->m;
    x->t = t;
    x->radius = (unsigned)t / plan->m;
    x->n = n;
    layout(x->m, x->bits, x->shift);
    for (unsigned s = 0; s < x->m; s++) {
        size_t buckets = (size_t)1 << x->bits[s];
        x->mask[s] = (((uint64_t)1 << x->bits[s]) - 1) << x->shift[s];
        x->start[s] = pho_calloc(buckets + 1, sizeof(uint32_t));
        x->entry[s] = pho_reallocarray(NULL, n ? n : 1, sizeof(uint32_t));
        x->key[s] = pho_reallocarray(NULL, n ? n : 1, sizeof(uint64_t));
        if (!x->start[s] || !x->entry[s] || !x->key[s]) {
            pho_mih__free(x);
            return PHO_ENOMEM;
        }
        uint32_t *start = x->start[s];
        unsigned sh = x->shift[s];
        uint64_t lo = buckets - 1;
        for (uint32_t i = 0; i < n; i++)
            start[((keys[i] >> sh) & lo) + 1]++;
        for (size_t b = 0; b < buckets; b++)
            start[b + 1] += start[b];
        /* Stable: entries ascend within each bucket, which the query's early stop relies on. */
        for (uint32_t i = 0; i < n; i++) {
            size_t b = (keys[i] >> sh) & lo;
            uint32_t at = start[b]++;
            x->entry[s][at] = i;
            x->key[s][at] = keys[i];
        }
        /* start[b] now holds the end of bucket b; shift back to starts. */
        memmove(start + 1, start, buckets * sizeof(*start));
        start[0] = 0;
        /* Without a list (too long, or no memory) queries enumerate the flips themselves. */
        x->flips[s] = flip_list(x->bits[s], x->radius, &x->nflips[s]);
    }
    *out = x;
    return 0;
}

/* Buckets probed together, so their memory is fetched in parallel rather than one by one. */
#define PROBE_BATCH 32

struct probe {
    const struct pho_mih *x;
    unsigned s;
    uint64_t q;
    uint32_t from;
    pho_mih_hit_fn fn;
    void *ud;
    size_t compared;
};

/* Inlined into each clone of pho_mih__query(), so it gets that clone's popcount. */
/* One key of a bucket within t of the query: reported unless below `from` or reachable through
 * an earlier substring (that substring reports it). */
static inline __attribute__((always_inline)) void maybe_hit(struct probe *p, uint32_t e,
                                                            uint64_t diff, int d)
{
    const struct pho_mih *x = p->x;
    if (d > x->t || e < p->from)
        return;
    for (unsigned s = 0; s < p->s; s++)
        if ((unsigned)__builtin_popcountll(diff & x->mask[s]) <= x->radius)
            return;
    p->fn(p->ud, e, d);
}

/*
 * Inlined into each clone of the query functions, so it gets that clone's popcount. Keys are
 * compared four at a time with one branch (a match is rare): at a million keys a bucket holds
 * about fifteen, and a branch per key would cost more than the comparisons. Keys go from the
 * top of the bucket down, the order of the hits a function of the keys alone.
 */
static inline __attribute__((always_inline)) void scan_buckets(struct probe *p,
                                                               const uint64_t *buckets, unsigned n)
{
    const struct pho_mih *x = p->x;
    const uint32_t *start = x->start[p->s];
    const uint32_t *entry = x->entry[p->s];
    const uint64_t *key = x->key[p->s];
    uint32_t lo[PROBE_BATCH], hi[PROBE_BATCH];
    for (unsigned k = 0; k < n; k++) {
        lo[k] = start[buckets[k]];
        hi[k] = start[buckets[k] + 1];
        if (hi[k] > lo[k]) {
            __builtin_prefetch(&entry[hi[k] - 1]);
            __builtin_prefetch(&key[hi[k] - 1]);
        }
    }
    const uint64_t q = p->q;
    const int t = x->t;
    for (unsigned k = 0; k < n; k++) {
        uint32_t i = hi[k], end = lo[k];
        /* Entries ascend within a bucket: none below `from` once the top one is. */
        if (i > end && entry[i - 1] < p->from)
            continue;
        p->compared += i - end;
        while (i >= end + 4) {
            i -= 4;
            uint64_t d3 = q ^ key[i + 3], d2 = q ^ key[i + 2], d1 = q ^ key[i + 1], d0 = q ^ key[i];
            int c3 = __builtin_popcountll(d3), c2 = __builtin_popcountll(d2);
            int c1 = __builtin_popcountll(d1), c0 = __builtin_popcountll(d0);
            if ((c3 <= t) | (c2 <= t) | (c1 <= t) | (c0 <= t)) {
                maybe_hit(p, entry[i + 3], d3, c3);
                maybe_hit(p, entry[i + 2], d2, c2);
                maybe_hit(p, entry[i + 1], d1, c1);
                maybe_hit(p, entry[i], d0, c0);
            }
        }
        while (i > end) {
            i--;
            uint64_t d = q ^ key[i];
            maybe_hit(p, entry[i], d, __builtin_popcountll(d));
        }
    }
}

/* Probes the buckets of substring p->s within the radius of p->q's value. */
static inline __attribute__((always_inline)) void probe_table(struct probe *p)
{
    const struct pho_mih *x = p->x;
    uint64_t batch[PROBE_BATCH];
    uint64_t limit = (uint64_t)1 << x->bits[p->s];
    uint64_t qs = (p->q >> x->shift[p->s]) & (limit - 1);
    unsigned n = 0;
    if (x->flips[p->s]) {
        const uint32_t *f = x->flips[p->s];
        for (uint32_t k = 0; k < x->nflips[p->s]; k++) {
            batch[n++] = qs ^ f[k];
            if (n == PROBE_BATCH) {
                scan_buckets(p, batch, n);
                n = 0;
            }
        }
        scan_buckets(p, batch, n);
        return;
    }
    for (unsigned w = 0; w <= x->radius && w <= x->bits[p->s]; w++) {
        uint64_t flip = w ? ((uint64_t)1 << w) - 1 : 0;
        for (; flip < limit; flip = w ? next_same_weight(flip) : limit) {
            batch[n++] = qs ^ flip;
            if (n == PROBE_BATCH) {
                scan_buckets(p, batch, n);
                n = 0;
            }
            if (!w)
                break;
        }
    }
    scan_buckets(p, batch, n);
}

PHO_GROUP_POPCNT size_t pho_mih__query(const struct pho_mih *x, uint64_t q, uint32_t from,
                                       pho_mih_hit_fn fn, void *ud)
{
    struct probe p = { .x = x, .q = q, .from = from, .fn = fn, .ud = ud };
    for (p.s = 0; p.s < x->m; p.s++)
        probe_table(&p);
    return p.compared;
}

PHO_GROUP_POPCNT size_t pho_mih__query_table(const struct pho_mih *x, unsigned s, uint64_t q,
                                             uint32_t from, pho_mih_hit_fn fn, void *ud)
{
    struct probe p = { .x = x, .s = s, .q = q, .from = from, .fn = fn, .ud = ud };
    if (s < x->m)
        probe_table(&p);
    return p.compared;
}

unsigned pho_mih__tables(const struct pho_mih *x)
{
    return x->m;
}

unsigned pho_mih__substring_bits(const struct pho_mih *x, unsigned s)
{
    return x->bits[s];
}

uint32_t pho_mih__substring(const struct pho_mih *x, unsigned s, uint64_t q)
{
    return (uint32_t)((q & x->mask[s]) >> x->shift[s]);
}
