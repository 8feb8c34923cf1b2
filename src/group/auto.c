/* SPDX-License-Identifier: MIT */
/*
 * The default link rule (docs/grouping.md, with the evidence for each
 * constant). A pair of photos is a candidate when
 *   - copy:        some hash of one is within COPY_BITS of the other's
 *                  (dHash or pHash, full frame or a centre crop against the
 *                  other's full frame), whenever either was taken;
 *   - burst:       both have capture times and the hashes are within an
 *                  allowance that starts at BURST_BITS and shrinks as the
 *                  time gap grows;
 *   - undated:     neither has a capture time (frames of a video, scans,
 *                  stripped files) and the hashes are within BURST_BITS;
 *   - same camera: one known camera took both within SAME_CAMERA_SECONDS;
 * and a candidate is linked only when the thumbnails correlate
 * (verify.c). Time never vetoes a visual link: copies with rewritten or
 * stripped metadata still join their originals.
 *
 * Search: a multi-index hash (mih.c) at COPY_BITS over the full-frame
 * dHashes and pHashes, queried with each photo's full hashes, crop pHashes
 * and turned dHashes on worker threads, table by table; a sweep in time
 * order over the photos that have a time, and one in the caller's order over
 * those that have none, each bounded (MAX_NEIGHBOURS). All three propose
 * candidate pairs, judged in parallel blocks whose verdicts are applied in
 * a fixed order, so the groups depend only on the photos, never on threads
 * or timing.
 */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/internal.h"
#include "group/mih.h"
#include "pho/parallel.h"

/* Hash bits (smallest over the variants) that make any two photos candidates. */
#define COPY_BITS           7
/* Bits allowed between shots close in time, and between two undated photos. */
#define BURST_BITS          16
/* The full burst allowance up to this gap; it loses BURST_LOSS bits per doubling after. */
#define BURST_FULL_SECONDS  30.0
#define BURST_LOSS          4.0
/* Correlation that confirms a hash candidate. */
#define VERIFY_SCORE        0.6f
/* Or: this much correlation ... */
#define SHARED_SCORE        0.4f
/* ... with this much of the colour histogram in common (same palette, subject moved). */
#define SHARED_COLOUR       0.85f
/*
 * The sweeps compare each photo with at most this many following ones (in
 * time order; for undated photos, in the caller's order, which the organizer
 * makes the sorted path order, so a session's numbered files sit together).
 * It keeps the search linear when thousands of photos share one time stamp
 * (a camera with a reset clock) or lack one (scans); frames of a burst link
 * to their neighbours, so a burst longer than this still becomes one group.
 */
#define MAX_NEIGHBOURS      64
/* A mirrored or turned copy: the turned dHash within this many bits ... */
#define TURN_BITS           6
/* ... and the turned thumbnail this alike (copies 1.0, unrelated pairs up to 0.81). */
#define TURN_SCORE          0.9f
/* One camera, this close in time: a candidate whatever the hashes say ... */
#define SAME_CAMERA_SECONDS 30.0
/* ... confirmed by this correlation. */
#define SAME_CAMERA_SCORE   0.55f

static inline int bits(uint64_t a, uint64_t b)
{
    return __builtin_popcountll(a ^ b);
}

/* The smallest distance over dHash, pHash and each crop against the other's full frame. */
static int variant_bits(const struct pho_group_item *a, const struct pho_group_item *b)
{
    int d = PHO_MIN(bits(a->dhash, b->dhash), bits(a->phash, b->phash));
    for (int k = 0; k < PHO_HASH_CROPS; k++) {
        d = PHO_MIN(d, bits(a->sig->crop_dhash[k], b->dhash));
        d = PHO_MIN(d, bits(a->dhash, b->sig->crop_dhash[k]));
        d = PHO_MIN(d, bits(a->sig->crop_phash[k], b->phash));
        d = PHO_MIN(d, bits(a->phash, b->sig->crop_phash[k]));
    }
    return d;
}

