/* SPDX-License-Identifier: MIT */
/*
 * Quality metrics on synthetic images with known answers, BRISQUE against
 * OpenCV's own implementation on the same grey images, the model parser on
 * broken files, the combined score on real and deliberately spoiled photos,
 * and sharing one model between threads.
 */
#include "core/common.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

#include "../lib/testlib.h"
#include "pho/image.h"
#include "pho/quality.h"
#include "quality/internal.h"

/* ---- helpers ----------------------------------------------------------- */

/* An RGB image whose three channels all hold @v (w*h values). */
static struct pho_image *grey_image(uint32_t w, uint32_t h, const uint8_t *v)
{
    struct pho_image *img = NULL;
    assert_int_equal(pho_image_new(&img, w, h, NULL), 0);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            memset(img->pixels + y * img->stride + 3 * x, v[(size_t)y * w + x], 3);
    return img;
}

static struct pho_image *flat_image(uint32_t w, uint32_t h, uint8_t r, uint8_t g, uint8_t b)
{
    struct pho_image *img = NULL;
    assert_int_equal(pho_image_new(&img, w, h, NULL), 0);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = img->pixels + y * img->stride + 3 * x;
            p[0] = r;
            p[1] = g;
            p[2] = b;
        }
    return img;
}

/* Deterministic N(0, 1) samples (xorshift64* and Box-Muller), the same on every run. */
struct rng {
    uint64_t s;
};

