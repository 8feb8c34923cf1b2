/* SPDX-License-Identifier: MIT */
/*
 * The facenet backend, the original tool's GPU choice re-created on ONNX
 * Runtime: MTCNN (p-net over an image pyramid, r-net and o-net on batched
 * crops) finds faces and their 5 points; the shared FaceMesh stage measures
 * the eyes on each face crop (the original invented constant hexagons there,
 * so it never saw a closed eye); the shared smile stage scores smiles; and the
 * shared embedding stage gives identities with InceptionResnetV1 (VGGFace2,
 * 512-d) when the user installed its ONNX export, else with the shipped
 * MobileFaceNet. The embedding stage standardises pixels the way each model
 * expects; the original fed raw 0..255 values to InceptionResnetV1.
 *
 * MTCNN itself is in mtcnn.c.
 */
#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/backend.h"
#include "face/mtcnn.h"
#include "face/stages.h"
#include "face/util.h"

/* How the mesh wants an MTCNN box reframed (see mesh_framing()). */
#define MESH_BOX_SHRINK 1.17f
#define MESH_BOX_DROP   0.073f

struct facenet {
    struct face_ctx *ctx;
    struct face_mtcnn mtcnn;
    struct face_mesh *mesh;
    struct face_smile *smile;
    struct face_embedder *embed;
};

/* ---- the backend ---- */

static int probe(const struct face_ctx *ctx, struct pho_err *err)
{
    return pho_face__probe_models(ctx, pho_face_backend_facenet.p.models, err);
}

/* InceptionResnetV1 when its file is installed and opens; otherwise MobileFaceNet. */
static int open_embedder(struct facenet *fn, struct face_ctx *ctx, struct pho_err *err)
{
    const struct pho_model_spec *spec = pho_models_find(ctx->models, "facenet_vggface2");
    char path[4200];
    struct pho_err why = PHO_ERR_INIT;
    if (spec && pho_models_locate(path, sizeof(path), spec, ctx->models_dir, &why) == 0) {
        if (pho_face__embed_open(&fn->embed, ctx, "facenet_vggface2", &why) == 0)
            return 0;
        pho_log(PHO_LOG_WARN, "face",
                "facenet: %s is installed but cannot be used (%s); using mobilefacenet", path,
                why.msg);
    }
    return pho_face__embed_open(&fn->embed, ctx, "mobilefacenet", err);
}

static int open_backend(void *priv, struct face_ctx *ctx, struct pho_err *err)
{
    struct facenet *fn = priv;
    fn->ctx = ctx;
    int rc = pho_face__mtcnn_open(&fn->mtcnn, ctx, err);
    if (rc == 0)
        rc = pho_face__mesh_open(&fn->mesh, ctx, err);
    if (rc == 0)
        rc = pho_face__smile_open(&fn->smile, ctx, err);
    if (rc == 0 && ctx->opts.encode)
        rc = open_embedder(fn, ctx, err);
    return rc;
}

static void close_backend(void *priv)
{
    struct facenet *fn = priv;
    pho_face__embed_close(fn->embed);
    pho_face__smile_close(fn->smile);
    pho_face__mesh_close(fn->mesh);
    pho_face__mtcnn_close(&fn->mtcnn);
}

static float clamp01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

/*
 * The mesh was made for MediaPipe's framing, a crop 1.5 times a BlazeFace
 * box. An MTCNN box reaches from the brows to the chin: on the 31 single-face
 * test portraits its long side was 1.17 times the BlazeFace box of the same
 * face and its centre 0.073 BlazeFace sides higher (medians). Reframed so, the
 * lowest open-eye EAR on the labelled photos (a broad smile) rose from 0.19
 * to 0.24 while shut eyes stayed under 0.08, further from the stage's
 * threshold on both sides. Turns @box (normalised) into that framing.
 */
static void mesh_framing(float box[4], float iw, float ih)
{
    float side = PHO_MAX((box[2] - box[0]) * iw, (box[3] - box[1]) * ih) / MESH_BOX_SHRINK;
    float cx = (box[0] + box[2]) / 2 * iw, cy = (box[1] + box[3]) / 2 * ih + MESH_BOX_DROP * side;
    box[0] = (cx - side / 2) / iw;
    box[1] = (cy - side / 2) / ih;
    box[2] = (cx + side / 2) / iw;
    box[3] = (cy + side / 2) / ih;
}

