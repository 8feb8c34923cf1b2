/* SPDX-License-Identifier: MIT */
/*
 * Open or closed, judged from the eye's pixels (model "eye_state", a small
 * CNN on a 24x24 grey crop of one eye; docs/faces.md): every backend's eyelid
 * landmarks place the crop, the model says whether the eye is shut.
 *
 * Why not the eyelid landmarks alone: landmark models are trained to draw an
 * eye where an eye should be, and on real closed eyes (laughter, glasses,
 * backlight, blur) they often draw an open one; the eye aspect ratio of
 * closed eyes on the eye set measured 0.14-0.26, across the range of open
 * ones. The classifier looks at the lashes, iris and sclera instead.
 *
 * Combined with the ratio: an eye is shut when the model is confident
 * (p(closed) >= 0.9) and its ratio is not wide open (< 0.30), or when the
 * ratio alone is below the calibrated 0.135 (what the landmarks say with
 * certainty stands).
 *
 * Honest uncertainty (docs/faces.md, "Unknown eyes"): an eye is unknown, not
 * guessed, when
 *   - it is under 6 px wide: neither the model nor the lid points can tell;
 *   - it is the far eye of a turned head (under half the near eye's width):
 *     foreshortened or hidden behind the nose, its crop shows cheek or hair;
 *   - the model and the lids contradict each other (p(closed) >= 0.9 with
 *     wide-open lids): dark glasses, a frame, a reflection or hair in the
 *     crop, and either answer would be a guess;
 *   - it looks shut on a face that is blurred or too small to carry detail
 *     (its sharpness, the variance of the Laplacian on a 96x96 grey crop,
 *     below 75): blur wipes out the iris against the white, so the model
 *     reads blurred open eyes as shut; an open call on such a face stands.
 *   - it looks shut while the other eye is open in a broad smile (score >=
 *     0.8), or behind a mask where a smile cannot be seen: the raised cheeks
 *     narrow one eye more than the other, and the model reads that squint as
 *     a wink (both eyes shut in a laugh still count as closed).
 * A face is closed when a judged eye is shut (a wink when the other eye is
 * judged open), open when no eye is shut and every eye is judged or hidden
 * (a profile shows one eye), and unknown otherwise.
 */
#include "core/common.h"

#include <math.h>
#include <string.h>

#include "face/stages.h"
#include "face/tensor_io.h"

enum { EYE_BATCH = 64 };

#define P_SHUT        0.9f  /* model confidence for a shut eye */
#define EAR_WIDE_OPEN 0.30f /* above this the model is overruled */
#define MIN_EYE_PX    6.0f  /* narrower eyes: the ratio alone */
#define CROP_SCALE    1.6f  /* crop side / eye width: how the model was trained */
#define FAR_EYE_RATIO 0.5f  /* narrower than this share of the other eye: hidden by the turn */
#define MIN_SHARPNESS 75.0f /* face sharpness below which a shut eye is unproven */
#define BROAD_SMILE   0.8f  /* smile score of a broad smile, which narrows the eyes */

struct face_eyestate {
    struct face_ctx *ctx;
    struct pho_model *model;
    struct face_input in;
};

