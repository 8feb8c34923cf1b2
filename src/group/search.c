/* SPDX-License-Identifier: MIT */
/*
 * The classic rule's candidate search (group.c runs it on all photos, then
 * on each component the chain guard examines). Photos with a capture time
 * are swept in time order when the window is on, each compared only with
 * later photos inside the window; a stretch so dense in time that the sweep
 * would be expensive is searched with a multi-index hash (mih.c) and filtered
 * by time; photos without a time are looked up in a multi-index hash of all
 * distinct hashes. With the window off: a self-join of the distinct hashes
 * through the index, or brute force when the cost model says it is cheaper.
 * Queries run in fixed blocks on worker threads, their links applied on the
 * calling thread in query order, so nothing depends on the threads.
 */
#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "group/internal.h"
#include "group/mih.h"
#include "group/search.h"
#include "pho/parallel.h"

/* ---- the photos one search looks at ------------------------------------------ */

void pho_group__view_release(struct view *v)
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
int pho_group__view_init(struct view *v, const struct pho_group_item *items, const uint32_t *subset,
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
    pho_group__view_release(v);
    return PHO_ENOMEM;
}

/* ---- the candidate search ------------------------------------------------------ */

static void push(struct chunk_out *o, uint32_t a, uint32_t b)
{
    struct edge *e = pho_array_grow(o->e, &o->cap, o->n, sizeof(*e), 256);
    if (!e) {
        o->oom = true;
        return;
    }
    o->e = e;
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
    struct edge *e = pho_array_grow(s->edge, &s->capedge, s->nedge, sizeof(*e), 256);
    if (!e) {
        s->oom = true;
        return;
    }
    s->edge = e;
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

void pho_group__search_release(struct search *s)
{
    pho_group__uf_release(&s->uf);
    pho_free(s->bridged);
    pho_free(s->edge);
    for (size_t c = 0; c < CHUNKS_PER_BLOCK; c++)
        pho_free(s->chunk[c].e);
}

int pho_group__search_run(struct search *s)
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
