/* SPDX-License-Identifier: MIT */
/*
 * The facenet backend on the labelled test photos: MTCNN face counts on
 * portraits, group photos and bursts (and none on the dogs), five points that
 * sit where a face has them, real eye openness from the mesh (the original
 * invented constant eyes), smiles, MobileFaceNet identities, the
 * InceptionResnetV1 path with its synthetic stand-in (standardised pixels, not
 * raw 0..255), determinism across threads, the pyramid's minimum face, and
 * actionable probe messages.
 */
#include "core/common.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/facetest.h"
#include "face/backend.h"
#include "face/stages.h"
#include "pho/face.h"
#include "pho/image.h"
#include "pho/infer.h"
#include "pho/models.h"

static struct pho_face_engine *fe; /* facenet on the shipped models, default options */
static const char *models_dir;
static const char *standin_dir;

static int setup(void **state)
{
    (void)state;
    models_dir = fixture_models_dir();
    standin_dir = fixture_standins_dir();
    return ft_engine_setup(&fe, "facenet", models_dir);
}

static int teardown(void **state)
{
    (void)state;
    pho_face_engine_close(fe);
    return 0;
}

/* At most 1600 px on the long side: the decode every expectation here was measured at. */
static struct pho_image *load(const char *rel)
{
    return ft_load(rel, 1600, false);
}

static void analyze_with(struct pho_face_engine *e, const char *rel, struct pho_face_list *out)
{
    ft_analyze_photo(e, rel, 1600, false, out);
}

static float dist2(const float a[2], const float b[2])
{
    return hypotf(a[0] - b[0], a[1] - b[1]);
}

/* ---- what the backend is ---- */

static void test_backend_info(void **state)
{
    (void)state;
    void *it = NULL;
    const struct pho_face_backend_info *bi, *found = NULL;
    while ((bi = pho_face_backend_iterate(&it)))
        if (!strcmp(bi->name, "facenet"))
            found = bi;
    assert_non_null(found);
    unsigned all = PHO_FACE_CAP_DETECT | PHO_FACE_CAP_LANDMARKS | PHO_FACE_CAP_EYES |
                   PHO_FACE_CAP_SMILE | PHO_FACE_CAP_ENCODE;
    assert_int_equal(found->caps, all);
    const char *want[] = { "mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet", "face_landmark",
                           "mobilefacenet" };
    for (size_t w = 0; w < PHO_ARRAY_LEN(want); w++) {
        bool listed = false;
        for (size_t i = 0; found->models[i]; i++)
            listed |= !strcmp(found->models[i], want[w]);
        assert_true(listed);
    }
    assert_string_equal(found->optional[0], "facenet_vggface2");
    assert_string_equal(found->optional[1], "iris");
    assert_null(found->optional[2]);

    assert_string_equal(pho_face_engine_backend(fe), "facenet");
    assert_int_equal(pho_face_engine_caps(fe), all);
    assert_string_equal(pho_face_engine_embed_model(fe), "mobilefacenet-192");
    assert_int_equal(pho_face_engine_metric(fe), PHO_FACE_METRIC_COSINE);
    assert_true(pho_face_engine_same_person(fe) > 0 && pho_face_engine_same_person(fe) < 2);
}

static void test_probe_messages(void **state)
{
    (void)state;
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    struct pho_err err = PHO_ERR_INIT;
    fo.models_dir = models_dir;
    assert_int_equal(pho_face_backend_probe("facenet", &fo, &err), 0);

    /* Nothing installed: the first net, where it goes and the command that installs it. */
    char *dir = make_tempdir();
    fo.models_dir = dir;
    assert_int_equal(pho_face_backend_probe("facenet", &fo, &err), PHO_EBACKEND);
    assert_non_null(strstr(err.msg, "mtcnn_pnet.onnx"));
    assert_non_null(strstr(err.msg, dir));
    assert_non_null(strstr(err.msg, "photo-organizer models install"));
    fo.backend = "facenet";
    struct pho_face_engine *e = NULL;
    assert_int_equal(pho_face_engine_open(&e, &fo, &err), PHO_EBACKEND);
    assert_null(e);
    assert_non_null(strstr(err.msg, "facenet backend cannot run"));
    assert_non_null(strstr(err.msg, "mtcnn_pnet.onnx"));
    rm_rf(dir);
    free(dir);

    /* Each required model is required: the embedder and the mesh too. */
    const char *each[] = { "mtcnn_onet.onnx", "face_landmark.onnx", "mobilefacenet.onnx" };
    for (size_t i = 0; i < PHO_ARRAY_LEN(each); i++) {
        dir = ft_models_folder(each[i], NULL);
        fo.models_dir = dir;
        assert_int_equal(pho_face_backend_probe("facenet", &fo, &err), PHO_EBACKEND);
        assert_non_null(strstr(err.msg, each[i]));
        rm_rf(dir);
        free(dir);
    }

    /* A truncated net fails its pinned size, unless only the contract is trusted. */
    dir = ft_models_folder("mtcnn_rnet.onnx", NULL);
    char src[4096], dst[4096];
    snprintf(src, sizeof(src), "%s/mtcnn_rnet.onnx", models_dir);
    snprintf(dst, sizeof(dst), "%s/mtcnn_rnet.onnx", dir);
    size_t len = 0;
    uint8_t *bytes = read_file(src, &len);
    assert_non_null(bytes);
    write_file(dst, bytes, len / 2);
    free(bytes);
    fo.models_dir = dir;
    assert_int_equal(pho_face_backend_probe("facenet", &fo, &err), PHO_EBACKEND);
    assert_non_null(strstr(err.msg, "mtcnn_rnet.onnx"));
    assert_non_null(strstr(err.msg, "truncated"));
    rm_rf(dir);
    free(dir);
}

