/* SPDX-License-Identifier: MIT */
/*
 * The face_recognition backend (dlib HOG, dlib 68-point landmarks, dlib
 * ResNet descriptors) on the labelled test photos: face counts, eyes,
 * identity distances, the scan-size rule, determinism, concurrent use, probe
 * messages, and the C++ bridge's error paths.
 */
#include "core/common.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/facetest.h"
#include "face/dlib_shim.h"
#include "face/util.h"
#include "pho/face.h"
#include "pho/image.h"

#define SYSTEM_PREDICTOR "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"

/* One engine (with descriptors) for every test that only analyses. */
static struct pho_face_engine *engine;

/* Results of the shared engine on a photo at a 1600 px decode, each photo analysed once. */
static struct {
    char *rel;
    struct pho_face_list fl;
    bool done;
} seen[96];
static size_t n_seen;

static void prefetch(void);

static bool have_system_predictor(void)
{
    struct stat st;
    return stat(SYSTEM_PREDICTOR, &st) == 0;
}

static int setup(void **state)
{
    (void)state;
    if (!have_system_predictor() || !td_available())
        return 0;
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    struct pho_err err = PHO_ERR_INIT;
    fo.backend = "face_recognition";
    fo.models_dir = getenv("PHO_MODELS_DIR");
    if (pho_face_engine_open(&engine, &fo, &err)) {
        fprintf(stderr, "face_recognition: %s\n", err.msg);
        return -1;
    }
    prefetch();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_seen; i++) {
        pho_face_list_release(&seen[i].fl);
        free(seen[i].rel);
        seen[i].done = false;
    }
    n_seen = 0;
    pho_face_engine_close(engine);
    engine = NULL;
    return 0;
}

static struct pho_face_engine *need_engine(void)
{
    if (!engine)
        skip();
    return engine;
}

/* At most @max_size px on the long side (0: full size), not shrink-on-load's up to twice that:
 * the counts and the scan-size rule were measured at exactly these decodes. */
static struct pho_image *load(const char *rel, uint32_t max_size)
{
    return ft_load(rel, max_size, false);
}

static void analyze(struct pho_face_engine *fe, const char *rel, struct pho_face_list *out)
{
    ft_analyze_photo(fe, rel, 1600, false, out);
}

static const struct pho_face_list *faces_of(const char *rel)
{
    size_t i = 0;
    while (i < n_seen && strcmp(seen[i].rel, rel))
        i++;
    if (i == n_seen) {
        assert_true(n_seen < PHO_ARRAY_LEN(seen));
        seen[n_seen].rel = strdup(rel);
        assert_non_null(seen[n_seen].rel);
        n_seen++;
    }
    if (!seen[i].done) {
        analyze(need_engine(), rel, &seen[i].fl);
        seen[i].done = true;
    }
    return &seen[i].fl;
}

/* ---- what every face carries -------------------------------------------- */