static double uniform(struct rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return ((r->s * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
}

static double gauss(struct rng *r)
{
    double u = uniform(r), v = uniform(r);
    return sqrt(-2 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

/* @base(x, y) plus Gaussian noise of @sigma, rounded and clipped to 8 bits. */
static uint8_t *noisy(uint32_t w, uint32_t h, double sigma, bool ramp, uint64_t seed)
{
    struct rng r = { seed };
    uint8_t *v = malloc((size_t)w * h);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            double base = ramp ? 40 + 160.0 * x / w : 128;
            double s = floor(base + sigma * gauss(&r) + 0.5);
            v[(size_t)y * w + x] = (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
        }
    return v;
}

static struct pho_image *load480(const char *rel)
{
    struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
    o.max_size = 480;
    o.allow_larger = true; /* as the organizer decodes */
    struct pho_image *img = NULL;
    struct pho_err err = PHO_ERR_INIT;
    int rc = pho_image_load(&img, td(rel), &o, NULL, &err);
    if (rc)
        fail_msg("%s: %s", rel, err.msg);
    return img;
}

static struct pho_quality measure(const struct pho_image *img, double mp,
                                  const struct pho_brisque *model)
{
    struct pho_quality q;
    struct pho_err err = PHO_ERR_INIT;
    int rc = pho_quality_measure(&q, img, mp, model, &err);
    if (rc)
        fail_msg("measure: %s", err.msg);
    assert_true(q.score >= 0 && q.score <= 1);
    return q;
}

static struct pho_brisque *open_model(void)
{
    struct pho_brisque *m = NULL;
    struct pho_err err = PHO_ERR_INIT;
    int rc = pho_brisque_open(&m, NULL, NULL, &err);
    if (rc == PHO_ENOTFOUND)
        skip(); /* opencv-data not installed */
    if (rc)
        fail_msg("%s", err.msg);
    return m;
}

#define assert_near(a, b, tol)                                                      \
    do {                                                                            \
        double a_ = (a), b_ = (b);                                                  \
        if (!(fabs(a_ - b_) <= (tol)))                                              \
            fail_msg("%s = %.6g, expected %.6g (+-%g)", #a, a_, b_, (double)(tol)); \
    } while (0)

/* ---- metrics on synthetic images --------------------------------------- */

static void test_flat(void **state)
{
    (void)state;
    static const struct {
        uint8_t v;
        double high, low;
    } cases[] = { { 128, 0, 0 }, { 250, 1, 0 }, { 249, 0, 0 }, { 5, 0, 1 },
                  { 6, 0, 0 },   { 0, 0, 1 },   { 255, 1, 0 } };
    for (size_t i = 0; i < PHO_ARRAY_LEN(cases); i++) {
        struct pho_image *img = flat_image(200, 150, cases[i].v, cases[i].v, cases[i].v);
        struct pho_quality q = measure(img, 0.03, NULL);
        assert_true(q.sharpness == 0);
        assert_true(q.noise == 0);
        assert_true(q.mean_luma == cases[i].v);
        assert_true(q.clipped_high == cases[i].high);
        assert_true(q.clipped_low == cases[i].low);
        assert_true(isnan(q.brisque));
        assert_true(q.megapixels == 0.03);
        pho_image_free(img);
    }
}

/* BT.601 luma of the coded values, rounded: red 76.245, green 149.685, blue 29.07. */
static void test_luma(void **state)
{
    (void)state;
    static const struct {
        uint8_t r, g, b, y;
    } cases[] = { { 255, 0, 0, 76 }, { 0, 255, 0, 150 }, { 0, 0, 255, 29 }, { 200, 100, 50, 124 } };
    for (size_t i = 0; i < PHO_ARRAY_LEN(cases); i++) {
        /* 700 px wide: the 480-px reduction must not move a flat colour either. */
        struct pho_image *img = flat_image(700, 300, cases[i].r, cases[i].g, cases[i].b);
        struct pho_quality q = measure(img, 0, NULL);
        assert_true(q.mean_luma == cases[i].y);
        assert_true(q.sharpness == 0);
        pho_image_free(img);
    }
}

/* One-pixel checkerboard: every interior Laplacian is +-4 * 255. */
static void test_checkerboard(void **state)
{
    (void)state;
    uint8_t v[64 * 64];
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++)
            v[y * 64 + x] = (x + y) % 2 ? 255 : 0;
    struct pho_image *img = grey_image(64, 64, v);
    struct pho_quality q = measure(img, 0, NULL);
    assert_true(q.sharpness == 1020.0 * 1020.0);
    assert_true(q.mean_luma == 127.5);
    assert_true(q.clipped_high == 0.5);
    assert_true(q.clipped_low == 0.5);
    pho_image_free(img);
}

/* A ramp 0..255 along x: 6 of 256 columns on each clipped side. */
static void test_clipped_fractions(void **state)
{
    (void)state;
    uint8_t v[256 * 4];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 256; x++)
            v[y * 256 + x] = (uint8_t)x;
    struct pho_image *img = grey_image(256, 4, v);
    struct pho_quality q = measure(img, 0, NULL);
    assert_true(q.clipped_high == 6.0 / 256);
    assert_true(q.clipped_low == 6.0 / 256);
    assert_true(q.mean_luma == 127.5);
    /* A linear ramp has no second derivative: no edges, no noise. */
    assert_true(q.sharpness == 0);
    assert_true(q.noise == 0);
    pho_image_free(img);
}

/* Analysis size: long side 480, aspect kept, never enlarged; area averaging. */
static void test_analysis_image(void **state)
{
    (void)state;
    static const struct {
        uint32_t w, h, ow, oh;
    } sizes[] = { { 1000, 500, 480, 240 }, { 500, 1000, 240, 480 }, { 100, 50, 100, 50 },
                  { 481, 3, 480, 3 },      { 480, 480, 480, 480 },  { 4000, 3000, 480, 360 },
                  { 853, 480, 480, 270 },  { 1, 1, 1, 1 },          { 5000, 1, 480, 1 } };
    for (size_t i = 0; i < PHO_ARRAY_LEN(sizes); i++) {
        struct pho_image *img = flat_image(sizes[i].w, sizes[i].h, 10, 20, 30);
        struct pho_grey g;
        assert_int_equal(pho_quality__grey(&g, img, NULL), 0);
        assert_int_equal(g.w, sizes[i].ow);
        assert_int_equal(g.h, sizes[i].oh);
        for (size_t k = 0; k < (size_t)g.w * g.h; k++)
            assert_int_equal(g.px[k], 18); /* 0.299*10 + 0.587*20 + 0.114*30 = 18.15 */
        pho_free(g.px);
        pho_image_free(img);
    }

    /* Two-pixel stripes halved: an area average gives flat 127.5 -> 128
     * everywhere, where point sampling would keep full-contrast stripes. */
    uint8_t *v = malloc(960 * 10);
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 960; x++)
            v[y * 960 + x] = x % 2 ? 255 : 0;
    struct pho_image *img = grey_image(960, 10, v);
    struct pho_grey g;
    assert_int_equal(pho_quality__grey(&g, img, NULL), 0);
    assert_int_equal(g.w, 480);
    assert_int_equal(g.h, 5);
    for (size_t k = 0; k < (size_t)g.w * g.h; k++)
        assert_int_equal(g.px[k], 128);
    pho_free(g.px);
    pho_image_free(img);

    /* 3 -> 2 columns: thirds split exactly, (0, 90, 180) -> (30, 150). */
    static const uint8_t three[] = { 0, 90, 180 };
    struct pho_image *wide = NULL;
    assert_int_equal(pho_image_new(&wide, 720, 3, NULL), 0);
    for (uint32_t y = 0; y < 3; y++)
        for (uint32_t x = 0; x < 720; x++)
            memset(wide->pixels + y * wide->stride + 3 * x, three[x % 3], 3);
    assert_int_equal(pho_quality__grey(&g, wide, NULL), 0);
    assert_int_equal(g.w, 480);
    for (uint32_t x = 0; x < 480; x++)
        assert_int_equal(g.px[x], x % 2 ? 150 : 30);
    pho_free(g.px);
    pho_image_free(wide);
    free(v);

    struct pho_image bad = { 10, 10, 10, NULL };
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_quality__grey(&g, &bad, &err), PHO_EINVAL);
    struct pho_quality q;
    assert_int_equal(pho_quality_measure(&q, NULL, 1, NULL, &err), PHO_EINVAL);
    assert_non_null(strstr(err.msg, "quality:"));
}

/* Immerkaer's estimate on added Gaussian noise of known sigma, flat and on a
 * ramp; pure noise also has a known Laplacian variance, 20 sigma^2. */
static void test_noise(void **state)
{
    (void)state;
    static const double sigmas[] = { 2, 5, 10 };
    for (size_t i = 0; i < PHO_ARRAY_LEN(sigmas); i++) {
        for (int ramp = 0; ramp < 2; ramp++) {
            uint8_t *v = noisy(320, 240, sigmas[i], ramp, 42 + i);
            struct pho_image *img = grey_image(320, 240, v);
            struct pho_quality q = measure(img, 0, NULL);
            /* 8-bit rounding adds 1/12 to the variance. */
            double s = sqrt(sigmas[i] * sigmas[i] + 1.0 / 12);
            assert_near(q.noise, s, 0.15 * s);
            assert_near(q.sharpness, 20 * s * s, 0.1 * 20 * s * s);
            pho_image_free(img);
            free(v);
        }
    }
}

/* Sharp edges are not noise: a clean block pattern reads as (nearly) noise-free. */
static void test_noise_ignores_edges(void **state)
{
    (void)state;
    uint8_t *v = malloc(320 * 240);
    for (int y = 0; y < 240; y++)
        for (int x = 0; x < 320; x++)
            v[y * 320 + x] = ((x / 32) + (y / 32)) % 2 ? 200 : 50;
    struct pho_image *img = grey_image(320, 240, v);
    struct pho_quality q = measure(img, 0, NULL);
    assert_true(q.noise < 0.5);
    assert_true(q.sharpness > 100);
    pho_image_free(img);
    free(v);
}

/* ---- BRISQUE against OpenCV -------------------------------------------- */

/*
 * Reference values from OpenCV 4.6 (Debian python3-opencv, which includes the
 * contrib quality module) on exactly the grey image our code analyses. To
 * regenerate, let this test write those images, then score them:
 *
 *   mkdir /tmp/q && PHO_QUALITY_PGM_DIR=/tmp/q build-quality/tests/test_quality
 *   cd /tmp/q && /usr/bin/python3 -c 'import cv2, sys
 *   for p in sys.argv[1:]:
 *       g = cv2.imread(p, cv2.IMREAD_UNCHANGED)
 *       print(p, cv2.quality.QualityBRISQUE_compute(g,
 *             "/usr/share/opencv4/quality/brisque_model_live.yml",
 *             "/usr/share/opencv4/quality/brisque_range_live.yml")[0])' *.pgm
 *
 * Our features match OpenCV's to about 1e-6; what is left is float rounding
 * in the blurs (OpenCV's SIMD order and FMA differ from ours), which can move
 * a shape parameter by one 0.001 grid step. Measured: at most 0.055 apart
 * over these photos. Images with large perfectly flat areas (a broken decode
 * such as corrupt/photoview_bad_rst_marker.jpg: 83.3 vs 84.1) differ more,
 * because whether a flat window's variance rounds to a tiny positive number
 * or below zero decides whether its pixels count in the fits, in both
 * implementations, and OpenCV's answer there depends on the CPU's SIMD path.
 */
static const struct {
    const char *rel;
    double opencv;
} brisque_refs[] = {
    { "bursts/obama-240p.jpg", 38.97535705566406 },
    { "bursts/obama-1080p.jpg", 37.957298278808594 },
    { "bursts/group4_take1.jpg", 23.5106143951416 },
    { "bursts/canon_hdr_NO.jpg", 18.31398582458496 },
    { "bursts/iphone_hdr_YES.jpg", 18.012388229370117 },
    { "faces/groups/solvay_1927.jpg", 10.812230110168457 },
    { "faces/groups/dogs_no_people.jpg", 3.3057663440704346 },
    { "faces/expression/happy.png", 0.0 },
    { "exif/misc/no-exif-data.jpg", 100.0 },
    { "formats/heic/IMG_5195.HEIC", 35.24972915649414 },
    { "exif/gps_walk/DSCN0012.jpg", 27.150022506713867 },
};
#define BRISQUE_TOL 0.5

static void write_pgm(const char *name, const struct pho_grey *g)
{
    const char *dir = getenv("PHO_QUALITY_PGM_DIR");
    if (!dir || !*dir)
        return;
    char path[4096], head[64];
    snprintf(path, sizeof(path), "%s/%s.pgm", dir, name);
    for (char *p = path + strlen(dir) + 1; *p; p++)
        if (*p == '/')
            *p = '_';
    int n = snprintf(head, sizeof(head), "P5\n%u %u\n255\n", g->w, g->h);
    size_t len = (size_t)n + (size_t)g->w * g->h;
    uint8_t *buf = malloc(len);
    memcpy(buf, head, (size_t)n);
    memcpy(buf + n, g->px, (size_t)g->w * g->h);
    write_file(path, buf, len);
    free(buf);
}

static void test_brisque_reference(void **state)
{
    (void)state;
    struct pho_brisque *m = open_model();
    double worst = 0;
    for (size_t i = 0; i < PHO_ARRAY_LEN(brisque_refs); i++) {
        struct pho_image *img = load480(brisque_refs[i].rel);
        struct pho_grey g;
        struct pho_err err = PHO_ERR_INIT;
        assert_int_equal(pho_quality__grey(&g, img, &err), 0);
        write_pgm(brisque_refs[i].rel, &g);

        double ours, direct;
        assert_int_equal(pho_brisque_score(&ours, m, img, &err), 0);
        assert_int_equal(pho_quality__brisque_grey(&direct, m, &g, &err), 0);
        assert_true(ours == direct);
        struct pho_quality q = measure(img, 1, m);
        assert_true(q.brisque == ours);
        if (fabs(ours - brisque_refs[i].opencv) > BRISQUE_TOL)
            fail_msg("%s: brisque %.4f, OpenCV %.4f", brisque_refs[i].rel, ours,
                     brisque_refs[i].opencv);
        worst = PHO_MAX(worst, fabs(ours - brisque_refs[i].opencv));
        pho_free(g.px);
        pho_image_free(img);
    }
    print_message("# brisque: largest difference from OpenCV %.4f\n", worst);
    pho_brisque_close(m);
}

/* Synthetic inputs, also scored by OpenCV through the PGM route above. */
static void test_brisque_synthetic(void **state)
{
    (void)state;
    struct pho_brisque *m = open_model();
    struct pho_err err = PHO_ERR_INIT;
    double s;

    /* Nothing to fit: OpenCV rates flat and smoothly shaded images 100. */
    struct pho_image *img = flat_image(120, 100, 128, 128, 128);
    assert_int_equal(pho_brisque_score(&s, m, img, &err), 0);
    assert_true(s == 100);
    pho_image_free(img);
    uint8_t *v = noisy(240, 200, 0, true, 1);
    img = grey_image(240, 200, v);
    assert_int_equal(pho_brisque_score(&s, m, img, &err), 0);
    assert_true(s == 100);
    pho_image_free(img);
    free(v);

    /* Mid-grey plus Gaussian noise (sigma 10): OpenCV gives 55.92451 (synthetic_noise10.pgm). */
    v = noisy(240, 200, 10, false, 7);
    img = grey_image(240, 200, v);
    struct pho_grey g;
    assert_int_equal(pho_quality__grey(&g, img, &err), 0);
    write_pgm("synthetic_noise10", &g);
    pho_free(g.px);
    assert_int_equal(pho_brisque_score(&s, m, img, &err), 0);
    assert_near(s, 55.92451095581055, BRISQUE_TOL);
    pho_image_free(img);
    free(v);

    /* Too small for the half scale's windows: refused, and left out of measure(). */
    img = flat_image(15, 40, 1, 2, 3);
    assert_int_equal(pho_brisque_score(&s, m, img, &err), PHO_EINVAL);
    assert_non_null(strstr(err.msg, "brisque:"));
    struct pho_quality q = measure(img, 0, m);
    assert_true(isnan(q.brisque));
    pho_image_free(img);

    assert_int_equal(pho_brisque_score(&s, NULL, NULL, &err), PHO_EINVAL);
    assert_int_equal(pho_brisque_score(&s, m, NULL, &err), PHO_EINVAL);
    pho_brisque_close(m);
    pho_brisque_close(NULL);
}

/* ---- model files ------------------------------------------------------- */

struct files {
    char *dir;
    uint8_t *model, *range;
    size_t model_len, range_len;
    char model_path[4200], range_path[4200];
};

static int files_setup(void **state)
{
    struct files *f = calloc(1, sizeof(*f));
    f->model = read_file(PHO_BRISQUE_MODEL_DEFAULT, &f->model_len);
    f->range = read_file(PHO_BRISQUE_RANGE_DEFAULT, &f->range_len);
    f->dir = make_tempdir();
    snprintf(f->model_path, sizeof(f->model_path), "%s/model.yml", f->dir);
    snprintf(f->range_path, sizeof(f->range_path), "%s/range.yml", f->dir);
    *state = f;
    return 0;
}

static int files_teardown(void **state)
{
    struct files *f = *state;
    rm_rf(f->dir);
    free(f->dir);
    free(f->model);
    free(f->range);
    free(f);
    return 0;
}

/* Opens @model/@range written to disk; a failure must leave *out NULL and a message. */
static int try_open(struct files *f, const void *model, size_t mlen, const void *range, size_t rlen)
{
    write_file(f->model_path, model, mlen);
    write_file(f->range_path, range, rlen);
    struct pho_brisque *m = (struct pho_brisque *)1;
    struct pho_err err = PHO_ERR_INIT;
    int rc = pho_brisque_open(&m, f->model_path, f->range_path, &err);
    if (rc) {
        assert_null(m);
        assert_int_equal(err.code, rc);
        assert_non_null(strstr(err.msg, "brisque: "));
    } else {
        pho_brisque_close(m);
    }
    return rc;
}

/* The same bytes with the first @from replaced by @to. */
static uint8_t *edited(const uint8_t *s, size_t len, const char *from, const char *to,
                       size_t *out_len)
{
    const char *at = memmem(s, len, from, strlen(from));
    assert_non_null(at);
    size_t pre = (size_t)(at - (const char *)s), fl = strlen(from), tl = strlen(to);
    uint8_t *d = malloc(len - fl + tl);
    memcpy(d, s, pre);
    memcpy(d + pre, to, tl);
    memcpy(d + pre + tl, s + pre + fl, len - pre - fl);
    *out_len = len - fl + tl;
    return d;
}

static void test_model_missing(void **state)
{
    struct files *f = *state;
    if (!f->model || !f->range)
        skip();
    struct pho_brisque *m = NULL;
    struct pho_err err = PHO_ERR_INIT;
    char missing[4300];
    snprintf(missing, sizeof(missing), "%s/nope.yml", f->dir);
    assert_int_equal(pho_brisque_open(&m, missing, PHO_BRISQUE_RANGE_DEFAULT, &err), PHO_ENOTFOUND);
    assert_null(m);
    assert_non_null(strstr(err.msg, "opencv-data"));
    assert_non_null(strstr(err.msg, missing));
    assert_int_equal(pho_brisque_open(&m, PHO_BRISQUE_MODEL_DEFAULT, missing, &err), PHO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "opencv-data"));
    assert_int_equal(pho_brisque_open(&m, f->dir, PHO_BRISQUE_RANGE_DEFAULT, &err), PHO_EIO);
    assert_int_equal(pho_brisque_open(NULL, NULL, NULL, &err), PHO_EINVAL);

    /* The pristine copies open, and NULL means the Debian paths. */
    assert_int_equal(try_open(f, f->model, f->model_len, f->range, f->range_len), 0);
    assert_int_equal(pho_brisque_open(&m, NULL, NULL, &err), 0);
    pho_brisque_close(m);
}

