/* SPDX-License-Identifier: MIT */
/*
 * The insightface backend against the synthetic stand-ins of the buffalo_l
 * and buffalo_s packs (tools/models/make_standins.py). The stand-ins' outputs
 * are closed-form functions of their input, so every expectation here is
 * computed by hand from the generator's formulas and its standins.json:
 * SCRFD decoding at each stride and binding by shape, the letterbox mapping
 * on a non-square photo, NMS, the 2d106 crop and its eye points in dlib's
 * order, RGB order, probes and their messages, two threads, and ArcFace
 * embeddings through the shared embed stage.
 */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/facetest.h"
#include "face/scrfd.h"
#include "face/stages.h"
#include "pho/face.h"
#include "pho/image.h"
#include "pho/infer.h"
#include "pho/models.h"

/* Its models folder holds the shipped models and both stand-in packs; its $HOME has no
 * ~/.insightface unless a test makes one. */
static struct ft_sandbox sb;

/* The generator's constants (standins.json "constants"). */
static const float box_d[4] = { 1.0f, 1.25f, 1.5f, 1.75f };
static const float kps_d[10] = { -0.5f, -0.25f,  0.5f,  -0.25f, 0.0f,
                                 0.25f, -0.375f, 0.75f, 0.375f, 0.75f };
static const float score_lit = 0.9930423911926235f;

static float tmpl_x(int k)
{
    return (float)(k % 11 - 5) / 32.0f;
}

static float tmpl_y(int k)
{
    return ((float)(k / 11) - 4.5f) / 32.0f;
}

/* A fresh folder under scratch holding the shipped models (and emotion.onnx when asked). */
static char *new_models_dir(bool emotion)
{
    char *dir = ft_sandbox_dir(&sb);
    ft_link_shipped(dir, emotion ? NULL : "emotion.onnx");
    return dir;
}

static int setup(void **state)
{
    (void)state;
    if (ft_sandbox_setup(&sb, "buffalo_l/det_10g.onnx"))
        return -1;
    ft_link_shipped(sb.models, NULL);
    ft_link_standin(sb.models, "buffalo_l");
    ft_link_standin(sb.models, "buffalo_s");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ft_sandbox_teardown(&sb);
    return 0;
}

/* ---- SCRFD, straight on the stand-in ---- */

/* The standins.json example: 640x640 black, white square x [256,384), y [192,320). */
static float *scrfd_input(uint8_t r, uint8_t g, uint8_t b)
{
    float *t = malloc(sizeof(float) * 3 * 640 * 640);
    const uint8_t rgb[3] = { r, g, b };
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 640; y++)
            for (int x = 0; x < 640; x++) {
                bool in = x >= 256 && x < 384 && y >= 192 && y < 320;
                t[((size_t)c * 640 + y) * 640 + x] = ((in ? rgb[c] : 0) - 127.5f) / 128.0f;
            }
    return t;
}

static void release9(struct pho_tensor out[9])
{
    for (int i = 0; i < 9; i++)
        pho_tensor_release(&out[i]);
}

static void test_scrfd_strides(void **state)
{
    (void)state;
    /* standins.json: rows above 0.5, first lit row, its box and keypoints, per stride. */
    static const struct {
        int stride;
        size_t lit, first_row;
        float box[4], kps[10];
    } want[3] = {
        { 8,
          512,
          3904,
          { 248, 182, 268, 206 },
          { 252, 190, 260, 190, 256, 194, 253, 198, 259, 198 } },
        { 16,
          128,
          992,
          { 240, 172, 280, 220 },
          { 248, 188, 264, 188, 256, 196, 250, 204, 262, 204 } },
        { 32,
          32,
          256,
          { 224, 152, 304, 248 },
          { 240, 184, 272, 184, 256, 200, 244, 216, 268, 216 } },
    };
    const char *const names[2] = { "scrfd_10g", "scrfd_500m" };
    for (int n = 0; n < 2; n++) {
        float *input = scrfd_input(255, 255, 255);
        struct pho_tensor out[9];
        ft_run_standin(&sb, names[n], input, 640, out, 9);
        struct face_scrfd_level lv[3];
        size_t bad = 99;
        assert_true(pho_face__scrfd_bind(lv, out, 9, 640, 640, &bad));
        assert_int_equal(bad, 9);
        for (int i = 0; i < 3; i++) {
            int s = want[i].stride;
            assert_int_equal(lv[i].stride, s);
            assert_int_equal(lv[i].anchors, 2);
            assert_int_equal(lv[i].rows, (size_t)(640 / s) * (640 / s) * 2);
            size_t n_lit = pho_face__scrfd_decode(&lv[i], 640, 0.5f, NULL, 0);
            assert_int_equal(n_lit, want[i].lit);
            struct face_det *d = calloc(n_lit, sizeof(*d));
            assert_int_equal(pho_face__scrfd_decode(&lv[i], 640, 0.5f, d, n_lit), n_lit);
            /* The first lit row is the first row of the square's top-left cell. */
            assert_float_equal(lv[i].score[want[i].first_row], score_lit, 1e-5);
            assert_true(lv[i].score[want[i].first_row - 1] < 1e-3f);
            assert_float_equal(d[0].x0, want[i].box[0], 1e-4);
            assert_float_equal(d[0].y0, want[i].box[1], 1e-4);
            assert_float_equal(d[0].x1, want[i].box[2], 1e-4);
            assert_float_equal(d[0].y1, want[i].box[3], 1e-4);
            assert_int_equal(d[0].nkp, 5);
            for (int k = 0; k < 5; k++) {
                assert_float_equal(d[0].kp[k][0], want[i].kps[2 * k], 1e-4);
                assert_float_equal(d[0].kp[k][1], want[i].kps[2 * k + 1], 1e-4);
            }
            /* Every lit anchor is one covering the square, at its cell corner, box 1 stride out. */
            for (size_t j = 0; j < n_lit; j++) {
                float cx = d[j].x0 + box_d[0] * s, cy = d[j].y0 + box_d[1] * s;
                assert_float_equal(fmodf(cx, (float)s), 0, 1e-4);
                assert_float_equal(fmodf(cy, (float)s), 0, 1e-4);
                assert_true(cx >= 256 && cx < 384 && cy >= 192 && cy < 320);
                assert_float_equal(d[j].x1, cx + box_d[2] * s, 1e-4);
                assert_float_equal(d[j].y1, cy + box_d[3] * s, 1e-4);
                assert_float_equal(d[j].score, score_lit, 1e-5);
                for (int k = 0; k < 5; k++) {
                    assert_float_equal(d[j].kp[k][0], cx + kps_d[2 * k] * s, 1e-4);
                    assert_float_equal(d[j].kp[k][1], cy + kps_d[2 * k + 1] * s, 1e-4);
                }
            }
            free(d);
        }
        release9(out);
        free(input);
    }
}

