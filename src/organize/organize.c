/* SPDX-License-Identifier: MIT */
/*
 * The organizer pipeline: scan -> analyse (catalog first, then decode at the
 * working size, hash, measure quality; in parallel, committed to the catalog
 * chunk by chunk) -> group -> pick the best shot -> write copies, metadata.txt
 * and the report atomically. Every step is deterministic, so a run that was
 * killed and started again ends with the same output as one that was not.
 */
#include "core/common.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "organize/internal.h"
#include "organize/pipeline.h"
#include "pho/face.h"
#include "pho/group.h"
#include "pho/image.h"
#include "pho/parallel.h"
#include "pho/quality.h"
#include "pho/scan.h"

/* Working decode: the smallest JPEG DCT scale with a long side of at least this
 * many pixels serves hashing and quality alike (both reduce further). */
#define WORK_SIZE PHO_QUALITY_SIZE

struct run {
    const struct pho_organize_opts *o;
    struct pho_organize_result *r;
    struct pho_brisque *brisque;
    struct pho_catalog *cat;
    char *out_dir;        /* canonical output folder (NULL on a dry run) */
    pthread_mutex_t lock; /* serialises callbacks */
    size_t done, total;
    double stage_start;
    enum pho_stage stage;
    unsigned threads;
    size_t *todo;
    int64_t run_id;
    int lock_fd; /* the output folder's lock (lock.c), -1 when not held */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *pho_stage_name(enum pho_stage stage)
{
    static const char *const names[] = { "scan",  "analyse", "group", "faces",
                                         "write", "report",  "done" };
    return stage <= PHO_STAGE_DONE ? names[stage] : "?";
}

static bool cancelled(const struct run *run)
{
    return run->o->cancel && atomic_load(run->o->cancel);
}

static void stage_begin(struct run *run, enum pho_stage stage, size_t total)
{
    pthread_mutex_lock(&run->lock);
    run->stage = stage;
    run->done = 0;
    run->total = total;
    run->stage_start = now();
    if (run->o->progress) {
        struct pho_progress p = { stage, 0, total, 0, NULL };
        run->o->progress(run->o->ud, &p);
    }
    pthread_mutex_unlock(&run->lock);
}

static void step_done(struct run *run, size_t n, const char *current)
{
    pthread_mutex_lock(&run->lock);
    run->done += n;
    if (run->o->progress) {
        struct pho_progress p = { run->stage, run->done, run->total, now() - run->stage_start,
                                  current };
        run->o->progress(run->o->ud, &p);
    }
    pthread_mutex_unlock(&run->lock);
}

static void report_failure(struct run *run, const struct pho_photo *p)
{
    if (!run->o->on_failure)
        return;
    pthread_mutex_lock(&run->lock);
    run->o->on_failure(run->o->ud, p);
    pthread_mutex_unlock(&run->lock);
}

static void set_error(struct pho_photo *p, const struct pho_err *e, int code)
{
    p->error = code;
    pho_strlcpy(p->error_msg, e->msg[0] ? e->msg : pho_strerror(code), sizeof(p->error_msg));
    p->analysed = false;
}

/* ---- analysis --------------------------------------------------------------- */

static void analyse_photo(struct run *run, struct pho_photo *p)
{
    struct pho_image_opts io = PHO_IMAGE_OPTS_INIT;
    io.max_size = WORK_SIZE;
    io.allow_larger = true;
    io.max_pixels = run->o->max_pixels;
    struct pho_image *img = NULL;
    struct pho_err err = PHO_ERR_INIT;
    int rc = pho_image_load(&img, p->path, &io, &p->meta, &err);
    if (rc == 0)
        rc = pho_hash_dhash(&p->dhash, img);
    if (rc == 0)
        rc = pho_hash_phash(&p->phash, img);
    if (rc == 0) {
        double mp = (double)p->meta.width * p->meta.height / 1e6;
        rc = pho_quality_measure(&p->quality, img, mp, run->brisque, &err);
    }
    pho_image_free(img);
    if (rc) {
        if (!err.msg[0])
            pho_err_set(&err, rc, "analyse: %s", pho_strerror(rc));
        set_error(p, &err, rc);
        report_failure(run, p);
    } else {
        p->analysed = true;
        p->error = 0;
        p->error_msg[0] = '\0';
    }
}

struct chunk {
    struct run *run;
    size_t first, count;
};

static void analyse_one(void *ud, size_t i, unsigned worker)
{
    struct chunk *c = ud;
    PHO_UNUSED(worker);
    if (cancelled(c->run))
        return;
    struct pho_photo *p = &c->run->r->photos[c->run->todo[c->first + i]];
    analyse_photo(c->run, p);
    step_done(c->run, 1, p->rel);
}

static int store_chunk(struct run *run, size_t first, size_t count, struct pho_err *err)
{
    if (!run->cat)
        return 0;
    int rc = pho_catalog_begin(run->cat, err);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const struct pho_photo *p = &run->r->photos[run->todo[first + i]];
        /* Photos skipped by a cancellation have neither result nor error yet. */
        if (p->analysed || p->error)
            rc = pho_catalog_put(run->cat, p, err);
    }
    if (rc == 0)
        rc = pho_catalog_commit(run->cat, err);
    return rc;
}

static int analyse_all(struct run *run, size_t ntodo, struct pho_err *err)
{
    /* Chunks bound what a kill can lose and keep catalog transactions large. */
    size_t chunk = (size_t)run->threads * 16;
    for (size_t first = 0; first < ntodo; first += chunk) {
        if (cancelled(run))
            return PHO_EINTR;
        struct chunk c = { run, first, PHO_MIN(chunk, ntodo - first) };
        pho_parallel_for(c.count, run->threads, analyse_one, &c);
        int rc = store_chunk(run, c.first, c.count, err);
        if (rc)
            return rc;
    }
    return cancelled(run) ? PHO_EINTR : 0;
}

/* ---- planning ------------------------------------------------------------------ */

