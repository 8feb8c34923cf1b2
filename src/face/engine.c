/* SPDX-License-Identifier: MIT */
/*
 * The face engine: the ordered registry of backends, selection ("auto" or a
 * named backend, never a silent fallback), the shared ONNX Runtime and model
 * manifest, per-stage counters, and what every backend gets for free (face
 * sharpness, list handling, embedding distances).
 */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "face/backend.h"
#include "face/stages.h"
#include "face/util.h"

/* Array order = the order `backends` lists them; auto picks from its own lists below. */
static const struct pho_face_backend *const backends[] = {
    &pho_face_backend_mediapipe,   &pho_face_backend_face_recognition, &pho_face_backend_facenet,
    &pho_face_backend_insightface, &pho_face_backend_yolov8,
};

/* The "auto" order on one kind of device: each backend's rank in its own
 * table entry (cpu_rank / gpu_rank, DESIGN section 3), lowest first; 0 never. */
static size_t auto_order(const struct pho_face_backend *order[PHO_ARRAY_LEN(backends)], bool gpu)
{
    size_t n = 0;
    for (unsigned rank = 1; rank <= PHO_ARRAY_LEN(backends); rank++)
        for (size_t i = 0; i < PHO_ARRAY_LEN(backends); i++)
            if ((gpu ? backends[i]->p.gpu_rank : backends[i]->p.cpu_rank) == rank)
                order[n++] = backends[i];
    return n;
}

struct pho_face_engine {
    const struct pho_face_backend *be;
    void *priv;
    struct face_eyestate *eyes; /* NULL when the eye_state model is not installed */
    struct face_ctx ctx;
    struct pho_models *models;
    char models_dir[4096];
};

double pho_face__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void pho_face__stat_add(struct face_ctx *ctx, enum face_stage stage, double seconds)
{
    pthread_mutex_lock(&ctx->stats_lock);
    switch (stage) {
    case FACE_STAGE_DETECT:
        ctx->stats.detect += seconds;
        break;
    case FACE_STAGE_LANDMARKS:
        ctx->stats.landmarks += seconds;
        break;
    case FACE_STAGE_SMILE:
        ctx->stats.smile += seconds;
        break;
    case FACE_STAGE_EMBED:
        ctx->stats.embed += seconds;
        break;
    }
    pthread_mutex_unlock(&ctx->stats_lock);
}

int pho_face__probe_models(const struct face_ctx *ctx, const char *const *names,
                           struct pho_err *err)
{
    for (size_t i = 0; names[i]; i++) {
        const struct pho_model_spec *s = pho_models_find(ctx->models, names[i]);
        char path[4200];
        struct pho_err e = PHO_ERR_INIT;
        if (!s)
            return pho_err_set(err, PHO_EBACKEND, "face: model '%s' is not in the manifest",
                               names[i]);
        int rc = pho_models_locate(path, sizeof(path), s, ctx->models_dir, &e);
        if (rc == 0 && ctx->opts.trust == 0)
            rc = pho_models_verify(s, path, &e);
        if (rc)
            return pho_err_wrap(err, PHO_EBACKEND, &e);
    }
    return 0;
}

int pho_face__open_model(struct pho_model **out, struct face_ctx *ctx, const char *name,
                         struct pho_err *err)
{
    return pho_models_open(out, ctx->inf, ctx->models, name, ctx->models_dir,
                           ctx->opts.trust ? PHO_MODELS_CONTRACT_ONLY : PHO_MODELS_VERIFY, err);
}

struct pho_face *pho_face__list_add(struct pho_face_list *list)
{
    /* Capacity is implicit: 8, then doubling, so growth happens at 0, 8, 16, 32 ... */
    size_t n = list->count;
    if (n == 0 || (n >= 8 && (n & (n - 1)) == 0)) {
        void *p = pho_reallocarray(list->faces, n ? n * 2 : 8, sizeof(*list->faces));
        if (!p)
            return NULL;
        list->faces = p;
    }
    struct pho_face *f = &list->faces[list->count++];
    memset(f, 0, sizeof(*f));
    f->ear_l = f->ear_r = f->smile = f->sharpness = f->yaw = NAN;
    f->eyes_closed = f->winking = -1;
    return f;
}

