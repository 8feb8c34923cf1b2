/* SPDX-License-Identifier: MIT */
/*
 * What both link rules share: sorting by a 64-bit key, union-find, and the
 * canonical order of a result, so that the groups depend only on the links.
 */
#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "group/internal.h"

/* Below this many items, sorting with qsort beats four 64 Ki-bucket radix passes. */
#define RADIX_MIN 4096

/* ---- sorting ---------------------------------------------------------------- */

int pho_group__cmp_keyed(const void *pa, const void *pb)
{
    const struct pho_group_keyed *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

int pho_group__sort_keyed(struct pho_group_keyed *a, size_t n)
{
    if (n < RADIX_MIN) {
        qsort(a, n, sizeof(*a), pho_group__cmp_keyed);
        return 0;
    }
    struct pho_group_keyed *tmp = pho_reallocarray(NULL, n, sizeof(*tmp));
    size_t *count = pho_calloc(65536, sizeof(*count));
    if (!tmp || !count) {
        pho_free(tmp);
        pho_free(count);
        return PHO_ENOMEM;
    }
    struct pho_group_keyed *src = a, *dst = tmp;
    for (unsigned shift = 0; shift < 64; shift += 16) {
        memset(count, 0, 65536 * sizeof(*count));
        for (size_t i = 0; i < n; i++)
            count[(src[i].key >> shift) & 0xffff]++;
        if (count[(src[0].key >> shift) & 0xffff] == n)
            continue;
        size_t sum = 0;
        for (size_t b = 0; b < 65536; b++) {
            size_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].key >> shift) & 0xffff]++] = src[i];
        struct pho_group_keyed *swap = src;
        src = dst;
        dst = swap;
    }
    if (src != a)
        memcpy(a, src, n * sizeof(*a));
    pho_free(tmp);
    pho_free(count);
    return 0;
}

uint64_t pho_group__time_key(double t)
{
    t = isfinite(t) ? t + 0.0 : 0.0;
    uint64_t b;
    memcpy(&b, &t, sizeof(b));
    return (b >> 63) ? ~b : b | ((uint64_t)1 << 63);
}

/* ---- union-find --------------------------------------------------------------- */

int pho_group__uf_init(struct pho_group_uf *u, uint32_t n)
{
    u->parent = pho_reallocarray(NULL, n ? n : 1, sizeof(*u->parent));
    u->size = pho_reallocarray(NULL, n ? n : 1, sizeof(*u->size));
    if (!u->parent || !u->size)
        return PHO_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        u->parent[i] = i;
        u->size[i] = 1;
    }
    return 0;
}

void pho_group__uf_release(struct pho_group_uf *u)
{
    pho_free(u->parent);
    pho_free(u->size);
}

bool pho_group__uf_union(struct pho_group_uf *u, uint32_t a, uint32_t b)
{
    a = pho_group__uf_find(u, a);
    b = pho_group__uf_find(u, b);
    if (a == b)
        return false;
    if (u->size[a] < u->size[b] || (u->size[a] == u->size[b] && a > b)) {
        uint32_t s = a;
        a = b;
        b = s;
    }
    u->parent[b] = a;
    u->size[a] += u->size[b];
    return true;
}

/* ---- canonical order ---- */

struct group_key {
    uint64_t time;  /* first member's time key */
    uint32_t first; /* first member's index */
    uint32_t group;
};

static int cmp_group_key(const void *pa, const void *pb)
{
    const struct group_key *a = pa, *b = pb;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return (a->first > b->first) - (a->first < b->first);
}

int pho_group__result(struct pho_groups **out, const struct pho_group_item *items,
                      const uint32_t *member, const size_t *off, size_t ngroup)
{
    size_t nmember = ngroup ? off[ngroup] : 0;
    struct pho_groups *res = pho_calloc(1, sizeof(*res));
    struct pho_group_keyed *keys = pho_reallocarray(NULL, nmember ? nmember : 1, sizeof(*keys));
    struct group_key *order = pho_reallocarray(NULL, ngroup ? ngroup : 1, sizeof(*order));
    int rc = 0;
    if (!res || !keys || !order) {
        rc = PHO_ENOMEM;
        goto out;
    }
    res->offsets = pho_calloc(ngroup + 1, sizeof(*res->offsets));
    res->members = pho_reallocarray(NULL, nmember ? nmember : 1, sizeof(*res->members));
    if (!res->offsets || !res->members) {
        rc = PHO_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nmember; i++) {
        keys[i].key = pho_group__time_key(items[member[i]].time);
        keys[i].id = member[i];
    }
    for (size_t k = 0; k < ngroup; k++) {
        qsort(keys + off[k], off[k + 1] - off[k], sizeof(*keys), pho_group__cmp_keyed);
        order[k].time = keys[off[k]].key;
        order[k].first = keys[off[k]].id;
        order[k].group = (uint32_t)k;
    }
    /* Members are distinct items, so (time, first index) never ties between groups. */
    qsort(order, ngroup, sizeof(*order), cmp_group_key);
    size_t at = 0;
    for (size_t k = 0; k < ngroup; k++) {
        size_t src = order[k].group;
        for (size_t i = off[src]; i < off[src + 1]; i++)
            res->members[at++] = keys[i].id;
        res->offsets[k + 1] = at;
    }
    res->count = ngroup;
out:
    pho_free(keys);
    pho_free(order);
    if (rc) {
        pho_groups_free(res);
        return rc;
    }
    *out = res;
    return 0;
}

void pho_groups_free(struct pho_groups *groups)
{
    if (!groups)
        return;
    pho_free(groups->offsets);
    pho_free(groups->members);
    pho_free(groups->why);
    pho_free(groups);
}