static bool has_capture_time(const struct pho_meta *m)
{
    /* A file's mtime says when it was copied, not when it was taken. */
    return m->time.source != PHO_TIME_NONE && m->time.source != PHO_TIME_MTIME;
}

static double capture_seconds(const struct pho_photo *p)
{
    return (double)p->meta.time.local + p->meta.time.nsec / 1e9;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* "name.jpg" -> "name_2.jpg" for the n-th clash. Caller frees. */
static char *numbered(const char *name, int n)
{
    const char *dot = strrchr(name, '.');
    size_t stem = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    size_t len = strlen(name) + 16;
    char *s = pho_malloc(len);
    if (s)
        snprintf(s, len, "%.*s_%d%s", (int)stem, name, n, name + stem);
    return s;
}

/* Folder, members and unique file names of a group; the best shot is chosen later. */
static int plan_group(struct pho_group_plan *g, const struct pho_photo *photos,
                      const size_t *members, size_t count, size_t index)
{
    snprintf(g->dir, sizeof(g->dir), "group_%04zu", index + 1);
    g->count = count;
    g->members = pho_calloc(count, sizeof(*g->members));
    g->names = pho_calloc(count, sizeof(*g->names));
    if (!g->members || !g->names)
        return PHO_ENOMEM;
    for (size_t k = 0; k < count; k++) {
        g->members[k] = members[k];
        bool shortened = false;
        char *fitted =
                pho_out__fit_name(base_name(photos[members[k]].rel), PHO_OUT_NAME_MAX, &shortened);
        if (!fitted)
            return PHO_ENOMEM;
        const char *name = fitted;
        char *unique = pho_strdup(name);
        /* Same name from different folders: name_2.jpg, name_3.jpg ... in member order. */
        for (int n = 2; unique; n++) {
            bool clash = false;
            for (size_t j = 0; j < k && !clash; j++)
                clash = strcmp(g->names[j], unique) == 0;
            if (!clash)
                break;
            pho_free(unique);
            unique = numbered(name, n);
            if (unique && strlen(unique) > PHO_OUT_NAME_MAX) {
                char *refit = pho_out__fit_name(unique, PHO_OUT_NAME_MAX, &shortened);
                pho_free(unique);
                unique = refit;
            }
        }
        pho_free(fitted);
        if (!unique)
            return PHO_ENOMEM;
        g->names[k] = unique;
    }
    g->best = members[0];
    return 0;
}

static int plan_groups(struct run *run, struct pho_err *err)
{
    struct pho_organize_result *r = run->r;
    size_t n = 0;
    size_t *map = pho_calloc(r->nphotos ? r->nphotos : 1, sizeof(*map));
    struct pho_group_item *items = pho_calloc(r->nphotos ? r->nphotos : 1, sizeof(*items));
    struct pho_groups *groups = NULL;
    int rc = 0;
    if (!map || !items) {
        rc = pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->nphotos; i++) {
        const struct pho_photo *p = &r->photos[i];
        if (!p->analysed)
            continue;
        items[n].hash = run->o->hash == PHO_HASH_PHASH ? p->phash : p->dhash;
        items[n].has_time = has_capture_time(&p->meta);
        items[n].time = capture_seconds(p);
        map[n++] = i;
    }
    struct pho_group_opts go = PHO_GROUP_OPTS_INIT;
    go.threshold = run->o->threshold;
    go.time_window = run->o->time_window;
    go.min_group_size = PHO_MAX(run->o->min_group_size, 2);
    go.threads = run->threads;
    rc = pho_group_run(&groups, items, n, &go, err);
    if (rc)
        goto out;
    r->groups = pho_calloc(groups->count ? groups->count : 1, sizeof(*r->groups));
    if (!r->groups) {
        rc = pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        goto out;
    }
    for (size_t g = 0; g < groups->count; g++) {
        size_t first = groups->offsets[g], count = groups->offsets[g + 1] - first;
        size_t *members = pho_calloc(count, sizeof(*members));
        if (!members) {
            rc = pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
            goto out;
        }
        for (size_t k = 0; k < count; k++)
            members[k] = map[groups->members[first + k]];
        r->ngroups = g + 1;
        rc = plan_group(&r->groups[g], r->photos, members, count, g);
        pho_free(members);
        if (rc) {
            rc = pho_err_set(err, rc, "organize: out of memory");
            goto out;
        }
    }
out:
    pho_groups_free(groups);
    pho_free(items);
    pho_free(map);
    return rc;
}

/* ---- faces ------------------------------------------------------------------------- */

/* Face working decode: JPEG DCT scaling to a long side of 1600..3199, no resample. */
#define FACE_SIZE 1600

/*
 * One pipeline runs over every photo to analyse, so decoders and the model never wait for
 * a restart. Results reach the catalog in transactions of commit_every photos as they
 * finish, or sooner once FACE_COMMIT_SECONDS have passed since the last commit: a kill
 * loses at most that many photos and at most those seconds of work (at 10 photos/s on a
 * slow machine, 64 photos were six seconds; with a slow backend, minutes).
 */
#define FACE_COMMIT_SECONDS 2.0
struct face_work {
    struct run *run;
    struct pho_face_engine *fe;
    const size_t *todo;
    const char *config;
    pthread_mutex_t lock; /* guards the fields below and the catalog */
    size_t *pending;      /* photos analysed, not yet committed */
    size_t npending, commit_every;
    double last_commit; /* monotonic seconds */
    int rc;             /* the first catalog failure; no writes after it */
    struct pho_err err;
};

/* Writes the pending photos' faces in one transaction (caller holds the lock). */
static void face_commit_pending(struct face_work *c)
{
    struct pho_organize_result *r = c->run->r;
    if (c->rc == 0 && c->npending > 0 && (c->rc = pho_catalog_begin(c->run->cat, &c->err)) == 0) {
        for (size_t k = 0; c->rc == 0 && k < c->npending; k++) {
            const struct pho_photo *p = &r->photos[c->pending[k]];
            c->rc = pho_catalog_faces_put(c->run->cat, p->rel, p->size, p->mtime_ns, c->config,
                                          &r->faces[c->pending[k]], &c->err);
        }
        if (c->rc == 0)
            c->rc = pho_catalog_commit(c->run->cat, &c->err);
    }
    c->npending = 0;
    c->last_commit = now();
}

/* Queues a batch's analysed photos for the catalog, committing once enough are waiting. */
static void face_cache(struct face_work *c, const size_t *idx, size_t n)
{
    if (!c->run->cat)
        return;
    pthread_mutex_lock(&c->lock);
    for (size_t k = 0; k < n; k++)
        if (c->run->r->faces[c->todo[idx[k]]].image_w)
            c->pending[c->npending++] = c->todo[idx[k]];
    if (c->npending >= c->commit_every ||
        (c->npending > 0 && now() - c->last_commit >= FACE_COMMIT_SECONDS))
        face_commit_pending(c);
    pthread_mutex_unlock(&c->lock);
}

/* Pipeline stage 1: the face working decode of one photo. */
static int face_decode(void *ud, size_t i, struct pho_image **out)
{
    struct face_work *c = ud;
    const struct pho_photo *p = &c->run->r->photos[c->todo[i]];
    struct pho_image_opts io = PHO_IMAGE_OPTS_INIT;
    io.max_size = FACE_SIZE;
    io.allow_larger = true;
    io.max_pixels = c->run->o->max_pixels;
    struct pho_meta m;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_image_load(out, p->path, &io, &m, &err) == 0)
        return 0;
    /* Not analysed (image_w stays 0): the best-shot rule treats its faces as not found. */
    pho_log(PHO_LOG_WARN, "faces", "%s: %s; its faces are left out", p->path, err.msg);
    step_done(c->run, 1, p->rel);
    return -1;
}