int pho_face__dense_alloc(struct pho_face_list *list, size_t per_face)
{
    pho_face__dense_drop(list);
    if (list->count == 0)
        return 0;
    list->dense = pho_reallocarray(NULL, list->count * per_face, sizeof(*list->dense));
    if (!list->dense)
        return PHO_ENOMEM;
    for (size_t i = 0; i < list->count * per_face; i++)
        list->dense[i][0] = list->dense[i][1] = NAN;
    list->dense_per_face = per_face;
    return 0;
}

void pho_face__dense_drop(struct pho_face_list *list)
{
    pho_free(list->dense);
    list->dense = NULL;
    list->dense_per_face = 0;
}

const char *pho_face_eyes_word(const struct pho_face *f)
{
    if (f->eyes_closed < 0)
        return "unknown";
    if (f->winking == 1)
        return "wink";
    return f->eyes_closed ? "closed" : "open";
}

float pho_face_box_iou(const float a[4], const float b[4])
{
    float x0 = PHO_MAX(a[0], b[0]), y0 = PHO_MAX(a[1], b[1]);
    float x1 = PHO_MIN(a[2], b[2]), y1 = PHO_MIN(a[3], b[3]);
    float inter = PHO_MAX(0.f, x1 - x0) * PHO_MAX(0.f, y1 - y0);
    float uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return uni > 0 ? inter / uni : 0.f;
}

void pho_face_list_release(struct pho_face_list *list)
{
    if (!list)
        return;
    pho_free(list->faces);
    pho_free(list->dense);
    memset(list, 0, sizeof(*list));
}

const struct pho_face_backend_info *pho_face_backend_iterate(void **opaque)
{
    size_t i = (size_t)(uintptr_t)*opaque;
    if (i >= PHO_ARRAY_LEN(backends))
        return NULL;
    *opaque = (void *)(uintptr_t)(i + 1);
    return &backends[i]->p;
}

static const struct pho_face_backend *find(const char *name)
{
    for (size_t i = 0; i < PHO_ARRAY_LEN(backends); i++)
        if (!strcmp(backends[i]->p.name, name))
            return backends[i];
    return NULL;
}

static int unknown_backend(const char *name, struct pho_err *err)
{
    char names[160] = "auto";
    for (size_t i = 0; i < PHO_ARRAY_LEN(backends); i++) {
        size_t len = strlen(names);
        snprintf(names + len, sizeof(names) - len, "%s%s",
                 i + 1 == PHO_ARRAY_LEN(backends) ? " or " : ", ", backends[i]->p.name);
    }
    return pho_err_set(err, PHO_EINVAL, "face: unknown backend '%s' (choose %s)", name, names);
}

/* The context without ONNX Runtime: enough for probes. */
static int ctx_init(struct pho_face_engine *fe, const struct pho_face_opts *o, struct pho_err *err)
{
    fe->ctx.opts = *o;
    pthread_mutex_init(&fe->ctx.stats_lock, NULL);
    int rc = pho_models_load(&fe->models, NULL, err);
    if (rc)
        return rc;
    fe->ctx.models = fe->models;
    if (o->models_dir) {
        pho_strlcpy(fe->models_dir, o->models_dir, sizeof(fe->models_dir));
        fe->ctx.models_dir = fe->models_dir;
    }
    /* The caller's strings may not outlive the engine: keep only our copies. */
    fe->ctx.opts.models_dir = fe->ctx.models_dir;
    fe->ctx.opts.backend = NULL;
    return 0;
}

static void ctx_release(struct pho_face_engine *fe)
{
    pho_infer_close(fe->ctx.inf);
    pho_models_free(fe->models);
    pthread_mutex_destroy(&fe->ctx.stats_lock);
}

int pho_face_backend_probe(const char *name, const struct pho_face_opts *opts, struct pho_err *err)
{
    static const struct pho_face_opts defaults = PHO_FACE_OPTS_INIT;
    const struct pho_face_backend *be = find(name);
    if (!be)
        return unknown_backend(name, err);
    struct pho_face_engine fe = { 0 };
    int rc = ctx_init(&fe, opts ? opts : &defaults, err);
    if (rc == 0)
        rc = be->probe(&fe.ctx, err);
    ctx_release(&fe);
    return rc;
}