static void check_face(const struct pho_face *f, const struct pho_face_list *fl)
{
    assert_true(f->box[0] >= 0 && f->box[2] <= 1 && f->box[0] < f->box[2]);
    assert_true(f->box[1] >= 0 && f->box[3] <= 1 && f->box[1] < f->box[3]);
    assert_true(f->score >= 0.5f && f->score <= 1);
    assert_true(f->has_pts5 && f->has_eyes);
    /* Image-left first: eyes, then mouth corners; the nose between the eyes. */
    assert_true(f->pts5[0][0] < f->pts5[1][0]);
    assert_true(f->pts5[3][0] < f->pts5[4][0]);
    assert_true(f->pts5[2][0] > f->pts5[0][0] && f->pts5[2][0] < f->pts5[1][0]);
    assert_true(f->pts5[2][1] > f->pts5[0][1] && f->pts5[3][1] > f->pts5[2][1]);
    /* dlib order: outer corner, upper, upper, inner corner, lower, lower for the
     * image-left eye; the image-right eye starts at its inner corner (point 42). */
    assert_true(f->eye_l[0][0] < f->eye_l[3][0] && f->eye_r[0][0] < f->eye_r[3][0]);
    assert_true(f->eye_l[3][0] < f->eye_r[0][0]);
    assert_true(f->eye_l[1][1] < f->eye_l[5][1] && f->eye_r[2][1] < f->eye_r[4][1]);
    assert_true(f->ear_l > 0 && f->ear_l < 1 && f->ear_r > 0 && f->ear_r < 1);
    /* Judged, unless the eyes are under 8 px wide, or a shut call was unproven on a
     * blurred face, in a broad smile or against wide-open lids on the other eye (the
     * eye-state model misled by glasses or hair: src/face/eyestate.c, then unknown). */
    float eye_px = fmaxf((f->eye_l[3][0] - f->eye_l[0][0]) * (float)fl->image_w,
                         (f->eye_r[3][0] - f->eye_r[0][0]) * (float)fl->image_w);
    bool wide = fmaxf(f->ear_l, f->ear_r) >= 0.30f && fminf(f->ear_l, f->ear_r) < 0.30f;
    if (eye_px >= 9 && f->sharpness >= 75 && !(f->smile >= 0.8f) && !wide) {
        assert_true(f->eyes_closed == 0 || f->eyes_closed == 1);
        assert_true(f->winking == 0 || f->winking == 1);
    } else {
        assert_true(f->eyes_closed >= -1 && f->eyes_closed <= 1);
        assert_true(f->winking >= -1 && f->winking <= 1);
    }
    assert_true(!f->winking || f->eyes_closed);
    assert_true(f->yaw >= -1 && f->yaw <= 1);
    /* Smiles come from the shared smile stage (the emotion model is installed for the tests). */
    assert_true(f->smile >= 0 && f->smile <= 1);
}

/* ---- face counts -------------------------------------------------------- */

struct count_case {
    const char *rel;
    int labelled; /* faces in labels.csv (-1: not exact) */
    int lo, hi;   /* what dlib's HOG achieves here, at a 1600 px decode */
};

/*
 * Measured, not wished for: HOG with one upsampling finds every face of the
 * portraits and the group photos except Pierre Curie (turned away); in the
 * crowd it finds the 13 frontal faces of about 25. Every detection here is a
 * real face.
 */
static const struct count_case counts[] = {
    { "faces/portraits/obama.jpg", 1, 1, 1 },
    { "faces/portraits/obama2.jpg", 1, 1, 1 },
    { "faces/portraits/obama_small.jpg", 1, 1, 1 },
    { "faces/portraits/biden.jpg", 1, 1, 1 },
    { "faces/portraits/biden2.jpg", 1, 1, 1 },
    { "faces/portraits/tom_cruise_smiling.jpg", 1, 1, 1 },
    { "faces/portraits/lin_manuel_miranda.png", 1, 1, 1 },
    { "faces/portraits/niaz.jpg", 1, 1, 1 },
    { "faces/portraits/stallone.jpg", 1, 1, 1 },
    { "faces/portraits/tom_hanks_1.png", 1, 1, 1 },
    { "faces/portraits/tom_hanks_2.jpg", 1, 1, 1 },
    { "faces/groups/solvay_1927.jpg", 29, 29, 29 },
    { "faces/groups/girl_group_11.jpg", 11, 11, 11 },
    { "faces/groups/obama_and_biden.jpg", 3, 3, 3 },
    { "faces/groups/two_people.jpg", 2, 2, 2 },
    { "faces/groups/curie_portrait.jpg", 2, 1, 1 },
    { "faces/groups/crowd_phillies.jpg", -1, 12, 25 },
    { "faces/groups/dogs_no_people.jpg", 0, 0, 0 },
    { "bursts/group4_take1.jpg", 4, 4, 4 },
};

