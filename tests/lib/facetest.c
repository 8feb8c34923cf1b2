/* SPDX-License-Identifier: MIT */
#include "core/common.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "facetest.h"
#include "pho/models.h"

/* ---- photos and engines ---- */

struct pho_image *ft_load(const char *rel, uint32_t max_size, bool allow_larger)
{
    struct pho_image_opts io = PHO_IMAGE_OPTS_INIT;
    io.max_size = max_size;
    io.allow_larger = allow_larger;
    struct pho_image *img = NULL;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_image_load(&img, td(rel), &io, NULL, &err))
        fail_msg("%s: %s", rel, err.msg);
    return img;
}

struct pho_face_engine *ft_engine(const struct pho_face_opts *fo)
{
    struct pho_face_engine *fe = NULL;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_face_engine_open(&fe, fo, &err))
        fail_msg("%s", err.msg);
    return fe;
}

int ft_engine_setup(struct pho_face_engine **fe, const char *backend, const char *models_dir)
{
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.backend = backend;
    fo.models_dir = models_dir;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_face_engine_open(fe, &fo, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    return 0;
}

void ft_assert_refused(const char *backend, const char *models_dir, int trust, struct pho_err *err)
{
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.backend = backend;
    fo.models_dir = models_dir;
    fo.trust = trust;
    struct pho_face_engine *fe = NULL;
    assert_int_equal(pho_face_engine_open(&fe, &fo, err), PHO_EBACKEND);
    assert_null(fe);
    assert_non_null(strstr(err->msg, backend));
}

void ft_analyze(struct pho_face_engine *fe, const struct pho_image *img, struct pho_face_list *out)
{
    struct pho_err err = PHO_ERR_INIT;
    if (pho_face_analyze(fe, img, out, &err))
        fail_msg("%s", err.msg);
}

void ft_analyze_photo(struct pho_face_engine *fe, const char *rel, uint32_t max_size,
                      bool allow_larger, struct pho_face_list *out)
{
    struct pho_image *img = ft_load(rel, max_size, allow_larger);
    struct pho_err err = PHO_ERR_INIT;
    int rc = pho_face_analyze(fe, img, out, &err);
    pho_image_free(img);
    if (rc)
        fail_msg("%s: %s", rel, err.msg);
}

const struct pho_face *ft_largest(const struct pho_face_list *l)
{
    const struct pho_face *best = NULL;
    float area = -1;
    for (size_t i = 0; i < l->count; i++) {
        const float *b = l->faces[i].box;
        float a = (b[2] - b[0]) * (b[3] - b[1]);
        if (a > area) {
            area = a;
            best = &l->faces[i];
        }
    }
    return best;
}

void ft_assert_same_faces(const struct pho_face_list *a, const struct pho_face_list *b)
{
    assert_int_equal(a->count, b->count);
    assert_memory_equal(a->faces, b->faces, a->count * sizeof(*a->faces));
}

static void *job_main(void *arg)
{
    struct ft_job *j = arg;
    struct pho_err err = PHO_ERR_INIT;
    for (int r = 0; r < PHO_MAX(j->rounds, 1) && j->rc == 0; r++) {
        pho_face_list_release(&j->out);
        j->rc = pho_face_analyze(j->fe, j->img, &j->out, &err);
    }
    return NULL;
}

void ft_run_jobs(struct ft_job *jobs, size_t n)
{
    pthread_t *th = calloc(n, sizeof(*th));
    assert_non_null(th);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, job_main, &jobs[i]), 0);
    for (size_t i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    free(th);
}

void ft_assert_two_threads_agree(struct pho_face_engine *fe, const struct pho_image *img)
{
    struct pho_face_list one = { 0 };
    ft_analyze(fe, img, &one);
    assert_true(one.count > 0);
    struct ft_job jobs[2] = { { fe, img, 3, { 0 }, 0 }, { fe, img, 3, { 0 }, 0 } };
    ft_run_jobs(jobs, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(jobs[i].rc, 0);
        ft_assert_same_faces(&one, &jobs[i].out);
        pho_face_list_release(&jobs[i].out);
    }
    pho_face_list_release(&one);
}

/* ---- synthetic images ---- */

struct pho_image *ft_canvas(uint32_t w, uint32_t h)
{
    struct pho_image *img = NULL;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_image_new(&img, w, h, &err), 0);
    return img;
}

