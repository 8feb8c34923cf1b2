/* SPDX-License-Identifier: MIT */
/*
 * dHash and pHash of a decoded photo, defined as imagehash defines them
 * (the original tool's library), so thresholds and stored hex strings keep
 * their meaning. Both go through resample.c, which reproduces Pillow's grey
 * conversion and Lanczos resize; this file only turns the small grey image
 * into bits, plus the text form and the hash-kind names.
 */
#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hash/resample.h"
#include "pho/hash.h"

#define DHASH_W 9
#define DHASH_H 8
#define PHASH_N 32 /* imagehash: hash_size 8 * highfreq_factor 4 */
#define PHASH_K 8

static bool image_usable(const struct pho_image *img)
{
    return img && img->width && img->height && img->pixels && img->stride >= (size_t)img->width * 3;
}

int pho_hash_dhash(uint64_t *out, const struct pho_image *img)
{
    *out = 0;
    if (!image_usable(img))
        return PHO_EINVAL;
    uint8_t g[DHASH_H * DHASH_W];
    int rc = pho_resample__grey(g, DHASH_W, DHASH_H, img);
    if (rc)
        return rc;
    *out = pho_hash__dhash_bits(g);
    return 0;
}

uint64_t pho_hash__dhash_bits(const uint8_t *g)
{
    uint64_t h = 0;
    for (int r = 0; r < DHASH_H; r++)
        for (int c = 0; c < DHASH_W - 1; c++)
            h = (h << 1) | (g[r * DHASH_W + c + 1] > g[r * DHASH_W + c]);
    return h;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int pho_hash_phash(uint64_t *out, const struct pho_image *img)
{
    *out = 0;
    if (!image_usable(img))
        return PHO_EINVAL;
    uint8_t px[PHASH_N * PHASH_N];
    int rc = pho_resample__grey(px, PHASH_N, PHASH_N, img);
    if (rc)
        return rc;
    *out = pho_hash__phash_bits(px);
    return 0;
}

uint64_t pho_hash__phash_bits(const uint8_t *px)
{

    /* DCT-II basis rows 0..7 of length 32; scipy's factor 2 per axis does not move a median test.
     */
    double basis[PHASH_K][PHASH_N];
    for (int u = 0; u < PHASH_K; u++)
        for (int x = 0; x < PHASH_N; x++)
            basis[u][x] = cos(M_PI * u * (2 * x + 1) / (2.0 * PHASH_N));

    /* Rows (axis 0, vertical frequency) first, then columns: coefficient [u][v] = row u, bit 8u+v.
     */
    double colpass[PHASH_K][PHASH_N];
    for (int u = 0; u < PHASH_K; u++)
        for (int x = 0; x < PHASH_N; x++) {
            double s = 0.0;
            for (int y = 0; y < PHASH_N; y++)
                s += basis[u][y] * px[y * PHASH_N + x];
            colpass[u][x] = s;
        }
    double coef[PHASH_K * PHASH_K], sorted[PHASH_K * PHASH_K];
    for (int u = 0; u < PHASH_K; u++)
        for (int v = 0; v < PHASH_K; v++) {
            double s = 0.0;
            for (int x = 0; x < PHASH_N; x++)
                s += basis[v][x] * colpass[u][x];
            /*
             * Coefficients that are zero in exact arithmetic (flat or symmetric
             * images) come out as rounding noise (~1e-9), which would then
             * decide bits against a median of zero, differently on another
             * libm. Genuine ones are larger: none of 20,000 random
             * low-contrast 32x32 images had one below 1e-5.
             */
            coef[u * PHASH_K + v] = fabs(s) < 1e-7 ? 0.0 : s;
        }
    memcpy(sorted, coef, sizeof(coef));
    qsort(sorted, PHASH_K * PHASH_K, sizeof(sorted[0]), cmp_double);
    double median = (sorted[31] + sorted[32]) / 2.0;
    uint64_t h = 0;
    for (int i = 0; i < PHASH_K * PHASH_K; i++)
        h = (h << 1) | (coef[i] > median);
    return h;
}

void pho_hash_format(char out[17], uint64_t hash)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++)
        out[i] = digits[(hash >> (60 - 4 * i)) & 0xf];
    out[16] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int pho_hash_parse(uint64_t *out, const char *hex)
{
    *out = 0;
    if (!hex)
        return PHO_EINVAL;
    uint64_t h = 0;
    for (int i = 0; i < 16; i++) {
        int v = hex_value(hex[i]); /* stops at a NUL before reading past it */
        if (v < 0)
            return PHO_EINVAL;
        h = (h << 4) | (uint64_t)v;
    }
    if (hex[16] != '\0')
        return PHO_EINVAL;
    *out = h;
    return 0;
}

static const char *const kind_names[] = {
    [PHO_HASH_DHASH] = "dhash",
    [PHO_HASH_PHASH] = "phash",
};

const char *pho_hash_kind_name(enum pho_hash_kind kind)
{
    if ((unsigned)kind < PHO_ARRAY_LEN(kind_names))
        return kind_names[kind];
    return "unknown";
}

int pho_hash_kind_parse(enum pho_hash_kind *out, const char *name)
{
    for (size_t i = 0; name && i < PHO_ARRAY_LEN(kind_names); i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (enum pho_hash_kind)i;
            return 0;
        }
    return PHO_EINVAL;
}