/* Pipeline stage 2: one batch of photos through the face engine. */
static void face_infer(void *ud, const size_t *idx, struct pho_image *const *imgs, size_t n)
{
    struct face_work *c = ud;
    struct pho_organize_result *r = c->run->r;
    struct pho_face_list outs[PIPE_MAX_BATCH];
    struct pho_err err = PHO_ERR_INIT;
    if (pho_face_analyze_batch(c->fe, (const struct pho_image *const *)imgs, n, outs, &err) == 0) {
        for (size_t k = 0; k < n; k++)
            r->faces[c->todo[idx[k]]] = outs[k];
    } else {
        /* Find out which photo failed: one at a time. */
        for (size_t k = 0; k < n; k++) {
            struct pho_face_list *fl = &r->faces[c->todo[idx[k]]];
            if (pho_face_analyze(c->fe, imgs[k], fl, &err) < 0)
                pho_log(PHO_LOG_WARN, "faces", "%s: %s; its faces are left out",
                        r->photos[c->todo[idx[k]]].path, err.msg);
        }
    }
    face_cache(c, idx, n);
    for (size_t k = 0; k < n; k++)
        step_done(c->run, 1, r->photos[c->todo[idx[k]]].rel);
}

static int open_faces(struct run *run, struct pho_face_engine **fe, struct pho_err *err)
{
    const struct pho_organize_opts *o = run->o;
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.backend = o->face_backend ? o->face_backend : "auto";
    fo.models_dir = o->models_dir;
    fo.gpu = o->gpu;
    fo.gpu_device = o->gpu_device;
    fo.threads = 1; /* photos run in parallel; one ORT thread each */
    if (o->min_face > 0)
        fo.min_face = o->min_face;
    int rc = pho_face_engine_open(fe, &fo, err);
    if (rc && !strcmp(fo.backend, "auto")) {
        /* Nothing can run: the organizer still works, by image quality alone. */
        /* The engine's message already says what to install. */
        const char *why = strncmp(err->msg, "face: ", 6) ? err->msg : err->msg + 6;
        pho_log(PHO_LOG_WARN, "faces", "%s; best shots are chosen by image quality only", why);
        pho_err_clear(err);
        *fe = NULL;
        return 0;
    }
    return rc;
}

