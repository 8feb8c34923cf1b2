/* SPDX-License-Identifier: MIT */
/*
 * ONNX Runtime sessions: one per model, created once, run from any thread.
 * Inputs and outputs are bound by position and checked against the declared
 * shapes, because re-exported models rename them. ORT's own log is routed to
 * pho_log; every failure carries ORT's message.
 */
#include "core/common.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "infer/internal.h"

struct pho_infer {
    OrtEnv *env;
    OrtMemoryInfo *cpu_mem;
    const OrtEpDevice *gpu_dev; /* NULL: CPU */
    unsigned intra_threads;
    char device[160];
    char gpu_problem[PHO_ERR_MSG_MAX];
    pthread_mutex_t lock; /* guards gpu_problem updates from sessions */
};

struct io {
    char *name;
    size_t rank;
    int64_t shape[PHO_TENSOR_MAX_DIMS];
};

struct pho_model {
    struct pho_infer *inf;
    OrtSession *session;
    char *path;
    struct io *in, *out;
    size_t nin, nout;
    const char **in_names, **out_names;
    pthread_mutex_t stats_lock;
    struct pho_model_stats stats;
};

static pthread_once_t api_once = PTHREAD_ONCE_INIT;
static const OrtApi *api;

static void load_api(void)
{
    const OrtApiBase *base = OrtGetApiBase();
    api = base ? base->GetApi(ORT_API_VERSION) : NULL;
}

const OrtApi *pho_infer__api(void)
{
    pthread_once(&api_once, load_api);
    return api;
}

const char *pho_infer_ort_version(void)
{
    const OrtApiBase *base = OrtGetApiBase();
    return base ? base->GetVersionString() : "unknown";
}

int pho_infer__fail(OrtStatus *st, struct pho_err *err, int code, const char *what)
{
    const char *msg = st ? api->GetErrorMessage(st) : "unknown error";
    pho_err_set(err, code, "%s: %s", what, msg);
    if (st)
        api->ReleaseStatus(st);
    return code;
}

static void ort_log(void *param, OrtLoggingLevel severity, const char *category, const char *logid,
                    const char *code_location, const char *message)
{
    PHO_UNUSED(param);
    PHO_UNUSED(category);
    PHO_UNUSED(logid);
    PHO_UNUSED(code_location);
    /* ORT's warnings are about graph internals a user cannot act on: debug level. */
    enum pho_log_level lv = severity >= ORT_LOGGING_LEVEL_ERROR ? PHO_LOG_WARN : PHO_LOG_DEBUG;
    pho_log(lv, "onnxruntime", "%s", message);
}

/* A photo organizer records and sends nothing about its use. ONNX Runtime's
 * Linux builds start a telemetry system with the environment: it writes a
 * device id and an event database under ~/.cache/Microsoft/DeveloperTools/
 * and a debug log, mat-debug-<pid>.log, into $TMPDIR. Its documented switch,
 * ORT_DISABLE_TELEMETRY, is read when the environment is created, so it is
 * set first (the API's DisableTelemetryEvents alone comes too late for the
 * files); the API call follows for builds that only honour that. */
static void no_telemetry(void)
{
    setenv("ORT_DISABLE_TELEMETRY", "1", 1);
}

int pho_infer__env(OrtEnv **out, struct pho_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, no_telemetry);
    if (!pho_infer__api())
        return pho_err_set(err, PHO_EBACKEND,
                           "infer: the ONNX Runtime library (%s) is older than the headers "
                           "photo-organizer was built with (API %d); run tools/bootstrap.sh",
                           pho_infer_ort_version(), ORT_API_VERSION);
    OrtStatus *st = api->CreateEnvWithCustomLogger(ort_log, NULL, ORT_LOGGING_LEVEL_WARNING,
                                                   "photo-organizer", out);
    if (st)
        return pho_infer__fail(st, err, PHO_EBACKEND, "infer: cannot start ONNX Runtime");
    st = api->DisableTelemetryEvents(*out);
    if (st)
        api->ReleaseStatus(st);
    return 0;
}

