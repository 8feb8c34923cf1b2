/* SPDX-License-Identifier: MIT */
/*
 * A synthetic camera library for bench-organize (camlib.h): every file is a
 * real 12-MP camera JPEG (its entropy-coded pixels byte for byte, so a
 * decode costs what it costs on the camera's file) whose EXIF block is
 * rewritten with its own capture time and its own thumbnail, a picture of
 * its own scene. Scenes are two dozen soft coloured blobs of all sizes on a
 * gradient, drawn from a seeded generator (as far apart in hash and
 * thumbnail as unrelated photos are); the shots of a burst show one scene with the
 * blobs moved by a pixel or two and are one second apart, lone shots ten
 * minutes apart. What the organizer groups is therefore decided by the
 * layout, and what each photo costs by the camera files.
 */
#include "camlib.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libexif/exif-data.h>
#include <vips/vips.h>

#define TW    160
#define TH    120
#define BLOBS 24

struct scene {
    double bg[2][3];
    double x[BLOBS], y[BLOBS], r[BLOBS], c[BLOBS][3];
};

static double uniform(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return ((*seed >> 8) & 0xffffff) / (double)0x1000000;
}

static void scene_random(struct scene *s, unsigned *seed)
{
    for (int k = 0; k < 2; k++)
        for (int c = 0; c < 3; c++)
            s->bg[k][c] = 30 + 200 * uniform(seed);
    for (int b = 0; b < BLOBS; b++) {
        s->x[b] = TW * uniform(seed);
        s->y[b] = TH * uniform(seed);
        s->r[b] = 3 + 22 * uniform(seed);
        for (int c = 0; c < 3; c++)
            s->c[b][c] = 255 * uniform(seed);
    }
}

/* The scene with every blob moved by (dx, dy) * (its index + 1) / BLOBS pixels. */
static void scene_render(uint8_t *rgb, const struct scene *s, double dx, double dy)
{
    for (int y = 0; y < TH; y++)
        for (int x = 0; x < TW; x++) {
            double t = (double)(x + y) / (TW + TH), px[3];
            for (int c = 0; c < 3; c++)
                px[c] = s->bg[0][c] * (1 - t) + s->bg[1][c] * t;
            for (int b = 0; b < BLOBS; b++) {
                double f = (b + 1.0) / BLOBS;
                double ex = x - s->x[b] - dx * f, ey = y - s->y[b] - dy * f;
                double w = exp(-(ex * ex + ey * ey) / (2 * s->r[b] * s->r[b]));
                for (int c = 0; c < 3; c++)
                    px[c] = px[c] * (1 - w) + s->c[b][c] * w;
            }
            for (int c = 0; c < 3; c++)
                rgb[(y * TW + x) * 3 + c] = (uint8_t)lround(fmin(fmax(px[c], 0), 255));
        }
}

static int encode(const uint8_t *rgb, void **jpeg, size_t *len)
{
    VipsImage *img = vips_image_new_from_memory(rgb, TW * TH * 3, TW, TH, 3, VIPS_FORMAT_UCHAR);
    if (!img)
        return -1;
    int rc = vips_jpegsave_buffer(img, jpeg, len, "Q", 90, NULL);
    g_object_unref(img);
    return rc;
}

static int read_all(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc(n > 0 ? (size_t)n : 1);
    int rc = *data && n > 0 && fread(*data, 1, (size_t)n, f) == (size_t)n ? 0 : -1;
    fclose(f);
    *len = (size_t)n;
    return rc;
}

/* The APP1 "Exif" segment of a JPEG: where it starts (its marker) and ends. */
static int find_exif(const uint8_t *j, size_t n, size_t *start, size_t *end)
{
    size_t at = 2;
    while (at + 4 <= n && j[at] == 0xff && j[at + 1] != 0xda) {
        size_t seg = (size_t)j[at + 2] << 8 | j[at + 3];
        if (j[at + 1] == 0xe1 && seg >= 8 && at + 2 + seg <= n && !memcmp(j + at + 4, "Exif", 4)) {
            *start = at;
            *end = at + 2 + seg;
            return 0;
        }
        at += 2 + seg;
    }
    return -1;
}