static void test_model_truncated(void **state)
{
    struct files *f = *state;
    if (!f->model || !f->range)
        skip();
    /* Every prefix length in coarse steps, plus the tail byte by byte. */
    for (size_t cut = 0; cut < f->model_len; cut += cut + 64 < f->model_len ? 4099 : 1) {
        /* Cutting only the final newline leaves a complete model. */
        int want = cut + 1 == f->model_len ? 0 : PHO_ECORRUPT;
        if (try_open(f, f->model, cut, f->range, f->range_len) != want)
            fail_msg("model cut at %zu of %zu bytes", cut, f->model_len);
    }
    for (size_t cut = 0; cut + 1 < f->range_len; cut++)
        if (try_open(f, f->model, f->model_len, f->range, cut) != PHO_ECORRUPT)
            fail_msg("range cut at %zu of %zu bytes", cut, f->range_len);
}

static void test_model_garbled(void **state)
{
    struct files *f = *state;
    if (!f->model || !f->range)
        skip();
    static const struct {
        const char *from, *to;
    } model_edits[] = {
        { "RBF", "POLY" },
        { "EPS_SVR", "C_SVC" },
        { "var_count: 36", "var_count: 35" },
        { "sv_total: 774", "sv_total: 775" },
        { "sv_total: 774", "sv_total: 773" },
        { "sv_count: 774", "sv_count: 700" },
        { "format: 3", "format: 2" },
        { "gamma: 5.0000000000000003e-02", "gamma: -5e-02" },
        { "gamma: 5.0000000000000003e-02", "gamma: nan" },
        { "gamma: 5.0000000000000003e-02", "gamma: 1e999" },
        { "   C: 1024.", "   C: 1024.\n   C: 1024." },
        { "   C: 1024.", "   class_count: 2" },
        { "   C: 1024.", "  C: 1024." },
        { "   C: 1024.", "\tC: 1024." },
        { "%YAML:1.0", "%YAML:1.1" },
        { "opencv_ml_svm:", "opencv_ml_ann:" },
        { "- [ -5.97555935e-01,", "- [ -5.97555935e-01,, " },
        { "- [ -5.97555935e-01,", "- [ -5.97555935e-01 " },
        { "- [ -5.97555935e-01,", "- [ 0x10," },
        { "- [ -5.97555935e-01,", "- [ 1e," },
        { "- [ -5.97555935e-01,", "- [ 1e40," },
        { "- [ -5.97555935e-01,", "- [ -5.97555935e-01, 1, " },
        { "- [ -5.97555935e-01,", "- [ " },
        { "   decision_functions:", "   decision_functions: []" },
        { "         rho:", "         index: [ 1 ]\n         rho:" },
        { "1024. ]\n", "1024. ]\n      -\n         rho: 1\n" },
        { "1024. ]\n", "1024. ] trailing\n" },
        { "1024. ]\n", "1024. ]\nextra: 1\n" },
    };
    for (size_t i = 0; i < PHO_ARRAY_LEN(model_edits); i++) {
        size_t len;
        uint8_t *bad = edited(f->model, f->model_len, model_edits[i].from, model_edits[i].to, &len);
        if (try_open(f, bad, len, f->range, f->range_len) != PHO_ECORRUPT)
            fail_msg("model edit %zu ('%s' -> '%s') was accepted", i, model_edits[i].from,
                     model_edits[i].to);
        free(bad);
    }
    static const struct {
        const char *from, *to;
    } range_edits[] = {
        { "rows: 2", "rows: 3" },
        { "cols: 36", "cols: 35" },
        { "dt: f", "dt: u" },
        { "!!opencv-matrix", "!!opencv-nd-matrix" },
        { "3.44000012e-01,", "3.44000012e-01, 1," },
        /* Feature 18's maximum equal to its minimum: scaling would divide by zero. */
        { "3.73600006e+00", "4.09000009e-01" },
        { "data: [", "data: [ ]" },
    };
    for (size_t i = 0; i < PHO_ARRAY_LEN(range_edits); i++) {
        size_t len;
        uint8_t *bad = edited(f->range, f->range_len, range_edits[i].from, range_edits[i].to, &len);
        if (try_open(f, f->model, f->model_len, bad, len) != PHO_ECORRUPT)
            fail_msg("range edit %zu ('%s' -> '%s') was accepted", i, range_edits[i].from,
                     range_edits[i].to);
        free(bad);
    }
    /* Swapped files, empty files, binary bytes. */
    assert_int_equal(try_open(f, f->range, f->range_len, f->range, f->range_len), PHO_ECORRUPT);
    assert_int_equal(try_open(f, f->model, f->model_len, f->model, f->model_len), PHO_ECORRUPT);
    assert_int_equal(try_open(f, "", 0, f->range, f->range_len), PHO_ECORRUPT);
    uint8_t junk[4096];
    struct rng r = { 99 };
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(uniform(&r) * 256);
    assert_int_equal(try_open(f, junk, sizeof(junk), f->range, f->range_len), PHO_ECORRUPT);
    uint8_t *nul = malloc(f->model_len);
    memcpy(nul, f->model, f->model_len);
    nul[f->model_len / 2] = 0;
    assert_int_equal(try_open(f, nul, f->model_len, f->range, f->range_len), PHO_ECORRUPT);

    /* Random single-byte damage: refused or (a digit for a digit) still a model; never a crash. */
    for (int i = 0; i < 300; i++) {
        memcpy(nul, f->model, f->model_len);
        size_t at = (size_t)(uniform(&r) * (double)PHO_MIN(f->model_len, 20000));
        nul[at] = (uint8_t)(uniform(&r) * 256);
        int rc = try_open(f, nul, f->model_len, f->range, f->range_len);
        assert_true(rc == 0 || rc == PHO_ECORRUPT);
    }
    free(nul);
}

