/* SPDX-License-Identifier: MIT */
/*
 * The face engine (src/face/engine.c): the backend registry and its order,
 * "auto" selection and what it says about every backend it skips, named
 * backends that cannot run, the batch API giving exactly what single calls
 * give, the per-face sharpness every backend gets, distances and counters.
 * The backends themselves have their own test binaries.
 */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/facetest.h"
#include "pho/face.h"
#include "pho/image.h"
#include "pho/log.h"

static const char *models_dir;
static char *empty_dir;

/* Log lines of the "face" domain, captured while a test runs. */
static char log_buf[8192];

static void capture(void *ud, enum pho_log_level level, const char *domain, const char *msg)
{
    (void)ud;
    (void)level;
    if (strcmp(domain, "face"))
        return;
    size_t at = strlen(log_buf);
    snprintf(log_buf + at, sizeof(log_buf) - at, "%s\n", msg);
}

static int setup(void **state)
{
    (void)state;
    models_dir = fixture_models_dir();
    empty_dir = make_tempdir();
    return models_dir && empty_dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rm_rf(empty_dir);
    free(empty_dir);
    return 0;
}

/* As the organizer decodes a photo for faces: long side 1600..3199. */
static struct pho_image *load(const char *rel)
{
    return ft_load(rel, 1600, true);
}

static void test_registry_order(void **state)
{
    (void)state;
    static const char *const expected[] = { "mediapipe", "face_recognition", "facenet",
                                            "insightface", "yolov8" };
    void *it = NULL;
    size_t n = 0;
    const struct pho_face_backend_info *info;
    while ((info = pho_face_backend_iterate(&it))) {
        assert_true(n < PHO_ARRAY_LEN(expected));
        assert_string_equal(info->name, expected[n]);
        assert_true(info->description && strlen(info->description) > 10);
        assert_true(info->caps & PHO_FACE_CAP_DETECT);
        assert_true(info->caps & PHO_FACE_CAP_EYES);
        assert_non_null(info->models[0]);
        n++;
    }
    assert_int_equal(n, PHO_ARRAY_LEN(expected));
}

static void test_unknown_backend(void **state)
{
    (void)state;
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.backend = "opencv";
    struct pho_face_engine *fe = (void *)1;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_face_engine_open(&fe, &fo, &err), PHO_EINVAL);
    assert_null(fe);
    assert_non_null(strstr(err.msg, "'opencv'"));
    assert_non_null(strstr(err.msg, "insightface"));
    assert_int_equal(pho_face_backend_probe("opencv", &fo, &err), PHO_EINVAL);
}

/* A named backend without its models: an error naming it and the cure, never a fallback. */
static void test_named_backend_cannot_run(void **state)
{
    (void)state;
    static const char *const names[] = { "mediapipe", "facenet", "insightface", "yolov8" };
    for (size_t i = 0; i < PHO_ARRAY_LEN(names); i++) {
        struct pho_err err = PHO_ERR_INIT;
        ft_assert_refused(names[i], empty_dir, 0, &err);
        printf("# %s: %s\n", names[i], err.msg);
        /* The cure, with the folder it was looked for in: the models command for shipped
         * models, where to unzip InsightFace's packs, where to put a YOLOv8-face export. */
        assert_non_null(strstr(err.msg, empty_dir));
        assert_true(strstr(err.msg, "models install") || strstr(err.msg, "unzip buffalo_l.zip") ||
                    strstr(err.msg, "put it at"));
        assert_null(strstr(err.msg, "face: face:"));
        struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
        fo.backend = names[i];
        fo.models_dir = empty_dir;
        struct pho_err perr = PHO_ERR_INIT;
        assert_int_equal(pho_face_backend_probe(names[i], &fo, &perr), PHO_EBACKEND);
    }
}