/* ---- detection ---- */

struct count_case {
    const char *path;
    int labelled; /* faces the curator counted (-1: about 25, not exact) */
    int min, max; /* what this backend must find */
};

static const struct count_case count_cases[] = {
    { "faces/portraits/obama.jpg", 1, 1, 2 },
    { "faces/portraits/obama2.jpg", 1, 1, 2 },
    { "faces/portraits/obama_small.jpg", 1, 1, 2 },
    { "faces/portraits/biden.jpg", 1, 1, 2 },
    { "faces/portraits/biden2.jpg", 1, 1, 2 },
    { "faces/portraits/tom_cruise_smiling.jpg", 1, 1, 2 },
    { "faces/portraits/lin_manuel_miranda.png", 1, 1, 2 },
    { "faces/portraits/niaz.jpg", 1, 1, 2 },
    { "faces/portraits/stallone.jpg", 1, 1, 2 },
    { "faces/portraits/tom_hanks_1.png", 1, 1, 2 },
    { "faces/portraits/tom_hanks_2.jpg", 1, 1, 2 },
    { "faces/identity/bezos_1.jpg", 1, 1, 2 },
    { "faces/identity/bezos_2.jpg", 1, 1, 2 },
    { "faces/identity/mayer_1.jpg", 1, 1, 2 },
    { "faces/identity/mayer_2.jpg", 1, 1, 2 },
    { "faces/identity/pichai_1.jpg", 1, 1, 2 },
    { "faces/identity/pichai_2.jpg", 1, 1, 2 },
    { "faces/identity/musk_1.jpg", 1, 1, 2 },
    { "faces/identity/musk_2.jpg", 1, 1, 2 },
    { "faces/identity/musk_3.jpg", 1, 1, 2 },
    { "faces/identity/pv_boy_1.jpg", 1, 1, 2 },
    { "faces/identity/pv_boy_2.jpg", 1, 1, 2 },
    { "faces/identity/pv_girl_blond_1.jpg", 1, 1, 2 },
    { "faces/identity/pv_girl_blond_2.jpg", 1, 1, 2 },
    { "faces/identity/pv_girl_blond_3.jpg", 1, 1, 2 },
    { "faces/identity/pv_girl_black_hair.jpg", 1, 1, 2 },
    { "faces/eyes/woman_eyes_closed.jpeg", 1, 1, 2 },
    { "faces/eyes/woman_wink.jpeg", 1, 1, 2 },
    { "faces/eyes/woman_eyes_open.png", 1, 1, 2 },
    { "faces/expression/happy.png", 1, 1, 2 },
    { "faces/expression/sad.png", 1, 1, 2 },
    { "faces/expression/anger.png", 1, 1, 2 },
    { "faces/groups/solvay_1927.jpg", 29, 28, 30 },
    { "faces/groups/girl_group_11.jpg", 11, 10, 12 },
    { "faces/groups/obama_and_biden.jpg", 3, 3, 4 },
    { "faces/groups/two_people.jpg", 2, 2, 3 },
    /* Pierre Curie is in profile: MTCNN's frontal cascade does not see him. */
    { "faces/groups/curie_portrait.jpg", 2, 1, 2 },
    { "faces/groups/curie_portrait_orientation6.jpg", 2, 1, 2 },
    { "faces/groups/crowd_phillies.jpg", -1, 20, 28 },
    { "faces/groups/dogs_no_people.jpg", 0, 0, 0 },
    { "bursts/group4_take1.jpg", 4, 4, 5 },
    { "bursts/group4_take2.jpg", 4, 4, 5 },
    { "bursts/group4_take3.jpg", 4, 4, 5 },
    { "bursts/group4_take4.jpg", 4, 4, 5 },
    { "bursts/group4_take5.jpg", 4, 4, 5 },
    { "bursts/IMG_20191112_111022.jpg", 4, 4, 5 },
    { "bursts/IMG_20191112_111024.jpg", 4, 4, 5 },
    { "bursts/IMG_20191112_111035.jpg", 4, 4, 5 },
};

