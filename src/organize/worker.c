/* SPDX-License-Identifier: MIT */
/*
 * Workers (docs/scale-out.md): claim batches of jobs from the shared
 * catalog, do them with the settings of the run that queued them (read from
 * the catalog, with this machine's own models folder, GPU and threads), and
 * record the results and "done" together. A heartbeat on its own connection
 * keeps the batch's lease while the work lasts; a worker killed at any point
 * stops the heartbeat, its lease runs out and its jobs go back to the queue.
 * Every result is a record keyed by the photo, written the same whoever
 * writes it, so a job done twice does no harm.
 */
#include "core/common.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "organize/internal.h"
#include "organize/run.h"
#include "organize/work.h"
#include "pho/catalog.h"
#include "pho/face.h"
#include "pho/organize.h"
#include "pho/parallel.h"
#include "pho/quality.h"
#include "pho/text.h"

/* A job claimed this many times without being done is given up (the coordinator then does
 * it itself, where its failure is reported like any photo's). */
#define MAX_ATTEMPTS 3

/* The run whose jobs are being done: its settings, made ready on this machine. */
struct run_ctx {
    int64_t id;
    struct pho_organize_record rec;
    struct pho_organize_opts opts;
    char source[4096]; /* the run's source, as this machine reaches it */
    struct pho_brisque *brisque;
    bool brisque_tried;
    struct pho_face_engine *fe;
    bool fe_tried;
    char config[160];
};

struct heartbeat {
    const struct work_loop *w;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
};

static void ctx_clear(struct run_ctx *c)
{
    pho_brisque_close(c->brisque);
    pho_face_engine_close(c->fe);
    memset(c, 0, sizeof(*c));
}

/* The source folder as this machine sees it: the first --path-map FROM=TO whose FROM
 * starts the path (at a folder boundary) replaces it. */
static void map_source(char *out, size_t size, const char *source, const struct work_loop *w)
{
    for (size_t i = 0; i < w->npath_map; i++) {
        const char *eq = strchr(w->path_map[i], '=');
        if (!eq)
            continue;
        size_t n = (size_t)(eq - w->path_map[i]);
        while (n > 1 && w->path_map[i][n - 1] == '/')
            n--;
        if (!strncmp(source, w->path_map[i], n) && (source[n] == '/' || source[n] == '\0')) {
            snprintf(out, size, "%s%s", eq + 1, source + n);
            return;
        }
    }
    pho_strlcpy(out, source, size);
}

static int ctx_load(struct run_ctx *c, struct pho_catalog *cat, int64_t run,
                    const struct work_loop *w, struct pho_err *err)
{
    if (c->id == run)
        return 0;
    ctx_clear(c);
    char *text = NULL;
    int rc = pho_catalog_run_settings(cat, run, &text, err);
    if (rc == 0)
        rc = pho_organize__record_parse(&c->rec, text, err);
    pho_free(text);
    if (rc)
        return rc;
    c->id = run;
    c->opts = c->rec.opts;
    /* This machine's own: where its models are, its GPU, its cores. */
    if (w->models_dir)
        c->opts.models_dir = w->models_dir;
    else if (c->rec.models_dir[0])
        c->opts.models_dir = c->rec.models_dir;
    if (w->gpu_set) {
        c->opts.gpu = w->gpu;
        c->opts.gpu_device = w->gpu_device;
    }
    c->opts.threads = w->threads;
    c->opts.cancel = w->cancel;
    c->opts.progress = NULL;
    c->opts.on_failure = NULL;
    c->opts.distributed = false;
    map_source(c->source, sizeof(c->source), c->rec.source, w);
    return 0;
}

static void *heartbeat_main(void *ud)
{
    struct heartbeat *h = ud;
    struct pho_catalog *cat = NULL;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_catalog_open(&cat, h->w->where, &err) < 0)
        pho_log(PHO_LOG_WARN, "worker", "heartbeat: %s", err.msg);
    pthread_mutex_lock(&h->lock);
    while (!h->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += PHO_MAX(1, h->w->lease_s / 3);
        pthread_cond_timedwait(&h->wake, &h->lock, &until);
        if (h->stop || !cat)
            continue;
        pthread_mutex_unlock(&h->lock);
        if (pho_catalog_jobs_heartbeat(cat, h->w->name, h->w->lease_s, &err) < 0)
            pho_log(PHO_LOG_WARN, "worker", "heartbeat: %s", err.msg);
        pthread_mutex_lock(&h->lock);
    }
    pthread_mutex_unlock(&h->lock);
    pho_catalog_close(cat);
    return NULL;
}