static void test_auto_picks_mediapipe(void **state)
{
    (void)state;
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.models_dir = models_dir;
    struct pho_face_engine *fe = NULL;
    struct pho_err err = PHO_ERR_INIT;
    log_buf[0] = 0;
    pho_log_set_handler(capture, NULL, PHO_LOG_INFO);
    int rc = pho_face_engine_open(&fe, &fo, &err);
    pho_log_set_handler(NULL, NULL, PHO_LOG_WARN);
    if (rc)
        fail_msg("%s", err.msg);
    assert_string_equal(pho_face_engine_backend(fe), "mediapipe");
    assert_string_equal(pho_face_engine_device(fe), "CPU");
    assert_string_equal(pho_face_engine_embed_model(fe), "mobilefacenet-192");
    assert_int_equal(pho_face_engine_metric(fe), PHO_FACE_METRIC_COSINE);
    float same = pho_face_engine_same_person(fe);
    assert_true(same > 0 && same < 1);
    assert_non_null(strstr(log_buf, "auto: using the mediapipe backend on CPU"));
    pho_face_engine_close(fe);
}

/*
 * Without mediapipe's models auto moves on to face_recognition (dlib's
 * landmarks come from Debian's libdlib-data, its descriptor only matters
 * when embeddings are asked for), saying why it skipped mediapipe; with
 * embeddings asked for, nothing can run and the error says what to do.
 */
static void test_auto_fallback_and_failure(void **state)
{
    (void)state;
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.models_dir = empty_dir;
    fo.encode = false;
    struct pho_face_engine *fe = NULL;
    struct pho_err err = PHO_ERR_INIT;
    log_buf[0] = 0;
    pho_log_set_handler(capture, NULL, PHO_LOG_INFO);
    int rc = pho_face_engine_open(&fe, &fo, &err);
    pho_log_set_handler(NULL, NULL, PHO_LOG_WARN);
    /* TAP: every line of the log as a comment. */
    for (const char *l = log_buf; *l;) {
        size_t len = strcspn(l, "\n");
        printf("# log: %.*s\n", (int)len, l);
        l += len + (l[len] == '\n');
    }
    if (rc)
        fail_msg("%s", err.msg);
    assert_string_equal(pho_face_engine_backend(fe), "face_recognition");
    assert_non_null(strstr(log_buf, "auto: mediapipe skipped"));
    pho_face_engine_close(fe);

    fo.encode = true;
    fe = NULL;
    assert_int_equal(pho_face_engine_open(&fe, &fo, &err), PHO_EBACKEND);
    assert_null(fe);
    printf("# %s\n", err.msg);
    assert_non_null(strstr(err.msg, "no face backend can run"));
    assert_non_null(strstr(err.msg, "photo-organizer models install"));
}

static bool same_list(const struct pho_face_list *a, const struct pho_face_list *b)
{
    if (a->count != b->count || a->image_w != b->image_w || a->image_h != b->image_h)
        return false;
    for (size_t i = 0; i < a->count; i++) {
        const struct pho_face *x = &a->faces[i], *y = &b->faces[i];
        /* Bitwise: results must not depend on which photos share a model batch. */
        if (memcmp(x->box, y->box, sizeof(x->box)) || x->eyes_closed != y->eyes_closed ||
            memcmp(x->pts5, y->pts5, sizeof(x->pts5)) ||
            memcmp(x->eye_l, y->eye_l, sizeof(x->eye_l)) ||
            memcmp(x->eye_r, y->eye_r, sizeof(x->eye_r)) ||
            memcmp(&x->ear_l, &y->ear_l, sizeof(x->ear_l)) ||
            memcmp(&x->ear_r, &y->ear_r, sizeof(x->ear_r)) || x->embed_dim != y->embed_dim ||
            memcmp(x->embed, y->embed, sizeof(float) * x->embed_dim) ||
            !(x->sharpness == y->sharpness) || !(x->smile == y->smile || isnan(x->smile)))
            return false;
    }
    return true;
}

