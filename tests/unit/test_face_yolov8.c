/* SPDX-License-Identifier: MIT */
/*
 * The yolov8 backend against the synthetic YOLOv8n-face stand-in
 * (tools/models/make_standins.py), whose output is a closed-form function of
 * its input, so expectations are computed by hand from the generator's
 * formulas and standins.json: decoding of every stride's columns, the
 * letterbox mapping on a non-square photo and NMS, RGB order (the
 * original's BGR mistake must not come back), FaceMesh eyes on a real face
 * framed by a stand-in detection, two threads, no embeddings, and probe
 * messages.
 */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/facetest.h"
#include "face/stages.h"
#include "face/yolo.h"
#include "pho/face.h"
#include "pho/image.h"
#include "pho/infer.h"
#include "pho/models.h"
#include "pho/swap.h"

static struct ft_sandbox sb;

/* The generator's keypoint offsets (stride units) and the lit score sigmoid(16 - 8). */
static const float kps_d[10] = { -0.5f, -0.25f,  0.5f,  -0.25f, 0.0f,
                                 0.25f, -0.375f, 0.75f, 0.375f, 0.75f };
static const float score_lit = 0.9996646498695336f;

/* Links the shipped models except @skip, and the stand-in detector unless @no_det. */
static void populate(const char *dir, const char *skip, bool no_det)
{
    ft_link_shipped(dir, skip);
    if (!no_det)
        ft_link_standin(dir, "yolov8n-face.onnx");
}

static char *new_models_dir(const char *skip, bool no_det)
{
    char *dir = ft_sandbox_dir(&sb);
    populate(dir, skip, no_det);
    return dir;
}

static int setup(void **state)
{
    (void)state;
    if (ft_sandbox_setup(&sb, "yolov8n-face.onnx"))
        return -1;
    populate(sb.models, NULL, false);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ft_sandbox_teardown(&sb);
    return 0;
}

/* ---- decoding, straight on the stand-in ---- */

static void test_decode_strides(void **state)
{
    (void)state;
    /* standins.json: 640x640 black, white square x [256,384), y [192,320), input pixel / 255. */
    float *t = ft_planes(640, 256, 192, 384, 320, 1.0f);
    struct pho_tensor out;
    ft_run_standin(&sb, "yolov8n_face", t, 640, &out, 1);
    size_t n = pho_face__yolo_anchors(&out);
    assert_int_equal(n, 8400);

    /* Per stride: its columns, how many are lit, the first one and its box (cx, cy, w, h). */
    static const struct {
        int stride;
        size_t col0, col1, lit, first;
        float cxcywh[4];
    } want[3] = {
        { 8, 0, 6400, 256, 1952, { 260, 196, 16, 24 } },
        { 16, 6400, 8000, 64, 6896, { 264, 200, 32, 48 } },
        { 32, 8000, 8400, 16, 8128, { 272, 208, 64, 96 } },
    };
    struct face_det *d = calloc(n, sizeof(*d));
    size_t total = pho_face__yolo_decode(out.data, n, 0.5f, NULL, 0);
    assert_int_equal(total, 256 + 64 + 16);
    assert_int_equal(pho_face__yolo_decode(out.data, n, 0.5f, d, total), total);
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        size_t lit = 0;
        for (size_t c = want[i].col0; c < want[i].col1; c++)
            lit += out.data[4 * n + c] >= 0.5f;
        assert_int_equal(lit, want[i].lit);
        assert_true(out.data[4 * n + want[i].first - 1] < 0.5f);
        assert_float_equal(out.data[4 * n + want[i].first], score_lit, 1e-5);
        /* Decoded in column order: this stride's first lit column comes after the others'. */
        const struct face_det *f = &d[at];
        const float *b = want[i].cxcywh;
        int s = want[i].stride;
        assert_float_equal(f->x0, b[0] - b[2] / 2, 1e-3);
        assert_float_equal(f->y0, b[1] - b[3] / 2, 1e-3);
        assert_float_equal(f->x1, b[0] + b[2] / 2, 1e-3);
        assert_float_equal(f->y1, b[1] + b[3] / 2, 1e-3);
        assert_float_equal(f->score, score_lit, 1e-5);
        assert_int_equal(f->nkp, 5);
        for (int k = 0; k < 5; k++) {
            assert_float_equal(f->kp[k][0], b[0] + kps_d[2 * k] * s, 1e-3);
            assert_float_equal(f->kp[k][1], b[1] + kps_d[2 * k + 1] * s, 1e-3);
        }
        /* Every lit anchor's centre lies on the square, half a cell in from a cell corner. */
        for (size_t j = at; j < at + lit; j++) {
            float cx = (d[j].x0 + d[j].x1) / 2, cy = (d[j].y0 + d[j].y1) / 2;
            assert_float_equal(fmodf(cx, (float)s), s / 2.0f, 1e-3);
            assert_float_equal(fmodf(cy, (float)s), s / 2.0f, 1e-3);
            assert_true(cx > 256 && cx < 384 && cy > 192 && cy < 320);
            assert_float_equal(d[j].x1 - d[j].x0, 2.0f * s, 1e-3);
            assert_float_equal(d[j].y1 - d[j].y0, 3.0f * s, 1e-3);
        }
        at += lit;
    }

    /* Shapes read back in error messages, truncated safely. */
    char buf[32];
    assert_string_equal(pho_face__shape_str(&out, buf, sizeof(buf)), "[1,20,8400]");
    assert_string_equal(pho_face__shape_str(&out, buf, 6), "[1,20");

    /* Anything but [1, 20, N] is refused. */
    struct pho_tensor wrong = out;
    wrong.shape[1] = 16;
    assert_int_equal(pho_face__yolo_anchors(&wrong), 0);
    wrong = out;
    wrong.ndim = 2;
    assert_int_equal(pho_face__yolo_anchors(&wrong), 0);

    free(d);
    pho_tensor_release(&out);
    free(t);
}

