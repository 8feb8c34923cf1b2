/* SPDX-License-Identifier: MIT */
/*
 * Faces into persons (docs/people.md). Four passes over the k nearest
 * neighbours of every face (ann.h):
 *
 *   1. faces that had a person keep it (the user's moves are among them);
 *   2. a face without one joins the person most of its close neighbours
 *      belong to (twice, so a face can follow one that just joined);
 *   3. the faces still alone that pass the quality gate are linked to their
 *      close *mutual* neighbours (each among the other's k nearest: a face in
 *      a crowd does not chain two people together), and every linked set of at
 *      least min_faces founds a new person;
 *   4. faces left over join those new persons as in 2.
 *
 * "Close" is the backend's calibrated same-person distance. A face never
 * joins a person the user said it is not, nor one that already has a face
 * in its photo: two faces of one photo are two people (a crowd of strangers
 * would otherwise chain into one).
 */
#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "people/ann.h"
#include "pho/people.h"

bool pho_people_eligible(const struct pho_face *f, uint32_t image_w, uint32_t image_h)
{
    /* Boxes are fractions of the analysed image; the embedding saw its pixels. */
    float w = (f->box[2] - f->box[0]) * (float)image_w,
          h = (f->box[3] - f->box[1]) * (float)image_h;
    return f->embed_dim > 0 && f->score >= 0.6f && PHO_MIN(w, h) >= 40.f &&
           !(fabsf(f->yaw) > 0.6f); /* NAN (unknown) passes */
}

struct ctx {
    const struct pho_people_face *faces;
    size_t n, k;
    const uint32_t *nbr;
    const float *d2;
    float limit; /* squared distance of the same person */
    int64_t *out;
    /* The faces by photo: face i's photo holds by_photo[first[i] .. first[i] + count[i]). */
    size_t *by_photo, *first, *count;
};

/* Whether another face of face @i's photo is in person @p. */
static bool photo_has(const struct ctx *c, size_t i, int64_t p)
{
    for (size_t a = 0; a < c->count[i]; a++) {
        size_t j = c->by_photo[c->first[i] + a];
        if (j != i && c->out[j] == p)
            return true;
    }
    return false;
}

static int compare_photo(const void *a, const void *b, void *ud)
{
    const struct pho_people_face *faces = ud;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    uint64_t px = faces[x].photo, py = faces[y].photo;
    return px != py ? (px < py ? -1 : 1) : (x > y) - (x < y);
}

/* Fills by_photo, first and count. */
static int index_photos(struct ctx *c)
{
    c->by_photo = pho_malloc(c->n * sizeof(size_t));
    c->first = pho_malloc(c->n * sizeof(size_t));
    c->count = pho_malloc(c->n * sizeof(size_t));
    if (!c->by_photo || !c->first || !c->count)
        return PHO_ENOMEM;
    for (size_t i = 0; i < c->n; i++)
        c->by_photo[i] = i;
    qsort_r(c->by_photo, c->n, sizeof(size_t), compare_photo, (void *)c->faces);
    for (size_t a = 0; a < c->n;) {
        size_t b = a;
        while (b < c->n && c->faces[c->by_photo[b]].photo == c->faces[c->by_photo[a]].photo)
            b++;
        for (size_t x = a; x < b; x++) {
            c->first[c->by_photo[x]] = a;
            c->count[c->by_photo[x]] = b - a;
        }
        a = b;
    }
    return 0;
}

static bool refused(const struct pho_people_face *f, int64_t person)
{
    for (size_t i = 0; i < f->nnot; i++)
        if (f->not_persons[i] == person)
            return true;
    return false;
}

/* The person most close neighbours of face @i belong to (ties: the nearer), or 0; *@near: the
 * squared distance to its nearest face in that person. */
static int64_t vote(const struct ctx *c, size_t i, float *near)
{
    int64_t best = 0;
    size_t best_votes = 0;
    for (size_t a = 0; a < c->k; a++) {
        uint32_t j = c->nbr[i * c->k + a];
        if (j == UINT32_MAX || c->d2[i * c->k + a] > c->limit)
            break; /* nearest first: the rest are farther */
        int64_t p = c->out[j];
        if (p <= 0 || refused(&c->faces[i], p) || photo_has(c, i, p))
            continue;
        size_t votes = 0;
        for (size_t b = 0; b < c->k; b++) {
            uint32_t m = c->nbr[i * c->k + b];
            if (m == UINT32_MAX || c->d2[i * c->k + b] > c->limit)
                break;
            votes += c->out[m] == p;
        }
        if (votes > best_votes) { /* an equal count keeps the nearer, met first */
            best = p;
            best_votes = votes;
            *near = c->d2[i * c->k + a];
        }
    }
    return best;
}

