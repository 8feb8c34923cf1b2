/* SPDX-License-Identifier: MIT */
/*
 * Stage: faces. The photos whose best shot needs them go through one face
 * pipeline (pipeline.c); results reach the catalog as they finish.
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
#include "organize/run.h"
#include "pho/face.h"
#include "pho/group.h"
#include "pho/image.h"
#include "pho/parallel.h"
#include "pho/quality.h"
#include "pho/scan.h"

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
    c->last_commit = pho_organize__now();
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
        (c->npending > 0 && pho_organize__now() - c->last_commit >= FACE_COMMIT_SECONDS))
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
    pho_organize__step_done(c->run, 1, p->rel);
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
        pho_organize__step_done(c->run, 1, r->photos[c->todo[idx[k]]].rel);
}

int pho_organize__open_faces(struct run *run, struct pho_face_engine **fe, struct pho_err *err)
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
        pho_log(PHO_LOG_WARN, "faces", "%s; best shots are chosen by image quality only",
                pho_err_reason(err));
        pho_err_clear(err);
        *fe = NULL;
        return 0;
    }
    return rc;
}

void pho_organize__face_config(const struct run *run, struct pho_face_engine *fe, char *out,
                               size_t size)
{
    const struct pho_organize_opts *o = run->o;
    /* Faces stored by a run with another judge of closed eyes are analysed again. */
    snprintf(out, size, "%s;%s;min_face=%.4f%s%s", pho_face_engine_backend(fe),
             pho_face_engine_embed_model(fe), o->min_face > 0 ? o->min_face : 0.02,
             pho_face_engine_eye_model(fe)[0] ? ";eyes=" : "", pho_face_engine_eye_model(fe));
}

/* The photos @want whose faces the catalog has (restored into r->faces); the others go to
 * @todo. */
static int faces_cached(struct run *run, const bool *want, const char *config, size_t *todo,
                        size_t *ntodo, struct pho_err *err)
{
    struct pho_organize_result *r = run->r;
    int rc = 0;
    for (size_t i = 0; i < r->nphotos && rc == 0; i++) {
        if (!want[i])
            continue;
        bool found = false;
        if (run->cat)
            rc = pho_catalog_faces_get(run->cat, r->photos[i].rel, r->photos[i].size,
                                       r->photos[i].mtime_ns, config, &r->faces[i], &found, err);
        if (found) {
            r->faces_from_catalog++;
            pho_organize__step_done(run, 1, r->photos[i].rel);
        } else {
            todo[(*ntodo)++] = i;
        }
    }
    return rc;
}

int pho_organize__faces_compute(struct run *run, struct pho_face_engine *fe, const char *config,
                                const size_t *todo, size_t ntodo, struct pho_err *err)
{
    struct pho_organize_result *r = run->r;
    const struct pho_organize_opts *o = run->o;
    /* Decoding on every core feeds inference; on a GPU the models take
     * batches of photos from one consumer, on the CPU each core runs its own. */
    bool gpu = strncmp(pho_face_engine_device(fe), "CUDA", 4) == 0;
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
    c.last_commit = pho_organize__now();
    c.pending = pho_malloc(sizeof(*c.pending) * (c.commit_every + PIPE_MAX_BATCH));
    if (!c.pending)
        return pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
    pthread_mutex_init(&c.lock, NULL);
    struct pipe_stats ps;
    pho_organize__pipe_run(ntodo, &po, face_decode, face_infer, &c, &ps);
    face_commit_pending(&c); /* no worker is left: no lock needed */
    pthread_mutex_destroy(&c.lock);
    pho_free(c.pending);
    r->t_face_decode += ps.decode;
    r->t_face_wait += ps.wait;
    r->t_face_infer += ps.infer;
    r->face_batches += ps.batches;
    for (size_t k = 0; k < ntodo; k++)
        r->faces_analysed += r->faces[todo[k]].image_w != 0;
    if (c.rc) {
        *err = c.err;
        return c.rc;
    }
    return 0;
}

int pho_organize__faces(struct run *run, struct pho_err *err)
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
    rc = pho_organize__open_faces(run, &fe, err);
    if (rc || !fe)
        goto out;
    pho_strlcpy(r->face_backend, pho_face_engine_backend(fe), sizeof(r->face_backend));
    pho_strlcpy(r->face_device, pho_face_engine_device(fe), sizeof(r->face_device));
    pho_strlcpy(r->embed_model, pho_face_engine_embed_model(fe), sizeof(r->embed_model));
    /* A repair needs to know who is who: refused up front, before any work. */
    if (o->face_swap) {
        rc = pho_face_engine_require(fe, PHO_FACE_CAP_ENCODE, "--enable-face-swap", err);
        if (rc)
            goto out;
    }
    run->identity.metric = pho_face_engine_metric(fe);
    run->identity.same = pho_face_engine_same_person(fe);
    char config[160];
    pho_organize__face_config(run, fe, config, sizeof(config));
    pho_strlcpy(run->face_config, config, sizeof(run->face_config));

    pho_organize__stage_begin(run, PHO_STAGE_FACES, nwant);
    size_t ntodo = 0;
    rc = faces_cached(run, want, config, todo, &ntodo, err);
    /* Distributed: the workers (and this process among them) find the rest. */
    if (rc == 0 && ntodo > 0 && o->distributed && run->cat) {
        rc = pho_organize__distribute(run, "faces", todo, ntodo, err);
        size_t left = 0;
        for (size_t k = 0; rc == 0 && k < ntodo; k++) {
            bool found = false;
            size_t i = todo[k];
            rc = pho_catalog_faces_get(run->cat, r->photos[i].rel, r->photos[i].size,
                                       r->photos[i].mtime_ns, config, &r->faces[i], &found, err);
            if (found)
                r->faces_analysed++; /* by this run, on some machine */
            else
                todo[left++] = i;
        }
        ntodo = left;
    }
    if (rc == 0)
        rc = pho_organize__faces_compute(run, fe, config, todo, ntodo, err);
    if (rc == 0 && pho_organize__cancelled(run))
        rc = PHO_EINTR;
    pho_face_engine_stats(fe, &r->face_stats);
out:
    pho_face_engine_close(fe);
    pho_free(todo);
    pho_free(want);
    return rc;
}