/* Anchor 0 reads red and anchor 1 green: each colour lights only its own anchor. */
static void test_scrfd_anchor_colours(void **state)
{
    (void)state;
    const uint8_t colours[3][3] = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 } };
    for (int c = 0; c < 3; c++) {
        float *input = scrfd_input(colours[c][0], colours[c][1], colours[c][2]);
        struct pho_tensor out[9];
        ft_run_standin(&sb, "scrfd_10g", input, 640, out, 9);
        struct face_scrfd_level lv[3];
        size_t bad;
        assert_true(pho_face__scrfd_bind(lv, out, 9, 640, 640, &bad));
        size_t lit[2] = { 0, 0 };
        for (size_t r = 0; r < lv[0].rows; r++)
            if (lv[0].score[r] >= 0.5f)
                lit[r % 2]++;
        assert_int_equal(lit[0], c == 0 ? 256 : 0);
        assert_int_equal(lit[1], c == 1 ? 256 : 0);
        release9(out);
        free(input);
    }
}

/* Outputs are bound by shape: reordered, renamed or batched exports decode the same. */
static void test_scrfd_bind_by_shape(void **state)
{
    (void)state;
    float *input = scrfd_input(255, 255, 255);
    struct pho_tensor out[9];
    ft_run_standin(&sb, "scrfd_10g", input, 640, out, 9);
    struct face_scrfd_level ref[3], lv[3];
    size_t bad;
    assert_true(pho_face__scrfd_bind(ref, out, 9, 640, 640, &bad));

    /* Reversed order, and a leading batch dimension on every output. */
    struct pho_tensor perm[9];
    for (int i = 0; i < 9; i++) {
        perm[i] = out[8 - i];
        perm[i].owned = false;
        perm[i].ndim = 3;
        perm[i].shape[2] = out[8 - i].shape[1];
        perm[i].shape[1] = out[8 - i].shape[0];
        perm[i].shape[0] = 1;
    }
    assert_true(pho_face__scrfd_bind(lv, perm, 9, 640, 640, &bad));
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(lv[i].score, ref[i].score);
        assert_ptr_equal(lv[i].box, ref[i].box);
        assert_ptr_equal(lv[i].kps, ref[i].kps);
        assert_int_equal(lv[i].rows, ref[i].rows);
    }

    /* A batch of two, a row count no stride explains, a width that means nothing, one missing,
     * and one bound twice are all refused, naming the culprit. */
    struct pho_tensor bad_t[9];
    memcpy(bad_t, perm, sizeof(bad_t));
    bad_t[4].shape[0] = 2;
    assert_false(pho_face__scrfd_bind(lv, bad_t, 9, 640, 640, &bad));
    assert_int_equal(bad, 4);
    memcpy(bad_t, perm, sizeof(bad_t));
    bad_t[2].shape[1] = 1000;
    assert_false(pho_face__scrfd_bind(lv, bad_t, 9, 640, 640, &bad));
    assert_int_equal(bad, 2);
    memcpy(bad_t, perm, sizeof(bad_t));
    bad_t[0].shape[2] = 7;
    assert_false(pho_face__scrfd_bind(lv, bad_t, 9, 640, 640, &bad));
    assert_int_equal(bad, 0);
    assert_false(pho_face__scrfd_bind(lv, perm, 8, 640, 640, &bad));
    assert_int_equal(bad, 8);
    memcpy(bad_t, perm, sizeof(bad_t));
    bad_t[1] = bad_t[0];
    assert_false(pho_face__scrfd_bind(lv, bad_t, 9, 640, 640, &bad));
    assert_int_equal(bad, 1);
    /* The same run is no fit for another input size. */
    assert_false(pho_face__scrfd_bind(lv, perm, 9, 640, 480, &bad));

    release9(out);
    free(input);
}