static int analyze(void *priv, const struct pho_image *img, struct pho_face_list *out,
                   struct pho_err *err)
{
    struct facenet *fn = priv;
    struct face_mtcnn_cands found = { 0 };
    float(*hints)[2][2] = NULL;
    float iw = (float)img->width, ih = (float)img->height;
    double t0 = pho_face__now();
    int rc = pho_face__mtcnn_detect(&fn->mtcnn, img, &found, err);
    pho_face__stat_add(fn->ctx, FACE_STAGE_DETECT, pho_face__now() - t0);
    if (rc || found.n == 0)
        goto done;
    hints = pho_calloc(found.n, sizeof(*hints));
    if (!hints) {
        rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        goto done;
    }
    for (size_t i = 0; i < found.n; i++) {
        const struct face_mtcnn_cand *b = &found.v[i];
        struct pho_face *f = pho_face__list_add(out);
        if (!f) {
            rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
            goto done;
        }
        f->box[0] = b->x0 / iw;
        f->box[1] = b->y0 / ih;
        f->box[2] = b->x1 / iw;
        f->box[3] = b->y1 / ih;
        f->score = b->score;
        /* o-net gives the eyes and the mouth corners in image-left, image-right order
         * for upright faces; sorting by x keeps that true for tilted ones too. */
        int le = b->pts[0][0] <= b->pts[1][0] ? 0 : 1, lm = b->pts[3][0] <= b->pts[4][0] ? 3 : 4;
        int order[5] = { le, 1 - le, 2, lm, 7 - lm };
        for (int k = 0; k < 5; k++) {
            f->pts5[k][0] = b->pts[order[k]][0] / iw;
            f->pts5[k][1] = b->pts[order[k]][1] / ih;
        }
        f->has_pts5 = true;
        memcpy(hints[i][0], b->pts[order[0]], sizeof(hints[i][0]));
        memcpy(hints[i][1], b->pts[order[1]], sizeof(hints[i][1]));
    }
    /* Faces the mesh cannot read (hands over them, profiles) are kept with their eyes
     * unknown: in the crowd photo 6 of 7 such detections are real faces. */
    for (size_t i = 0; i < out->count; i++)
        mesh_framing(out->faces[i].box, iw, ih);
    /* The dense mesh also gives the smile its mouth geometry; kept only when asked for. */
    out->dense_per_face = FACE_MESH_POINTS;
    rc = pho_face__mesh_run(fn->mesh, img, out, 0, (const float(*)[2][2])hints, err);
    for (size_t i = 0; i < out->count; i++) {
        const struct face_mtcnn_cand *b = &found.v[i];
        float box[4] = { b->x0 / iw, b->y0 / ih, b->x1 / iw, b->y1 / ih };
        for (int k = 0; k < 4; k++)
            out->faces[i].box[k] = clamp01(box[k]);
    }
done:
    pho_free(hints);
    pho_free(found.v);
    return rc;
}

static void tail(const void *priv, struct face_tail *out)
{
    const struct facenet *fn = priv;
    *out = (struct face_tail){ fn->smile, fn->embed };
}

const struct pho_face_backend pho_face_backend_facenet = {
    .p = {
        .name = "facenet",
        .cpu_rank = 0,
        .gpu_rank = 1,
        .description = "MTCNN detection and 5 points, FaceMesh eyes, emotion smile, "
                       "InceptionResnetV1 (when installed) or MobileFaceNet embeddings",
        .caps = PHO_FACE_CAP_DETECT | PHO_FACE_CAP_LANDMARKS | PHO_FACE_CAP_EYES |
                PHO_FACE_CAP_SMILE | PHO_FACE_CAP_ENCODE,
        .models = { "mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet", "face_landmark", "emotion",
                    "mobilefacenet", NULL },
        /* InceptionResnetV1 replaces MobileFaceNet; iris is the mesh stage's eyelid model. */
        .optional = { "facenet_vggface2", "iris", NULL },
    },
    .priv_size = sizeof(struct facenet),
    .probe = probe,
    .open = open_backend,
    .analyze = analyze,
    .close = close_backend,
    .tail = tail,
};
