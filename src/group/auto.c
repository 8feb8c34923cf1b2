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
 * dHashes and pHashes, queried with each photo's full hashes and crop pHashes
 * on worker threads (the hits are judged afterwards in photo order); a
 * sweep in time order over the photos that have a time, and one in the
 * caller's order over those that have none, each bounded (MAX_NEIGHBOURS). Candidates are judged in
 * a fixed order and a pair already connected is not judged again, so the groups depend only on the
 * photos, never on threads or timing.
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
    w->same_camera = a->camera && a->camera == b->camera;
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
    };
    return (unsigned)reason < PHO_ARRAY_LEN(names) ? names[reason] : "unknown";
}

/* ---- the search ---- */

struct edge {
    uint32_t a, b;
    struct pho_group_why why;
};

struct state {
    const struct pho_group_item *items;
    struct pho_group_uf uf;
    struct pho_group_vcache *cache;
    struct edge *edges; /* accepted links */
    size_t nedges, capedges;
    size_t compared;
    int rc;
};

/* Judges (a, b) unless they are connected already; keeps the link when it holds. */
static void consider(struct state *s, uint32_t a, uint32_t b)
{
    if (a == b || s->rc || pho_group__uf_find(&s->uf, a) == pho_group__uf_find(&s->uf, b))
        return;
    if (a > b) {
        uint32_t t = a;
        a = b;
        b = t;
    }
    s->compared++;
    struct pho_group_why w;
    if (!judge(&w, &s->items[a], &s->items[b], s->cache, a, b))
        return;
    struct edge *e = pho_array_grow(s->edges, &s->capedges, s->nedges, sizeof(*e), 256);
    if (!e) {
        s->rc = PHO_ENOMEM;
        return;
    }
    s->edges = e;
    s->edges[s->nedges++] = (struct edge){ a, b, w };
    pho_group__uf_union(&s->uf, a, b);
}

/* ---- copies: the index lookups run on worker threads, the links are judged in order ---- */

#define CHUNK_ITEMS  2048 /* photos per work unit */
#define BLOCK_CHUNKS 64   /* work units whose hits are held at once */

struct pairs {
    uint32_t (*v)[2];
    size_t n, cap;
    bool oom;
};

struct lookup {
    const struct pho_group_item *items;
    size_t n;
    struct pho_mih *idx[2];
    size_t first_chunk;
    struct pairs *out; /* per chunk of the block */
};

struct hit {
    struct pairs *out;
    uint32_t query;
};

static void push_pair(struct pairs *p, uint32_t a, uint32_t b)
{
    uint32_t(*v)[2] = pho_array_grow(p->v, &p->cap, p->n, sizeof(*v), 256);
    if (!v) {
        p->oom = true;
        return;
    }
    p->v = v;
    p->v[p->n][0] = a;
    p->v[p->n][1] = b;
    p->n++;
}

static void on_hit(void *ud, uint32_t entry, int dist)
{
    (void)dist;
    struct hit *h = ud;
    if (entry != h->query)
        push_pair(h->out, h->query, entry);
}

/*
 * Each photo's full-frame hashes and its crop pHashes against all full-frame
 * hashes. Full against full is symmetric (the later photo's query finds the
 * pair); a crop against the other's whole frame is not, so crop queries look
 * at every photo.
 */