char *pho_infer__cuda_provider_path(const char *dir)
{
    static const char lib[] = "libonnxruntime_providers_cuda.so";
    char buf[4096];
    if (dir) {
        snprintf(buf, sizeof(buf), "%s/%s", dir, lib);
        return pho_strdup(buf);
    }
    /* Beside the libonnxruntime that is actually loaded. */
    Dl_info info;
    if (dladdr((void *)OrtGetApiBase, &info) && info.dli_fname) {
        snprintf(buf, sizeof(buf), "%s", info.dli_fname);
        char *slash = strrchr(buf, '/');
        if (slash) {
            snprintf(slash + 1, sizeof(buf) - (size_t)(slash + 1 - buf), "%s", lib);
            return pho_strdup(buf);
        }
    }
    return pho_strdup(lib);
}

int pho_infer__cuda_devices(OrtEnv *env, const char *provider_dir, const OrtEpDevice ***devs,
                            size_t *n, char *why, size_t why_size)
{
    *devs = NULL;
    *n = 0;
    char nvml_why[160] = "";
    if (pho_infer__nvml_count(nvml_why, sizeof(nvml_why)) <= 0) {
        snprintf(why, why_size, "%s", nvml_why);
        return -1;
    }
    char *path = pho_infer__cuda_provider_path(provider_dir);
    if (!path) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(why, why_size,
                 "the CUDA execution provider is not installed (%s is missing); "
                 "run tools/bootstrap.sh --with-gpu",
                 path);
        pho_free(path);
        return -1;
    }
    OrtStatus *s = api->RegisterExecutionProviderLibrary(env, "cuda", path);
    pho_free(path);
    if (s) {
        snprintf(why, why_size, "the CUDA execution provider could not be loaded: %s",
                 api->GetErrorMessage(s));
        api->ReleaseStatus(s);
        return -1;
    }
    const OrtEpDevice *const *all = NULL;
    size_t count = 0;
    s = api->GetEpDevices(env, &all, &count);
    if (s) {
        snprintf(why, why_size, "ONNX Runtime could not list devices: %s", api->GetErrorMessage(s));
        api->ReleaseStatus(s);
        return -1;
    }
    const OrtEpDevice **gpus = pho_calloc(count ? count : 1, sizeof(*gpus));
    if (!gpus) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        const char *ep = api->EpDevice_EpName(all[i]);
        const OrtHardwareDevice *hw = api->EpDevice_Device(all[i]);
        if (ep && strstr(ep, "CUDA") && hw &&
            api->HardwareDevice_Type(hw) == OrtHardwareDeviceType_GPU)
            gpus[k++] = all[i];
    }
    if (k == 0) {
        snprintf(why, why_size,
                 "the CUDA execution provider loaded but offers no GPU (driver/CUDA runtime "
                 "mismatch? it needs CUDA 13 and cuDNN 9)");
        pho_free(gpus);
        return -1;
    }
    *devs = gpus;
    *n = k;
    return 0;
}

static void choose_gpu(struct pho_infer *inf, const struct pho_infer_opts *o)
{
    const OrtEpDevice **devs = NULL;
    size_t n = 0;
    char why[PHO_ERR_MSG_MAX] = "";
    if (pho_infer__cuda_devices(inf->env, o->provider_dir, &devs, &n, why, sizeof(why)) < 0) {
        snprintf(inf->gpu_problem, sizeof(inf->gpu_problem), "%s", why);
    } else if (o->gpu_device < 0 || (size_t)o->gpu_device >= n) {
        snprintf(inf->gpu_problem, sizeof(inf->gpu_problem),
                 "--gpu-device %d does not exist: ONNX Runtime sees %zu CUDA device%s (0..%zu)",
                 o->gpu_device, n, n == 1 ? "" : "s", n - 1);
    } else {
        inf->gpu_dev = devs[o->gpu_device];
        char name[128] = "";
        uint64_t mem = 0;
        if (!pho_infer__nvml_device(o->gpu_device, name, sizeof(name), &mem))
            snprintf(name, sizeof(name), "%s GPU",
                     api->HardwareDevice_Vendor(api->EpDevice_Device(inf->gpu_dev)));
        snprintf(inf->device, sizeof(inf->device), "CUDA:%d (%s)", o->gpu_device, name);
    }
    pho_free(devs);
    if (inf->gpu_problem[0])
        pho_log(PHO_LOG_WARN, "infer", "GPU requested but not used: %s; running on the CPU",
                inf->gpu_problem);
}

