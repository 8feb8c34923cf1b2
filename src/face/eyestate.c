/* SPDX-License-Identifier: MIT */
/*
 * Open or closed, judged from the eye's pixels (model "eye_state", a small
 * CNN on a 24x24 grey crop of one eye; docs/faces.md) and from eyelids that
 * close on shut eyes (MediaPipe's attention mesh, attention.c, when
 * installed; the backend's own eyelid points otherwise). The faces keep
 * their backend's points and ratios: only the judgement is made here.
 *
 * Why not the eyelid landmarks alone: landmark models are trained to draw an
 * eye where an eye should be, and on real closed eyes (laughter, glasses,
 * backlight, blur) they often draw an open one; the eye aspect ratio of
 * closed eyes on the eye set measured 0.14-0.26 with the iris model, across
 * the range of open ones. The classifier looks at the lashes, iris and sclera
 * instead; it reads each eye in six crops (three sizes, placed by each set of
 * lids) and the median answer counts.
 *
 * Combined with the ratio: an eye is shut when the model is confident
 * (p(closed) >= 0.9) and its ratio is not wide open (< 0.30), or when the
 * ratio alone is below the lids' calibrated threshold (0.10 for the attention
 * mesh, 0.135 for the iris model: what the lids say with certainty stands).
 * With lids that close on shut eyes, two checks against the model alone:
 * both eyes called shut while both lids show them open (>= 0.13) is a lowered
 * lid over a visible iris, unknown; one eye called shut while its lids are
 * open and no narrower than the other eye's is no wink, open.
 *
 * Honest uncertainty (docs/faces.md, "Unknown eyes"): an eye is unknown, not
 * guessed, when
 *   - it is under 8 px wide: neither the model nor the lid points can tell;
 *   - it is the far eye of a turned head (under half the near eye's width):
 *     foreshortened or hidden behind the nose, its crop shows cheek or hair;
 *   - the model and the lids contradict each other (p(closed) >= 0.9 with
 *     wide-open lids): dark glasses, a frame, a reflection or hair in the
 *     crop, and either answer would be a guess (with the attention lids, the
 *     whole face when the model's only other shut call is the other eye);
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

/* Each eye is read in crops of 0.9, 1 and 1.1 times the trained size, placed by each
 * eyelid model at hand (the attention mesh's and the backend's own lids), and the median
 * answer taken: at the sizes of real eyes (10-30 px) a pixel's difference in the lid
 * points moved single answers from 0.16 to 0.98, while a few odd crops do not carry the
 * call. (The mirror image is no view: the model answers differently for it.) */
static const float view_scale[] = { 0.9f, 1.0f, 1.1f };
enum { SCALES = PHO_ARRAY_LEN(view_scale), VIEWS = 2 * SCALES };

/* The median of the views read (NAN ones are not), NAN when none was. */
static float median_views(const float *v)
{
    float x[VIEWS];
    int n = 0;
    for (int i = 0; i < VIEWS; i++)
        if (isfinite(v[i]))
            x[n++] = v[i];
    for (int i = 1; i < n; i++) /* insertion sort: six values at most */
        for (int j = i; j > 0 && x[j - 1] > x[j]; j--) {
            float t = x[j];
            x[j] = x[j - 1];
            x[j - 1] = t;
        }
    if (n == 0)
        return NAN;
    return n % 2 ? x[n / 2] : 0.5f * (x[n / 2 - 1] + x[n / 2]);
}

#define P_SHUT           0.9f  /* model confidence for a shut eye */
#define EAR_WIDE_OPEN    0.30f /* above this the model is overruled */
#define MIN_EYE_PX       8.0f  /* narrower eyes: the ratio alone */
#define CROP_SCALE       1.6f  /* crop side / eye width: how the model was trained */
#define FAR_EYE_RATIO    0.5f  /* narrower than this share of the other eye: hidden by the turn */
#define MIN_SHARPNESS    75.0f /* face sharpness below which a shut eye is unproven */
#define BROAD_SMILE      0.8f  /* smile score of a broad smile, which narrows the eyes */
/* The attention mesh's lids (docs/faces.md, "Eyelids for the judge") close on shut eyes
 * (0.02-0.13 on the eye set) while open eyes measured 0.13 and up: below ATT_CLOSED_EAR an
 * eye is shut whatever else is said, at ATT_OPEN_EAR and above its lids show it open. */
