/* SPDX-License-Identifier: MIT */
/*
 * bench/gpu: end-to-end face throughput of the organizer's batched pipeline
 * (decode workers -> bounded queue -> batched detection + landmarks + smile +
 * embedding), on the CPU and on each CUDA GPU side by side in one run, with
 * where the time goes. The library is the 12-MP camera JPEGs of the test set
 * hard-linked --photos times under different names, organised with
 * --faces all --dry-run, so every photo is decoded and analysed and nothing is
 * written. GPUs are used when ONNX Runtime sees one; otherwise the reason is
 * printed in their column.
 * Usage: bench-gpu [--photos N] [--threads N] [--batch-size N] [--backend NAME]
 *                  [--models-dir DIR] [--gpu-device N] [--cpu-only]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"
#include "pho/image.h"
#include "pho/infer.h"
#include "pho/organize.h"
#include "pho/parallel.h"
#include "pho/scan.h"

struct bench_opts {
    size_t photos;
    unsigned threads, batch;
    const char *backend, *models_dir;
    int gpu_device;
    bool cpu_only;
};

struct measured {
    bool ok;
    char why[1024]; /* when !ok */
    char device[160], backend[32];
    size_t photos, faces, batches, batch;
    double total, faces_s, decode, wait, infer, detect, landmarks, smile, embed;
};

static void run_once(struct measured *m, const char *lib, const char *out,
                     const struct bench_opts *b, bool gpu)
{
    struct pho_organize_opts o = PHO_ORGANIZE_OPTS_INIT;
    o.source = lib;
    o.output = out;
    o.threads = b->threads;
    o.dry_run = true;
    o.faces = PHO_FACES_ALL;
    o.face_backend = b->backend;
    o.models_dir = b->models_dir;
    o.gpu = gpu;
    o.gpu_device = b->gpu_device;
    o.batch_size = b->batch;
    struct pho_organize_result r;
    struct pho_err err = PHO_ERR_INIT;
    memset(m, 0, sizeof(*m));
    double t0 = bench_now();
    int rc = pho_organize_run(&r, &o, &err);
    m->total = bench_now() - t0;
    if (rc) {
        snprintf(m->why, sizeof(m->why), "%s", err.msg);
        return;
    }
    if (!r.face_backend[0]) {
        snprintf(m->why, sizeof(m->why), "no face backend could run (see the warning above)");
        pho_organize_result_release(&r);
        return;
    }
    m->ok = true;
    snprintf(m->device, sizeof(m->device), "%s", r.face_device);
    snprintf(m->backend, sizeof(m->backend), "%s", r.face_backend);
    m->photos = r.faces_analysed;
    m->faces = r.face_stats.faces;
    m->batches = r.face_batches;
    m->batch = r.face_batch_size;
    m->faces_s = r.t_faces;
    m->decode = r.t_face_decode;
    m->wait = r.t_face_wait;
    m->infer = r.t_face_infer;
    m->detect = r.face_stats.detect;
    m->landmarks = r.face_stats.landmarks;
    m->smile = r.face_stats.smile;
    m->embed = r.face_stats.embed;
    pho_organize_result_release(&r);
}

static void row(const char *label, const struct measured *m, size_t n, const char *fmt,
                double (*get)(const struct measured *))
{
    printf("  %-34s", label);
    for (size_t i = 0; i < n; i++) {
        if (!m[i].ok) {
            printf(" %22s", "-");
            continue;
        }
        char cell[64];
        snprintf(cell, sizeof(cell), fmt, get(&m[i]));
        printf(" %22s", cell);
    }
    printf("\n");
}

static double g_rate(const struct measured *m)
{
    return m->faces_s > 0 ? m->photos / m->faces_s : 0;
}
static double g_total_rate(const struct measured *m)
{
    return m->total > 0 ? m->photos / m->total : 0;
}
static double g_faces(const struct measured *m)
{
    return m->photos ? (double)m->faces / m->photos : 0;
}
static double g_batch(const struct measured *m)
{
    return m->batches ? (double)m->photos / m->batches : 0;
}
/* Per photo, in ms of one worker's time (summed over workers, divided by photos). */
static double g_decode(const struct measured *m)
{
    return 1e3 * m->decode / (m->photos ? m->photos : 1);
}
static double g_wait(const struct measured *m)
{
    return 1e3 * m->wait / (m->photos ? m->photos : 1);
}
static double g_infer(const struct measured *m)
{
    return 1e3 * m->infer / (m->photos ? m->photos : 1);
}
static double g_detect(const struct measured *m)
{
    return 1e3 * m->detect / (m->photos ? m->photos : 1);
}
static double g_landmarks(const struct measured *m)
{
    return 1e3 * m->landmarks / (m->photos ? m->photos : 1);
}
static double g_smile(const struct measured *m)
{
    return 1e3 * m->smile / (m->photos ? m->photos : 1);
}
static double g_embed(const struct measured *m)
{
    return 1e3 * m->embed / (m->photos ? m->photos : 1);
}
/* Inference callback time not spent inside the model stages: crops, warps, NMS, decoding. */
static double g_post(const struct measured *m)
{
    double stages = m->detect + m->landmarks + m->smile + m->embed;
    return 1e3 * (m->infer > stages ? m->infer - stages : 0) / (m->photos ? m->photos : 1);
}

static void usage(void)
{
    puts("usage: bench-gpu [--photos N] [--threads N] [--batch-size N] [--backend NAME]\n"
         "                 [--models-dir DIR] [--gpu-device N] [--cpu-only]\n"
         "face throughput of the organizer's pipeline on the CPU and each CUDA GPU, over N\n"
         "hard-linked 12-MP JPEGs of $PHO_TESTDATA (default 2000)");
}