/* The smallest distance between one photo's mirrored or turned dHash and the other's dHash. */
static int turned_bits(const struct pho_group_item *a, const struct pho_group_item *b)
{
    int d = 64;
    for (int k = 0; k < 2; k++) {
        d = PHO_MIN(d, bits(a->sig->turned_dhash[k], b->dhash));
        d = PHO_MIN(d, bits(a->dhash, b->sig->turned_dhash[k]));
    }
    return d;
}

/* Bits allowed between two shots @gap seconds apart (0: no burst link). */
static int burst_allowance(double gap)
{
    double allowed = gap <= BURST_FULL_SECONDS
                             ? BURST_BITS
                             : BURST_BITS - BURST_LOSS * log2(gap / BURST_FULL_SECONDS);
    return allowed > COPY_BITS ? (int)allowed : 0;
}

/* The widest time gap a burst link can span (where the allowance falls to COPY_BITS). */
static double burst_max_gap(void)
{
    return BURST_FULL_SECONDS * exp2((BURST_BITS - COPY_BITS - 1) / BURST_LOSS + 1e-9);
}

bool pho_group_same_camera(const struct pho_group_item *a, const struct pho_group_item *b)
{
    return a->camera && a->camera == b->camera && (!a->body || !b->body || a->body == b->body);
}

/* The hash-only part of the judgement: whether (a, b) is a candidate at all. */
static bool candidate(struct pho_group_why *w, const struct pho_group_item *a,
                      const struct pho_group_item *b)
{
    memset(w, 0, sizeof(*w));
    w->via = SIZE_MAX;
    w->score = NAN;
    w->needed_score = NAN;
    w->colour = NAN;
    w->bits = variant_bits(a, b);
    w->gap = a->has_time && b->has_time ? fabs(a->time - b->time) : NAN;
    w->same_camera = pho_group_same_camera(a, b);
    w->allowed_bits = COPY_BITS;
    w->reason = PHO_GROUP_COPY;
    if (a->has_time && b->has_time) {
        int burst = burst_allowance(w->gap);
        if (burst > w->allowed_bits) {
            w->allowed_bits = burst;
            w->reason = PHO_GROUP_BURST;
        }
    } else if (!a->has_time && !b->has_time) {
        w->allowed_bits = BURST_BITS;
        w->reason = PHO_GROUP_UNDATED;
    }
    if (w->bits <= COPY_BITS)
        w->reason = PHO_GROUP_COPY;
    bool by_hash = w->bits <= w->allowed_bits;
    bool by_camera = w->same_camera && w->gap <= SAME_CAMERA_SECONDS;
    if (!by_hash && by_camera)
        w->reason = PHO_GROUP_SAME_CAMERA;
    if (!by_hash && !by_camera) {
        int turned = turned_bits(a, b);
        if (turned <= TURN_BITS) {
            w->reason = PHO_GROUP_TURNED;
            w->bits = turned;
            w->allowed_bits = TURN_BITS;
            return true;
        }
        w->reason = PHO_GROUP_NOT_LINKED;
    }
    return by_hash || by_camera;
}

/* A mirrored or turned candidate: the turned thumbnail must match closely. */
static bool judge_turned(struct pho_group_why *w, const struct pho_group_item *a,
                         const struct pho_group_item *b)
{
    /* One way suffices: turning @a back covers @b turned either way (and a mirror). */
    w->score = pho_group__turned_similarity(a->sig, b->sig);
    w->needed_score = TURN_SCORE;
    w->reason = w->score >= TURN_SCORE ? PHO_GROUP_TURNED : PHO_GROUP_NOT_LINKED;
    return w->reason == PHO_GROUP_TURNED;
}

