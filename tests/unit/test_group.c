/* SPDX-License-Identifier: MIT */
/* Grouping: edge cases, agreement with a brute-force model of the link rule
 * on every search path (sweep, dense runs, untimed look-ups, self-join),
 * determinism across threads and permutations, the chain guard, canonical
 * order, option checks, out-of-memory, the multi-index hash on its own, and
 * pairwise precision/recall of dHash and pHash on the labelled test photos. */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/testlib.h"
#include "group/mih.h"
#include "pho/group.h"
#include "pho/hash.h"
#include "pho/image.h"

#define NONE SIZE_MAX

static uint64_t rng;

static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t flip(uint64_t h, unsigned k)
{
    uint64_t mask = 0;
    while ((unsigned)__builtin_popcountll(mask) < k)
        mask |= (uint64_t)1 << (rnd() & 63);
    return h ^ mask;
}

static struct pho_group_opts opts(int t, double window, size_t min_size, unsigned threads)
{
    struct pho_group_opts o = PHO_GROUP_OPTS_INIT;
    o.threshold = t;
    o.time_window = window;
    o.min_group_size = min_size;
    o.threads = threads;
    return o;
}

static struct pho_groups *run(const struct pho_group_item *it, size_t n,
                              const struct pho_group_opts *o)
{
    struct pho_groups *g = NULL;
    struct pho_err err = PHO_ERR_INIT;
    int rc = pho_group_run(&g, it, n, o, &err);
    if (rc)
        fail_msg("pho_group_run: %s", err.msg);
    assert_non_null(g);
    return g;
}

/* Per item: the smallest item index of its group, NONE when ungrouped (maps through @p perm). */
static size_t *labels(const struct pho_groups *g, size_t n, const size_t *perm)
{
    size_t *lab = malloc((n ? n : 1) * sizeof(*lab));
    for (size_t i = 0; i < n; i++)
        lab[i] = NONE;
    for (size_t k = 0; k < g->count; k++) {
        size_t low = NONE;
        for (size_t i = g->offsets[k]; i < g->offsets[k + 1]; i++) {
            size_t x = perm ? perm[g->members[i]] : g->members[i];
            low = PHO_MIN(low, x);
        }
        for (size_t i = g->offsets[k]; i < g->offsets[k + 1]; i++) {
            size_t x = perm ? perm[g->members[i]] : g->members[i];
            assert_true(x < n);
            assert_true(lab[x] == NONE); /* each photo in one group at most */
            lab[x] = low;
        }
    }
    return lab;
}

static bool linked(const struct pho_group_item *a, const struct pho_group_item *b, int t, double w)
{
    if (pho_hash_distance(a->hash, b->hash) > t)
        return false;
    return w <= 0 || !a->has_time || !b->has_time || fabs(a->time - b->time) <= w;
}

static size_t find(size_t *p, size_t x)
{
    while (p[x] != x)
        x = p[x] = p[p[x]];
    return x;
}

/* The rule by brute force: connected components of all linked pairs, small ones dropped. */
static size_t *model(const struct pho_group_item *it, size_t n, int t, double w, size_t min_size)
{
    size_t *p = malloc((n ? n : 1) * sizeof(*p)), *count = calloc(n ? n : 1, sizeof(*count));
    size_t *low = malloc((n ? n : 1) * sizeof(*low));
    for (size_t i = 0; i < n; i++)
        p[i] = i;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (linked(&it[i], &it[j], t, w))
                p[find(p, i)] = find(p, j);
    for (size_t i = 0; i < n; i++) {
        count[find(p, i)]++;
        low[i] = NONE;
    }
    for (size_t i = 0; i < n; i++) {
        size_t r = find(p, i);
        if (low[r] == NONE)
            low[r] = i;
    }
    size_t *lab = malloc((n ? n : 1) * sizeof(*lab));
    min_size = PHO_MAX(min_size, (size_t)2);
    for (size_t i = 0; i < n; i++)
        lab[i] = count[find(p, i)] >= min_size ? low[find(p, i)] : NONE;
    free(p);
    free(count);
    free(low);
    return lab;
}

static void assert_same_labels(const size_t *a, const size_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            fail_msg("photo %zu: group of %zu vs %zu", i, a[i], b[i]);
}

/* Members by (time, index) within each group, groups by their first member. */
static void assert_canonical(const struct pho_groups *g, const struct pho_group_item *it)
{
    assert_true(g->offsets[0] == 0);
    for (size_t k = 0; k < g->count; k++) {
        assert_true(g->offsets[k + 1] - g->offsets[k] >= 2);
        for (size_t i = g->offsets[k] + 1; i < g->offsets[k + 1]; i++) {
            size_t a = g->members[i - 1], b = g->members[i];
            assert_true(it[a].time < it[b].time || (it[a].time == it[b].time && a < b));
        }
        if (k) {
            size_t a = g->members[g->offsets[k - 1]], b = g->members[g->offsets[k]];
            assert_true(it[a].time < it[b].time || (it[a].time == it[b].time && a < b));
        }
    }
}

/*
 * Bursts around random scene hashes: members within 2 bits of their burst's
 * hash (so within 4 of each other), close in time, some without time; plus
 * lone photos. @p same_time puts every photo at one instant (copied files).
 */
static struct pho_group_item *clustered(size_t n, double untimed, bool same_time, uint64_t seed)
{
    rng = seed;
    struct pho_group_item *it = calloc(n, sizeof(*it));
    size_t k = 0;
    while (k < n) {
        uint64_t base = rnd();
        double t = (double)(rnd() % 100000000u);
        size_t m = (rnd() % 4 == 0) ? 1 : 2 + rnd() % 7;
        for (size_t i = 0; i < m && k < n; i++, k++) {
            it[k].hash = flip(base, (unsigned)(rnd() % 3));
            it[k].time = same_time ? 1.5e9 : t + (double)(rnd() % 200);
            it[k].has_time = (double)(rnd() % 1000) >= untimed * 1000;
        }
    }
    /* Shuffle so bursts are not contiguous in index order. */
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd() % i;
        struct pho_group_item s = it[i - 1];
        it[i - 1] = it[j];
        it[j] = s;
    }
    return it;
}

/* ---- edge cases ---------------------------------------------------------------- */

static void test_empty_and_single(void **state)
{
    (void)state;
    struct pho_group_opts o = PHO_GROUP_OPTS_INIT;
    struct pho_groups *g = run(NULL, 0, &o);
    assert_int_equal(g->count, 0);
    assert_int_equal(g->offsets[0], 0);
    assert_int_equal(g->pairs_compared, 0);
    pho_groups_free(g);
    struct pho_group_item one = { 0x1234, 10.0, true };
    g = run(&one, 1, &o);
    assert_int_equal(g->count, 0);
    pho_groups_free(g);
    g = run(&one, 1, NULL); /* NULL options: the defaults */
    assert_int_equal(g->count, 0);
    pho_groups_free(g);
    pho_groups_free(NULL);
}

