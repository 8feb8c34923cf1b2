/* SPDX-License-Identifier: MIT */
/*
 * bench/organize: end-to-end organizer throughput on a library of 12-MP
 * camera JPEGs (the large JPEGs of the test photos, hard-linked many times
 * under different names), on all cores:
 *   - scan + analyse (decode, hashes, quality) + group: a --dry-run pass
 *   - the same with output and report written (copies of every grouped photo)
 *   - hashing alone (decode at the working size + dHash)
 * and, with --memory N, the peak memory of an N-photo dry run over small
 * photos. Usage: bench-organize [--photos N] [--threads N] [--memory N]
 */
#include "pho/organize.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"
#include "pho/hash.h"
#include "pho/image.h"
#include "pho/parallel.h"
#include "pho/scan.h"

struct hash_run {
    struct pho_scan_list *list;
    int failures;
};

static void hash_one(void *ud, size_t i, unsigned worker)
{
    struct hash_run *h = ud;
    (void)worker;
    struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
    o.max_size = 480;
    o.allow_larger = true;
    struct pho_image *img = NULL;
    uint64_t hash;
    if (pho_image_load(&img, h->list->items[i].path, &o, NULL, NULL) || pho_hash_dhash(&hash, img))
        __atomic_fetch_add(&h->failures, 1, __ATOMIC_RELAXED);
    pho_image_free(img);
}

static double organize(const char *src, const char *out, unsigned threads, bool dry, size_t *n,
                       size_t *groups)
{
    struct pho_organize_opts o = PHO_ORGANIZE_OPTS_INIT;
    o.source = src;
    o.output = out;
    o.threads = threads;
    o.dry_run = dry;
    struct pho_organize_result r;
    struct pho_err err = PHO_ERR_INIT;
    double t0 = bench_now();
    int rc = pho_organize_run(&r, &o, &err);
    double dt = bench_now() - t0;
    if (rc)
        fprintf(stderr, "bench-organize: %s\n", err.msg);
    *n = r.nphotos;
    *groups = r.ngroups;
    pho_organize_result_release(&r);
    return dt;
}

int main(int argc, char **argv)
{
    size_t photos = 300, memory_n = 0;
    unsigned threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--photos") && i + 1 < argc)
            photos = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--memory") && i + 1 < argc)
            memory_n = strtoul(argv[++i], NULL, 10);
    }
    const char *td = getenv("PHO_TESTDATA");
    char root[4096];
    snprintf(root, sizeof(root), "%s", td ? td : "../shared/testdata");
    const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char work[4200];
    snprintf(work, sizeof(work), "%s/pho-bench-organize-%d", tmpdir, (int)getpid());
    mkdir(work, 0755);

    /* The 12-MP camera JPEGs of the test set. */
    struct pho_scan_list *all = NULL;
    if (pho_scan_run(&all, root, NULL, NULL)) {
        fprintf(stderr, "bench-organize: cannot scan %s (set PHO_TESTDATA)\n", root);
        return 1;
    }
    const char *big[64], *small[64];
    size_t nbig = 0, nsmall = 0;
    for (size_t i = 0; i < all->count; i++) {
        struct pho_meta m;
        if (pho_image_probe(&m, all->items[i].path, NULL, NULL) || m.format != PHO_FORMAT_JPEG)
            continue;
        uint64_t px = (uint64_t)m.width * m.height;
        if (px >= 10000000 && nbig < 64)
            big[nbig++] = all->items[i].path;
        else if (px < 100000 && nsmall < 64 && strstr(all->items[i].path, "exif/cameras"))
            small[nsmall++] = all->items[i].path;
    }
    if (nbig == 0) {
        fprintf(stderr, "bench-organize: no 12-MP JPEGs under %s\n", root);
        return 1;
    }
    unsigned t = threads ? threads : pho_cpu_count();
    printf("bench-organize: %zu photos hard-linked from %zu distinct 12-MP JPEGs, %u threads\n",
           photos, nbig, t);

    char lib[4300], out[4300];
    snprintf(lib, sizeof(lib), "%s/library", work);
    snprintf(out, sizeof(out), "%s/out", work);
    if (bench_link_library(lib, big, nbig, photos)) {
        fprintf(stderr, "bench-organize: cannot build the library in %s\n", work);
        return 1;
    }
    size_t n, g;
    /* Warm the page cache so every pass reads from memory. */
    struct pho_scan_list *list = NULL;
    pho_scan_run(&list, lib, NULL, NULL);
    struct hash_run h = { list, 0 };
    double t0 = bench_now();
    pho_parallel_for(list->count, t, hash_one, &h);
    double th = bench_now() - t0;
    printf("  %-44s %7.1f photos/s  (%zu in %.2f s)\n", "hashing alone (decode + dHash)",
           list->count / th, list->count, th);
    double td_ = organize(lib, out, t, true, &n, &g);
    printf("  %-44s %7.1f photos/s  (%zu in %.2f s, %zu groups)\n",
           "scan + hash + group + quality (--dry-run)", n / td_, n, td_, g);
    bench_remove("bench-organize", out);
    double tf = organize(lib, out, t, false, &n, &g);
    printf("  %-44s %7.1f photos/s  (%zu in %.2f s, copies written)\n",
           "full run (output + report)", n / tf, n, tf);
    double tr = organize(lib, out, t, false, &n, &g);
    printf("  %-44s %7.1f photos/s  (%zu in %.2f s)\n", "re-run (catalog, nothing changed)", n / tr,
           n, tr);
    pho_scan_list_free(list);

    if (memory_n && nsmall) {
        char mlib[4300];
        snprintf(mlib, sizeof(mlib), "%s/memlib", work);
        bench_link_library(mlib, small, nsmall, memory_n);
        double tm = organize(mlib, out, t, true, &n, &g);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("  %-44s %7.1f photos/s  (%zu in %.2f s); peak memory %.0f MB\n",
               "memory run (small JPEGs, --dry-run)", n / tm, n, tm, ru.ru_maxrss / 1024.0);
    }
    pho_scan_list_free(all);
    bench_remove("bench-organize", work);
    return 0;
}