/* The full judgement: candidate, then verified (@cache and the indices may be NULL / 0). */
static bool judge(struct pho_group_why *w, const struct pho_group_item *a,
                  const struct pho_group_item *b, struct pho_group_vcache *cache, uint32_t ia,
                  uint32_t ib)
{
    if (!candidate(w, a, b))
        return false;
    if (w->reason == PHO_GROUP_TURNED)
        return judge_turned(w, a, b);
    /* Enough: what the stricter confirmation of this candidate needs. */
    bool by_hash = w->bits <= w->allowed_bits;
    w->score = pho_group__similarity(cache, ia, a->sig, ib, b->sig,
                                     by_hash ? VERIFY_SCORE : SAME_CAMERA_SCORE);
    w->colour = pho_group__colour(a->sig, b->sig);
    /* The palette vouches for a weaker correlation (a subject that moved, a reframing). */
    bool palette = w->score >= SHARED_SCORE && w->colour >= SHARED_COLOUR;
    if (by_hash && (w->score >= VERIFY_SCORE || palette)) {
        w->needed_score = w->score >= VERIFY_SCORE ? VERIFY_SCORE : SHARED_SCORE;
        return true;
    }
    if (w->same_camera && w->gap <= SAME_CAMERA_SECONDS &&
        (w->score >= SAME_CAMERA_SCORE || palette)) {
        w->reason = PHO_GROUP_SAME_CAMERA;
        w->needed_score = w->score >= SAME_CAMERA_SCORE ? SAME_CAMERA_SCORE : SHARED_SCORE;
        return true;
    }
    /* Not alike as they stand: a mirrored or turned copy (same camera, seconds apart)? */
    int turned = turned_bits(a, b);
    if (turned <= TURN_BITS) {
        struct pho_group_why t = *w;
        t.bits = turned;
        t.allowed_bits = TURN_BITS;
        if (judge_turned(&t, a, b)) {
            *w = t;
            return true;
        }
    }
    w->needed_score = by_hash ? VERIFY_SCORE : SAME_CAMERA_SCORE;
    w->reason = PHO_GROUP_NOT_LINKED;
    return false;
}

void pho_group_explain(struct pho_group_why *out, const struct pho_group_item *a,
                       const struct pho_group_item *b)
{
    judge(out, a, b, NULL, 0, 0);
    if (isnan(out->score) && a->sig && b->sig) { /* not a candidate: say how alike anyway */
        out->score = pho_group__similarity(NULL, 0, a->sig, 0, b->sig, 2.0f);
        out->colour = pho_group__colour(a->sig, b->sig);
    }
}

char *pho_group_why_format(char *buf, size_t size, const struct pho_group_why *w)
{
    if (w->reason == PHO_GROUP_USER) {
        snprintf(buf, size, "put in this group by you");
        return buf;
    }
    char gap[64] = "", score[96] = "";
    if (isfinite(w->gap))
        snprintf(gap, sizeof(gap), ", %.1f s apart", w->gap);
    if (w->same_camera)
        pho_strlcpy(gap + strlen(gap), ", same camera", sizeof(gap) - strlen(gap));
    if (isfinite(w->score))
        snprintf(score, sizeof(score), ", pictures alike %.2f (needs %.2f), colours %.2f",
                 (double)w->score,
                 isfinite(w->needed_score) ? (double)w->needed_score : (double)VERIFY_SCORE,
                 isfinite(w->colour) ? (double)w->colour : 0.0);
    snprintf(buf, size, "%s: %d of %d hash bits%s%s", pho_group_reason_name(w->reason), w->bits,
             w->allowed_bits, score, gap);
    return buf;
}

const char *pho_group_reason_name(enum pho_group_reason reason)
{
    static const char *const names[] = {
        [PHO_GROUP_NOT_LINKED] = "not linked",
        [PHO_GROUP_COPY] = "copy",
        [PHO_GROUP_BURST] = "burst",
        [PHO_GROUP_UNDATED] = "undated",
        [PHO_GROUP_SAME_CAMERA] = "same camera",
        [PHO_GROUP_TURNED] = "turned",
        [PHO_GROUP_EDIT] = "edit",
        [PHO_GROUP_USER] = "yours",
    };
    return (unsigned)reason < PHO_ARRAY_LEN(names) ? names[reason] : "unknown";
}

/* ---- the search: candidate pairs from three sweeps, judged in parallel blocks ---- */