static int analyse_faces(struct run *run, struct pho_err *err)
{
    struct pho_organize_result *r = run->r;
    const struct pho_organize_opts *o = run->o;
    if (o->faces == PHO_FACES_NONE || r->nphotos == 0)
        return 0;
    r->faces = pho_calloc(r->nphotos, sizeof(*r->faces));
    if (!r->faces)
        return pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
    /* Which photos: group members, or every readable photo. */
    size_t *todo = pho_calloc(r->nphotos, sizeof(*todo));
    bool *want = pho_calloc(r->nphotos, sizeof(*want));
    struct pho_face_engine *fe = NULL;
    int rc = 0;
    if (!todo || !want) {
        rc = pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        goto out;
    }
    size_t nwant = 0;
    for (size_t g = 0; g < r->ngroups; g++)
        for (size_t k = 0; k < r->groups[g].count; k++)
            want[r->groups[g].members[k]] = true;
    for (size_t i = 0; i < r->nphotos; i++) {
        if (o->faces == PHO_FACES_ALL && r->photos[i].analysed)
            want[i] = true;
        nwant += want[i];
    }
    if (nwant == 0)
        goto out;
    rc = open_faces(run, &fe, err);
    if (rc || !fe)
        goto out;
    pho_strlcpy(r->face_backend, pho_face_engine_backend(fe), sizeof(r->face_backend));
    pho_strlcpy(r->face_device, pho_face_engine_device(fe), sizeof(r->face_device));
    pho_strlcpy(r->embed_model, pho_face_engine_embed_model(fe), sizeof(r->embed_model));
    char config[160];
    snprintf(config, sizeof(config), "%s;%s;min_face=%.4f", r->face_backend, r->embed_model,
             o->min_face > 0 ? o->min_face : 0.02);

    stage_begin(run, PHO_STAGE_FACES, nwant);
    size_t ntodo = 0;
    for (size_t i = 0; i < r->nphotos && rc == 0; i++) {
        if (!want[i])
            continue;
        bool found = false;
        if (run->cat)
            rc = pho_catalog_faces_get(run->cat, r->photos[i].rel, r->photos[i].size,
                                       r->photos[i].mtime_ns, config, &r->faces[i], &found, err);
        if (found) {
            r->faces_from_catalog++;
            step_done(run, 1, r->photos[i].rel);
        } else {
            todo[ntodo++] = i;
        }
    }
    /* Decoding on every core feeds inference; on a GPU the models take
     * batches of photos from one consumer, on the CPU each core runs its own. */
    bool gpu = strncmp(r->face_device, "CUDA", 4) == 0;
    struct pipe_opts po = {
        .decoders = run->threads,
        .inferers = gpu ? 1 : run->threads,
        .batch = o->batch_size ? PHO_MIN(o->batch_size, (unsigned)PIPE_MAX_BATCH)
                 : gpu         ? 16
                               : 1,
        .cancel = o->cancel,
    };
    po.queue_cap = po.batch * 2 + po.decoders;
    r->face_batch_size = po.batch;
    struct face_work c = { .run = run, .fe = fe, .todo = todo, .config = config };
    c.commit_every = PHO_MAX((size_t)64, po.batch * 4);
    c.last_commit = now();
    c.pending = pho_malloc(sizeof(*c.pending) * (c.commit_every + PIPE_MAX_BATCH));
    if (!c.pending) {
        rc = pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        goto out;
    }
    pthread_mutex_init(&c.lock, NULL);
    struct pipe_stats ps;
    pho_out__pipe_run(ntodo, &po, face_decode, face_infer, &c, &ps);
    face_commit_pending(&c); /* no worker is left: no lock needed */
    pthread_mutex_destroy(&c.lock);
    pho_free(c.pending);
    r->t_face_decode = ps.decode;
    r->t_face_wait = ps.wait;
    r->t_face_infer = ps.infer;
    r->face_batches = ps.batches;
    for (size_t k = 0; k < ntodo; k++)
        r->faces_analysed += r->faces[todo[k]].image_w != 0;
    if (c.rc) {
        rc = c.rc;
        *err = c.err;
    }
    if (rc == 0 && cancelled(run))
        rc = PHO_EINTR;
    pho_face_engine_stats(fe, &r->face_stats);
out:
    pho_face_engine_close(fe);
    pho_free(todo);
    pho_free(want);
    return rc;
}

/* ---- writing ---------------------------------------------------------------------- */

