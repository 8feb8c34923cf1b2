/* SPDX-License-Identifier: MIT */
/*
 * Near-duplicate grouping: which photos are linked (hash distance within the
 * threshold and, with the time window on, capture times close enough), the
 * connected components of those links, a guard that splits components that
 * are long chains rather than one scene, and the canonical order of the
 * result. docs/grouping.md explains the rules and their costs.
 *
 * The candidate search never compares all pairs unless that is cheapest:
 * - window on: photos with a capture time are swept in time order, each
 *   compared only with later photos inside the window; a stretch of photos
 *   so dense in time that the sweep would be expensive (identical mtimes)
 *   is searched with a multi-index hash (mih.c) and filtered by time;
 *   photos without a time are looked up in a multi-index hash of all
 *   distinct hashes, since they may link to any photo;
 * - window off: a self-join of the distinct hashes through the multi-index
 *   hash, or brute force when the cost model says that is cheaper.
 *
 * Queries run in fixed blocks on worker threads; each block's links are
 * applied to the union-find afterwards on the calling thread in query
 * order, and workers drop links whose ends are already connected at the
 * start of the block. Components are a function of the link set alone, so
 * nothing depends on the thread count or on scheduling.
 */
#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "group/internal.h"
#include "group/mih.h"
#include "pho/group.h"
#include "pho/parallel.h"

/* Queries per block and per work unit; fixed so results never depend on threads. */
#define BLOCK_QUERIES    16384
#define CHUNK_QUERIES    256
#define CHUNKS_PER_BLOCK (BLOCK_QUERIES / CHUNK_QUERIES)

/* ---- the photos one search looks at ------------------------------------------ */

/*
 * Local numbering 0..k-1 over a subset of the items (all of them for the
 * main search, one component for the chain guard).
 */
struct view {
    uint32_t k;
    uint64_t *hash;
    double *time;
    uint8_t *untimed; /* the window cannot apply: no capture time (or window off) */
    /* Distinct hashes ascending; value v's items are vitem[vstart[v] .. vstart[v + 1]), ascending.
     */
    uint32_t nval;
    uint64_t *val;
    uint32_t *vstart, *vitem;
    /* Items with a time, ascending by (time, local index), with their times and hashes in that
     * order. */
    uint32_t ntimed;
    uint32_t *tord;
    double *tt;
    uint64_t *th;
};

static void view_release(struct view *v)
{
    pho_free(v->hash);
    pho_free(v->time);
    pho_free(v->untimed);
    pho_free(v->val);
    pho_free(v->vstart);
    pho_free(v->vitem);
    pho_free(v->tord);
    pho_free(v->tt);
    pho_free(v->th);
    memset(v, 0, sizeof(*v));
}

/* @p subset lists global item indices (NULL: all @p k items). */
static int view_init(struct view *v, const struct pho_group_item *items, const uint32_t *subset,
                     uint32_t k, bool window)
{
    memset(v, 0, sizeof(*v));
    size_t cap = k ? k : 1;
    struct pho_group_keyed *ks = pho_reallocarray(NULL, cap, sizeof(*ks));
    v->k = k;
    v->hash = pho_reallocarray(NULL, cap, sizeof(*v->hash));
    v->time = pho_reallocarray(NULL, cap, sizeof(*v->time));
    v->untimed = pho_reallocarray(NULL, cap, sizeof(*v->untimed));
    v->vitem = pho_reallocarray(NULL, cap, sizeof(*v->vitem));
    if (!ks || !v->hash || !v->time || !v->untimed || !v->vitem)
        goto oom;

    for (uint32_t i = 0; i < k; i++) {
        const struct pho_group_item *it = &items[subset ? subset[i] : i];
        v->hash[i] = it->hash;
        v->time[i] = it->time;
        v->untimed[i] = !window || !it->has_time;
        v->ntimed += !v->untimed[i];
        ks[i].key = it->hash;
        ks[i].id = i;
    }

    if (pho_group__sort_keyed(ks, k))
        goto oom;
    for (uint32_t i = 0; i < k; i++)
        v->nval += i == 0 || ks[i].key != ks[i - 1].key;
    v->val = pho_reallocarray(NULL, v->nval ? v->nval : 1, sizeof(*v->val));
    v->vstart = pho_reallocarray(NULL, (size_t)v->nval + 1, sizeof(*v->vstart));
    if (!v->val || !v->vstart)
        goto oom;
    uint32_t nv = 0;
    for (uint32_t i = 0; i < k; i++) {
        if (i == 0 || ks[i].key != ks[i - 1].key) {
            v->val[nv] = ks[i].key;
            v->vstart[nv++] = i;
        }
        v->vitem[i] = ks[i].id;
    }
    v->vstart[nv] = k;

    size_t tcap = v->ntimed ? v->ntimed : 1;
    v->tord = pho_reallocarray(NULL, tcap, sizeof(*v->tord));
    v->tt = pho_reallocarray(NULL, tcap, sizeof(*v->tt));
    v->th = pho_reallocarray(NULL, tcap, sizeof(*v->th));
    if (!v->tord || !v->tt || !v->th)
        goto oom;
    uint32_t nt = 0;
    for (uint32_t i = 0; i < k; i++)
        if (!v->untimed[i]) {
            ks[nt].key = pho_group__time_key(v->time[i]);
            ks[nt++].id = i;
        }
    if (pho_group__sort_keyed(ks, nt))
        goto oom;
    for (uint32_t j = 0; j < nt; j++) {
        v->tord[j] = ks[j].id;
        v->tt[j] = v->time[ks[j].id];
        v->th[j] = v->hash[ks[j].id];
    }
    pho_free(ks);
    return 0;
oom:
    pho_free(ks);
    view_release(v);
    return PHO_ENOMEM;
}