static void test_model_oom(void **state)
{
    (void)state;
    struct pho_brisque *m = open_model();
    pho_brisque_close(m);
    unsigned long k, seen = 0;
    for (k = 1;; k++) {
        struct pho_err err = PHO_ERR_INIT;
        m = NULL;
        pho_alloc_fail_at(k);
        int rc = pho_brisque_open(&m, NULL, NULL, &err);
        seen = pho_alloc_fail_at(0);
        if (rc == 0) {
            pho_brisque_close(m);
            break;
        }
        assert_int_equal(rc, PHO_ENOMEM);
        assert_null(m);
    }
    assert_true(k > 3);

    m = open_model();
    struct pho_image *img = flat_image(300, 200, 90, 120, 150);
    for (k = 1;; k++) {
        struct pho_err err = PHO_ERR_INIT;
        struct pho_quality q;
        pho_alloc_fail_at(k);
        int rc = pho_quality_measure(&q, img, 1, m, &err);
        seen = pho_alloc_fail_at(0);
        if (rc == 0 && k > seen)
            break;
        if (rc)
            assert_int_equal(rc, PHO_ENOMEM);
    }
    pho_image_free(img);
    pho_brisque_close(m);
}

/* ---- the combined score ------------------------------------------------ */

static void test_score_terms(void **state)
{
    (void)state;
    const struct pho_quality base = { .sharpness = 500,
                                      .clipped_high = 0.001,
                                      .clipped_low = 0.01,
                                      .mean_luma = 120,
                                      .noise = 1,
                                      .brisque = 20,
                                      .megapixels = 12 };
    double s = pho_quality_score(&base);
    assert_true(s > 0.5 && s <= 1);

    /* Resolution saturates: 12 vs 24 MP barely matters, 0.3 MP loses clearly. */
    struct pho_quality q = base;
    q.megapixels = 24;
    assert_true(pho_quality_score(&q) >= s);
    assert_true(pho_quality_score(&q) - s < 0.001);
    q.megapixels = 0.3;
    assert_true(s - pho_quality_score(&q) > 0.1);

    /* Each term pulls the right way. */
    q = base;
    q.sharpness = 50;
    assert_true(pho_quality_score(&q) < s);
    q = base;
    q.clipped_high = 0.2;
    assert_true(pho_quality_score(&q) < s);
    q = base;
    q.clipped_low = 0.4;
    assert_true(pho_quality_score(&q) < s);
    q = base;
    q.mean_luma = 20;
    assert_true(pho_quality_score(&q) < s);
    q = base;
    q.mean_luma = 240;
    assert_true(pho_quality_score(&q) < s);
    q = base;
    q.noise = 8;
    assert_true(pho_quality_score(&q) < s);
    q = base;
    q.brisque = 80;
    assert_true(pho_quality_score(&q) < s);

    /* Unmeasured terms drop out; the result stays in 0..1. */
    q = base;
    q.brisque = NAN;
    q.megapixels = 0;
    double partial = pho_quality_score(&q);
    assert_true(partial > 0 && partial <= 1);
    const struct pho_quality worst = {
        .clipped_high = 1, .mean_luma = 255, .noise = 100, .brisque = 100, .megapixels = 0.01
    };
    assert_true(pho_quality_score(&worst) >= 0 && pho_quality_score(&worst) < 0.1);
    const struct pho_quality best = { .sharpness = 1e6, .mean_luma = 115, .megapixels = 50 };
    assert_true(pho_quality_score(&best) > 0.99);
    assert_true(pho_quality_score(NULL) == 0);

    struct pho_image *img = flat_image(40, 30, 1, 2, 3);
    struct pho_quality measured = measure(img, 2, NULL);
    assert_true(measured.score == pho_quality_score(&measured));
    pho_image_free(img);
}