/*
 * The copy lookups, the dated sweep and the undated sweep each propose
 * candidate pairs (hash distances, times and cameras only: cheap). Pairs are
 * judged (the thumbnail correlation: most of the cost) in blocks of
 * JUDGE_BLOCK on worker threads, each with its own cache of crops; the
 * verdicts are applied in the block's order by the calling thread. A pair
 * whose photos are already connected when its block is formed is not judged.
 * Block boundaries depend on the photos alone, never on the threads, so the
 * links, the statistics and the groups are the same for any thread count.
 */
#define JUDGE_BLOCK 65536
#define JUDGE_CHUNK 1024

struct edge {
    uint32_t a, b;
    struct pho_group_why why;
};

struct verdict {
    bool linked;
    struct pho_group_why why;
};

struct state {
    const struct pho_group_item *items;
    struct pho_group_uf uf;
    unsigned threads;
    struct pho_group_vcache **cache; /* one per worker */
    uint64_t *block;                 /* candidate pairs waiting: (a << 32) | b, a < b */
    size_t nblock;
    struct verdict *verdict; /* JUDGE_BLOCK */
    struct edge *edges;      /* accepted links */
    size_t nedges, capedges;
    size_t compared;
    int rc;
};

PHO_GROUP_POPCNT static void judge_chunk(void *ud, size_t chunk, unsigned worker)
{
    struct state *s = ud;
    size_t end = PHO_MIN((chunk + 1) * JUDGE_CHUNK, s->nblock);
    for (size_t k = chunk * JUDGE_CHUNK; k < end; k++) {
        uint32_t a = (uint32_t)(s->block[k] >> 32), b = (uint32_t)s->block[k];
        s->verdict[k].linked =
                judge(&s->verdict[k].why, &s->items[a], &s->items[b], s->cache[worker], a, b);
    }
}

/* Judges the waiting pairs and applies the verdicts in order. */
static void flush(struct state *s)
{
    if (s->rc || s->nblock == 0)
        return;
    pho_parallel_for((s->nblock + JUDGE_CHUNK - 1) / JUDGE_CHUNK, s->threads, judge_chunk, s);
    s->compared += s->nblock;
    for (size_t k = 0; k < s->nblock && !s->rc; k++) {
        uint32_t a = (uint32_t)(s->block[k] >> 32), b = (uint32_t)s->block[k];
        if (!s->verdict[k].linked || pho_group__uf_find(&s->uf, a) == pho_group__uf_find(&s->uf, b))
            continue;
        struct edge *e = pho_array_grow(s->edges, &s->capedges, s->nedges, sizeof(*e), 256);
        if (!e) {
            s->rc = PHO_ENOMEM;
            break;
        }
        s->edges = e;
        s->edges[s->nedges++] = (struct edge){ a, b, s->verdict[k].why };
        pho_group__uf_union(&s->uf, a, b);
    }
    s->nblock = 0;
}

/* Proposes (a, b) for judging, unless they are connected already. */
static void consider(struct state *s, uint32_t a, uint32_t b)
{
    if (a == b || s->rc || pho_group__uf_find(&s->uf, a) == pho_group__uf_find(&s->uf, b))
        return;
    s->block[s->nblock++] = a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
    if (s->nblock == JUDGE_BLOCK)
        flush(s);
}

/* ---- copies: index lookups on worker threads, the pairs proposed afterwards in order ---- */

/*
 * Each photo's full-frame hashes, crop pHashes and mirrored/turned dHashes
 * are looked up among all full-frame hashes (dHashes in one index, pHashes in
 * the other). Full against full is symmetric (the later photo's query finds
 * the pair), so those queries look only at later photos; a crop or a turned
 * picture against the other's whole frame is not, so those look at every
 * photo. The lookups run table by table in the order of each query's
 * substring (mih.h: at a million photos that is what keeps the probes in the
 * CPU's caches), each worker on its own slice; the pairs found are then
 * sorted, so what is proposed depends on the photos alone.
 */
#define QUERIES_PER_KIND (1 + (PHO_HASH_CROPS > 2 ? PHO_HASH_CROPS : 2))
#define ALL_PHOTOS       0x80000000u /* query flag: look at every photo, not just later ones */

struct pairs {
    uint64_t *v; /* (smaller photo << 32) | larger */
    size_t n, cap;
    bool oom;
};