static void test_face_counts(void **state)
{
    (void)state;
    int labelled = 0, found = 0;
    for (size_t i = 0; i < PHO_ARRAY_LEN(counts); i++) {
        const struct pho_face_list *fl = faces_of(counts[i].rel);
        printf("# %-40s labelled %3d found %3zu\n", counts[i].rel, counts[i].labelled, fl->count);
        if ((int)fl->count < counts[i].lo || (int)fl->count > counts[i].hi)
            fail_msg("%s: %zu faces, expected %d..%d", counts[i].rel, fl->count, counts[i].lo,
                     counts[i].hi);
        for (size_t k = 0; k < fl->count; k++) {
            check_face(&fl->faces[k], fl);
            if (k)
                assert_true(fl->faces[k].score <= fl->faces[k - 1].score);
        }
        if (counts[i].labelled >= 0) {
            labelled += counts[i].labelled;
            found += (int)fl->count;
        }
    }
    printf("# recall on exactly counted photos: %d of %d faces\n", found, labelled);
    assert_true(found >= labelled - 2);
}

/* Single-face photos where HOG also fires on background blur: the face is the strongest hit. */
static void test_false_faces_rank_last(void **state)
{
    (void)state;
    static const char *rel[] = { "faces/identity/musk_3.jpg",
                                 "faces/identity/pv_girl_blond_1.jpg" };
    for (size_t i = 0; i < PHO_ARRAY_LEN(rel); i++) {
        const struct pho_face_list *fl = faces_of(rel[i]);
        printf("# %-40s labelled   1 found %3zu\n", rel[i], fl->count);
        assert_true(fl->count >= 1 && fl->count <= 2);
        for (size_t k = 1; k < fl->count; k++) {
            /* The false hit: much weaker, and a blur rather than a face. */
            assert_true(fl->faces[k].score < 0.6f && fl->faces[0].score > 0.85f);
            assert_true(fl->faces[k].sharpness < fl->faces[0].sharpness / 10);
        }
    }
}

/* ---- eyes --------------------------------------------------------------- */

static void expect_eyes(const char *rel, int closed, int winking)
{
    const struct pho_face_list *fl = faces_of(rel);
    assert_int_equal(fl->count, 1);
    const struct pho_face *f = &fl->faces[0];
    printf("# %-40s EAR %.3f %.3f closed %d winking %d\n", rel, (double)f->ear_l, (double)f->ear_r,
           f->eyes_closed, f->winking);
    check_face(f, fl);
    if (f->eyes_closed != closed || f->winking != winking)
        fail_msg("%s: closed %d winking %d, expected %d %d", rel, f->eyes_closed, f->winking,
                 closed, winking);
}

static void test_eyes_labelled(void **state)
{
    (void)state;
    expect_eyes("faces/eyes/woman_eyes_closed.jpeg", 1, 0);
    expect_eyes("faces/eyes/woman_wink.jpeg", 1, 1);
    expect_eyes("faces/eyes/woman_eyes_open.png", 0, 0);
}

/* The shared smile stage on dlib's faces: the labelled expressions. */
static void test_smiles(void **state)
{
    (void)state;
    static const struct {
        const char *rel;
        bool smiling;
    } cases[] = {
        { "faces/expression/happy.png", true },
        { "faces/expression/sad.png", false },
        { "faces/expression/anger.png", false },
    };
    for (size_t i = 0; i < PHO_ARRAY_LEN(cases); i++) {
        const struct pho_face_list *fl = faces_of(cases[i].rel);
        assert_int_equal(fl->count, 1);
        float smile = fl->faces[0].smile;
        printf("# %-40s smile %.3f\n", cases[i].rel, (double)smile);
        if (cases[i].smiling ? !(smile > 0.7f) : !(smile < 0.3f))
            fail_msg("%s: smile %.3f", cases[i].rel, (double)smile);
    }
}

/* Every single-face photo labelled eyes=open in labels.csv. */
static void test_eyes_open_photos(void **state)
{
    (void)state;
    size_t len = 0, rows = 0;
    char *csv = (char *)read_file(td("labels.csv"), &len);
    assert_non_null(csv);
    for (char *line = csv, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        /* file,faces,persons,eyes,...: no field holds a comma. */
        char *field[8] = { 0 };
        int last = 0;
        for (char *p = line; last < 8; last++) {
            field[last] = p;
            p = strchr(p, ',');
            if (!p)
                break;
            *p++ = '\0';
        }
        if (last < 3 || strcmp(field[3], "open") || strcmp(field[1], "1"))
            continue;
        expect_eyes(field[0], 0, 0);
        rows++;
    }
    free(csv);
    assert_true(rows >= 15);
}

