/* SPDX-License-Identifier: MIT */
/*
 * The run's bookkeeping, below every stage: progress, cancellation, failure
 * reports, the result's lists and its release.
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

double pho_organize__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *pho_stage_name(enum pho_stage stage)
{
    static const char *const names[] = { "scan",   "analyse", "group",  "quality", "faces",
                                         "people", "write",   "report", "done" };
    return stage <= PHO_STAGE_DONE ? names[stage] : "?";
}

bool pho_organize__cancelled(const struct run *run)
{
    return run->o->cancel && atomic_load(run->o->cancel);
}

void pho_organize__stage_begin(struct run *run, enum pho_stage stage, size_t total)
{
    pthread_mutex_lock(&run->lock);
    run->stage = stage;
    run->done = 0;
    run->total = total;
    run->stage_start = pho_organize__now();
    if (run->o->progress) {
        struct pho_progress p = { stage, 0, total, 0, NULL };
        run->o->progress(run->o->ud, &p);
    }
    pthread_mutex_unlock(&run->lock);
}

void pho_organize__step_done(struct run *run, size_t n, const char *current)
{
    pthread_mutex_lock(&run->lock);
    run->done += n;
    if (run->o->progress) {
        struct pho_progress p = { run->stage, run->done, run->total,
                                  pho_organize__now() - run->stage_start, current };
        run->o->progress(run->o->ud, &p);
    }
    pthread_mutex_unlock(&run->lock);
}

void pho_organize__report_failure(struct run *run, const struct pho_photo *p)
{
    if (!run->o->on_failure)
        return;
    pthread_mutex_lock(&run->lock);
    run->o->on_failure(run->o->ud, p);
    pthread_mutex_unlock(&run->lock);
}

void pho_organize__set_error(struct pho_photo *p, const struct pho_err *e, int code)
{
    p->error = code;
    pho_strlcpy(p->error_msg, e->msg[0] ? e->msg : pho_strerror(code), sizeof(p->error_msg));
    p->analysed = false;
}

void pho_organize__fail(struct run *run, struct pho_photo *p, struct pho_err *e, int rc)
{
    if (!e->msg[0])
        pho_err_set(e, rc, "analyse: %s", pho_strerror(rc));
    pho_organize__set_error(p, e, rc);
    pho_organize__report_failure(run, p);
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

void pho_organize__sidecar_issue(struct pho_organize_result *r, const char *path, bool in_output,
                                 const char *why)
{
    struct pho_sidecar_issue *v =
            pho_reallocarray(r->sidecar_issues, r->nsidecar_issues + 1, sizeof(*v));
    if (!v)
        return; /* the warning was logged; only the report's list is shorter */
    r->sidecar_issues = v;
    v[r->nsidecar_issues].path = pho_strdup(path);
    v[r->nsidecar_issues].why = pho_strdup(why);
    v[r->nsidecar_issues].in_output = in_output;
    if (v[r->nsidecar_issues].path && v[r->nsidecar_issues].why)
        r->nsidecar_issues++;
    else {
        pho_free(v[r->nsidecar_issues].path);
        pho_free(v[r->nsidecar_issues].why);
    }
}

void pho_organize__groups_clear(struct pho_organize_result *r)
{
    for (size_t g = 0; g < r->ngroups; g++) {
        for (size_t k = 0; k < r->groups[g].count; k++)
            pho_free(r->groups[g].names ? r->groups[g].names[k] : NULL);
        pho_free(r->groups[g].names);
        for (size_t f = 0; f < r->groups[g].nfiles; f++)
            pho_free(r->groups[g].files[f].name);
        pho_free(r->groups[g].files);
        pho_free(r->groups[g].members);
        pho_free(r->groups[g].links);
        pho_free(r->groups[g].swap.faces);
    }
    pho_free(r->groups);
    r->groups = NULL;
    r->ngroups = 0;
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
    for (size_t i = 0; i < r->nsidecar_issues; i++) {
        pho_free(r->sidecar_issues[i].path);
        pho_free(r->sidecar_issues[i].why);
    }
    pho_free(r->sidecar_issues);
    for (size_t i = 0; r->faces && i < r->nphotos; i++)
        pho_face_list_release(&r->faces[i]);
    pho_free(r->faces);
    for (size_t i = 0; i < r->nphotos; i++)
        pho_photo_release(&r->photos[i]);
    pho_free(r->photos);
    pho_free(r->shot_next);
    for (size_t i = 0; i < r->ncompanions; i++) {
        pho_free(r->companions[i].path);
        pho_free(r->companions[i].rel);
    }
    pho_free(r->companions);
    for (size_t i = 0; r->face_persons && i < r->nphotos; i++)
        pho_free(r->face_persons[i]);
    pho_free(r->face_persons);
    for (size_t i = 0; i < r->npeople; i++) {
        pho_free(r->people[i].name);
        pho_free(r->people[i].picture);
    }
    pho_free(r->people);
    pho_organize__groups_clear(r);
    memset(r, 0, sizeof(*r));
}