int pho_face__eyestate_open(struct face_eyestate **out, struct face_ctx *ctx, struct pho_err *err)
{
    *out = NULL;
    struct face_eyestate *s = pho_calloc(1, sizeof(*s));
    if (!s)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    s->ctx = ctx;
    int rc = pho_face__model_input(ctx, "eye_state", &s->in, err);
    if (rc == 0)
        rc = pho_face__open_model(&s->model, ctx, "eye_state", err);
    if (rc == 0) {
        int64_t shape[PHO_TENSOR_MAX_DIMS];
        if (pho_model_output_shape(s->model, 0, shape) != 2 || shape[1] != 2 || s->in.channels != 1)
            rc = pho_err_set(
                    err, PHO_EMODEL,
                    "face: the eye_state model does not take grey eyes and give 2 classes");
    }
    if (rc) {
        pho_face__eyestate_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void pho_face__eyestate_close(struct face_eyestate *s)
{
    if (!s)
        return;
    pho_model_close(s->model);
    pho_free(s);
}

/* Width of one eye's corner line in image pixels. */
static float eye_width(const float (*e)[2], const struct pho_image *img)
{
    return hypotf((e[3][0] - e[0][0]) * (float)img->width,
                  (e[3][1] - e[0][1]) * (float)img->height);
}

/* The crop of one eye (six lid points, normalised), in image pixels: false when too small. */
static bool eye_square(const float (*e)[2], const struct pho_image *img, float *cx, float *cy,
                       float *side)
{
    float w = (float)img->width, h = (float)img->height;
    if (!(eye_width(e, img) >= MIN_EYE_PX))
        return false;
    /* The middle of the lids (the corners sit lower or higher with the head's tilt). */
    *cx = (e[1][0] + e[2][0] + e[4][0] + e[5][0]) / 4 * w;
    *cy = (e[1][1] + e[2][1] + e[4][1] + e[5][1]) / 4 * h;
    /* The model was trained on crops sized by the corners' horizontal distance. */
    *side = CROP_SCALE * fabsf(e[3][0] - e[0][0]) * w;
    if (!(*side >= CROP_SCALE * MIN_EYE_PX / 2))
        return false;
    return true;
}

/* How one eye was judged. */
enum eye_call { EYE_OPEN, EYE_SHUT, EYE_HIDDEN, EYE_UNSURE };

static enum eye_call judge_eye(float p, float ear, float width, float other_width)
{
    if (!isfinite(ear) || !(width >= MIN_EYE_PX))
        return EYE_HIDDEN;
    if (width < FAR_EYE_RATIO * other_width)
        return EYE_HIDDEN; /* the far eye of a turned head */
    if (ear < pho_face__mesh_closed_ear())
        return EYE_SHUT; /* what the lids say with certainty stands */
    if (!isfinite(p))
        return EYE_UNSURE;
    if (p >= P_SHUT)
        return ear < EAR_WIDE_OPEN ? EYE_SHUT : EYE_UNSURE;
    return EYE_OPEN;
}

static void judge(struct pho_face *f, const struct pho_image *img, const float p[2])
{
    /* Blur wipes out what shows an eye open (the iris against the white), so on a
     * blurred face a shut eye is unproven while an open one stands. */
    const bool blurred = isfinite(f->sharpness) && f->sharpness < MIN_SHARPNESS;
    const float ear[2] = { f->ear_l, f->ear_r };
    const float width[2] = { eye_width(f->eye_l, img), eye_width(f->eye_r, img) };
    enum eye_call c[2];
    for (int e = 0; e < 2; e++) {
        c[e] = judge_eye(p[e], ear[e], width[e], width[!e]);
        if (blurred && c[e] == EYE_SHUT)
            c[e] = EYE_UNSURE;
    }
    int shut = (c[0] == EYE_SHUT) + (c[1] == EYE_SHUT);
    int open = (c[0] == EYE_OPEN) + (c[1] == EYE_OPEN);
    int unsure = (c[0] == EYE_UNSURE) + (c[1] == EYE_UNSURE);
    if (shut == 1 && open == 1 &&
        (f->mouth_hidden || (isfinite(f->smile) && f->smile >= BROAD_SMILE))) {
        /* One eye "shut" in a broad smile: the cheeks push one eye narrower than the
         * other, which the model cannot tell from a wink; behind a mask the smile
         * cannot be seen, so the squint cannot be ruled out. */
        f->eyes_closed = f->winking = -1;
    } else if (shut) {
        f->eyes_closed = 1;
        f->winking = shut == 1 && open == 1;
    } else if (open && !unsure) {
        f->eyes_closed = f->winking = 0;
    } else {
        f->eyes_closed = f->winking = -1;
    }
}

int pho_face__eyestate_run_jobs(struct face_eyestate *s, const struct face_job *jobs, size_t njobs,
                                struct pho_err *err)
{
    struct face_ref *refs = NULL;
    size_t n = 0;
    int rc = pho_face__jobs_flatten(&refs, &n, jobs, njobs, err);
    if (rc || n == 0)
        return rc;
    size_t len = pho_face__input_len(&s->in);
    float *buf = pho_calloc((size_t)EYE_BATCH * len, sizeof(float));
    float *prob = pho_calloc(2 * n, sizeof(float));
    /* Which (face, eye) each batch slot holds. */
    size_t(*slot)[2] = pho_calloc(EYE_BATCH, sizeof(*slot));
    if (!buf || !prob || !slot) {
        rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        goto out;
    }
    for (size_t i = 0; i < 2 * n; i++)
        prob[i] = NAN;
    double t0 = pho_face__now();
    size_t used = 0;
    for (size_t i = 0; i <= n && rc == 0; i++) {
        for (int e = 0; i < n && e < 2; e++) {
            const struct face_job *j = &jobs[refs[i].job];
            const struct pho_face *f = &j->faces->faces[refs[i].face];
            float cx, cy, side;
            if (!f->has_eyes || !isfinite(e ? f->ear_r : f->ear_l) ||
                !eye_square(e ? f->eye_r : f->eye_l, j->img, &cx, &cy, &side))
                continue;
            face_affine edge, centre;
            pho_face__roi_affine(cx, cy, side, 0, s->in.w, edge);
            pho_face__edge_to_centre(edge, centre);
            pho_face__warp_sharp(j->img, centre, s->in.w, s->in.h, &s->in.norm, buf + used * len);
            slot[used][0] = i;
            slot[used][1] = (size_t)e;
            used++;
        }
        if (used == EYE_BATCH || (i == n && used)) {
            struct pho_tensor in = pho_face__input_batch(&s->in, buf, used);
            struct pho_tensor res = { 0 };
            rc = pho_model_run(s->model, &in, 1, &res, 1, err);
            for (size_t k = 0; rc == 0 && k < used; k++) {
                /* softmax of the two logits: index 0 is "closed" */
                float a = res.data[2 * k], b = res.data[2 * k + 1];
                prob[2 * slot[k][0] + slot[k][1]] = 1.0f / (1.0f + expf(b - a));
            }
            pho_tensor_release(&res);
            used = 0;
        }
    }
    pho_face__stat_add(s->ctx, FACE_STAGE_LANDMARKS, pho_face__now() - t0);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct pho_image *img = jobs[refs[i].job].img;
        struct pho_face *f = &jobs[refs[i].job].faces->faces[refs[i].face];
        if (!f->has_eyes || (!isfinite(f->ear_l) && !isfinite(f->ear_r)))
            continue;
        pho_face__fill_sharpness(f, img); /* the judge reads it; kept for later stages */
        judge(f, img, &prob[2 * i]);
    }
out:
    pho_free(slot);
    pho_free(prob);
    pho_free(buf);
    pho_free(refs);
    return rc;
}