int main(int argc, char **argv)
{
    struct bench_opts b = { .photos = 2000, .backend = "auto", .gpu_device = -1 };
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 0;
        } else if (!strcmp(argv[i], "--photos") && i + 1 < argc) {
            b.photos = strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            b.threads = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--batch-size") && i + 1 < argc) {
            b.batch = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            b.backend = argv[++i];
        } else if (!strcmp(argv[i], "--models-dir") && i + 1 < argc) {
            b.models_dir = argv[++i];
        } else if (!strcmp(argv[i], "--gpu-device") && i + 1 < argc) {
            b.gpu_device = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--cpu-only")) {
            b.cpu_only = true;
        } else {
            usage();
            return 2;
        }
    }
    const char *td = getenv("PHO_TESTDATA");
    char root[4096];
    snprintf(root, sizeof(root), "%s", td ? td : "../shared/testdata");
    struct pho_scan_list *all = NULL;
    if (pho_scan_run(&all, root, NULL, NULL)) {
        fprintf(stderr, "bench-gpu: cannot scan %s (set PHO_TESTDATA)\n", root);
        return 1;
    }
    const char *big[64];
    size_t nbig = 0;
    for (size_t i = 0; i < all->count && nbig < 64; i++) {
        struct pho_meta m;
        if (pho_image_probe(&m, all->items[i].path, NULL, NULL) == 0 &&
            m.format == PHO_FORMAT_JPEG && (uint64_t)m.width * m.height >= 10000000)
            big[nbig++] = all->items[i].path;
    }
    if (nbig == 0) {
        fprintf(stderr, "bench-gpu: no 12-MP JPEGs under %s\n", root);
        return 1;
    }

    /* The devices to compare: the CPU, then the asked GPU or every GPU. */
    struct pho_device_info *devs = NULL;
    size_t ndev = 0;
    struct pho_err why_none = PHO_ERR_INIT, err = PHO_ERR_INIT;
    if (pho_infer_list_devices(&devs, &ndev, NULL, &why_none, &err)) {
        fprintf(stderr, "bench-gpu: %s\n", err.msg);
        return 1;
    }
    int gpus[16];
    size_t ngpu = 0;
    for (size_t i = 0; i < ndev && ngpu < 16 && !b.cpu_only; i++)
        if (!strcmp(devs[i].kind, "cuda") && (b.gpu_device < 0 || devs[i].index == b.gpu_device))
            gpus[ngpu++] = devs[i].index;

    const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char work[4200], lib[4300], out[4300];
    snprintf(work, sizeof(work), "%s/pho-bench-gpu-%d", tmpdir, (int)getpid());
    snprintf(lib, sizeof(lib), "%s/library", work);
    snprintf(out, sizeof(out), "%s/out", work);
    mkdir(work, 0755);
    if (bench_link_library(lib, big, nbig, b.photos)) {
        fprintf(stderr, "bench-gpu: cannot build the library in %s\n", work);
        return 1;
    }
    unsigned t = b.threads ? b.threads : pho_cpu_count();
    printf("bench-gpu: %zu photos hard-linked from %zu distinct 12-MP JPEGs, %u threads, "
           "--faces all --dry-run\n",
           b.photos, nbig, t);

    size_t ncol = 1 + (ngpu ? ngpu : 1);
    struct measured *m = calloc(ncol, sizeof(*m));
    char(*head)[64] = calloc(ncol, sizeof(*head));
    snprintf(head[0], sizeof(head[0]), "CPU");
    run_once(&m[0], lib, out, &b, false);
    if (ngpu == 0) {
        snprintf(head[1], sizeof(head[1]), "GPU");
        snprintf(m[1].why, sizeof(m[1].why), "%s",
                 b.cpu_only      ? "not asked for (--cpu-only)"
                 : why_none.code ? pho_err_reason(&why_none)
                                 : "ONNX Runtime sees no CUDA device");
    }
    for (size_t g = 0; g < ngpu; g++) {
        struct bench_opts bg = b;
        bg.gpu_device = gpus[g];
        snprintf(head[1 + g], sizeof(head[1 + g]), "CUDA:%d", gpus[g]);
        run_once(&m[1 + g], lib, out, &bg, true);
    }

    printf("\n  %-34s", "");
    for (size_t i = 0; i < ncol; i++)
        printf(" %22s", head[i]);
    printf("\n");
    for (size_t i = 0; i < ncol; i++)
        if (m[i].ok)
            printf("  %s: %s backend on %s\n", head[i], m[i].backend, m[i].device);
    row("face stage, photos/s", m, ncol, "%.1f", g_rate);
    row("whole run (with hashing), photos/s", m, ncol, "%.1f", g_total_rate);
    row("faces per photo", m, ncol, "%.2f", g_faces);
    row("photos per batch", m, ncol, "%.1f", g_batch);
    printf("  per photo, ms of worker time:\n");
    row("  decode (decode workers)", m, ncol, "%.1f", g_decode);
    row("  queue wait (inference workers)", m, ncol, "%.1f", g_wait);
    row("  inference callback", m, ncol, "%.1f", g_infer);
    row("    detect", m, ncol, "%.1f", g_detect);
    row("    landmarks / eyes", m, ncol, "%.1f", g_landmarks);
    row("    smile", m, ncol, "%.1f", g_smile);
    row("    embed", m, ncol, "%.1f", g_embed);
    row("    post-processing (rest)", m, ncol, "%.1f", g_post);
    for (size_t i = 0; i < ncol; i++)
        if (!m[i].ok)
            printf("  %s not measured: %s\n", head[i], m[i].why);

    bench_remove("bench-gpu", work);
    free(head);
    free(m);
    pho_free(devs);
    pho_scan_list_free(all);
    return 0;
}