/* What a job asks: its family of work. */
enum family { FAMILY_ANALYSE, FAMILY_MEASURE, FAMILY_FACES };

static enum family family_of(const struct pho_job *j)
{
    return !strcmp(j->kind, "faces")     ? FAMILY_FACES
           : !strcmp(j->kind, "measure") ? FAMILY_MEASURE
                                         : FAMILY_ANALYSE;
}

struct batch {
    struct run *run;
    const size_t *todo; /* the photos to do, indices into run->r->photos */
    bool measure;
};

static void analyse_item(void *ud, size_t i, unsigned worker)
{
    struct batch *b = ud;
    PHO_UNUSED(worker);
    if (pho_organize__cancelled(b->run))
        return;
    struct pho_photo *p = &b->run->r->photos[b->todo[i]];
    if (b->measure)
        pho_organize__measure_photo(b->run, p);
    else
        pho_organize__analyse_photo(b->run, p);
}

/* Marks jobs @ok of @jobs done in one transaction (with the photos' records when given). */
static int finish(struct pho_catalog *cat, const struct pho_job *jobs, const bool *ok, size_t n,
                  const struct pho_photo *photos, struct pho_err *err)
{
    int rc = pho_catalog_begin(cat, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        /* Not done here: back to the queue now rather than when the lease runs out. */
        if (!ok[i]) {
            rc = pho_catalog_job_release(cat, jobs[i].id, MAX_ATTEMPTS, err);
            continue;
        }
        if (photos)
            rc = pho_catalog_put(cat, &photos[i], err);
        if (rc == 0)
            rc = pho_catalog_job_done(cat, jobs[i].id, err);
    }
    return rc ? rc : pho_catalog_commit(cat, err);
}