static int try_open(struct pho_face_engine *fe, const struct pho_face_backend *be,
                    struct pho_err *err)
{
    int rc = be->probe(&fe->ctx, err);
    if (rc)
        return rc;
    fe->priv = pho_calloc(1, be->priv_size ? be->priv_size : 1);
    if (!fe->priv)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    rc = be->open(fe->priv, &fe->ctx, err);
    if (rc) {
        be->close(fe->priv);
        pho_free(fe->priv);
        fe->priv = NULL;
        return rc;
    }
    fe->be = be;
    return 0;
}

/*
 * The eye-state classifier for backends that find eyelids, when its model is
 * installed: without it the eyelid ratio alone judges (and misses most real
 * closed eyes, docs/faces.md), so its absence is said once.
 */
static void open_eyes(struct pho_face_engine *fe)
{
    static const char *const names[] = { "eye_state", NULL };
    struct pho_err why = PHO_ERR_INIT;
    if (!(fe->be->p.caps & PHO_FACE_CAP_EYES))
        return;
    if (pho_face__probe_models(&fe->ctx, names, &why) == 0 &&
        pho_face__eyestate_open(&fe->eyes, &fe->ctx, &why) == 0)
        return;
    pho_log(PHO_LOG_WARN, "face",
            "closed eyes are judged by the eyelid ratio alone, which misses many: %s (run "
            "'photo-organizer models install')",
            pho_err_reason(&why));
}

int pho_face_engine_open(struct pho_face_engine **out, const struct pho_face_opts *opts,
                         struct pho_err *err)
{
    static const struct pho_face_opts defaults = PHO_FACE_OPTS_INIT;
    const struct pho_face_opts *o = opts ? opts : &defaults;
    const char *name = o->backend && o->backend[0] ? o->backend : "auto";
    *out = NULL;
    if (strcmp(name, "auto") && !find(name))
        return unknown_backend(name, err);
    struct pho_face_engine *fe = pho_calloc(1, sizeof(*fe));
    if (!fe)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    int rc = ctx_init(fe, o, err);
    struct pho_infer_opts io = PHO_INFER_OPTS_INIT;
    io.intra_threads = o->threads ? o->threads : 1;
    io.gpu = o->gpu;
    io.gpu_device = o->gpu_device;
    if (rc == 0)
        rc = pho_infer_open(&fe->ctx.inf, &io, err);
    if (rc)
        goto fail;
    if (strcmp(name, "auto")) {
        struct pho_err why = PHO_ERR_INIT;
        rc = try_open(fe, find(name), &why);
        if (rc) {
            rc = pho_err_set(err, PHO_EBACKEND, "face: the %s backend cannot run: %s", name,
                             pho_err_reason(&why));
            goto fail;
        }
    } else {
        const struct pho_face_backend *order[PHO_ARRAY_LEN(backends)];
        size_t n = auto_order(order, o->gpu);
        struct pho_err first = PHO_ERR_INIT;
        const char *first_name = NULL;
        for (size_t i = 0; i < n && !fe->be; i++) {
            struct pho_err why = PHO_ERR_INIT;
            if (try_open(fe, order[i], &why) == 0)
                break;
            pho_log(PHO_LOG_INFO, "face", "auto: %s skipped: %s", order[i]->p.name, why.msg);
            if (!first_name) {
                first = why;
                first_name = order[i]->p.name;
            }
        }
        if (!fe->be) {
            /* The first backend's reason says what to install; the rest were logged.
             * A missing or damaged model (PHO_EMODEL) says itself how to get it. */
            rc = pho_err_set(err, PHO_EBACKEND, "face: no face backend can run (%s: %s)%s",
                             first_name, pho_err_reason(&first),
                             first.cause == PHO_EMODEL ? ""
                                                       : "; run 'photo-organizer models install'");
            goto fail;
        }
        pho_log(PHO_LOG_INFO, "face", "auto: using the %s backend on %s", fe->be->p.name,
                pho_infer_device(fe->ctx.inf));
    }
    open_eyes(fe);
    *out = fe;
    return 0;
fail:
    ctx_release(fe);
    pho_free(fe);
    return rc;
}