/* ---- the backend ---- */

static struct pho_face_engine *open_engine_min(const char *dir, float min_face)
{
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.backend = "yolov8";
    fo.models_dir = dir;
    fo.trust = 1;
    fo.min_face = min_face;
    return ft_engine(&fo);
}

static struct pho_face_engine *open_engine(const char *dir)
{
    return open_engine_min(dir, 0.02f);
}

/*
 * What the backend must find for a white rectangle covering tensor pixels
 * [u0,u1) x [v0,v1) (multiples of 32: every cell wholly lit or dark, and the
 * grey 114 padding scores sigmoid(16 * 114/255 - 8) = 0.30, unlit): one
 * anchor per covered cell at every stride, centre half a cell in, 2s x 3s,
 * mapped back by x = (u - ox) / scale, then NMS at IoU 0.5 (equal scores:
 * upper, then left box first).
 */
static size_t reference(struct ft_ref *out, int u0, int v0, int u1, int v1, float scale, float ox,
                        float oy)
{
    size_t n = 0;
    for (int s = 8; s <= 32; s *= 2) {
        for (int y = v0; y < v1; y += s) {
            for (int x = u0; x < u1; x += s) {
                float cx = (float)x + 0.5f * s, cy = (float)y + 0.5f * s;
                struct ft_ref *r = &out[n++];
                r->x0 = (cx - s - ox) / scale;
                r->y0 = (cy - 1.5f * s - oy) / scale;
                r->x1 = (cx + s - ox) / scale;
                r->y1 = (cy + 1.5f * s - oy) / scale;
                for (int k = 0; k < 5; k++) {
                    r->kp[k][0] = (cx + kps_d[2 * k] * s - ox) / scale;
                    r->kp[k][1] = (cy + kps_d[2 * k + 1] * s - oy) / scale;
                }
            }
        }
    }
    return ft_ref_nms(out, n, 0.5f);
}

/* 1280x960 -> scale 0.5, 80 px of padding above and below; the square [512,640) x [288,416)
 * lands on tensor [256,320) x [224,288). (Small enough that all its 84 anchors fit under the
 * backend's cap on faces per photo: at IoU 0.5 none of the stand-in's boxes suppresses
 * another.) */