static void test_all_identical(void **state)
{
    (void)state;
    enum { N = 300 };
    struct pho_group_item it[N];
    for (size_t i = 0; i < N; i++)
        it[i] = (struct pho_group_item){ 0xdeadbeefcafef00du, (double)i * 1000.0, true };
    /* Window off: one group of everything. */
    struct pho_group_opts o = opts(5, 0, 3, 2);
    struct pho_groups *g = run(it, N, &o);
    assert_int_equal(g->count, 1);
    assert_int_equal(g->offsets[1], N);
    assert_int_equal(g->chains_split, 0);
    assert_canonical(g, it);
    pho_groups_free(g);
    /* Window on, shots 1000 s apart: identical but never linked. */
    o = opts(5, 300, 2, 2);
    g = run(it, N, &o);
    assert_int_equal(g->count, 0);
    pho_groups_free(g);
    /* Window on, shots 100 s apart: linked in a chain through time -> one group. */
    for (size_t i = 0; i < N; i++)
        it[i].time = (double)i * 100.0;
    g = run(it, N, &o);
    assert_int_equal(g->count, 1);
    assert_int_equal(g->offsets[1], N);
    pho_groups_free(g);
    /* All at one instant (and threshold 0): one group. */
    for (size_t i = 0; i < N; i++)
        it[i].time = 7.0;
    o = opts(0, 300, 2, 2);
    g = run(it, N, &o);
    assert_int_equal(g->count, 1);
    assert_int_equal(g->offsets[1], N);
    pho_groups_free(g);
}

static void test_thresholds_0_and_64(void **state)
{
    (void)state;
    struct pho_group_item it[6] = {
        { 0x0, 0, true },           { 0x0, 10, true },      { 0x1, 20, true },
        { ~(uint64_t)0, 30, true }, { 0xffff, 5000, true }, { 0xffff0000, 5010, true },
    };
    /* 0: equal hashes only. */
    struct pho_group_opts o = opts(0, 0, 2, 1);
    struct pho_groups *g = run(it, 6, &o);
    assert_int_equal(g->count, 1);
    assert_int_equal(g->offsets[1], 2);
    assert_int_equal(g->members[0], 0);
    assert_int_equal(g->members[1], 1);
    pho_groups_free(g);
    /* 64, window off: everything, without comparing anything. */
    o = opts(64, 0, 2, 1);
    g = run(it, 6, &o);
    assert_int_equal(g->count, 1);
    assert_int_equal(g->offsets[1], 6);
    assert_int_equal(g->pairs_compared, 0);
    pho_groups_free(g);
    /* 64, window on: only time separates: {0,1,2,3} and {4,5}. */
    o = opts(64, 300, 2, 1);
    g = run(it, 6, &o);
    size_t *lab = labels(g, 6, NULL);
    size_t *want = model(it, 6, 64, 300, 2);
    assert_same_labels(lab, want, 6);
    assert_int_equal(g->count, 2);
    free(lab);
    free(want);
    pho_groups_free(g);
    /* ... unless a photo without time bridges everything. */
    it[2].has_time = false;
    g = run(it, 6, &o);
    assert_int_equal(g->count, 1);
    assert_int_equal(g->offsets[1], 6);
    pho_groups_free(g);
}

static void test_window(void **state)
{
    (void)state;
    /* Same hash (within 2 bits), an hour apart. */
    struct pho_group_item it[3] = {
        { 0xaaaa5555aaaa5555u, 0, true },
        { 0xaaaa5555aaaa5554u, 3600, true },
        { 0xaaaa5555aaaa5557u, 7200, true },
    };
    struct pho_group_opts on = opts(5, 300, 2, 1), off = opts(5, 0, 2, 1);
    struct pho_groups *g = run(it, 3, &on);
    assert_int_equal(g->count, 0);
    pho_groups_free(g);
    g = run(it, 3, &off);
    assert_int_equal(g->count, 1);
    assert_int_equal(g->offsets[1], 3);
    pho_groups_free(g);
    /* Inclusive: exactly the window apart still links. */
    it[1].time = 300;
    g = run(it, 3, &on);
    assert_int_equal(g->count, 1);
    assert_int_equal(g->offsets[1], 2);
    pho_groups_free(g);
    it[1].time = 300.001;
    g = run(it, 3, &on);
    assert_int_equal(g->count, 0);
    pho_groups_free(g);
    /* A photo without time links to both ends, whatever its own time field says. */
    it[1].has_time = false;
    it[1].time = 1e12;
    g = run(it, 3, &on);
    assert_int_equal(g->count, 1);
    assert_int_equal(g->offsets[1], 3);
    pho_groups_free(g);
    /* Two photos without time and far from everything else in hash: a pair. */
    struct pho_group_item u[4] = {
        { 0x1111, 0, false },
        { 0x1113, 0, false },
        { 0xffff000000000000u, 0, true },
        { 0xffff000000000001u, 1e9, true },
    };
    g = run(u, 4, &on);
    assert_int_equal(g->count, 1);
    assert_int_equal(g->offsets[1], 2);
    pho_groups_free(g);
}

static void test_min_size(void **state)
{
    (void)state;
    struct pho_group_item it[5] = {
        { 0x10, 0, true },
        { 0x11, 1, true },
        { 0xf0f0f0f0f0f0f0f0u, 2, true },
        { 0xf0f0f0f0f0f0f0f1u, 3, true },
        { 0xf0f0f0f0f0f0f0f3u, 4, true },
    };
    size_t counts[] = { 2, 2, 2, 1, 0 };
    size_t sizes[] = { 0, 1, 2, 3, 4 };
    for (size_t i = 0; i < PHO_ARRAY_LEN(sizes); i++) {
        struct pho_group_opts o = opts(5, 300, sizes[i], 1);
        struct pho_groups *g = run(it, 5, &o);
        assert_int_equal(g->count, counts[i]);
        pho_groups_free(g);
    }
    /* The default keeps the original's 3. */
    struct pho_groups *g = run(it, 5, NULL);
    assert_int_equal(g->count, 1);
    assert_int_equal(g->offsets[1], 3);
    pho_groups_free(g);
}