/* ---- the candidate search ------------------------------------------------------ */

/* CONNECT only needs connectivity (may skip redundant links); EDGES needs every link. */
enum mode { CONNECT, EDGES };

struct edge {
    uint32_t a, b;
};

/* What one work unit found. */
struct chunk_out {
    struct edge *e;
    size_t n, cap;
    size_t compared, links;
    bool oom;
};

struct search;
typedef void (*query_fn)(const struct search *s, size_t q, struct chunk_out *o);
typedef void (*apply_fn)(struct search *s, const struct edge *e);

struct search {
    const struct view *v;
    int t;
    double w; /* 0: window off */
    enum mode mode;
    unsigned threads;
    struct pho_group_uf uf; /* CONNECT */
    uint8_t *bridged;       /* CONNECT: per value, all its items already joined */
    struct edge *edge;      /* EDGES: the result */
    size_t nedge, capedge;
    bool oom;
    size_t compared, links;
    struct chunk_out chunk[CHUNKS_PER_BLOCK];
    /* the phase being run */
    query_fn query;
    size_t qbase, nq;
    const struct pho_mih *mih;
    const uint32_t *qlist;
    uint32_t run0; /* first time-order position of the run an index covers */
};

static void push(struct chunk_out *o, uint32_t a, uint32_t b)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256;
        struct edge *e = pho_reallocarray(o->e, cap, sizeof(*e));
        if (!e) {
            o->oom = true;
            return;
        }
        o->e = e;
        o->cap = cap;
    }
    o->e[o->n].a = a;
    o->e[o->n++].b = b;
}

static void emit(const struct search *s, struct chunk_out *o, uint32_t a, uint32_t b)
{
    if (s->mode == CONNECT && pho_group__uf_root(&s->uf, a) == pho_group__uf_root(&s->uf, b))
        return;
    push(o, a, b);
}

static uint32_t first_item(const struct view *v, uint32_t val)
{
    return v->vitem[v->vstart[val]];
}

/* Hash values va < vb are within the threshold (window off). */
static void link_values(const struct search *s, struct chunk_out *o, uint32_t va, uint32_t vb)
{
    const struct view *v = s->v;
    if (s->mode == CONNECT) {
        emit(s, o, first_item(v, va), first_item(v, vb));
        return;
    }
    for (uint32_t i = v->vstart[va]; i < v->vstart[va + 1]; i++)
        for (uint32_t j = v->vstart[vb]; j < v->vstart[vb + 1]; j++)
            push(o, v->vitem[i], v->vitem[j]);
}

/* Value qv holds an item without time; value vb is within the threshold, so all its items link. */
static void link_untimed(const struct search *s, struct chunk_out *o, uint32_t qv, uint32_t vb)
{
    const struct view *v = s->v;
    for (uint32_t i = v->vstart[qv]; i < v->vstart[qv + 1]; i++) {
        uint32_t u = v->vitem[i];
        if (!v->untimed[u])
            continue;
        if (s->mode == CONNECT) {
            /* One untimed item per value suffices: the rest are joined to it by bridging qv itself.
             */
            if (!(s->bridged[vb] &&
                  pho_group__uf_root(&s->uf, u) == pho_group__uf_root(&s->uf, first_item(v, vb))))
                push(o, u, vb);
            return;
        }
        for (uint32_t j = v->vstart[vb]; j < v->vstart[vb + 1]; j++) {
            uint32_t x = v->vitem[j];
            /* A pair of untimed items is found from both sides; keep one. */
            if (x != u && !(v->untimed[x] && x < u))
                push(o, u, x);
        }
    }
}