/* The EAR the backend reports is the ratio of the six points it reports. */
static void test_ear_matches_points(void **state)
{
    (void)state;
    const struct pho_face_list *fl = faces_of("faces/groups/girl_group_11.jpg");
    assert_true(fl->count > 0);
    for (size_t k = 0; k < fl->count; k++) {
        const struct pho_face *f = &fl->faces[k];
        float l[6][2], r[6][2];
        for (int i = 0; i < 6; i++) {
            l[i][0] = f->eye_l[i][0] * (float)fl->image_w;
            l[i][1] = f->eye_l[i][1] * (float)fl->image_h;
            r[i][0] = f->eye_r[i][0] * (float)fl->image_w;
            r[i][1] = f->eye_r[i][1] * (float)fl->image_h;
        }
        assert_float_equal(pho_face__ear((const float(*)[2])l), f->ear_l, 1e-4);
        assert_float_equal(pho_face__ear((const float(*)[2])r), f->ear_r, 1e-4);
    }
}

/* Yaw is positive when the nose sits nearer the image-right eye, near 0 when frontal. */
static void test_yaw_sign(void **state)
{
    (void)state;
    const struct pho_face_list *fl = faces_of("faces/eyes/woman_eyes_open.png");
    assert_int_equal(fl->count, 1);
    assert_true(fl->faces[0].yaw > 0.1f);
    fl = faces_of("faces/portraits/obama.jpg");
    assert_true(fabsf(fl->faces[0].yaw) < 0.1f);
}

/* ---- identity ----------------------------------------------------------- */

static void test_identity(void **state)
{
    (void)state;
    struct pho_face_engine *fe = need_engine();
    enum { N = FT_PEOPLE };
    static float emb[N][128];
    assert_string_equal(pho_face_engine_embed_model(fe), "dlib_resnet-128");
    assert_int_equal(pho_face_engine_metric(fe), PHO_FACE_METRIC_EUCLIDEAN);
    const float same = pho_face_engine_same_person(fe);
    assert_float_equal(same, 0.6, 1e-6);
    for (size_t i = 0; i < N; i++) {
        const struct pho_face_list *fl = faces_of(ft_people[i].rel);
        assert_true(fl->count >= 1);
        assert_int_equal(fl->faces[0].embed_dim, 128);
        memcpy(emb[i], fl->faces[0].embed, sizeof(emb[i]));
    }
    int n_same = 0, n_diff = 0, ok_same = 0, ok_diff = 0;
    float max_same = 0, min_diff = 9;
    for (size_t i = 0; i < N; i++) {
        for (size_t j = i + 1; j < N; j++) {
            float d = pho_face_distance(PHO_FACE_METRIC_EUCLIDEAN, emb[i], emb[j], 128);
            if (!strcmp(ft_people[i].person, ft_people[j].person)) {
                n_same++;
                ok_same += d <= same;
                max_same = PHO_MAX(max_same, d);
            } else {
                n_diff++;
                ok_diff += d > same;
                min_diff = PHO_MIN(min_diff, d);
            }
        }
    }
    printf("# same person: %d pairs, largest distance %.3f; different: %d pairs, smallest %.3f\n",
           n_same, (double)max_same, n_diff, (double)min_diff);
    printf("# verification at %.2f: %d/%d same accepted, %d/%d different rejected\n", (double)same,
           ok_same, n_same, ok_diff, n_diff);
    assert_int_equal(ok_same, n_same);
    assert_int_equal(ok_diff, n_diff);
}