/* The original's star rule loses C (close to B, not to the seed A); components keep it. */
static void test_components_not_stars(void **state)
{
    (void)state;
    struct pho_group_item it[3] = {
        { 0x0, 0, true },
        { 0x7, 10, true },  /* 3 from A */
        { 0x3f, 20, true }, /* 3 from B, 6 from A */
    };
    struct pho_group_opts o = opts(5, 300, 3, 1);
    struct pho_groups *g = run(it, 3, &o);
    assert_int_equal(g->count, 1);
    assert_int_equal(g->offsets[1], 3);
    assert_int_equal(g->links, 2);
    assert_int_equal(g->chains_split, 0);
    pho_groups_free(g);
}

static void test_canonical_order(void **state)
{
    (void)state;
    /* Two groups; times out of index order, with ties. */
    struct pho_group_item it[7] = {
        { 0xff00, 50, true }, /* group X */
        { 0x00ff, 40, true }, /* group Y */
        { 0xff01, 30, true }, /* X */
        { 0x00fe, 40, true }, /* Y, tie with 1 */
        { 0xff03, 30, true }, /* X, tie with 2 */
        { 0x00fc, 45, true }, /* Y */
        { 0x1234567812345678u, 0, true },
    };
    struct pho_group_opts o = opts(5, 300, 2, 1);
    struct pho_groups *g = run(it, 7, &o);
    assert_int_equal(g->count, 2);
    static const size_t want[] = { 2, 4, 0, 1, 3, 5 };
    assert_int_equal(g->offsets[1], 3);
    assert_int_equal(g->offsets[2], 6);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(g->members[i], want[i]);
    assert_canonical(g, it);
    pho_groups_free(g);
    /* Groups whose first members share a time: the lower index first. */
    it[2].time = it[4].time = 40;
    g = run(it, 7, &o);
    assert_int_equal(g->members[0], 1);
    assert_int_equal(g->members[g->offsets[1]], 2);
    assert_canonical(g, it);
    pho_groups_free(g);
}

/* ---- agreement with the model on every search path ---------------------------- */

static void check_against_model(size_t n, double untimed, bool same_time, double window,
                                uint64_t seed)
{
    struct pho_group_item *it = clustered(n, untimed, same_time, seed);
    static const int thresholds[] = { 0, 1, 2, 3, 5, 8, 12 };
    for (size_t k = 0; k < PHO_ARRAY_LEN(thresholds); k++) {
        int t = thresholds[k];
        struct pho_group_opts o = opts(t, window, 2, 2);
        struct pho_groups *g = run(it, n, &o);
        assert_int_equal(g->chains_split, 0);
        size_t *lab = labels(g, n, NULL), *want = model(it, n, t, window, 2);
        assert_same_labels(lab, want, n);
        assert_canonical(g, it);
        /* Far fewer comparisons than all pairs. */
        if (n >= 2000 && t <= 5)
            assert_true(g->pairs_compared < (size_t)n * (n - 1) / 2 / 4);
        free(lab);
        free(want);
        pho_groups_free(g);
    }
    free(it);
}

static void test_model_small(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        check_against_model(40, 0.2, false, 300, seed);
        check_against_model(40, 0.2, false, 0, seed);
        check_against_model(40, 0.5, true, 300, seed);
    }
}

static void test_model_sweep(void **state)
{
    (void)state;
    check_against_model(3000, 0.0, false, 300, 101);
}

static void test_model_dense_run(void **state)
{
    (void)state;
    /* Everything at one instant: the sweep would compare all pairs, so the run is indexed. */
    check_against_model(3000, 0.0, true, 300, 102);
}

static void test_model_untimed(void **state)
{
    (void)state;
    check_against_model(3000, 0.3, false, 300, 103);
    check_against_model(3000, 1.0, false, 300, 104);
}

static void test_model_visual(void **state)
{
    (void)state;
    check_against_model(3000, 0.1, false, 0, 105);
}

/* ---- determinism ------------------------------------------------------------------ */

static void test_threads_and_permutations(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct pho_group_item *it = clustered(N, 0.1, false, 7);
    /* Some identical times and identical hashes too. */
    for (size_t i = 0; i < N; i += 97)
        it[i].time = it[(i * 31) % N].time;
    for (size_t i = 0; i < N; i += 89)
        it[i].hash = it[(i * 17) % N].hash;
    size_t *perm = malloc(N * sizeof(*perm));
    struct pho_group_item *shuffled = malloc(N * sizeof(*shuffled));
    static const double windows[] = { 300, 0 };
    for (size_t w = 0; w < PHO_ARRAY_LEN(windows); w++) {
        struct pho_group_opts o = opts(5, windows[w], 2, 1);
        struct pho_groups *ref = run(it, N, &o);
        size_t *want = labels(ref, N, NULL);
        static const unsigned threads[] = { 2, 3, 8, 0 };
        for (size_t k = 0; k < PHO_ARRAY_LEN(threads); k++) {
            o.threads = threads[k];
            struct pho_groups *g = run(it, N, &o);
            /* Identical output, statistics included. */
            assert_int_equal(g->count, ref->count);
            assert_memory_equal(g->offsets, ref->offsets, (ref->count + 1) * sizeof(size_t));
            assert_memory_equal(g->members, ref->members,
                                ref->offsets[ref->count] * sizeof(size_t));
            assert_int_equal(g->pairs_compared, ref->pairs_compared);
            assert_int_equal(g->links, ref->links);
            assert_int_equal(g->chains_split, ref->chains_split);
            pho_groups_free(g);
        }
        for (uint64_t round = 0; round < 3; round++) {
            rng = 1000 + round;
            for (size_t i = 0; i < N; i++)
                perm[i] = i;
            for (size_t i = N; i > 1; i--) {
                size_t j = rnd() % i, s = perm[i - 1];
                perm[i - 1] = perm[j];
                perm[j] = s;
            }
            for (size_t i = 0; i < N; i++)
                shuffled[i] = it[perm[i]];
            o.threads = 2;
            struct pho_groups *g = run(shuffled, N, &o);
            size_t *got = labels(g, N, perm);
            assert_same_labels(got, want, N);
            assert_int_equal(g->count, ref->count);
            assert_canonical(g, shuffled);
            free(got);
            pho_groups_free(g);
        }
        free(want);
        pho_groups_free(ref);
    }
    free(perm);
    free(shuffled);
    free(it);
}

/* ---- the chain guard -------------------------------------------------------------- */

/* Photo i = bits 0 .. 3i-1 flipped: neighbours 3 bits apart, the ends 60 apart. */
static void make_chain(struct pho_group_item *it, size_t n, double step_s)
{
    for (size_t i = 0; i < n; i++) {
        it[i].hash = 3 * i >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << (3 * i)) - 1);
        it[i].time = 1000.0 + (double)i * step_s;
        it[i].has_time = true;
    }
}

