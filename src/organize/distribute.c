/* SPDX-License-Identifier: MIT */
/*
 * Stage helper for distributed runs (docs/scale-out.md): the coordinator
 * queues the photos a stage would work on as jobs in the shared catalog,
 * works on them itself like any worker, and waits until none is waiting or
 * held, showing the progress of all workers. The stage then reads the results
 * from the catalog as a re-run would, and does itself whatever was given up,
 * so the output is the one a single machine makes.
 */
#include "core/common.h"

#include <string.h>

#include "organize/internal.h"
#include "organize/run.h"
#include "organize/work.h"
#include "pho/catalog.h"

/* Jobs queued per transaction. */
#define ENQUEUE_CHUNK 5000

struct tick_state {
    struct run *run;
    int64_t shown;
};

/* Progress of every worker: jobs done or given up since the stage's queue was filled. */
static void tick(void *ud, const int64_t counts[PHO_JOB_STATES])
{
    struct tick_state *t = ud;
    int64_t finished = counts[PHO_JOB_DONE] + counts[PHO_JOB_GIVEN_UP];
    if (finished > t->shown) {
        pho_organize__step_done(t->run, (size_t)(finished - t->shown), NULL);
        t->shown = finished;
    }
}

static int enqueue(struct run *run, const char *kind, const size_t *idx, size_t n,
                   struct pho_err *err)
{
    const struct pho_photo *photos = run->r->photos;
    int rc = 0;
    for (size_t first = 0; rc == 0 && first < n; first += ENQUEUE_CHUNK) {
        size_t last = PHO_MIN(n, first + ENQUEUE_CHUNK);
        rc = pho_catalog_begin(run->cat, err);
        for (size_t k = first; rc == 0 && k < last; k++) {
            const struct pho_photo *p = &photos[idx[k]];
            /* The RAW of a shot: its metadata only (analyse.c). */
            const char *what = !strcmp(kind, "analyse") && p->part_of != SIZE_MAX ? "probe" : kind;
            rc = pho_catalog_job_add(run->cat, run->run_id, what, p->rel, p->size, p->mtime_ns,
                                     err);
        }
        rc = rc ? rc : pho_catalog_commit(run->cat, err);
    }
    return rc;
}

int pho_organize__distribute(struct run *run, const char *kind, const size_t *idx, size_t n,
                             struct pho_err *err)
{
    const struct pho_organize_opts *o = run->o;
    if (!run->cat || !pho_catalog_is_shared(run->cat))
        return pho_err_set(err, PHO_EINVAL, "organize: --distributed needs a shared catalog");
    /* What earlier runs left queued (a coordinator that was stopped) is not wanted: this run
     * queues what is still missing. */
    int rc = pho_catalog_jobs_forget_before(run->cat, run->run_id, err);
    if (rc == 0)
        rc = enqueue(run, kind, idx, n, err);
    if (rc)
        return rc;
    char name[256];
    pho_organize__worker_name(name, sizeof(name));
    struct tick_state ts = { run, 0 };
    struct work_loop w = {
        .where = run->catalog_where,
        .name = name,
        .lease_s = 60,
        .batch = (size_t)run->threads * 8,
        .threads = run->threads,
        .models_dir = o->models_dir,
        .gpu_set = true,
        .gpu = o->gpu,
        .gpu_device = o->gpu_device,
        .until_run = run->run_id,
        .cancel = o->cancel,
        .tick = tick,
        .ud = &ts,
    };
    rc = pho_organize__work(&w, err);
    /* Done or given up: the results are in the catalog, the jobs are not needed. */
    if (rc == 0)
        rc = pho_catalog_jobs_forget(run->cat, run->run_id, err);
    return rc;
}