/* In the group photos each labelled person matches exactly their own face. */
static void test_identity_in_groups(void **state)
{
    (void)state;
    const struct pho_face_list *ref[2] = { faces_of("faces/portraits/obama.jpg"),
                                           faces_of("faces/portraits/biden2.jpg") };
    static const char *groups[] = { "faces/groups/two_people.jpg",
                                    "faces/groups/obama_and_biden.jpg" };
    const float same = pho_face_engine_same_person(need_engine());
    for (size_t g = 0; g < PHO_ARRAY_LEN(groups); g++) {
        const struct pho_face_list *group = faces_of(groups[g]);
        int owner[2] = { -1, -1 };
        for (int r = 0; r < 2; r++) {
            for (size_t k = 0; k < group->count; k++) {
                float d = pho_face_distance(PHO_FACE_METRIC_EUCLIDEAN, ref[r]->faces[0].embed,
                                            group->faces[k].embed, 128);
                if (d <= same) {
                    assert_int_equal(owner[r], -1);
                    owner[r] = (int)k;
                }
            }
            assert_true(owner[r] >= 0);
        }
        assert_int_not_equal(owner[0], owner[1]);
    }
}

/* ---- scan size ---------------------------------------------------------- */

static double detect_seconds(struct pho_face_engine *fe, const struct pho_image *img,
                             struct pho_face_list *fl)
{
    struct pho_face_stats a, b;
    struct pho_err err = PHO_ERR_INIT;
    pho_face_engine_stats(fe, &a);
    assert_int_equal(pho_face_analyze(fe, img, fl, &err), 0);
    pho_face_engine_stats(fe, &b);
    return b.detect - a.detect;
}

/* min_face decides the scan: big faces only means a shrunk, cheaper scan that misses small ones. */
static void test_min_face_rule(void **state)
{
    (void)state;
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_face_engine *big = NULL;
    need_engine();
    fo.backend = "face_recognition";
    fo.models_dir = getenv("PHO_MODELS_DIR");
    fo.encode = false;
    fo.min_face = 0.15f;
    assert_int_equal(pho_face_engine_open(&big, &fo, &err), 0);
    assert_string_equal(pho_face_engine_embed_model(big), "");
    assert_int_equal(pho_face_engine_metric(big), PHO_FACE_METRIC_NONE);

    /* The default engine finds all 29 (test_face_counts); their faces are 3-4 % of the long side.
     */
    assert_int_equal(faces_of("faces/groups/solvay_1927.jpg")->count, 29);
    struct pho_image *img = load("faces/groups/solvay_1927.jpg", 1600);
    struct pho_face_list fl = { 0 };
    double t_big = detect_seconds(big, img, &fl);
    printf("# solvay with min_face 0.15: %zu faces, detection %.0f ms\n", fl.count, t_big * 1e3);
    assert_int_equal(fl.count, 0);
    pho_face_list_release(&fl);
    pho_image_free(img);

    img = load("faces/portraits/obama.jpg", 1600); /* face: 24 % of the long side */
    detect_seconds(big, img, &fl);
    assert_int_equal(fl.count, 1);
    check_face(&fl.faces[0], &fl);
    assert_int_equal(fl.faces[0].embed_dim, 0);
    pho_face_list_release(&fl);
    pho_image_free(img);
    pho_face_engine_close(big);
}

/* A 12 MP photo at full size is scanned shrunk, without upsampling: same faces, bounded time. */
static void test_full_size_photo(void **state)
{
    (void)state;
    struct pho_face_engine *fe = need_engine();
    struct pho_image *img = load("bursts/IMG_20191112_111035.jpg", 0);
    struct pho_face_list fl = { 0 };
    assert_int_equal(img->width, 4032);
    double t = detect_seconds(fe, img, &fl);
    printf("# 4032x3024: %zu faces, detection %.0f ms\n", fl.count, t * 1e3);
    assert_int_equal(fl.count, 4);
    for (size_t k = 0; k < fl.count; k++)
        check_face(&fl.faces[k], &fl);
    pho_face_list_release(&fl);
    pho_image_free(img);
}