enum { W = 1280, H = 960, SQ_X0 = 512, SQ_Y0 = 288, SQ_X1 = 640, SQ_Y1 = 416 };

/* Against the reference for a square on tensor [u0,u0+64) x [v0,v0+64), offset (ox, oy). */
static void check_reference_at(const struct pho_face_list *fl, int u0, int v0, float ox, float oy)
{
    struct ft_ref *want = calloc(1024, sizeof(*want));
    size_t n = reference(want, u0, v0, u0 + 64, v0 + 64, 0.5f, ox, oy);
    ft_check_ref(fl, want, n, score_lit);
    for (size_t i = 0; i < n; i++) {
        const struct pho_face *f = &fl->faces[i];
        /* No identity model: never an embedding. */
        assert_int_equal(f->embed_dim, 0);
        /* The stand-in's boxes overlap as a lattice: a mouth another box covers has no
         * smile score (src/face/occlusion.c); every other one has. */
        if (pho_face__mouth_covered(fl, i))
            assert_true(isnan(f->smile));
        else
            assert_true(f->smile >= 0 && f->smile <= 1);
    }
    free(want);
}

static void check_faces_match_reference(const struct pho_face_list *fl)
{
    check_reference_at(fl, 256, 224, 0, 80);
}

static void test_analyze_letterbox_nms(void **state)
{
    (void)state;
    struct pho_face_engine *fe = open_engine(sb.models);
    assert_string_equal(pho_face_engine_backend(fe), "yolov8");
    assert_int_equal(pho_face_engine_caps(fe), PHO_FACE_CAP_DETECT | PHO_FACE_CAP_LANDMARKS |
                                                       PHO_FACE_CAP_EYES | PHO_FACE_CAP_SMILE);
    assert_int_equal(pho_face_engine_metric(fe), PHO_FACE_METRIC_NONE);
    assert_string_equal(pho_face_engine_embed_model(fe), "");
    assert_true(isnan(pho_face_engine_same_person(fe)));

    struct pho_image *img = ft_canvas(W, H);
    struct pho_face_list fl = { 0 };
    ft_analyze(fe, img, &fl);
    assert_int_equal(fl.count, 0);
    pho_face_list_release(&fl);
    ft_paint(img, SQ_X0, SQ_Y0, SQ_X1, SQ_Y1, 255, 255, 255);
    ft_analyze(fe, img, &fl);
    check_faces_match_reference(&fl);
    pho_face_list_release(&fl);

    /* Portrait: the padding is at the sides. The square [288,416) x [512,640) lands on tensor
     * [224,288) x [256,320). */
    struct pho_image *tall = ft_canvas(H, W);
    ft_paint(tall, SQ_Y0, SQ_X0, SQ_Y1, SQ_X1, 255, 255, 255);
    ft_analyze(fe, tall, &fl);
    check_reference_at(&fl, 224, 256, 80, 0);
    pho_face_list_release(&fl);
    pho_image_free(tall);

    struct pho_face_stats st;
    pho_face_engine_stats(fe, &st);
    assert_int_equal(st.images, 3);
    assert_true(st.detect > 0);
    pho_image_free(img);
    pho_face_engine_close(fe);
}

/*
 * The stand-in scores the red channel only. Red squares must be found and
 * blue or green ones not; fed BGR (the original's mistake), the blue square
 * would be the one found.
 */
static void test_rgb_order(void **state)
{
    (void)state;
    struct pho_face_engine *fe = open_engine(sb.models);
    const uint8_t colours[3][3] = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 } };
    for (int c = 0; c < 3; c++) {
        struct pho_image *img = ft_canvas(W, H);
        ft_paint(img, SQ_X0, SQ_Y0, SQ_X1, SQ_Y1, colours[c][0], colours[c][1], colours[c][2]);
        struct pho_face_list fl = { 0 };
        ft_analyze(fe, img, &fl);
        if (c == 0)
            check_faces_match_reference(&fl);
        else
            assert_int_equal(fl.count, 0);
        pho_face_list_release(&fl);
        pho_image_free(img);
    }
    pho_face_engine_close(fe);
}