/* Does jobs @jobs (all of one run and one family). */
static int do_jobs(struct pho_catalog *cat, struct run_ctx *c, const struct work_loop *w,
                   const struct pho_job *jobs, size_t n, enum family family, struct pho_err *err)
{
    bool faces = family == FAMILY_FACES;
    struct pho_organize_result r;
    memset(&r, 0, sizeof(r));
    r.photos = pho_calloc(n, sizeof(*r.photos));
    r.faces = faces ? pho_calloc(n, sizeof(*r.faces)) : NULL;
    size_t *todo = pho_calloc(n, sizeof(*todo));
    bool *ok = pho_calloc(n, sizeof(*ok));
    char **paths = pho_calloc(n, sizeof(*paths));
    struct run run = { .o = &c->opts, .r = &r, .cat = cat, .threads = w->threads, .lock_fd = -1 };
    pthread_mutex_init(&run.lock, NULL);
    int rc = 0;
    if (!r.photos || (faces && !r.faces) || !todo || !ok || !paths) {
        rc = pho_err_set(err, PHO_ENOMEM, "worker: out of memory");
        goto out;
    }
    size_t ntodo = 0;
    for (size_t i = 0; i < n; i++) {
        struct pho_photo *p = &r.photos[i];
        pho_photo_init(p);
        paths[i] = pho_organize__join(c->source, jobs[i].rel);
        if (!paths[i]) {
            rc = pho_err_set(err, PHO_ENOMEM, "worker: out of memory");
            goto out;
        }
        p->path = paths[i];
        p->rel = jobs[i].rel;
        p->size = jobs[i].size;
        p->mtime_ns = jobs[i].mtime_ns;
        if (!strcmp(jobs[i].kind, "probe"))
            p->part_of = 0;
        /* A file this machine cannot see is a problem of this machine (its mounts, its
         * --path-map), not of the photo: left for a worker that can. */
        struct stat st;
        if (stat(p->path, &st) != 0) {
            char shown[512];
            pho_log(PHO_LOG_WARN, "worker", "cannot see %s: %s; check --path-map",
                    pho_text_shown(shown, sizeof(shown), p->path), strerror(errno));
            continue;
        }
        /* A measurement completes the photo's record: it must be the one the run made. */
        if (family == FAMILY_MEASURE) {
            bool found = false;
            rc = pho_catalog_lookup(cat, p, &found, err);
            if (rc)
                goto out;
            if (!found || !p->analysed)
                continue;
        }
        ok[i] = true;
        todo[ntodo++] = i;
    }
    r.nphotos = n;
    if (!faces) {
        if (!c->brisque_tried && c->opts.ml_quality) {
            c->brisque_tried = true;
            if (pho_brisque_open(&c->brisque, NULL, NULL, err) < 0) {
                pho_log(PHO_LOG_WARN, "quality", "%s; continuing without BRISQUE", err->msg);
                pho_err_clear(err);
            }
        }
        run.brisque = c->brisque;
        struct batch b = { &run, todo, family == FAMILY_MEASURE };
        pho_parallel_for(ntodo, w->threads, analyse_item, &b);
        for (size_t k = 0; k < ntodo; k++) {
            const struct pho_photo *p = &r.photos[todo[k]];
            /* Stopped before it was done: neither result nor error; not done. */
            bool finished = family == FAMILY_MEASURE ? p->error || !isnan(p->quality.score)
                                                     : p->analysed || p->error || p->probed;
            if (!finished)
                ok[todo[k]] = false;
        }
        rc = finish(cat, jobs, ok, n, r.photos, err);
    } else {
        if (!c->fe_tried) {
            c->fe_tried = true;
            rc = pho_organize__open_faces(&run, &c->fe, err);
            if (rc)
                goto out;
            if (c->fe)
                pho_organize__face_config(&run, c->fe, c->config, sizeof(c->config));
        }
        /* No face model here: left for a worker that has one, or the coordinator. */
        if (!c->fe) {
            memset(ok, 0, n * sizeof(*ok));
            rc = finish(cat, jobs, ok, n, NULL, err);
            goto out;
        }
        rc = pho_organize__faces_compute(&run, c->fe, c->config, todo, ntodo, err);
        if (rc == 0 && pho_organize__cancelled(&run))
            memset(ok, 0, n * sizeof(*ok));
        if (rc == 0)
            rc = finish(cat, jobs, ok, n, NULL, err);
    }
    for (size_t i = 0; i < n; i++)
        if (ok[i] && w->stats)
            w->stats->done++;
out:
    for (size_t i = 0; i < n; i++) {
        if (r.faces)
            pho_face_list_release(&r.faces[i]);
        pho_free(paths ? paths[i] : NULL);
        if (r.photos) {
            r.photos[i].rel = NULL;
            r.photos[i].path = NULL;
            pho_photo_release(&r.photos[i]);
        }
    }
    pthread_mutex_destroy(&run.lock);
    pho_free(r.photos);
    pho_free(r.faces);
    pho_free(todo);
    pho_free(ok);
    pho_free(paths);
    return rc;
}

/* The claimed batch, in runs of jobs of one run and one family. */
static int do_batch(struct pho_catalog *cat, struct run_ctx *c, const struct work_loop *w,
                    const struct pho_job *jobs, size_t n, struct pho_err *err)
{
    int rc = 0;
    for (size_t a = 0; rc == 0 && a < n;) {
        size_t b = a + 1;
        while (b < n && jobs[b].run == jobs[a].run && family_of(&jobs[b]) == family_of(&jobs[a]))
            b++;
        rc = ctx_load(c, cat, jobs[a].run, w, err);
        if (rc == 0)
            rc = do_jobs(cat, c, w, jobs + a, b - a, family_of(&jobs[a]), err);
        a = b;
    }
    return rc;
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    nanosleep(&ts, NULL);
}

