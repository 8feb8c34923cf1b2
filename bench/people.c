/* SPDX-License-Identifier: MIT */
/*
 * bench-people: clustering faces into persons (docs/people.md) at library
 * scale, on synthetic embeddings with the structure of a real library: many
 * people with power-law face counts (a few with thousands, most with a
 * handful), faces scattered around each person as the default model's are
 * (192-d unit vectors, same-person distances mostly under its 0.52), and 5 %
 * noise faces that belong to nobody. Prints, for each size, the time, the
 * peak memory of the process and pairwise precision and recall estimated on
 * sampled pairs.
 *
 *   build-rel/bench/bench-people [N ...]      (default: 10000 100000)
 *   build-rel/bench/bench-people 1000000
 */
#include "pho/people.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "benchlib.h"

#define DIM 192

/* xorshift64*: the same library for the same N on every machine. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}
static double uniform(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}
static double gauss(void)
{
    double u = uniform() + 1e-12, v = uniform();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static void unit(float *v)
{
    double s = 0;
    for (int i = 0; i < DIM; i++)
        s += (double)v[i] * v[i];
    float k = (float)(1 / sqrt(s));
    for (int i = 0; i < DIM; i++)
        v[i] *= k;
}

static int by_key(const void *a, const void *b, void *ud)
{
    const int64_t *key = ud;
    int64_t x = key[*(const size_t *)a], y = key[*(const size_t *)b];
    return (x > y) - (x < y);
}

static long peak_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

static void run(size_t n)
{
    rng_state = 0x9E3779B97F4A7C15ull ^ n;
    float *x = malloc(n * DIM * sizeof(float));
    int64_t *truth = malloc(n * sizeof(int64_t)), *out = malloc(n * sizeof(int64_t));
    struct pho_people_face *faces = calloc(n, sizeof(*faces));
    float centre[DIM];
    if (!x || !truth || !out || !faces) {
        printf("N=%zu: out of memory\n", n);
        return;
    }
    size_t i = 0, people = 0, noise = n / 20;
    while (i < n - noise) {
        /* Pareto face counts: most people a few faces, some thousands. */
        size_t size = (size_t)ceil(2.0 * pow(uniform() + 1e-9, -1 / 1.2));
        size = size > 2000 ? 2000 : size;
        double sigma = 0.035 + 0.02 * uniform(); /* how alike this person's faces are */
        for (int d = 0; d < DIM; d++)
            centre[d] = (float)gauss();
        unit(centre);
        people++;
        for (size_t k = 0; k < size && i < n - noise; k++, i++) {
            for (int d = 0; d < DIM; d++)
                x[i * DIM + d] = centre[d] + (float)(sigma * gauss());
            unit(x + i * DIM);
            truth[i] = (int64_t)people;
        }
    }
    for (; i < n; i++) { /* faces of passers-by: nobody's */
        for (int d = 0; d < DIM; d++)
            x[i * DIM + d] = (float)gauss();
        unit(x + i * DIM);
        truth[i] = 0;
    }
    /* Photos of about three faces, of different people (a person's faces are consecutive,
     * a photo's n/3 apart). */
    for (i = 0; i < n; i++) {
        faces[i].embed = x + i * DIM;
        faces[i].eligible = true;
        faces[i].photo = i % (n / 3 + 1);
    }
    struct pho_people_opts o = PHO_PEOPLE_OPTS_INIT;
    o.dim = DIM;
    o.metric = PHO_FACE_METRIC_COSINE;
    o.same = 0.52f;
    o.threads = 2;
    size_t created = 0;
    struct pho_err err = PHO_ERR_INIT;
    double t = bench_now();
    int rc = pho_people_cluster(out, &created, faces, n, &o, 1, &err);
    double dt = bench_now() - t;
    if (rc) {
        printf("N=%zu: %s\n", n, err.msg);
        return;
    }
    /* Pairwise precision on pairs the clustering joined, recall on pairs of one person:
     * 200,000 sampled of each (a random face and a random other face of its set). */
    size_t *by = malloc(n * sizeof(size_t)), *pos = malloc(n * sizeof(size_t));
    size_t *start = malloc(n * sizeof(size_t)), *end = malloc(n * sizeof(size_t));
    size_t tp_p = 0, np = 0, tp_r = 0, nr = 0, assigned = 0;
    for (i = 0; i < n; i++)
        assigned += out[i] > 0;
    for (int pass = 0; pass < 2 && by && pos && start && end; pass++) {
        const int64_t *key = pass == 0 ? out : truth;
        for (i = 0; i < n; i++)
            by[i] = i;
        qsort_r(by, n, sizeof(*by), by_key, (void *)key);
        for (size_t a = 0; a < n;) {
            size_t b = a;
            while (b < n && key[by[b]] == key[by[a]])
                b++;
            for (size_t c = a; c < b; c++) {
                pos[by[c]] = c;
                start[c] = a;
                end[c] = b;
            }
            a = b;
        }
        for (size_t s = 0; s < 200000; s++) {
            size_t a = rnd() % n, p = pos[a];
            if (key[a] <= 0 || end[p] - start[p] < 2)
                continue;
            size_t q = start[p] + rnd() % (end[p] - start[p] - 1);
            size_t b = by[q >= p ? q + 1 : q];
            if (pass == 0) {
                np++;
                tp_p += truth[a] > 0 && truth[a] == truth[b];
            } else {
                nr++;
                tp_r += out[a] > 0 && out[a] == out[b];
            }
        }
    }
    free(by);
    free(pos);
    free(start);
    free(end);
    printf("N=%-8zu %7zu people (%zu noise faces)  %8.1f s  peak %5ld MiB  %zu persons found, "
           "%.1f%% of faces in one  pairwise precision %.3f recall %.3f\n",
           n, people, noise, dt, peak_mib(), created, 100.0 * assigned / n,
           np ? (double)tp_p / np : 0, nr ? (double)tp_r / nr : 0);
    fflush(stdout);
    free(x);
    free(truth);
    free(out);
    free(faces);
}

int main(int argc, char **argv)
{
    printf("bench-people: synthetic libraries of 192-d face embeddings, 2 threads\n");
    if (argc < 2) {
        run(10000);
        run(100000);
    }
    for (int a = 1; a < argc; a++)
        run((size_t)strtoull(argv[a], NULL, 10));
    return 0;
}