static void test_chain_split_exact(void **state)
{
    (void)state;
    /*
     * 21 photos linked only to their neighbours (3 bits; 6 to the next but
     * one). The majority hash is photo 10's, its 2t ball (10 bits) holds
     * photos 7..13; each remaining half is within 9 bits of its own center
     * (3 and 17) and stays whole.
     */
    struct pho_group_item it[21];
    static const double windows[] = { 300, 0 };
    for (size_t w = 0; w < 2; w++) {
        make_chain(it, 21, 60);
        struct pho_group_opts o = opts(5, windows[w], 2, 2);
        struct pho_groups *g = run(it, 21, &o);
        assert_int_equal(g->chains_split, 1);
        assert_int_equal(g->count, 3);
        for (size_t k = 0; k < 3; k++) {
            assert_int_equal(g->offsets[k + 1] - g->offsets[k], 7);
            for (size_t i = 0; i < 7; i++)
                assert_int_equal(g->members[g->offsets[k] + i], 7 * k + i);
        }
        pho_groups_free(g);
    }
    /* A short chain (all within 2t of the middle) is left alone. */
    make_chain(it, 7, 60);
    struct pho_group_opts o = opts(5, 300, 2, 1);
    struct pho_groups *g = run(it, 7, &o);
    assert_int_equal(g->chains_split, 0);
    assert_int_equal(g->count, 1);
    assert_int_equal(g->offsets[1], 7);
    pho_groups_free(g);
}

/* Random walks: every piece is connected and within 2t of one of its members. */
static void test_chain_guard_invariants(void **state)
{
    (void)state;
    enum { N = 1500 };
    struct pho_group_item *it = calloc(N, sizeof(*it));
    rng = 99;
    /* 30 walks of 50 steps of 1..4 bits, a second apart, plus a dense tight burst on one. */
    for (size_t w = 0; w < 30; w++) {
        uint64_t h = rnd();
        double t = (double)w * 1e6;
        for (size_t s = 0; s < 50; s++) {
            size_t i = w * 50 + s;
            h = flip(h, 1 + (unsigned)(rnd() % 4));
            it[i].hash = w == 0 && s >= 40 ? it[w * 50 + 39].hash : h;
            it[i].time = t + (double)s;
            it[i].has_time = rnd() % 10 != 0;
        }
    }
    static const double windows[] = { 300, 0 };
    for (size_t wi = 0; wi < 2; wi++) {
        int t = 5;
        struct pho_group_opts o = opts(t, windows[wi], 2, 2);
        struct pho_groups *g = run(it, N, &o);
        size_t *comp = model(it, N, t, windows[wi], 2);
        size_t *lab = labels(g, N, NULL);
        assert_true(g->chains_split >= 10);
        for (size_t k = 0; k < g->count; k++) {
            const size_t *m = g->members + g->offsets[k];
            size_t n = g->offsets[k + 1] - g->offsets[k];
            /* Inside one component of the plain rule. */
            for (size_t i = 0; i < n; i++)
                assert_true(comp[m[i]] == comp[m[0]] && comp[m[0]] != NONE);
            /* Some member has everyone within 2t. */
            bool centred = false;
            for (size_t c = 0; c < n && !centred; c++) {
                centred = true;
                for (size_t i = 0; i < n && centred; i++)
                    centred = pho_hash_distance(it[m[c]].hash, it[m[i]].hash) <= 2 * t;
            }
            assert_true(centred);
            /* Connected by links among its own members. */
            char *seen = calloc(n, 1);
            size_t *queue = malloc(n * sizeof(*queue)), qn = 1;
            queue[0] = 0;
            seen[0] = 1;
            for (size_t h = 0; h < qn; h++)
                for (size_t j = 0; j < n; j++)
                    if (!seen[j] && linked(&it[m[queue[h]]], &it[m[j]], t, windows[wi])) {
                        seen[j] = 1;
                        queue[qn++] = j;
                    }
            assert_int_equal(qn, n);
            free(seen);
            free(queue);
        }
        /* Nothing is grouped that the plain rule would not group. */
        for (size_t i = 0; i < N; i++)
            if (comp[i] == NONE)
                assert_true(lab[i] == NONE);
        free(comp);
        free(lab);
        pho_groups_free(g);
    }
    free(it);
}

/* ---- options and failures ----------------------------------------------------------- */

static void test_bad_options(void **state)
{
    (void)state;
    struct pho_group_item it[2] = { { 1, 0, true }, { 1, 1, true } };
    struct pho_group_opts bad[] = { opts(-1, 300, 3, 1), opts(65, 300, 3, 1), opts(5, -1, 3, 1),
                                    opts(5, NAN, 3, 1), opts(5, INFINITY, 3, 1) };
    for (size_t i = 0; i < PHO_ARRAY_LEN(bad); i++) {
        struct pho_groups *g = (struct pho_groups *)1;
        struct pho_err err = PHO_ERR_INIT;
        assert_int_equal(pho_group_run(&g, it, 2, &bad[i], &err), PHO_EINVAL);
        assert_null(g);
        assert_int_equal(err.code, PHO_EINVAL);
        assert_int_equal(strncmp(err.msg, "group: ", 7), 0);
    }
    struct pho_group_opts o = opts(5, 300, 3, 1);
    o.version = 2;
    struct pho_groups *g = NULL;
    assert_int_equal(pho_group_run(&g, it, 2, &o, NULL), PHO_EINVAL);
    o.version = 1;
    assert_int_equal(pho_group_run(&g, NULL, 2, &o, NULL), PHO_EINVAL);
    it[1].time = NAN;
    assert_int_equal(pho_group_run(&g, it, 2, &o, NULL), PHO_EINVAL);
    /* Without a capture time the field is not used, so anything goes. */
    it[1].has_time = false;
    assert_int_equal(pho_group_run(&g, it, 2, &o, NULL), 0);
    pho_groups_free(g);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    /* Exercises every path: sweep, untimed look-ups, a split chain. */
    enum { N = 60 };
    struct pho_group_item it[N];
    make_chain(it, 21, 1);
    rng = 5;
    for (size_t i = 21; i < N; i++) {
        it[i].hash = i % 3 ? flip(it[i - 1].hash, 1) : rnd();
        it[i].time = (double)(i / 4) * 10.0;
        it[i].has_time = i % 5 != 0;
    }
    static const double windows[] = { 300, 0 };
    for (size_t w = 0; w < 2; w++) {
        struct pho_group_opts o = opts(5, windows[w], 2, 1);
        struct pho_groups *want = run(it, N, &o);
        size_t *lab = labels(want, N, NULL);
        unsigned long k, seen = 0;
        for (k = 1;; k++) {
            struct pho_groups *g = (struct pho_groups *)1;
            struct pho_err err = PHO_ERR_INIT;
            pho_alloc_fail_at(k);
            int rc = pho_group_run(&g, it, N, &o, &err);
            seen = pho_alloc_fail_at(0);
            if (rc == 0) {
                size_t *got = labels(g, N, NULL);
                assert_same_labels(got, lab, N);
                free(got);
                pho_groups_free(g);
                if (k > seen)
                    break;
                continue;
            }
            assert_int_equal(rc, PHO_ENOMEM);
            assert_null(g);
            assert_int_equal(err.code, PHO_ENOMEM);
        }
        assert_true(seen > 10);
        assert_true(want->chains_split >= 1);
        free(lab);
        pho_groups_free(want);
    }
}