static void test_face_counts(void **state)
{
    (void)state;
    int labelled = 0, matched = 0, extra = 0, single_extra = 0;
    double stage_ms[4] = { 0, 0, 0, 0 };
    print_message("# %-46s %8s %6s %6s %6s %9s %9s\n", "photo", "labelled", "found", "recall",
                  "false", "detect ms", "total ms");
    for (size_t i = 0; i < PHO_ARRAY_LEN(count_cases); i++) {
        const struct count_case *c = &count_cases[i];
        struct pho_face_list l = { 0 };
        struct pho_face_stats s0, s1;
        pho_face_engine_stats(fe, &s0);
        analyze_with(fe, c->path, &l);
        pho_face_engine_stats(fe, &s1);
        double det = (s1.detect - s0.detect) * 1e3;
        double all =
                det +
                (s1.landmarks - s0.landmarks + s1.smile - s0.smile + s1.embed - s0.embed) * 1e3;
        stage_ms[0] += det;
        stage_ms[1] += (s1.landmarks - s0.landmarks) * 1e3;
        stage_ms[2] += (s1.smile - s0.smile) * 1e3;
        stage_ms[3] += (s1.embed - s0.embed) * 1e3;
        int n = (int)l.count;
        if (c->labelled >= 0) {
            int hit = PHO_MIN(n, c->labelled), more = PHO_MAX(n - c->labelled, 0);
            labelled += c->labelled;
            matched += hit;
            extra += more;
            if (c->labelled == 1)
                single_extra += more;
            print_message("# %-46s %8d %6d %6d %6d %9.1f %9.1f\n", c->path, c->labelled, n, hit,
                          more, det, all);
        } else {
            print_message("# %-46s %8s %6d %6s %6s %9.1f %9.1f\n", c->path, "~25", n, "-", "-", det,
                          all);
        }
        if (n < c->min || n > c->max)
            fail_msg("%s: %d faces, expected %d..%d", c->path, n, c->min, c->max);
        if (c->labelled == 1 && n > 1) {
            /* A second "face" on a portrait must be the smaller, less certain one. */
            const struct pho_face *subject = ft_largest(&l);
            for (size_t k = 0; k < l.count; k++)
                assert_true(l.faces[k].score <= subject->score);
        }
        pho_face_list_release(&l);
    }
    print_message("# total (exact labels): %d of %d faces found, %d extra\n", matched, labelled,
                  extra);
    size_t np = PHO_ARRAY_LEN(count_cases);
    print_message("# mean per photo: detect %.1f ms, landmarks %.1f ms, smile %.1f ms, embed %.1f "
                  "ms\n",
                  stage_ms[0] / np, stage_ms[1] / np, stage_ms[2] / np, stage_ms[3] / np);
    /* Two known false faces on one-person photos (hair, a branch); at most one more in the
     * groups; only Pierre Curie's profile (twice) missed. */
    assert_true(single_extra <= 2);
    assert_true(extra <= 3);
    assert_true(matched >= labelled - 2);
}

