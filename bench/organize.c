/* SPDX-License-Identifier: MIT */
/*
 * bench/organize: end-to-end organizer throughput on a library of 12-MP
 * camera JPEGs, on all cores. The library (camlib.c) holds copies of the
 * large camera JPEGs of the test photos, each with its own capture time and
 * EXIF thumbnail, a share of them (--grouped, default 0.3) in bursts of
 * three: what a phone's camera roll looks like to the organizer.
 *   - hashing alone: full working-size decode + dHash, and from the thumbnail
 *   - scan + analyse + group + quality of the groups' members: a --dry-run
 *     with --faces none (the grouping stage of issue 13)
 *   - the same with output and report written (copies of every grouped photo)
 *   - a re-run that finds everything in the catalog
 * and, with --memory N, the peak memory of an N-photo dry run over small
 * photos.
 * Usage: bench-organize [--photos N] [--threads N] [--grouped SHARE] [--memory N]
 *                       [--library DIR (made there and kept)]
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

#include <vips/vips.h>

#include "benchlib.h"
#include "camlib.h"
#include "pho/hash.h"
#include "pho/image.h"
#include "pho/parallel.h"
#include "pho/scan.h"

struct hash_run {
    struct pho_scan_list *list;
    bool thumbnails;
    int failures, from_thumbnail;
};

static void hash_one(void *ud, size_t i, unsigned worker)
{
    struct hash_run *h = ud;
    (void)worker;
    struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
    o.max_size = 480;
    o.allow_larger = true;
    o.thumbnail_ok = h->thumbnails;
    struct pho_image *img = NULL;
    uint64_t hash;
    if (pho_image_load(&img, h->list->items[i].path, &o, NULL, NULL) || pho_hash_dhash(&hash, img))
        __atomic_fetch_add(&h->failures, 1, __ATOMIC_RELAXED);
    else if (img->from_thumbnail)
        __atomic_fetch_add(&h->from_thumbnail, 1, __ATOMIC_RELAXED);
    pho_image_free(img);
}

/* The write stage of the last run: seconds, and the bytes of the group files it made. */
static double last_write_s;
static uint64_t last_write_bytes;

static double organize_as(const char *src, const char *out, unsigned threads, bool dry,
                          enum pho_link_mode link, size_t *n, size_t *groups)
{
    struct pho_organize_opts o = PHO_ORGANIZE_OPTS_INIT;
    o.source = src;
    o.output = out;
    o.threads = threads;
    o.dry_run = dry;
    o.faces = PHO_FACES_NONE;
    o.link = link;
    struct pho_organize_result r;
    struct pho_err err = PHO_ERR_INIT;
    double t0 = bench_now();
    int rc = pho_organize_run(&r, &o, &err);
    double dt = bench_now() - t0;
    if (rc)
        fprintf(stderr, "bench-organize: %s\n", err.msg);
    *n = r.nphotos;
    *groups = r.ngroups;
    last_write_s = r.t_write;
    last_write_bytes = 0;
    for (size_t g = 0; g < r.ngroups; g++) {
        const struct pho_group_plan *gp = &r.groups[g];
        for (size_t f = 0; f < gp->nfiles; f++) {
            const struct pho_group_file *gf = &gp->files[f];
            uint64_t size = gf->photo != SIZE_MAX ? r.photos[gf->photo].size
                                                  : r.companions[gf->companion].size;
            last_write_bytes += size * (gp->members[gf->member] == gp->best ? 2 : 1);
        }
    }
    pho_organize_result_release(&r);
    return dt;
}

static double organize(const char *src, const char *out, unsigned threads, bool dry, size_t *n,
                       size_t *groups)
{
    return organize_as(src, out, threads, dry, PHO_LINK_COPY, n, groups);
}

int main(int argc, char **argv)
{
    size_t photos = 300, memory_n = 0;
    unsigned threads = 0;
    double grouped = 0.3;
    const char *keep = NULL; /* --library DIR: build the library there and keep it */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--photos") && i + 1 < argc)
            photos = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--library") && i + 1 < argc)
            keep = argv[++i];
        else if (!strcmp(argv[i], "--grouped") && i + 1 < argc)
            grouped = strtod(argv[++i], NULL);
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
    char lib[4300], out[4300];
    snprintf(lib, sizeof(lib), "%s", keep ? keep : "");
    if (!keep)
        snprintf(lib, sizeof(lib), "%s/library", work);
    snprintf(out, sizeof(out), "%s/out", work);
    size_t bursty = 0;
    if (VIPS_INIT(argv[0]) || bench_camera_library(lib, big, nbig, photos, grouped, &bursty)) {
        fprintf(stderr, "bench-organize: cannot build the library in %s\n", work);
        return 1;
    }
    printf("bench-organize: %zu photos made from %zu distinct 12-MP camera JPEGs (%zu in bursts of "
           "3), %u threads, --faces none\n",
           photos, nbig, bursty, t);
    size_t n, g;
    /* Warm the page cache so every pass reads from memory. */
    struct pho_scan_list *list = NULL;
    pho_scan_run(&list, lib, NULL, NULL);
    struct hash_run h = { list, false, 0, 0 };
    double t0 = bench_now();
    pho_parallel_for(list->count, t, hash_one, &h);
    double th = bench_now() - t0;
    printf("  %-44s %7.1f photos/s  (%zu in %.2f s)\n", "hashing, full decode (decode + dHash)",
           list->count / th, list->count, th);
    struct hash_run ht = { list, true, 0, 0 };
    t0 = bench_now();
    pho_parallel_for(list->count, t, hash_one, &ht);
    th = bench_now() - t0;
    printf("  %-44s %7.1f photos/s  (%zu in %.2f s, %d from the thumbnail)\n",
           "hashing, EXIF thumbnail where it may", list->count / th, list->count, th,
           ht.from_thumbnail);
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
    /* The write stage alone (the result's t_write), per --link mode, each into a fresh OUT. */
    static const enum pho_link_mode modes[] = { PHO_LINK_COPY, PHO_LINK_AUTO, PHO_LINK_HARDLINK,
                                                PHO_LINK_SYMLINK };
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        char dir[4400];
        snprintf(dir, sizeof(dir), "%s/out-%s", work, pho_link_mode_name(modes[m]));
        organize_as(lib, dir, t, false, modes[m], &n, &g);
        char label[64];
        snprintf(label, sizeof(label), "write stage, --link %s", pho_link_mode_name(modes[m]));
        printf("  %-44s %7.3f s      (%.0f MB of group files, %.0f MB/s)\n", label, last_write_s,
               last_write_bytes / 1e6,
               last_write_s > 0 ? last_write_bytes / 1e6 / last_write_s : 0);
        bench_remove("bench-organize", dir);
    }
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