/* Images too small or too plain to hold a face: no faces, no error. */
static void test_tiny_images(void **state)
{
    (void)state;
    struct pho_face_engine *fe = need_engine();
    static const uint32_t sizes[][2] = { { 1, 1 }, { 3, 2 }, { 1, 700 }, { 64, 64 } };
    for (size_t i = 0; i < PHO_ARRAY_LEN(sizes); i++) {
        struct pho_image *img = NULL;
        struct pho_face_list fl = { 0 };
        struct pho_err err = PHO_ERR_INIT;
        assert_int_equal(pho_image_new(&img, sizes[i][0], sizes[i][1], &err), 0);
        assert_int_equal(pho_face_analyze(fe, img, &fl, &err), 0);
        assert_int_equal(fl.count, 0);
        pho_image_free(img);
    }
}

/* ---- determinism and threads -------------------------------------------- */

static bool same_faces(const struct pho_face_list *a, const struct pho_face_list *b)
{
    return a->count == b->count &&
           (a->count == 0 || !memcmp(a->faces, b->faces, a->count * sizeof(*a->faces)));
}

static void test_deterministic(void **state)
{
    (void)state;
    struct pho_face_engine *fe = need_engine();
    struct pho_face_list a = { 0 }, b = { 0 };
    analyze(fe, "faces/groups/girl_group_11.jpg", &a);
    analyze(fe, "faces/groups/girl_group_11.jpg", &b);
    assert_true(a.count > 0);
    assert_true(same_faces(&a, &b));
    pho_face_list_release(&a);
    pho_face_list_release(&b);
}

/* Small photos (the detector's cost grows with pixels) with 1 to 11 faces. */
static const char *const thread_photos[] = {
    "faces/groups/girl_group_11.jpg", "faces/portraits/obama_small.jpg",
    "faces/portraits/niaz.jpg",       "faces/portraits/tom_hanks_2.jpg",
    "faces/portraits/stallone.jpg",
};
enum { N_THREAD_PHOTOS = PHO_ARRAY_LEN(thread_photos), N_THREADS = 3, ROUNDS = 1 };

struct worker {
    struct pho_image *img[N_THREAD_PHOTOS];
    const struct pho_face_list *expect;
    int first, mismatches, failures;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < N_THREAD_PHOTOS; i++) {
            int k = (w->first + i) % N_THREAD_PHOTOS;
            struct pho_face_list fl = { 0 };
            struct pho_err err = PHO_ERR_INIT;
            if (pho_face_analyze(engine, w->img[k], &fl, &err))
                w->failures++;
            else if (!same_faces(&fl, &w->expect[k]))
                w->mismatches++;
            pho_face_list_release(&fl);
        }
    }
    return NULL;
}

/* One engine shared by several threads gives exactly the single-threaded results. */
static void test_threads(void **state)
{
    (void)state;
    struct pho_face_engine *fe = need_engine();
    struct pho_image *img[N_THREAD_PHOTOS];
    struct pho_face_list expect[N_THREAD_PHOTOS];
    struct pho_err err = PHO_ERR_INIT;
    for (int i = 0; i < N_THREAD_PHOTOS; i++) {
        img[i] = load(thread_photos[i], 1600);
        memset(&expect[i], 0, sizeof(expect[i]));
        assert_int_equal(pho_face_analyze(fe, img[i], &expect[i], &err), 0);
        assert_true(expect[i].count > 0);
    }
    pthread_t tid[N_THREADS];
    struct worker w[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        memset(&w[t], 0, sizeof(w[t]));
        memcpy(w[t].img, img, sizeof(img));
        w[t].expect = expect;
        w[t].first = t;
        assert_int_equal(pthread_create(&tid[t], NULL, work, &w[t]), 0);
    }
    for (int t = 0; t < N_THREADS; t++) {
        pthread_join(tid[t], NULL);
        assert_int_equal(w[t].failures, 0);
        assert_int_equal(w[t].mismatches, 0);
    }
    for (int i = 0; i < N_THREAD_PHOTOS; i++) {
        pho_face_list_release(&expect[i]);
        pho_image_free(img[i]);
    }
}

/* ---- probe and open failures -------------------------------------------- */