struct hit_ctx {
    const struct search *s;
    struct chunk_out *o;
    uint32_t q;
};

static void hit_values(void *ud, uint32_t e, int d)
{
    struct hit_ctx *h = ud;
    PHO_UNUSED(d);
    h->o->links++;
    link_values(h->s, h->o, h->q, e);
}

static void hit_untimed(void *ud, uint32_t e, int d)
{
    struct hit_ctx *h = ud;
    PHO_UNUSED(d);
    h->o->links++;
    link_untimed(h->s, h->o, h->q, e);
}

static void hit_run(void *ud, uint32_t e, int d)
{
    struct hit_ctx *h = ud;
    const struct view *v = h->s->v;
    PHO_UNUSED(d);
    uint32_t p = h->q, j = h->s->run0 + e;
    if (fabs(v->tt[j] - v->tt[p]) > h->s->w)
        return;
    h->o->links++;
    emit(h->s, h->o, v->tord[p], v->tord[j]);
}

static void q_values_brute(const struct search *s, size_t q, struct chunk_out *o)
{
    const struct view *v = s->v;
    uint64_t h = v->val[q];
    for (uint32_t j = (uint32_t)q + 1; j < v->nval; j++) {
        o->compared++;
        if (__builtin_popcountll(h ^ v->val[j]) <= s->t) {
            o->links++;
            link_values(s, o, (uint32_t)q, j);
        }
    }
}

static void q_values_mih(const struct search *s, size_t q, struct chunk_out *o)
{
    struct hit_ctx h = { s, o, (uint32_t)q };
    o->compared += pho_mih__query(s->mih, s->v->val[q], (uint32_t)q + 1, hit_values, &h);
}

static void q_untimed_brute(const struct search *s, size_t q, struct chunk_out *o)
{
    const struct view *v = s->v;
    uint32_t qv = s->qlist[q];
    uint64_t h = v->val[qv];
    for (uint32_t j = 0; j < v->nval; j++) {
        o->compared++;
        if (__builtin_popcountll(h ^ v->val[j]) <= s->t) {
            o->links++;
            link_untimed(s, o, qv, j);
        }
    }
}

static void q_untimed_mih(const struct search *s, size_t q, struct chunk_out *o)
{
    struct hit_ctx h = { s, o, s->qlist[q] };
    o->compared += pho_mih__query(s->mih, s->v->val[h.q], 0, hit_untimed, &h);
}

static void q_sweep(const struct search *s, size_t q, struct chunk_out *o)
{
    const struct view *v = s->v;
    uint32_t p = s->qlist[q];
    double t0 = v->tt[p];
    uint64_t h = v->th[p];
    bool same_seen = false;
    for (uint32_t j = p + 1; j < v->ntimed && v->tt[j] - t0 <= s->w; j++) {
        o->compared++;
        if (__builtin_popcountll(h ^ v->th[j]) > s->t)
            continue;
        o->links++;
        /*
         * Equal hashes sorted by time are connected iff each is within the
         * window of the next, so for connectivity the first equal one suffices.
         */
        if (s->mode == CONNECT && v->th[j] == h) {
            if (same_seen)
                continue;
            same_seen = true;
        }
        emit(s, o, v->tord[p], v->tord[j]);
    }
}

static void q_run_mih(const struct search *s, size_t q, struct chunk_out *o)
{
    uint32_t p = s->run0 + (uint32_t)q;
    struct hit_ctx h = { s, o, p };
    o->compared += pho_mih__query(s->mih, s->v->th[p], (uint32_t)q + 1, hit_run, &h);
}

static void apply_union(struct search *s, const struct edge *e)
{
    pho_group__uf_union(&s->uf, e->a, e->b);
}

/* Edge (item, value): the item links to every item of the value. */
static void apply_bridge(struct search *s, const struct edge *e)
{
    const struct view *v = s->v;
    uint32_t first = first_item(v, e->b);
    pho_group__uf_union(&s->uf, e->a, first);
    if (s->bridged[e->b])
        return;
    for (uint32_t i = v->vstart[e->b] + 1; i < v->vstart[e->b + 1]; i++)
        pho_group__uf_union(&s->uf, first, v->vitem[i]);
    s->bridged[e->b] = 1;
}