/* One query: its hash and who asks (photo | ALL_PHOTOS). */
struct query {
    uint64_t hash;
    uint32_t who;
    uint32_t sub; /* the substring value the queries are sorted by */
};

struct copy_lookup {
    const struct pho_mih *idx;
    unsigned table;
    const struct query *q; /* sorted by substring value */
    size_t nq, nslices;
    struct pairs *out; /* per slice */
};

struct copy_hit {
    struct pairs *out;
    uint32_t query;
};

static void push_pair(struct pairs *p, uint32_t a, uint32_t b)
{
    uint64_t *v = pho_array_grow(p->v, &p->cap, p->n, sizeof(*v), 1024);
    if (!v) {
        p->oom = true;
        return;
    }
    p->v = v;
    p->v[p->n++] = a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
}

static void on_copy_hit(void *ud, uint32_t entry, int dist)
{
    (void)dist;
    struct copy_hit *h = ud;
    if (entry != h->query)
        push_pair(h->out, h->query, entry);
}

static void lookup_slice(void *ud, size_t slice, unsigned worker)
{
    (void)worker;
    struct copy_lookup *l = ud;
    size_t lo = l->nq * slice / l->nslices, hi = l->nq * (slice + 1) / l->nslices;
    struct pairs *out = &l->out[slice];
    for (size_t k = lo; k < hi && !out->oom; k++) {
        struct copy_hit h = { out, l->q[k].who & ~ALL_PHOTOS };
        uint32_t from = l->q[k].who & ALL_PHOTOS ? 0 : h.query + 1;
        pho_mih__query_table(l->idx, l->table, l->q[k].hash, from, on_copy_hit, &h);
    }
}

/* The queries into index @kind (0: dHash, 1: pHash) for photos [0, n). */
static size_t copy_queries(struct query *q, const struct pho_group_item *items, size_t n, int kind)
{
    size_t nq = 0;
    for (size_t i = 0; i < n; i++) {
        const struct pho_group_item *it = &items[i];
        q[nq++] = (struct query){ kind ? it->phash : it->dhash, (uint32_t)i, 0 };
        for (int k = 0; k < (kind ? PHO_HASH_CROPS : 2); k++)
            q[nq++] = (struct query){ kind ? it->sig->crop_phash[k] : it->sig->turned_dhash[k],
                                      (uint32_t)i | ALL_PHOTOS, 0 };
    }
    return nq;
}

/* Stable LSD radix sort of the queries by their substring value (@bits bits). */
static void sort_queries(struct query *q, struct query *tmp, size_t n, unsigned bits, size_t *count)
{
    for (unsigned shift = 0; shift < bits; shift += 12) {
        memset(count, 0, 4097 * sizeof(*count));
        for (size_t i = 0; i < n; i++)
            count[((q[i].sub >> shift) & 4095) + 1]++;
        for (size_t d = 0; d < 4096; d++)
            count[d + 1] += count[d];
        for (size_t i = 0; i < n; i++)
            tmp[count[(q[i].sub >> shift) & 4095]++] = q[i];
        memcpy(q, tmp, n * sizeof(*q));
    }
}

