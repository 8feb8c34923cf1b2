/* SPDX-License-Identifier: MIT */
/*
 * bench-distributed [PHOTOS]: (PHOTOS 0: the queue only) the shared catalog's queue
 * (docs/scale-out.md) on a private PostgreSQL server started here (tests/lib/pgserver.sh, durable
 * settings). Prints
 *   - for 10,000 and 100,000 queued photos: queueing rate, claims per second with 4
 *     claimers in batches of 64 (claim, then each photo's record and "done" in one
 *     transaction, as workers do), and the queue's cost per photo with one client
 *     (queue + claim + record + done + the coordinator's lookup) against the SQLite
 *     path's (lookup + record + lookup, batched as a run does);
 *   - a distributed run of PHOTOS real photos (default 240, the test bursts hard-linked
 *     under distinct names) with 1, 2 and 4 workers of one thread each (the coordinator
 *     counts as one), against a single-machine run with the SQLite catalog.
 * Run from a release build: ninja -C build && build/bench/bench-distributed
 */
#include "core/common.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchlib.h"
#include "pho/catalog.h"
#include "pho/photo.h"

#define CLAIMERS 4
#define BATCH    64

static char tmp[256], conn[512];

static void die(const char *what, const struct pho_err *err)
{
    fprintf(stderr, "bench-distributed: %s: %s\n", what, err ? err->msg : strerror(errno));
    exit(1);
}

static void sh(const char *cmd)
{
    if (system(cmd) != 0) {
        fprintf(stderr, "bench-distributed: failed: %s\n", cmd);
        exit(1);
    }
}

static void db_for(char *out, size_t size, const char *name)
{
    char create[600];
    snprintf(create, sizeof(create), "psql '%s' -qc 'CREATE DATABASE %s'", conn, name);
    sh(create);
    const char *cut = strstr(conn, " dbname=");
    snprintf(out, size, "%.*s dbname=%s", (int)(cut ? cut - conn : (long)strlen(conn)), conn, name);
}

/* A realistic photo record, as a worker writes it. */
static void photo_for(struct pho_photo *p, char *rel, size_t size, size_t i)
{
    pho_photo_init(p);
    snprintf(rel, size, "2024/%02zu/IMG_%06zu.JPG", i % 12 + 1, i);
    p->rel = rel;
    p->size = 3000000 + i;
    p->mtime_ns = 1700000000000000000LL + (int64_t)i * 1000000000LL;
    p->analysed = true;
    p->meta.width = 4000;
    p->meta.height = 3000;
    p->meta.time.local = 1700000000 + (int64_t)i;
    pho_strlcpy(p->meta.make, "Canon", sizeof(p->meta.make));
    pho_strlcpy(p->meta.model, "EOS R6", sizeof(p->meta.model));
    p->dhash = 0x0123456789abcdefULL ^ i;
    p->phash = 0xfedcba9876543210ULL ^ i;
    p->quality.sharpness = 120.5;
    p->quality.score = 0.61;
}

static void claimer(const char *db, int k, bool records)
{
    struct pho_catalog *cat = NULL;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_catalog_open(&cat, db, &err) != 0)
        die("open", &err);
    char name[32], rel[64];
    snprintf(name, sizeof(name), "claimer%d", k);
    for (;;) {
        struct pho_job *jobs = NULL;
        size_t n = 0;
        if (pho_catalog_jobs_claim(cat, name, 60, BATCH, &jobs, &n, &err) != 0)
            die("claim", &err);
        if (n == 0)
            break;
        if (pho_catalog_begin(cat, &err) != 0)
            die("begin", &err);
        for (size_t i = 0; i < n; i++) {
            struct pho_photo p;
            photo_for(&p, rel, sizeof(rel), (size_t)jobs[i].mtime_ns);
            if ((records && pho_catalog_put(cat, &p, &err) != 0) ||
                pho_catalog_job_done(cat, jobs[i].id, &err) != 0)
                die("record", &err);
        }
        if (pho_catalog_commit(cat, &err) != 0)
            die("commit", &err);
        pho_catalog_jobs_free(jobs, n);
    }
    pho_catalog_close(cat);
}