static void lookup_chunk(void *ud, size_t index, unsigned worker)
{
    (void)worker;
    struct lookup *l = ud;
    size_t chunk = l->first_chunk + index;
    struct pairs *out = &l->out[index];
    size_t end = PHO_MIN((chunk + 1) * CHUNK_ITEMS, l->n);
    for (size_t i = chunk * CHUNK_ITEMS; i < end && !out->oom; i++) {
        const struct pho_group_item *it = &l->items[i];
        struct hit h = { out, (uint32_t)i };
        /* Full dHash, full pHash, crop pHashes, then the mirrored and turned dHashes. */
        uint64_t q[4 + PHO_HASH_CROPS] = { it->dhash, it->phash };
        for (int k = 0; k < PHO_HASH_CROPS; k++)
            q[2 + k] = it->sig->crop_phash[k];
        q[2 + PHO_HASH_CROPS] = it->sig->turned_dhash[0];
        q[3 + PHO_HASH_CROPS] = it->sig->turned_dhash[1];
        for (int k = 0; k < 4 + PHO_HASH_CROPS; k++) {
            int kind = k == 0 || k >= 2 + PHO_HASH_CROPS ? 0 : 1;
            uint32_t from = k < 2 ? (uint32_t)i + 1 : 0;
            if (l->idx[kind]) {
                pho_mih__query(l->idx[kind], q[k], from, on_hit, &h);
                continue;
            }
            for (size_t j = from; j < l->n; j++) /* no index pays off: a handful of photos */
                if (bits(q[k], kind ? l->items[j].phash : l->items[j].dhash) <= COPY_BITS && j != i)
                    push_pair(out, (uint32_t)i, (uint32_t)j);
        }
    }
}

static int search_copies(struct state *s, size_t n, unsigned threads)
{
    uint64_t *keys = pho_reallocarray(NULL, n ? n : 1, sizeof(*keys));
    struct pairs *out = pho_calloc(BLOCK_CHUNKS, sizeof(*out));
    struct lookup l = { .items = s->items, .n = n, .out = out };
    int rc = keys && out ? 0 : PHO_ENOMEM;
    struct pho_mih_plan plan;
    pho_mih__plan(&plan, n, COPY_BITS);
    for (int kind = 0; rc == 0 && kind < 2 && plan.m; kind++) {
        for (size_t i = 0; i < n; i++)
            keys[i] = kind ? s->items[i].phash : s->items[i].dhash;
        rc = pho_mih__new(&l.idx[kind], keys, (uint32_t)n, &plan, COPY_BITS);
    }
    size_t nchunks = (n + CHUNK_ITEMS - 1) / CHUNK_ITEMS;
    for (size_t first = 0; rc == 0 && first < nchunks; first += BLOCK_CHUNKS) {
        size_t m = PHO_MIN((size_t)BLOCK_CHUNKS, nchunks - first);
        l.first_chunk = first;
        pho_parallel_for(m, threads, lookup_chunk, &l);
        /* In chunk order, so the links (and the groups) never depend on the threads. */
        for (size_t c = 0; c < m; c++) {
            if (out[c].oom)
                rc = PHO_ENOMEM;
            for (size_t k = 0; rc == 0 && k < out[c].n; k++)
                consider(s, out[c].v[k][0], out[c].v[k][1]);
            out[c].n = 0;
            rc = rc ? rc : s->rc;
        }
    }
    for (size_t c = 0; out && c < BLOCK_CHUNKS; c++)
        pho_free(out[c].v);
    pho_free(out);
    pho_mih__free(l.idx[0]);
    pho_mih__free(l.idx[1]);
    pho_free(keys);
    return rc;
}

/* Bursts and one camera's shots: each dated photo against the later ones within reach. */
static int search_dated(struct state *s, size_t n)
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
    pho_free(order);
    return rc;
}

/* Undated photos: each against the next MAX_NEIGHBOURS undated ones. */
static int search_undated(struct state *s, size_t n)
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
    struct state s = { .items = items, .cache = pho_group__vcache_new() };
    int rc = s.cache ? pho_group__uf_init(&s.uf, (uint32_t)n) : PHO_ENOMEM;
    if (rc == 0)
        rc = search_copies(&s, n, o->threads ? o->threads : pho_cpu_count());
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
    pho_group__vcache_free(s.cache);
    pho_free(s.edges);
    if (rc)
        return pho_err_set(err, rc, "group: out of memory for %zu photos", n);
    return 0;
}
