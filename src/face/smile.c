/* SPDX-License-Identifier: MIT */
/*
 * The smile stage shared by the backends: the expression model (oarriaga's
 * mini-Xception, 7 classes) reads each face aligned by its five points onto
 * the framing of a face-detector box (grey 64x64), and its P(happy) is
 * combined with the mouth's geometry: mouth width against eye distance, and,
 * when the caller has the dense mesh, how far the mouth corners rise above
 * the middle of the lips. The model leads; geometry can only temper it
 * (docs/faces.md, "Smile").
 */
#include "core/common.h"

#include <math.h>
#include <string.h>

#include "face/stages.h"
#include "face/tensor_io.h"

enum { SMILE_BATCH = 32, EMOTION_CLASSES = 7, EMOTION_HAPPY = 3 };

/* FaceMesh points of the lips' middle: inner upper lip, inner lower lip. */
enum { MESH_LIP_UPPER = 13, MESH_LIP_LOWER = 14, MESH_POINTS = 468 };

/*
 * Where the five points sit in the model's input, as fractions of its side:
 * the mean position of the mesh's five points inside BlazeFace boxes over
 * the test portraits (docs/faces.md), i.e. the "detector box" framing the
 * model expects, made independent of the detector by aligning on the points.
 */
static const float smile_template[5][2] = {
    { 0.309f, 0.328f }, { 0.691f, 0.328f }, { 0.500f, 0.577f },
    { 0.323f, 0.719f }, { 0.677f, 0.719f },
};

struct face_smile {
    struct face_ctx *ctx;
    struct pho_model *model;
    struct face_input in;
    float tmpl[5][2];
};

int pho_face__smile_open(struct face_smile **out, struct face_ctx *ctx, struct pho_err *err)
{
    *out = NULL;
    struct face_smile *s = pho_calloc(1, sizeof(*s));
    if (!s)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    s->ctx = ctx;
    int rc = pho_face__model_input(ctx, "emotion", &s->in, err);
    if (rc == 0)
        rc = pho_face__open_model(&s->model, ctx, "emotion", err);
    if (rc == 0) {
        int64_t shape[PHO_TENSOR_MAX_DIMS];
        size_t rank = pho_model_output_shape(s->model, 0, shape);
        if (rank != 2 || shape[1] != EMOTION_CLASSES)
            rc = pho_err_set(err, PHO_EMODEL, "face: the emotion model does not give %d classes",
                             EMOTION_CLASSES);
    }
    if (rc) {
        pho_face__smile_close(s);
        return rc;
    }
    for (int k = 0; k < 5; k++) {
        s->tmpl[k][0] = smile_template[k][0] * (float)s->in.w - 0.5f;
        s->tmpl[k][1] = smile_template[k][1] * (float)s->in.h - 0.5f;
    }
    *out = s;
    return 0;
}

void pho_face__smile_close(struct face_smile *s)
{
    if (!s)
        return;
    pho_model_close(s->model);
    pho_free(s);
}

/* The crop: a similarity from the face's five points onto the template; or its box. */
static void crop_map(const struct face_smile *s, const struct pho_face *f, float w, float h,
                     face_affine m)
{
    if (f->has_pts5 && pho_face__align5(f, w, h, (const float(*)[2])s->tmpl, m))
        return;
    float x0 = f->box[0] * w, y0 = f->box[1] * h,
          side = PHO_MAX((f->box[2] - f->box[0]) * w, (f->box[3] - f->box[1]) * h);
    float cx = x0 + (f->box[2] - f->box[0]) * w / 2, cy = y0 + (f->box[3] - f->box[1]) * h / 2;
    face_affine edge;
    pho_face__roi_affine(cx, cy, side > 1 ? side : 1, 0, s->in.w, edge);
    pho_face__edge_to_centre(edge, m);
}

/*
 * Mouth geometry in the face's own upright frame (eye line level), in units
 * of the eye distance: width = corner to corner; lift = how far the corners
 * sit above the middle of the lips (NAN without the dense mesh).
 */
static void mouth_geometry(const struct pho_face *f, const float (*dense)[2], float w, float h,
                           float *width, float *lift)
{
    *width = *lift = NAN;
    if (!f->has_pts5)
        return;
    float ex = (f->pts5[1][0] - f->pts5[0][0]) * w, ey = (f->pts5[1][1] - f->pts5[0][1]) * h;
    float d = hypotf(ex, ey);
    if (!(d > 1e-3f))
        return;
    float ux = ex / d, uy = ey / d; /* along the eyes; (-uy, ux) points down the face */
    float mx = (f->pts5[4][0] - f->pts5[3][0]) * w, my = (f->pts5[4][1] - f->pts5[3][1]) * h;
    *width = hypotf(mx, my) / d;
    if (!dense)
        return;
    float cx = (f->pts5[3][0] + f->pts5[4][0]) / 2 * w,
          cy = (f->pts5[3][1] + f->pts5[4][1]) / 2 * h;
    float lx = (dense[MESH_LIP_UPPER][0] + dense[MESH_LIP_LOWER][0]) / 2 * w;
    float ly = (dense[MESH_LIP_UPPER][1] + dense[MESH_LIP_LOWER][1]) / 2 * h;
    /* Distance of the lip middle below the corners' midpoint, along the face's down axis. */
    *lift = ((lx - cx) * -uy + (ly - cy) * ux) / d;
}

