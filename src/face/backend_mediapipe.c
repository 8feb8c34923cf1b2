/* SPDX-License-Identifier: MIT */
/*
 * The mediapipe backend, the default on the CPU: MediaPipe's full-range
 * BlazeFace (192x192) over the whole image and, when the smallest face asked
 * for (opts.min_face) is too small for that pass, over overlapping square
 * tiles sized so such a face is big enough for the detector; detections of
 * every pass are blended by MediaPipe's weighted NMS. Then, per image in one
 * batch per model: FaceMesh 468 (five points, yaw; its presence score drops
 * non-faces the detector was not sure of), the eye-contour model (eyelids,
 * EAR, closed / wink), the expression model (smile) and MobileFaceNet
 * (192-d identity). Pipeline, tiles and thresholds: docs/faces.md.
 */
#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/stages.h"
#include "face/tensor_io.h"

/* Smallest face (box side, tensor pixels) the full-range detector finds reliably at 192
 * (docs/faces.md, "Tiles"). */
#define DET_MIN_PX      12.0f
/* Score cut-off: below the manifest's 0.6 (MediaPipe's), which lost faces in tiles; the
 * mesh's presence score is the second stage that removes what this lets through. */
#define DET_MIN_SCORE   0.4f
/* A detection the mesh cannot read is still kept (eyes unknown) from this score up. */
#define DET_KEEP_UNREAD 0.7f
/* MediaPipe's blending NMS overlap. */
#define DET_NMS_IOU     0.3f
/* Faces smaller than this many image pixels are not looked for, whatever min_face says:
 * their eyes and mouth are a few pixels wide. */
#define MIN_FACE_ABS_PX 20.0f
/* Tiles step by at most 3/4 of their side, so a face up to 1/4 of a tile lies wholly in one. */
#define TILE_STEP       0.75f
/* A tile detection this close (fraction of the tile) to an inner tile edge is cut by it. */
#define TILE_EDGE       0.01f

/* Passes per detector run: on a GPU as many as fit; on the CPU one at a time measured
 * fastest (55.6 against 62.0 ms per photo for 16, docs/faces.md). */
enum { DET_BATCH_GPU = 16, MAX_PASSES = 256, MAX_FACES = 128, MESH_POINTS = 468 };

struct mp {
    struct face_ctx *ctx;
    struct pho_model *det;
    struct face_input det_in;
    int grid; /* anchors per side (48: stride 4) */
    struct face_mesh *mesh;
    struct face_smile *smile;
    struct face_embedder *embed; /* NULL when opts.encode is off */
};

/* One detector pass: a square of the image (edge convention), possibly reaching past it. */
struct pass {
    float cx, cy, side;
    int level;     /* 0: whole image; 1.. tile levels */
    bool inner[4]; /* which sides (x0, y0, x1, y1) lie inside the image */
};

static const char *const mp_models[] = { "blazeface_full", "face_landmark", "iris",
                                         "emotion",        "mobilefacenet", NULL };

static int probe(const struct face_ctx *ctx, struct pho_err *err)
{
    static const char *const no_encode[] = { "blazeface_full", "face_landmark", "iris", "emotion",
                                             NULL };
    return pho_face__probe_models(ctx, ctx->opts.encode ? mp_models : no_encode, err);
}

static void close_backend(void *priv)
{
    struct mp *b = priv;
    pho_face__embed_close(b->embed);
    pho_face__smile_close(b->smile);
    pho_face__mesh_close(b->mesh);
    pho_model_close(b->det);
    memset(b, 0, sizeof(*b));
}

static int open_backend(void *priv, struct face_ctx *ctx, struct pho_err *err)
{
    struct mp *b = priv;
    b->ctx = ctx;
    int rc = pho_face__model_input(ctx, "blazeface_full", &b->det_in, err);
    if (rc == 0)
        rc = pho_face__open_model(&b->det, ctx, "blazeface_full", err);
    if (rc == 0) {
        int64_t s0[PHO_TENSOR_MAX_DIMS], s1[PHO_TENSOR_MAX_DIMS];
        size_t r0 = pho_model_output_shape(b->det, 0, s0),
               r1 = pho_model_output_shape(b->det, 1, s1);
        b->grid = (int)lround(sqrt((double)(r0 == 3 ? s0[1] : 0)));
        if (r0 != 3 || r1 != 3 || s0[2] != 16 || s1[1] != s0[1] || b->grid < 2 ||
            (int64_t)b->grid * b->grid != s0[1] || b->det_in.w != b->det_in.h ||
            b->det_in.channels != 3)
            rc = pho_err_set(err, PHO_EMODEL,
                             "face: blazeface_full is not a one-anchor-per-cell BlazeFace");
    }
    if (rc == 0)
        rc = pho_face__mesh_open(&b->mesh, ctx, err);
    if (rc == 0)
        rc = pho_face__smile_open(&b->smile, ctx, err);
    if (rc == 0 && ctx->opts.encode)
        rc = pho_face__embed_open(&b->embed, ctx, "mobilefacenet", err);
    return rc;
}

