/* SPDX-License-Identifier: MIT */
/*
 * Verification of a candidate pair: normalised cross-correlation of the two
 * 32x32 grey thumbnails (hash/signature.c), the best over centre crops of
 * either side, so that a cropped copy or a reframed burst shot still
 * correlates with its original.
 *
 * On ../shared/testdata/neardup (docs/grouping.md) copies score 0.95-1.00,
 * burst frames 0.45-0.99, and unrelated photos whose hashes are within 16
 * bits at most 0.49: the hash proposes, the correlation decides.
 */
#include "core/common.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "group/internal.h"

#define N      PHO_HASH_THUMB
#define NCROPS 4
#define FLAT_VAR                                                                    \
    1.0 /* per-pixel variance (grey levels squared) below which a thumbnail is flat \
         */

static const float crop_side[NCROPS] = { 1.0f, 0.9f, 0.8f, 0.7f };

/* Bilinear taps of each crop along one axis (the crops are square and centred), weights in 1/256.
 */
struct taps {
    uint8_t i0[N], i1[N];
    uint16_t w[N];
};
static struct taps crop_taps[NCROPS];
static pthread_once_t taps_once = PTHREAD_ONCE_INIT;

static void init_taps(void)
{
    for (int k = 0; k < NCROPS; k++) {
        float side = crop_side[k] * N, off = (N - side) / 2.0f, step = side / N;
        for (int i = 0; i < N; i++) {
            float s = off + (i + 0.5f) * step - 0.5f;
            s = s < 0 ? 0 : s > N - 1 ? N - 1 : s;
            int i0 = (int)s;
            crop_taps[k].i0[i] = (uint8_t)i0;
            crop_taps[k].i1[i] = (uint8_t)(i0 + 1 < N ? i0 + 1 : i0);
            crop_taps[k].w[i] = (uint16_t)lroundf((s - (float)i0) * 256);
        }
    }
}

/* Horizontal pass of a crop over every source row, 8 fractional bits. Kept out of line: GCC 12
 * at -O3 vectorised it together with the vertical pass into wrong pixels (test_auto_similarity
 * caught it). */
__attribute__((noinline)) static void crop_rows(uint16_t row[N][N], const uint8_t *src,
                                                const struct taps *t)
{
    for (int r = 0; r < N; r++)
        for (int x = 0; x < N; x++)
            row[r][x] = (uint16_t)(src[r * N + t->i0[x]] * (256 - t->w[x]) +
                                   src[r * N + t->i1[x]] * t->w[x]);
}

/* Crop @k (> 0) of @src, resampled to N x N (bilinear, rounded). Each source row's horizontal
 * pass is made once and shared by the output rows that need it. */
static void crop(uint8_t *dst, const uint8_t *src, int k)
{
    const struct taps *t = &crop_taps[k];
    uint16_t row[N][N];
    crop_rows(row, src, t);
    for (int y = 0; y < N; y++) {
        const uint16_t *r0 = row[t->i0[y]], *r1 = row[t->i1[y]];
        uint32_t wy = t->w[y];
        for (int x = 0; x < N; x++)
            dst[y * N + x] = (uint8_t)((r0[x] * (256 - wy) + r1[x] * wy + (1u << 15)) >> 16);
    }
}

/* Sum and sum of squares of a thumbnail, for the correlation. */
struct stats {
    uint32_t sum;
    uint32_t sq;
};

static struct stats stats_of(const uint8_t *t)
{
    uint32_t sum = 0, sq = 0;
    for (int i = 0; i < N * N; i++) {
        sum += t[i];
        sq += (uint32_t)t[i] * t[i];
    }
    return (struct stats){ sum, sq };
}

/* Variance per pixel. */
static double variance(struct stats s)
{
    double m = s.sum / (double)(N * N);
    return s.sq / (double)(N * N) - m * m;
}

/* Integer sums (uint8 data): the compiler vectorises them. */
static double ncc(const uint8_t *a, struct stats sa, const uint8_t *b, struct stats sb)
{
    uint32_t dot = 0;
    for (int i = 0; i < N * N; i++)
        dot += (uint32_t)a[i] * b[i];
    double n = N * N, ma = sa.sum / n, mb = sb.sum / n;
    return (dot / n - ma * mb) / sqrt(variance(sa) * variance(sb));
}

float pho_group__turned_similarity(const struct pho_hash_sig *a, const struct pho_hash_sig *b)
{
    struct stats sb = stats_of(b->thumb);
    if (variance(sb) < FLAT_VAR)
        return 0.0f;
    uint8_t t[N * N];
    double best = -1;
    for (int turn = 0; turn < 3; turn++) { /* mirrored, turned clockwise, counter-clockwise */
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++)
                t[y * N + x] = turn == 0   ? a->thumb[y * N + (N - 1 - x)]
                               : turn == 1 ? a->thumb[(N - 1 - x) * N + y]
                                           : a->thumb[x * N + (N - 1 - y)];
        struct stats st = stats_of(t);
        if (variance(st) >= FLAT_VAR)
            best = PHO_MAX(best, ncc(t, st, b->thumb, sb));
    }
    return (float)best;
}

