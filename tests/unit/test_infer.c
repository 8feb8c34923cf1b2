/* SPDX-License-Identifier: MIT */
/* The inference layer and the model manifest: every shipped model loads and
 * runs on the CPU with its declared shapes; missing, truncated and wrong
 * files are refused with clear messages; user-supplied contracts are checked
 * (with the synthetic stand-ins); GPU requests fall back loudly. */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/testlib.h"
#include "pho/infer.h"
#include "pho/models.h"

static struct pho_infer *inf;
static struct pho_models *manifest;
static const char *models_dir;
static const char *standins;

struct logged {
    int warnings;
    char last[512];
};
static struct logged logged;

static void capture(void *ud, enum pho_log_level level, const char *domain, const char *msg)
{
    (void)ud;
    (void)domain;
    if (level <= PHO_LOG_WARN) {
        logged.warnings++;
        snprintf(logged.last, sizeof(logged.last), "%s", msg);
    }
}

static int setup(void **state)
{
    (void)state;
    models_dir = fixture_models_dir();
    standins = fixture_standins_dir();
    return infer_setup(&manifest, &inf);
}

static int teardown(void **state)
{
    (void)state;
    infer_teardown(manifest, inf);
    return 0;
}

/* Fills an input of the model's declared shape (dynamic dims get @dyn). */
static void make_input(struct pho_tensor *t, const struct pho_model *m, size_t i, int64_t dyn)
{
    memset(t, 0, sizeof(*t));
    t->ndim = pho_model_input_shape(m, i, t->shape);
    for (size_t d = 0; d < t->ndim; d++)
        if (t->shape[d] < 0)
            t->shape[d] = d == 0 ? 1 : dyn;
    size_t n = pho_tensor_count(t);
    t->data = malloc(n * sizeof(float));
    for (size_t k = 0; k < n; k++)
        t->data[k] = (float)((k * 2654435761u) % 1000) / 1000.0f;
}

static void test_every_shipped_model_runs(void **state)
{
    (void)state;
    int ran = 0;
    for (size_t i = 0; i < manifest->count; i++) {
        const struct pho_model_spec *s = &manifest->specs[i];
        if (!s->shipped)
            continue;
        struct pho_model *m = NULL;
        struct pho_err err = PHO_ERR_INIT;
        if (pho_models_open(&m, inf, manifest, s->name, models_dir, PHO_MODELS_VERIFY, &err))
            fail_msg("%s: %s", s->name, err.msg);
        assert_int_equal(pho_model_input_count(m), s->contract.ninputs);
        struct pho_tensor in;
        make_input(&in, m, 0, 48); /* 48: p-net takes any size >= 12 */
        struct pho_tensor out[16] = { 0 };
        size_t nout = pho_model_output_count(m);
        if (pho_model_run(m, &in, 1, out, nout, &err))
            fail_msg("%s: %s", s->name, err.msg);
        for (size_t o = 0; o < nout; o++) {
            int64_t want[PHO_TENSOR_MAX_DIMS];
            size_t rank = pho_model_output_shape(m, o, want);
            assert_int_equal(out[o].ndim, rank);
            for (size_t d = 0; d < rank; d++)
                if (want[d] > 0)
                    assert_int_equal(out[o].shape[d], want[d]);
            assert_true(pho_tensor_count(&out[o]) > 0);
            pho_tensor_release(&out[o]);
        }
        struct pho_model_stats st;
        pho_model_stats(m, &st);
        assert_int_equal(st.runs, 1);
        assert_true(st.seconds > 0);
        free(in.data);
        pho_model_close(m);
        ran++;
    }
    /* 9 + iris (eye contours) + eye_state (open or shut) + face_landmark_attention (the
     * eye judge's eyelids), docs/faces.md */
    assert_int_equal(ran, 12);
}

/* eye_state is published with a batch of 1 declared; the import makes it dynamic, which
 * holds only if nothing in the graph depends on it: rows of a batch of 5 equal the runs
 * of each item alone. */
