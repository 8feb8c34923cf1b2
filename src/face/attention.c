/* SPDX-License-Identifier: MIT */
/*
 * Eyelids from MediaPipe's attention mesh (model "face_landmark_attention",
 * docs/faces.md, "Eyelids"): the face mesh with attention heads that crop the
 * eye and lip regions from its own features and refine them. It takes the
 * same 192x192 face crop as face_landmark and returns, besides the mesh, 71
 * eye-contour points per eye in crop pixels, in the eye-contour (iris)
 * model's topology.
 *
 * Why it replaces the eye-contour model when installed: the iris model draws
 * half-open lids on many real closed eyes (their ratios measured 0.06-0.27 on
 * the eye set, inside the range of open eyes), while the attention heads close
 * them (0.02-0.13 for most). One 192x192 run per face also replaces the two
 * 64x64 eye crops.
 *
 * The graph's crops are written for one face per run (its reshapes fix the
 * batch at 1), so faces run one by one.
 */
#include "core/common.h"

#include <math.h>
#include <string.h>

#include "face/stages.h"
#include "face/tensor_io.h"

#define ATT_NAME "face_landmark_attention"

/* Outputs, in the manifest's order: face flag, image-left eye, its iris, lips, mesh,
 * image-right eye, its iris. */
enum { OUT_FLAG, OUT_EYE_L, OUT_IRIS_L, OUT_LIPS, OUT_MESH, OUT_EYE_R, OUT_IRIS_R, OUT_COUNT };
enum { EYE_POINTS = 71 };

struct face_attention {
    struct face_ctx *ctx;
    struct pho_model *model;
    struct face_input in;
    int eye[2][6]; /* per eye output (image-left, image-right): its points in dlib order */
};

/* Its six points per eye, each below EYE_POINTS. */
static bool indices_ok(const int (*p)[6])
{
    for (int e = 0; e < 2; e++)
        for (int k = 0; k < 6; k++)
            if (p[e][k] < 0 || p[e][k] >= EYE_POINTS)
                return false;
    return true;
}

int pho_face__attention_open(struct face_attention **out, struct face_ctx *ctx, struct pho_err *err)
{
    *out = NULL;
    static const char *const names[] = { ATT_NAME, NULL };
    struct pho_err why = PHO_ERR_INIT;
    if (pho_face__probe_models(ctx, names, &why))
        return 0; /* not installed: the eye-contour model stands in */
    const struct pho_model_spec *spec = pho_models_find(ctx->models, ATT_NAME);
    if (!spec || !spec->has_eye_points || !indices_ok((const int(*)[6])spec->eye_points))
        return pho_err_set(err, PHO_EMODEL,
                           "face: the manifest entry of %s lacks valid "
                           "ear_indices",
                           ATT_NAME);
    struct face_attention *a = pho_calloc(1, sizeof(*a));
    if (!a)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    a->ctx = ctx;
    memcpy(a->eye, spec->eye_points, sizeof(a->eye));
    int rc = pho_face__model_input(ctx, ATT_NAME, &a->in, err);
    if (rc == 0)
        rc = pho_face__open_model(&a->model, ctx, ATT_NAME, err);
    if (rc == 0) {
        int64_t s1[PHO_TENSOR_MAX_DIMS], s5[PHO_TENSOR_MAX_DIMS];
        size_t r1 = pho_model_output_count(a->model) == OUT_COUNT
                            ? pho_model_output_shape(a->model, OUT_EYE_L, s1)
                            : 0;
        size_t r5 = r1 ? pho_model_output_shape(a->model, OUT_EYE_R, s5) : 0;
        if (a->in.channels != 3 || a->in.w != a->in.h || !r1 || !r5 ||
            s1[r1 - 1] != 2 * EYE_POINTS || s5[r5 - 1] != 2 * EYE_POINTS)
            rc = pho_err_set(err, PHO_EMODEL,
                             "face: %s does not have the attention mesh's "
                             "outputs",
                             ATT_NAME);
    }
    if (rc) {
        pho_face__attention_close(a);
        return rc;
    }
    *out = a;
    return 0;
}

void pho_face__attention_close(struct face_attention *a)
{
    if (!a)
        return;
    pho_model_close(a->model);
    pho_free(a);
}

int pho_face__attention_eyes(struct face_attention *a, const struct pho_image *img, float cx,
                             float cy, float crop, float angle, float (*eyes)[6][2],
                             struct pho_err *err)
{
    const int side = a->in.w;
    float *buf = pho_malloc(sizeof(float) * pho_face__input_len(&a->in));
    if (!buf)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    face_affine edge, centre, back;
    pho_face__roi_affine(cx, cy, crop, angle, side, edge);
    pho_face__edge_to_centre(edge, centre);
    pho_face__warp_aa(img, centre, side, side, &a->in.norm, buf);
    pho_face__affine_invert(edge, back);
    struct pho_tensor in = pho_face__input_batch(&a->in, buf, 1);
    struct pho_tensor res[OUT_COUNT] = { 0 };
    int rc = pho_model_run(a->model, &in, 1, res, OUT_COUNT, err);
    if (rc == 0 && (pho_tensor_count(&res[OUT_EYE_L]) != 2 * EYE_POINTS ||
                    pho_tensor_count(&res[OUT_EYE_R]) != 2 * EYE_POINTS))
        rc = pho_err_set(err, PHO_EINFER, "face: %s gave outputs of the wrong size", ATT_NAME);
    for (int e = 0; rc == 0 && e < 2; e++) {
        const float *o = res[e ? OUT_EYE_R : OUT_EYE_L].data;
        for (int k = 0; k < 6; k++) {
            int q = a->eye[e][k];
            pho_face__affine_apply(back, o[2 * q], o[2 * q + 1], &eyes[e][k][0], &eyes[e][k][1]);
        }
    }
    for (int k = 0; k < OUT_COUNT; k++)
        pho_tensor_release(&res[k]);
    pho_free(buf);
    return rc;
}