int pho_organize__work(const struct work_loop *w, struct pho_err *err)
{
    struct pho_catalog *cat = NULL;
    struct run_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    struct heartbeat hb = { .w = w };
    bool hb_running = false;
    int rc = pho_catalog_open(&cat, w->where, err);
    if (rc)
        return rc;
    pthread_mutex_init(&hb.lock, NULL);
    pthread_cond_init(&hb.wake, NULL);
    hb_running = pthread_create(&hb.thread, NULL, heartbeat_main, &hb) == 0;
    if (!hb_running) {
        rc = pho_err_set(err, PHO_ENOMEM, "worker: cannot start the heartbeat");
        goto out;
    }
    double idle_since = pho_organize__now(), last_expire = 0;
    while (rc == 0) {
        if (w->cancel && atomic_load(w->cancel)) {
            rc = PHO_EINTR;
            break;
        }
        /* Anyone may hand back what a dead worker held; leases count in seconds, so once a
         * second is often enough (the coordinator polls five times a second). */
        if (pho_organize__now() - last_expire >= 1.0) {
            rc = pho_catalog_jobs_expire(cat, MAX_ATTEMPTS, NULL, err);
            last_expire = pho_organize__now();
        }
        struct pho_job *jobs = NULL;
        size_t n = 0;
        if (rc == 0)
            rc = pho_catalog_jobs_claim(cat, w->name, w->lease_s, w->batch, &jobs, &n, err);
        if (rc == 0 && n > 0) {
            rc = do_batch(cat, &ctx, w, jobs, n, err);
            idle_since = pho_organize__now();
        }
        pho_catalog_jobs_free(jobs, n);
        if (rc)
            break;
        int64_t counts[PHO_JOB_STATES] = { 0 };
        if (w->until_run > 0) {
            rc = pho_catalog_jobs_count(cat, w->until_run, counts, err);
            if (rc)
                break;
            if (w->tick)
                w->tick(w->ud, counts);
            if (counts[PHO_JOB_QUEUED] + counts[PHO_JOB_CLAIMED] == 0)
                break;
        }
        if (n == 0) {
            if (w->idle_exit_s > 0 && pho_organize__now() - idle_since >= w->idle_exit_s)
                break;
            /* Others hold the rest, or nothing is queued yet. */
            sleep_s(w->until_run > 0 ? 0.2 : 1.0);
        }
    }
out:
    if (hb_running) {
        pthread_mutex_lock(&hb.lock);
        hb.stop = true;
        pthread_cond_signal(&hb.wake);
        pthread_mutex_unlock(&hb.lock);
        pthread_join(hb.thread, NULL);
    }
    pthread_cond_destroy(&hb.wake);
    pthread_mutex_destroy(&hb.lock);
    ctx_clear(&ctx);
    pho_catalog_close(cat);
    return rc;
}

void pho_organize__worker_name(char *out, size_t size)
{
    char host[200] = "";
    if (gethostname(host, sizeof(host) - 1) != 0)
        pho_strlcpy(host, "worker", sizeof(host));
    snprintf(out, size, "%s:%ld", host, (long)getpid());
}

int pho_worker_run(struct pho_worker_stats *stats, const struct pho_worker_opts *o,
                   struct pho_err *err)
{
    struct pho_worker_stats local;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof(*stats));
    if (!o || !o->catalog || !o->catalog[0])
        return pho_err_set(err, PHO_EINVAL, "worker: no catalog given (--catalog)");
    char name[256];
    if (o->name && o->name[0])
        pho_strlcpy(name, o->name, sizeof(name));
    else
        pho_organize__worker_name(name, sizeof(name));
    struct work_loop w = {
        .where = o->catalog,
        .name = name,
        .lease_s = o->lease_s > 0 ? o->lease_s : 60,
        .threads = o->threads ? o->threads : pho_cpu_count(),
        .models_dir = o->models_dir,
        .gpu_set = o->gpu_set,
        .gpu = o->gpu,
        .gpu_device = o->gpu_device,
        .path_map = o->path_map,
        .npath_map = o->npath_map,
        .idle_exit_s = o->exit_when_idle ? PHO_MAX(o->idle_wait_s, 0.01) : 0,
        .cancel = o->cancel,
        .stats = stats,
    };
    w.batch = o->batch ? o->batch : (size_t)w.threads * 8;
    double t0 = pho_organize__now();
    int rc = pho_organize__work(&w, err);
    stats->seconds = pho_organize__now() - t0;
    return rc;
}
