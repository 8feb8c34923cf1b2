/* SPDX-License-Identifier: MIT */
/*
 * Stage: analyse. Photos the catalog does not know are hashed, in parallel
 * chunks committed to the catalog one by one (a kill loses at most the
 * chunk in flight). A JPEG whose EXIF thumbnail can stand in for it is
 * hashed from that thumbnail and measured later, only if a group needs it
 * (quality.c); every other photo is decoded once at the working size,
 * hashed and measured here.
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

void pho_organize__work_opts(struct pho_image_opts *io, uint64_t max_pixels)
{
    *io = (struct pho_image_opts)PHO_IMAGE_OPTS_INIT;
    io->max_size = WORK_SIZE;
    io->allow_larger = true;
    io->max_pixels = max_pixels;
}

int pho_organize__load_hashed(struct pho_image **img, struct pho_photo *p, uint64_t max_pixels,
                              bool thumbnail_ok, struct pho_err *err)
{
    struct pho_image_opts io;
    pho_organize__work_opts(&io, max_pixels);
    io.thumbnail_ok = thumbnail_ok;
    *img = NULL;
    int rc = pho_image_load(img, p->path, &io, &p->meta, err);
    p->hashed_from_thumbnail = rc == 0 && (*img)->from_thumbnail;
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

/* The RAW of a shot: its metadata is read (its capture time confirms the pair), its pixels
 * are the rendition's business. */
static void probe_photo(struct run *run, struct pho_photo *p)
{
    struct pho_err err = PHO_ERR_INIT;
    struct pho_image_opts io;
    pho_organize__work_opts(&io, run->o->max_pixels);
    int rc = pho_image_probe(&p->meta, p->path, &io, &err);
    if (rc) {
        pho_organize__fail(run, p, &err, rc);
    } else {
        p->probed = true;
        p->analysed = false;
        p->error = 0;
        p->error_msg[0] = '\0';
    }
}

void pho_organize__analyse_photo(struct run *run, struct pho_photo *p)
{
    if (p->part_of != SIZE_MAX) {
        probe_photo(run, p);
        return;
    }
    struct pho_image *img = NULL;
    struct pho_err err = PHO_ERR_INIT;
    /* The classic rule keeps the original's meaning of -t: bits of the photo's own hash. */
    bool thumbnail_ok = run->o->grouping == PHO_GROUP_RULE_AUTO;
    int rc = pho_organize__load_hashed(&img, p, run->o->max_pixels, thumbnail_ok, &err);
    if (rc == 0 && img->from_thumbnail)
        pho_organize__quality_unknown(&p->quality);
    else if (rc == 0)
        rc = pho_organize__measure(p, img, run->brisque, &err);
    pho_image_free(img);
    if (rc) {
        pho_organize__fail(run, p, &err, rc);
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
    pho_organize__analyse_photo(c->run, p);
    pho_organize__step_done(c->run, 1, p->rel);
}

int pho_organize__store(struct run *run, const size_t *idx, size_t count, struct pho_err *err)
{
    if (!run->cat)
        return 0;
    int rc = pho_catalog_begin(run->cat, err);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const struct pho_photo *p = &run->r->photos[idx[i]];
        /* Photos skipped by a cancellation have neither result nor error yet. */
        if (p->analysed || p->error || p->probed)
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
        int rc = pho_organize__store(run, run->todo + c.first, c.count, err);
        if (rc)
            return rc;
    }
    return pho_organize__cancelled(run) ? PHO_EINTR : 0;
}
