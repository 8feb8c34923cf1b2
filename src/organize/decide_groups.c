/* SPDX-License-Identifier: MIT */
/*
 * The user's decisions about groups (docs/decisions.md), applied to what the rule grouped,
 * in the order they were made: move a photo to another photo's group, merge two groups,
 * split a group at a photo, ungroup, take a photo out. They are stated with photos, not
 * group numbers (those change from run to run), so every later run, whatever its rule
 * found, ends with what the user asked for. A decision about a photo that is not there
 * waits and applies again when it is.
 *
 * Groups are labels here: every item has one (an item alone has a label of its own), each
 * decision relabels, and the labels become groups again (plan.c's regroup), keeping any
 * two items together: a group the user made counts from two photos whatever the minimum.
 */
#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "organize/run.h"

struct by_rel {
    const char *rel;
    size_t item;
};

static int cmp_rel(const void *pa, const void *pb)
{
    return strcmp(((const struct by_rel *)pa)->rel, ((const struct by_rel *)pb)->rel);
}

static size_t find(const struct by_rel *idx, size_t n, const char *rel)
{
    if (!rel || !*rel)
        return SIZE_MAX;
    struct by_rel key = { .rel = rel };
    const struct by_rel *hit = bsearch(&key, idx, n, sizeof(*idx), cmp_rel);
    return hit ? hit->item : SIZE_MAX;
}

static bool is_group_kind(const char *kind)
{
    return !strcmp(kind, "move") || !strcmp(kind, "merge") || !strcmp(kind, "split") ||
           !strcmp(kind, "ungroup") || !strcmp(kind, "detach");
}

/* Item @a comes before item @b in a group's order (time, then index: as regroup sorts). */
static bool before(const struct pho_group_item *items, size_t a, size_t b)
{
    if (items[a].time != items[b].time)
        return items[a].time < items[b].time;
    return a < b;
}

/* One decision on the labels; @fresh hands out labels no item has yet. */
static void apply(size_t *label, const struct pho_group_item *items, size_t n,
                  const struct pho_decision *d, size_t p, size_t q, size_t *fresh)
{
    size_t lp = label[p];
    if (!strcmp(d->kind, "move")) {
        if (q == SIZE_MAX || p == q)
            return;
        label[p] = label[q];
    } else if (!strcmp(d->kind, "merge")) {
        if (q == SIZE_MAX || label[q] == lp)
            return;
        for (size_t k = 0; k < n; k++)
            if (label[k] == lp)
                label[k] = label[q];
    } else if (!strcmp(d->kind, "split")) {
        size_t nl = (*fresh)++;
        for (size_t k = 0; k < n; k++)
            if (label[k] == lp && !before(items, k, p))
                label[k] = nl;
    } else if (!strcmp(d->kind, "ungroup")) {
        for (size_t k = 0; k < n; k++)
            if (label[k] == lp)
                label[k] = (*fresh)++;
    } else if (!strcmp(d->kind, "detach")) {
        label[p] = (*fresh)++;
    }
}

int pho_organize__decide_groups(struct run *run, struct pho_groups **gs,
                                const struct pho_group_item *items, size_t n, const size_t *map)
{
    bool any = false;
    for (size_t i = 0; i < run->ndecisions && !any; i++)
        any = is_group_kind(run->decisions[i].kind);
    if (!any || n == 0)
        return 0;
    const struct pho_groups *g = *gs;
    size_t *label = pho_calloc(n, sizeof(*label));
    size_t *parent = pho_calloc(n, sizeof(*parent));
    size_t *first = NULL;
    struct by_rel *idx = pho_calloc(n, sizeof(*idx));
    struct pho_group_why *w = g->why ? pho_calloc(n, sizeof(*w)) : NULL;
    int rc = PHO_ENOMEM;
    if (!label || !parent || !idx || (g->why && !w))
        goto out;
    const struct pho_group_why none = {
        .via = SIZE_MAX, .score = NAN, .needed_score = NAN, .colour = NAN, .gap = NAN
    };
    for (size_t k = 0; k < n; k++) {
        label[k] = k; /* alone */
        idx[k] = (struct by_rel){ run->r->photos[map[k]].rel, k };
        if (w)
            w[k] = none;
    }
    for (size_t j = 0; j < g->count; j++)
        for (size_t i = g->offsets[j]; i < g->offsets[j + 1]; i++) {
            label[g->members[i]] = g->members[g->offsets[j]];
            if (w)
                w[g->members[i]] = g->why[i];
        }
    qsort(idx, n, sizeof(*idx), cmp_rel);
    size_t fresh = n;
    for (size_t i = 0; i < run->ndecisions; i++) {
        const struct pho_decision *d = &run->decisions[i];
        if (!is_group_kind(d->kind))
            continue;
        size_t p = find(idx, n, d->photo);
        if (p != SIZE_MAX)
            apply(label, items, n, d, p, find(idx, n, d->other), &fresh);
    }
    /* Labels to a forest regroup reads: each item under the first item of its label. */
    if (!(first = pho_calloc(fresh, sizeof(*first))))
        goto out;
    for (size_t l = 0; l < fresh; l++)
        first[l] = SIZE_MAX;
    for (size_t k = 0; k < n; k++) {
        if (first[label[k]] == SIZE_MAX)
            first[label[k]] = k;
        parent[k] = first[label[k]];
    }
    /* A link to a photo now in another group is no longer how it joined: such photos were
     * placed by the user (below). */
    for (size_t k = 0; w && k < n; k++)
        if (w[k].via != SIZE_MAX && label[w[k].via] != label[k])
            w[k] = none;
    rc = pho_organize__regroup(gs, items, n, parent, w, 2);
    if (rc || !w)
        goto out;
    /* Every member but the first that has no link now was put there by the user. */
    g = *gs;
    for (size_t j = 0; j < g->count; j++)
        for (size_t i = g->offsets[j] + 1; i < g->offsets[j + 1]; i++)
            if (g->why[i].via == SIZE_MAX) {
                g->why[i] = none;
                g->why[i].via = g->members[g->offsets[j]];
                g->why[i].reason = PHO_GROUP_USER;
            }
out:
    pho_free(label);
    pho_free(parent);
    pho_free(first);
    pho_free(idx);
    pho_free(w);
    return rc;
}