/* ---- 2d106 ---- */

static void test_lmk106_standin_and_crop(void **state)
{
    (void)state;
    /* standins.json: a 192x192 crop, black but a white block rows [0,48), columns [144,192). */
    float *t = ft_planes(192, 144, 0, 192, 48, 255);
    struct pho_tensor out;
    ft_run_standin(&sb, "landmark_2d106_l", t, 192, &out, 1);
    assert_int_equal(out.shape[1], 212);
    assert_float_equal(out.data[0], 0.5937499987234477, 1e-5);
    assert_float_equal(out.data[1], -0.8906249987234477, 1e-5);
    assert_float_equal(out.data[210], 0.7812499987234477, 1e-5);
    assert_float_equal(out.data[211], -0.6093749987234477, 1e-5);

    /* InsightFace's crop: 1.5 x the longer side around the box centre. A 64x48 box at
     * (100, 50) gives a 96-pixel square centred on (132, 74): scale 2. */
    const float box[4] = { 100, 50, 164, 98 };
    struct face_lmk106_crop crop;
    assert_true(pho_face__lmk106_crop(box, &crop));
    assert_float_equal(crop.cx, 132, 1e-6);
    assert_float_equal(crop.cy, 74, 1e-6);
    assert_float_equal(crop.scale, 2, 1e-6);
    /* Point 0 is at crop pixel (153, 10.5) (standins.json): image (132 + 57/2, 74 - 85.5/2). */
    float x, y;
    pho_face__lmk106_to_image(&crop, out.data[0], out.data[1], &x, &y);
    assert_float_equal(x, 160.5, 1e-4);
    assert_float_equal(y, 31.25, 1e-4);
    /* The warp's pixel-centre map agrees: image continuous point -> crop (v + 1) * 96. */
    face_affine a;
    pho_face__lmk106_crop_affine(&crop, a);
    float u = a[0][0] * (x - 0.5f) + a[0][1] * (y - 0.5f) + a[0][2] + 0.5f;
    float v = a[1][0] * (x - 0.5f) + a[1][1] * (y - 0.5f) + a[1][2] + 0.5f;
    assert_float_equal(u, 153, 1e-3);
    assert_float_equal(v, 10.5, 1e-3);
    /* The box's corners land 1/6 in from the crop's edges (1.5x). */
    u = a[0][0] * (box[0] - 0.5f) + a[0][2] + 0.5f;
    assert_float_equal(u, 32, 1e-3);
    const float empty[4] = { 10, 10, 10, 10 };
    assert_false(pho_face__lmk106_crop(empty, &crop));

    pho_tensor_release(&out);
    free(t);
}

/*
 * A synthetic 106-point set with real eye geometry at the published layout's
 * indices (names sorted: bottom, centre, left corner, lower-left quarter,
 * lower-right quarter, pupil, right corner, top, upper-left quarter,
 * upper-right quarter; first eye at 33, second at 87), every other point far
 * away. Eye centre (cx, cy), half-width a, half-height b, rolled by @roll.
 */
static void put_eye(float (*pts)[2], int base, float cx, float cy, float a, float b, float roll)
{
    /* (along, across) in eye units; across < 0 is the upper lid. */
    const float q = sqrtf(0.75f);
    const float geo[10][2] = { { 0, 1 }, { 0, 0 }, { -1, 0 }, { -0.5f, q },  { 0.5f, q },
                               { 0, 0 }, { 1, 0 }, { 0, -1 }, { -0.5f, -q }, { 0.5f, -q } };
    float c = cosf(roll), s = sinf(roll);
    for (int i = 0; i < 10; i++) {
        float ax = geo[i][0] * a, ay = geo[i][1] * b;
        pts[base + i][0] = cx + c * ax - s * ay;
        pts[base + i][1] = cy + s * ax + c * ay;
    }
}

static void synthetic_106(float (*pts)[2], float roll, float b_left, float b_right)
{
    for (int k = 0; k < 106; k++) {
        pts[k][0] = 1000 + k;
        pts[k][1] = -1000;
    }
    float c = cosf(roll), s = sinf(roll);
    /* Eyes 60 px apart around (200, 200). */
    put_eye(pts, 33, 200 - 30 * c, 200 - 30 * s, 15, b_left, roll);
    put_eye(pts, 87, 200 + 30 * c, 200 + 30 * s, 15, b_right, roll);
}

