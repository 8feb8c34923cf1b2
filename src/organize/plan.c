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

bool pho_organize__has_capture_time(const struct pho_meta *m)
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
    item->has_time = pho_organize__has_capture_time(&p->meta);
    item->time = capture_seconds(p);
    item->dhash = p->dhash;
    item->phash = p->phash;
    item->sig = &p->sig;
    item->camera = camera_id(&p->meta);
    item->body = body_id(&p->meta);
}

/* ---- edits stay with their originals ---- */

static size_t uf_find(size_t *parent, size_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

/* Hangs the link tree containing @at from @at: @at gets link @in (to @from), and every link
 * on the old path from @at to the old root is reversed (a link's signals are symmetric). */
static void reroot(struct pho_group_why *w, size_t n, size_t at, struct pho_group_why in,
                   size_t from)
{
    size_t prev = from, cur = at;
    for (size_t guard = 0; cur != SIZE_MAX && guard <= n; guard++) {
        struct pho_group_why old = w[cur];
        w[cur] = in;
        w[cur].via = prev;
        in = old;
        prev = cur;
        cur = old.via;
    }
}

struct keyed {
    double time;
    size_t item;
};

static int cmp_keyed(const void *pa, const void *pb)
{
    const struct keyed *a = pa, *b = pb;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return (a->item > b->item) - (a->item < b->item);
}

int pho_organize__regroup(struct pho_groups **gs, const struct pho_group_item *items, size_t n,
                          size_t *parent, struct pho_group_why *w, size_t min)
{
    size_t *count = pho_calloc(n ? n : 1, sizeof(*count));
    struct keyed *keys = pho_calloc(n ? n : 1, sizeof(*keys));
    struct keyed *firsts = pho_calloc(n ? n : 1, sizeof(*firsts));
    size_t *start = pho_calloc(n + 1, sizeof(*start));
    struct pho_groups *out = pho_calloc(1, sizeof(*out));
    int rc = PHO_ENOMEM;
    if (!count || !keys || !firsts || !start || !out)
        goto out;
    for (size_t i = 0; i < n; i++)
        count[uf_find(parent, i)]++;
    /* Members of each kept component, sorted; then the components by first member. */
    size_t at = 0, ngroups = 0;
    for (size_t root = 0; root < n; root++) {
        if (count[root] < min)
            continue;
        start[root] = at;
        at += count[root];
    }
    size_t total = at;
    size_t *fill = pho_calloc(n ? n : 1, sizeof(*fill));
    if (!fill)
        goto out;
    for (size_t i = 0; i < n; i++) {
        size_t root = uf_find(parent, i);
        if (count[root] >= min)
            keys[start[root] + fill[root]++] = (struct keyed){ items[i].time, i };
    }
    pho_free(fill);
    for (size_t root = 0; root < n; root++) {
        if (count[root] < min)
            continue;
        qsort(keys + start[root], count[root], sizeof(*keys), cmp_keyed);
        firsts[ngroups++] = keys[start[root]]; /* the first member: time, then index */
    }
    qsort(firsts, ngroups, sizeof(*firsts), cmp_keyed);
    out->offsets = pho_calloc(ngroups + 1, sizeof(*out->offsets));
    out->members = pho_calloc(total ? total : 1, sizeof(*out->members));
    out->why = w ? pho_calloc(total ? total : 1, sizeof(*out->why)) : NULL;
    if (!out->offsets || !out->members || (w && !out->why))
        goto out;
    size_t m = 0;
    for (size_t g = 0; g < ngroups; g++) {
        size_t root = uf_find(parent, firsts[g].item);
        const struct keyed *k = keys + start[root];
        if (w) /* the first member is where its group's links start from */
            reroot(w, n, k[0].item,
                   (struct pho_group_why){ .via = SIZE_MAX,
                                           .score = NAN,
                                           .needed_score = NAN,
                                           .colour = NAN,
                                           .gap = NAN },
                   SIZE_MAX);
        for (size_t j = 0; j < count[root]; j++) {
            out->members[m] = k[j].item;
            if (w)
                out->why[m] = w[k[j].item];
            m++;
        }
        out->offsets[g + 1] = m;
    }
    out->count = ngroups;
    out->pairs_compared = (*gs)->pairs_compared;
    out->links = (*gs)->links;
    out->chains_split = (*gs)->chains_split;
    pho_groups_free(*gs);
    *gs = out;
    out = NULL;
    rc = 0;
out:
    pho_groups_free(out);
    pho_free(count);
    pho_free(keys);
    pho_free(firsts);
    pho_free(start);
    return rc;
}

/* An edit or copy (IMG_E1234, -edited, (1)) always shares its original's group, and
 * the two form one when together they are enough (docs/shots.md). Leaves @gs as it is
 * when no edit changes it. */
static int attach_edits(struct pho_groups **gs, const struct pho_group_item *items, size_t n,
                        const size_t *map, const struct pho_organize_result *r, size_t min)
{
    bool any = false;
    for (size_t k = 0; k < n && !any; k++)
        any = r->photos[map[k]].edit_of != SIZE_MAX;
    if (!any)
        return 0;
    size_t *item_of = pho_calloc(r->nphotos ? r->nphotos : 1, sizeof(*item_of));
    size_t *parent = pho_calloc(n ? n : 1, sizeof(*parent));
    struct pho_group_why *w = (*gs)->why ? pho_calloc(n ? n : 1, sizeof(*w)) : NULL;
    int rc = PHO_ENOMEM;
    if (!item_of || !parent || ((*gs)->why && !w))
        goto out;
    for (size_t i = 0; i < r->nphotos; i++)
        item_of[i] = SIZE_MAX;
    for (size_t k = 0; k < n; k++) {
        item_of[map[k]] = k;
        parent[k] = k;
        if (w)
            w[k] = (struct pho_group_why){
                .via = SIZE_MAX, .score = NAN, .needed_score = NAN, .colour = NAN, .gap = NAN
            };
    }
    const struct pho_groups *g = *gs;
    for (size_t j = 0; j < g->count; j++) {
        for (size_t i = g->offsets[j]; i < g->offsets[j + 1]; i++) {
            size_t a = uf_find(parent, g->members[g->offsets[j]]),
                   b = uf_find(parent, g->members[i]);
            parent[b] = a;
            if (w)
                w[g->members[i]] = g->why[i];
        }
    }
    bool changed = false;
    for (size_t k = 0; k < n; k++) {
        size_t o = r->photos[map[k]].edit_of;
        if (o == SIZE_MAX || item_of[o] == SIZE_MAX)
            continue;
        size_t a = uf_find(parent, item_of[o]), b = uf_find(parent, k);
        if (a == b)
            continue;
        parent[b] = a;
        changed = true;
        if (w) {
            struct pho_group_why e;
            pho_group_explain(&e, &items[k], &items[item_of[o]]);
            e.reason = PHO_GROUP_EDIT;
            reroot(w, n, k, e, item_of[o]);
        }
    }
    rc = changed ? pho_organize__regroup(gs, items, n, parent, w, min) : 0;
out:
    pho_free(item_of);
    pho_free(parent);
    pho_free(w);
    return rc;
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
        if (!p->analysed || p->part_of != SIZE_MAX) /* a shot is grouped by its main file */
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
    if (rc == 0 && (rc = attach_edits(&groups, items, n, map, r, go.min_group_size)))
        rc = pho_err_set(err, rc, "organize: out of memory");
    /* The user's moves, merges and splits, after the rule (docs/decisions.md). */
    if (rc == 0 && (rc = pho_organize__decide_groups(run, &groups, items, n, map)))
        rc = pho_err_set(err, rc, "organize: out of memory");
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
        rc = pho_organize__plan_group(&r->groups[g], r, members, count, g);
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