struct outputs {
    struct pho_output_file *files; /* recorded by earlier runs, sorted by rel */
    size_t count;
    char **planned; /* this run's files, sorted */
    size_t nplanned, cap;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const struct pho_output_file *recorded(const struct outputs *outs, const char *rel)
{
    size_t lo = 0, hi = outs->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(outs->files[mid].rel, rel);
        if (c == 0)
            return &outs->files[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int add_planned(struct outputs *outs, const char *rel)
{
    if (outs->nplanned == outs->cap) {
        size_t cap = outs->cap ? outs->cap * 2 : 256;
        char **p = pho_reallocarray(outs->planned, cap, sizeof(*p));
        if (!p)
            return PHO_ENOMEM;
        outs->planned = p;
        outs->cap = cap;
    }
    if (!(outs->planned[outs->nplanned] = pho_strdup(rel)))
        return PHO_ENOMEM;
    outs->nplanned++;
    return 0;
}

/* Notes @rel as part of this run's result and returns its full path (caller frees). */
/* True when @path holds exactly @len bytes equal to @text. */
static bool same_content(const char *path, const char *text, size_t len)
{
    FILE *f = pho_file__fopen_regular(path, "output", NULL);
    if (!f)
        return false;
    bool same = true;
    char buf[8192];
    size_t off = 0, n;
    while (same && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
        same = off + n <= len && memcmp(buf, text + off, n) == 0;
        off += n;
    }
    fclose(f);
    return same && off == len;
}

/* What a file that is about to be written must equal to count as ours already. */
struct want {
    const char *src;  /* a copy of this file, or */
    const char *text; /* this text */
    size_t len;
};

static bool holds_wanted(const char *dst, const struct want *w)
{
    if (w->text)
        return same_content(dst, w->text, w->len);
    char a[65], b[65];
    uint64_t n;
    return pho_out__sha256_file(dst, a, &n, NULL) == 0 &&
           pho_out__sha256_file(w->src, b, &n, NULL) == 0 && !strcmp(a, b);
}

/* "dir/best_x.jpg" -> "dir/best_x.photo-organizer.jpg" (n = 1), "...photo-organizer-2.jpg". */
static void beside_name(char *out, size_t size, const char *rel, int n)
{
    const char *slash = strrchr(rel, '/');
    const char *base = slash ? slash + 1 : rel;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - rel) : strlen(rel);
    char tag[32] = ".photo-organizer";
    if (n > 1)
        snprintf(tag, sizeof(tag), ".photo-organizer-%d", n);
    snprintf(out, size, "%.*s%s%s", (int)stem, rel, tag, rel + stem);
}

/*
 * Files in OUT are the user's unless this program wrote them and they are
 * still as it wrote them (docs/catalog.md). Finds where this run's file for
 * @rel goes: @rel itself when nothing is there, when the file there is ours
 * and unchanged, or when it already holds exactly what would be written
 * (then *@same). A file the catalog did not write, or one changed since, is
 * kept: ours goes beside it (beside_name), the user is told, and the report
 * lists it. Writes the rel used to @used; returns the full path (caller
 * frees) or NULL on OOM.
 */
static char *claim(struct run *run, struct outputs *outs, const char *rel, const struct want *w,
                   char *used, size_t used_size, bool *same, struct pho_err *err)
{
    *same = false;
    for (int n = 0; n < 100; n++) {
        if (n == 0)
            pho_strlcpy(used, rel, used_size);
        else
            beside_name(used, used_size, rel, n);
        char *dst = pho_out__join(run->out_dir, used);
        if (!dst)
            break;
        struct stat st;
        if (lstat(dst, &st) < 0 && errno == ENOENT)
            return dst;
        const struct pho_output_file *old = recorded(outs, used);
        char sum[65];
        uint64_t size = 0;
        if (S_ISREG(st.st_mode) && holds_wanted(dst, w)) {
            *same = true;
            return dst;
        }
        if (old && S_ISREG(st.st_mode) && pho_out__sha256_file(dst, sum, &size, NULL) == 0 &&
            size == old->size && !strcmp(sum, old->sha256))
            return dst; /* ours, as written: may be replaced */
        if (n == 0) {
            /* Kept: not written by us, or changed since. No longer ours. */
            if (old && pho_catalog_output_forget(run->cat, used, err) < 0) {
                pho_free(dst);
                return NULL;
            }
            char ours[4096];
            beside_name(ours, sizeof(ours), rel, 1);
            pho_organize__kept(run->r, rel, ours);
            pho_log(PHO_LOG_WARN, "output",
                    "%s was not written by photo-organizer or was changed since: kept as it is; "
                    "this run's version is written beside it",
                    rel);
        }
        pho_free(dst);
    }
    pho_err_set(err, PHO_EEXIST, "output: %s: no free name beside the user's file", rel);
    return NULL;
}

/* Copies one source photo unless an identical copy from an earlier run is already there. */
static int put_copy(struct run *run, struct outputs *outs, const struct pho_photo *p,
                    const char *rel, struct pho_err *err)
{
    const struct pho_output_file *old = recorded(outs, rel);
    char *dst = pho_out__join(run->out_dir, rel);
    if (!dst)
        return pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    struct stat st;
    if (old && old->size == p->size && lstat(dst, &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size == p->size && st.st_mtim.tv_sec == p->mtime_ns / 1000000000) {
        /* Size and time agree. That is enough on an ordinary run; --force-fresh
         * promises to redo everything, so there the copy is compared with its
         * source by content (an edit can keep both size and mtime). */
        char want[65], got[65];
        uint64_t n;
        bool same = !run->o->force_fresh ||
                    (pho_out__sha256_file(p->path, want, &n, NULL) == 0 &&
                     pho_out__sha256_file(dst, got, &n, NULL) == 0 && !strcmp(want, got));
        if (same) {
            pho_free(dst);
            run->r->files_unchanged++;
            return add_planned(outs, rel) == 0
                           ? 0
                           : pho_err_set(err, PHO_ENOMEM, "output: out of memory");
        }
    }
    pho_free(dst);
    char used[4096];
    bool identical;
    struct want w = { .src = p->path };
    dst = claim(run, outs, rel, &w, used, sizeof(used), &identical, err);
    if (!dst)
        return err && err->code ? err->code : PHO_ENOMEM;
    int rc = add_planned(outs, used) == 0 ? 0
                                          : pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    struct pho_copy_info info;
    if (rc == 0 && identical) {
        run->r->files_unchanged++;
        if (!recorded(outs, used) && pho_out__sha256_file(dst, info.sha256, &info.size, err) == 0)
            rc = pho_catalog_output_put(run->cat, used, info.size, info.sha256, err);
    } else if (rc == 0) {
        rc = pho_out__copy(p->path, dst, &info, err);
        if (rc == 0)
            rc = pho_catalog_output_put(run->cat, used, info.size, info.sha256, err);
        if (rc == 0)
            run->r->files_written++;
    }
    pho_free(dst);
    return rc;
}

static int put_text(struct run *run, struct outputs *outs, const char *text, const char *rel,
                    struct pho_err *err)
{
    char used[4096];
    bool identical;
    size_t len = strlen(text);
    struct want w = { .text = text, .len = len };
    char *dst = claim(run, outs, rel, &w, used, sizeof(used), &identical, err);
    if (!dst)
        return err && err->code ? err->code : PHO_ENOMEM;
    int rc = add_planned(outs, used) == 0 ? 0
                                          : pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    struct pho_copy_info info;
    if (rc == 0 && identical) {
        run->r->files_unchanged++;
        if (!recorded(outs, used) && pho_out__sha256_file(dst, info.sha256, &info.size, err) == 0)
            rc = pho_catalog_output_put(run->cat, used, info.size, info.sha256, err);
    } else if (rc == 0) {
        rc = pho_out__write(dst, text, len, &info, err);
        if (rc == 0)
            rc = pho_catalog_output_put(run->cat, used, info.size, info.sha256, err);
        if (rc == 0)
            run->r->files_written++;
    }
    pho_free(dst);
    return rc;
}

static int write_group(struct run *run, struct outputs *outs, const struct pho_group_plan *g,
                       struct pho_err *err)
{
    const struct pho_organize_result *r = run->r;
    char rel[4096];
    snprintf(rel, sizeof(rel), "%s/originals", g->dir);
    char *dir = pho_out__join(run->out_dir, rel);
    if (!dir)
        return pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    int rc = pho_out__mkdirs(dir, err);
    pho_free(dir);
    if (rc)
        return rc;
    rc = pho_catalog_begin(run->cat, err);
    if (rc)
        return rc;
    /* A file that cannot be written ends this group's writing, not the run;
     * what was written is still committed, so the catalog matches OUT. */
    int frc = 0;
    struct pho_err ferr = PHO_ERR_INIT;
    for (size_t k = 0; frc == 0 && k < g->count; k++) {
        const struct pho_photo *p = &r->photos[g->members[k]];
        snprintf(rel, sizeof(rel), "%s/originals/%s", g->dir, g->names[k]);
        frc = put_copy(run, outs, p, rel, &ferr);
        if (frc == 0 && g->members[k] == g->best) {
            snprintf(rel, sizeof(rel), "%s/best_%s", g->dir, g->names[k]);
            frc = put_copy(run, outs, p, rel, &ferr);
        }
        step_done(run, 1, p->rel);
    }
    if (frc == 0) {
        char *text = pho_out__metadata_txt(r, g);
        snprintf(rel, sizeof(rel), "%s/metadata.txt", g->dir);
        frc = text ? put_text(run, outs, text, rel, &ferr)
                   : pho_err_set(&ferr, PHO_ENOMEM, "output: out of memory");
        pho_free(text);
    }
    rc = pho_catalog_commit(run->cat, err);
    if (rc == 0 && frc) {
        pho_err_set(err, frc, "%s", ferr.msg);
        rc = frc;
    }
    return rc;
}

/* Removes what earlier runs wrote and this plan no longer contains, unless the user changed it. */
static int remove_stale(struct run *run, struct outputs *outs, struct pho_err *err)
{
    if (outs->nplanned)
        qsort(outs->planned, outs->nplanned, sizeof(*outs->planned), cmp_str);
    int rc = pho_catalog_begin(run->cat, err);
    for (size_t i = 0; rc == 0 && i < outs->count; i++) {
        const struct pho_output_file *f = &outs->files[i];
        const char *key = f->rel;
        if (outs->nplanned &&
            bsearch(&key, outs->planned, outs->nplanned, sizeof(*outs->planned), cmp_str))
            continue;
        char *path = pho_out__join(run->out_dir, f->rel);
        if (!path) {
            rc = pho_err_set(err, PHO_ENOMEM, "output: out of memory");
            break;
        }
        char sum[65];
        uint64_t size;
        int src = pho_out__sha256_file(path, sum, &size, NULL);
        if (src == PHO_ENOTFOUND || (src == 0 && size == f->size && !strcmp(sum, f->sha256))) {
            if (src == 0 && unlink(path) == 0)
                run->r->files_removed++;
            rc = pho_catalog_output_forget(run->cat, f->rel, err);
            /* Empty group folders go too; rmdir refuses non-empty ones. */
            char *slash;
            while (rc == 0 && (slash = strrchr(path, '/')) && slash > path + strlen(run->out_dir)) {
                *slash = '\0';
                if (rmdir(path) < 0)
                    break;
            }
        } else if (src == 0) {
            pho_log(PHO_LOG_WARN, "output",
                    "%s was changed after an earlier run wrote it; it is no longer part of the "
                    "result but is kept",
                    path);
        }
        pho_free(path);
    }
    if (rc == 0)
        rc = pho_catalog_commit(run->cat, err);
    return rc;
}

static void outputs_release(struct outputs *outs)
{
    pho_catalog_outputs_free(outs->files, outs->count);
    for (size_t i = 0; i < outs->nplanned; i++)
        pho_free(outs->planned[i]);
    pho_free(outs->planned);
}

static int write_all(struct run *run, struct pho_err *err)
{
    struct outputs outs = { 0 };
    size_t total = 0;
    for (size_t g = 0; g < run->r->ngroups; g++)
        total += run->r->groups[g].count;
    stage_begin(run, PHO_STAGE_WRITE, total);
    int rc = pho_catalog_output_list(run->cat, &outs.files, &outs.count, err);
    for (size_t g = 0; rc == 0 && g < run->r->ngroups; g++) {
        if (cancelled(run))
            rc = PHO_EINTR;
        else
            rc = write_group(run, &outs, &run->r->groups[g], err);
        if (rc && rc != PHO_EDB && rc != PHO_ENOMEM && rc != PHO_EINTR) {
            /* This group's files could not all be written: an error entry for
             * the group, and the run goes on to the next one and the report. */
            struct pho_group_plan *gp = &run->r->groups[g];
            gp->error = rc;
            pho_strlcpy(gp->error_msg, err->msg, sizeof(gp->error_msg));
            run->r->groups_failed++;
            pho_err_clear(err);
            rc = 0;
        }
    }
    if (rc == 0)
        rc = remove_stale(run, &outs, err);
    outputs_release(&outs);
    return rc;
}

static int write_report(struct run *run, struct pho_err *err)
{
    char stamp[32], when[40];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d_%H%M%S", &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", &tm);
    /* RFC 3339 offset (+01:00), the form every capture time in the report uses. */
    size_t wl = strlen(when);
    if (wl >= 5 && (when[wl - 5] == '+' || when[wl - 5] == '-') && wl + 1 < sizeof(when)) {
        memmove(when + wl - 1, when + wl - 2, 3);
        when[wl - 2] = ':';
    }
    char *dir = pho_out__join(run->out_dir, "reports");
    if (!dir)
        return pho_err_set(err, PHO_ENOMEM, "report: out of memory");
    int rc = pho_out__mkdirs(dir, err);
    char name[64];
    char *path = NULL;
    for (int n = 1; rc == 0; n++) {
        if (n == 1)
            snprintf(name, sizeof(name), "report_%s.json", stamp);
        else
            snprintf(name, sizeof(name), "report_%s_%d.json", stamp, n);
        pho_free(path);
        path = pho_out__join(dir, name);
        struct stat st;
        if (!path || lstat(path, &st) < 0)
            break;
    }
    char *text = rc == 0 ? pho_out__report_json(run->r, run->o, when) : NULL;
    if (rc == 0 && (!path || !text))
        rc = pho_err_set(err, PHO_ENOMEM, "report: out of memory");
    if (rc == 0)
        rc = pho_out__write(path, text, strlen(text), NULL, err);
    char *latest = rc == 0 ? pho_out__join(dir, "latest.json") : NULL;
    if (rc == 0)
        rc = latest ? pho_out__symlink(name, latest, err)
                    : pho_err_set(err, PHO_ENOMEM, "report: out of memory");
    if (rc == 0)
        pho_strlcpy(run->r->report_path, path, sizeof(run->r->report_path));
    pho_free(latest);
    pho_free(text);
    pho_free(path);
    pho_free(dir);
    return rc;
}

/* ---- the run ---------------------------------------------------------------------- */

static int check_opts(const struct pho_organize_opts *o, struct pho_err *err)
{
    if (!o->source || !o->source[0])
        return pho_err_set(err, PHO_EINVAL, "organize: no source folder given (-s)");
    if (!o->output || !o->output[0])
        return pho_err_set(err, PHO_EINVAL, "organize: no output folder given (-o)");
    if (o->threshold < 0 || o->threshold > 64)
        return pho_err_set(err, PHO_EINVAL, "organize: threshold must be 0..64, got %d",
                           o->threshold);
    if (!(o->time_window >= 0))
        return pho_err_set(err, PHO_EINVAL, "organize: time window must be 0 or more seconds");
    if (o->hash != PHO_HASH_DHASH && o->hash != PHO_HASH_PHASH)
        return pho_err_set(err, PHO_EINVAL, "organize: unknown hash kind");
    return 0;
}

/* Resolves the folders; refuses an output that is the source. */
static int resolve_folders(struct run *run, char **src_real, struct pho_err *err)
{
    const struct pho_organize_opts *o = run->o;
    struct stat st;
    if (stat(o->source, &st) < 0)
        return pho_err_set(err, errno == ENOENT ? PHO_ENOTFOUND : PHO_EIO,
                           "organize: source folder %s: %s", o->source, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return pho_err_set(err, PHO_EINVAL, "organize: source %s is not a folder", o->source);
    *src_real = realpath(o->source, NULL);
    if (!*src_real)
        return pho_err_set(err, PHO_EIO, "organize: source folder %s: %s", o->source,
                           strerror(errno));
    if (stat(o->output, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return pho_err_set(err, PHO_EINVAL, "organize: output %s exists and is not a folder",
                               o->output);
        char *out_real = realpath(o->output, NULL);
        bool same = out_real && !strcmp(out_real, *src_real);
        free(out_real);
        if (same)
            return pho_err_set(err, PHO_EINVAL,
                               "organize: the output folder must not be the source folder; "
                               "choose another -o");
    }
    return 0;
}

static int open_catalog(struct run *run, struct pho_err *err)
{
    char *dir = pho_out__join(run->out_dir, ".photo-organizer");
    char *db = dir ? pho_out__join(dir, "catalog.db") : NULL;
    int rc = db ? pho_out__mkdirs(dir, err)
                : pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
    if (rc == 0)
        rc = pho_catalog_open(&run->cat, db, err);
    if (rc == 0 && run->o->force_fresh)
        rc = pho_catalog_forget_photos(run->cat, err);
    if (rc == PHO_EDB && run->o->force_fresh) {
        /* Damage can also surface after a clean open. Keep the unusable file
         * (and its journal) for inspection and start a new catalog. */
        pho_catalog_close(run->cat);
        run->cat = NULL;
        char *moved = NULL;
        rc = pho_catalog_move_aside(db, &moved, err);
        if (rc == 0) {
            pho_log(PHO_LOG_WARN, "catalog", "unusable catalog moved to %s; starting a new one",
                    moved);
            rc = pho_catalog_open(&run->cat, db, err);
        }
        pho_free(moved);
    }
    pho_free(db);
    pho_free(dir);
    return rc;
}

static char *rel_of(const char *root, const char *path)
{
    size_t n = strlen(root);
    if (!strncmp(path, root, n) && path[n] == '/')
        return pho_strdup(path + n + 1);
    return pho_strdup(path);
}

static int collect(struct run *run, const struct pho_scan_list *list, const char *root,
                   struct pho_err *err)
{
    struct pho_organize_result *r = run->r;
    size_t n = list->count + list->nproblems;
    r->photos = pho_calloc(n ? n : 1, sizeof(*r->photos));
    if (!r->photos)
        return pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
    for (size_t i = 0; i < list->count; i++) {
        struct pho_photo *p = &r->photos[r->nphotos++];
        pho_photo_init(p);
        p->path = pho_strdup(list->items[i].path);
        p->rel = pho_strdup(list->items[i].rel);
        if (!p->path || !p->rel)
            return pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        p->size = list->items[i].size;
        p->mtime_ns = list->items[i].mtime * 1000000000LL + list->items[i].mtime_nsec;
    }
    /* Entries the scan could not read are part of the report's errors. */
    for (size_t i = 0; i < list->nproblems; i++) {
        struct pho_photo *p = &r->photos[r->nphotos++];
        pho_photo_init(p);
        p->path = pho_strdup(list->problems[i].path);
        p->rel = rel_of(root, list->problems[i].path);
        if (!p->path || !p->rel)
            return pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        p->error = list->problems[i].code;
        pho_strlcpy(p->error_msg, list->problems[i].msg, sizeof(p->error_msg));
    }
    return 0;
}

#define SAVED_MSG "organize: interrupted; what was analysed is saved, run again to continue"

/* Ctrl-C (PHO_EINTR) marks the result interrupted and says, in @msg, what a re-run does. */
static int interrupted(struct pho_organize_result *out, int rc, const char *msg,
                       struct pho_err *err)
{
    if (rc == PHO_EINTR) {
        out->interrupted = true;
        pho_err_set(err, rc, "%s", msg);
    }
    return rc;
}

int pho_organize_run(struct pho_organize_result *out, const struct pho_organize_opts *opts,
                     struct pho_err *err)
{
    struct run run = { .o = opts, .r = out, .lock_fd = -1 };
    struct pho_scan_list *list = NULL;
    char *src_real = NULL;
    double t0 = now(), t;
    memset(out, 0, sizeof(*out));
    pthread_mutex_init(&run.lock, NULL);
    run.threads = opts->threads ? opts->threads : pho_cpu_count();

    int rc = check_opts(opts, err);
    if (rc == 0)
        rc = resolve_folders(&run, &src_real, err);
    if (rc)
        goto out;
    if (!opts->dry_run) {
        rc = pho_out__mkdirs(opts->output, err);
        if (rc)
            goto out;
        run.out_dir = realpath(opts->output, NULL);
        if (!run.out_dir) {
            rc = pho_err_set(err, PHO_EIO, "organize: output folder %s: %s", opts->output,
                             strerror(errno));
            goto out;
        }
        /* Before anything under OUT is touched: a second run must not sweep
         * the first one's temporary files or write between its groups. */
        rc = pho_out__lock(&run.lock_fd, run.out_dir, opts->wait_lock, err);
        if (rc)
            goto out;
        pho_out__sweep_temps(run.out_dir);
        rc = open_catalog(&run, err);
        if (rc)
            goto out;
        rc = pho_catalog_run_start(run.cat, opts->settings_json ? opts->settings_json : "{}",
                                   &run.run_id, err);
        if (rc)
            goto out;
    }
    if (opts->ml_quality && pho_brisque_open(&run.brisque, NULL, NULL, err) < 0) {
        /* Without the model the other quality terms still rank the shots. */
        pho_log(PHO_LOG_WARN, "quality", "%s; continuing without BRISQUE", err->msg);
        pho_err_clear(err);
    }

    /* Scan */
    t = now();
    stage_begin(&run, PHO_STAGE_SCAN, 0);
    struct pho_scan_opts so = PHO_SCAN_OPTS_INIT;
    so.exclude_dir = opts->output;
    so.limit = opts->limit;
    so.include_hidden = opts->include_hidden;
    so.follow_symlinks = opts->follow_symlinks;
    rc = pho_scan_run(&list, opts->source, &so, err);
    if (rc == 0)
        rc = collect(&run, list, opts->source, err);
    out->t_scan = now() - t;
    if (rc)
        goto out;

    /* Analyse: the catalog answers for unchanged files, the rest is computed. */
    t = now();
    run.todo = pho_calloc(out->nphotos ? out->nphotos : 1, sizeof(*run.todo));
    if (!run.todo) {
        rc = pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        goto out;
    }
    size_t ntodo = 0;
    stage_begin(&run, PHO_STAGE_ANALYSE, out->nphotos);
    for (size_t i = 0; i < out->nphotos; i++) {
        struct pho_photo *p = &out->photos[i];
        bool found = false;
        if (p->error) {
            report_failure(&run, p);
            step_done(&run, 1, p->rel);
            continue;
        }
        if (run.cat && (rc = pho_catalog_lookup(run.cat, p, &found, err)) < 0)
            goto out;
        if (found) {
            out->from_catalog++;
            if (p->error)
                report_failure(&run, p);
            step_done(&run, 1, p->rel);
        } else {
            run.todo[ntodo++] = i;
        }
    }
    rc = analyse_all(&run, ntodo, err);
    for (size_t i = 0; i < ntodo; i++)
        out->analysed += out->photos[run.todo[i]].analysed || out->photos[run.todo[i]].error;
    for (size_t i = 0; i < out->nphotos; i++)
        out->failed += out->photos[i].error != 0;
    out->t_analyse = now() - t;
    rc = interrupted(out, rc, SAVED_MSG, err);
    if (rc)
        goto out;

    /* Group and plan */
    t = now();
    stage_begin(&run, PHO_STAGE_GROUP, 0);
    rc = plan_groups(&run, err);
    out->t_group = now() - t;
    if (rc)
        goto out;

    /* Faces of the photos whose best shot depends on them, then the choice. */
    t = now();
    rc = analyse_faces(&run, err);
    out->t_faces = now() - t;
    rc = interrupted(out, rc, SAVED_MSG, err);
    if (rc)
        goto out;
    for (size_t g = 0; g < out->ngroups; g++)
        pho_out__choose_best(&out->groups[g], out->photos, out->faces);

    if (!opts->dry_run) {
        t = now();
        rc = write_all(&run, err);
        out->t_write = now() - t;
        rc = interrupted(out, rc, "organize: interrupted while writing; run again to finish", err);
        if (rc)
            goto out;
        stage_begin(&run, PHO_STAGE_REPORT, 0);
        out->t_total = now() - t0;
        rc = write_report(&run, err);
        if (rc == 0)
            rc = pho_catalog_run_finish(run.cat, run.run_id, err);
    }
    stage_begin(&run, PHO_STAGE_DONE, 0);
out:
    out->t_total = now() - t0;
    pho_scan_list_free(list);
    pho_free(run.todo);
    pho_brisque_close(run.brisque);
    pho_catalog_close(run.cat);
    pho_out__unlock(run.lock_fd); /* after the catalog: its last writes are inside the lock */
    free(run.out_dir);
    free(src_real);
    pthread_mutex_destroy(&run.lock);
    return rc;
}

void pho_organize__kept(struct pho_organize_result *r, const char *path, const char *ours)
{
    struct pho_kept_file *k = pho_reallocarray(r->kept, r->nkept + 1, sizeof(*k));
    if (!k)
        return; /* the warning was logged; only the report's list is shorter */
    r->kept = k;
    k[r->nkept].path = pho_strdup(path);
    k[r->nkept].ours = pho_strdup(ours);
    if (k[r->nkept].path && k[r->nkept].ours)
        r->nkept++;
    else {
        pho_free(k[r->nkept].path);
        pho_free(k[r->nkept].ours);
    }
}

void pho_organize_result_release(struct pho_organize_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nkept; i++) {
        pho_free(r->kept[i].path);
        pho_free(r->kept[i].ours);
    }
    pho_free(r->kept);
    for (size_t i = 0; r->faces && i < r->nphotos; i++)
        pho_face_list_release(&r->faces[i]);
    pho_free(r->faces);
    for (size_t i = 0; i < r->nphotos; i++)
        pho_photo_release(&r->photos[i]);
    pho_free(r->photos);
    for (size_t g = 0; g < r->ngroups; g++) {
        for (size_t k = 0; k < r->groups[g].count; k++)
            pho_free(r->groups[g].names ? r->groups[g].names[k] : NULL);
        pho_free(r->groups[g].names);
        pho_free(r->groups[g].members);
    }
    pho_free(r->groups);
    memset(r, 0, sizeof(*r));
}
