/* SPDX-License-Identifier: MIT */
/*
 * The original tool's rule (PHO_GROUP_RULE_CLASSIC) and the entry point of
 * both rules: links are a hash distance within the threshold and, with the
 * time window on, capture times close enough (the search is search.c); the
 * connected components of those links; a guard that splits components that
 * are long chains rather than one scene. The auto rule is auto.c.
 * docs/grouping.md explains the rules and their costs. Components are a
 * function of the link set alone, so nothing depends on the thread count.
 */
#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "group/internal.h"
#include "group/search.h"
#include "pho/group.h"
#include "pho/parallel.h"

/* ---- the chain guard ---------------------------------------------------------- */

struct grouping {
    const struct pho_group_item *items;
    int t;
    double w;
    size_t min_size;
    unsigned threads;
    /* final groups, in global indices */
    uint32_t *member;
    size_t nmember, capmember;
    size_t *off; /* group g: member[off[g] .. off[g + 1]) */
    size_t ngroup, capgroup;
    size_t compared, links, chains_split;
};

static int add_group(struct grouping *g, const uint32_t *ids, size_t n, const uint32_t *map)
{
    if (n < g->min_size)
        return 0;
    if (g->nmember + n > g->capmember) {
        size_t cap = PHO_MAX(g->capmember * 2, g->nmember + n);
        uint32_t *m = pho_reallocarray(g->member, cap, sizeof(*m));
        if (!m)
            return PHO_ENOMEM;
        g->member = m;
        g->capmember = cap;
    }
    if (g->ngroup + 2 > g->capgroup) {
        size_t cap = PHO_MAX(g->capgroup * 2, (size_t)64);
        size_t *o = pho_reallocarray(g->off, cap, sizeof(*o));
        if (!o)
            return PHO_ENOMEM;
        g->off = o;
        g->capgroup = cap;
    }
    if (g->ngroup == 0)
        g->off[0] = 0;
    for (size_t i = 0; i < n; i++)
        g->member[g->nmember++] = map ? map[ids[i]] : ids[i];
    g->off[++g->ngroup] = g->nmember;
    return 0;
}

/* Is a better center than b (closer to the majority hash; ties by time, hash, index)? */
static bool better_center(const struct pho_group_item *items, uint32_t a, int da, uint32_t b,
                          int db)
{
    if (da != db)
        return da < db;
    uint64_t ta = pho_group__time_key(items[a].time), tb = pho_group__time_key(items[b].time);
    if (ta != tb)
        return ta < tb;
    if (items[a].hash != items[b].hash)
        return items[a].hash < items[b].hash;
    return a < b;
}

/*
 * The member closest to the bitwise majority of the members' hashes (the
 * 64-bit string with the least total distance to them): a medoid found in
 * linear time. @p map turns list entries into item indices (NULL: identity).
 */
static uint32_t center_of(const struct pho_group_item *items, const uint32_t *list, size_t n,
                          const uint32_t *map)
{
    uint32_t ones[64] = { 0 };
    for (size_t i = 0; i < n; i++) {
        uint64_t h = items[map ? map[list[i]] : list[i]].hash;
        for (int b = 0; b < 64; b++)
            ones[b] += (h >> b) & 1;
    }
    uint64_t maj = 0;
    for (int b = 0; b < 64; b++)
        if ((size_t)ones[b] * 2 > n)
            maj |= (uint64_t)1 << b;
    uint32_t best = list[0];
    int bestd = 65;
    for (size_t i = 0; i < n; i++) {
        uint32_t x = list[i], ix = map ? map[x] : x;
        int d = __builtin_popcountll(items[ix].hash ^ maj);
        if (bestd == 65 || better_center(items, ix, d, map ? map[best] : best, bestd)) {
            best = x;
            bestd = d;
        }
    }
    return best;
}

static bool within_radius(const struct pho_group_item *items, const uint32_t *list, size_t n,
                          const uint32_t *map, uint32_t c, int radius)
{
    uint64_t hc = items[map ? map[c] : c].hash;
    for (size_t i = 0; i < n; i++)
        if (__builtin_popcountll(items[map ? map[list[i]] : list[i]].hash ^ hc) > radius)
            return false;
    return true;
}

