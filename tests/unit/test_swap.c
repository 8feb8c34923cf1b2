/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the pixel work of a face repair (src/swap/cv_shim.cpp) on pictures made
 * here, and what a repaired copy keeps of its photo (src/image/carry.c,
 * src/exif/upright.c). The repair on real faces is tests/e2e/t0070-face-swap.sh.
 */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/testlib.h"
#include "exif/upright.h"
#include "pho/image.h"
#include "pho/swap.h"
#include "swap/cv_shim.h"

#define W 240
#define H 200

/* A textured "face": smooth shading, a dark band (brows) and two dark ellipses (eyes),
 * brightness times @gain, everything shifted by (@dx, @dy). */
static struct pho_image *face(float gain, float dx, float dy, bool open)
{
    struct pho_image *img = NULL;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_image_new(&img, W, H, &err), 0);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float u = (float)x - dx, v = (float)y - dy;
            float val = 150.f + 40.f * sinf(u * 0.05f) * cosf(v * 0.04f);
            if (v > 60 && v < 68 && ((u > 60 && u < 110) || (u > 130 && u < 180)))
                val = 70.f; /* brows */
            for (int e = 0; e < 2; e++) {
                float cx = e ? 155.f : 85.f, cy = 90.f;
                float ry = open ? 8.f : 1.5f;
                float q = (u - cx) * (u - cx) / 400.f + (v - cy) * (v - cy) / (ry * ry);
                if (q < 1)
                    val = open ? 40.f : 110.f;
            }
            val *= gain;
            uint8_t *p = img->pixels + (size_t)y * img->stride + (size_t)x * 3;
            p[0] = (uint8_t)fminf(255.f, val);
            p[1] = (uint8_t)fminf(255.f, val * 0.8f);
            p[2] = (uint8_t)fminf(255.f, val * 0.7f);
        }
    return img;
}

static struct pho_swap__px px(struct pho_image *img)
{
    return (struct pho_swap__px){ img->pixels, (int)img->width, (int)img->height, img->stride };
}

/* Both eyes' ellipses, and the seven landmarks, of the face drawn at (@dx, @dy). */
static void geometry(float pts[7][2], float poly[64][2], float dx, float dy)
{
    const float base[7][2] = { { 65, 90 },   { 105, 90 }, { 135, 90 }, { 175, 90 },
                               { 120, 120 }, { 95, 150 }, { 145, 150 } };
    for (int i = 0; i < 7; i++)
        pts[i][0] = base[i][0] + dx, pts[i][1] = base[i][1] + dy;
    for (int e = 0; e < 2; e++)
        for (int i = 0; i < 32; i++) {
            float t = 2.f * (float)M_PI * (float)i / 32.f;
            poly[e * 32 + i][0] = (e ? 155.f : 85.f) + 30.f * cosf(t);
            poly[e * 32 + i][1] = 86.f + 20.f * sinf(t);
        }
}

static struct pho_swap__transplant plan(float src_pts[7][2], float dst_pts[7][2], float poly[64][2],
                                        const int *plen, enum pho_swap__blend blend)
{
    return (struct pho_swap__transplant){ .src_pts = (const float(*)[2])src_pts,
                                          .dst_pts = (const float(*)[2])dst_pts,
                                          .npts = 7,
                                          .poly = (const float(*)[2])poly,
                                          .poly_len = plen,
                                          .npoly = 2,
                                          .ring = 8,
                                          .blend = blend };
}

/* A donor of the same face, moved by (12, -7) and half as bright: the transform finds the
 * move, the gain the exposure, and the result's eyes are the donor's, without a seam. */
static void test_transplant_aligns_and_matches(void **state)
{
    (void)state;
    struct pho_image *target = face(1.0f, 0, 0, false), *donor = face(0.5f, 12, -7, true);
    float sp[7][2], dp[7][2], poly[64][2];
    geometry(sp, poly, 12, -7);
    geometry(dp, poly, 0, 0);
    int plen[2] = { 32, 32 };
    struct pho_swap__transplant t = plan(sp, dp, poly, plen, PHO_SWAP__POISSON);
    struct pho_swap__px d = px(target), s = px(donor);
    char why[128] = "";
    assert_int_equal(pho_swap__cv_transplant(&d, &s, &t, why, sizeof(why)), 0);
    assert_true(fabsf(t.scale - 1.f) < 0.01f);
    assert_true(fabsf(t.rotation) < 0.01f);
    assert_true(t.residual < 0.5f);
    for (int c = 0; c < 3; c++)
        assert_true(t.gain[c] > 1.8f && t.gain[c] <= 2.0f);
    assert_true(t.match > 0.9f);
    assert_true(t.seam < PHO_SWAP_MAX_SEAM);
    /* The left eye's middle is dark now (open), as in the donor at full brightness. */
    const uint8_t *mid = target->pixels + (size_t)90 * target->stride + 85 * 3;
    assert_true(mid[0] < 80);
    /* Far from the eyes nothing changed. */
    struct pho_image *ref = face(1.0f, 0, 0, false);
    assert_memory_equal(target->pixels + (size_t)180 * target->stride,
                        ref->pixels + (size_t)180 * ref->stride, (size_t)W * 3);
    pho_image_free(ref);

    /* The same eyes pasted without matching show their edge: the seam measure says so. */
    struct pho_image *t2 = face(1.0f, 0, 0, false);
    t = plan(sp, dp, poly, plen, PHO_SWAP__PASTE);
    d = px(t2);
    assert_int_equal(pho_swap__cv_transplant(&d, &s, &t, why, sizeof(why)), 0);
    assert_true(t.seam > PHO_SWAP_MAX_SEAM);
    pho_image_free(t2);
    pho_image_free(target);
    pho_image_free(donor);
}

