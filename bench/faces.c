/* SPDX-License-Identifier: MIT */
/*
 * bench/faces: photos per second of face analysis on the CPU over the face
 * photos of the test set (portraits, identity, eyes, expression, group
 * photos), all cores, with the time split by stage: decode, detect,
 * landmarks (eyes), smile, embed. Usage: bench-faces [--backend NAME]
 * [--threads N] [--rounds N] [--models-dir DIR] [--size N] [FILE...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchlib.h"
#include "pho/face.h"
#include "pho/image.h"
#include "pho/parallel.h"
#include "pho/scan.h"

struct run {
    struct pho_face_engine *fe;
    const char **files;
    size_t nfiles;
    uint32_t size;
    double decode_s[256]; /* per worker, summed at the end */
    size_t faces, failures;
};

static void one(void *ud, size_t i, unsigned worker)
{
    struct run *r = ud;
    struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
    o.max_size = r->size;
    o.allow_larger = true;
    struct pho_image *img = NULL;
    struct pho_face_list fl = { 0 };
    double t0 = bench_now();
    int rc = pho_image_load(&img, r->files[i % r->nfiles], &o, NULL, NULL);
    double dt = bench_now() - t0;
    if (rc == 0)
        rc = pho_face_analyze(r->fe, img, &fl, NULL);
    __atomic_fetch_add(&r->faces, fl.count, __ATOMIC_RELAXED);
    if (rc)
        __atomic_fetch_add(&r->failures, 1, __ATOMIC_RELAXED);
    r->decode_s[worker % 256] += dt;
    pho_face_list_release(&fl);
    pho_image_free(img);
}

int main(int argc, char **argv)
{
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.backend = "mediapipe";
    unsigned threads = pho_cpu_count();
    size_t rounds = 3;
    uint32_t size = 1600;
    const char *files[512];
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts("usage: bench-faces [--backend NAME] [--threads N] [--rounds N] "
                 "[--models-dir DIR] [--size N] [FILE...]\n"
                 "photos/s of face analysis over FILEs (default: the face photos of "
                 "$PHO_TESTDATA), split by stage");
            return 0;
        }
        if (!strcmp(argv[i], "--backend") && i + 1 < argc)
            fo.backend = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--models-dir") && i + 1 < argc)
            fo.models_dir = argv[++i];
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            size = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (n < 512)
            files[n++] = argv[i];
    }
    struct pho_scan_list *list = NULL;
    if (n == 0) {
        const char *td = getenv("PHO_TESTDATA");
        char root[4096];
        snprintf(root, sizeof(root), "%s/faces", td ? td : "../shared/testdata");
        if (pho_scan_run(&list, root, NULL, NULL)) {
            fprintf(stderr, "bench-faces: cannot scan %s; set PHO_TESTDATA\n", root);
            return 1;
        }
        for (size_t i = 0; i < list->count && n < 512; i++)
            files[n++] = list->items[i].path;
    }
    struct pho_face_engine *fe = NULL;
    struct pho_err err = PHO_ERR_INIT;
    fo.threads = 1; /* photos in parallel, one ONNX Runtime thread each */
    if (pho_face_engine_open(&fe, &fo, &err)) {
        fprintf(stderr, "bench-faces: %s\n", err.msg);
        return 1;
    }
    static struct run warm, r;
    warm = (struct run){ .fe = fe, .files = files, .nfiles = n, .size = size };
    pho_parallel_for(n, threads, one, &warm); /* page cache, ORT first-run costs */
    struct pho_face_stats before;
    pho_face_engine_stats(fe, &before);
    r = (struct run){ .fe = fe, .files = files, .nfiles = n, .size = size };
    double t0 = bench_now();
    pho_parallel_for(n * rounds, threads, one, &r);
    double wall = bench_now() - t0;
    struct pho_face_stats after;
    pho_face_engine_stats(fe, &after);
    size_t photos = n * rounds;
    printf("bench-faces: %s backend on %s, %zu photos x %zu rounds, %u threads, decode at %u px\n",
           pho_face_engine_backend(fe), pho_face_engine_device(fe), n, rounds, threads, size);
    printf("  %.1f photos/s, %.1f faces per photo, %zu failed\n", photos / wall,
           (double)r.faces / photos, r.failures);
    double decode = 0;
    for (int i = 0; i < 256; i++)
        decode += r.decode_s[i];
    double stages[5] = { decode, after.detect - before.detect, after.landmarks - before.landmarks,
                         after.smile - before.smile, after.embed - before.embed };
    const char *names[5] = { "decode", "detect", "landmarks (eyes)", "smile", "embed" };
    double total = 0;
    for (int i = 0; i < 5; i++)
        total += stages[i];
    printf("  per photo (one core):\n");
    for (int i = 0; i < 5; i++)
        printf("    %-18s %7.1f ms  %5.1f%%\n", names[i], stages[i] / photos * 1000,
               total > 0 ? stages[i] / total * 100 : 0);
    pho_face_engine_close(fe);
    pho_scan_list_free(list);
    return 0;
}
