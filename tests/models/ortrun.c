/* SPDX-License-Identifier: MIT */
/*
 * ortrun: runs one ONNX model with ONNX Runtime's C API on raw float32 inputs
 * and writes every output as raw float32.  Test fixture for tests/models/.
 *
 *   ortrun [-t THREADS] [-O LEVEL] [-r REPS] MODEL OUTDIR FILE:D0,D1,... [FILE:DIMS ...]
 *
 * The inputs are given in the model's input order.  Output i is written to
 * OUTDIR/out<i>.f32 and announced on stdout as
 *   output <i> <name> <d0>,<d1>,...
 * LEVEL: 0 disables graph optimizations, 1 basic, 2 extended, 3 all (default).
 * With -r REPS > 0 the model is run REPS more times and the mean is printed.
 * Exit status: 0 on success, 1 on any error (the message says which).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <onnxruntime_c_api.h>

#define MAX_IO   16
#define MAX_DIMS 8

static const OrtApi *ort;

struct input {
    const char *path;
    int64_t dims[MAX_DIMS];
    size_t ndims;
    size_t count;
    float *data;
};

static int check(OrtStatus *st, const char *what)
{
    if (st == NULL)
        return 0;
    fprintf(stderr, "ortrun: %s: %s\n", what, ort->GetErrorMessage(st));
    ort->ReleaseStatus(st);
    return -1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Parses "FILE:D0,D1,..." and reads the file, which must hold exactly the
 * product of the dims in float32 values. */
static int load_input(char *spec, struct input *in)
{
    char *colon = strrchr(spec, ':');
    if (colon == NULL) {
        fprintf(stderr, "ortrun: input '%s' lacks ':DIMS'\n", spec);
        return -1;
    }
    *colon = '\0';
    in->path = spec;
    in->ndims = 0;
    in->count = 1;
    char *p = colon + 1;
    while (*p != '\0') {
        char *end = NULL;
        errno = 0;
        long long d = strtoll(p, &end, 10);
        if (errno != 0 || end == p || d <= 0 || d > (1LL << 31) || in->ndims == MAX_DIMS) {
            fprintf(stderr, "ortrun: bad dims for input '%s'\n", spec);
            return -1;
        }
        in->dims[in->ndims++] = d;
        in->count *= (size_t)d;
        p = (*end == ',') ? end + 1 : end;
        if (*end != ',' && *end != '\0') {
            fprintf(stderr, "ortrun: bad dims for input '%s'\n", spec);
            return -1;
        }
    }
    FILE *f = fopen(in->path, "rb");
    if (f == NULL) {
        fprintf(stderr, "ortrun: cannot open %s: %s\n", in->path, strerror(errno));
        return -1;
    }
    in->data = malloc(in->count * sizeof(float));
    size_t got = in->data ? fread(in->data, sizeof(float), in->count, f) : 0;
    int extra = fgetc(f);
    fclose(f);
    if (in->data == NULL || got != in->count || extra != EOF) {
        fprintf(stderr, "ortrun: %s does not hold exactly %zu float32 values\n", in->path,
                in->count);
        return -1;
    }
    return 0;
}

static int write_output(const char *dir, size_t idx, const char *name, OrtValue *v)
{
    OrtTensorTypeAndShapeInfo *info = NULL;
    size_t ndims = 0, count = 0;
    int64_t dims[MAX_DIMS];
    float *data = NULL;
    ONNXTensorElementDataType type;
    int rc = -1;

    if (check(ort->GetTensorTypeAndShape(v, &info), "output shape"))
        return -1;
    if (check(ort->GetTensorElementType(info, &type), "output type") ||
        check(ort->GetDimensionsCount(info, &ndims), "output rank") || ndims > MAX_DIMS ||
        check(ort->GetDimensions(info, dims, ndims), "output dims") ||
        check(ort->GetTensorShapeElementCount(info, &count), "output size"))
        goto out;
    if (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
        fprintf(stderr, "ortrun: output %s is not float32\n", name);
        goto out;
    }
    if (check(ort->GetTensorMutableData(v, (void **)&data), "output data"))
        goto out;
    char path[4096];
    snprintf(path, sizeof path, "%s/out%zu.f32", dir, idx);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, sizeof(float), count, f) != count) {
        fprintf(stderr, "ortrun: cannot write %s\n", path);
        if (f != NULL)
            fclose(f);
        goto out;
    }
    if (fclose(f) != 0)
        goto out;
    printf("output %zu %s ", idx, name);
    for (size_t i = 0; i < ndims; i++)
        printf("%s%lld", i ? "," : "", (long long)dims[i]);
    printf("\n");
    rc = 0;
out:
    ort->ReleaseTensorTypeAndShapeInfo(info);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: ortrun [-t THREADS] [-O 0-3] [-r REPS] MODEL OUTDIR "
                    "FILE:D0,D1,... [FILE:DIMS ...]\n");
}