static void check_eye(const float e[6][2], const float (*pts)[2], int base)
{
    /* dlib order: left corner, upper-left, upper-right, right corner, lower-right, lower-left. */
    static const int name[6] = { 2, 8, 9, 6, 4, 3 };
    for (int i = 0; i < 6; i++) {
        assert_float_equal(e[i][0], pts[base + name[i]][0], 1e-5);
        assert_float_equal(e[i][1], pts[base + name[i]][1], 1e-5);
    }
}

static void test_lmk106_eye_mapping(void **state)
{
    (void)state;
    float pts[106][2], el[6][2], er[6][2];
    synthetic_106(pts, 0, 5, 5);
    const float kl[2] = { 170, 200 }, kr[2] = { 230, 200 };
    assert_false(pho_face__lmk106_eyes((const float(*)[2])pts, kl, kr, el, er));
    check_eye((const float(*)[2])el, (const float(*)[2])pts, 33);
    check_eye((const float(*)[2])er, (const float(*)[2])pts, 87);
    /* Concretely: 35, 41, 42, 39, 37, 36 and 89, 95, 96, 93, 91, 90. */
    assert_float_equal(el[0][0], pts[35][0], 0);
    assert_float_equal(el[1][0], pts[41][0], 0);
    assert_float_equal(el[2][0], pts[42][0], 0);
    assert_float_equal(el[3][0], pts[39][0], 0);
    assert_float_equal(el[4][0], pts[37][0], 0);
    assert_float_equal(el[5][0], pts[36][0], 0);
    assert_float_equal(er[0][1], pts[89][1], 0);
    assert_float_equal(er[5][1], pts[90][1], 0);
    /* Upper lid above the lower one, pairwise. */
    assert_true(el[1][1] < el[5][1] && el[2][1] < el[4][1]);
    assert_true(er[1][1] < er[5][1] && er[2][1] < er[4][1]);
    /* EAR of an ellipse read at its quarter points: b sqrt(3/4) / a. */
    float ear = pho_face__ear((const float(*)[2])el);
    assert_float_equal(ear, 5 * sqrtf(0.75f) / 15, 1e-5);

    /* A model that named the eyes the other way round is put right by the detector's points. */
    const float kl_swapped[2] = { 230, 200 }, kr_swapped[2] = { 170, 200 };
    assert_true(pho_face__lmk106_eyes((const float(*)[2])pts, kl_swapped, kr_swapped, el, er));
    check_eye((const float(*)[2])el, (const float(*)[2])pts, 87);
    check_eye((const float(*)[2])er, (const float(*)[2])pts, 33);

    /* A head rolled by 90 degrees: the eye line runs down the image, and the detector's eye
     * order with it. */
    synthetic_106(pts, (float)M_PI / 2, 5, 1);
    const float kl_roll[2] = { 200, 170 }, kr_roll[2] = { 200, 230 };
    assert_false(pho_face__lmk106_eyes((const float(*)[2])pts, kl_roll, kr_roll, el, er));
    check_eye((const float(*)[2])el, (const float(*)[2])pts, 33);
    assert_float_equal(pho_face__ear((const float(*)[2])el), ear, 1e-5);
    assert_float_equal(pho_face__ear((const float(*)[2])er), 1 * sqrtf(0.75f) / 15, 1e-5);
}

static void test_eye_state_and_yaw(void **state)
{
    (void)state;
    const float t = FACE_LMK106_CLOSED_EAR;
    int8_t closed, wink;
    pho_face__eye_state(0.30f, 0.28f, t, &closed, &wink);
    assert_int_equal(closed, 0);
    assert_int_equal(wink, 0);
    pho_face__eye_state(0.05f, 0.06f, t, &closed, &wink);
    assert_int_equal(closed, 1);
    assert_int_equal(wink, 0);
    pho_face__eye_state(0.30f, 0.05f, t, &closed, &wink);
    assert_int_equal(closed, 1);
    assert_int_equal(wink, 1);
    pho_face__eye_state(NAN, 0.3f, t, &closed, &wink);
    assert_int_equal(closed, -1);
    assert_int_equal(wink, -1);
    /* A provisional value, but in the range any 2d106 EAR threshold can be: below dlib's 0.2. */
    assert_true(t > 0.1f && t < 0.2f);

    const float ol[2] = { 100, 50 }, orr[2] = { 200, 50 };
    const float mid[2] = { 150, 90 }, left[2] = { 100, 90 }, far[2] = { 300, 60 };
    assert_float_equal(pho_face__yaw(ol, orr, mid), 0, 1e-6);
    assert_float_equal(pho_face__yaw(ol, orr, left), -1, 1e-6);
    assert_float_equal(pho_face__yaw(ol, orr, far), 1, 1e-6);
    assert_true(isnan(pho_face__yaw(ol, ol, mid)));
}

/* ---- the backend ---- */

static struct pho_face_engine *open_engine(const char *dir, bool encode)
{
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.backend = "insightface";
    fo.models_dir = dir;
    fo.trust = 1;
    fo.encode = encode;
    return ft_engine(&fo);
}