/*
 * Divides a chain-like component (global indices @p comp) into pieces, each
 * connected and within 2 * threshold of its own center: while some member is
 * left, take its component among the remaining members; keep it whole if it
 * passes, else cut out the part reachable from its center without leaving
 * the 2t ball and go on with what remains.
 */
static int split_chain(struct grouping *g, const uint32_t *comp, uint32_t k)
{
    struct view v;
    struct search s = { 0 };
    uint32_t *deg = NULL, *adj = NULL, *stamp = NULL, *queue = NULL, *piece = NULL;
    uint8_t *alive = NULL;
    int radius = 2 * g->t;
    int rc = pho_group__view_init(&v, g->items, comp, k, g->w > 0);
    if (rc)
        return rc;
    s.v = &v;
    s.t = g->t;
    s.w = g->w;
    s.mode = EDGES;
    s.threads = g->threads;
    rc = pho_group__search_run(&s);
    if (rc)
        goto out;
    g->compared += s.compared;

    /* Adjacency in compressed rows. */
    deg = pho_calloc((size_t)k + 1, sizeof(*deg));
    adj = pho_reallocarray(NULL, s.nedge ? s.nedge * 2 : 1, sizeof(*adj));
    stamp = pho_calloc(k, sizeof(*stamp));
    queue = pho_reallocarray(NULL, k, sizeof(*queue));
    piece = pho_reallocarray(NULL, k, sizeof(*piece));
    alive = pho_reallocarray(NULL, k, 1);
    if (!deg || !adj || !stamp || !queue || !piece || !alive) {
        rc = PHO_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < s.nedge; i++) {
        deg[s.edge[i].a + 1]++;
        deg[s.edge[i].b + 1]++;
    }
    for (uint32_t i = 0; i < k; i++)
        deg[i + 1] += deg[i];
    for (size_t i = 0; i < s.nedge; i++) {
        adj[deg[s.edge[i].a]++] = s.edge[i].b;
        adj[deg[s.edge[i].b]++] = s.edge[i].a;
    }
    memmove(deg + 1, deg, (size_t)k * sizeof(*deg));
    deg[0] = 0;
    memset(alive, 1, k);

    uint32_t round = 0;
    for (uint32_t a = 0; a < k; a++) {
        while (alive[a]) {
            /* The component of a among the members still left (stamps avoid clearing). */
            round++;
            size_t n = 0;
            queue[n++] = a;
            stamp[a] = round;
            for (size_t h = 0; h < n; h++)
                for (uint32_t e = deg[queue[h]]; e < deg[queue[h] + 1]; e++) {
                    uint32_t y = adj[e];
                    if (alive[y] && stamp[y] != round) {
                        stamp[y] = round;
                        queue[n++] = y;
                    }
                }
            uint32_t c = center_of(g->items, queue, n, comp);
            if (within_radius(g->items, queue, n, comp, c, radius)) {
                for (size_t i = 0; i < n; i++)
                    alive[queue[i]] = 0;
                rc = add_group(g, queue, n, comp);
                if (rc)
                    goto out;
                continue;
            }
            /* Cut out what c reaches without leaving its 2t ball. */
            round++;
            uint64_t hc = g->items[comp[c]].hash;
            size_t m = 0;
            piece[m++] = c;
            stamp[c] = round;
            for (size_t h = 0; h < m; h++)
                for (uint32_t e = deg[piece[h]]; e < deg[piece[h] + 1]; e++) {
                    uint32_t y = adj[e];
                    if (alive[y] && stamp[y] != round &&
                        __builtin_popcountll(g->items[comp[y]].hash ^ hc) <= radius) {
                        stamp[y] = round;
                        piece[m++] = y;
                    }
                }
            for (size_t i = 0; i < m; i++)
                alive[piece[i]] = 0;
            rc = add_group(g, piece, m, comp);
            if (rc)
                goto out;
        }
    }
out:
    pho_free(deg);
    pho_free(adj);
    pho_free(stamp);
    pho_free(queue);
    pho_free(piece);
    pho_free(alive);
    pho_group__search_release(&s);
    pho_group__view_release(&v);
    return rc;
}