static void check_points(const char *path, const struct pho_face *f)
{
    const float *b = f->box;
    float bw = b[2] - b[0], bh = b[3] - b[1];
    if (!(b[0] >= 0 && b[1] >= 0 && b[2] <= 1 && b[3] <= 1 && bw > 0 && bh > 0))
        fail_msg("%s: box %.3f %.3f %.3f %.3f", path, b[0], b[1], b[2], b[3]);
    assert_true(f->score >= 0.7f && f->score <= 1.0f);
    assert_true(f->has_pts5);
    for (int k = 0; k < 5; k++) {
        /* Inside the box (a face at the photo's edge may be clipped by a little). */
        if (!(f->pts5[k][0] >= b[0] - 0.05f * bw && f->pts5[k][0] <= b[2] + 0.05f * bw &&
              f->pts5[k][1] >= b[1] - 0.05f * bh && f->pts5[k][1] <= b[3] + 0.05f * bh))
            fail_msg("%s: point %d (%.3f, %.3f) outside its box", path, k, f->pts5[k][0],
                     f->pts5[k][1]);
    }
    /* Image-left eye first, mouth corners likewise; eyes above the nose, nose above the mouth. */
    assert_true(f->pts5[0][0] < f->pts5[1][0]);
    assert_true(f->pts5[3][0] < f->pts5[4][0]);
    float eye_y = PHO_MAX(f->pts5[0][1], f->pts5[1][1]);
    float mouth_y = PHO_MIN(f->pts5[3][1], f->pts5[4][1]);
    if (!(eye_y < f->pts5[2][1] && f->pts5[2][1] < mouth_y))
        fail_msg("%s: eyes %.3f, nose %.3f, mouth %.3f not in order", path, eye_y, f->pts5[2][1],
                 mouth_y);
}

static void test_five_points(void **state)
{
    (void)state;
    size_t faces = 0;
    for (size_t i = 0; i < PHO_ARRAY_LEN(count_cases); i++) {
        struct pho_face_list l = { 0 };
        analyze_with(fe, count_cases[i].path, &l);
        for (size_t k = 0; k < l.count; k++)
            if (l.faces[k].score >= 0.9f) {
                check_points(count_cases[i].path, &l.faces[k]);
                faces++;
            }
        pho_face_list_release(&l);
    }
    assert_true(faces >= 120);

    /* Obama's official portrait: the points land on his face (checked by eye once). */
    struct pho_face_list l = { 0 };
    analyze_with(fe, "faces/portraits/obama.jpg", &l);
    assert_int_equal(l.count, 1);
    const struct pho_face *f = &l.faces[0];
    float w = (float)l.image_w, h = (float)l.image_h;
    const float want[5][2] = {
        { 441, 213 }, { 550, 211 }, { 496, 278 }, { 435, 323 }, { 555, 318 }
    };
    for (int k = 0; k < 5; k++) {
        float p[2] = { f->pts5[k][0] * w, f->pts5[k][1] * h };
        assert_true(dist2(p, want[k]) < 10);
    }
    pho_face_list_release(&l);
}

/* ---- eyes and smiles ---- */

static void one_face(const char *path, struct pho_face_list *l)
{
    analyze_with(fe, path, l);
    assert_int_equal(l->count, 1);
}

/* Eye openness is measured, not invented: the original's hexagons gave every eye an EAR of
 * about 0.5 whatever the photo. */
static void test_eyes_measured(void **state)
{
    (void)state;
    struct pho_face_list closed = { 0 }, open = { 0 };
    one_face("faces/eyes/woman_eyes_closed.jpeg", &closed);
    one_face("faces/eyes/woman_eyes_open.png", &open);
    const struct pho_face *c = &closed.faces[0], *o = &open.faces[0];
    assert_true(c->has_eyes && o->has_eyes);
    print_message("# EAR closed %.3f %.3f, open %.3f %.3f\n", c->ear_l, c->ear_r, o->ear_l,
                  o->ear_r);
    assert_true(c->ear_l < o->ear_l - 0.05f);
    assert_true(c->ear_r < o->ear_r - 0.05f);
    for (const struct pho_face *f = c; f; f = f == c ? o : NULL) {
        /* The six eyelid points of each eye sit around its MTCNN eye point. */
        float eye_dist = dist2(f->pts5[0], f->pts5[1]);
        float cl[2] = { 0, 0 }, cr[2] = { 0, 0 };
        for (int k = 0; k < 6; k++) {
            cl[0] += f->eye_l[k][0] / 6;
            cl[1] += f->eye_l[k][1] / 6;
            cr[0] += f->eye_r[k][0] / 6;
            cr[1] += f->eye_r[k][1] / 6;
        }
        assert_true(dist2(cl, f->pts5[0]) < 0.3f * eye_dist);
        assert_true(dist2(cr, f->pts5[1]) < 0.3f * eye_dist);
        assert_true(isfinite(f->yaw));
    }
    pho_face_list_release(&closed);
    pho_face_list_release(&open);
}

static void test_eyes_states(void **state)
{
    (void)state;
    struct pho_face_list l = { 0 };
    one_face("faces/eyes/woman_eyes_open.png", &l);
    assert_int_equal(l.faces[0].eyes_closed, 0);
    assert_int_equal(l.faces[0].winking, 0);
    pho_face_list_release(&l);
    one_face("faces/eyes/woman_eyes_closed.jpeg", &l);
    assert_int_equal(l.faces[0].eyes_closed, 1);
    assert_int_equal(l.faces[0].winking, 0);
    pho_face_list_release(&l);
    one_face("faces/eyes/woman_wink.jpeg", &l);
    assert_int_equal(l.faces[0].winking, 1);
    assert_int_equal(l.faces[0].eyes_closed, 1);
    pho_face_list_release(&l);
}