/*
 * What the backend must find on a black image with a white rectangle that
 * covers tensor pixels [u0,u1) x [v0,v1) (multiples of 32, so every cell is
 * either wholly lit or dark): both anchors of every covered cell at every
 * stride, mapped back by x = (u - ox) / scale, then InsightFace's NMS (IoU
 * 0.4; equal scores keep the upper, then the left box first).
 */
static size_t reference(struct ft_ref *out, int u0, int v0, int u1, int v1, float scale, float ox,
                        float oy)
{
    size_t n = 0;
    for (int s = 8; s <= 32; s *= 2) {
        for (int cy = v0; cy < v1; cy += s) {
            for (int cx = u0; cx < u1; cx += s) {
                for (int a = 0; a < 2; a++) {
                    struct ft_ref *r = &out[n++];
                    r->x0 = ((float)cx - box_d[0] * s - ox) / scale;
                    r->y0 = ((float)cy - box_d[1] * s - oy) / scale;
                    r->x1 = ((float)cx + box_d[2] * s - ox) / scale;
                    r->y1 = ((float)cy + box_d[3] * s - oy) / scale;
                    for (int k = 0; k < 5; k++) {
                        r->kp[k][0] = ((float)cx + kps_d[2 * k] * s - ox) / scale;
                        r->kp[k][1] = ((float)cy + kps_d[2 * k + 1] * s - oy) / scale;
                    }
                }
            }
        }
    }
    return ft_ref_nms(out, n, 0.4f);
}

/* 1280x960 -> letterbox scale 0.5, 80 px of padding above and below. The white square
 * [512,768) x [288,544) lands on tensor [256,384) x [224,352). */
enum { W = 1280, H = 960, SQ_X0 = 512, SQ_Y0 = 288, SQ_X1 = 768, SQ_Y1 = 544 };

static void check_faces_match_reference(const struct pho_face_list *fl)
{
    struct ft_ref *want = calloc(4096, sizeof(*want));
    size_t n = reference(want, 256, 224, 384, 352, 0.5f, 0, 80);
    assert_int_equal(fl->image_w, W);
    assert_int_equal(fl->image_h, H);
    ft_check_ref(fl, want, n, score_lit);
    free(want);
}

/*
 * The 2d106 stand-in puts point k at the crop's brightness centroid plus
 * template offset k. So every eye point, minus its offset (scaled back by
 * the crop's 1.5 x box side / 192), must give one and the same centroid,
 * which is the box centre when the crop is all white. The stand-in's grid
 * has the eye group at 87 to the left of the one at 33 along the detector's
 * eye line, so the backend assigns it to the image-left eye.
 */
static void check_106_eyes(const struct pho_face_list *fl)
{
    static const int idx_l[6] = { 89, 95, 96, 93, 91, 90 }, idx_r[6] = { 35, 41, 42, 39, 37, 36 };
    size_t inside = 0;
    for (size_t i = 0; i < fl->count; i++) {
        const struct pho_face *f = &fl->faces[i];
        assert_true(f->has_eyes);
        float bw = (f->box[2] - f->box[0]) * W, bh = (f->box[3] - f->box[1]) * H;
        float side = 1.5f * fmaxf(bw, bh), half = side / 2;
        float bx = (f->box[0] + f->box[2]) * W / 2, by = (f->box[1] + f->box[3]) * H / 2;
        float c0x = NAN, c0y = NAN;
        for (int e = 0; e < 2; e++) {
            for (int j = 0; j < 6; j++) {
                const float *p = e ? f->eye_r[j] : f->eye_l[j];
                int k = e ? idx_r[j] : idx_l[j];
                float cx = p[0] * W - tmpl_x(k) * half, cy = p[1] * H - tmpl_y(k) * half;
                if (isnan(c0x)) {
                    c0x = cx;
                    c0y = cy;
                }
                assert_float_equal(cx, c0x, 1e-2);
                assert_float_equal(cy, c0y, 1e-2);
            }
        }
        /* A pixel inside: bilinear sampling reaches half a pixel past the crop's edge. */
        if (bx - half >= SQ_X0 + 1 && bx + half <= SQ_X1 - 1 && by - half >= SQ_Y0 + 1 &&
            by + half <= SQ_Y1 - 1) {
            inside++;
            assert_float_equal(c0x, bx, 0.05);
            assert_float_equal(c0y, by, 0.05);
        }
        /* All eye points of the stand-in lie on two grid rows: EAR (5 + 5) / (2 * 4) each. */
        assert_float_equal(f->ear_l, 1.25, 1e-3);
        assert_float_equal(f->ear_r, 1.25, 1e-3);
        assert_int_equal(f->eyes_closed, 0);
        assert_int_equal(f->winking, 0);
        assert_true(f->yaw >= -1 && f->yaw <= 1);
        /* The stand-in's boxes overlap as a lattice: a mouth another box covers has no
         * smile score (src/face/occlusion.c); every other one has. */
        if (pho_face__mouth_covered(fl, i))
            assert_true(isnan(f->smile));
        else
            assert_true(f->smile >= 0 && f->smile <= 1);
        assert_true(f->sharpness >= 0);
    }
    assert_true(inside > 0);
}

