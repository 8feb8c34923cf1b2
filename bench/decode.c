/* SPDX-License-Identifier: MIT */
/*
 * bench/decode: photos per second for metadata + shrink-on-load decode of
 * 12-MP camera JPEGs, at the small size hashing needs and at 1600 px, on all
 * cores. Usage: bench-decode [--threads N] [--rounds N] [FILE...]
 * (default files: the >= 10 MP JPEGs of the test photos).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchlib.h"
#include "pho/image.h"
#include "pho/parallel.h"
#include "pho/scan.h"

struct run {
    const char **files;
    size_t nfiles;
    uint32_t size;
    bool allow_larger;
    int failures;
};

static void one(void *ud, size_t i, unsigned worker)
{
    struct run *r = ud;
    (void)worker;
    struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
    o.max_size = r->size;
    o.allow_larger = r->allow_larger;
    struct pho_image *img = NULL;
    struct pho_meta m;
    if (pho_image_load(&img, r->files[i % r->nfiles], &o, &m, NULL))
        __atomic_fetch_add(&r->failures, 1, __ATOMIC_RELAXED);
    pho_image_free(img);
}

int main(int argc, char **argv)
{
    unsigned threads = pho_cpu_count();
    size_t rounds = 40;
    const char *files[4096];
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = strtoul(argv[++i], NULL, 10);
        else if (n < 4096)
            files[n++] = argv[i];
    }
    struct pho_scan_list *list = NULL;
    if (n == 0) {
        const char *td = getenv("PHO_TESTDATA");
        char root[4096];
        snprintf(root, sizeof(root), "%s", td ? td : "../shared/testdata");
        if (pho_scan_run(&list, root, NULL, NULL)) {
            fprintf(stderr, "bench-decode: cannot scan %s; pass files or set PHO_TESTDATA\n", root);
            return 1;
        }
        for (size_t i = 0; i < list->count && n < 4096; i++) {
            struct pho_meta m;
            if (list->items[i].format_hint == PHO_FORMAT_JPEG &&
                pho_image_probe(&m, list->items[i].path, NULL, NULL) == 0 &&
                m.format == PHO_FORMAT_JPEG && (uint64_t)m.width * m.height >= 10000000)
                files[n++] = list->items[i].path;
        }
    }
    if (n == 0) {
        fprintf(stderr, "bench-decode: no 12-MP JPEGs found\n");
        return 1;
    }
    printf("bench-decode: %zu distinct 12-MP JPEGs x %zu rounds, %u threads\n", n, rounds, threads);
    /* Hashing reduces to 9x8 itself, so it takes the 1/8-scale decode as it comes. */
    uint32_t sizes[] = { 256, 1600 };
    bool larger[] = { true, false };
    const char *names[] = { "hashing size (DCT 1/8, >= 256 px)", "1600 px" };
    /* Warm the page cache so both sizes read from memory. */
    struct run warm = { files, n, 64, true, 0 };
    pho_parallel_for(n, threads, one, &warm);
    for (int s = 0; s < 2; s++) {
        struct run r = { files, n, sizes[s], larger[s], 0 };
        size_t total = n * rounds;
        double t0 = bench_now();
        pho_parallel_for(total, threads, one, &r);
        double dt = bench_now() - t0;
        printf("  %-32s %7.1f photos/s  (%zu decodes in %.2f s, %d failed)\n", names[s], total / dt,
               total, dt, r.failures);
    }
    pho_scan_list_free(list);
    return 0;
}