static void test_eye_state_batches(void **state)
{
    (void)state;
    struct pho_model *m = NULL;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(
            pho_models_open(&m, inf, manifest, "eye_state", models_dir, PHO_MODELS_VERIFY, &err),
            0);
    enum { N = 5, PER = 24 * 24 };
    float *data = malloc(N * PER * sizeof(float));
    for (int k = 0; k < N * PER; k++)
        data[k] = (float)((k * 2654435761u) % 1000u) / 1000.0f; /* distinct items */
    struct pho_tensor all = { data, { N, 1, 24, 24 }, 4, false }, out = { 0 };
    assert_int_equal(pho_model_run(m, &all, 1, &out, 1, &err), 0);
    assert_int_equal(out.shape[0], N);
    assert_int_equal(out.shape[1], 2);
    for (int k = 0; k < N; k++) {
        struct pho_tensor one = { data + k * PER, { 1, 1, 24, 24 }, 4, false }, o1 = { 0 };
        assert_int_equal(pho_model_run(m, &one, 1, &o1, 1, &err), 0);
        for (int j = 0; j < 2; j++)
            assert_true(fabsf(o1.data[j] - out.data[k * 2 + j]) < 1e-4f);
        pho_tensor_release(&o1);
    }
    pho_tensor_release(&out);
    free(data);
    pho_model_close(m);
}

static void test_dynamic_batch(void **state)
{
    (void)state;
    struct pho_model *m = NULL;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_models_open(&m, inf, manifest, "mobilefacenet", models_dir,
                                     PHO_MODELS_VERIFY, &err),
                     0);
    struct pho_tensor in;
    make_input(&in, m, 0, 1);
    /* Batch of 8 copies: every row equals the batch-1 result. */
    struct pho_tensor one[1] = { 0 }, eight[1] = { 0 };
    assert_int_equal(pho_model_run(m, &in, 1, one, 1, &err), 0);
    size_t per = pho_tensor_count(&in);
    struct pho_tensor b = in;
    b.shape[0] = 8;
    b.data = malloc(8 * per * sizeof(float));
    for (int k = 0; k < 8; k++)
        memcpy(b.data + k * per, in.data, per * sizeof(float));
    assert_int_equal(pho_model_run(m, &b, 1, eight, 1, &err), 0);
    assert_int_equal(eight[0].shape[0], 8);
    assert_int_equal(eight[0].shape[1], 192);
    for (int k = 0; k < 8; k++)
        for (int j = 0; j < 192; j++)
            assert_true(fabsf(eight[0].data[k * 192 + j] - one[0].data[j]) < 1e-4f);
    struct pho_model_stats st;
    pho_model_stats(m, &st);
    assert_int_equal(st.runs, 2);
    assert_int_equal(st.items, 9);
    pho_tensor_release(&one[0]);
    pho_tensor_release(&eight[0]);
    free(in.data);
    free(b.data);
    pho_model_close(m);
}

static void test_shape_mismatch_is_refused(void **state)
{
    (void)state;
    struct pho_model *m = NULL;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_models_open(&m, inf, manifest, "blazeface_full", models_dir,
                                     PHO_MODELS_VERIFY, &err),
                     0);
    float data[128 * 128 * 3] = { 0 };
    struct pho_tensor in = { data, { 1, 128, 128, 3 }, 4, false };
    struct pho_tensor out[2] = { 0 };
    assert_int_equal(pho_model_run(m, &in, 1, out, 2, &err), PHO_EINVAL);
    assert_non_null(strstr(err.msg, "[1,128,128,3]"));
    assert_non_null(strstr(err.msg, "[?,192,192,3]"));
    pho_model_close(m);
}

static char *copy_to_tmp(const char *src, size_t keep, bool flip)
{
    size_t len;
    uint8_t *data = read_file(src, &len);
    assert_non_null(data);
    char *dir = make_tempdir();
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, strrchr(src, '/') + 1);
    if (flip)
        data[len / 2] ^= 0xff;
    write_file(path, data, keep ? keep : len);
    free(data);
    return dir;
}

static void test_bad_files_are_refused(void **state)
{
    (void)state;
    struct pho_model *m = NULL;
    struct pho_err err = PHO_ERR_INIT;
    char *empty = make_tempdir();
    assert_int_equal(pho_models_open(&m, inf, manifest, "emotion", empty, PHO_MODELS_VERIFY, &err),
                     PHO_EMODEL);
    assert_non_null(strstr(err.msg, "emotion.onnx"));
    assert_non_null(strstr(err.msg, "models install"));
    assert_non_null(strstr(err.msg, empty));

    char src[4200];
    const struct pho_model_spec *spec = pho_models_find(manifest, "emotion");
    assert_int_equal(pho_models_locate(src, sizeof(src), spec, models_dir, &err), 0);
    char *cut = copy_to_tmp(src, 1000, false);
    assert_int_equal(pho_models_open(&m, inf, manifest, "emotion", cut, PHO_MODELS_VERIFY, &err),
                     PHO_EMODEL);
    assert_non_null(strstr(err.msg, "1000 bytes"));
    char *bad = copy_to_tmp(src, 0, true);
    assert_int_equal(pho_models_open(&m, inf, manifest, "emotion", bad, PHO_MODELS_VERIFY, &err),
                     PHO_EMODEL);
    assert_non_null(strstr(err.msg, "wrong checksum"));
    /* Without the checksum, ONNX Runtime itself refuses the damaged bytes or the truncated file. */
    char path[4300];
    snprintf(path, sizeof(path), "%s/emotion.onnx", cut);
    assert_int_equal(pho_model_open(&m, inf, path, &err), PHO_EMODEL);
    assert_non_null(strstr(err.msg, "cannot load model"));
    assert_int_equal(pho_model_open(&m, inf, "/nonexistent.onnx", &err), PHO_ENOTFOUND);
    assert_int_equal(pho_models_open(&m, inf, manifest, "no-such-model", models_dir,
                                     PHO_MODELS_VERIFY, &err),
                     PHO_EMODEL);
    rm_rf(empty);
    rm_rf(cut);
    rm_rf(bad);
    free(empty);
    free(cut);
    free(bad);
}