/* ---- the multi-index hash ----------------------------------------------------------- */

struct hits {
    uint32_t *count;
    int *dist;
};

static void on_hit(void *ud, uint32_t e, int d)
{
    struct hits *h = ud;
    h->count[e]++;
    h->dist[e] = d;
}

static void test_mih_exact(void **state)
{
    (void)state;
    enum { N = 5000 };
    uint64_t *keys = malloc(N * sizeof(*keys));
    rng = 3;
    for (size_t i = 0; i < N; i++)
        keys[i] = i % 2 ? flip(keys[i - 1], (unsigned)(rnd() % 12)) : rnd();
    keys[10] = keys[11] = keys[12]; /* duplicates */
    struct hits h = { calloc(N, sizeof(uint32_t)), calloc(N, sizeof(int)) };
    for (int t = 0; t < 20; t++) {
        struct pho_mih_plan plan;
        pho_mih__plan(&plan, N, t);
        assert_true(plan.m >= 3 && plan.m <= PHO_MIH_MAX_M);
        /* The planned layout and a few forced ones. */
        unsigned ms[] = { plan.m, 3, 5, 7, 16 };
        for (size_t mi = 0; mi < PHO_ARRAY_LEN(ms); mi++) {
            if (ms[mi] == 3 && t > 12)
                continue; /* radius 4+ on 22-bit substrings: millions of probes per query */
            struct pho_mih_plan p = plan;
            p.m = ms[mi];
            struct pho_mih *x = NULL;
            assert_int_equal(pho_mih__new(&x, keys, N, &p, t), 0);
            for (size_t q = 0; q < N; q += 37) {
                uint32_t from = (uint32_t)(q % 3 == 0 ? q + 1 : 0);
                memset(h.count, 0, N * sizeof(uint32_t));
                size_t compared = pho_mih__query(x, keys[q], from, on_hit, &h);
                size_t expect = 0;
                for (size_t e = 0; e < N; e++) {
                    int d = pho_hash_distance(keys[q], keys[e]);
                    bool want = e >= from && d <= t;
                    expect += want;
                    assert_int_equal(h.count[e], want ? 1 : 0);
                    if (want)
                        assert_int_equal(h.dist[e], d);
                }
                assert_true(compared >= expect);
            }
            pho_mih__free(x);
        }
    }
    struct pho_mih_plan none;
    pho_mih__plan(&none, N, 64);
    assert_int_equal(none.m, 0);
    struct pho_mih *x = NULL;
    assert_int_equal(pho_mih__new(&x, keys, N, &none, 5), PHO_EINVAL);
    assert_null(x);
    pho_mih__free(NULL);
    free(h.count);
    free(h.dist);
    free(keys);
}

/* ---- the labelled test photos -------------------------------------------------------- */

struct photo {
    char file[160];
    char label[16];
    uint64_t dhash, phash;
    double time;
    bool has_time;
};

static struct photo *load_testdata(size_t *out_n)
{
    size_t len = 0;
    char *text = (char *)read_file(td("labels.csv"), &len);
    assert_non_null(text);
    struct photo *ph = calloc(256, sizeof(*ph));
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && n < 256;
         line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "file,", 5))
            continue;
        /* file,faces,persons,eyes,smile,dup_group,exif_orientation,format */
        char *field[8] = { 0 };
        size_t nf = 0;
        for (char *p = line; p && nf < 8;) {
            field[nf++] = p;
            p = strchr(p, ',');
            if (p)
                *p++ = '\0';
        }
        assert_true(nf >= 6);
        struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
        o.max_size = 480;
        o.allow_larger = true;
        struct pho_image *img = NULL;
        struct pho_meta m;
        if (pho_image_load(&img, td(field[0]), &o, &m, NULL) != 0)
            continue;
        struct photo *p = &ph[n++];
        snprintf(p->file, sizeof(p->file), "%s", field[0]);
        snprintf(p->label, sizeof(p->label), "%s", field[5]);
        assert_int_equal(pho_hash_dhash(&p->dhash, img), 0);
        assert_int_equal(pho_hash_phash(&p->phash, img), 0);
        /* As the organizer does: a file's mtime says when it was copied, not taken. */
        p->has_time = m.time.source != PHO_TIME_NONE && m.time.source != PHO_TIME_MTIME;
        p->time = (double)m.time.local + m.time.nsec / 1e9;
        pho_image_free(img);
    }
    free(text);
    *out_n = n;
    return ph;
}

struct pr {
    size_t tp, fp, fn, groups, chains;
    size_t fp_not_cards; /* wrong pairs other than two orientation cards */
    double precision, recall;
};

/*
 * orientation/landscape_1..8 and portrait_1..8 are one photograph each with
 * a different digit drawn on it (0-3 bits apart), but labels.csv leaves
 * their dup_group empty. Returns the card set, or NULL.
 */
static const char *card_set(const struct photo *p)
{
    if (!strncmp(p->file, "orientation/landscape_", 22))
        return "landscape cards";
    if (!strncmp(p->file, "orientation/portrait_", 21))
        return "portrait cards";
    return NULL;
}

static bool same_cards(const struct photo *a, const struct photo *b)
{
    return card_set(a) && card_set(b) && !strcmp(card_set(a), card_set(b));
}

static bool same_label(const struct photo *a, const struct photo *b, bool with_cards)
{
    if (with_cards && same_cards(a, b))
        return true;
    return a->label[0] && !strcmp(a->label, b->label);
}

