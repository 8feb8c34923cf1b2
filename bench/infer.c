/* SPDX-License-Identifier: MIT */
/*
 * bench/infer: latency of every installed model at batch 1 and batch 8, on
 * the CPU and (with --gpu, when a CUDA device is usable) on the GPU; prints a
 * table. Usage: bench-infer [--models-dir DIR] [--threads N] [--gpu]
 * [--gpu-device N] [--runs N]
 */
#include "pho/infer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchlib.h"
#include "pho/models.h"

/* Mean milliseconds per run (after two warm-up runs); -1 when the run failed. */
static double time_model(struct pho_model *m, const char *name, int64_t batch, int runs)
{
    struct pho_tensor in = { 0 };
    in.ndim = pho_model_input_shape(m, 0, in.shape);
    for (size_t d = 0; d < in.ndim; d++)
        if (in.shape[d] < 0)
            in.shape[d] = d == 0 ? batch : (strstr(name, "pnet") ? 240 : 640);
    if (in.shape[0] != batch && batch != 1)
        return -2; /* fixed batch */
    size_t n = pho_tensor_count(&in);
    in.data = calloc(n, sizeof(float));
    for (size_t i = 0; i < n; i++)
        in.data[i] = (float)(i % 255) / 255.0f;
    struct pho_tensor out[16];
    size_t nout = pho_model_output_count(m);
    double total = 0;
    for (int r = 0; r < runs + 2; r++) {
        memset(out, 0, sizeof(out));
        struct pho_err err = PHO_ERR_INIT;
        double t0 = bench_now();
        if (pho_model_run(m, &in, 1, out, nout, &err)) {
            fprintf(stderr, "bench-infer: %s: %s\n", name, err.msg);
            free(in.data);
            return -1;
        }
        if (r >= 2)
            total += bench_now() - t0;
        for (size_t o = 0; o < nout; o++)
            pho_tensor_release(&out[o]);
    }
    free(in.data);
    return total / runs * 1000;
}

static void table(struct pho_models *mf, const char *dir, const struct pho_infer_opts *o, int runs)
{
    struct pho_infer *inf = NULL;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_infer_open(&inf, o, &err)) {
        fprintf(stderr, "bench-infer: %s\n", err.msg);
        return;
    }
    printf("\n%s, %u intra-op thread(s)\n", pho_infer_device(inf), o->intra_threads);
    printf("  %-18s %12s %12s %14s\n", "model", "batch 1 ms", "batch 8 ms", "per item @8");
    for (size_t i = 0; i < mf->count; i++) {
        struct pho_model *m = NULL;
        if (pho_models_open(&m, inf, mf, mf->specs[i].name, dir, PHO_MODELS_CONTRACT_ONLY, &err))
            continue; /* not installed */
        double b1 = time_model(m, mf->specs[i].name, 1, runs);
        double b8 = time_model(m, mf->specs[i].name, 8, runs);
        if (b8 > 0)
            printf("  %-18s %12.2f %12.2f %14.2f\n", mf->specs[i].name, b1, b8, b8 / 8);
        else
            printf("  %-18s %12.2f %12s %14s\n", mf->specs[i].name, b1, "fixed", "-");
        pho_model_close(m);
    }
    pho_infer_close(inf);
}

int main(int argc, char **argv)
{
    struct pho_infer_opts o = PHO_INFER_OPTS_INIT;
    const char *dir = NULL;
    int runs = 20;
    bool gpu = false;
    o.intra_threads = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--models-dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            o.intra_threads = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--gpu"))
            gpu = true;
        else if (!strcmp(argv[i], "--gpu-device") && i + 1 < argc)
            o.gpu_device = atoi(argv[++i]);
    }
    struct pho_models *mf = NULL;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_models_load(&mf, NULL, &err)) {
        fprintf(stderr, "bench-infer: %s\n", err.msg);
        return 1;
    }
    printf("bench-infer: ONNX Runtime %s, %d timed runs per cell (2 warm-up)\n",
           pho_infer_ort_version(), runs);
    table(mf, dir, &o, runs);
    if (gpu) {
        o.gpu = true;
        table(mf, dir, &o, runs);
    }
    pho_models_free(mf);
    return 0;
}