/* The batch call is what the organizer's face pipeline uses: it must equal single calls. */
static void test_batch_equals_single(void **state)
{
    (void)state;
    static const char *const rels[] = { "faces/groups/two_people.jpg", "faces/eyes/woman_wink.jpeg",
                                        "faces/groups/dogs_no_people.jpg" };
    enum { N = PHO_ARRAY_LEN(rels) };
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.models_dir = models_dir;
    struct pho_face_engine *fe = ft_engine(&fo);
    struct pho_err err = PHO_ERR_INIT;
    struct pho_image *imgs[N];
    struct pho_face_list single[N], batch[N];
    size_t faces = 0;
    for (size_t i = 0; i < N; i++) {
        imgs[i] = load(rels[i]);
        if (pho_face_analyze(fe, imgs[i], &single[i], &err))
            fail_msg("%s: %s", rels[i], err.msg);
        faces += single[i].count;
    }
    assert_true(single[0].count >= 2 && single[1].count == 1 && single[2].count == 0);
    if (pho_face_analyze_batch(fe, (const struct pho_image *const *)imgs, N, batch, &err))
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < N; i++) {
        if (!same_list(&single[i], &batch[i]))
            fail_msg("%s: batch result differs from the single call", rels[i]);
        /* Every backend's faces get a sharpness from the engine. */
        for (size_t k = 0; k < batch[i].count; k++)
            assert_true(isfinite(batch[i].faces[k].sharpness) && batch[i].faces[k].sharpness > 0);
    }
    struct pho_face_stats st;
    pho_face_engine_stats(fe, &st);
    assert_int_equal(st.images, 2 * N);
    assert_int_equal(st.faces, 2 * faces);
    assert_true(st.detect > 0 && st.landmarks > 0 && st.embed > 0);

    /* One empty image fails the batch, and every output is left released. */
    struct pho_image empty = { 0 };
    const struct pho_image *bad[2] = { imgs[1], &empty };
    struct pho_face_list outs[2];
    assert_int_equal(pho_face_analyze_batch(fe, bad, 2, outs, &err), PHO_EINVAL);
    assert_null(outs[0].faces);
    assert_null(outs[1].faces);
    assert_int_equal(pho_face_analyze(fe, &empty, &outs[0], &err), PHO_EINVAL);

    for (size_t i = 0; i < N; i++) {
        pho_face_list_release(&single[i]);
        pho_face_list_release(&batch[i]);
        pho_image_free(imgs[i]);
    }
    pho_face_list_release(NULL);
    pho_face_engine_close(fe);
    pho_face_engine_close(NULL);
}

/*
 * Each face's eyelid points lie in its own box. The crowd photo has detections the mesh finds
 * no face in ahead of real ones, which once shifted eyelids onto the wrong faces.
 */
static void test_eyes_in_their_box(void **state)
{
    (void)state;
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.models_dir = models_dir;
    fo.encode = false;
    struct pho_face_engine *fe = ft_engine(&fo);
    struct pho_face_list fl;
    ft_analyze_photo(fe, "faces/groups/crowd_phillies.jpg", 0, false, &fl);
    size_t with_eyes = 0, without = 0;
    for (size_t i = 0; i < fl.count; i++) {
        const struct pho_face *f = &fl.faces[i];
        if (!f->has_eyes) {
            without++;
            continue;
        }
        with_eyes++;
        /* A quarter of the box's size of slack: boxes are tight on some faces. */
        float mx = (f->box[2] - f->box[0]) / 4, my = (f->box[3] - f->box[1]) / 4;
        for (int k = 0; k < 6; k++) {
            const float *pt[2] = { f->eye_l[k], f->eye_r[k] };
            for (int e = 0; e < 2; e++) {
                if (pt[e][0] < f->box[0] - mx || pt[e][0] > f->box[2] + mx ||
                    pt[e][1] < f->box[1] - my || pt[e][1] > f->box[3] + my)
                    fail_msg("face %zu: eye point %.3f,%.3f outside its box %.3f,%.3f-%.3f,%.3f", i,
                             (double)pt[e][0], (double)pt[e][1], (double)f->box[0],
                             (double)f->box[1], (double)f->box[2], (double)f->box[3]);
            }
        }
    }
    /* The case this guards: faces without eyes among faces with them. */
    assert_true(with_eyes >= 5 && without >= 1);
    pho_face_list_release(&fl);
    pho_face_engine_close(fe);
}