static void test_smile(void **state)
{
    (void)state;
    struct pho_face_list happy = { 0 }, sad = { 0 }, anger = { 0 };
    one_face("faces/expression/happy.png", &happy);
    one_face("faces/expression/sad.png", &sad);
    one_face("faces/expression/anger.png", &anger);
    print_message("# smile happy %.2f sad %.2f anger %.2f\n", happy.faces[0].smile,
                  sad.faces[0].smile, anger.faces[0].smile);
    assert_true(happy.faces[0].smile > 0.5f);
    assert_true(sad.faces[0].smile < 0.5f);
    assert_true(anger.faces[0].smile < 0.5f);
    pho_face_list_release(&happy);
    pho_face_list_release(&sad);
    pho_face_list_release(&anger);
}

/* ---- identities ---- */

struct who {
    const char *path;
    int person;
};

static void test_mobilefacenet(void **state)
{
    (void)state;
    static const struct who who[] = {
        { "faces/portraits/obama.jpg", 0 },       { "faces/portraits/obama_small.jpg", 0 },
        { "faces/identity/bezos_1.jpg", 1 },      { "faces/identity/bezos_2.jpg", 1 },
        { "faces/identity/musk_1.jpg", 2 },       { "faces/identity/musk_2.jpg", 2 },
        { "faces/identity/pv_boy_1.jpg", 3 },     { "faces/identity/pv_boy_2.jpg", 3 },
        { "faces/identity/pichai_1.jpg", 4 },     { "faces/identity/pichai_2.jpg", 4 },
        { "faces/portraits/tom_hanks_2.jpg", 5 },
    };
    enum { N = PHO_ARRAY_LEN(who) };
    static float emb[N][PHO_FACE_EMBED_MAX];
    for (size_t i = 0; i < N; i++) {
        struct pho_face_list l = { 0 };
        analyze_with(fe, who[i].path, &l);
        assert_true(l.count >= 1);
        const struct pho_face *f = ft_largest(&l);
        assert_int_equal(f->embed_dim, 192);
        double n2 = 0;
        for (int k = 0; k < 192; k++)
            n2 += (double)f->embed[k] * f->embed[k];
        assert_true(fabs(n2 - 1) < 1e-4);
        memcpy(emb[i], f->embed, sizeof(float) * 192);
        pho_face_list_release(&l);
    }
    float same_max = 0, diff_min = 2, thr = pho_face_engine_same_person(fe);
    for (size_t i = 0; i < N; i++) {
        for (size_t j = i + 1; j < N; j++) {
            float d = pho_face_distance(PHO_FACE_METRIC_COSINE, emb[i], emb[j], 192);
            if (who[i].person == who[j].person)
                same_max = PHO_MAX(same_max, d);
            else
                diff_min = PHO_MIN(diff_min, d);
        }
    }
    print_message("# mobilefacenet: same person <= %.3f, different >= %.3f (threshold %.2f)\n",
                  same_max, diff_min, thr);
    assert_true(same_max < thr);
    assert_true(diff_min > thr);
}

/* The stand-in's formula (tools/models/make_standins.py): 4x4 cell means of the standardised
 * 160x160 crop, times a fixed pattern matrix, L2-normalised. For a uniform crop every cell of
 * channel c holds v[c]. */
static void standin_uniform(const float v[3], const int pat[4], float out[512])
{
    double n2 = 0;
    for (int j = 0; j < 512; j++) {
        double e = 0;
        for (int i = 0; i < 48; i++)
            e += v[i / 16] * (((i * pat[0] + j * pat[1]) % pat[2]) - pat[3]) / 8.0;
        out[j] = (float)e;
        n2 += e * e;
    }
    for (int j = 0; j < 512; j++)
        out[j] = (float)(out[j] / sqrt(n2 + 1e-12));
}

/* A face whose ArcFace points fill the middle of a uniform @size image. */
static void uniform_face(struct pho_face_list *l, uint32_t size)
{
    struct pho_face *f = pho_face__list_add(l);
    assert_non_null(f);
    float s = (float)size / 2 / 112, o = (float)size / 4;
    for (int k = 0; k < 5; k++) {
        f->pts5[k][0] = (pho_face__arcface_112[k][0] * s + o) / (float)size;
        f->pts5[k][1] = (pho_face__arcface_112[k][1] * s + o) / (float)size;
    }
    f->has_pts5 = true;
}