/* ---- detection ----------------------------------------------------------------------- */

/* Appends the tiles of side @t covering a w x h image, steps at most TILE_STEP * t. */
static size_t add_tiles(struct pass *p, size_t n, float w, float h, float t, int level)
{
    int nx = w > t ? (int)ceilf((w - t) / (TILE_STEP * t)) + 1 : 1;
    int ny = h > t ? (int)ceilf((h - t) / (TILE_STEP * t)) + 1 : 1;
    for (int j = 0; j < ny; j++) {
        for (int i = 0; i < nx && n < MAX_PASSES; i++) {
            struct pass *q = &p[n++];
            q->side = t;
            q->level = level;
            q->cx = nx > 1 ? t / 2 + (w - t) * (float)i / (float)(nx - 1) : w / 2;
            q->cy = ny > 1 ? t / 2 + (h - t) * (float)j / (float)(ny - 1) : h / 2;
            q->inner[0] = nx > 1 && i > 0;
            q->inner[1] = ny > 1 && j > 0;
            q->inner[2] = nx > 1 && i < nx - 1;
            q->inner[3] = ny > 1 && j < ny - 1;
        }
    }
    return n;
}

/*
 * The passes for a w x h image: the whole image, then tile levels until the
 * smallest face wanted (min_face of the long side, at least MIN_FACE_ABS_PX)
 * is DET_MIN_PX at the detector's input. Each level's tiles are small enough
 * that the faces too small for the level above fit wholly in one tile.
 */
static size_t plan_passes(const struct mp *b, float w, float h, struct pass *p)
{
    float n = (float)b->det_in.w, L = PHO_MAX(w, h);
    float frac = b->ctx->opts.min_face > 0 ? b->ctx->opts.min_face : 0.02f;
    float want = PHO_MAX(frac * L, MIN_FACE_ABS_PX);
    size_t count = 0;
    memset(p, 0, sizeof(*p) * MAX_PASSES);
    p[count++] = (struct pass){ w / 2, h / 2, L, 0, { false, false, false, false } };
    float t = L;
    for (int level = 1; DET_MIN_PX * t / n > want && count < MAX_PASSES; level++) {
        float next = PHO_MAX(want * n / DET_MIN_PX, t * 4 * DET_MIN_PX / n);
        if (next >= t)
            break;
        t = next;
        count = add_tiles(p, count, w, h, t, level);
    }
    return count;
}

/* Decodes one pass's anchors (tensor pixels) into image-pixel detections. */
static size_t decode(const struct mp *b, const struct pass *ps, const float *reg, const float *cls,
                     struct face_det *out, size_t cap)
{
    const float n = (float)b->det_in.w, k = ps->side / n;
    const float x0 = ps->cx - ps->side / 2, y0 = ps->cy - ps->side / 2;
    const float edge = TILE_EDGE * ps->side;
    size_t found = 0;
    for (int a = 0; a < b->grid * b->grid && found < cap; a++) {
        float logit = cls[a];
        if (pho_face__sigmoid(logit) < DET_MIN_SCORE)
            continue;
        const float *r = reg + (size_t)a * 16;
        float ax = ((float)(a % b->grid) + 0.5f) * n / (float)b->grid;
        float ay = ((float)(a / b->grid) + 0.5f) * n / (float)b->grid;
        float cx = ax + r[0], cy = ay + r[1], bw = r[2], bh = r[3];
        if (!(bw > 0 && bh > 0))
            continue;
        struct face_det d = { 0 };
        d.score = pho_face__sigmoid(logit);
        d.x0 = x0 + (cx - bw / 2) * k;
        d.y0 = y0 + (cy - bh / 2) * k;
        d.x1 = x0 + (cx + bw / 2) * k;
        d.y1 = y0 + (cy + bh / 2) * k;
        /* A face cut by an inner tile edge is found whole by a neighbouring tile. */
        if ((ps->inner[0] && d.x0 < x0 + edge) || (ps->inner[1] && d.y0 < y0 + edge) ||
            (ps->inner[2] && d.x1 > x0 + ps->side - edge) ||
            (ps->inner[3] && d.y1 > y0 + ps->side - edge))
            continue;
        d.nkp = 6;
        for (int q = 0; q < 6; q++) {
            d.kp[q][0] = x0 + (ax + r[4 + 2 * q]) * k;
            d.kp[q][1] = y0 + (ay + r[5 + 2 * q]) * k;
        }
        out[found++] = d;
    }
    return found;
}