/* Faces without a person join their neighbours'; decided from the state before the pass,
 * so the order of the faces does not matter. */
static int join(struct ctx *c)
{
    int64_t *next = pho_malloc(c->n * sizeof(*next));
    float *near = pho_malloc(c->n * sizeof(*near));
    if (!next || !near) {
        pho_free(next);
        pho_free(near);
        return PHO_ENOMEM;
    }
    for (size_t i = 0; i < c->n; i++) {
        near[i] = 0.f;
        next[i] = c->out[i] ? c->out[i] : vote(c, i, &near[i]);
    }
    /* Two faces of one photo that would join one person: only the nearer does. */
    for (size_t i = 0; i < c->n; i++) {
        if (c->out[i] || !next[i])
            continue;
        for (size_t a = 0; a < c->count[i]; a++) {
            size_t j = c->by_photo[c->first[i] + a];
            if (j != i && !c->out[j] && next[j] == next[i] &&
                (near[j] < near[i] || (near[j] == near[i] && j < i))) {
                next[i] = 0;
                break;
            }
        }
    }
    memcpy(c->out, next, c->n * sizeof(*next));
    pho_free(next);
    pho_free(near);
    return 0;
}

static size_t find(size_t *parent, size_t i)
{
    while (parent[i] != i)
        i = parent[i] = parent[parent[i]];
    return i;
}

static bool neighbour_of(const struct ctx *c, size_t i, size_t j)
{
    for (size_t a = 0; a < c->k; a++)
        if (c->nbr[i * c->k + a] == j)
            return true;
    return false;
}

/* Whether face @i has at least half of its k neighbours close: it is inside a person, not
 * at its edge or alone (a face near many others but close to few is not). */
static bool dense(const struct ctx *c, size_t i)
{
    size_t close = 0;
    for (size_t a = 0; a < c->k; a++)
        close += c->nbr[i * c->k + a] != UINT32_MAX && c->d2[i * c->k + a] <= c->limit;
    return c->k >= 4 && 2 * close >= c->k;
}

struct edge {
    float d2;
    uint32_t a, b;
};

static int compare_edges(const void *x, const void *y)
{
    const struct edge *a = x, *b = y;
    if (a->d2 != b->d2)
        return a->d2 < b->d2 ? -1 : 1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return (a->b > b->b) - (a->b < b->b);
}

/* Photo keys of a linked set, sorted: two sets with a photo in common never join. */
struct photos {
    uint64_t *v;
    size_t n;
};

static bool disjoint(const struct photos *x, const struct photos *y)
{
    for (size_t i = 0, j = 0; i < x->n && j < y->n;) {
        if (x->v[i] == y->v[j])
            return false;
        if (x->v[i] < y->v[j])
            i++;
        else
            j++;
    }
    return true;
}

/* Merges @y's photos into @x (both sorted). */
static int absorb(struct photos *x, struct photos *y)
{
    uint64_t *v = pho_malloc((x->n + y->n) * sizeof(*v));
    if (!v)
        return PHO_ENOMEM;
    size_t i = 0, j = 0, n = 0;
    while (i < x->n || j < y->n)
        v[n++] = j >= y->n || (i < x->n && x->v[i] < y->v[j]) ? x->v[i++] : y->v[j++];
    pho_free(x->v);
    pho_free(y->v);
    *x = (struct photos){ v, n };
    *y = (struct photos){ 0 };
    return 0;
}

/*
 * Pass 3: new persons from the eligible faces still alone. Their close mutual neighbours
 * are linked nearest first (single linkage), two sets never joining when they have a photo
 * in common; every set of at least min_faces founds a person.
 */