static double enqueue(struct pho_catalog *cat, size_t n)
{
    struct pho_err err = PHO_ERR_INIT;
    char rel[64];
    double t0 = bench_now();
    for (size_t first = 0; first < n; first += 5000) {
        if (pho_catalog_begin(cat, &err) != 0)
            die("begin", &err);
        for (size_t i = first; i < n && i < first + 5000; i++) {
            struct pho_photo p;
            photo_for(&p, rel, sizeof(rel), i);
            /* mtime carries the photo's number to the claimer. */
            if (pho_catalog_job_add(cat, 1, "analyse", rel, p.size, (int64_t)i, &err) != 0)
                die("queue", &err);
        }
        if (pho_catalog_commit(cat, &err) != 0)
            die("commit", &err);
    }
    return bench_now() - t0;
}

static double lookups(struct pho_catalog *cat, size_t n)
{
    struct pho_err err = PHO_ERR_INIT;
    char rel[64];
    double t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        struct pho_photo p, q;
        photo_for(&p, rel, sizeof(rel), i);
        pho_photo_init(&q);
        q.rel = rel;
        q.size = p.size;
        q.mtime_ns = p.mtime_ns;
        bool found = false;
        if (pho_catalog_lookup(cat, &q, &found, &err) != 0)
            die("lookup", &err);
    }
    return bench_now() - t0;
}

/* @n jobs queued, then claimed by 4 processes; their records written too when @records. */
static double claims(size_t n, bool records, double *tq)
{
    char db[700], name[32];
    struct pho_err err = PHO_ERR_INIT;
    struct pho_catalog *cat = NULL;
    snprintf(name, sizeof(name), "q%zu%s", n, records ? "r" : "");
    db_for(db, sizeof(db), name);
    if (pho_catalog_open(&cat, db, &err) != 0)
        die("open", &err);
    *tq = enqueue(cat, n);
    double t0 = bench_now();
    pid_t pids[CLAIMERS];
    for (int k = 0; k < CLAIMERS; k++) {
        pids[k] = fork();
        if (pids[k] == 0) {
            claimer(db, k, records);
            _exit(0);
        }
    }
    for (int k = 0; k < CLAIMERS; k++) {
        int st = 0;
        waitpid(pids[k], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("a claimer failed", NULL);
    }
    double tc = bench_now() - t0;
    int64_t counts[PHO_JOB_STATES];
    if (pho_catalog_jobs_count(cat, 1, counts, &err) != 0 || counts[PHO_JOB_DONE] != (int64_t)n)
        die("not every job was done once", &err);
    pho_catalog_close(cat);
    return tc;
}

static void queue_bench(size_t n)
{
    char db[700], name[32];
    struct pho_err err = PHO_ERR_INIT;
    struct pho_catalog *cat = NULL;
    double tq = 0;
    double bare = claims(n, false, &tq);
    double tc = claims(n, true, &tq);
    printf("%7zu jobs: queued at %.0f/s; claimed and done at %.0f/s (%.2f s), with each "
           "photo's record at %.0f/s (%d claimers, batches of %d)\n",
           n, n / tq, n / bare, bare, n / tc, CLAIMERS, BATCH);

    /* One client: the whole path of a photo through the queue. */
    snprintf(name, sizeof(name), "one%zu", n);
    db_for(db, sizeof(db), name);
    if (pho_catalog_open(&cat, db, &err) != 0)
        die("open", &err);
    tq = enqueue(cat, n);
    double t0 = bench_now();
    claimer(db, 0, true);
    tc = bench_now() - t0;
    double tl = lookups(cat, n);
    pho_catalog_close(cat);
    double pg_us = (tq + tc + tl) / n * 1e6;

    /* The SQLite path: a miss, the record (chunks of 32 per transaction), a hit. */
    char path[300], rel[64];
    snprintf(path, sizeof(path), "%s/sqlite-%zu.db", tmp, n);
    if (pho_catalog_open(&cat, path, &err) != 0)
        die("open", &err);
    t0 = bench_now();
    lookups(cat, n);
    for (size_t first = 0; first < n; first += 32) {
        if (pho_catalog_begin(cat, &err) != 0)
            die("begin", &err);
        for (size_t i = first; i < n && i < first + 32; i++) {
            struct pho_photo p;
            photo_for(&p, rel, sizeof(rel), i);
            if (pho_catalog_put(cat, &p, &err) != 0)
                die("put", &err);
        }
        if (pho_catalog_commit(cat, &err) != 0)
            die("commit", &err);
    }
    lookups(cat, n);
    double lite_us = (bench_now() - t0) / n * 1e6;
    pho_catalog_close(cat);
    printf("         per photo, one client: queue path %.0f us (queue %.0f + claim/record/done "
           "%.0f + lookup %.0f), SQLite path %.0f us\n",
           pg_us, tq / n * 1e6, tc / n * 1e6, tl / n * 1e6, lite_us);
}

static double timed(const char *cmd)
{
    double t0 = bench_now();
    int rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) > 1) {
        fprintf(stderr, "bench-distributed: failed: %s\n", cmd);
        exit(1);
    }
    return bench_now() - t0;
}