/* Every query of index @kind, table by table; the pairs land in @out (one per slice). */
static int lookup_kind(const struct pho_group_item *items, size_t n, int kind,
                       const struct pho_mih_plan *plan, struct pairs *out, size_t nslices,
                       unsigned threads)
{
    size_t cap = n * QUERIES_PER_KIND;
    uint64_t *keys = pho_reallocarray(NULL, n ? n : 1, sizeof(*keys));
    struct query *q = pho_reallocarray(NULL, cap ? cap : 1, sizeof(*q));
    struct query *tmp = pho_reallocarray(NULL, cap ? cap : 1, sizeof(*tmp));
    size_t *count = pho_calloc(4097, sizeof(*count));
    struct pho_mih *idx = NULL;
    int rc = keys && q && tmp && count ? 0 : PHO_ENOMEM;
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            keys[i] = kind ? items[i].phash : items[i].dhash;
        rc = pho_mih__new(&idx, keys, (uint32_t)n, plan, COPY_BITS);
    }
    size_t nq = rc == 0 ? copy_queries(q, items, n, kind) : 0;
    for (unsigned t = 0; rc == 0 && t < pho_mih__tables(idx); t++) {
        for (size_t k = 0; k < nq; k++)
            q[k].sub = pho_mih__substring(idx, t, q[k].hash);
        sort_queries(q, tmp, nq, pho_mih__substring_bits(idx, t), count);
        struct copy_lookup l = { idx, t, q, nq, nslices, out };
        pho_parallel_for(nslices, threads, lookup_slice, &l);
        for (size_t k = 0; rc == 0 && k < nslices; k++)
            rc = out[k].oom ? PHO_ENOMEM : 0;
    }
    pho_mih__free(idx);
    pho_free(count);
    pho_free(tmp);
    pho_free(q);
    pho_free(keys);
    return rc;
}

/* A handful of photos: no index pays off, every pair is compared. */
PHO_GROUP_POPCNT static void copies_all_pairs(struct pairs *out, const struct pho_group_item *items,
                                              size_t n)
{
    for (size_t i = 0; i < n && !out->oom; i++) {
        const struct pho_group_item *a = &items[i];
        for (size_t j = 0; j < n; j++) {
            const struct pho_group_item *b = &items[j];
            if (j == i)
                continue;
            int d = 64;
            if (j > i)
                d = PHO_MIN(bits(a->dhash, b->dhash), bits(a->phash, b->phash));
            for (int k = 0; k < PHO_HASH_CROPS; k++)
                d = PHO_MIN(d, bits(a->sig->crop_phash[k], b->phash));
            for (int k = 0; k < 2; k++)
                d = PHO_MIN(d, bits(a->sig->turned_dhash[k], b->dhash));
            if (d <= COPY_BITS)
                push_pair(out, (uint32_t)i, (uint32_t)j);
        }
    }
}

static int search_copies(struct state *s, size_t n)
{
    size_t nslices = (size_t)PHO_MAX(s->threads, 1u) * 4;
    struct pairs *out = pho_calloc(nslices, sizeof(*out));
    if (!out)
        return PHO_ENOMEM;
    struct pho_mih_plan plan;
    pho_mih__plan(&plan, n, COPY_BITS);
    int rc = 0;
    if (!plan.m)
        copies_all_pairs(&out[0], s->items, n);
    for (int kind = 0; plan.m && rc == 0 && kind < 2; kind++)
        rc = lookup_kind(s->items, n, kind, &plan, out, nslices, s->threads);
    /* All pairs in one array, sorted, each proposed once. */
    size_t total = 0;
    for (size_t k = 0; k < nslices; k++) {
        rc = rc ? rc : out[k].oom ? PHO_ENOMEM : 0;
        total += out[k].n;
    }
    struct pho_group_keyed *all =
            rc ? NULL : pho_reallocarray(NULL, total ? total : 1, sizeof(*all));
    if (rc == 0 && !all)
        rc = PHO_ENOMEM;
    size_t m = 0;
    for (size_t k = 0; rc == 0 && k < nslices; k++) {
        for (size_t i = 0; i < out[k].n; i++)
            all[m++] = (struct pho_group_keyed){ out[k].v[i], 0 };
        pho_free(out[k].v);
        out[k].v = NULL;
    }
    if (rc == 0)
        rc = pho_group__sort_keyed(all, m);
    for (size_t i = 0; rc == 0 && i < m; i++) {
        if (i == 0 || all[i].key != all[i - 1].key)
            consider(s, (uint32_t)(all[i].key >> 32), (uint32_t)all[i].key);
        rc = s->rc;
    }
    flush(s);
    for (size_t k = 0; k < nslices; k++)
        pho_free(out[k].v);
    pho_free(out);
    pho_free(all);
    return rc ? rc : s->rc;
}