float pho_group__colour(const struct pho_hash_sig *a, const struct pho_hash_sig *b)
{
    unsigned sum = 0;
    for (int i = 0; i < 64; i++)
        sum += PHO_MIN(a->colour[i], b->colour[i]);
    return sum >= 255 ? 1.0f : (float)sum / 255.0f;
}

/* One side of a comparison: its thumbnail and crops, made when first needed. */
struct side {
    const uint8_t *full;
    struct stats st[NCROPS];
    const uint8_t *crops[NCROPS]; /* [0] is the full frame */
    uint8_t made;                 /* bit k: crops[k] and st[k] are ready */
};

/* The cache keeps the crops of recently compared photos (the sweeps compare each with its
 * neighbours). */
#define CACHE_SLOTS 2048
struct pho_group_vcache {
    struct slot {
        uint32_t id;
        uint8_t made; /* 0: empty */
        struct stats st[NCROPS];
        uint8_t crops[NCROPS][N * N];
    } slot[CACHE_SLOTS];
};

struct pho_group_vcache *pho_group__vcache_new(void)
{
    return pho_calloc(1, sizeof(struct pho_group_vcache));
}

void pho_group__vcache_free(struct pho_group_vcache *c)
{
    pho_free(c);
}

static void side_init(struct side *sd, struct slot *sl, uint32_t id, const uint8_t *full)
{
    if (sl && (sl->id != id || !sl->made)) {
        sl->id = id;
        sl->made = 0;
    }
    sd->full = full;
    sd->made = sl ? sl->made : 0;
    for (int k = 0; k < NCROPS; k++) {
        sd->crops[k] = k == 0 ? full : sl ? sl->crops[k] : NULL;
        if (sd->made & (1u << k))
            sd->st[k] = sl->st[k];
    }
}

/* Crop @k of a side (and its sums), from the cache or made now into @tmp / the slot. */
static const uint8_t *side_crop(struct side *sd, struct slot *sl, int k, uint8_t *tmp,
                                struct stats *st)
{
    if (!(sd->made & (1u << k))) {
        uint8_t *dst = k == 0 ? NULL : sl ? sl->crops[k] : tmp;
        if (k > 0) {
            crop(dst, sd->full, k);
            sd->crops[k] = dst;
        }
        sd->st[k] = stats_of(sd->crops[k]);
        sd->made |= (uint8_t)(1u << k);
        if (sl) {
            sl->st[k] = sd->st[k];
            sl->made = sd->made;
        }
    }
    *st = sd->st[k];
    return sd->crops[k];
}

float pho_group__similarity(struct pho_group_vcache *cache, uint32_t ia,
                            const struct pho_hash_sig *a, uint32_t ib, const struct pho_hash_sig *b,
                            float enough)
{
    pthread_once(&taps_once, init_taps);
    struct slot *la = cache ? &cache->slot[ia % CACHE_SLOTS] : NULL;
    struct slot *lb = cache ? &cache->slot[ib % CACHE_SLOTS] : NULL;
    if (la == lb) /* two photos on one slot: the second makes its own */
        lb = NULL;
    struct side sa, sb;
    side_init(&sa, la, ia, a->thumb);
    side_init(&sb, lb, ib, b->thumb);
    struct stats fa, fb, sc;
    uint8_t tmp[2][N * N];
    const uint8_t *pa = side_crop(&sa, la, 0, tmp[0], &fa);
    const uint8_t *pb = side_crop(&sb, lb, 0, tmp[1], &fb);
    double va = variance(fa), vb = variance(fb);
    bool flat_a = va < FLAT_VAR, flat_b = vb < FLAT_VAR;
    if (flat_a || flat_b) /* nothing to correlate: alike only when both are flat and as bright */
        return flat_a && flat_b && fabs((double)fa.sum - (double)fb.sum) < 8.0 * N * N ? 1.0f
                                                                                       : 0.0f;
    double best = ncc(pa, fa, pb, fb);
    /* A crop of either side against the other's whole frame, until one is enough. */
    for (int k = 1; k < NCROPS && best < enough; k++) {
        const uint8_t *c = side_crop(&sa, la, k, tmp[0], &sc);
        if (variance(sc) >= FLAT_VAR)
            best = PHO_MAX(best, ncc(c, sc, pb, fb));
        c = side_crop(&sb, lb, k, tmp[1], &sc);
        if (variance(sc) >= FLAT_VAR)
            best = PHO_MAX(best, ncc(pa, fa, c, sc));
    }
    return (float)best;
}