int pho_infer_open(struct pho_infer **out, const struct pho_infer_opts *opts, struct pho_err *err)
{
    static const struct pho_infer_opts defaults = PHO_INFER_OPTS_INIT;
    const struct pho_infer_opts *o = opts ? opts : &defaults;
    *out = NULL;
    struct pho_infer *inf = pho_calloc(1, sizeof(*inf));
    if (!inf)
        return pho_err_set(err, PHO_ENOMEM, "infer: out of memory");
    pthread_mutex_init(&inf->lock, NULL);
    inf->intra_threads = o->intra_threads;
    snprintf(inf->device, sizeof(inf->device), "CPU");
    int rc = pho_infer__env(&inf->env, err);
    if (rc)
        goto fail;
    OrtStatus *st = api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &inf->cpu_mem);
    if (st) {
        rc = pho_infer__fail(st, err, PHO_EBACKEND, "infer: cannot describe CPU memory");
        goto fail;
    }
    if (o->gpu)
        choose_gpu(inf, o);
    *out = inf;
    return 0;
fail:
    pho_infer_close(inf);
    return rc;
}

void pho_infer_close(struct pho_infer *inf)
{
    if (!inf)
        return;
    if (inf->cpu_mem)
        api->ReleaseMemoryInfo(inf->cpu_mem);
    if (inf->env)
        api->ReleaseEnv(inf->env);
    pthread_mutex_destroy(&inf->lock);
    pho_free(inf);
}

const char *pho_infer_device(const struct pho_infer *inf)
{
    return inf->device;
}

bool pho_infer_on_gpu(const struct pho_infer *inf)
{
    return inf->gpu_dev != NULL;
}

const char *pho_infer_gpu_problem(const struct pho_infer *inf)
{
    return inf->gpu_problem;
}

/* ---- tensors ---------------------------------------------------------------- */

size_t pho_tensor_count(const struct pho_tensor *t)
{
    size_t n = 1;
    for (size_t i = 0; i < t->ndim; i++)
        n *= t->shape[i] > 0 ? (size_t)t->shape[i] : 0;
    return t->ndim ? n : 0;
}

void pho_tensor_release(struct pho_tensor *t)
{
    if (!t)
        return;
    if (t->owned)
        pho_free(t->data);
    memset(t, 0, sizeof(*t));
}

/* ---- models ------------------------------------------------------------------- */