/* Bursts and one camera's shots: each dated photo against the later ones within reach. */
PHO_GROUP_POPCNT static int search_dated(struct state *s, size_t n)
{
    struct pho_group_keyed *order = pho_reallocarray(NULL, n ? n : 1, sizeof(*order));
    if (!order)
        return PHO_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (s->items[i].has_time)
            order[m++] =
                    (struct pho_group_keyed){ pho_group__time_key(s->items[i].time), (uint32_t)i };
    int rc = pho_group__sort_keyed(order, m);
    double reach = PHO_MAX(burst_max_gap(), SAME_CAMERA_SECONDS);
    for (size_t i = 0; rc == 0 && i < m; i++) {
        const struct pho_group_item *a = &s->items[order[i].id];
        for (size_t j = i + 1; j < m && j - i <= MAX_NEIGHBOURS; j++) {
            const struct pho_group_item *b = &s->items[order[j].id];
            if (b->time - a->time > reach)
                break;
            struct pho_group_why w;
            if (candidate(&w, a, b))
                consider(s, order[i].id, order[j].id);
        }
        rc = s->rc;
    }
    flush(s);
    pho_free(order);
    return rc ? rc : s->rc;
}

/* Undated photos: each against the next MAX_NEIGHBOURS undated ones. */
PHO_GROUP_POPCNT static int search_undated(struct state *s, size_t n)
{
    uint32_t *list = pho_reallocarray(NULL, n ? n : 1, sizeof(*list));
    if (!list)
        return PHO_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!s->items[i].has_time)
            list[m++] = (uint32_t)i;
    for (size_t i = 0; i < m && !s->rc; i++)
        for (size_t j = i + 1; j < m && j - i <= MAX_NEIGHBOURS; j++) {
            struct pho_group_why w;
            if (candidate(&w, &s->items[list[i]], &s->items[list[j]]))
                consider(s, list[i], list[j]);
        }
    flush(s);
    pho_free(list);
    return s->rc;
}

/* ---- groups and why ---- */

/*
 * Each member's link: a breadth-first walk over the accepted links from the
 * group's first member (its earliest photo), which reaches every member.
 */
static int explain_groups(struct pho_groups *g, const struct edge *edges, size_t nedges, size_t n)
{
    size_t nm = g->offsets[g->count];
    size_t *deg = pho_calloc(n + 1, sizeof(*deg));
    uint32_t *adj = pho_reallocarray(NULL, 2 * nedges + 1, sizeof(*adj)); /* edge numbers */
    size_t *pos = pho_reallocarray(NULL, n ? n : 1, sizeof(*pos));
    uint32_t *queue = pho_reallocarray(NULL, nm ? nm : 1, sizeof(*queue));
    g->why = pho_calloc(nm ? nm : 1, sizeof(*g->why));
    int rc = deg && adj && pos && queue && g->why ? 0 : PHO_ENOMEM;
    if (rc == 0) {
        for (size_t e = 0; e < nedges; e++) {
            deg[edges[e].a + 1]++;
            deg[edges[e].b + 1]++;
        }
        for (size_t i = 0; i < n; i++)
            deg[i + 1] += deg[i];
        for (size_t e = 0; e < nedges; e++) { /* deg[x] moves from x's start to x + 1's */
            adj[deg[edges[e].a]++] = (uint32_t)e;
            adj[deg[edges[e].b]++] = (uint32_t)e;
        }
        memmove(deg + 1, deg, n * sizeof(*deg));
        deg[0] = 0;
        for (size_t i = 0; i < n; i++)
            pos[i] = SIZE_MAX;
        for (size_t k = 0; k < nm; k++)
            pos[g->members[k]] = k;
        for (size_t k = 0; k < nm; k++)
            g->why[k].via = SIZE_MAX; /* set when reached; stays for the first member */
        for (size_t grp = 0; grp < g->count; grp++) {
            size_t first = g->offsets[grp], head = 0, tail = 0;
            queue[tail++] = (uint32_t)g->members[first];
            g->why[first] = (struct pho_group_why){
                .via = SIZE_MAX, .score = NAN, .needed_score = NAN, .colour = NAN, .gap = NAN
            };
            while (head < tail) {
                uint32_t x = queue[head++];
                for (size_t k = deg[x]; k < deg[x + 1]; k++) {
                    const struct edge *e = &edges[adj[k]];
                    uint32_t y = e->a == x ? e->b : e->a;
                    size_t py = pos[y];
                    if (py == SIZE_MAX || py == first || g->why[py].via != SIZE_MAX)
                        continue;
                    g->why[py] = e->why;
                    g->why[py].via = x;
                    queue[tail++] = y;
                }
            }
        }
    }
    pho_free(deg);
    pho_free(adj);
    pho_free(pos);
    pho_free(queue);
    return rc;
}