/* A region reaching past the frame is refused and the target left as it was. */
static void test_transplant_refuses_the_edge(void **state)
{
    (void)state;
    struct pho_image *target = face(1.0f, 0, 0, false), *donor = face(1.0f, 0, 0, true);
    struct pho_image *ref = face(1.0f, 0, 0, false);
    float sp[7][2], dp[7][2], poly[64][2];
    geometry(sp, poly, 0, 0);
    geometry(dp, poly, 0, 0);
    for (int i = 0; i < 32; i++)
        poly[i][0] -= 70; /* the left ellipse now crosses x = 0 */
    int plen[2] = { 32, 32 };
    struct pho_swap__transplant t = plan(sp, dp, poly, plen, PHO_SWAP__POISSON);
    struct pho_swap__px d = px(target), s = px(donor);
    char why[128] = "";
    assert_int_equal(pho_swap__cv_transplant(&d, &s, &t, why, sizeof(why)), PHO_SWAP__FAIL);
    assert_non_null(strstr(why, "edge"));
    assert_memory_equal(target->pixels, ref->pixels, target->stride * H);
    pho_image_free(ref);
    pho_image_free(target);
    pho_image_free(donor);
}

/* The quality a JPEG was saved at is read back from its tables. */
static void test_carry_quality(void **state)
{
    (void)state;
    struct pho_image *img = face(1.0f, 0, 0, true);
    const int qs[] = { 50, 75, 85, 95 };
    for (size_t i = 0; i < PHO_ARRAY_LEN(qs); i++) {
        void *jpeg = NULL;
        size_t len = 0;
        struct pho_err err = PHO_ERR_INIT;
        assert_int_equal(pho_image_jpeg_carrying(&jpeg, &len, img, NULL, qs[i], &err), 0);
        char path[] = "/tmp/pho-test-swap-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, jpeg, len), (ssize_t)len);
        close(fd);
        struct pho_image_carry *c = NULL;
        assert_int_equal(pho_image_carry_read(&c, path, &err), 0);
        assert_int_equal(pho_image_carry_quality(c), qs[i]);
        assert_int_equal(pho_image_carry_kept(c) & 2, 0); /* no profile to keep */
        pho_image_carry_free(c);
        unlink(path);
        pho_free(jpeg);
    }
    pho_image_free(img);
    pho_image_carry_free(NULL);
}

/* A camera's EXIF made upright: orientation 1, the new size, no thumbnail; the rest kept. */
static void test_exif_upright(void **state)
{
    (void)state;
    struct pho_image_carry *c = NULL;
    struct pho_err err = PHO_ERR_INIT;
    /* A real camera JPEG shot in portrait (orientation 6) with a thumbnail. */
    assert_int_equal(pho_image_carry_read(&c, td("bursts/canon_hdr_NO.jpg"), &err), 0);
    assert_true(pho_image_carry_kept(c) & 1);
    struct pho_image *img = NULL;
    struct pho_image_opts io = PHO_IMAGE_OPTS_INIT;
    io.max_size = 300;
    struct pho_meta before;
    assert_int_equal(pho_image_load(&img, td("bursts/canon_hdr_NO.jpg"), &io, &before, &err), 0);
    void *jpeg = NULL;
    size_t len = 0;
    assert_int_equal(pho_image_jpeg_carrying(&jpeg, &len, img, c, 0, &err), 0);
    struct pho_meta after;
    assert_int_equal(pho_image_probe_buffer(&after, jpeg, len, NULL, &err), 0);
    assert_int_equal(after.orientation, 1);
    assert_int_equal(after.width, img->width);
    assert_int_equal(after.height, img->height);
    assert_string_equal(after.make, before.make);
    assert_string_equal(after.model, before.model);
    assert_int_equal(after.time.local, before.time.local);
    /* Upright pixels come back as they went in: nothing rotates them again. */
    struct pho_image *back = NULL;
    assert_int_equal(pho_image_load_buffer(&back, jpeg, len, NULL, NULL, &err), 0);
    assert_int_equal(back->width, img->width);
    assert_int_equal(back->height, img->height);
    pho_image_free(back);
    pho_free(jpeg);
    pho_image_free(img);
    pho_image_carry_free(c);

    /* Not EXIF at all: refused, nothing made. */
    void *out = NULL;
    size_t n = 0;
    assert_int_equal(pho_exif__upright(&out, &n, "not exif at all", 15, 10, 10), PHO_ECORRUPT);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transplant_aligns_and_matches),
        cmocka_unit_test(test_transplant_refuses_the_edge),
        cmocka_unit_test(test_carry_quality),
        cmocka_unit_test(test_exif_upright),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