static void test_analyze_letterbox_nms_106(void **state)
{
    (void)state;
    struct pho_face_engine *fe = open_engine(sb.models, false);
    assert_string_equal(pho_face_engine_backend(fe), "insightface");
    unsigned caps = pho_face_engine_caps(fe);
    assert_int_equal(caps, PHO_FACE_CAP_DETECT | PHO_FACE_CAP_LANDMARKS | PHO_FACE_CAP_EYES |
                                   PHO_FACE_CAP_SMILE | PHO_FACE_CAP_ENCODE);

    struct pho_image *img = ft_canvas(W, H);
    struct pho_face_list fl = { 0 };
    ft_analyze(fe, img, &fl);
    assert_int_equal(fl.count, 0);
    pho_face_list_release(&fl);

    ft_paint(img, SQ_X0, SQ_Y0, SQ_X1, SQ_Y1, 255, 255, 255);
    ft_analyze(fe, img, &fl);
    check_faces_match_reference(&fl);
    check_106_eyes(&fl);
    for (size_t i = 0; i < fl.count; i++)
        assert_int_equal(fl.faces[i].embed_dim, 0);
    pho_face_list_release(&fl);

    struct pho_face_stats st;
    pho_face_engine_stats(fe, &st);
    assert_int_equal(st.images, 2);
    assert_true(st.detect > 0 && st.landmarks > 0);
    pho_image_free(img);
    pho_face_engine_close(fe);
}

/* On request the 106 points come back as dense landmarks, the eye points among them. */
static void test_dense_landmarks(void **state)
{
    (void)state;
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.backend = "insightface";
    fo.models_dir = sb.models;
    fo.trust = 1;
    fo.encode = false;
    fo.dense = true;
    struct pho_face_engine *fe = ft_engine(&fo);
    struct pho_image *img = ft_canvas(W, H);
    ft_paint(img, SQ_X0, SQ_Y0, SQ_X1, SQ_Y1, 255, 255, 255);
    struct pho_face_list fl = { 0 };
    ft_analyze(fe, img, &fl);
    assert_true(fl.count > 0);
    assert_int_equal(fl.dense_per_face, FACE_LMK106_POINTS);
    assert_non_null(fl.dense);
    for (size_t i = 0; i < fl.count; i++) {
        const float(*d)[2] = (const float(*)[2])(fl.dense + i * FACE_LMK106_POINTS);
        bool found[2] = { false, false };
        for (int k = 0; k < FACE_LMK106_POINTS; k++) {
            assert_true(isfinite(d[k][0]) && isfinite(d[k][1]));
            found[0] |= d[k][0] == fl.faces[i].eye_l[0][0] && d[k][1] == fl.faces[i].eye_l[0][1];
            found[1] |= d[k][0] == fl.faces[i].eye_r[3][0] && d[k][1] == fl.faces[i].eye_r[3][1];
        }
        assert_true(found[0] && found[1]);
    }
    pho_face_list_release(&fl);
    pho_image_free(img);
    pho_face_engine_close(fe);
}

/* Channel order: a red square lights anchor 0, a green one anchor 1, a blue one nothing. Fed
 * BGR, the blue square would light anchor 0 and the red one nothing. */
static void test_analyze_rgb_order(void **state)
{
    (void)state;
    struct pho_face_engine *fe = open_engine(sb.models, false);
    const uint8_t colours[3][3] = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 } };
    for (int c = 0; c < 3; c++) {
        struct pho_image *img = ft_canvas(W, H);
        ft_paint(img, SQ_X0, SQ_Y0, SQ_X1, SQ_Y1, colours[c][0], colours[c][1], colours[c][2]);
        struct pho_face_list fl = { 0 };
        ft_analyze(fe, img, &fl);
        if (c == 2)
            assert_int_equal(fl.count, 0);
        else
            check_faces_match_reference(&fl);
        pho_face_list_release(&fl);
        pho_image_free(img);
    }
    pho_face_engine_close(fe);
}

static void test_analyze_two_threads(void **state)
{
    (void)state;
    struct pho_face_engine *fe = open_engine(sb.models, true);
    struct pho_image *img = ft_canvas(W, H);
    ft_paint(img, SQ_X0, SQ_Y0, SQ_X1, SQ_Y1, 255, 255, 255);
    ft_paint(img, 64, 64, 192, 192, 255, 255, 255);
    ft_assert_two_threads_agree(fe, img);
    pho_image_free(img);
    pho_face_engine_close(fe);
}

/*
 * The ArcFace stand-in pools its 112x112 input into 4x4 cells per channel
 * (48 values) and multiplies by M[i][j] = ((i a + j b) % p - c) / 8. A face
 * whose aligned crop is all white feeds (255 - 127.5) / 127.5 = 1 into every
 * cell, so its embedding is the column sums of M, L2-normalised.
 */