static int read_io(struct pho_model *m, bool input, size_t i, struct pho_err *err)
{
    OrtAllocator *alloc = NULL;
    OrtTypeInfo *ti = NULL;
    char *name = NULL;
    struct io *io = input ? &m->in[i] : &m->out[i];
    OrtStatus *st = api->GetAllocatorWithDefaultOptions(&alloc);
    if (!st)
        st = input ? api->SessionGetInputName(m->session, i, alloc, &name)
                   : api->SessionGetOutputName(m->session, i, alloc, &name);
    if (!st)
        st = input ? api->SessionGetInputTypeInfo(m->session, i, &ti)
                   : api->SessionGetOutputTypeInfo(m->session, i, &ti);
    if (st)
        return pho_infer__fail(st, err, PHO_EMODEL,
                               "infer: cannot read the model's inputs/outputs");
    io->name = pho_strdup(name);
    OrtStatus *fst = api->AllocatorFree(alloc, name);
    if (fst)
        api->ReleaseStatus(fst);
    int rc = io->name ? 0 : pho_err_set(err, PHO_ENOMEM, "infer: out of memory");
    const OrtTensorTypeAndShapeInfo *tsi = NULL;
    ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    size_t rank = 0;
    if (rc == 0 && (st = api->CastTypeInfoToTensorInfo(ti, &tsi)) == NULL && tsi &&
        (st = api->GetTensorElementType(tsi, &type)) == NULL &&
        (st = api->GetDimensionsCount(tsi, &rank)) == NULL) {
        if (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
            rc = pho_err_set(err, PHO_EMODEL, "infer: %s %zu (%s) is not float32",
                             input ? "input" : "output", i, io->name);
        else if (rank > PHO_TENSOR_MAX_DIMS)
            rc = pho_err_set(err, PHO_EMODEL, "infer: %s %zu has rank %zu",
                             input ? "input" : "output", i, rank);
        else if ((st = api->GetDimensions(tsi, io->shape, rank)) == NULL)
            io->rank = rank;
    } else if (rc == 0 && !st) {
        rc = pho_err_set(err, PHO_EMODEL, "infer: %s %zu is not a tensor",
                         input ? "input" : "output", i);
    }
    if (st && rc == 0)
        rc = pho_infer__fail(st, err, PHO_EMODEL, "infer: cannot read a tensor shape");
    for (size_t d = 0; d < io->rank; d++)
        if (io->shape[d] <= 0)
            io->shape[d] = -1; /* symbolic or unknown: dynamic */
    api->ReleaseTypeInfo(ti);
    return rc;
}

static OrtStatus *make_options(struct pho_infer *inf, OrtSessionOptions **so, bool gpu)
{
    OrtStatus *st = api->CreateSessionOptions(so);
    if (!st && inf->intra_threads)
        st = api->SetIntraOpNumThreads(*so, (int)inf->intra_threads);
    if (!st)
        st = api->SetSessionGraphOptimizationLevel(*so, ORT_ENABLE_ALL);
    /*
     * cuDNN's default exhaustive search benchmarks every convolution algorithm
     * for each new input shape; MTCNN's image pyramid and the tiled detectors
     * bring a new shape with nearly every photo, so the heuristic choice is
     * faster over a whole run.
     */
    static const char *const keys[] = { "cudnn_conv_algo_search" };
    static const char *const values[] = { "HEURISTIC" };
    if (!st && gpu)
        st = api->SessionOptionsAppendExecutionProvider_V2(*so, inf->env, &inf->gpu_dev, 1, keys,
                                                           values, 1);
    return st;
}

int pho_model_open(struct pho_model **out, struct pho_infer *inf, const char *path,
                   struct pho_err *err)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) < 0)
        return pho_err_set(err, PHO_ENOTFOUND, "infer: model %s: %s", path, strerror(errno));
    struct pho_model *m = pho_calloc(1, sizeof(*m));
    if (!m)
        return pho_err_set(err, PHO_ENOMEM, "infer: out of memory");
    pthread_mutex_init(&m->stats_lock, NULL);
    m->inf = inf;
    m->path = pho_strdup(path);
    int rc = 0;
    OrtSessionOptions *so = NULL;
    bool gpu = inf->gpu_dev != NULL;
    OrtStatus *st = make_options(inf, &so, gpu);
    if (!st)
        st = api->CreateSession(inf->env, path, so, &m->session);
    if (st && gpu) {
        /* The GPU could not take this model: say so once, keep going on the CPU. */
        pthread_mutex_lock(&inf->lock);
        snprintf(inf->gpu_problem, sizeof(inf->gpu_problem), "%s", api->GetErrorMessage(st));
        pthread_mutex_unlock(&inf->lock);
        pho_log(PHO_LOG_WARN, "infer", "CUDA could not load %s (%s); this model runs on the CPU",
                path, api->GetErrorMessage(st));
        api->ReleaseStatus(st);
        api->ReleaseSessionOptions(so);
        so = NULL;
        st = make_options(inf, &so, false);
        if (!st)
            st = api->CreateSession(inf->env, path, so, &m->session);
    }
    if (so)
        api->ReleaseSessionOptions(so);
    if (st) {
        char what[4200];
        snprintf(what, sizeof(what), "infer: cannot load model %s", path);
        rc = pho_infer__fail(st, err, PHO_EMODEL, what);
        goto fail;
    }
    if ((st = api->SessionGetInputCount(m->session, &m->nin)) ||
        (st = api->SessionGetOutputCount(m->session, &m->nout))) {
        rc = pho_infer__fail(st, err, PHO_EMODEL, "infer: cannot count the model's inputs");
        goto fail;
    }
    m->in = pho_calloc(m->nin ? m->nin : 1, sizeof(*m->in));
    m->out = pho_calloc(m->nout ? m->nout : 1, sizeof(*m->out));
    m->in_names = pho_calloc(m->nin ? m->nin : 1, sizeof(*m->in_names));
    m->out_names = pho_calloc(m->nout ? m->nout : 1, sizeof(*m->out_names));
    if (!m->in || !m->out || !m->in_names || !m->out_names) {
        rc = pho_err_set(err, PHO_ENOMEM, "infer: out of memory");
        goto fail;
    }
    for (size_t i = 0; rc == 0 && i < m->nin; i++)
        if ((rc = read_io(m, true, i, err)) == 0)
            m->in_names[i] = m->in[i].name;
    for (size_t i = 0; rc == 0 && i < m->nout; i++)
        if ((rc = read_io(m, false, i, err)) == 0)
            m->out_names[i] = m->out[i].name;
    if (rc)
        goto fail;
    *out = m;
    return 0;
