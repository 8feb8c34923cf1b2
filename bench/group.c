/* SPDX-License-Identifier: MIT */
/*
 * bench/group: grouping time and pairs compared for 10k, 100k and 1M
 * synthetic photos at threshold 5 with the time window on (300 s) and off,
 * at threshold 10 with the window off, and with every photo carrying the
 * same time (copied files, mtime taken as capture time); and the default
 * (auto) rule on the same photos with signatures (crop hashes, thumbnail,
 * colours; a burst's shots share one picture, other photos draw one of 4096),
 * spread in time and all at one time.
 * Usage: bench-group [--threads N] [--max N] [--auto-only]
 *
 * The photos imitate a library: events (a place, 20-200 shots a minute or
 * so apart, each shot 10-20 bits from the event's scene hash), a tenth of
 * the shots being bursts of 3-8 near-duplicates a second apart (2 bits or
 * fewer from the burst's own hash), lone shots spread over ten years, and
 * 10 % of photos without a capture time. Clustered hashes are what makes an
 * index work hard; uniformly random hashes would flatter it.
 */
#include "pho/group.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchlib.h"
#include "pho/hash.h"
#include "pho/parallel.h"

#define TEN_YEARS (10.0 * 365.25 * 86400.0)

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double unit(void)
{
    return (rnd() >> 11) * (1.0 / 9007199254740992.0);
}

static unsigned range(unsigned lo, unsigned hi)
{
    return lo + (unsigned)(rnd() % (hi - lo + 1));
}

/* @p hash with @p k distinct random bits flipped. */
static uint64_t flip(uint64_t hash, unsigned k)
{
    uint64_t mask = 0;
    while ((unsigned)__builtin_popcountll(mask) < k)
        mask |= (uint64_t)1 << (rnd() & 63);
    return hash ^ mask;
}

static void put(struct pho_group_item *it, size_t *n, size_t max, uint64_t h, double t)
{
    if (*n >= max)
        return;
    it[*n].hash = h;
    it[*n].time = t;
    it[*n].has_time = unit() >= 0.10;
    (*n)++;
}

static void generate(struct pho_group_item *it, size_t n, uint64_t seed)
{
    rng_state = seed;
    size_t k = 0;
    while (k < n) {
        if (unit() < 0.25) {
            put(it, &k, n, rnd(), unit() * TEN_YEARS);
            continue;
        }
        uint64_t scene = rnd();
        double t = unit() * TEN_YEARS;
        unsigned shots = range(20, 200);
        for (unsigned s = 0; s < shots && k < n; s++) {
            t += 5.0 + 110.0 * unit();
            if (unit() < 0.1) {
                uint64_t base = flip(scene, range(10, 20));
                unsigned m = range(3, 8);
                for (unsigned b = 0; b < m; b++)
                    put(it, &k, n, flip(base, range(0, 2)), t + b * (0.3 + unit()));
                t += m;
            } else {
                put(it, &k, n, flip(scene, range(10, 20)), t);
            }
        }
    }
}

static double run(const char *label, const struct pho_group_item *it, size_t n, int t,
                  double window, unsigned threads)
{
    struct pho_group_opts o = PHO_GROUP_OPTS_INIT;
    o.threshold = t;
    o.time_window = window;
    o.min_group_size = 2;
    o.threads = threads;
    struct pho_groups *g = NULL;
    struct pho_err err = PHO_ERR_INIT;
    double t0 = bench_now();
    if (pho_group_run(&g, it, n, &o, &err)) {
        fprintf(stderr, "bench-group: %s\n", err.msg);
        exit(1);
    }
    double dt = bench_now() - t0;
    size_t grouped = g->offsets[g->count];
    printf("%-16s %8zu  %8.3f s  %14zu pairs (%7.1f/photo, all-pairs %.1e)  %9zu links  %7zu "
           "groups  %6zu photos grouped  %zu chains split\n",
           label, n, dt, g->pairs_compared, (double)g->pairs_compared / (double)n,
           (double)n * (n - 1) / 2.0, g->links, g->count, grouped, g->chains_split);
    fflush(stdout);
    pho_groups_free(g);
    return dt;
}

/* ---- the auto rule: hashes plus signatures (crop hashes, thumbnail, colours) ---- */

#define SIG_POOL 4096