/*
 * Runs the detector over every pass of @n images, passes of different images sharing
 * batches, into per-image detections (image pixels, after NMS): out[i] (malloc'd, or NULL)
 * and nout[i].
 */
static int detect(struct mp *b, const struct pho_image *const *imgs, size_t n,
                  struct face_det **out, size_t *nout, struct pho_err *err)
{
    const int side = b->det_in.w;
    const size_t item = pho_face__input_len(&b->det_in), anchors = (size_t)b->grid * b->grid;
    const size_t cap_per_pass = 512; /* anchors over the threshold; a face lights up 5-20 */
    const size_t batch = pho_infer_on_gpu(b->ctx->inf) ? DET_BATCH_GPU : 1;
    struct pass *ps = pho_malloc(sizeof(*ps) * MAX_PASSES * n);
    size_t *owner = pho_malloc(sizeof(size_t) * MAX_PASSES * n);
    float *buf = pho_malloc(sizeof(float) * item * batch);
    size_t npass = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        nout[i] = 0;
    }
    if (!ps || !owner || !buf) {
        rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t np = plan_passes(b, (float)imgs[i]->width, (float)imgs[i]->height, ps + npass);
        for (size_t k = 0; k < np; k++)
            owner[npass + k] = i;
        npass += np;
        out[i] = pho_malloc(sizeof(**out) * cap_per_pass * np);
        if (!out[i])
            rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    }
    for (size_t b0 = 0; b0 < npass && rc == 0; b0 += batch) {
        size_t nb = PHO_MIN(npass - b0, batch);
        for (size_t i = 0; i < nb; i++) {
            /* Plain bilinear, no pre-filter: the detector finds small faces best on the
             * sharp input it was trained with (docs/faces.md, "Tiles"). */
            const struct pass *p = &ps[b0 + i];
            face_affine edge, centre;
            pho_face__roi_affine(p->cx, p->cy, p->side, 0, side, edge);
            pho_face__edge_to_centre(edge, centre);
            pho_face__warp_sharp(imgs[owner[b0 + i]], centre, side, side, &b->det_in.norm,
                                 buf + i * item);
        }
        struct pho_tensor in = pho_face__input_batch(&b->det_in, buf, nb);
        struct pho_tensor o[2] = { 0 };
        rc = pho_model_run(b->det, &in, 1, o, 2, err);
        if (rc)
            break;
        if (pho_tensor_count(&o[0]) != nb * anchors * 16 ||
            pho_tensor_count(&o[1]) != nb * anchors) {
            rc = pho_err_set(err, PHO_EINFER,
                             "face: blazeface_full gave outputs of the wrong size");
        } else {
            for (size_t i = 0; i < nb; i++) {
                size_t im = owner[b0 + i];
                nout[im] += decode(b, &ps[b0 + i], o[0].data + i * anchors * 16,
                                   o[1].data + i * anchors, out[im] + nout[im], cap_per_pass);
            }
        }
        pho_tensor_release(&o[0]);
        pho_tensor_release(&o[1]);
    }
    for (size_t i = 0; i < n; i++) {
        if (rc) {
            pho_free(out[i]);
            out[i] = NULL;
            nout[i] = 0;
        } else {
            nout[i] = pho_face__nms_weighted(out[i], nout[i], DET_NMS_IOU);
        }
    }
out:
    pho_free(ps);
    pho_free(owner);
    pho_free(buf);
    return rc;
}

/* ---- the pipeline --------------------------------------------------------------------- */

/*
 * Drops the detections the mesh found no face in (has_eyes still false),
 * dense points too, unless the detector was sure of them: a hand or a
 * profile hides a real face from the mesh, and those stay, eyes unknown.
 */
static void drop_non_faces(struct pho_face_list *l)
{
    size_t kept = 0;
    for (size_t i = 0; i < l->count; i++) {
        if (!l->faces[i].has_eyes && l->faces[i].score < DET_KEEP_UNREAD) {
            PHO_LOG_DEBUG("face",
                          "mediapipe: no face in the mesh crop of box %.3f,%.3f,%.3f,%.3f "
                          "(score %.2f): dropped",
                          (double)l->faces[i].box[0], (double)l->faces[i].box[1],
                          (double)l->faces[i].box[2], (double)l->faces[i].box[3],
                          (double)l->faces[i].score);
            continue;
        }
        if (kept != i) {
            l->faces[kept] = l->faces[i];
            if (l->dense)
                memmove(l->dense + kept * l->dense_per_face, l->dense + i * l->dense_per_face,
                        sizeof(*l->dense) * l->dense_per_face);
        }
        kept++;
    }
    l->count = kept;
}

