/* SPDX-License-Identifier: MIT */
/*
 * Stage: analyse. Photos the catalog does not know are decoded once at the
 * working size, hashed and measured, in parallel chunks committed to the
 * catalog one by one (a kill loses at most the chunk in flight).
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

int pho_organize__load_hashed(struct pho_image **img, struct pho_photo *p, uint64_t max_pixels,
                              struct pho_err *err)
{
    struct pho_image_opts io = PHO_IMAGE_OPTS_INIT;
    io.max_size = WORK_SIZE;
    io.allow_larger = true;
    io.max_pixels = max_pixels;
    *img = NULL;
    int rc = pho_image_load(img, p->path, &io, &p->meta, err);
    if (rc == 0)
        rc = pho_hash_dhash(&p->dhash, *img);
    if (rc == 0)
        rc = pho_hash_phash(&p->phash, *img);
    if (rc == 0)
        rc = pho_hash_signature(&p->sig, *img);
    if (rc) {
        pho_image_free(*img);
        *img = NULL;
    }
    return rc;
}

static void analyse_photo(struct run *run, struct pho_photo *p)
{
    struct pho_image *img = NULL;
    struct pho_err err = PHO_ERR_INIT;
    int rc = pho_organize__load_hashed(&img, p, run->o->max_pixels, &err);
    if (rc == 0) {
        double mp = (double)p->meta.width * p->meta.height / 1e6;
        rc = pho_quality_measure(&p->quality, img, mp, run->brisque, &err);
    }
    pho_image_free(img);
    if (rc) {
        if (!err.msg[0])
            pho_err_set(&err, rc, "analyse: %s", pho_strerror(rc));
        pho_organize__set_error(p, &err, rc);
        pho_organize__report_failure(run, p);
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
    if (pho_organize__cancelled(c->run))
        return;
    struct pho_photo *p = &c->run->r->photos[c->run->todo[c->first + i]];
    analyse_photo(c->run, p);
    pho_organize__step_done(c->run, 1, p->rel);
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

int pho_organize__analyse(struct run *run, size_t ntodo, struct pho_err *err)
{
    /* Chunks bound what a kill can lose and keep catalog transactions large. */
    size_t chunk = (size_t)run->threads * 16;
    for (size_t first = 0; first < ntodo; first += chunk) {
        if (pho_organize__cancelled(run))
            return PHO_EINTR;
        struct chunk c = { run, first, PHO_MIN(chunk, ntodo - first) };
        pho_parallel_for(c.count, run->threads, analyse_one, &c);
        int rc = store_chunk(run, c.first, c.count, err);
        if (rc)
            return rc;
    }
    return pho_organize__cancelled(run) ? PHO_EINTR : 0;
}
