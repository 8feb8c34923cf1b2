/* SPDX-License-Identifier: MIT */
/*
 * The yolov8 backend: a user-supplied YOLOv8n-face ONNX export finds faces
 * and five points on a 640x640 letterbox; the shared FaceMesh stage, run on
 * each face crop levelled by the detector's eye points, measures the
 * eyelids (the original drew a fixed hexagon around each eye instead, so it
 * never saw a closed eye), and the shared smile stage scores smiles. There
 * is no identity model, so no embeddings: face swapping needs another
 * backend.
 *
 * The input is RGB, as the network was trained; the original handed RGB to
 * a loader that expects BGR. Decoding lives in face/yolo.h.
 */
#include "core/common.h"

#include <math.h>
#include <string.h>

#include "face/backend.h"
#include "face/detect.h"
#include "face/stages.h"
#include "face/util.h"
#include "face/yolo.h"

enum {
    DET_SIZE = 640, /* the export's fixed input */
    /* Ultralytics' max_det: past this many faces a photo is a crowd, and the best-scored
     * ones are enough to judge it. */
    MAX_FACES = 300,
};

/*
 * Ultralytics predicts with conf 0.25, a general-purpose default tuned for
 * recall. Here a spurious "face" is worse than a missed background one: it
 * gets an eye verdict that can demote the best photo of a group, and the
 * faces between 0.25 and 0.5 are mostly tiny, blurred or turned away, where
 * FaceMesh eyes mean little. So the manifest's 0.5, the same bar as SCRFD's.
 * NMS at the manifest's IoU 0.5 rather than Ultralytics' 0.7, which lets
 * two boxes on one face through, and the face would be judged twice.
 */
#define DET_THRESH  0.5f
#define DET_NMS_IOU 0.5f
/* Ultralytics letterboxes with grey 114, the padding the network saw in training. */
#define PAD_VALUE   114.0f

struct yolo {
    struct face_ctx *ctx;
    struct pho_model *det;
    struct face_mesh *mesh;
    struct face_smile *smile;
};

static const char *const needed[] = { "yolov8n_face", "face_landmark", "emotion", NULL };

static int probe(const struct face_ctx *ctx, struct pho_err *err)
{
    return pho_face__probe_models(ctx, needed, err);
}

static int open_backend(void *priv, struct face_ctx *ctx, struct pho_err *err)
{
    struct yolo *p = priv;
    p->ctx = ctx;
    int rc = pho_face__open_model(&p->det, ctx, "yolov8n_face", err);
    if (rc == 0)
        rc = pho_face__mesh_open(&p->mesh, ctx, err);
    if (rc == 0)
        rc = pho_face__smile_open(&p->smile, ctx, err);
    return rc;
}

static void close_backend(void *priv)
{
    struct yolo *p = priv;
    pho_face__smile_close(p->smile);
    pho_face__mesh_close(p->mesh);
    pho_model_close(p->det);
    memset(p, 0, sizeof(*p));
}

/*
 * Overwrites the tensor pixels whose centre lies outside the letterboxed
 * image with @value (pho_face__letterbox pads with 0).
 */
static void pad_fill(float *t, int size, const face_affine to_tensor, unsigned img_w,
                     unsigned img_h, float value)
{
    /* Continuous extent of the image in the tensor; to_tensor maps pixel centres. */
    float s = to_tensor[0][0];
    float u0 = to_tensor[0][2] + 0.5f - 0.5f * s, u1 = u0 + s * (float)img_w;
    float v0 = to_tensor[1][2] + 0.5f - 0.5f * s, v1 = v0 + s * (float)img_h;
    size_t plane = (size_t)size * (size_t)size;
    for (int v = 0; v < size; v++) {
        bool row_out = v + 0.5f < v0 || v + 0.5f > v1;
        for (int u = 0; u < size; u++) {
            if (!row_out && u + 0.5f >= u0 && u + 0.5f <= u1)
                continue;
            size_t i = (size_t)v * (size_t)size + (size_t)u;
            t[i] = t[plane + i] = t[2 * plane + i] = value;
        }
    }
}