/*
 * The letterbox pads with Ultralytics' grey 114, not black. 1280x928 scales
 * by 0.5 with 88 rows of padding on top, so stride-32 cell row 2 (tensor rows
 * 64-95) is 24 rows of padding over 8 of image. With a red strip along the
 * image's top edge those cells average (24 * 114/255 + 8) / 32 = 0.585 red,
 * score sigmoid(16 * 0.585 - 8) = 0.80 and are found (128 px wide boxes);
 * over black padding they would average 0.25 and stay dark.
 */
static void test_pad_value(void **state)
{
    (void)state;
    struct pho_face_engine *fe = open_engine(sb.models);
    struct pho_image *img = ft_canvas(1280, 928);
    ft_paint(img, 512, 0, 640, 16, 255, 0, 0);
    struct pho_face_list fl = { 0 };
    ft_analyze(fe, img, &fl);
    size_t wide = 0;
    for (size_t i = 0; i < fl.count; i++)
        wide += fabsf((fl.faces[i].box[2] - fl.faces[i].box[0]) * 1280 - 128) < 0.1f;
    assert_int_equal(wide, 2);
    pho_face_list_release(&fl);
    pho_image_free(img);
    pho_face_engine_close(fe);
}

/*
 * FaceMesh eyes on a real face: the portrait is shrunk so its face is about
 * 96 px and pasted with the face centred on stride-32 cell (10, 10) of a
 * 640x640 canvas. Skin is red enough to light the stand-in, whose detection
 * at that cell is a 64x96 box centred on the face: the mesh's 1.5x crop of it
 * frames the face as MediaPipe would, with the detector's eye points as the
 * level hint. (Other cells on the face light too; only that box is checked.)
 */
static void check_real_eyes(struct pho_face_engine *fe, const char *rel, uint32_t orig_w,
                            uint32_t orig_h, float face_cx, float face_cy, float face_side,
                            int want_closed)
{
    float k = 96.0f / face_side;
    uint32_t max_size = (uint32_t)lroundf((float)(orig_w > orig_h ? orig_w : orig_h) * k);
    struct pho_image *photo = ft_load(rel, max_size, false);
    k = (float)photo->width / (float)orig_w;
    struct pho_image *img = ft_canvas(640, 640);
    int ox = (int)lroundf(336 - face_cx * k), oy = (int)lroundf(336 - face_cy * k);
    for (uint32_t y = 0; y < photo->height; y++) {
        int ty = oy + (int)y;
        if (ty < 0 || ty >= 640)
            continue;
        for (uint32_t x = 0; x < photo->width; x++) {
            int tx = ox + (int)x;
            if (tx >= 0 && tx < 640)
                memcpy(img->pixels + (size_t)ty * img->stride + (size_t)tx * 3,
                       photo->pixels + (size_t)y * photo->stride + (size_t)x * 3, 3);
        }
    }
    struct pho_face_list fl = { 0 };
    ft_analyze(fe, img, &fl);
    const struct pho_face *hit = NULL;
    assert_true(fl.count > 0);
    for (size_t i = 0; i < fl.count; i++) {
        const struct pho_face *f = &fl.faces[i];
        assert_float_equal((f->box[2] - f->box[0]) * 640, 64, 1e-2);
        float cx = (f->box[0] + f->box[2]) * 320, cy = (f->box[1] + f->box[3]) * 320;
        if (fabsf(cx - 336) < 1 && fabsf(cy - 336) < 1 &&
            fabsf((f->box[2] - f->box[0]) * 640 - 64) < 1)
            hit = f;
    }
    assert_non_null(hit);
    assert_true(hit->has_eyes);
    assert_false(isnan(hit->ear_l) || isnan(hit->ear_r));
    assert_int_equal(hit->eyes_closed, want_closed);
    /* The detector's five points are kept; the mesh only adds eyes, yaw and what they imply. */
    assert_true(hit->has_pts5);
    assert_float_equal(hit->pts5[2][0] * 640, 336, 1e-2);
    assert_float_equal(hit->pts5[2][1] * 640, 336 + 0.25 * 32, 1e-2);
    assert_false(isnan(hit->yaw));
    pho_face_list_release(&fl);
    pho_image_free(img);
    pho_image_free(photo);
}