static void run_bench(size_t nphotos)
{
    const char *td = getenv("PHO_TESTDATA");
    char bursts[4096];
    snprintf(bursts, sizeof(bursts), "%s/bursts", td ? td : PHO_SOURCE_ROOT "/../shared/testdata");
    DIR *d = opendir(bursts);
    if (!d)
        die(bursts, NULL);
    const char *files[64];
    size_t nfiles = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nfiles < 64) {
        size_t len = strlen(e->d_name);
        if (len > 4 && !strcasecmp(e->d_name + len - 4, ".jpg")) {
            char *p = malloc(strlen(bursts) + len + 2);
            sprintf(p, "%s/%s", bursts, e->d_name);
            files[nfiles++] = p;
        }
    }
    closedir(d);
    char lib[300];
    snprintf(lib, sizeof(lib), "%s/library", tmp);
    if (bench_link_library(lib, files, nfiles, nphotos) != 0)
        die("library", NULL);
    for (size_t i = 0; i < nfiles; i++)
        free((void *)files[i]);
    const char *bin = PHO_BUILD_ROOT "/photo-organizer";
    const char *models = PHO_SOURCE_ROOT "/.cache/models";
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "%s -s %s -o %s/single1 --threads 1 --models-dir %s -q 2>/dev/null",
             bin, lib, tmp, models);
    double t1 = timed(cmd);
    snprintf(cmd, sizeof(cmd), "%s -s %s -o %s/single2 --threads 2 --models-dir %s -q 2>/dev/null",
             bin, lib, tmp, models);
    double t2 = timed(cmd);
    printf("%zu photos, one machine (SQLite): %.1f photos/s with 1 thread, %.1f with 2\n", nphotos,
           nphotos / t1, nphotos / t2);
    static const int workers[] = { 1, 2, 4 };
    for (size_t w = 0; w < PHO_ARRAY_LEN(workers); w++) {
        char db[700], name[32];
        snprintf(name, sizeof(name), "run%d", workers[w]);
        db_for(db, sizeof(db), name);
        /* The coordinator is one worker; the others start first and wait for work. */
        snprintf(cmd, sizeof(cmd),
                 "set -e; pids=; for i in $(seq 2 %d); do %s worker --catalog '%s' --threads 1 "
                 "--models-dir %s -q & pids=\"$pids $!\"; done; "
                 "%s -s %s -o %s/dist%d --catalog '%s' --distributed --threads 1 "
                 "--models-dir %s -q 2>/dev/null || test $? = 1; "
                 "for p in $pids; do kill -TERM $p; wait $p || true; done",
                 workers[w], bin, db, models, bin, lib, tmp, workers[w], db, models);
        double t = timed(cmd);
        printf("%zu photos, distributed: %d worker%s of 1 thread: %.1f photos/s (%.1f s)\n",
               nphotos, workers[w], workers[w] == 1 ? "" : "s", nphotos / t, t);
    }
}

int main(int argc, char **argv)
{
    size_t nphotos = argc > 1 ? strtoul(argv[1], NULL, 10) : 240;
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof(tmp), "%s/bench-distributed-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(tmp))
        die("mkdtemp", NULL);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/lib/pgserver.sh' start '%s/pg' durable",
             PHO_SOURCE_ROOT, tmp);
    FILE *f = popen(cmd, "r");
    if (!f || !fgets(conn, sizeof(conn), f) || pclose(f) != 0)
        die("cannot start PostgreSQL", NULL);
    conn[strcspn(conn, "\n")] = '\0';
    printf("PostgreSQL on a Unix socket, durable (fsync on), %ld cores\n",
           sysconf(_SC_NPROCESSORS_ONLN));
    queue_bench(10000);
    queue_bench(100000);
    if (nphotos > 0)
        run_bench(nphotos);
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/lib/pgserver.sh' stop '%s/pg'", PHO_SOURCE_ROOT,
             tmp);
    sh(cmd);
    bench_remove("bench-distributed", tmp);
    return 0;
}