void pho_face_engine_close(struct pho_face_engine *fe)
{
    if (!fe)
        return;
    pho_face__eyestate_close(fe->eyes);
    if (fe->be)
        fe->be->close(fe->priv);
    pho_free(fe->priv);
    ctx_release(fe);
    pho_free(fe);
}

const char *pho_face_engine_backend(const struct pho_face_engine *fe)
{
    return fe->be->p.name;
}

unsigned pho_face_engine_caps(const struct pho_face_engine *fe)
{
    return fe->be->p.caps;
}

static const char *cap_words(unsigned caps)
{
    if (caps & PHO_FACE_CAP_ENCODE)
        return "compute identity embeddings";
    if (caps & PHO_FACE_CAP_SMILE)
        return "score smiles";
    if (caps & PHO_FACE_CAP_EYES)
        return "judge eyes";
    return "do that";
}

static struct face_tail tail_of(const struct pho_face_engine *fe)
{
    struct face_tail t = { 0 };
    if (fe->be->tail)
        fe->be->tail(fe->priv, &t);
    return t;
}

/* The backend's identity embedder, or NULL when it has none or does not encode. */
static const struct face_embedder *embedder_of(const struct pho_face_engine *fe)
{
    return tail_of(fe).embed;
}

/*
 * The stages every backend shares, over all @n photos at once so that crops batch:
 * smile, eye state, identity embedding, then the dense points go unless asked for.
 */
static int run_tail(struct pho_face_engine *fe, const struct pho_image *const *imgs, size_t n,
                    struct pho_face_list *outs, struct pho_err *err)
{
    struct face_tail t = tail_of(fe);
    int rc = 0;
    bool any = t.smile || t.embed || fe->eyes;
    struct face_job *jobs = any ? pho_calloc(n, sizeof(*jobs)) : NULL;
    if (any && !jobs)
        rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    for (size_t i = 0; jobs && i < n; i++)
        jobs[i] = (struct face_job){ imgs[i], &outs[i], 0, NULL };
    /* Smile first: the eye judgement reads it (a broad smile narrows the eyes). */
    if (rc == 0 && t.smile)
        rc = pho_face__smile_run_jobs(t.smile, jobs, n, err);
    if (rc == 0 && fe->eyes)
        rc = pho_face__eyestate_run_jobs(fe->eyes, jobs, n, err);
    if (rc == 0 && t.embed)
        rc = pho_face__embed_run_jobs(t.embed, jobs, n, err);
    for (size_t i = 0; i < n; i++)
        if (!fe->ctx.opts.dense || outs[i].count == 0)
            pho_face__dense_drop(&outs[i]);
    pho_free(jobs);
    return rc;
}

int pho_face_engine_require(const struct pho_face_engine *fe, unsigned caps, const char *purpose,
                            struct pho_err *err)
{
    unsigned have = fe->be->p.caps;
    if (!embedder_of(fe))
        have &= ~(unsigned)PHO_FACE_CAP_ENCODE;
    if ((have & caps) == caps)
        return 0;
    /* Name the backends that could, installed ones first. */
    char can[160] = "";
    size_t at = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < PHO_ARRAY_LEN(backends); i++) {
            const struct pho_face_backend *b = backends[i];
            if ((b->p.caps & caps) != caps || b == fe->be)
                continue;
            struct pho_err why = PHO_ERR_INIT;
            bool ok = pho_face_backend_probe(b->p.name, &fe->ctx.opts, &why) == 0;
            if (ok != (pass == 0))
                continue;
            int w = snprintf(can + at, sizeof(can) - at, "%s%s%s", at ? ", " : "", b->p.name,
                             ok ? "" : " (not installed)");
            if (w > 0 && (size_t)w < sizeof(can) - at)
                at += (size_t)w;
        }
    return pho_err_set(err, PHO_EBACKEND,
                       "face: the %s backend cannot %s, which %s needs; choose another with "
                       "--face-backend: %s",
                       fe->be->p.name, cap_words(caps & ~have), purpose, can);
}

const char *pho_face_engine_device(const struct pho_face_engine *fe)
{
    return pho_infer_device(fe->ctx.inf);
}