void ft_paint(struct pho_image *img, int x0, int y0, int x1, int y1, uint8_t r, uint8_t g,
              uint8_t b)
{
    for (int y = y0; y < y1; y++) {
        uint8_t *p = img->pixels + (size_t)y * img->stride + (size_t)x0 * 3;
        for (int x = x0; x < x1; x++, p += 3) {
            p[0] = r;
            p[1] = g;
            p[2] = b;
        }
    }
}

/* ---- model folders ---- */

void ft_link(const char *target, const char *dir, const char *name)
{
    char path[8400];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (symlink(target, path) != 0)
        fail_msg("symlink %s -> %s failed", path, target);
}

void ft_link_shipped(const char *dir, const char *skip)
{
    static const char *const files[] = { "face_landmark.onnx", "iris_landmark.onnx",
                                         "emotion.onnx" };
    for (size_t i = 0; i < PHO_ARRAY_LEN(files); i++) {
        char src[4300];
        snprintf(src, sizeof(src), "%s/%s", fixture_models_dir(), files[i]);
        if ((skip && !strcmp(skip, files[i])) || access(src, R_OK) != 0)
            continue;
        ft_link(src, dir, files[i]);
    }
}

void ft_link_standin(const char *dir, const char *name)
{
    char src[4300];
    snprintf(src, sizeof(src), "%s/%s", fixture_standins_dir(), name);
    ft_link(src, dir, name);
}

char *ft_models_folder(const char *skip, const char *extra)
{
    const char *models = fixture_models_dir();
    char *dir = make_tempdir();
    char src[4300];
    DIR *d = opendir(models);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 5, ".onnx") || (skip && !strcmp(skip, de->d_name)))
            continue;
        snprintf(src, sizeof(src), "%s/%s", models, de->d_name);
        ft_link(src, dir, de->d_name);
    }
    closedir(d);
    if (extra) {
        const char *base = strrchr(extra, '/');
        ft_link(extra, dir, base ? base + 1 : extra);
    }
    return dir;
}

int ft_sandbox_setup(struct ft_sandbox *sb, const char *needed)
{
    memset(sb, 0, sizeof(*sb));
    char path[4300];
    snprintf(path, sizeof(path), "%s/%s", fixture_standins_dir(), needed);
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "setup: %s missing (run tools/models/make_standins.py)\n", path);
        return -1;
    }
    sb->home = make_tempdir();
    sb->scratch = make_tempdir();
    sb->models = make_tempdir();
    setenv("HOME", sb->home, 1);
    return infer_setup(&sb->manifest, &sb->inf);
}

void ft_sandbox_teardown(struct ft_sandbox *sb)
{
    infer_teardown(sb->manifest, sb->inf);
    rm_rf(sb->models);
    rm_rf(sb->scratch);
    rm_rf(sb->home);
    free(sb->models);
    free(sb->scratch);
    free(sb->home);
    memset(sb, 0, sizeof(*sb));
}

char *ft_sandbox_dir(struct ft_sandbox *sb)
{
    char *dir = malloc(4300);
    assert_non_null(dir);
    snprintf(dir, 4300, "%s/m%d", sb->scratch, sb->next++);
    if (mkdir(dir, 0755) != 0)
        fail_msg("mkdir %s failed", dir);
    return dir;
}

void ft_run_standin(struct ft_sandbox *sb, const char *name, float *input, int side,
                    struct pho_tensor *out, size_t nout)
{
    struct pho_err err = PHO_ERR_INIT;
    struct pho_model *m = NULL;
    if (pho_models_open(&m, sb->inf, sb->manifest, name, sb->models, PHO_MODELS_CONTRACT_ONLY,
                        &err))
        fail_msg("%s", err.msg);
    struct pho_tensor in = { input, { 1, 3, side, side }, 4, false };
    memset(out, 0, sizeof(*out) * nout);
    int rc = pho_model_run(m, &in, 1, out, nout, &err);
    pho_model_close(m);
    if (rc)
        fail_msg("%s", err.msg);
}

float *ft_planes(int side, int x0, int y0, int x1, int y1, float v)
{
    float *t = calloc(3 * (size_t)side * (size_t)side, sizeof(float));
    assert_non_null(t);
    for (int c = 0; c < 3; c++)
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
                t[((size_t)c * (size_t)side + (size_t)y) * (size_t)side + (size_t)x] = v;
    return t;
}