/* Components of the main search -> guarded groups. */
static int collect_groups(struct grouping *g, struct pho_group_uf *uf, uint32_t n)
{
    uint32_t *start = pho_calloc((size_t)n + 1, sizeof(*start));
    uint32_t *list = pho_reallocarray(NULL, n ? n : 1, sizeof(*list));
    int rc = 0;
    if (!start || !list) {
        rc = PHO_ENOMEM;
        goto out;
    }
    /* Bucket the items by root; each bucket ascends by index. */
    for (uint32_t i = 0; i < n; i++)
        start[pho_group__uf_find(uf, i) + 1]++;
    for (uint32_t r = 0; r < n; r++)
        start[r + 1] += start[r];
    for (uint32_t i = 0; i < n; i++)
        list[start[pho_group__uf_find(uf, i)]++] = i;
    memmove(start + 1, start, (size_t)n * sizeof(*start));
    start[0] = 0;

    int radius = 2 * g->t;
    for (uint32_t r = 0; r < n; r++) {
        uint32_t *comp = list + start[r];
        uint32_t k = start[r + 1] - start[r];
        if (k < 2 || k < g->min_size)
            continue;
        if (radius < 64) {
            uint32_t c = center_of(g->items, comp, k, NULL);
            if (!within_radius(g->items, comp, k, NULL, c, radius)) {
                g->chains_split++;
                rc = split_chain(g, comp, k);
                if (rc)
                    goto out;
                continue;
            }
        }
        rc = add_group(g, comp, k, NULL);
        if (rc)
            goto out;
    }
out:
    pho_free(start);
    pho_free(list);
    return rc;
}

/* ---- canonical order and the public API --------------------------------------- */

int pho_group_run(struct pho_groups **out, const struct pho_group_item *items, size_t n,
                  const struct pho_group_opts *opts, struct pho_err *err)
{
    static const struct pho_group_opts defaults = PHO_GROUP_OPTS_INIT;
    const struct pho_group_opts *o = opts ? opts : &defaults;
    *out = NULL;
    if (o->version != 1)
        return pho_err_set(err, PHO_EINVAL, "group: unknown options version %d", o->version);
    if (o->threshold < 0 || o->threshold > 64)
        return pho_err_set(err, PHO_EINVAL, "group: threshold %d is outside 0..64", o->threshold);
    if (!(o->time_window >= 0) || !isfinite(o->time_window))
        return pho_err_set(err, PHO_EINVAL, "group: time window %g is not a number of seconds >= 0",
                           o->time_window);
    if (n && !items)
        return pho_err_set(err, PHO_EINVAL, "group: no items");
    if (n >= UINT32_MAX)
        return pho_err_set(err, PHO_EINVAL, "group: %zu photos are more than supported", n);
    for (size_t i = 0; i < n; i++)
        if (items[i].has_time && !isfinite(items[i].time))
            return pho_err_set(err, PHO_EINVAL,
                               "group: photo %zu has a capture time that is not finite", i);

    if (o->rule == PHO_GROUP_RULE_AUTO)
        return pho_group__auto(out, items, n, o, err);
    if (o->rule != PHO_GROUP_RULE_CLASSIC)
        return pho_err_set(err, PHO_EINVAL, "group: unknown rule %d", (int)o->rule);

    struct grouping g = {
        .items = items,
        .t = o->threshold,
        .w = o->time_window,
        .min_size = PHO_MAX(o->min_group_size, (size_t)2),
        .threads = o->threads ? o->threads : pho_cpu_count(),
    };
    struct view v;
    struct search s = { 0 };
    int rc = pho_group__view_init(&v, items, NULL, (uint32_t)n, g.w > 0);
    if (rc)
        return pho_err_set(err, rc, "group: out of memory for %zu photos", n);
    s.v = &v;
    s.t = g.t;
    s.w = g.w;
    s.mode = CONNECT;
    s.threads = g.threads;
    rc = pho_group__search_run(&s);
    if (rc == 0) {
        g.compared = s.compared;
        g.links = s.links;
        rc = collect_groups(&g, &s.uf, (uint32_t)n);
    }
    if (rc == 0)
        rc = pho_group__result(out, items, g.member, g.off, g.ngroup);
    if (rc == 0) {
        (*out)->pairs_compared = g.compared;
        (*out)->links = g.links;
        (*out)->chains_split = g.chains_split;
    }
    pho_group__search_release(&s);
    pho_group__view_release(&v);
    pho_free(g.member);
    pho_free(g.off);
    if (rc)
        return pho_err_set(err, rc, "group: out of memory for %zu photos", n);
    return 0;
}