/* Components of at least @min_size, then each member's link from a breadth-first walk. */
static int collect(struct pho_groups **out, struct state *s, size_t n, size_t min_size)
{
    uint32_t *start = pho_calloc(n + 1, sizeof(*start));
    uint32_t *list = pho_reallocarray(NULL, n ? n : 1, sizeof(*list));
    uint32_t *member = pho_reallocarray(NULL, n ? n : 1, sizeof(*member));
    size_t *off = pho_calloc(n + 1, sizeof(*off));
    int rc = start && list && member && off ? 0 : PHO_ENOMEM;
    size_t ngroup = 0, nmember = 0;
    if (rc == 0) {
        for (uint32_t i = 0; i < n; i++)
            start[pho_group__uf_find(&s->uf, i) + 1]++;
        for (size_t r = 0; r < n; r++)
            start[r + 1] += start[r];
        for (uint32_t i = 0; i < n; i++)
            list[start[pho_group__uf_find(&s->uf, i)]++] = i;
        memmove(start + 1, start, n * sizeof(*start));
        start[0] = 0;
        for (size_t r = 0; r < n; r++) {
            size_t k = start[r + 1] - start[r];
            if (k < 2 || k < min_size)
                continue;
            memcpy(member + nmember, list + start[r], k * sizeof(*member));
            nmember += k;
            off[++ngroup] = nmember;
        }
        rc = pho_group__result(out, s->items, member, off, ngroup);
    }
    pho_free(start);
    pho_free(list);
    pho_free(member);
    pho_free(off);
    if (rc)
        return rc;
    return explain_groups(*out, s->edges, s->nedges, n);
}

int pho_group__auto(struct pho_groups **out, const struct pho_group_item *items, size_t n,
                    const struct pho_group_opts *o, struct pho_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (!items[i].sig)
            return pho_err_set(err, PHO_EINVAL, "group: photo %zu has no signature", i);
    struct state s = { .items = items, .threads = o->threads ? o->threads : pho_cpu_count() };
    s.cache = pho_calloc(s.threads, sizeof(*s.cache));
    s.block = pho_reallocarray(NULL, JUDGE_BLOCK, sizeof(*s.block));
    s.verdict = pho_reallocarray(NULL, JUDGE_BLOCK, sizeof(*s.verdict));
    int rc = s.cache && s.block && s.verdict ? 0 : PHO_ENOMEM;
    for (unsigned t = 0; rc == 0 && t < s.threads; t++)
        rc = (s.cache[t] = pho_group__vcache_new()) ? 0 : PHO_ENOMEM;
    if (rc == 0)
        rc = pho_group__uf_init(&s.uf, (uint32_t)n);
    if (rc == 0)
        rc = search_copies(&s, n);
    if (rc == 0)
        rc = search_dated(&s, n);
    if (rc == 0)
        rc = search_undated(&s, n);
    if (rc == 0)
        rc = collect(out, &s, n, PHO_MAX(o->min_group_size, (size_t)2));
    if (rc == 0) {
        (*out)->pairs_compared = s.compared;
        (*out)->links = s.nedges;
    }
    pho_group__uf_release(&s.uf);
    for (unsigned t = 0; s.cache && t < s.threads; t++)
        pho_group__vcache_free(s.cache[t]);
    pho_free(s.cache);
    pho_free(s.block);
    pho_free(s.verdict);
    pho_free(s.edges);
    if (rc)
        return pho_err_set(err, rc, "group: out of memory for %zu photos", n);
    return 0;
}