/* The same photo at 240p, 480p, 720p and 1080p: the larger wins. */
static void test_score_resolution_ladder(void **state)
{
    (void)state;
    static const struct {
        const char *rel;
        double mp;
    } ladder[] = {
        { "bursts/obama-240p.jpg", 427.0 * 240 / 1e6 },
        { "bursts/obama-480p.jpg", 853.0 * 480 / 1e6 },
        { "bursts/obama-720p.jpg", 1280.0 * 720 / 1e6 },
        { "bursts/obama-1080p.jpg", 1920.0 * 1080 / 1e6 },
    };
    struct pho_brisque *m = open_model();
    double prev = -1;
    for (size_t i = 0; i < PHO_ARRAY_LEN(ladder); i++) {
        struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
        o.max_size = 480;
        o.allow_larger = true;
        struct pho_image *img = NULL;
        struct pho_meta meta;
        assert_int_equal(pho_image_load(&img, td(ladder[i].rel), &o, &meta, NULL), 0);
        double mp = (double)meta.width * meta.height / 1e6;
        assert_near(mp, ladder[i].mp, 0.01);
        struct pho_quality q = measure(img, mp, m);
        if (!(q.score > prev))
            fail_msg("%s scores %.4f, not above the smaller copy's %.4f", ladder[i].rel, q.score,
                     prev);
        prev = q.score;
        pho_image_free(img);
    }
    pho_brisque_close(m);
}