fail:
    pho_model_close(m);
    return rc;
}

void pho_model_close(struct pho_model *m)
{
    if (!m)
        return;
    if (m->session)
        api->ReleaseSession(m->session);
    for (size_t i = 0; m->in && i < m->nin; i++)
        pho_free(m->in[i].name);
    for (size_t i = 0; m->out && i < m->nout; i++)
        pho_free(m->out[i].name);
    pho_free(m->in);
    pho_free(m->out);
    pho_free(m->in_names);
    pho_free(m->out_names);
    pho_free(m->path);
    pthread_mutex_destroy(&m->stats_lock);
    pho_free(m);
}

size_t pho_model_input_count(const struct pho_model *m)
{
    return m->nin;
}

size_t pho_model_output_count(const struct pho_model *m)
{
    return m->nout;
}

static size_t copy_shape(const struct io *io, size_t n, size_t i, int64_t *shape)
{
    if (i >= n)
        return 0;
    memcpy(shape, io[i].shape, sizeof(io[i].shape));
    return io[i].rank;
}

size_t pho_model_input_shape(const struct pho_model *m, size_t index,
                             int64_t shape[PHO_TENSOR_MAX_DIMS])
{
    return copy_shape(m->in, m->nin, index, shape);
}

size_t pho_model_output_shape(const struct pho_model *m, size_t index,
                              int64_t shape[PHO_TENSOR_MAX_DIMS])
{
    return copy_shape(m->out, m->nout, index, shape);
}

const char *pho_model_input_name(const struct pho_model *m, size_t index)
{
    return index < m->nin ? m->in[index].name : NULL;
}

const char *pho_model_output_name(const struct pho_model *m, size_t index)
{
    return index < m->nout ? m->out[index].name : NULL;
}

static void shape_text(char *buf, size_t size, const int64_t *shape, size_t rank)
{
    size_t n = (size_t)snprintf(buf, size, "[");
    for (size_t d = 0; d < rank && n < size; d++) {
        if (shape[d] < 0)
            n += (size_t)snprintf(buf + n, size - n, "%s?", d ? "," : "");
        else
            n += (size_t)snprintf(buf + n, size - n, "%s%lld", d ? "," : "", (long long)shape[d]);
    }
    if (n < size)
        snprintf(buf + n, size - n, "]");
}

static bool shape_fits(const int64_t *want, size_t want_rank, const int64_t *got, size_t got_rank)
{
    if (want_rank != got_rank)
        return false;
    for (size_t d = 0; d < want_rank; d++)
        if (want[d] >= 0 && got[d] >= 0 && want[d] != got[d])
            return false;
    return true;
}