int main(int argc, char **argv)
{
    long threads = 1, level = 3, reps = 0;
    int argi = 1;
    while (argi + 1 < argc && argv[argi][0] == '-') {
        long *dst = NULL, hi = 0;
        if (strcmp(argv[argi], "-t") == 0) {
            dst = &threads;
            hi = 64;
        } else if (strcmp(argv[argi], "-O") == 0) {
            dst = &level;
            hi = 3;
        } else if (strcmp(argv[argi], "-r") == 0) {
            dst = &reps;
            hi = 100000;
        }
        if (dst == NULL || parse_long(argv[argi + 1], 0, hi, dst) != 0) {
            usage();
            return 1;
        }
        argi += 2;
    }
    if (argc - argi < 3 || argc - argi - 2 > MAX_IO) {
        usage();
        return 1;
    }
    const char *model = argv[argi];
    const char *outdir = argv[argi + 1];
    size_t nin = (size_t)(argc - argi - 2);
    struct input inputs[MAX_IO];
    memset(inputs, 0, sizeof inputs);
    for (size_t i = 0; i < nin; i++)
        if (load_input(argv[argi + 2 + (int)i], &inputs[i]) != 0)
            return 1;

    ort = OrtGetApiBase()->GetApi(ORT_API_VERSION);
    if (ort == NULL) {
        fprintf(stderr, "ortrun: ONNX Runtime does not offer API version %d\n", ORT_API_VERSION);
        return 1;
    }
    static const GraphOptimizationLevel levels[] = { ORT_DISABLE_ALL, ORT_ENABLE_BASIC,
                                                     ORT_ENABLE_EXTENDED, ORT_ENABLE_ALL };
    OrtEnv *env = NULL;
    OrtSessionOptions *opts = NULL;
    OrtSession *session = NULL;
    OrtAllocator *alloc = NULL;
    OrtMemoryInfo *mem = NULL;
    OrtValue *in_vals[MAX_IO] = { NULL };
    OrtValue *out_vals[MAX_IO] = { NULL };
    char *in_names[MAX_IO] = { NULL };
    char *out_names[MAX_IO] = { NULL };
    size_t n_model_in = 0, nout = 0;
    int rc = 1;

    if (check(ort->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "ortrun", &env), "create env") ||
        check(ort->CreateSessionOptions(&opts), "session options") ||
        check(ort->SetIntraOpNumThreads(opts, (int)threads), "threads") ||
        check(ort->SetInterOpNumThreads(opts, 1), "threads") ||
        check(ort->SetSessionGraphOptimizationLevel(opts, levels[level]), "opt level") ||
        check(ort->CreateSession(env, model, opts, &session), model) ||
        check(ort->GetAllocatorWithDefaultOptions(&alloc), "allocator") ||
        check(ort->SessionGetInputCount(session, &n_model_in), "input count") ||
        check(ort->SessionGetOutputCount(session, &nout), "output count"))
        goto out;
    if (n_model_in != nin || nout > MAX_IO) {
        fprintf(stderr, "ortrun: model has %zu inputs and %zu outputs; %zu inputs given\n",
                n_model_in, nout, nin);
        goto out;
    }
    if (check(ort->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &mem), "meminfo"))
        goto out;
    for (size_t i = 0; i < nin; i++) {
        if (check(ort->SessionGetInputName(session, i, alloc, &in_names[i]), "input name") ||
            check(ort->CreateTensorWithDataAsOrtValue(
                          mem, inputs[i].data, inputs[i].count * sizeof(float), inputs[i].dims,
                          inputs[i].ndims, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &in_vals[i]),
                  "input tensor"))
            goto out;
    }
    for (size_t i = 0; i < nout; i++)
        if (check(ort->SessionGetOutputName(session, i, alloc, &out_names[i]), "output name"))
            goto out;

    if (check(ort->Run(session, NULL, (const char *const *)in_names,
                       (const OrtValue *const *)in_vals, nin, (const char *const *)out_names, nout,
                       out_vals),
              "run"))
        goto out;
    for (size_t i = 0; i < nout; i++)
        if (write_output(outdir, i, out_names[i], out_vals[i]) != 0)
            goto out;

    if (reps > 0) {
        double total = 0.0;
        for (long r = 0; r < reps; r++) {
            for (size_t i = 0; i < nout; i++) {
                ort->ReleaseValue(out_vals[i]);
                out_vals[i] = NULL;
            }
            double t0 = now_ms();
            if (check(ort->Run(session, NULL, (const char *const *)in_names,
                               (const OrtValue *const *)in_vals, nin,
                               (const char *const *)out_names, nout, out_vals),
                      "run"))
                goto out;
            total += now_ms() - t0;
        }
        printf("timing mean_ms %.4f reps %ld threads %ld\n", total / (double)reps, reps, threads);
    }
    rc = 0;
out:
    for (size_t i = 0; i < MAX_IO; i++) {
        if (out_vals[i] != NULL)
            ort->ReleaseValue(out_vals[i]);
        if (in_vals[i] != NULL)
            ort->ReleaseValue(in_vals[i]);
        if (alloc != NULL && in_names[i] != NULL)
            alloc->Free(alloc, in_names[i]);
        if (alloc != NULL && out_names[i] != NULL)
            alloc->Free(alloc, out_names[i]);
        free(inputs[i].data);
    }
    if (mem != NULL)
        ort->ReleaseMemoryInfo(mem);
    if (session != NULL)
        ort->ReleaseSession(session);
    if (opts != NULL)
        ort->ReleaseSessionOptions(opts);
    if (env != NULL)
        ort->ReleaseEnv(env);
    return rc;
}