enum spoil { BLUR, DARK, BRIGHT };

/* A spoiled copy made with libvips on the decoded pixels. */
static struct pho_image *spoiled(const struct pho_image *src, enum spoil how)
{
    size_t row = (size_t)src->width * 3;
    uint8_t *packed = malloc(row * src->height);
    for (uint32_t y = 0; y < src->height; y++)
        memcpy(packed + y * row, src->pixels + y * src->stride, row);
    VipsImage *in = vips_image_new_from_memory(packed, row * src->height, (int)src->width,
                                               (int)src->height, 3, VIPS_FORMAT_UCHAR);
    assert_non_null(in);
    VipsImage *out = NULL;
    int rc = how == BLUR   ? vips_gaussblur(in, &out, 2.0, NULL)
             : how == DARK ? vips_linear1(in, &out, 0.3, 0.0, "uchar", TRUE, NULL)
                           : vips_linear1(in, &out, 1.8, 60.0, "uchar", TRUE, NULL);
    assert_int_equal(rc, 0);
    size_t size = 0;
    void *mem = vips_image_write_to_memory(out, &size);
    assert_int_equal(size, row * src->height);
    struct pho_image *dst = NULL;
    assert_int_equal(pho_image_new(&dst, src->width, src->height, NULL), 0);
    for (uint32_t y = 0; y < src->height; y++)
        memcpy(dst->pixels + y * dst->stride, (uint8_t *)mem + y * row, row);
    g_free(mem);
    g_object_unref(out);
    g_object_unref(in);
    free(packed);
    return dst;
}