/* The faces of one photo from its detections, and the detector's eye points as the mesh's
 * hints into *hints (malloc'd; NULL when there are no faces). */
static int add_faces(struct face_det *dets, size_t ndet, const struct pho_image *img,
                     struct pho_face_list *out, float (**hints)[2][2], struct pho_err *err)
{
    const float w = (float)img->width, h = (float)img->height;
    *hints = NULL;
    if (ndet > MAX_FACES) {
        qsort(dets, ndet, sizeof(*dets), pho_face__det_by_score);
        ndet = MAX_FACES;
    }
    if (ndet == 0)
        return 0;
    float(*hp)[2][2] = pho_malloc(sizeof(*hp) * ndet);
    if (!hp)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    *hints = hp;
    for (size_t i = 0; i < ndet; i++) {
        struct pho_face *f = pho_face__list_add(out);
        if (!f)
            return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        const struct face_det *d = &dets[i];
        f->box[0] = PHO_MAX(d->x0, 0.0f) / w;
        f->box[1] = PHO_MAX(d->y0, 0.0f) / h;
        f->box[2] = PHO_MIN(d->x1, w) / w;
        f->box[3] = PHO_MIN(d->y1, h) / h;
        f->score = d->score;
        /* BlazeFace keypoints 0 and 1: the subject's right eye (image-left), then left. */
        memcpy(hp[i], d->kp, sizeof(hp[i]));
    }
    /* The dense mesh feeds the smile's mouth geometry; it is kept only when asked for. */
    out->dense_per_face = MESH_POINTS;
    return 0;
}

/*
 * Every stage runs once over all @n photos, so their crops share model batches (what a
 * GPU needs); a photo's results do not depend on the others.
 */
static int analyze_batch(void *priv, const struct pho_image *const *imgs, size_t n,
                         struct pho_face_list *outs, struct pho_err *err)
{
    struct mp *b = priv;
    struct face_det **dets = pho_calloc(n, sizeof(*dets));
    size_t *ndet = pho_calloc(n, sizeof(*ndet));
    float(**hints)[2][2] = pho_calloc(n, sizeof(*hints));
    struct face_job *jobs = pho_calloc(n, sizeof(*jobs));
    int rc = 0;
    if (!dets || !ndet || !hints || !jobs) {
        rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        goto out;
    }
    double t0 = pho_face__now();
    rc = detect(b, imgs, n, dets, ndet, err);
    pho_face__stat_add(b->ctx, FACE_STAGE_DETECT, pho_face__now() - t0);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = add_faces(dets[i], ndet[i], imgs[i], &outs[i], &hints[i], err);
        jobs[i] = (struct face_job){ imgs[i], &outs[i], 0, (const float(*)[2][2])hints[i] };
    }
    if (rc == 0)
        rc = pho_face__mesh_run_jobs(b->mesh, jobs, n, err);
    for (size_t i = 0; i < n && rc == 0; i++)
        drop_non_faces(&outs[i]);
out:
    for (size_t i = 0; i < n; i++) {
        if (dets)
            pho_free(dets[i]);
        if (hints)
            pho_free(hints[i]);
    }
    pho_free(dets);
    pho_free(ndet);
    pho_free(hints);
    pho_free(jobs);
    return rc;
}

static int analyze(void *priv, const struct pho_image *img, struct pho_face_list *out,
                   struct pho_err *err)
{
    return analyze_batch(priv, &img, 1, out, err);
}

static void tail(const void *priv, struct face_tail *out)
{
    const struct mp *b = priv;
    *out = (struct face_tail){ b->smile, b->embed };
}

const struct pho_face_backend pho_face_backend_mediapipe = {
    .p = {
        .name = "mediapipe",
        .cpu_rank = 1,
        .gpu_rank = 3,
        .description = "BlazeFace full-range + tiles, FaceMesh eyes, expression smile, "
                       "MobileFaceNet identity (CPU default)",
        .caps = PHO_FACE_CAP_DETECT | PHO_FACE_CAP_LANDMARKS | PHO_FACE_CAP_EYES |
                PHO_FACE_CAP_SMILE | PHO_FACE_CAP_ENCODE,
        .models = { "blazeface_full", "face_landmark", "iris", "emotion", "mobilefacenet", NULL },
    },
    .priv_size = sizeof(struct mp),
    .probe = probe,
    .open = open_backend,
    .analyze = analyze,
    .analyze_batch = analyze_batch,
    .close = close_backend,
    .tail = tail,
};