static int found(struct ctx *c, size_t min_faces, int64_t next_id, size_t *created)
{
    size_t *parent = pho_malloc(c->n * sizeof(*parent));
    size_t *size = pho_calloc(c->n, sizeof(*size));
    int64_t *id = pho_calloc(c->n, sizeof(*id));
    struct photos *ph = pho_calloc(c->n, sizeof(*ph));
    struct edge *edges = pho_malloc(c->n * c->k * sizeof(*edges));
    int rc = parent && size && id && ph && edges ? 0 : PHO_ENOMEM;
    size_t ne = 0;
    for (size_t i = 0; rc == 0 && i < c->n; i++) {
        parent[i] = i;
        bool alone = !c->out[i] && c->faces[i].eligible;
        if (alone && !(ph[i].v = pho_malloc(sizeof(uint64_t))))
            rc = PHO_ENOMEM;
        else if (alone)
            ph[i] = (struct photos){ ph[i].v, 1 }, ph[i].v[0] = c->faces[i].photo;
        for (size_t a = 0; alone && a < c->k; a++) {
            uint32_t j = c->nbr[i * c->k + a];
            if (j == UINT32_MAX || c->d2[i * c->k + a] > c->limit)
                break;
            /* Each pair once, from its lower index: mutual neighbours, or two faces in the
             * dense middle of a person (a large person's nearest neighbours are all near
             * each other, so mutual ones alone would split it). */
            if (j > i && !c->out[j] && c->faces[j].eligible &&
                (neighbour_of(c, j, i) || (dense(c, i) && dense(c, j))))
                edges[ne++] = (struct edge){ c->d2[i * c->k + a], (uint32_t)i, j };
        }
    }
    if (rc == 0)
        qsort(edges, ne, sizeof(*edges), compare_edges);
    for (size_t e = 0; rc == 0 && e < ne; e++) {
        size_t x = find(parent, edges[e].a), y = find(parent, edges[e].b);
        if (x == y || !disjoint(&ph[x], &ph[y]))
            continue;
        size_t lo = PHO_MIN(x, y), hi = PHO_MAX(x, y);
        parent[hi] = lo;
        rc = absorb(&ph[lo], &ph[hi]);
    }
    for (size_t i = 0; rc == 0 && i < c->n; i++)
        if (!c->out[i] && c->faces[i].eligible)
            size[find(parent, i)]++;
    /* Numbered by their first face, so the same faces make the same persons. */
    *created = 0;
    for (size_t i = 0; rc == 0 && i < c->n; i++) {
        if (c->out[i] || !c->faces[i].eligible)
            continue;
        size_t r = find(parent, i);
        if (size[r] < min_faces)
            continue;
        if (!id[r]) {
            id[r] = next_id + (int64_t)*created;
            (*created)++;
        }
        c->out[i] = id[r];
    }
    for (size_t i = 0; ph && i < c->n; i++)
        pho_free(ph[i].v);
    pho_free(ph);
    pho_free(edges);
    pho_free(parent);
    pho_free(size);
    pho_free(id);
    return rc;
}

int pho_people_cluster(int64_t *out, size_t *created, const struct pho_people_face *faces, size_t n,
                       const struct pho_people_opts *o, int64_t next_id, struct pho_err *err)
{
    *created = 0;
    if (!o->dim || !(o->same > 0) || next_id <= 0)
        return pho_err_set(err, PHO_EINVAL, "people: no embedding space to cluster in");
    for (size_t i = 0; i < n; i++)
        out[i] = faces[i].person > 0 ? faces[i].person : 0;
    if (n < 2)
        return 0;
    size_t k = PHO_MIN(o->k ? o->k : 10, n - 1);
    float *x = pho_malloc(n * o->dim * sizeof(*x));
    uint32_t *nbr = pho_malloc(n * k * sizeof(*nbr));
    float *d2 = pho_malloc(n * k * sizeof(*d2));
    int rc = x && nbr && d2 ? 0 : PHO_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        memcpy(x + i * o->dim, faces[i].embed, o->dim * sizeof(*x));
    char why[256] = "";
    if (rc == 0) {
        int arc = pho_ann__knn(nbr, d2, x, n, o->dim, k, o->threads, why, sizeof(why));
        if (arc == PHO_ANN_NOMEM)
            rc = PHO_ENOMEM;
        else if (arc)
            rc = pho_err_set(err, PHO_EINVAL, "people: nearest neighbours: %s", why);
    }
    /* Unit vectors (cosine): |a - b|^2 = 2 (1 - cos a.b). */
    float limit = o->metric == PHO_FACE_METRIC_COSINE ? 2.f * o->same : o->same * o->same;
    struct ctx c = { faces, n, k, nbr, d2, limit, out, NULL, NULL, NULL };
    if (rc == 0 && index_photos(&c) != 0)
        rc = PHO_ENOMEM;
    for (int pass = 0; rc == 0 && pass < 2; pass++)
        rc = join(&c);
    if (rc == 0)
        rc = found(&c, PHO_MAX(o->min_faces, 2), next_id, created);
    if (rc == 0)
        rc = join(&c);
    if (rc == PHO_ENOMEM)
        pho_err_set(err, PHO_ENOMEM, "people: out of memory");
    pho_free(c.by_photo);
    pho_free(c.first);
    pho_free(c.count);
    pho_free(x);
    pho_free(nbr);
    pho_free(d2);
    return rc;
}