static struct pho_image *uniform_image(uint32_t size, const uint8_t rgb[3])
{
    struct pho_image *img = ft_canvas(size, size);
    ft_paint(img, 0, 0, (int)size, (int)size, rgb[0], rgb[1], rgb[2]);
    return img;
}

/* Warnings about the InceptionResnetV1 file. */
struct logged {
    int warnings;
    char last[512];
};

static void capture(void *ud, enum pho_log_level level, const char *domain, const char *msg)
{
    struct logged *lg = ud;
    (void)domain;
    if (level <= PHO_LOG_WARN && strstr(msg, "inception_resnet_v1_vggface2.onnx")) {
        lg->warnings++;
        snprintf(lg->last, sizeof(lg->last), "%s", msg);
    }
}

static void test_inception_standin(void **state)
{
    (void)state;
    char standin[4200];
    snprintf(standin, sizeof(standin), "%s/inception_resnet_v1_vggface2.onnx", standin_dir);
    if (access(standin, R_OK))
        skip();
    char *dir = ft_models_folder(NULL, standin);
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.backend = "facenet";
    fo.models_dir = dir;
    fo.trust = 1;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_face_engine *e = ft_engine(&fo);
    /* Installed and valid: used instead of MobileFaceNet, and said so. */
    assert_string_equal(pho_face_engine_embed_model(e), "facenet_vggface2-512");
    assert_int_equal(pho_face_engine_metric(e), PHO_FACE_METRIC_COSINE);
    struct pho_face_list l = { 0 };
    analyze_with(e, "faces/portraits/obama.jpg", &l);
    assert_int_equal(l.count, 1);
    assert_int_equal(l.faces[0].embed_dim, 512);
    double n2 = 0;
    for (int k = 0; k < 512; k++)
        n2 += (double)l.faces[0].embed[k] * l.faces[0].embed[k];
    assert_true(fabs(n2 - 1) < 1e-4);
    pho_face_engine_close(e);

    /* The same embedding stage on uniform pixels gives the value the stand-in documents for
     * standardised input, (x - 127.5) / 128; raw 0..255 (the original's bug) would not. */
    struct face_ctx ctx = { 0 };
    struct pho_models *manifest = NULL;
    assert_int_equal(pho_models_load(&manifest, NULL, &err), 0);
    assert_int_equal(pho_infer_open(&ctx.inf, NULL, &err), 0);
    ctx.models = manifest;
    ctx.models_dir = dir;
    ctx.opts = fo;
    pthread_mutex_init(&ctx.stats_lock, NULL);
    struct face_embedder *emb = NULL;
    if (pho_face__embed_open(&emb, &ctx, "facenet_vggface2", &err))
        fail_msg("%s", err.msg);

    /* The backend's path is this stage: same points, same vector. */
    struct pho_image *img = load("faces/portraits/obama.jpg");
    struct pho_face_list again = { 0 };
    struct pho_face *f = pho_face__list_add(&again);
    assert_non_null(f);
    memcpy(f->pts5, l.faces[0].pts5, sizeof(f->pts5));
    f->has_pts5 = true;
    assert_int_equal(pho_face__embed_run(emb, img, &again, 0, &err), 0);
    for (int k = 0; k < 512; k++)
        assert_true(fabsf(again.faces[0].embed[k] - l.faces[0].embed[k]) < 1e-6f);
    pho_face_list_release(&again);
    pho_face_list_release(&l);
    pho_image_free(img);

    char path[4200];
    snprintf(path, sizeof(path), "%s/standins.json", standin_dir);
    json_t *doc = json_load_file(path, 0, NULL);
    assert_non_null(doc);
    json_t *ex = json_object_get(
            json_object_get(json_object_get(doc, "files"), "inception_resnet_v1_vggface2.onnx"),
            "example");
    assert_string_equal(json_string_value(json_object_get(ex, "image")),
                        "uniform RGB (100, 150, 200)");
    json_t *first8 = json_object_get(ex, "first_8");
    assert_int_equal(json_array_size(first8), 8);
    json_t *pat = json_object_get(
            json_object_get(json_object_get(doc, "constants"), "embed_patterns"), "facenet");
    int pattern[4];
    for (int i = 0; i < 4; i++)
        pattern[i] = (int)json_integer_value(json_array_get(pat, (size_t)i));

    static const uint8_t colour[3] = { 100, 150, 200 };
    img = uniform_image(400, colour);
    uniform_face(&again, 400);
    assert_int_equal(pho_face__embed_run(emb, img, &again, 0, &err), 0);
    assert_int_equal(again.faces[0].embed_dim, 512);
    for (size_t k = 0; k < 8; k++) {
        double want = json_number_value(json_array_get(first8, k));
        if (fabs(again.faces[0].embed[k] - want) > 1e-5)
            fail_msg("embedding[%zu] = %.6f, the stand-in documents %.6f", k,
                     again.faces[0].embed[k], want);
    }
    pho_face_list_release(&again);
    pho_image_free(img);
    json_decref(doc);

    /* Uniform grey below 127.5: standardised cells are negative, raw ones positive, and the
     * normalised embedding flips sign between the two. */
    static const uint8_t grey[3] = { 64, 64, 64 };
    float std_v[3], raw_v[3], want_std[512], want_raw[512];
    for (int c = 0; c < 3; c++) {
        std_v[c] = (64 - 127.5f) / 128;
        raw_v[c] = 64;
    }
    standin_uniform(std_v, pattern, want_std);
    standin_uniform(raw_v, pattern, want_raw);
    img = uniform_image(400, grey);
    uniform_face(&again, 400);
    assert_int_equal(pho_face__embed_run(emb, img, &again, 0, &err), 0);
    double d_std = 0, d_raw = 0;
    for (int k = 0; k < 512; k++) {
        d_std += fabs(again.faces[0].embed[k] - want_std[k]);
        d_raw += fabs(again.faces[0].embed[k] - want_raw[k]);
    }
    print_message("# grey 64: |e - standardised| = %.2g, |e - raw| = %.2f\n", d_std, d_raw);
    assert_true(d_std < 1e-3);
    assert_true(d_raw > 1);
    pho_face_list_release(&again);
    pho_image_free(img);

    pho_face__embed_close(emb);
    pthread_mutex_destroy(&ctx.stats_lock);
    pho_infer_close(ctx.inf);
    pho_models_free(manifest);
    rm_rf(dir);
    free(dir);
}