/* Signatures: each of a pool of pictures, with crop hashes near the picture's hash. */
static struct pho_hash_sig *make_pool(void)
{
    struct pho_hash_sig *pool = calloc(SIG_POOL, sizeof(*pool));
    for (size_t p = 0; pool && p < SIG_POOL; p++) {
        for (int k = 0; k < PHO_HASH_CROPS; k++) {
            pool[p].crop_dhash[k] = rnd();
            pool[p].crop_phash[k] = rnd();
        }
        for (size_t i = 0; i < sizeof(pool[p].thumb); i++)
            pool[p].thumb[i] = (uint8_t)rnd();
        for (size_t i = 0; i < 64; i++)
            pool[p].colour[i] = (uint8_t)(rnd() % 8);
        pool[p].turned_dhash[0] = rnd();
        pool[p].turned_dhash[1] = rnd();
    }
    return pool;
}

/* Items of the auto rule from the classic ones: a burst's shots share a picture. */
static void to_auto(struct pho_group_item *it, size_t n, const struct pho_hash_sig *pool)
{
    for (size_t i = 0; i < n; i++) {
        it[i].dhash = it[i].hash;
        it[i].phash = flip(it[i].hash * 0x9e3779b97f4a7c15u, 3);
        /* Shots close in time (bursts) show one picture; the rest another each. */
        bool burst =
                i > 0 && it[i].has_time && it[i - 1].has_time && it[i].time - it[i - 1].time < 2.0;
        it[i].sig = burst ? it[i - 1].sig : &pool[rnd() % SIG_POOL];
        it[i].camera = (uint32_t)(1 + (it[i].hash & 3));
    }
}

static double run_auto(const char *label, const struct pho_group_item *it, size_t n,
                       unsigned threads)
{
    struct pho_group_opts o = PHO_GROUP_OPTS_INIT;
    o.rule = PHO_GROUP_RULE_AUTO;
    o.min_group_size = 2;
    o.threads = threads;
    struct pho_groups *g = NULL;
    struct pho_err err = PHO_ERR_INIT;
    double t0 = bench_now();
    if (pho_group_run(&g, it, n, &o, &err)) {
        fprintf(stderr, "bench-group: %s\n", err.msg);
        exit(1);
    }
    double dt = bench_now() - t0;
    printf("%-16s %8zu  %8.3f s  %14zu pairs verified (%7.2f/photo)  %9zu links  %7zu groups  "
           "%6zu photos grouped\n",
           label, n, dt, g->pairs_compared, (double)g->pairs_compared / (double)n, g->links,
           g->count, g->offsets[g->count]);
    fflush(stdout);
    pho_groups_free(g);
    return dt;
}

int main(int argc, char **argv)
{
    unsigned threads = 0;
    size_t max = 1000000;
    bool auto_only = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--max") && i + 1 < argc)
            max = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--auto-only"))
            auto_only = true;
    }
    printf("bench-group: threshold 5, min group size 2, %u threads\n",
           threads ? threads : pho_cpu_count());
    static const size_t sizes[] = { 10000, 100000, 1000000 };
    double on[3] = { 0 }, off[3] = { 0 }, wide[3] = { 0 }, same[3] = { 0 }, au[3] = { 0 },
           aus[3] = { 0 };
    struct pho_hash_sig *pool = make_pool();
    if (!pool)
        return 1;
    size_t last = 0;
    for (size_t s = 0; s < 3 && sizes[s] <= max; s++) {
        size_t n = sizes[s];
        struct pho_group_item *it = calloc(n, sizeof(*it));
        if (!it)
            return 1;
        generate(it, n, 42 + s);
        if (!auto_only) {
            on[s] = run("window 300 s", it, n, 5, 300.0, threads);
            off[s] = run("window off", it, n, 5, 0.0, threads);
            wide[s] = run("off, t 10", it, n, 10, 0.0, threads);
        }
        to_auto(it, n, pool);
        au[s] = run_auto("auto rule", it, n, threads);
        for (size_t i = 0; i < n; i++) {
            it[i].time = 1.6e9;
            it[i].has_time = true;
        }
        if (!auto_only)
            same[s] = run("one mtime, 300 s", it, n, 5, 300.0, threads);
        aus[s] = run_auto("auto, one time", it, n, threads);
        free(it);
        last = s;
    }
    for (size_t s = 1; s <= last; s++) {
        printf("scaling %zuk -> %zuk (x10 photos): ", sizes[s - 1] / 1000, sizes[s] / 1000);
        if (!auto_only)
            printf("window on x%.1f, window off x%.1f, off t 10 x%.1f, one mtime x%.1f, ",
                   on[s] / on[s - 1], off[s] / off[s - 1], wide[s] / wide[s - 1],
                   same[s] / same[s - 1]);
        printf("auto x%.1f, auto one time x%.1f (quadratic would be x100)\n", au[s] / au[s - 1],
               aus[s] / aus[s - 1]);
    }
    free(pool);
    return 0;
}