static void white_embedding(const int pat[4], float e[512])
{
    double sq = 0;
    for (int j = 0; j < 512; j++) {
        double v = 0;
        for (int i = 0; i < 48; i++)
            v += ((i * pat[0] + j * pat[1]) % pat[2] - pat[3]) / 8.0;
        e[j] = (float)v;
        sq += v * v;
    }
    for (int j = 0; j < 512; j++)
        e[j] = (float)(e[j] / sqrt(sq));
}

/* Faces whose aligned 112 crop is certainly inside the white square: the crop spans at most
 * 83 template pixels from the eyes' midpoint, at the eye distance's scale (+20%). */
static bool crop_all_white(const struct pho_face *f)
{
    float lx = f->pts5[0][0] * W, ly = f->pts5[0][1] * H;
    float rx = f->pts5[1][0] * W, ry = f->pts5[1][1] * H;
    float mx = (lx + rx) / 2, my = (ly + ry) / 2;
    float reach = 1.2f * 83.0f * hypotf(rx - lx, ry - ly) / (73.5318f - 38.2946f);
    return mx - reach >= SQ_X0 && mx + reach <= SQ_X1 && my - reach >= SQ_Y0 && my + reach <= SQ_Y1;
}

static void check_embeddings(const struct pho_face_list *fl, const int pat[4])
{
    float want[512];
    white_embedding(pat, want);
    size_t white = 0;
    for (size_t i = 0; i < fl->count; i++) {
        const struct pho_face *f = &fl->faces[i];
        assert_int_equal(f->embed_dim, 512);
        double sq = 0;
        for (int j = 0; j < 512; j++)
            sq += (double)f->embed[j] * f->embed[j];
        assert_float_equal(sq, 1.0, 1e-4);
        if (crop_all_white(f)) {
            white++;
            for (int j = 0; j < 512; j++)
                assert_float_equal(f->embed[j], want[j], 1e-4);
        }
    }
    assert_true(white > 0);
}

static void test_embeddings(void **state)
{
    (void)state;
    struct pho_face_engine *fe = open_engine(sb.models, true);
    assert_string_equal(pho_face_engine_embed_model(fe), "arcface_r50-512");
    assert_int_equal(pho_face_engine_metric(fe), PHO_FACE_METRIC_COSINE);
    float same = pho_face_engine_same_person(fe);
    assert_true(same > 0 && same < 2);

    struct pho_image *one = ft_canvas(W, H), *two = ft_canvas(W, H);
    ft_paint(one, SQ_X0, SQ_Y0, SQ_X1, SQ_Y1, 255, 255, 255);
    ft_paint(two, SQ_X0, SQ_Y0, SQ_X1, SQ_Y1, 255, 255, 255);
    ft_paint(two, 64, 64, 192, 192, 255, 255, 255);
    struct pho_face_list a = { 0 }, b = { 0 }, again = { 0 };
    ft_analyze(fe, one, &a);
    check_faces_match_reference(&a);
    static const int r50[4] = { 7, 13, 17, 8 };
    check_embeddings(&a, r50);
    ft_analyze(fe, one, &again);
    ft_assert_same_faces(&a, &again);

    /* The same faces in a bigger batch (the second square adds its own) embed the same. */
    ft_analyze(fe, two, &b);
    assert_true(b.count > a.count);
    size_t matched = 0;
    for (size_t i = 0; i < a.count; i++) {
        for (size_t k = 0; k < b.count; k++) {
            if (memcmp(a.faces[i].box, b.faces[k].box, sizeof(a.faces[i].box)) != 0)
                continue;
            matched++;
            for (int j = 0; j < 512; j++)
                assert_float_equal(a.faces[i].embed[j], b.faces[k].embed[j], 1e-5);
        }
    }
    assert_int_equal(matched, a.count);
    pho_face_list_release(&a);
    pho_face_list_release(&b);
    pho_face_list_release(&again);
    pho_face_engine_close(fe);

    /* buffalo_s alone: its detector and its own recogniser. */
    char *dir = new_models_dir(true);
    ft_link_standin(dir, "buffalo_s");
    fe = open_engine(dir, true);
    assert_string_equal(pho_face_engine_embed_model(fe), "arcface_mbf-512");
    ft_analyze(fe, one, &a);
    check_faces_match_reference(&a);
    static const int mbf[4] = { 5, 11, 13, 6 };
    check_embeddings(&a, mbf);
    pho_face_list_release(&a);
    pho_face_engine_close(fe);
    free(dir);
    pho_image_free(one);
    pho_image_free(two);
}

/* ---- probes ---- */

static int probe(const char *dir, int trust, bool encode, struct pho_err *err)
{
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.models_dir = dir;
    fo.trust = trust;
    fo.encode = encode;
    pho_err_clear(err);
    return pho_face_backend_probe("insightface", &fo, err);
}

static void link_file(const char *dir, const char *pack, const char *file)
{
    char sub[4300], src[4300];
    snprintf(sub, sizeof(sub), "%s/%s", dir, pack);
    mkdir(sub, 0755);
    snprintf(src, sizeof(src), "%s/%s/%s", fixture_standins_dir(), pack, file);
    ft_link(src, sub, file);
}