static void store(struct search *s, uint32_t a, uint32_t b)
{
    if (s->nedge == s->capedge) {
        size_t cap = s->capedge ? s->capedge * 2 : 256;
        struct edge *e = pho_reallocarray(s->edge, cap, sizeof(*e));
        if (!e) {
            s->oom = true;
            return;
        }
        s->edge = e;
        s->capedge = cap;
    }
    s->edge[s->nedge].a = a;
    s->edge[s->nedge++].b = b;
}

static void apply_store(struct search *s, const struct edge *e)
{
    store(s, e->a, e->b);
}

static void chunk_worker(void *ud, size_t index, unsigned worker)
{
    struct search *s = ud;
    PHO_UNUSED(worker);
    size_t q0 = s->qbase + index * CHUNK_QUERIES;
    size_t q1 = PHO_MIN(q0 + CHUNK_QUERIES, s->nq);
    for (size_t q = q0; q < q1; q++)
        s->query(s, q, &s->chunk[index]);
}

/* Runs queries 0..nq-1 block by block, applying each block's links in query order. */
static int run_phase(struct search *s, size_t nq, query_fn query, apply_fn apply)
{
    s->query = query;
    s->nq = nq;
    for (size_t base = 0; base < nq; base += BLOCK_QUERIES) {
        size_t nb = PHO_MIN((size_t)BLOCK_QUERIES, nq - base);
        size_t nchunks = (nb + CHUNK_QUERIES - 1) / CHUNK_QUERIES;
        s->qbase = base;
        pho_parallel_for(nchunks, s->threads, chunk_worker, s);
        bool oom = false;
        for (size_t c = 0; c < nchunks; c++) {
            struct chunk_out *o = &s->chunk[c];
            oom |= o->oom;
            s->compared += o->compared;
            s->links += o->links;
            for (size_t i = 0; i < o->n && !oom; i++)
                apply(s, &o->e[i]);
            o->n = o->compared = o->links = 0;
            o->oom = false;
        }
        if (oom || s->oom)
            return PHO_ENOMEM;
    }
    return 0;
}

/* Runs queries through a multi-index hash of @p keys when the cost model prefers it. */
static int run_indexed(struct search *s, const uint64_t *keys, uint32_t nkeys, size_t nq,
                       double brute_cost, query_fn brute, query_fn indexed, apply_fn apply)
{
    struct pho_mih_plan plan;
    pho_mih__plan(&plan, nkeys, s->t);
    if (!plan.m || (double)nq * plan.query_cost + plan.build_cost >= brute_cost)
        return run_phase(s, nq, brute, apply);
    struct pho_mih *mih = NULL;
    int rc = pho_mih__new(&mih, keys, nkeys, &plan, s->t);
    if (rc)
        return rc;
    s->mih = mih;
    rc = run_phase(s, nq, indexed, apply);
    s->mih = NULL;
    pho_mih__free(mih);
    return rc;
}

/* Window on: every pair of timed items within the window, run by run. */
static int search_timed(struct search *s)
{
    const struct view *v = s->v;
    uint32_t *sweep = pho_reallocarray(NULL, v->ntimed ? v->ntimed : 1, sizeof(*sweep));
    if (!sweep)
        return PHO_ENOMEM;
    uint32_t nsweep = 0;
    int rc = 0;
    for (uint32_t r0 = 0, r1; r0 < v->ntimed; r0 = r1) {
        /* A run: consecutive gaps within the window; no pair crosses its ends. */
        r1 = r0 + 1;
        while (r1 < v->ntimed && v->tt[r1] - v->tt[r1 - 1] <= s->w)
            r1++;
        double pairs = 0.0;
        for (uint32_t p = r0, j = r0; p < r1; p++) {
            while (j + 1 < r1 && v->tt[j + 1] - v->tt[p] <= s->w)
                j++;
            pairs += j - p;
        }
        struct pho_mih_plan plan;
        pho_mih__plan(&plan, r1 - r0, s->t);
        /* The model assumes evenly spread hashes; real bursts crowd buckets, so demand a margin. */
        double indexed = (r1 - r0) * plan.query_cost + plan.build_cost;
        if (!plan.m || 2.0 * indexed >= pairs) {
            for (uint32_t p = r0; p < r1; p++)
                sweep[nsweep++] = p;
            continue;
        }
        struct pho_mih *mih = NULL;
        rc = pho_mih__new(&mih, v->th + r0, r1 - r0, &plan, s->t);
        if (rc)
            goto out;
        s->mih = mih;
        s->run0 = r0;
        rc = run_phase(s, r1 - r0, q_run_mih, s->mode == CONNECT ? apply_union : apply_store);
        s->mih = NULL;
        pho_mih__free(mih);
        if (rc)
            goto out;
    }
    s->qlist = sweep;
    rc = run_phase(s, nsweep, q_sweep, s->mode == CONNECT ? apply_union : apply_store);
out:
    s->qlist = NULL;
    pho_free(sweep);
    return rc;
}