static void test_mesh_eyes_on_real_face(void **state)
{
    (void)state;
    if (!td_available())
        skip();
    /* Skin lights the stand-in's cells at every stride; asking for faces of at least 64 px
     * (0.1 of 640) keeps only the stride-32 boxes, which also tests min_face. */
    struct pho_face_engine *fe = open_engine_min(sb.models, 0.1f);
    /* Face boxes measured with the mediapipe backend (`photo-organizer faces -b mediapipe`). */
    check_real_eyes(fe, "faces/eyes/woman_eyes_open.png", 430, 481, 273, 259.5f, 264, 0);
    check_real_eyes(fe, "faces/eyes/woman_eyes_closed.jpeg", 700, 934, 380, 516.5f, 384, 1);
    pho_face_engine_close(fe);
}

static void test_two_threads(void **state)
{
    (void)state;
    struct pho_face_engine *fe = open_engine(sb.models);
    struct pho_image *img = ft_canvas(W, H);
    ft_paint(img, SQ_X0, SQ_Y0, SQ_X1, SQ_Y1, 255, 255, 255);
    ft_paint(img, 64, 64, 192, 192, 255, 0, 0);
    ft_assert_two_threads_agree(fe, img);
    pho_image_free(img);
    pho_face_engine_close(fe);
}

/* Face swap needs to know who is who: yolov8 has no identity model, and the repair says so
 * (naming the backends that can) before it looks at a pixel. */
static void test_face_swap_refused(void **state)
{
    (void)state;
    struct pho_face_engine *fe = open_engine(sb.models);
    struct pho_image *img = ft_canvas(W, H);
    const struct pho_image *donors[1] = { img };
    struct pho_swap_result res;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_swap_fix_eyes(&res, fe, img, donors, NULL, 1, NULL, &err), PHO_EBACKEND);
    assert_non_null(strstr(err.msg, "face swap"));
    assert_non_null(strstr(err.msg, "mediapipe"));
    assert_null(res.image);
    assert_int_equal(res.nfaces, 0);
    pho_swap_result_release(&res);
    pho_image_free(img);
    pho_face_engine_close(fe);
}

static int probe(const char *dir, struct pho_err *err)
{
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.models_dir = dir;
    fo.trust = 1;
    pho_err_clear(err);
    return pho_face_backend_probe("yolov8", &fo, err);
}

static void test_probe_messages(void **state)
{
    (void)state;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(probe(sb.models, &err), 0);

    /* No detector: which file, where, and what it must look like. */
    char *dir = new_models_dir(NULL, true);
    assert_int_equal(probe(dir, &err), PHO_EBACKEND);
    assert_non_null(strstr(err.msg, "yolov8n-face.onnx"));
    assert_non_null(strstr(err.msg, "[1,20,8400]"));
    free(dir);

    /* The shipped mesh and smile models are needed too. */
    dir = new_models_dir("face_landmark.onnx", false);
    assert_int_equal(probe(dir, &err), PHO_EBACKEND);
    assert_non_null(strstr(err.msg, "face_landmark.onnx"));
    assert_non_null(strstr(err.msg, "models install"));
    free(dir);
    dir = new_models_dir("emotion.onnx", false);
    assert_int_equal(probe(dir, &err), PHO_EBACKEND);
    assert_non_null(strstr(err.msg, "emotion.onnx"));

    /* Named explicitly, the engine refuses rather than falling back. */
    ft_assert_refused("yolov8", dir, 1, &err);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_strides),
        cmocka_unit_test(test_analyze_letterbox_nms),
        cmocka_unit_test(test_rgb_order),
        cmocka_unit_test(test_pad_value),
        cmocka_unit_test(test_mesh_eyes_on_real_face),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_face_swap_refused),
        cmocka_unit_test(test_probe_messages),
    };
    return T_RUN_GROUP(tests, setup, teardown);
}