/* @base with its EXIF thumbnail and capture time replaced, written to @path. */
static int write_shot(const char *path, const uint8_t *base, size_t blen, const void *thumb,
                      size_t tlen, long long when)
{
    size_t s, e;
    if (find_exif(base, blen, &s, &e))
        return -1;
    ExifData *d = exif_data_new_from_data(base + s + 4, (unsigned)(e - s - 4));
    if (!d)
        return -1;
    free(d->data);
    d->data = malloc(tlen);
    memcpy(d->data, thumb, tlen);
    d->size = (unsigned)tlen;
    ExifEntry *dto = exif_content_get_entry(d->ifd[EXIF_IFD_EXIF], EXIF_TAG_DATE_TIME_ORIGINAL);
    if (dto && dto->size >= 20) {
        time_t t = (time_t)when;
        struct tm tm;
        gmtime_r(&t, &tm);
        char buf[64];
        snprintf(buf, sizeof(buf), "%04d:%02d:%02d %02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        memcpy(dto->data, buf, 20);
    }
    unsigned char *app1 = NULL;
    unsigned int alen = 0;
    exif_data_save_data(d, &app1, &alen);
    exif_data_unref(d);
    if (!app1 || alen + 2 > 0xffff) {
        free(app1);
        return -1;
    }
    FILE *f = fopen(path, "wb");
    int rc = f ? 0 : -1;
    uint8_t hdr[4] = { 0xff, 0xe1, (uint8_t)((alen + 2) >> 8), (uint8_t)(alen + 2) };
    if (f && (fwrite(base, 1, s, f) != s || fwrite(hdr, 1, 4, f) != 4 ||
              fwrite(app1, 1, alen, f) != alen || fwrite(base + e, 1, blen - e, f) != blen - e))
        rc = -1;
    if (f && fclose(f))
        rc = -1;
    free(app1);
    return rc;
}

int bench_camera_library(const char *dir, const char **bases, size_t nbases, size_t n,
                         double grouped, size_t *in_bursts)
{
    if (mkdir(dir, 0755) && errno != EEXIST)
        return -1;
    uint8_t *base[16] = { 0 };
    size_t blen[16];
    nbases = nbases > 16 ? 16 : nbases;
    int rc = 0;
    for (size_t b = 0; b < nbases && rc == 0; b++)
        rc = read_all(bases[b], &base[b], &blen[b]);
    uint8_t rgb[TW * TH * 3];
    unsigned seed = 12345;
    long long when = 1500000000;
    size_t made = 0, bursty = 0;
    /* Bursts of three, a share `grouped` of the photos, spread evenly. */
    double owed = 0;
    while (rc == 0 && made < n) {
        struct scene sc;
        scene_random(&sc, &seed);
        size_t shots = 1;
        if (owed >= 3 - 1e-9 && made + 3 <= n) {
            shots = 3;
            owed -= 3;
            bursty += 3;
        }
        owed += grouped * (double)shots;
        for (size_t k = 0; k < shots && rc == 0; k++) {
            scene_render(rgb, &sc, 1.5 * k, -1.0 * k);
            void *jpeg = NULL;
            size_t jlen = 0;
            char path[4300];
            snprintf(path, sizeof(path), "%s/IMG_%06zu.jpg", dir, made);
            size_t b = made % nbases;
            rc = encode(rgb, &jpeg, &jlen);
            if (rc == 0)
                rc = write_shot(path, base[b], blen[b], jpeg, jlen, when + (long long)k);
            g_free(jpeg);
            made++;
        }
        when += 600;
    }
    for (size_t b = 0; b < nbases; b++)
        free(base[b]);
    *in_bursts = bursty;
    return rc;
}