static int detect(struct yolo *p, const struct pho_image *img, struct face_det **out, size_t *count,
                  struct pho_err *err)
{
    static const struct face_norm norm = {
        { 0, 0, 0 }, { 1 / 255.0f, 1 / 255.0f, 1 / 255.0f }, true, false, false
    };
    struct pho_tensor res = { 0 };
    struct face_det *dets = NULL;
    face_affine to_tensor, to_image;
    int rc = 0;
    *out = NULL;
    *count = 0;
    float *in = NULL;
    rc = pho_face__letterbox_input(&in, img, DET_SIZE, &norm, to_tensor, to_image, err);
    if (rc)
        return rc;
    pad_fill(in, DET_SIZE, to_tensor, img->width, img->height, PAD_VALUE / 255.0f);
    struct pho_tensor t = { in, { 1, 3, DET_SIZE, DET_SIZE }, 4, false };
    rc = pho_model_run(p->det, &t, 1, &res, 1, err);
    if (rc)
        goto out;
    size_t anchors = pho_face__yolo_anchors(&res);
    if (!anchors) {
        char shape[96];
        rc = pho_err_set(err, PHO_EMODEL,
                         "face: yolov8 output is %s, expected [1,%d,anchors] (a pose export with "
                         "5 keypoints)",
                         pho_face__shape_str(&res, shape, sizeof(shape)), FACE_YOLO_ROWS);
        goto out;
    }
    size_t n = pho_face__yolo_decode(res.data, anchors, DET_THRESH, NULL, 0);
    if (n == 0)
        goto out;
    dets = pho_reallocarray(NULL, n, sizeof(*dets));
    if (!dets) {
        rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        goto out;
    }
    n = pho_face__yolo_decode(res.data, anchors, DET_THRESH, dets, n);
    *count = pho_face__dets_finish(dets, n, to_image, p->ctx->opts.min_face, img, DET_NMS_IOU,
                                   MAX_FACES);
    *out = dets;
    dets = NULL;
out:
    pho_tensor_release(&res);
    pho_free(dets);
    pho_free(in);
    return rc;
}

static int analyze(void *priv, const struct pho_image *img, struct pho_face_list *out,
                   struct pho_err *err)
{
    struct yolo *p = priv;
    struct face_det *dets = NULL;
    float(*hints)[2][2] = NULL;
    size_t n = 0;
    double t0 = pho_face__now();
    int rc = detect(p, img, &dets, &n, err);
    pho_face__stat_add(p->ctx, FACE_STAGE_DETECT, pho_face__now() - t0);
    if (rc || n == 0)
        goto out;
    hints = pho_reallocarray(NULL, n, sizeof(*hints));
    if (!hints) {
        rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct pho_face *f = pho_face__list_add(out);
        if (!f) {
            rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
            goto out;
        }
        pho_face__det_fill(f, &dets[i], img->width, img->height);
        /* Keypoints 0 and 1 are the image-left and image-right eyes, as the mesh wants them. */
        memcpy(hints[i], dets[i].kp, sizeof(hints[i]));
    }
    /* The dense mesh also gives the smile its mouth geometry; kept only when asked for. */
    out->dense_per_face = FACE_MESH_POINTS;
    rc = pho_face__mesh_run(p->mesh, img, out, 0, (const float(*)[2][2])hints, err);
out:
    pho_free(hints);
    pho_free(dets);
    return rc;
}

static void tail(const void *priv, struct face_tail *out)
{
    *out = (struct face_tail){ ((const struct yolo *)priv)->smile, NULL };
}

const struct pho_face_backend pho_face_backend_yolov8 = {
    .p = {
        .name = "yolov8",
        .cpu_rank = 0,
        .gpu_rank = 0,
        .description = "YOLOv8n-face (user-installed ONNX) detector with 5 points, FaceMesh "
                       "eyelids; no embeddings",
        .caps = PHO_FACE_CAP_DETECT | PHO_FACE_CAP_LANDMARKS | PHO_FACE_CAP_EYES |
                PHO_FACE_CAP_SMILE,
        .models = { "yolov8n_face", "face_landmark", "emotion", NULL },
        .optional = { "iris", NULL }, /* the mesh stage's eyelid model, used when installed */
    },
    .priv_size = sizeof(struct yolo),
    .probe = probe,
    .open = open_backend,
    .analyze = analyze,
    .close = close_backend,
    .tail = tail,
};