/*
 * Geometry's vote, 0..1: a smile widens the mouth and lifts its corners.
 * Centres and spreads from the test portraits (docs/faces.md, "Smile"):
 * neutral mouths measure 0.73-0.98 eye distances wide with lifts up to
 * 0.09 (an open, talking mouth), smiles 1.02-1.19 wide with lifts from 0.12.
 */
static float geometry_score(float width, float lift)
{
    if (isnan(width))
        return NAN;
    float g = pho_face__sigmoid((width - 1.0f) / 0.05f);
    if (!isnan(lift))
        g = 0.5f * g + 0.5f * pho_face__sigmoid((lift - 0.09f) / 0.02f);
    return g;
}

int pho_face__smile_run_jobs(struct face_smile *s, const struct face_job *jobs, size_t njobs,
                             struct pho_err *err)
{
    struct face_ref *refs;
    size_t n;
    int rc = pho_face__jobs_flatten(&refs, &n, jobs, njobs, err);
    if (rc || n == 0)
        return rc;
    double t0 = pho_face__now();
    size_t item = pho_face__input_len(&s->in);
    float *buf = pho_malloc(sizeof(float) * item * PHO_MIN(n, (size_t)SMILE_BATCH));
    if (!buf) {
        rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        goto out;
    }
    for (size_t b0 = 0; b0 < n && rc == 0; b0 += SMILE_BATCH) {
        size_t nb = PHO_MIN(n - b0, (size_t)SMILE_BATCH);
        face_affine maps[SMILE_BATCH]; /* each face's crop, for the model and the mouth check */
        for (size_t j = 0; j < nb; j++) {
            const struct face_job *jb = &jobs[refs[b0 + j].job];
            crop_map(s, &jb->faces->faces[refs[b0 + j].face], (float)jb->img->width,
                     (float)jb->img->height, maps[j]);
            pho_face__warp_aa(jb->img, maps[j], s->in.w, s->in.h, &s->in.norm, buf + j * item);
        }
        struct pho_tensor in = pho_face__input_batch(&s->in, buf, nb);
        struct pho_tensor o = { 0 };
        rc = pho_model_run(s->model, &in, 1, &o, 1, err);
        if (rc)
            break;
        if (pho_tensor_count(&o) != nb * EMOTION_CLASSES) {
            rc = pho_err_set(err, PHO_EINFER, "face: the emotion model gave the wrong output size");
        } else {
            for (size_t j = 0; j < nb; j++) {
                const struct face_job *jb = &jobs[refs[b0 + j].job];
                const struct pho_face_list *faces = jb->faces;
                size_t i = refs[b0 + j].face;
                struct pho_face *f = &faces->faces[i];
                float p = o.data[j * EMOTION_CLASSES + EMOTION_HAPPY], width, lift;
                bool dense = faces->dense && faces->dense_per_face == MESH_POINTS &&
                             !isnan(faces->dense[i * MESH_POINTS][0]);
                mouth_geometry(f,
                               dense ? (const float(*)[2])(faces->dense + i * MESH_POINTS) : NULL,
                               (float)jb->img->width, (float)jb->img->height, &width, &lift);
                float g = geometry_score(width, lift);
                /* The model leads: geometry moves the score by at most a third, so a
                 * wide open mouth (anger, speech) cannot make a smile on its own. */
                f->smile = isnan(g) ? p : p * (2.0f / 3.0f + g / 3.0f) + (1 - p) * g / 6.0f;
                /* A mouth behind a mask, a hand or another head shows no smile, and
                 * a guessed one must not choose between takes. */
                f->mouth_hidden =
                        f->has_pts5 && pho_face__mouth_hidden(faces, i, jb->img, maps[j], s->in.w);
                if (f->mouth_hidden)
                    f->smile = NAN;
                PHO_LOG_DEBUG("face", "smile: p_happy %.3f width %.3f lift %.3f geometry %.3f",
                              (double)p, (double)width, (double)lift, (double)g);
            }
        }
        pho_tensor_release(&o);
    }
out:
    pho_free(buf);
    pho_free(refs);
    pho_face__stat_add(s->ctx, FACE_STAGE_SMILE, pho_face__now() - t0);
    return rc;
}

int pho_face__smile_run(struct face_smile *s, const struct pho_image *img,
                        struct pho_face_list *faces, size_t first, struct pho_err *err)
{
    struct face_job jb = { img, faces, first, NULL };
    return pho_face__smile_run_jobs(s, &jb, 1, err);
}