/* An InceptionResnetV1 file that is not one: MobileFaceNet is used, with a warning. */
static void test_inception_invalid(void **state)
{
    (void)state;
    char wrong[4200];
    snprintf(wrong, sizeof(wrong), "%s/mtcnn_rnet.onnx", models_dir);
    char *dir = ft_models_folder(NULL, NULL);
    char dst[4200];
    snprintf(dst, sizeof(dst), "%s/inception_resnet_v1_vggface2.onnx", dir);
    assert_int_equal(symlink(wrong, dst), 0);
    struct logged lg = { 0 };
    pho_log_set_handler(capture, &lg, PHO_LOG_WARN);
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.backend = "facenet";
    fo.models_dir = dir;
    fo.trust = 1;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_face_engine *e = NULL;
    int rc = pho_face_engine_open(&e, &fo, &err);
    pho_log_set_handler(NULL, NULL, PHO_LOG_WARN);
    if (rc)
        fail_msg("%s", err.msg);
    assert_string_equal(pho_face_engine_embed_model(e), "mobilefacenet-192");
    assert_int_equal(lg.warnings, 1);
    assert_non_null(strstr(lg.last, "inception_resnet_v1_vggface2.onnx"));
    assert_non_null(strstr(lg.last, "mobilefacenet"));
    pho_face_engine_close(e);
    rm_rf(dir);
    free(dir);
}

/* ---- options, determinism, threads ---- */

static void test_min_face_and_encode(void **state)
{
    (void)state;
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.backend = "facenet";
    fo.models_dir = models_dir;
    fo.min_face = 0.1f; /* the Solvay faces are about 0.03 of the long side */
    fo.encode = false;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_face_engine *e = NULL;
    assert_int_equal(pho_face_engine_open(&e, &fo, &err), 0);
    assert_string_equal(pho_face_engine_embed_model(e), "");
    struct pho_face_list l = { 0 };
    analyze_with(e, "faces/groups/solvay_1927.jpg", &l);
    assert_int_equal(l.count, 0);
    pho_face_list_release(&l);
    analyze_with(e, "faces/portraits/obama.jpg", &l);
    assert_int_equal(l.count, 1);
    assert_int_equal(l.faces[0].embed_dim, 0);
    assert_true(l.faces[0].has_eyes);
    pho_face_list_release(&l);

    /* Smaller than one 12-pixel window, or featureless: no face, no error. */
    static const uint8_t grey[3] = { 128, 128, 128 };
    for (uint32_t size = 8; size <= 800; size *= 100) {
        struct pho_image *img = uniform_image(size, grey);
        assert_int_equal(pho_face_analyze(e, img, &l, &err), 0);
        assert_int_equal(l.count, 0);
        pho_face_list_release(&l);
        pho_image_free(img);
    }
    pho_face_engine_close(e);
}