/* ---- reference detections ---- */

static int ref_order(const void *pa, const void *pb)
{
    const struct ft_ref *a = pa, *b = pb;
    if (a->y0 != b->y0)
        return a->y0 < b->y0 ? -1 : 1;
    return a->x0 < b->x0 ? -1 : a->x0 > b->x0;
}

static float ref_iou(const struct ft_ref *a, const struct ft_ref *b)
{
    float ix = fminf(a->x1, b->x1) - fmaxf(a->x0, b->x0);
    float iy = fminf(a->y1, b->y1) - fmaxf(a->y0, b->y0);
    if (ix <= 0 || iy <= 0)
        return 0;
    float u = (a->x1 - a->x0) * (a->y1 - a->y0) + (b->x1 - b->x0) * (b->y1 - b->y0) - ix * iy;
    return ix * iy / u;
}

size_t ft_ref_nms(struct ft_ref *r, size_t n, float iou)
{
    qsort(r, n, sizeof(*r), ref_order);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        bool keep = true;
        for (size_t k = 0; k < kept && keep; k++)
            keep = ref_iou(&r[i], &r[k]) <= iou;
        if (keep)
            r[kept++] = r[i];
    }
    return kept;
}

void ft_check_ref(const struct pho_face_list *fl, const struct ft_ref *want, size_t n, float score)
{
    const float w = (float)fl->image_w, h = (float)fl->image_h;
    assert_int_equal(fl->count, n);
    for (size_t i = 0; i < n; i++) {
        const struct pho_face *f = &fl->faces[i];
        assert_float_equal(f->box[0] * w, want[i].x0, 1e-2);
        assert_float_equal(f->box[1] * h, want[i].y0, 1e-2);
        assert_float_equal(f->box[2] * w, want[i].x1, 1e-2);
        assert_float_equal(f->box[3] * h, want[i].y1, 1e-2);
        assert_float_equal(f->score, score, 1e-5);
        assert_true(f->has_pts5);
        for (int k = 0; k < 5; k++) {
            assert_float_equal(f->pts5[k][0] * w, want[i].kp[k][0], 1e-2);
            assert_float_equal(f->pts5[k][1] * h, want[i].kp[k][1], 1e-2);
        }
    }
}

/* ---- labelled identities ---- */

const struct ft_person ft_people[FT_PEOPLE] = {
    { "faces/identity/bezos_1.jpg", "bezos" },
    { "faces/identity/bezos_2.jpg", "bezos" },
    { "faces/identity/mayer_1.jpg", "mayer" },
    { "faces/identity/mayer_2.jpg", "mayer" },
    { "faces/identity/pichai_1.jpg", "pichai" },
    { "faces/identity/pichai_2.jpg", "pichai" },
    { "faces/identity/musk_1.jpg", "musk" },
    { "faces/identity/musk_2.jpg", "musk" },
    { "faces/identity/musk_3.jpg", "musk" },
    { "faces/identity/pv_boy_1.jpg", "pv_boy" },
    { "faces/identity/pv_boy_2.jpg", "pv_boy" },
    { "faces/identity/pv_girl_blond_1.jpg", "pv_girl_blond" },
    { "faces/identity/pv_girl_blond_2.jpg", "pv_girl_blond" },
    { "faces/identity/pv_girl_blond_3.jpg", "pv_girl_blond" },
    { "faces/identity/pv_girl_black_hair.jpg", "pv_girl_black_hair" },
    { "faces/portraits/obama.jpg", "obama" },
    { "faces/portraits/obama2.jpg", "obama" },
    { "faces/portraits/obama_small.jpg", "obama" },
    { "faces/portraits/biden.jpg", "biden" },
    { "faces/portraits/biden2.jpg", "biden" },
    { "faces/portraits/tom_cruise_smiling.jpg", "cruise" },
    { "faces/portraits/lin_manuel_miranda.png", "miranda" },
    { "faces/portraits/niaz.jpg", "niaz" },
    { "faces/portraits/stallone.jpg", "stallone" },
    { "faces/portraits/tom_hanks_1.png", "hanks" },
    { "faces/portraits/tom_hanks_2.jpg", "hanks" },
    { "faces/eyes/woman_eyes_closed.jpeg", "woman" },
    { "faces/eyes/woman_wink.jpeg", "woman" },
    { "faces/eyes/woman_eyes_open.png", "woman" },
};