static void test_score_spoiled_copies(void **state)
{
    (void)state;
    static const char *photos[] = {
        "bursts/group4_take1.jpg",      "bursts/iphone_hdr_NO.jpg",  "bursts/canon_hdr_NO.jpg",
        "bursts/obama-1080p.jpg",       "faces/portraits/obama.jpg", "exif/gps_walk/DSCN0025.jpg",
        "faces/groups/solvay_1927.jpg",
    };
    static const char *names[] = { "blurred", "darkened", "overexposed" };
    struct pho_brisque *m = open_model();
    for (size_t i = 0; i < PHO_ARRAY_LEN(photos); i++) {
        struct pho_image *img = load480(photos[i]);
        for (int with_model = 0; with_model < 2; with_model++) {
            struct pho_quality orig = measure(img, 8, with_model ? m : NULL);
            for (int how = BLUR; how <= BRIGHT; how++) {
                struct pho_image *bad = spoiled(img, how);
                struct pho_quality q = measure(bad, 8, with_model ? m : NULL);
                if (!(q.score < orig.score - 0.02))
                    fail_msg("%s %s%s: %.4f, original %.4f", names[how], photos[i],
                             with_model ? " (brisque)" : "", q.score, orig.score);
                if (how == BLUR)
                    assert_true(q.sharpness < orig.sharpness / 2);
                pho_image_free(bad);
            }
        }
        pho_image_free(img);
    }
    pho_brisque_close(m);
}

