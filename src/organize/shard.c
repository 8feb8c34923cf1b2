/* SPDX-License-Identifier: MIT */
/*
 * Static shards (--shard I/N, docs/scale-out.md): which photos one of N
 * independent jobs analyses, decided by every job alike from the same scan,
 * without a queue. Photos are taken in units that a burst never straddles:
 * a folder, cut only where its files' times are more than an hour apart.
 * Units in order (folder, then time) are dealt out in N contiguous runs of
 * about equal size, so each shard reads whole folders where it can.
 */
#include "core/common.h"

#include <stdlib.h>
#include <string.h>

#include "organize/internal.h"
#include "organize/run.h"

/* A gap in file times that no burst has. */
#define UNIT_GAP_NS (3600LL * 1000000000LL)

static const struct pho_photo *sort_photos;

static size_t dir_len(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    return slash ? (size_t)(slash - rel) : 0;
}

static int by_folder_time(const void *a, const void *b)
{
    const struct pho_photo *p = &sort_photos[*(const size_t *)a];
    const struct pho_photo *q = &sort_photos[*(const size_t *)b];
    size_t lp = dir_len(p->rel), lq = dir_len(q->rel);
    int c = memcmp(p->rel, q->rel, PHO_MIN(lp, lq));
    if (c == 0 && lp != lq)
        c = lp < lq ? -1 : 1;
    if (c == 0 && p->mtime_ns != q->mtime_ns)
        c = p->mtime_ns < q->mtime_ns ? -1 : 1;
    return c ? c : strcmp(p->rel, q->rel);
}

static bool same_unit(const struct pho_photo *p, const struct pho_photo *q)
{
    size_t lp = dir_len(p->rel);
    return lp == dir_len(q->rel) && !memcmp(p->rel, q->rel, lp) &&
           q->mtime_ns - p->mtime_ns <= UNIT_GAP_NS;
}

int pho_organize__shard(bool *in_shard, const struct pho_organize_result *r, unsigned index,
                        unsigned count, struct pho_err *err)
{
    memset(in_shard, 0, r->nphotos * sizeof(*in_shard));
    if (r->nphotos == 0)
        return 0;
    size_t *order = pho_calloc(r->nphotos, sizeof(*order));
    if (!order)
        return pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
    for (size_t i = 0; i < r->nphotos; i++)
        order[i] = i;
    /* qsort has no context argument in C11; the scan is single-threaded here. */
    sort_photos = r->photos;
    qsort(order, r->nphotos, sizeof(*order), by_folder_time);
    sort_photos = NULL;
    size_t n = r->nphotos;
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && same_unit(&r->photos[order[b - 1]], &r->photos[order[b]]))
            b++;
        /* The unit goes to the shard its middle falls in. */
        size_t mid2 = a + b; /* twice the middle */
        size_t shard = (size_t)((unsigned long long)mid2 * count / (2ULL * n));
        if (shard >= count)
            shard = count - 1;
        if (shard == index)
            for (size_t k = a; k < b; k++)
                in_shard[order[k]] = true;
        a = b;
    }
    pho_free(order);
    return 0;
}