int pho_model_check(const struct pho_model *m, const struct pho_model_contract *c,
                    struct pho_err *err)
{
    char a[96], b[96];
    if (m->nin != c->ninputs || m->nout != c->noutputs)
        return pho_err_set(err, PHO_EMODEL,
                           "infer: %s has %zu inputs and %zu outputs, expected %zu and %zu",
                           m->path, m->nin, m->nout, c->ninputs, c->noutputs);
    for (size_t i = 0; i < m->nin; i++) {
        if (!shape_fits(c->in_shape[i], c->in_rank[i], m->in[i].shape, m->in[i].rank)) {
            shape_text(a, sizeof(a), m->in[i].shape, m->in[i].rank);
            shape_text(b, sizeof(b), c->in_shape[i], c->in_rank[i]);
            return pho_err_set(err, PHO_EMODEL, "infer: %s input %zu is %s, expected %s", m->path,
                               i, a, b);
        }
    }
    for (size_t i = 0; i < m->nout; i++) {
        if (!shape_fits(c->out_shape[i], c->out_rank[i], m->out[i].shape, m->out[i].rank)) {
            shape_text(a, sizeof(a), m->out[i].shape, m->out[i].rank);
            shape_text(b, sizeof(b), c->out_shape[i], c->out_rank[i]);
            return pho_err_set(err, PHO_EMODEL, "infer: %s output %zu is %s, expected %s", m->path,
                               i, a, b);
        }
    }
    return 0;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int pho_model_run(struct pho_model *m, const struct pho_tensor *in, size_t nin,
                  struct pho_tensor *out, size_t nout, struct pho_err *err)
{
    OrtValue *vin[4] = { 0 };
    OrtValue *vout[16] = { 0 };
    int rc = 0;
    char a[96], b[96];
    if (nin != m->nin || nin > 4 || nout > m->nout || nout > 16)
        return pho_err_set(err, PHO_EINVAL,
                           "infer: %s takes %zu inputs and has %zu outputs (given %zu, asked %zu)",
                           m->path, m->nin, m->nout, nin, nout);
    for (size_t i = 0; i < nin; i++) {
        if (!in[i].data || !shape_fits(m->in[i].shape, m->in[i].rank, in[i].shape, in[i].ndim)) {
            shape_text(a, sizeof(a), in[i].shape, in[i].ndim);
            shape_text(b, sizeof(b), m->in[i].shape, m->in[i].rank);
            rc = pho_err_set(err, PHO_EINVAL, "infer: %s input %zu is %s, the model expects %s",
                             m->path, i, a, b);
            goto out;
        }
        OrtStatus *st = api->CreateTensorWithDataAsOrtValue(
                m->inf->cpu_mem, in[i].data, pho_tensor_count(&in[i]) * sizeof(float), in[i].shape,
                in[i].ndim, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &vin[i]);
        if (st) {
            rc = pho_infer__fail(st, err, PHO_EINFER, "infer: cannot wrap an input tensor");
            goto out;
        }
    }
    double t0 = mono();
    OrtStatus *st = api->Run(m->session, NULL, m->in_names, (const OrtValue *const *)vin, nin,
                             m->out_names, nout, vout);
    double dt = mono() - t0;
    if (st) {
        char what[4200];
        snprintf(what, sizeof(what), "infer: %s failed", m->path);
        rc = pho_infer__fail(st, err, PHO_EINFER, what);
        goto out;
    }
    for (size_t i = 0; i < nout && rc == 0; i++) {
        OrtTensorTypeAndShapeInfo *info = NULL;
        float *data = NULL;
        size_t rank = 0;
        memset(&out[i], 0, sizeof(out[i]));
        if ((st = api->GetTensorTypeAndShape(vout[i], &info)) ||
            (st = api->GetDimensionsCount(info, &rank)) || rank > PHO_TENSOR_MAX_DIMS ||
            (st = api->GetDimensions(info, out[i].shape, rank)) ||
            (st = api->GetTensorMutableData(vout[i], (void **)&data))) {
            rc = st ? pho_infer__fail(st, err, PHO_EINFER, "infer: cannot read an output")
                    : pho_err_set(err, PHO_EINFER, "infer: output %zu has rank %zu", i, rank);
        } else {
            out[i].ndim = rank;
            size_t count = pho_tensor_count(&out[i]);
            out[i].data = pho_malloc(count * sizeof(float) + 1);
            out[i].owned = true;
            if (!out[i].data)
                rc = pho_err_set(err, PHO_ENOMEM, "infer: out of memory");
            else if (count)
                memcpy(out[i].data, data, count * sizeof(float));
        }
        if (info)
            api->ReleaseTensorTypeAndShapeInfo(info);
    }
    if (rc == 0) {
        pthread_mutex_lock(&m->stats_lock);
        m->stats.runs++;
        m->stats.items += in[0].ndim ? (uint64_t)PHO_MAX(in[0].shape[0], 1) : 1;
        m->stats.seconds += dt;
        pthread_mutex_unlock(&m->stats_lock);
    } else {
        for (size_t i = 0; i < nout; i++)
            pho_tensor_release(&out[i]);
    }
out:
    for (size_t i = 0; i < 4; i++)
        if (vin[i])
            api->ReleaseValue(vin[i]);
    for (size_t i = 0; i < 16; i++)
        if (vout[i])
            api->ReleaseValue(vout[i]);
    return rc;
}

void pho_model_stats(const struct pho_model *m, struct pho_model_stats *out)
{
    pthread_mutex_lock((pthread_mutex_t *)&m->stats_lock);
    *out = m->stats;
    pthread_mutex_unlock((pthread_mutex_t *)&m->stats_lock);
}
