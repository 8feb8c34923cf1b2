/* SPDX-License-Identifier: MIT */
/*
 * Stage: quality. A photo hashed from its embedded EXIF thumbnail (analyse.c)
 * has had none of its own pixels decoded. The members of groups need their
 * image quality for the best shot, and need to be shown to decode at all:
 * each is decoded here at the working size and measured, in parallel chunks
 * committed to the catalog one by one, like analyse. A member whose pixels
 * turn out unreadable becomes a failed photo, and the caller groups again
 * without it. Photos in no group are never decoded: the organizer has no use
 * for their quality (docs/grouping.md, "Thumbnails").
 */
#include "core/common.h"

#include <math.h>

#include "organize/internal.h"
#include "organize/run.h"
#include "pho/image.h"
#include "pho/parallel.h"
#include "pho/quality.h"

void pho_organize__quality_unknown(struct pho_quality *q)
{
    q->sharpness = q->clipped_high = q->clipped_low = q->mean_luma = NAN;
    q->noise = q->brisque = q->megapixels = q->score = NAN;
}

int pho_organize__measure(struct pho_photo *p, const struct pho_image *img,
                          const struct pho_brisque *brisque, struct pho_err *err)
{
    double mp = (double)p->meta.width * p->meta.height / 1e6;
    return pho_quality_measure(&p->quality, img, mp, brisque, err);
}

struct chunk {
    struct run *run;
    const size_t *idx;
    size_t *failed; /* atomic */
};

int pho_organize__measure_photo(struct run *run, struct pho_photo *p)
{
    struct pho_image_opts io;
    pho_organize__work_opts(&io, run->o->max_pixels);
    struct pho_image *img = NULL;
    struct pho_meta m;
    struct pho_err err = PHO_ERR_INIT;
    int rc = pho_image_load(&img, p->path, &io, &m, &err);
    if (rc == 0)
        rc = pho_organize__measure(p, img, run->brisque, &err);
    pho_image_free(img);
    if (rc)
        pho_organize__fail(run, p, &err, rc);
    return rc;
}

static void measure_one(void *ud, size_t i, unsigned worker)
{
    struct chunk *c = ud;
    PHO_UNUSED(worker);
    struct run *run = c->run;
    if (pho_organize__cancelled(run))
        return;
    struct pho_photo *p = &run->r->photos[c->idx[i]];
    if (pho_organize__measure_photo(run, p))
        __atomic_fetch_add(c->failed, 1, __ATOMIC_RELAXED);
    pho_organize__step_done(run, 1, p->rel);
}

/* Distributed: the members are measured by the workers; those measured (or found
 * unreadable) leave @todo. */
static int measure_distributed(struct run *run, size_t *n, size_t *failed, struct pho_err *err)
{
    struct pho_organize_result *r = run->r;
    int rc = pho_organize__distribute(run, "measure", run->todo, *n, err);
    size_t left = 0;
    for (size_t k = 0; rc == 0 && k < *n; k++) {
        struct pho_photo *p = &r->photos[run->todo[k]];
        bool found = false;
        rc = pho_catalog_lookup(run->cat, p, &found, err);
        p->from_catalog = false;
        if (found && p->error) {
            pho_organize__report_failure(run, p);
            (*failed)++;
        } else if (!found || isnan(p->quality.score)) {
            run->todo[left++] = run->todo[k];
        }
    }
    *n = left;
    return rc;
}

int pho_organize__quality(struct run *run, size_t *failed, struct pho_err *err)
{
    struct pho_organize_result *r = run->r;
    *failed = 0;
    size_t n = 0;
    for (size_t g = 0; g < r->ngroups; g++)
        for (size_t k = 0; k < r->groups[g].count; k++) {
            const struct pho_photo *p = &r->photos[r->groups[g].members[k]];
            if (p->analysed && isnan(p->quality.score))
                run->todo[n++] = r->groups[g].members[k];
        }
    if (n == 0)
        return 0;
    pho_organize__stage_begin(run, PHO_STAGE_QUALITY, n);
    if (run->o->distributed && run->cat) {
        int rc = measure_distributed(run, &n, failed, err);
        if (rc)
            return rc;
    }
    size_t chunk = (size_t)run->threads * 16;
    for (size_t first = 0; first < n; first += chunk) {
        if (pho_organize__cancelled(run))
            return PHO_EINTR;
        size_t count = PHO_MIN(chunk, n - first);
        struct chunk c = { run, run->todo + first, failed };
        pho_parallel_for(count, run->threads, measure_one, &c);
        int rc = pho_organize__store(run, c.idx, count, err);
        if (rc)
            return rc;
    }
    return pho_organize__cancelled(run) ? PHO_EINTR : 0;
}
