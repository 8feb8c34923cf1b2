/* SPDX-License-Identifier: MIT */
/*
 * Stage: plan. The groups the grouper found become group plans: folder,
 * members in capture-time order, file names that can exist in OUT.
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

static bool has_capture_time(const struct pho_meta *m)
{
    /* A file's mtime says when it was copied, not when it was taken. */
    return m->time.source != PHO_TIME_NONE && m->time.source != PHO_TIME_MTIME;
}

static double capture_seconds(const struct pho_photo *p)
{
    return (double)p->meta.time.local + p->meta.time.nsec / 1e9;
}

/* FNV-1a of @a, a NUL, then @b; never 0. */
static uint32_t fnv2(const char *a, const char *b)
{
    uint32_t h = 2166136261u;
    for (const char *s = a;; s++) {
        h = (h ^ (uint8_t)*s) * 16777619u;
        if (!*s)
            break;
    }
    for (const char *s = b; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h ? h : 1;
}

/* Which camera model took the photo: make and model, 0 when neither is known. */
static uint32_t camera_id(const struct pho_meta *m)
{
    return m->make[0] || m->model[0] ? fnv2(m->make, m->model) : 0;
}

/* Which body of that model: its serial number, 0 when the photo does not say. */
static uint32_t body_id(const struct pho_meta *m)
{
    return m->serial[0] ? fnv2(m->model, m->serial) : 0;
}

void pho_organize__group_item(struct pho_group_item *item, const struct pho_photo *p,
                              enum pho_hash_kind hash)
{
    memset(item, 0, sizeof(*item));
    item->hash = hash == PHO_HASH_PHASH ? p->phash : p->dhash;
    item->has_time = has_capture_time(&p->meta);
    item->time = capture_seconds(p);
    item->dhash = p->dhash;
    item->phash = p->phash;
    item->sig = &p->sig;
    item->camera = camera_id(&p->meta);
    item->body = body_id(&p->meta);
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
        char *fitted = pho_organize__fit_name(base_name(photos[members[k]].rel), PHO_OUT_NAME_MAX,
                                              &shortened);
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
                char *refit = pho_organize__fit_name(unique, PHO_OUT_NAME_MAX, &shortened);
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

int pho_organize__plan(struct run *run, struct pho_err *err)
{
    struct pho_organize_result *r = run->r;
    pho_organize__groups_clear(r); /* grouping again after the quality stage lost a photo */
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
        pho_organize__group_item(&items[n], p, run->o->hash);
        map[n++] = i;
    }
    struct pho_group_opts go = PHO_GROUP_OPTS_INIT;
    go.rule = run->o->grouping;
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
        if (rc == 0 && groups->why) {
            struct pho_group_why *links = pho_calloc(count, sizeof(*links));
            r->groups[g].links = links;
            for (size_t k = 0; links && k < count; k++) {
                links[k] = groups->why[first + k];
                if (links[k].via != SIZE_MAX)
                    links[k].via = map[links[k].via];
            }
            rc = links ? 0 : PHO_ENOMEM;
        }
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