static struct pr evaluate(const struct photo *ph, size_t n, bool phash, int t, bool with_cards,
                          bool verbose)
{
    struct pho_group_item *it = calloc(n, sizeof(*it));
    for (size_t i = 0; i < n; i++) {
        it[i].hash = phash ? ph[i].phash : ph[i].dhash;
        it[i].time = ph[i].time;
        it[i].has_time = ph[i].has_time;
    }
    struct pho_group_opts o = opts(t, 300, 2, 0);
    struct pho_groups *g = run(it, n, &o);
    size_t *lab = labels(g, n, NULL);
    struct pr r = { 0 };
    r.groups = g->count;
    r.chains = g->chains_split;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            bool same = same_label(&ph[i], &ph[j], with_cards);
            bool together = lab[i] != NONE && lab[i] == lab[j];
            r.tp += same && together;
            r.fp += !same && together;
            r.fn += same && !together;
            r.fp_not_cards += !same && together && !same_cards(&ph[i], &ph[j]);
            if (verbose && same != together && !same_cards(&ph[i], &ph[j]))
                print_message("#   %s %s: %s <-> %s (%d bits)\n", phash ? "phash" : "dhash",
                              same ? "missed" : "extra", ph[i].file, ph[j].file,
                              pho_hash_distance(it[i].hash, it[j].hash));
        }
    r.precision = r.tp + r.fp ? (double)r.tp / (double)(r.tp + r.fp) : 1.0;
    r.recall = r.tp + r.fn ? (double)r.tp / (double)(r.tp + r.fn) : 1.0;
    free(lab);
    free(it);
    pho_groups_free(g);
    return r;
}

/* Smallest distance between two photos that are not duplicates (cards counted as duplicates). */
static int closest_distinct(const struct photo *ph, size_t n, bool phash)
{
    int best = 64;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (!same_label(&ph[i], &ph[j], true))
                best = PHO_MIN(best, pho_hash_distance(phash ? ph[i].phash : ph[i].dhash,
                                                       phash ? ph[j].phash : ph[j].dhash));
    return best;
}

/*
 * Defaults (threshold 5, window 300 s; min size 2 so pairs count), both
 * hashes, and a threshold sweep. Of the 28 labelled duplicate pairs, 14 are
 * the same framing (re-encodes, the RGBA copy, bursts, the annotated Curie
 * copy); the other 14 are a second framing of the group4 session, obama.jpg
 * against its letterboxed copies, the Nokia shot with the people reordered,
 * an HDR pair 26 s apart and a black-and-white square crop, which no hash of
 * the whole frame is meant to match at the original's threshold. Floors:
 * the better hash finds every same-framing pair (recall >= 14/28), and it
 * groups nothing wrongly except the orientation cards, which are duplicates
 * that labels.csv does not mark (so precision is 1 once they count).
 */
static void test_testdata_precision_recall(void **state)
{
    (void)state;
    size_t n = 0;
    struct photo *ph = load_testdata(&n);
    assert_true(n >= 100);
    print_message("# %zu photos decoded at 480..959 px; pairwise precision/recall against "
                  "labels.csv dup_group (window 300 s, min size 2); \"+cards\": the 16 "
                  "orientation cards counted as the two duplicate sets they are\n",
                  n);
    print_message(
            "#  t | dhash P    R    TP FP FN grp chains | phash P    R    TP FP FN grp chains "
            "| +cards dhash P R   | +cards phash P R\n");
    static const int sweep[] = { 2, 3, 4, 5, 6, 8, 10, 12, 14, 16 };
    struct pr def[2] = { 0 };
    for (size_t k = 0; k < PHO_ARRAY_LEN(sweep); k++) {
        int t = sweep[k];
        struct pr d = evaluate(ph, n, false, t, false, false);
        struct pr p = evaluate(ph, n, true, t, false, false);
        struct pr dc = evaluate(ph, n, false, t, true, false);
        struct pr pc = evaluate(ph, n, true, t, true, false);
        print_message(
                "# %2d |       %.2f %.2f %2zu %2zu %2zu %3zu %6zu |       %.2f %.2f %2zu %2zu "
                "%2zu %3zu %6zu |        %.2f %.2f |        %.2f %.2f\n",
                t, d.precision, d.recall, d.tp, d.fp, d.fn, d.groups, d.chains, p.precision,
                p.recall, p.tp, p.fp, p.fn, p.groups, p.chains, dc.precision, dc.recall,
                pc.precision, pc.recall);
        if (t == 5) {
            def[0] = d;
            def[1] = p;
        }
    }
    print_message(
            "# closest pair of photos that are not duplicates: dhash %d bits, phash %d bits\n",
            closest_distinct(ph, n, false), closest_distinct(ph, n, true));
    print_message("# at threshold 5, pairs that disagree with the labels (orientation cards "
                  "left out):\n");
    evaluate(ph, n, false, 5, false, true);
    evaluate(ph, n, true, 5, false, true);
    assert_int_equal(def[0].tp + def[0].fn, 28);
    const struct pr *best = def[0].recall >= def[1].recall ? &def[0] : &def[1];
    assert_true(best->tp >= 14);
    assert_int_equal(best->fp_not_cards, 0);
    free(ph);
}

/* ---- the auto rule ---------------------------------------------------------- */