/* A blurred copy of a portrait has a visibly less sharp face. */
static void test_face_sharpness_ranks_blur(void **state)
{
    (void)state;
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.models_dir = models_dir;
    fo.encode = false;
    struct pho_face_engine *fe = ft_engine(&fo);
    struct pho_err err = PHO_ERR_INIT;
    struct pho_image *img = load("faces/eyes/woman_eyes_open.png");
    struct pho_image *soft = NULL;
    assert_int_equal(pho_image_new(&soft, img->width, img->height, &err), 0);
    /* 9x9 box blur, rows then columns, edges clamped. */
    for (int pass = 0; pass < 2; pass++) {
        const struct pho_image *src = pass ? soft : img;
        struct pho_image *tmp = NULL;
        assert_int_equal(pho_image_new(&tmp, img->width, img->height, &err), 0);
        for (uint32_t y = 0; y < img->height; y++)
            for (uint32_t x = 0; x < img->width; x++)
                for (int c = 0; c < 3; c++) {
                    int acc = 0;
                    for (int d = -4; d <= 4; d++) {
                        int64_t xx = pass ? x : (int64_t)x + d, yy = pass ? (int64_t)y + d : y;
                        xx = xx < 0 ? 0 : xx >= img->width ? img->width - 1 : xx;
                        yy = yy < 0 ? 0 : yy >= img->height ? img->height - 1 : yy;
                        acc += src->pixels[(size_t)yy * src->stride + (size_t)xx * 3 + c];
                    }
                    tmp->pixels[(size_t)y * tmp->stride + (size_t)x * 3 + c] = (uint8_t)(acc / 9);
                }
        pho_image_free(soft);
        soft = tmp;
    }
    struct pho_face_list a, b;
    if (pho_face_analyze(fe, img, &a, &err) || pho_face_analyze(fe, soft, &b, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(a.count, 1);
    assert_int_equal(b.count, 1);
    printf("# face sharpness: original %.1f, blurred %.1f\n", (double)a.faces[0].sharpness,
           (double)b.faces[0].sharpness);
    assert_true(b.faces[0].sharpness < 0.5f * a.faces[0].sharpness);
    pho_face_list_release(&a);
    pho_face_list_release(&b);
    pho_image_free(img);
    pho_image_free(soft);
    pho_face_engine_close(fe);
}

/* Dense landmarks only on request: 468 mesh points (mediapipe), 68 (face_recognition). */
static void test_dense_landmarks(void **state)
{
    (void)state;
    static const struct {
        const char *backend;
        size_t points;
    } cases[] = { { "mediapipe", 468 }, { "face_recognition", 68 } };
    struct pho_image *img = load("faces/groups/two_people.jpg");
    for (size_t c = 0; c < PHO_ARRAY_LEN(cases); c++) {
        for (int dense = 0; dense < 2; dense++) {
            struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
            fo.backend = cases[c].backend;
            fo.models_dir = models_dir;
            fo.encode = false;
            fo.dense = dense;
            struct pho_face_engine *fe = NULL;
            struct pho_err err = PHO_ERR_INIT;
            struct pho_face_list fl;
            if (pho_face_engine_open(&fe, &fo, &err) || pho_face_analyze(fe, img, &fl, &err))
                fail_msg("%s: %s", cases[c].backend, err.msg);
            assert_int_equal(fl.count, 2);
            if (!dense) {
                assert_null(fl.dense);
                assert_int_equal(fl.dense_per_face, 0);
            } else {
                assert_int_equal(fl.dense_per_face, cases[c].points);
                for (size_t i = 0; i < fl.count; i++) {
                    /* Every point lies near its own face: within the box grown by half. */
                    const float *b = fl.faces[i].box;
                    float mx = (b[2] - b[0]) / 2, my = (b[3] - b[1]) / 2;
                    for (size_t k = 0; k < fl.dense_per_face; k++) {
                        const float *p = fl.dense[i * fl.dense_per_face + k];
                        if (!(p[0] > b[0] - mx && p[0] < b[2] + mx && p[1] > b[1] - my &&
                              p[1] < b[3] + my))
                            fail_msg("%s: face %zu point %zu (%f, %f) outside its face",
                                     cases[c].backend, i, k, (double)p[0], (double)p[1]);
                    }
                }
            }
            pho_face_list_release(&fl);
            pho_face_engine_close(fe);
        }
    }
    pho_image_free(img);
}

/*
 * yolov8 makes no embeddings: a feature that needs them (identity, face swap)
 * is refused with the backends that could do it. The yolov8 weights are
 * user-supplied, so its synthetic stand-in sits beside the shipped models.
 */
static void test_require_caps(void **state)
{
    (void)state;
    char *dir = ft_models_folder(NULL, NULL);
    ft_link_standin(dir, "yolov8n-face.onnx");

    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.backend = "yolov8";
    fo.models_dir = dir;
    fo.trust = 1;
    struct pho_face_engine *fe = ft_engine(&fo);
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(
            pho_face_engine_require(fe, PHO_FACE_CAP_DETECT | PHO_FACE_CAP_EYES, "x", &err), 0);
    assert_int_equal(pho_face_engine_require(fe, PHO_FACE_CAP_ENCODE, "face swap", &err),
                     PHO_EBACKEND);
    printf("# %s\n", err.msg);
    assert_non_null(strstr(err.msg, "yolov8 backend cannot compute identity embeddings"));
    assert_non_null(strstr(err.msg, "face swap"));
    assert_non_null(strstr(err.msg, "mediapipe"));
    assert_non_null(strstr(err.msg, "insightface (not installed)"));
    pho_face_engine_close(fe);

    fo.backend = "mediapipe";
    fe = ft_engine(&fo);
    assert_int_equal(pho_face_engine_require(fe, PHO_FACE_CAP_ENCODE, "face swap", &err), 0);
    pho_face_engine_close(fe);
    rm_rf(dir);
    free(dir);
}

static void test_distance(void **state)
{
    (void)state;
    const float a[3] = { 1, 0, 0 }, b[3] = { 0, 2, 0 }, c[3] = { 3, 4, 0 }, z[3] = { 0, 0, 0 };
    assert_float_equal(pho_face_distance(PHO_FACE_METRIC_COSINE, a, a, 3), 0, 1e-6);
    assert_float_equal(pho_face_distance(PHO_FACE_METRIC_COSINE, a, b, 3), 1, 1e-6);
    assert_float_equal(pho_face_distance(PHO_FACE_METRIC_COSINE, a, c, 3), 1 - 0.6, 1e-6);
    assert_true(isnan(pho_face_distance(PHO_FACE_METRIC_COSINE, a, z, 3)));
    assert_float_equal(pho_face_distance(PHO_FACE_METRIC_EUCLIDEAN, z, c, 3), 5, 1e-6);
    assert_true(isnan(pho_face_distance(PHO_FACE_METRIC_NONE, a, c, 3)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_order),
        cmocka_unit_test(test_unknown_backend),
        cmocka_unit_test(test_named_backend_cannot_run),
        cmocka_unit_test(test_auto_picks_mediapipe),
        cmocka_unit_test(test_auto_fallback_and_failure),
        cmocka_unit_test(test_batch_equals_single),
        cmocka_unit_test(test_eyes_in_their_box),
        cmocka_unit_test(test_face_sharpness_ranks_blur),
        cmocka_unit_test(test_dense_landmarks),
        cmocka_unit_test(test_require_caps),
        cmocka_unit_test(test_distance),
    };
    return T_RUN_GROUP(tests, setup, teardown);
}