/* ---- threads ----------------------------------------------------------- */

#define THREAD_PHOTOS 4
static const char *thread_photos[THREAD_PHOTOS] = {
    "bursts/group4_take2.jpg",
    "bursts/iphone_hdr_YES.jpg",
    "faces/groups/girl_group_11.jpg",
    "exif/gps_walk/DSCN0012.jpg",
};

struct job {
    const struct pho_brisque *model;
    struct pho_image *const *imgs;
    struct pho_quality out[THREAD_PHOTOS][5];
    int rc;
};

static void *worker(void *arg)
{
    struct job *j = arg;
    for (int round = 0; round < 5; round++)
        for (int i = 0; i < THREAD_PHOTOS; i++) {
            int rc = pho_quality_measure(&j->out[i][round], j->imgs[i], 3, j->model, NULL);
            if (rc)
                j->rc = rc;
        }
    return NULL;
}

static void test_threads_share_model(void **state)
{
    (void)state;
    struct pho_brisque *m = open_model();
    struct pho_image *imgs[THREAD_PHOTOS];
    struct pho_quality single[THREAD_PHOTOS];
    for (int i = 0; i < THREAD_PHOTOS; i++) {
        imgs[i] = load480(thread_photos[i]);
        single[i] = measure(imgs[i], 3, m);
    }
    struct job jobs[2] = { { m, imgs, { { { 0 } } }, 0 }, { m, imgs, { { { 0 } } }, 0 } };
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        assert_int_equal(pthread_create(&t[k], NULL, worker, &jobs[k]), 0);
    for (int k = 0; k < 2; k++)
        assert_int_equal(pthread_join(t[k], NULL), 0);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(jobs[k].rc, 0);
        for (int i = 0; i < THREAD_PHOTOS; i++)
            for (int r = 0; r < 5; r++)
                assert_memory_equal(&jobs[k].out[i][r], &single[i], sizeof(single[i]));
    }
    for (int i = 0; i < THREAD_PHOTOS; i++)
        pho_image_free(imgs[i]);
    pho_brisque_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat),
        cmocka_unit_test(test_luma),
        cmocka_unit_test(test_checkerboard),
        cmocka_unit_test(test_clipped_fractions),
        cmocka_unit_test(test_analysis_image),
        cmocka_unit_test(test_noise),
        cmocka_unit_test(test_noise_ignores_edges),
        cmocka_unit_test(test_brisque_reference),
        cmocka_unit_test(test_brisque_synthetic),
        cmocka_unit_test_setup_teardown(test_model_missing, files_setup, files_teardown),
        cmocka_unit_test_setup_teardown(test_model_truncated, files_setup, files_teardown),
        cmocka_unit_test_setup_teardown(test_model_garbled, files_setup, files_teardown),
        cmocka_unit_test(test_model_oom),
        cmocka_unit_test(test_score_terms),
        cmocka_unit_test(test_score_resolution_ladder),
        cmocka_unit_test(test_score_spoiled_copies),
        cmocka_unit_test(test_threads_share_model),
    };
    return T_RUN_GROUP(tests, NULL, NULL);
}
