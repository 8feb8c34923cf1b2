/* SPDX-License-Identifier: MIT */
/*
 * Shots (docs/shots.md): after the scan, the files of one capture are tied to
 * the file that is analysed, and sidecars to the file they describe
 * (collect); after the analysis, a RAW+rendition pair whose capture times
 * disagree is two shots after all, and a video whose content identifier is
 * not its still's is not its Live Photo's (confirm); then Takeout JSON fills in the
 * capture time and place a photo lacks (takeout). The catalog keeps each
 * file's own metadata; the Takeout overlay is applied on every run.
 */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "organize/run.h"
#include "pho/log.h"
#include "pho/shot.h"

static int cmp_companion(const void *pa, const void *pb)
{
    const struct pho_companion *a = pa, *b = pb;
    if (a->owner != b->owner)
        return a->owner < b->owner ? -1 : 1;
    return strcmp(a->rel, b->rel);
}

/* Rebuilds r->shot_next from the photos' part_of. */
static void link_shots(struct pho_organize_result *r)
{
    size_t *last = r->shot_next; /* reused: built back to front */
    for (size_t i = 0; i < r->nphotos; i++)
        last[i] = SIZE_MAX;
    /* Each main file's chain: the main, then its parts in scan order. */
    for (size_t i = r->nphotos; i-- > 0;) {
        size_t m = r->photos[i].part_of;
        if (m == SIZE_MAX || m >= r->nphotos)
            continue;
        last[i] = last[m];
        last[m] = i;
    }
}

int pho_organize__shots_collect(struct run *run, const struct pho_scan_list *list,
                                struct pho_err *err)
{
    struct pho_organize_result *r = run->r;
    struct pho_shot_map *map = NULL;
    r->shot_next = pho_calloc(r->nphotos ? r->nphotos : 1, sizeof(*r->shot_next));
    if (!r->shot_next)
        return pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
    int rc = pho_shot_assemble(&map, list, err);
    if (rc)
        return rc;
    /* The scan's items are the first list->count photos, in order. */
    for (size_t i = 0; i < list->count; i++) {
        struct pho_photo *p = &r->photos[i];
        p->part_of = map->part_of[i];
        p->shot_role = map->role[i];
        p->edit_of = map->edit_of[i];
        p->edit_kind = map->edit_kind[i];
    }
    size_t n = 0;
    for (size_t k = 0; k < list->nothers; k++)
        n += map->owner[k] != SIZE_MAX;
    r->companions = pho_calloc(n ? n : 1, sizeof(*r->companions));
    if (!r->companions) {
        rc = pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        goto out;
    }
    for (size_t k = 0; k < list->nothers; k++) {
        if (map->owner[k] == SIZE_MAX)
            continue;
        const struct pho_scan_item *it = &list->others[k];
        struct pho_companion *c = &r->companions[r->ncompanions++];
        c->path = pho_strdup(it->path);
        c->rel = pho_strdup(it->rel);
        c->size = it->size;
        c->mtime_ns = it->mtime * 1000000000LL + it->mtime_nsec;
        c->kind = map->kind[k];
        c->owner = map->owner[k];
        if (!c->path || !c->rel) {
            rc = pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
            goto out;
        }
    }
    if (r->ncompanions)
        qsort(r->companions, r->ncompanions, sizeof(*r->companions), cmp_companion);
    link_shots(r);
out:
    pho_shot_map_free(map);
    return rc;
}

const struct pho_companion *pho_organize_companions(const struct pho_organize_result *r,
                                                    size_t photo, size_t *count)
{
    *count = 0;
    size_t lo = 0, hi = r->ncompanions;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->companions[mid].owner < photo)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < r->ncompanions && r->companions[end].owner == photo)
        end++;
    *count = end - lo;
    return *count ? &r->companions[lo] : NULL;
}

/* A RAW and its rendition are one capture when their clocks agree within a second
 * (the camera writes both; a rendition exported later carries the same EXIF time). */
#define SHOT_MAX_GAP 1.0

/* A Live Photo's video whose content identifier is not its still's is another capture's:
 * it no longer travels with the still (it stays in the source). */
static void confirm_videos(struct pho_organize_result *r)
{
    size_t dropped = 0;
    for (size_t k = 0; k < r->ncompanions; k++) {
        struct pho_companion *c = &r->companions[k];
        const struct pho_photo *p = &r->photos[c->owner];
        if (c->kind != PHO_COMPANION_VIDEO || !p->meta.content_id[0])
            continue;
        char id[sizeof(p->meta.content_id)];
        struct pho_err e = PHO_ERR_INIT;
        if (pho_shot_video_content_id(id, sizeof(id), c->path, &e) < 0 || !id[0] ||
            !strcmp(id, p->meta.content_id))
            continue;
        pho_log(PHO_LOG_INFO, "shots", "%s is not the video of %s (another content identifier)",
                c->rel, p->rel);
        c->owner = SIZE_MAX;
        dropped++;
    }
    if (!dropped)
        return;
    /* Owners of SIZE_MAX sort last. */
    qsort(r->companions, r->ncompanions, sizeof(*r->companions), cmp_companion);
    for (size_t k = r->ncompanions - dropped; k < r->ncompanions; k++) {
        pho_free(r->companions[k].path);
        pho_free(r->companions[k].rel);
    }
    r->ncompanions -= dropped;
}

size_t pho_organize__shots_confirm(struct run *run, size_t *todo)
{
    struct pho_organize_result *r = run->r;
    size_t n = 0;
    bool changed = false;
    for (size_t i = 0; i < r->nphotos; i++) {
        struct pho_photo *p = &r->photos[i];
        if (p->part_of == SIZE_MAX)
            continue;
        const struct pho_photo *m = &r->photos[p->part_of];
        bool apart = !m->error && !p->error && pho_organize__has_capture_time(&m->meta) &&
                     pho_organize__has_capture_time(&p->meta) &&
                     fabs(pho_time_diff(&m->meta.time, &p->meta.time)) > SHOT_MAX_GAP;
        /* The rendition unreadable: the RAW is what is left of the shot. */
        bool orphan = m->error && !p->error;
        if (!apart && !orphan)
            continue;
        pho_log(PHO_LOG_INFO, "shots", "%s and %s %s: not one shot", p->rel, m->rel,
                orphan ? "(unreadable)" : "were taken at different times");
        p->part_of = SIZE_MAX;
        p->shot_role = 0;
        changed = true;
        if (!p->analysed)
            todo[n++] = i;
    }
    if (changed)
        link_shots(r);
    confirm_videos(r);
    return n;
}

void pho_organize__shots_takeout(struct run *run)
{
    struct pho_organize_result *r = run->r;
    for (size_t k = 0; k < r->ncompanions; k++) {
        const struct pho_companion *c = &r->companions[k];
        struct pho_photo *p = &r->photos[c->owner];
        if (c->kind != PHO_COMPANION_TAKEOUT || p->error)
            continue;
        struct pho_err e = PHO_ERR_INIT;
        if (pho_takeout_apply(&p->meta, c->path, &e) < 0) {
            pho_log(PHO_LOG_WARN, "shots", "%s: %s", c->rel, e.msg);
            if (!p->meta.note[0]) {
                pho_strlcpy(p->meta.note, "Takeout sidecar not read: ", sizeof(p->meta.note));
                pho_strlcpy(p->meta.note + strlen(p->meta.note), e.msg,
                            sizeof(p->meta.note) - strlen(p->meta.note));
            }
        }
    }
}