static void test_probe_messages(void **state)
{
    (void)state;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(probe(sb.models, 1, true, &err), 0);

    /* Nothing installed: what to get and where to put it. */
    char *dir = new_models_dir(true);
    assert_int_equal(probe(dir, 1, true, &err), PHO_EBACKEND);
    assert_non_null(strstr(err.msg, "buffalo_l"));
    assert_non_null(strstr(err.msg, "~/.insightface/models/buffalo_l/"));
    assert_non_null(strstr(err.msg, dir));

    /* A partial pack: the file it lacks. */
    link_file(dir, "buffalo_l", "det_10g.onnx");
    assert_int_equal(probe(dir, 1, true, &err), PHO_EBACKEND);
    assert_non_null(strstr(err.msg, "buffalo_l"));
    assert_non_null(strstr(err.msg, "2d106det.onnx"));
    link_file(dir, "buffalo_l", "2d106det.onnx");
    assert_int_equal(probe(dir, 1, true, &err), PHO_EBACKEND);
    assert_non_null(strstr(err.msg, "w600k_r50.onnx"));
    /* Without embeddings the recogniser is not needed. */
    assert_int_equal(probe(dir, 1, false, &err), 0);
    free(dir);

    /* The standard InsightFace layout under $HOME is found. */
    dir = new_models_dir(true);
    char ins[4300];
    snprintf(ins, sizeof(ins), "%s/.insightface", sb.home);
    mkdir(ins, 0755);
    snprintf(ins, sizeof(ins), "%s/.insightface/models", sb.home);
    mkdir(ins, 0755);
    ft_link_standin(ins, "buffalo_l");
    assert_int_equal(probe(dir, 1, true, &err), 0);
    char link[4400];
    snprintf(link, sizeof(link), "%s/buffalo_l", ins);
    unlink(link);
    free(dir);

    /* The stand-ins are not the official files: checked, they are refused with the reason. */
    assert_int_equal(probe(sb.models, 0, true, &err), PHO_EBACKEND);
    assert_non_null(strstr(err.msg, "buffalo_l"));
    assert_non_null(strstr(err.msg, "det_10g.onnx"));
    assert_non_null(strstr(err.msg, "expected"));

    /* The shipped smile model is needed too. */
    dir = new_models_dir(false);
    ft_link_standin(dir, "buffalo_l");
    assert_int_equal(probe(dir, 1, true, &err), PHO_EBACKEND);
    assert_non_null(strstr(err.msg, "emotion.onnx"));
    assert_non_null(strstr(err.msg, "models install"));

    /* Named explicitly, the engine refuses with the same reason (no silent fallback). */
    ft_assert_refused("insightface", dir, 1, &err);
    free(dir);
}

/* buffalo_l present but its detector unreadable: the backend opens buffalo_s instead. */
static void test_pack_fallback(void **state)
{
    (void)state;
    char *dir = new_models_dir(true);
    ft_link_standin(dir, "buffalo_s");
    link_file(dir, "buffalo_l", "2d106det.onnx");
    link_file(dir, "buffalo_l", "w600k_r50.onnx");
    char bad[4400];
    snprintf(bad, sizeof(bad), "%s/buffalo_l/det_10g.onnx", dir);
    write_file(bad, "not an onnx file", 16);
    struct pho_face_engine *fe = open_engine(dir, true);
    assert_string_equal(pho_face_engine_embed_model(fe), "arcface_mbf-512");
    pho_face_engine_close(fe);

    /* With no other pack, the refusal says what is wrong with that file. */
    char *alone = new_models_dir(true);
    link_file(alone, "buffalo_l", "2d106det.onnx");
    link_file(alone, "buffalo_l", "w600k_r50.onnx");
    snprintf(bad, sizeof(bad), "%s/buffalo_l/det_10g.onnx", alone);
    write_file(bad, "not an onnx file", 16);
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.backend = "insightface";
    fo.models_dir = alone;
    fo.trust = 1;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_face_engine_open(&fe, &fo, &err), PHO_EBACKEND);
    assert_non_null(strstr(err.msg, "det_10g.onnx"));
    free(alone);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scrfd_strides),
        cmocka_unit_test(test_scrfd_anchor_colours),
        cmocka_unit_test(test_scrfd_bind_by_shape),
        cmocka_unit_test(test_lmk106_standin_and_crop),
        cmocka_unit_test(test_lmk106_eye_mapping),
        cmocka_unit_test(test_eye_state_and_yaw),
        cmocka_unit_test(test_analyze_letterbox_nms_106),
        cmocka_unit_test(test_analyze_rgb_order),
        cmocka_unit_test(test_dense_landmarks),
        cmocka_unit_test(test_analyze_two_threads),
        cmocka_unit_test(test_embeddings),
        cmocka_unit_test(test_probe_messages),
        cmocka_unit_test(test_pack_fallback),
    };
    return T_RUN_GROUP(tests, setup, teardown);
}