static void test_user_supplied_contracts(void **state)
{
    (void)state;
    /* The stand-ins share the official files' contracts but not their hashes. */
    static const char *const names[] = { "scrfd_10g",       "scrfd_500m",       "arcface_r50",
                                         "arcface_mbf",     "landmark_2d106_l", "yolov8n_face",
                                         "facenet_vggface2" };
    struct pho_err err = PHO_ERR_INIT;
    for (size_t i = 0; i < PHO_ARRAY_LEN(names); i++) {
        struct pho_model *m = NULL;
        int rc = pho_models_open(&m, inf, manifest, names[i], standins, PHO_MODELS_CONTRACT_ONLY,
                                 &err);
        if (rc)
            fail_msg("%s: %s", names[i], err.msg);
        pho_model_close(m);
    }
    /* With verification on, a stand-in is not the official file. */
    struct pho_model *m = NULL;
    assert_int_equal(
            pho_models_open(&m, inf, manifest, "arcface_r50", standins, PHO_MODELS_VERIFY, &err),
            PHO_EMODEL);
    /* A file with the wrong contract is refused by name of the mismatch. */
    char path[4300];
    snprintf(path, sizeof(path), "%s/buffalo_l/w600k_r50.onnx", standins);
    assert_int_equal(pho_model_open(&m, inf, path, &err), 0);
    assert_int_equal(pho_model_check(m, &pho_models_find(manifest, "scrfd_10g")->contract, &err),
                     PHO_EMODEL);
    assert_non_null(strstr(err.msg, "expected"));
    pho_model_close(m);
}

static void test_gpu_request_falls_back_loudly(void **state)
{
    (void)state;
    pho_log_set_handler(capture, NULL, PHO_LOG_WARN);
    struct pho_infer_opts o = PHO_INFER_OPTS_INIT;
    o.gpu = true;
    o.gpu_device = 3;
    struct pho_infer *g = NULL;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_infer_open(&g, &o, &err), 0);
    if (!pho_infer_on_gpu(g)) {
        /* No usable GPU here: a warning, a reason, and the CPU. */
        assert_string_equal(pho_infer_device(g), "CPU");
        assert_true(strlen(pho_infer_gpu_problem(g)) > 10);
        assert_true(logged.warnings >= 1);
        assert_non_null(strstr(logged.last, "running on the CPU"));
    }
    pho_infer_close(g);
    pho_log_set_handler(NULL, NULL, PHO_LOG_ERROR);

    struct pho_device_info *devs = NULL;
    size_t n = 0;
    struct pho_err why = PHO_ERR_INIT;
    assert_int_equal(pho_infer_list_devices(&devs, &n, NULL, &why, &err), 0);
    assert_true(n >= 1);
    assert_string_equal(devs[0].kind, "cpu");
    assert_true(devs[0].memory > 0);
    if (n == 1) {
        assert_int_equal(why.code, PHO_EBACKEND);
        assert_true(strlen(pho_err_reason(&why)) > 10);
    } else {
        assert_int_equal(why.code, 0);
    }
    pho_free(devs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_shipped_model_runs),
        cmocka_unit_test(test_eye_state_batches),
        cmocka_unit_test(test_dynamic_batch),
        cmocka_unit_test(test_shape_mismatch_is_refused),
        cmocka_unit_test(test_bad_files_are_refused),
        cmocka_unit_test(test_user_supplied_contracts),
        cmocka_unit_test(test_gpu_request_falls_back_loudly),
    };
    return T_RUN_GROUP(tests, setup, teardown);
}