static void test_probe_messages(void **state)
{
    (void)state;
    if (!have_system_predictor())
        skip();
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    struct pho_err err = PHO_ERR_INIT;
    char *empty = make_tempdir();
    fo.models_dir = empty;

    /* No predictor anywhere: name the file and the Debian package. */
    setenv("PHO_DLIB_DATA_DIR", empty, 1);
    fo.encode = false;
    assert_int_equal(pho_face_backend_probe("face_recognition", &fo, &err), PHO_EBACKEND);
    assert_non_null(strstr(err.msg, "shape_predictor_68_face_landmarks.dat"));
    assert_non_null(strstr(err.msg, "libdlib-data"));
    unsetenv("PHO_DLIB_DATA_DIR");

    /* Predictor from the system, descriptors wanted but not installed. */
    fo.encode = true;
    pho_err_clear(&err);
    assert_int_equal(pho_face_backend_probe("face_recognition", &fo, &err), PHO_EBACKEND);
    assert_non_null(strstr(err.msg, "dlib_resnet"));
    assert_non_null(strstr(err.msg, "photo-organizer models install"));
    struct pho_face_engine *fe = NULL;
    fo.backend = "face_recognition";
    assert_int_equal(pho_face_engine_open(&fe, &fo, &err), PHO_EBACKEND);
    assert_null(fe);
    assert_non_null(strstr(err.msg, "face_recognition backend cannot run"));

    /* Without descriptors the system predictor is enough. */
    fo.encode = false;
    pho_err_clear(&err);
    assert_int_equal(pho_face_backend_probe("face_recognition", &fo, &err), 0);

    /* A damaged copy beside the models is refused, not silently skipped. */
    char path[4200];
    snprintf(path, sizeof(path), "%s/shape_predictor_68_face_landmarks.dat", empty);
    write_file(path, "not a model", 11);
    assert_int_equal(pho_face_backend_probe("face_recognition", &fo, &err), PHO_EBACKEND);
    assert_non_null(strstr(err.msg, "not dlib's 68-point model"));
    assert_non_null(strstr(err.msg, "libdlib-data"));
    rm_rf(empty);
    free(empty);
}

/* The C++ bridge reports every failure as a message and never throws. */
static void test_shim_errors(void **state)
{
    (void)state;
    char why[256] = "";
    char *dir = make_tempdir();
    char path[4200];
    snprintf(path, sizeof(path), "%s/garbage.dat", dir);
    write_file(path, "\x01\x02\x03 definitely not dlib", 24);
    assert_null(pho_dlib_open(path, why, sizeof(why)));
    assert_non_null(strstr(why, "cannot load the 68-point shape predictor"));
    snprintf(path, sizeof(path), "%s/missing.dat", dir);
    assert_null(pho_dlib_open(path, why, sizeof(why)));
    assert_non_null(strstr(why, "cannot open"));
    assert_null(pho_dlib_open("", why, sizeof(why)));
    pho_dlib_close(NULL);
    rm_rf(dir);
    free(dir);

    if (!have_system_predictor())
        skip();
    struct pho_dlib *a = pho_dlib_open(SYSTEM_PREDICTOR, why, sizeof(why));
    struct pho_dlib *b = pho_dlib_open(SYSTEM_PREDICTOR, why, sizeof(why));
    assert_non_null(a);
    assert_ptr_equal(a, b); /* loaded once, shared */
    pho_dlib_close(b);

    uint8_t px[32 * 32 * 3] = { 0 };
    struct pho_dlib_image img = { px, 32, 32, 32 * 3 };
    struct pho_dlib_box box[4];
    size_t found = 99;
    assert_int_equal(pho_dlib_detect(a, &img, 4, box, 4, &found, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "upsample"));
    assert_int_equal(found, 0);
    struct pho_dlib_image bad = { px, 32, 32, 16 };
    assert_int_equal(pho_dlib_detect(a, &bad, 0, box, 4, &found, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "malformed image"));
    assert_int_equal(pho_dlib_detect(a, &img, 1, box, 4, &found, why, sizeof(why)), 0);
    assert_int_equal(found, 0);
    float pts[68][2];
    const float tiny[4] = { 3, 3, 4, 4 }, nan_box[4] = { NAN, 0, 10, 10 };
    assert_int_equal(pho_dlib_landmarks(a, &img, tiny, pts, why, sizeof(why)), -1);
    assert_int_equal(pho_dlib_landmarks(a, &img, nan_box, pts, why, sizeof(why)), -1);
    /* A box hanging over the edge still gets points (dlib reads outside pixels as 0). */
    const float edge[4] = { -10, -10, 30, 30 };
    assert_int_equal(pho_dlib_landmarks(a, &img, edge, pts, why, sizeof(why)), 0);
    pho_dlib_close(a);
}

