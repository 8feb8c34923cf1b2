/* SPDX-License-Identifier: MIT */
/*
 * The work queue in the catalog (docs/scale-out.md): photos a run wants
 * analysed, claimed in batches by workers under a lease that a heartbeat
 * extends. A worker that dies stops its heartbeat; its lease runs out and the
 * jobs are queued again. Results are records of their own (photos, faces),
 * written idempotently, so a job done twice does no harm.
 */
#include "core/common.h"

#include <string.h>

#include "catalog/internal.h"
#include "catalog/schema.h"
#include "pho/catalog.h"

int pho_catalog_job_add(struct pho_catalog *cat, int64_t run, const char *kind, const char *rel,
                        uint64_t size, int64_t mtime_ns, struct pho_err *err)
{
    if (!kind || !*kind || strlen(kind) >= sizeof(((struct pho_job *)0)->kind) || !rel)
        return pho_err_set(err, PHO_EINVAL, "catalog: a job needs a kind and a photo");
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_JOB_ADD, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_int(s, 1, run);
    pho_catalog__bind_text(s, 2, kind, strlen(kind));
    pho_catalog__bind_text(s, 3, rel, strlen(rel));
    pho_catalog__bind_int(s, 4, pho_catalog__u64_bits(size));
    pho_catalog__bind_int(s, 5, mtime_ns);
    return pho_catalog__run(s, err, "cannot queue a job");
}

void pho_catalog_jobs_free(struct pho_job *jobs, size_t count)
{
    for (size_t i = 0; jobs && i < count; i++)
        pho_free(jobs[i].rel);
    pho_free(jobs);
}

int pho_catalog_jobs_claim(struct pho_catalog *cat, const char *worker, int lease_s, size_t max,
                           struct pho_job **jobs, size_t *count, struct pho_err *err)
{
    *jobs = NULL;
    *count = 0;
    if (!worker || !*worker || lease_s < 1 || max < 1)
        return pho_err_set(err, PHO_EINVAL, "catalog: a claim needs a worker, a lease and a size");
    struct pho_job *v = pho_calloc(max, sizeof(*v));
    if (!v)
        return pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_JOBS_CLAIM, &s, err);
    if (rc < 0) {
        pho_free(v);
        return rc;
    }
    pho_catalog__bind_text(s, 1, worker, strlen(worker));
    pho_catalog__bind_int(s, 2, lease_s);
    pho_catalog__bind_int(s, 3, (int64_t)max);
    size_t n = 0;
    bool row = false;
    while ((rc = pho_catalog__step(s, &row, err, "cannot claim jobs")) == 0 && row && n < max) {
        struct pho_job *j = &v[n];
        j->id = pho_catalog__col_int(s, 0);
        j->run = pho_catalog__col_int(s, 1);
        pho_catalog__text_into(s, 2, j->kind, sizeof(j->kind));
        j->size = pho_catalog__bits_u64(pho_catalog__col_int(s, 4));
        j->mtime_ns = pho_catalog__col_int(s, 5);
        if (!(j->rel = pho_catalog__text(s, 3))) {
            rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
            break;
        }
        n++;
    }
    pho_catalog__reset(s);
    if (rc < 0) {
        /* Claimed but not handed out: their lease runs out and they are queued again. */
        pho_catalog_jobs_free(v, n);
        return rc;
    }
    /* RETURNING hands rows back in no promised order; the oldest go first. */
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && v[k - 1].id > v[k].id; k--) {
            struct pho_job t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
    *jobs = v;
    *count = n;
    return 0;
}

int pho_catalog_job_done(struct pho_catalog *cat, int64_t id, struct pho_err *err)
{
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_JOB_DONE, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_int(s, 1, id);
    return pho_catalog__run(s, err, "cannot mark a job done");
}

int pho_catalog_job_release(struct pho_catalog *cat, int64_t id, int max_attempts,
                            struct pho_err *err)
{
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_JOB_RELEASE, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_int(s, 1, id);
    pho_catalog__bind_int(s, 2, max_attempts);
    return pho_catalog__run(s, err, "cannot hand a job back");
}

int pho_catalog_jobs_heartbeat(struct pho_catalog *cat, const char *worker, int lease_s,
                               struct pho_err *err)
{
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_JOBS_HEARTBEAT, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_text(s, 1, worker, strlen(worker));
    pho_catalog__bind_int(s, 2, lease_s);
    return pho_catalog__run(s, err, "cannot extend a lease");
}

int pho_catalog_jobs_expire(struct pho_catalog *cat, int max_attempts, int64_t *expired,
                            struct pho_err *err)
{
    if (expired)
        *expired = 0;
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_JOBS_EXPIRE, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_int(s, 1, max_attempts);
    rc = pho_catalog__run(s, err, "cannot queue expired jobs again");
    if (rc == 0 && expired)
        *expired = pho_catalog__changes(s);
    return rc;
}

int pho_catalog_jobs_count(struct pho_catalog *cat, int64_t run, int64_t counts[PHO_JOB_STATES],
                           struct pho_err *err)
{
    memset(counts, 0, sizeof(int64_t) * PHO_JOB_STATES);
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_JOBS_COUNT, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_int(s, 1, run);
    bool row = false;
    while ((rc = pho_catalog__step(s, &row, err, "cannot count jobs")) == 0 && row) {
        int64_t state = pho_catalog__col_int(s, 0);
        if (state >= 0 && state < PHO_JOB_STATES)
            counts[state] = pho_catalog__col_int(s, 1);
    }
    pho_catalog__reset(s);
    return rc;
}

int pho_catalog_jobs_forget(struct pho_catalog *cat, int64_t run, struct pho_err *err)
{
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_JOBS_FORGET, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_int(s, 1, run);
    return pho_catalog__run(s, err, "cannot forget a run's jobs");
}

int pho_catalog_jobs_forget_before(struct pho_catalog *cat, int64_t run, struct pho_err *err)
{
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_JOBS_FORGET_BEFORE, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_int(s, 1, run);
    return pho_catalog__run(s, err, "cannot forget earlier runs' jobs");
}