static const char *const thread_photos[] = {
    "faces/groups/girl_group_11.jpg",
    "faces/portraits/obama_small.jpg",
    "faces/groups/two_people.jpg",
    "faces/portraits/stallone.jpg",
};

static void test_deterministic_and_thread_safe(void **state)
{
    (void)state;
    enum { N = PHO_ARRAY_LEN(thread_photos) };
    struct pho_image *img[N];
    struct pho_face_list ref[N];
    struct pho_err err = PHO_ERR_INIT;
    struct pho_face_stats before;
    pho_face_engine_stats(fe, &before);
    for (size_t i = 0; i < N; i++) {
        img[i] = load(thread_photos[i]);
        memset(&ref[i], 0, sizeof(ref[i]));
        assert_int_equal(pho_face_analyze(fe, img[i], &ref[i], &err), 0);
        assert_true(ref[i].count >= 1);
    }
    /* Twice in a row: the same bytes. */
    struct pho_face_list again = { 0 };
    assert_int_equal(pho_face_analyze(fe, img[0], &again, &err), 0);
    ft_assert_same_faces(&ref[0], &again);
    pho_face_list_release(&again);

    /* All at once from as many threads, twice over: the same bytes again. */
    for (int round = 0; round < 2; round++) {
        struct ft_job jobs[N];
        for (size_t i = 0; i < N; i++)
            jobs[i] = (struct ft_job){ fe, img[(i + (size_t)round) % N], 1 };
        ft_run_jobs(jobs, N);
        for (size_t i = 0; i < N; i++) {
            assert_int_equal(jobs[i].rc, 0);
            ft_assert_same_faces(&ref[(i + (size_t)round) % N], &jobs[i].out);
            pho_face_list_release(&jobs[i].out);
        }
    }
    struct pho_face_stats after;
    pho_face_engine_stats(fe, &after);
    assert_int_equal(after.images - before.images, 3 * N + 1);
    assert_true(after.detect > before.detect && after.landmarks > before.landmarks);
    assert_true(after.smile > before.smile && after.embed > before.embed);
    print_message("# stages so far: detect %.2f s, landmarks %.2f s, smile %.2f s, embed %.2f s "
                  "over %llu images\n",
                  after.detect, after.landmarks, after.smile, after.embed,
                  (unsigned long long)after.images);
    for (size_t i = 0; i < N; i++) {
        pho_face_list_release(&ref[i]);
        pho_image_free(img[i]);
    }
}

/* Every allocation of an analysis may fail: the call says so and leaks nothing. */
static void test_out_of_memory(void **state)
{
    (void)state;
    struct pho_image *img = load("faces/portraits/tom_hanks_1.png");
    struct pho_err err = PHO_ERR_INIT;
    struct pho_face_list l = { 0 };
    unsigned long k, seen, failed = 0;
    for (k = 1;; k++) {
        pho_alloc_fail_at(k);
        int rc = pho_face_analyze(fe, img, &l, &err);
        seen = pho_alloc_fail_at(0);
        if (rc == 0) {
            assert_int_equal(l.count, 1);
            pho_face_list_release(&l);
            if (k > seen)
                break;
            continue;
        }
        assert_int_equal(rc, PHO_ENOMEM);
        assert_int_equal(l.count, 0);
        assert_null(l.faces);
        failed++;
    }
    print_message("# %lu allocations per analysis, %lu failures reported\n", seen, failed);
    assert_true(seen > 10 && failed > 0);
    pho_image_free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_info),
        cmocka_unit_test(test_probe_messages),
        cmocka_unit_test(test_face_counts),
        cmocka_unit_test(test_five_points),
        cmocka_unit_test(test_eyes_measured),
        cmocka_unit_test(test_eyes_states),
        cmocka_unit_test(test_smile),
        cmocka_unit_test(test_mobilefacenet),
        cmocka_unit_test(test_inception_standin),
        cmocka_unit_test(test_inception_invalid),
        cmocka_unit_test(test_min_face_and_encode),
        cmocka_unit_test(test_deterministic_and_thread_safe),
        cmocka_unit_test(test_out_of_memory),
    };
    return T_RUN_GROUP(tests, setup, teardown);
}