/*
 * Analyses every photo the tests look at, on as many threads as there are
 * cores: the detector dominates the run time (and is many times slower in
 * sanitizer builds), and analyze() is meant to be used this way. Anything
 * that fails here is analysed again, serially, by the test that needs it.
 */
static const char *const corpus_extra[] = {
    "faces/eyes/woman_eyes_closed.jpeg", "faces/eyes/woman_wink.jpeg",
    "faces/eyes/woman_eyes_open.png",    "faces/expression/happy.png",
    "faces/expression/sad.png",          "faces/expression/anger.png",
    "faces/identity/musk_3.jpg",         "faces/identity/pv_girl_blond_1.jpg",
};

static void add_corpus(const char *rel)
{
    for (size_t i = 0; i < n_seen; i++)
        if (!strcmp(seen[i].rel, rel))
            return;
    if (n_seen < PHO_ARRAY_LEN(seen) && (seen[n_seen].rel = strdup(rel)))
        n_seen++;
}

static pthread_mutex_t prefetch_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t prefetch_next;

static void *prefetch_work(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&prefetch_lock);
        size_t i = prefetch_next++;
        pthread_mutex_unlock(&prefetch_lock);
        if (i >= n_seen)
            return NULL;
        struct pho_image_opts io = PHO_IMAGE_OPTS_INIT;
        struct pho_err err = PHO_ERR_INIT;
        struct pho_image *img = NULL;
        char path[4096];
        io.max_size = 1600;
        snprintf(path, sizeof(path), "%s/%s", getenv("PHO_TESTDATA"), seen[i].rel);
        if (pho_image_load(&img, path, &io, NULL, &err) == 0 &&
            pho_face_analyze(engine, img, &seen[i].fl, &err) == 0)
            seen[i].done = true;
        pho_image_free(img);
    }
}

static void prefetch(void)
{
    for (size_t i = 0; i < PHO_ARRAY_LEN(counts); i++)
        add_corpus(counts[i].rel);
    for (size_t i = 0; i < FT_PEOPLE; i++)
        add_corpus(ft_people[i].rel);
    for (size_t i = 0; i < PHO_ARRAY_LEN(corpus_extra); i++)
        add_corpus(corpus_extra[i]);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n = (size_t)PHO_MAX(0L, PHO_MIN(cores, 4L) - 1); /* the main thread works too */
    pthread_t tid[4];
    prefetch_next = 0;
    for (size_t t = 0; t < n; t++)
        if (pthread_create(&tid[t], NULL, prefetch_work, NULL))
            n = t;
    prefetch_work(NULL);
    for (size_t t = 0; t < n; t++)
        pthread_join(tid[t], NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_messages),
        cmocka_unit_test(test_shim_errors),
        cmocka_unit_test(test_face_counts),
        cmocka_unit_test(test_false_faces_rank_last),
        cmocka_unit_test(test_eyes_labelled),
        cmocka_unit_test(test_eyes_open_photos),
        cmocka_unit_test(test_smiles),
        cmocka_unit_test(test_ear_matches_points),
        cmocka_unit_test(test_yaw_sign),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_identity_in_groups),
        cmocka_unit_test(test_min_face_rule),
        cmocka_unit_test(test_full_size_photo),
        cmocka_unit_test(test_tiny_images),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_threads),
    };
    return T_RUN_GROUP(tests, setup, teardown);
}