/* Window on: items without a time link to anything within the threshold. */
static int search_untimed(struct search *s)
{
    const struct view *v = s->v;
    uint32_t *qv = pho_reallocarray(NULL, v->nval ? v->nval : 1, sizeof(*qv));
    if (!qv)
        return PHO_ENOMEM;
    uint32_t nq = 0;
    for (uint32_t val = 0; val < v->nval; val++)
        for (uint32_t i = v->vstart[val]; i < v->vstart[val + 1]; i++)
            if (v->untimed[v->vitem[i]]) {
                qv[nq++] = val;
                break;
            }
    s->qlist = qv;
    int rc = 0;
    if (nq)
        rc = run_indexed(s, v->val, v->nval, nq, (double)nq * v->nval, q_untimed_brute,
                         q_untimed_mih, s->mode == CONNECT ? apply_bridge : apply_store);
    s->qlist = NULL;
    pho_free(qv);
    return rc;
}

/* Window off: items with equal hashes, then pairs of distinct hashes. */
static int search_visual(struct search *s)
{
    const struct view *v = s->v;
    for (uint32_t val = 0; val < v->nval; val++) {
        uint32_t a = v->vstart[val], b = v->vstart[val + 1];
        for (uint32_t i = a + 1; i < b; i++) {
            if (s->mode == CONNECT) {
                pho_group__uf_union(&s->uf, v->vitem[a], v->vitem[i]);
                continue;
            }
            for (uint32_t j = a; j < i; j++)
                store(s, v->vitem[j], v->vitem[i]);
        }
    }
    if (s->oom)
        return PHO_ENOMEM;
    double brute = (double)v->nval * (v->nval - 1) / 2.0;
    return run_indexed(s, v->val, v->nval, v->nval, brute, q_values_brute, q_values_mih,
                       s->mode == CONNECT ? apply_union : apply_store);
}

/* threshold 64: every hash matches, so only the time window separates photos. */
static void search_everything(struct search *s)
{
    const struct view *v = s->v;
    bool any_untimed = v->ntimed < v->k;
    for (uint32_t j = 1; j < v->ntimed; j++)
        if (s->w <= 0 || any_untimed || v->tt[j] - v->tt[j - 1] <= s->w)
            s->links += pho_group__uf_union(&s->uf, v->tord[j - 1], v->tord[j]);
    for (uint32_t i = 1; i < v->k && any_untimed; i++)
        s->links += pho_group__uf_union(&s->uf, 0, i);
}

static void search_release(struct search *s)
{
    pho_group__uf_release(&s->uf);
    pho_free(s->bridged);
    pho_free(s->edge);
    for (size_t c = 0; c < CHUNKS_PER_BLOCK; c++)
        pho_free(s->chunk[c].e);
}

static int search_run(struct search *s)
{
    const struct view *v = s->v;
    if (s->mode == CONNECT) {
        int rc = pho_group__uf_init(&s->uf, v->k);
        s->bridged = pho_calloc(v->nval ? v->nval : 1, 1);
        if (rc || !s->bridged)
            return PHO_ENOMEM;
        if (s->t >= 64) {
            search_everything(s);
            return 0;
        }
    }
    if (s->w <= 0)
        return search_visual(s);
    int rc = search_timed(s);
    if (rc == 0 && v->ntimed < v->k)
        rc = search_untimed(s);
    return rc;
}

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
    int rc = view_init(&v, g->items, comp, k, g->w > 0);
    if (rc)
        return rc;
    s.v = &v;
    s.t = g->t;
    s.w = g->w;
    s.mode = EDGES;
    s.threads = g->threads;
    rc = search_run(&s);
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
    search_release(&s);
    view_release(&v);
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
    int rc = view_init(&v, items, NULL, (uint32_t)n, g.w > 0);
    if (rc)
        return pho_err_set(err, rc, "group: out of memory for %zu photos", n);
    s.v = &v;
    s.t = g.t;
    s.w = g.w;
    s.mode = CONNECT;
    s.threads = g.threads;
    rc = search_run(&s);
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
    search_release(&s);
    view_release(&v);
    pho_free(g.member);
    pho_free(g.off);
    if (rc)
        return pho_err_set(err, rc, "group: out of memory for %zu photos", n);
    return 0;
}