#define ATT_CLOSED_EAR   0.10f
#define ATT_OPEN_EAR     0.13f
/* A face whose eyes look open beyond doubt on the backend's lids skips the attention mesh:
 * every crop under this p(closed), each ratio at least this. */
#define CLEARLY_OPEN_P   0.5f
#define CLEARLY_OPEN_EAR 0.20f

struct face_eyestate {
    struct face_ctx *ctx;
    struct pho_model *model;
    struct face_input in;
    struct face_attention *att; /* NULL: the backend's eyelid points place the crops */
};

/* The eyelids the judge reads for one face: normalised like pho_face's, dlib order. */
struct lids {
    float eye[2][6][2];
    float ear[2];
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
    if (rc == 0)
        rc = pho_face__attention_open(&s->att, ctx, err);
    ctx->lids_attention = s->att != NULL;
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
    pho_face__attention_close(s->att);
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

/* How one eye was judged; EYE_CONTRA: unsure because the model says shut against wide-open
 * lids. */
enum eye_call { EYE_OPEN, EYE_SHUT, EYE_HIDDEN, EYE_UNSURE, EYE_CONTRA };

static enum eye_call judge_eye(float p, float ear, float width, float other_width, float closed)
{
    if (!isfinite(ear) || !(width >= MIN_EYE_PX))
        return EYE_HIDDEN;
    if (width < FAR_EYE_RATIO * other_width)
        return EYE_HIDDEN; /* the far eye of a turned head */
    if (ear < closed)
        return EYE_SHUT; /* what the lids say with certainty stands */
    if (!isfinite(p))
        return EYE_UNSURE;
    if (p >= P_SHUT)
        return ear < EAR_WIDE_OPEN ? EYE_SHUT : EYE_CONTRA;
    return EYE_OPEN;
}

/*
 * @closed: the ratio under which the lids alone say shut; @lids_open: the ratio at and above
 * which they show an eye open, INFINITY for lids that do not close reliably (then neither
 * the lowered-lid nor the wink checks apply).
 */
static void judge(struct pho_face *f, const struct pho_image *img, const struct lids *l,
                  const float p[2], float closed, float lids_open)
{
    /* Blur wipes out what shows an eye open (the iris against the white), so on a
     * blurred face a shut eye is unproven while an open one stands. */
    const bool blurred = isfinite(f->sharpness) && f->sharpness < MIN_SHARPNESS;
    const float *ear = l->ear;
    const float width[2] = { eye_width(l->eye[0], img), eye_width(l->eye[1], img) };
    enum eye_call c[2];
    for (int e = 0; e < 2; e++) {
        c[e] = judge_eye(p[e], ear[e], width[e], width[!e], closed);
        if (blurred && c[e] == EYE_SHUT)
            c[e] = EYE_UNSURE;
    }
    int shut = (c[0] == EYE_SHUT) + (c[1] == EYE_SHUT);
    int open = (c[0] == EYE_OPEN) + (c[1] == EYE_OPEN);
    int contra = (c[0] == EYE_CONTRA) + (c[1] == EYE_CONTRA);
    int unsure = (c[0] == EYE_UNSURE) + (c[1] == EYE_UNSURE) + contra;
    /* The model's word alone for the shut eye (the lids do not say shut). */
    const int se = c[0] == EYE_SHUT ? 0 : 1;
    const bool model_only = shut == 1 && !(ear[se] < closed);
    if (model_only && open == 1 && ear[se] >= lids_open && ear[se] >= ear[!se]) {
        /* A wink narrows one eye: lids that close on shut eyes showing the "shut" eye
         * open and no narrower than the open one overrule the model (a frame or a
         * reflection in its crop). */
        c[se] = EYE_OPEN;
        shut = 0;
        open = 2;
    }
    if (shut == 2 && ear[0] >= lids_open && ear[1] >= lids_open) {
        /* The model says both eyes are shut, and lids that close on shut eyes (the
         * attention mesh's) show both open: lids lowered over a visible iris (drowsy, a
         * downward look) read as shut to the model. Two measures against one. */
        f->eyes_closed = f->winking = -1;
    } else if (model_only && contra == 1 && isfinite(lids_open)) {
        /* The model says both eyes are shut, and the lids show one of them wide open:
         * whatever misleads it there (dark glasses, a frame, hair) is likely over the
         * other eye too. */
        f->eyes_closed = f->winking = -1;
    } else if (shut == 1 && open == 1 &&
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

/* The backend's own eyelid points of @f as the lids the judge reads. */
static void own_lids(const struct pho_face *f, struct lids *l)
{
    memcpy(l->eye[0], f->eye_l, sizeof(l->eye[0]));
    memcpy(l->eye[1], f->eye_r, sizeof(l->eye[1]));
    l->ear[0] = f->ear_l;
    l->ear[1] = f->ear_r;
}

/* The attention mesh's eyelids of @f, run on the face mesh's framing (a square 1.5x the
 * box, turned so the eyes are level). */
static int attention_lids(struct face_eyestate *s, const struct pho_image *img,
                          const struct pho_face *f, struct lids *l, struct pho_err *err)
{
    const float w = (float)img->width, h = (float)img->height;
    float x0 = f->box[0] * w, y0 = f->box[1] * h, x1 = f->box[2] * w, y1 = f->box[3] * h;
    float lx = (f->eye_l[0][0] + f->eye_l[3][0]) / 2 * w,
          ly = (f->eye_l[0][1] + f->eye_l[3][1]) / 2 * h;
    float rx = (f->eye_r[0][0] + f->eye_r[3][0]) / 2 * w,
          ry = (f->eye_r[0][1] + f->eye_r[3][1]) / 2 * h;
    float px[2][6][2];
    int rc = pho_face__attention_eyes(s->att, img, (x0 + x1) / 2, (y0 + y1) / 2,
                                      PHO_MAX(1.5f * PHO_MAX(x1 - x0, y1 - y0), 1.0f),
                                      atan2f(ry - ly, rx - lx), px, err);
    if (rc)
        return rc;
    for (int e = 0; e < 2; e++) {
        l->ear[e] = pho_face__ear(px[e]);
        for (int k = 0; k < 6; k++) {
            l->eye[e][k][0] = px[e][k][0] / w;
            l->eye[e][k][1] = px[e][k][1] / h;
        }
    }
    return 0;
}

/* Everything one call works with. */
struct run {
    struct face_eyestate *s;
    const struct face_job *jobs;
    const struct face_ref *refs;
    size_t n;
    struct lids *lids; /* per face: what the judge reads */
    bool *att;         /* per face: lids[] are the attention mesh's */
    float *views;      /* per face, eye and view: p(shut), NAN when not read */
    float *buf;        /* EYE_BATCH crops */
    size_t *slot;      /* which view each crop of buf is */
};

/* Reads views 0 .. SCALES - 1 of every face, placed by the backend's lids (@own), or views
 * SCALES .. VIEWS - 1 of the faces given the attention mesh's lids. */
static int read_views(struct run *r, bool own, struct pho_err *err)
{
    const size_t v0 = own ? 0 : SCALES;
    struct face_eyestate *s = r->s;
    const size_t len = pho_face__input_len(&s->in), total = 2 * r->n * SCALES;
    size_t used = 0;
    int rc = 0;
    for (size_t q = 0; q <= total && rc == 0; q++) {
        if (q < total) {
            const size_t i = q / (2 * SCALES), e = q / SCALES % 2, v = q % SCALES;
            const struct face_job *j = &r->jobs[r->refs[i].job];
            const struct pho_face *f = &j->faces->faces[r->refs[i].face];
            const float(*lid)[2] =
                    own ? (e ? f->eye_r : f->eye_l) : (const float(*)[2])r->lids[i].eye[e];
            float cx, cy, side;
            if ((!own && !r->att[i]) || !f->has_eyes || !isfinite(r->lids[i].ear[e]) ||
                !eye_square(lid, j->img, &cx, &cy, &side))
                continue;
            face_affine edge, centre;
            pho_face__roi_affine(cx, cy, side * view_scale[v], 0, s->in.w, edge);
            pho_face__edge_to_centre(edge, centre);
            pho_face__warp_sharp(j->img, centre, s->in.w, s->in.h, &s->in.norm,
                                 r->buf + used * len);
            r->slot[used++] = (2 * i + e) * VIEWS + v0 + v;
        }
        if (used == EYE_BATCH || (q == total && used)) {
            struct pho_tensor in = pho_face__input_batch(&s->in, r->buf, used);
            struct pho_tensor res = { 0 };
            rc = pho_model_run(s->model, &in, 1, &res, 1, err);
            for (size_t k = 0; rc == 0 && k < used; k++) {
                /* softmax of the two logits: index 0 is "closed" */
                float a = res.data[2 * k], b = res.data[2 * k + 1];
                r->views[r->slot[k]] = 1.0f / (1.0f + expf(b - a));
            }
            pho_tensor_release(&res);
            used = 0;
        }
    }
    return rc;
}

/*
 * Whether a face needs the attention mesh: not when both its eyes look clearly open to the
 * model on every crop the backend's lids place (p < 0.5) and to those lids (ratio >= 0.20).
 * Then the attention lids could only disagree alone; most faces in photos are such, and
 * the mesh costs about 6 ms a face.
 */
static bool needs_attention(const struct run *r, size_t i)
{
    const struct pho_face *f = &r->jobs[r->refs[i].job].faces->faces[r->refs[i].face];
    if (!f->has_eyes)
        return false;
    for (int e = 0; e < 2; e++) {
        float ear = e ? f->ear_r : f->ear_l;
        if (!(ear >= CLEARLY_OPEN_EAR))
            return true;
        for (int v = 0; v < SCALES; v++)
            if (!(r->views[(2 * i + (size_t)e) * VIEWS + (size_t)v] < CLEARLY_OPEN_P))
                return true;
    }
    return false;
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
    struct run r = { .s = s, .jobs = jobs, .refs = refs, .n = n };
    float *prob = pho_calloc(2 * n, sizeof(float));
    r.buf = pho_calloc((size_t)EYE_BATCH * len, sizeof(float));
    r.views = pho_calloc(2 * n * VIEWS, sizeof(float));
    r.slot = pho_calloc(EYE_BATCH, sizeof(*r.slot));
    r.lids = pho_calloc(n, sizeof(*r.lids));
    r.att = pho_calloc(n, sizeof(*r.att));
    if (!r.buf || !prob || !r.views || !r.slot || !r.lids || !r.att) {
        rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        goto out;
    }
    double t0 = pho_face__now();
    for (size_t k = 0; k < 2 * n * VIEWS; k++)
        r.views[k] = NAN;
    /* The backend's lids first; the attention mesh where they leave a doubt. */
    for (size_t i = 0; i < n; i++)
        own_lids(&jobs[refs[i].job].faces->faces[refs[i].face], &r.lids[i]);
    rc = read_views(&r, true, err);
    for (size_t i = 0; i < n && rc == 0 && s->att; i++) {
        if (!needs_attention(&r, i))
            continue;
        rc = attention_lids(s, jobs[refs[i].job].img, &jobs[refs[i].job].faces->faces[refs[i].face],
                            &r.lids[i], err);
        r.att[i] = true;
    }
    if (rc == 0 && s->att)
        rc = read_views(&r, false, err);
    for (size_t k = 0; k < 2 * n; k++)
        prob[k] = median_views(r.views + k * VIEWS);
    pho_face__stat_add(s->ctx, FACE_STAGE_LANDMARKS, pho_face__now() - t0);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct pho_image *img = jobs[refs[i].job].img;
        struct pho_face *f = &jobs[refs[i].job].faces->faces[refs[i].face];
        const struct lids *l = &r.lids[i];
        if (!f->has_eyes || (!isfinite(l->ear[0]) && !isfinite(l->ear[1])))
            continue;
        pho_face__fill_sharpness(f, img); /* the judge reads it; kept for later stages */
        judge(f, img, l, &prob[2 * i], r.att[i] ? ATT_CLOSED_EAR : pho_face__mesh_closed_ear(),
              r.att[i] ? ATT_OPEN_EAR : INFINITY);
        PHO_LOG_DEBUG("face",
                      "eye state: face %zu: p(shut) %.2f / %.2f, ratio %.3f / %.3f (%s lids) -> %s",
                      refs[i].face, (double)prob[2 * i], (double)prob[2 * i + 1], (double)l->ear[0],
                      (double)l->ear[1], r.att[i] ? "attention" : "own", pho_face_eyes_word(f));
    }
out:
    pho_free(r.att);
    pho_free(r.lids);
    pho_free(r.slot);
    pho_free(r.views);
    pho_free(prob);
    pho_free(r.buf);
    pho_free(refs);
    return rc;
}