/* A smooth random picture (a few sinusoids), optionally with noise added. */
static void make_thumb(uint8_t *t, uint64_t seed, int noise)
{
    uint64_t save = rng;
    rng = seed;
    double fx[4], fy[4], ph[4], amp[4];
    for (int k = 0; k < 4; k++) {
        fx[k] = (double)(rnd() % 5 + 1) / PHO_HASH_THUMB;
        fy[k] = (double)(rnd() % 5 + 1) / PHO_HASH_THUMB;
        ph[k] = (double)(rnd() % 628) / 100;
        amp[k] = 20 + (double)(rnd() % 30);
    }
    rng = save;
    for (int y = 0; y < PHO_HASH_THUMB; y++)
        for (int x = 0; x < PHO_HASH_THUMB; x++) {
            double v = 128;
            for (int k = 0; k < 4; k++)
                v += amp[k] * sin(6.283 * (fx[k] * x + fy[k] * y) + ph[k]);
            if (noise)
                v += (double)((int)(rnd() % (2 * noise + 1)) - noise);
            t[y * PHO_HASH_THUMB + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
}

/* An item with random crop hashes, its own signature storage, a picture and a time. */
static void auto_item(struct pho_group_item *it, struct pho_hash_sig *sig, uint64_t dhash,
                      uint64_t picture, int noise, double time, uint32_t camera)
{
    memset(it, 0, sizeof(*it));
    memset(sig, 0, sizeof(*sig));
    for (int k = 0; k < PHO_HASH_CROPS; k++) {
        sig->crop_dhash[k] = rnd();
        sig->crop_phash[k] = rnd();
    }
    make_thumb(sig->thumb, picture, noise);
    sig->turned_dhash[0] = rnd();
    sig->turned_dhash[1] = rnd();
    it->dhash = it->hash = dhash;
    it->phash = rnd();
    it->sig = sig;
    it->time = time;
    it->has_time = !isnan(time);
    it->camera = camera;
}

static struct pho_group_opts auto_opts(void)
{
    struct pho_group_opts o = PHO_GROUP_OPTS_INIT;
    o.rule = PHO_GROUP_RULE_AUTO;
    o.min_group_size = 2;
    return o;
}

/* Which group each item is in (NONE when none). */
static void membership(const struct pho_groups *g, size_t n, size_t *of)
{
    for (size_t i = 0; i < n; i++)
        of[i] = NONE;
    for (size_t k = 0; k < g->count; k++)
        for (size_t m = g->offsets[k]; m < g->offsets[k + 1]; m++)
            of[g->members[m]] = k;
}

static enum pho_group_reason pair_reason(struct pho_group_item *a, struct pho_group_item *b)
{
    struct pho_group_why w;
    pho_group_explain(&w, a, b);
    return w.reason;
}

static void test_auto_rule(void **state)
{
    (void)state;
    rng = 42;
    struct pho_group_item it[2];
    struct pho_hash_sig sig[2];
    uint64_t h = rnd();
    /* A copy: same hash, same picture, years apart, no camera: linked. */
    auto_item(&it[0], &sig[0], h, 1, 0, 0, 0);
    auto_item(&it[1], &sig[1], flip(h, 3), 1, 2, 1e8, 0);
    assert_int_equal(pair_reason(&it[0], &it[1]), PHO_GROUP_COPY);
    /* The same hashes over another picture: the verification vetoes the link. */
    auto_item(&it[1], &sig[1], h, 2, 0, 1e8, 0);
    assert_int_equal(pair_reason(&it[0], &it[1]), PHO_GROUP_NOT_LINKED);
    /* A cropped copy: its hash is the crop hash of the original. */
    auto_item(&it[1], &sig[1], rnd(), 1, 2, NAN, 0);
    sig[0].crop_dhash[1] = flip(it[1].dhash, 2);
    assert_int_equal(pair_reason(&it[0], &it[1]), PHO_GROUP_COPY);
    /* A burst: 14 bits apart is too far for a copy, fine 5 s apart, not 10 min apart. */
    auto_item(&it[0], &sig[0], h, 3, 0, 1000, 7);
    auto_item(&it[1], &sig[1], flip(h, 14), 3, 6, 1005, 8);
    assert_int_equal(pair_reason(&it[0], &it[1]), PHO_GROUP_BURST);
    it[1].time = 1600;
    assert_int_equal(pair_reason(&it[0], &it[1]), PHO_GROUP_NOT_LINKED);
    /* Undated on both sides: the burst allowance, verified. */
    it[0].has_time = it[1].has_time = false;
    assert_int_equal(pair_reason(&it[0], &it[1]), PHO_GROUP_UNDATED);
    /* One camera, seconds apart, hashes far apart (the subject moved): linked when alike. */
    auto_item(&it[0], &sig[0], h, 4, 0, 50, 9);
    auto_item(&it[1], &sig[1], flip(h, 30), 4, 8, 52, 9);
    assert_int_equal(pair_reason(&it[0], &it[1]), PHO_GROUP_SAME_CAMERA);
    it[1].camera = 10; /* another camera: no */
    assert_int_equal(pair_reason(&it[0], &it[1]), PHO_GROUP_NOT_LINKED);
    it[1].camera = 9;
    /* The same model, two bodies (two guests with one phone model): not one camera. A body
     * known on one side only does not tell them apart. */
    it[0].body = 21;
    it[1].body = 22;
    assert_int_equal(pair_reason(&it[0], &it[1]), PHO_GROUP_NOT_LINKED);
    it[1].body = 21;
    assert_int_equal(pair_reason(&it[0], &it[1]), PHO_GROUP_SAME_CAMERA);
    it[1].body = 0;
    assert_int_equal(pair_reason(&it[0], &it[1]), PHO_GROUP_SAME_CAMERA);
    it[0].body = 0;
    auto_item(&it[1], &sig[1], flip(h, 30), 5, 0, 52, 9); /* camera turned away */
    assert_int_equal(pair_reason(&it[0], &it[1]), PHO_GROUP_NOT_LINKED);
    /* A mirrored copy, years later: its dHash is the original's mirrored dHash. */
    auto_item(&it[0], &sig[0], h, 6, 0, 0, 0);
    auto_item(&it[1], &sig[1], rnd(), 6, 0, 1e8, 0);
    for (int y = 0; y < PHO_HASH_THUMB; y++)
        for (int x = 0; x < PHO_HASH_THUMB; x++)
            sig[1].thumb[y * PHO_HASH_THUMB + x] =
                    sig[0].thumb[y * PHO_HASH_THUMB + (PHO_HASH_THUMB - 1 - x)];
    sig[0].turned_dhash[0] = flip(it[1].dhash, 2);
    assert_int_equal(pair_reason(&it[0], &it[1]), PHO_GROUP_TURNED);
    make_thumb(sig[1].thumb, 7, 0); /* the hashes say so, the pictures do not */
    assert_int_equal(pair_reason(&it[0], &it[1]), PHO_GROUP_NOT_LINKED);
}

static void test_auto_groups_and_why(void **state)
{
    (void)state;
    rng = 7;
    enum { N = 9 };
    struct pho_group_item it[N];
    struct pho_hash_sig sig[N];
    uint64_t h1 = rnd(), h2 = rnd();
    /* A burst chain a-b-c (b is 14 bits from each), a copy d of a years later,
     * an unrelated photo, and a pair e-f whose hashes match but pictures do not. */
    auto_item(&it[0], &sig[0], h1, 11, 0, 100, 1);
    auto_item(&it[1], &sig[1], flip(h1, 12), 11, 4, 104, 1);
    auto_item(&it[2], &sig[2], it[1].dhash ^ 0x3fff, 11, 4, 106, 1);
    auto_item(&it[3], &sig[3], h1, 11, 0, 1e9, 0);
    auto_item(&it[4], &sig[4], rnd(), 12, 0, 500, 2);
    auto_item(&it[5], &sig[5], h2, 13, 0, NAN, 0);
    auto_item(&it[6], &sig[6], h2, 14, 0, NAN, 0);
    auto_item(&it[7], &sig[7], rnd(), 15, 0, 9000, 3);
    auto_item(&it[8], &sig[8], flip(it[7].dhash, 1), 15, 1, 9001, 3);
    struct pho_group_opts o = auto_opts();
    struct pho_groups *g = run(it, N, &o);
    size_t of[N];
    membership(g, N, of);
    assert_int_equal(g->count, 2);
    assert_true(of[0] != NONE && of[0] == of[1] && of[1] == of[2] && of[2] == of[3]);
    assert_true(of[7] != NONE && of[7] == of[8] && of[7] != of[0]);
    assert_true(of[4] == NONE && of[5] == NONE && of[6] == NONE);
    /* Every member but the first says how it joined, through a member of its own group. */
    assert_non_null(g->why);
    for (size_t k = 0; k < g->count; k++)
        for (size_t m = g->offsets[k]; m < g->offsets[k + 1]; m++) {
            const struct pho_group_why *w = &g->why[m];
            if (m == g->offsets[k]) {
                assert_true(w->via == NONE);
                continue;
            }
            assert_true(w->via != NONE && of[w->via] == k);
            assert_true(w->reason != PHO_GROUP_NOT_LINKED);
            assert_true(w->bits <= w->allowed_bits || w->reason == PHO_GROUP_SAME_CAMERA);
            assert_true(w->score >= w->needed_score);
        }
    /* The copy years later joined through a copy link. */
    for (size_t m = 0; m < g->offsets[g->count]; m++)
        if (g->members[m] == 3)
            assert_int_equal(g->why[m].reason, PHO_GROUP_COPY);
    /* Same groups whatever the order of the photos. */
    struct pho_group_item rev[N];
    for (size_t i = 0; i < N; i++)
        rev[i] = it[N - 1 - i];
    struct pho_groups *g2 = run(rev, N, &o);
    size_t of2[N];
    membership(g2, N, of2);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            assert_int_equal(of[i] != NONE && of[i] == of[j],
                             of2[N - 1 - i] != NONE && of2[N - 1 - i] == of2[N - 1 - j]);
    pho_groups_free(g);
    pho_groups_free(g2);
    /* A photo without a signature is refused, not guessed at. */
    it[0].sig = NULL;
    struct pho_groups *bad = NULL;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_group_run(&bad, it, N, &o, &err), PHO_EINVAL);
    assert_null(bad);
}

static void test_auto_similarity(void **state)
{
    (void)state;
    struct pho_group_item a, b;
    struct pho_hash_sig sa, sb;
    auto_item(&a, &sa, 1, 21, 0, NAN, 0);
    auto_item(&b, &sb, 1, 21, 0, NAN, 0);
    struct pho_group_why w;
    pho_group_explain(&w, &a, &b);
    assert_true(fabsf(w.score - 1.0f) < 1e-4f);
    /* A 80 % centre crop, stretched back to the thumbnail's size, still correlates (hashes
     * far apart: explain then searches every crop for the best score). */
    b.dhash = ~a.dhash;
    b.phash = ~a.phash;
    for (int y = 0; y < PHO_HASH_THUMB; y++)
        for (int x = 0; x < PHO_HASH_THUMB; x++) {
            int sx = (int)(PHO_HASH_THUMB * 0.1 + x * 0.8),
                sy = (int)(PHO_HASH_THUMB * 0.1 + y * 0.8);
            sb.thumb[y * PHO_HASH_THUMB + x] = sa.thumb[sy * PHO_HASH_THUMB + sx];
        }
    pho_group_explain(&w, &a, &b);
    assert_true(w.score > 0.9f);
    /* Flat pictures: alike only when about as bright. */
    memset(sa.thumb, 40, sizeof(sa.thumb));
    memset(sb.thumb, 42, sizeof(sb.thumb));
    pho_group_explain(&w, &a, &b);
    assert_true(w.score == 1.0f);
    memset(sb.thumb, 200, sizeof(sb.thumb));
    pho_group_explain(&w, &a, &b);
    assert_true(w.score == 0.0f);
    char line[256];
    assert_non_null(strstr(pho_group_why_format(line, sizeof(line), &w), "hash bits"));
}

static void test_auto_threads(void **state)
{
    (void)state;
    /* Several work units of the copy search: the groups must not depend on the threads. */
    enum { N = 6000 };
    struct pho_group_item *it = calloc(N, sizeof(*it));
    struct pho_hash_sig *sig = calloc(64, sizeof(*sig));
    assert_non_null(it);
    assert_non_null(sig);
    rng = 99;
    for (int p = 0; p < 64; p++) {
        make_thumb(sig[p].thumb, 1000 + (uint64_t)p, 0);
        sig[p].turned_dhash[0] = rnd(); /* as a picture's mirrored and turned hashes are */
        sig[p].turned_dhash[1] = rnd();
    }
    for (size_t i = 0; i < N; i++) {
        /* Copies of 64 pictures (hash near the picture's), scattered over the list and in time. */
        size_t pic = rnd() % 64;
        it[i].dhash = it[i].hash = flip(pic * 0x9e3779b97f4a7c15u, (unsigned)(rnd() % 4));
        it[i].phash = rnd();
        it[i].sig = &sig[pic];
        it[i].has_time = rnd() % 2;
        it[i].time = (double)(rnd() % 100000000);
    }
    struct pho_group_opts o = auto_opts();
    o.threads = 1;
    struct pho_groups *g1 = run(it, N, &o);
    o.threads = 3;
    struct pho_groups *g3 = run(it, N, &o);
    assert_int_equal(g1->count, g3->count);
    assert_int_equal(g1->links, g3->links);
    assert_memory_equal(g1->members, g3->members, g1->offsets[g1->count] * sizeof(size_t));
    assert_true(g1->count >= 60 && g1->count <= 64);
    pho_groups_free(g1);
    pho_groups_free(g3);
    free(it);
    free(sig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_single),
        cmocka_unit_test(test_all_identical),
        cmocka_unit_test(test_thresholds_0_and_64),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_min_size),
        cmocka_unit_test(test_components_not_stars),
        cmocka_unit_test(test_canonical_order),
        cmocka_unit_test(test_model_small),
        cmocka_unit_test(test_model_sweep),
        cmocka_unit_test(test_model_dense_run),
        cmocka_unit_test(test_model_untimed),
        cmocka_unit_test(test_model_visual),
        cmocka_unit_test(test_threads_and_permutations),
        cmocka_unit_test(test_chain_split_exact),
        cmocka_unit_test(test_chain_guard_invariants),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_mih_exact),
        cmocka_unit_test(test_testdata_precision_recall),
        cmocka_unit_test(test_auto_rule),
        cmocka_unit_test(test_auto_groups_and_why),
        cmocka_unit_test(test_auto_similarity),
        cmocka_unit_test(test_auto_threads),
    };
    return T_RUN_GROUP(tests, NULL, NULL);
}
