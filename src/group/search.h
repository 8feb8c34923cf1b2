/* SPDX-License-Identifier: MIT */
/*
 * Private to src/group: the classic rule's candidate search (search.c) over
 * a view of the photos, as group.c and its chain guard use it.
 */
#ifndef PHO_GROUP_SEARCH_H
#define PHO_GROUP_SEARCH_H

#include "core/common.h"

#include "group/internal.h"
#include "group/mih.h"

/* Queries per block and per work unit; fixed so results never depend on threads. */
#define BLOCK_QUERIES    16384
#define CHUNK_QUERIES    256
#define CHUNKS_PER_BLOCK (BLOCK_QUERIES / CHUNK_QUERIES)

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

/*
 * The view of @k items: all of them (@subset NULL) or items[subset[i]];
 * @window: whether the time window applies. Release with
 * pho_group__view_release(). @return 0 or PHO_ENOMEM.
 */
int pho_group__view_init(struct view *v, const struct pho_group_item *items, const uint32_t *subset,
                         uint32_t k, bool window);
void pho_group__view_release(struct view *v);

/* Runs the search @s describes (v, t, w, mode, threads set); release it after. */
int pho_group__search_run(struct search *s);
void pho_group__search_release(struct search *s);

#endif