const char *pho_face_engine_eye_model(const struct pho_face_engine *fe)
{
    /* The judge's version follows the model's name: faces a catalog holds from an
     * older judge are analysed again (eye_state/3: three views per eye, the lowered-lid
     * and wink checks; +attention: judged by the attention mesh's eyelids). */
    if (!fe->eyes)
        return "";
    return fe->ctx.lids_attention ? "eye_state/3+attention" : "eye_state/3";
}

const char *pho_face_engine_embed_model(const struct pho_face_engine *fe)
{
    const struct face_embedder *e = embedder_of(fe);
    return e ? pho_face__embed_id(e) : "";
}

enum pho_face_metric pho_face_engine_metric(const struct pho_face_engine *fe)
{
    const struct face_embedder *e = embedder_of(fe);
    return e ? pho_face__embed_metric(e) : PHO_FACE_METRIC_NONE;
}

float pho_face_engine_same_person(const struct pho_face_engine *fe)
{
    const struct face_embedder *e = embedder_of(fe);
    return e ? pho_face__embed_same_person(e) : NAN;
}

/* What every backend's output gets from the engine: sharpness, counters. */
static void finish_list(struct pho_face_engine *fe, const struct pho_image *img,
                        struct pho_face_list *out)
{
    for (size_t i = 0; i < out->count; i++)
        pho_face__fill_sharpness(&out->faces[i], img);
    pthread_mutex_lock(&fe->ctx.stats_lock);
    fe->ctx.stats.images++;
    fe->ctx.stats.faces += out->count;
    pthread_mutex_unlock(&fe->ctx.stats_lock);
}

int pho_face_analyze(struct pho_face_engine *fe, const struct pho_image *img,
                     struct pho_face_list *out, struct pho_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!img || !img->width || !img->height)
        return pho_err_set(err, PHO_EINVAL, "face: empty image");
    out->image_w = img->width;
    out->image_h = img->height;
    int rc = fe->be->analyze(fe->priv, img, out, err);
    if (rc == 0)
        rc = run_tail(fe, &img, 1, out, err);
    if (rc) {
        pho_face_list_release(out);
        return rc;
    }
    finish_list(fe, img, out);
    return 0;
}

int pho_face_analyze_batch(struct pho_face_engine *fe, const struct pho_image *const *imgs,
                           size_t n, struct pho_face_list *outs, struct pho_err *err)
{
    for (size_t i = 0; i < n; i++) {
        memset(&outs[i], 0, sizeof(outs[i]));
        if (!imgs[i] || !imgs[i]->width || !imgs[i]->height)
            return pho_err_set(err, PHO_EINVAL, "face: empty image in a batch");
    }
    if (!fe->be->analyze_batch) {
        for (size_t i = 0; i < n; i++) {
            int rc = pho_face_analyze(fe, imgs[i], &outs[i], err);
            if (rc) {
                for (size_t k = 0; k < n; k++)
                    pho_face_list_release(&outs[k]);
                return rc;
            }
        }
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        outs[i].image_w = imgs[i]->width;
        outs[i].image_h = imgs[i]->height;
    }
    int rc = fe->be->analyze_batch(fe->priv, imgs, n, outs, err);
    if (rc == 0)
        rc = run_tail(fe, imgs, n, outs, err);
    for (size_t i = 0; i < n; i++) {
        if (rc)
            pho_face_list_release(&outs[i]);
        else
            finish_list(fe, imgs[i], &outs[i]);
    }
    return rc;
}

float pho_face_distance(enum pho_face_metric metric, const float *a, const float *b, size_t dim)
{
    double acc = 0;
    if (metric == PHO_FACE_METRIC_COSINE) {
        double na = 0, nb = 0;
        for (size_t i = 0; i < dim; i++) {
            acc += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return na > 0 && nb > 0 ? (float)(1 - acc / sqrt(na * nb)) : NAN;
    }
    if (metric == PHO_FACE_METRIC_EUCLIDEAN) {
        for (size_t i = 0; i < dim; i++)
            acc += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        return (float)sqrt(acc);
    }
    return NAN;
}

void pho_face_engine_stats(const struct pho_face_engine *fe, struct pho_face_stats *out)
{
    pthread_mutex_lock((pthread_mutex_t *)&fe->ctx.stats_lock);
    *out = fe->ctx.stats;
    pthread_mutex_unlock((pthread_mutex_t *)&fe->ctx.stats_lock);
}
