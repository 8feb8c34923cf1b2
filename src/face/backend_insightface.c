/* SPDX-License-Identifier: MIT */
/*
 * The insightface backend: InsightFace's buffalo_l pack (buffalo_s when only
 * that one is installed), run through ONNX Runtime with no Python. SCRFD
 * finds faces and their five points on a 640x640 letterbox; 2d106 on each
 * face gives the eyelids, so eye openness is measured rather than faked as
 * the original did; the shared smile stage scores smiles; ArcFace, through
 * the shared embed stage and its 5-point alignment, gives 512-d identity
 * embeddings compared by cosine distance.
 *
 * The packs are user-installed (their licence forbids shipping them), found
 * in the models folder, MODELS/<pack>/ or ~/.insightface/models/<pack>/, and
 * checked by sha256 unless the caller trusts the files (test stand-ins).
 * The decoding arithmetic lives in face/scrfd.h so the tests can reach it.
 */
#include "core/common.h"

#include <math.h>
#include <string.h>

#include "face/backend.h"
#include "face/detect.h"
#include "face/scrfd.h"
#include "face/stages.h"
#include "face/util.h"

enum {
    DET_SIZE = 640,  /* InsightFace's default det_size */
    DET_OUTPUTS = 9, /* scores, boxes, keypoints at three strides */
    LMK_VALUES = 2 * FACE_LMK106_POINTS,
    /* 2d106 crops are 442 KB each: run them a few at a time rather than all at once. */
    LMK_BATCH = 16,
    /* As Ultralytics' max_det: past this many faces a photo is a crowd, and the best-scored
     * ones are enough to judge it. */
    MAX_FACES = 300,
};

/* InsightFace's own SCRFD settings (scores are probabilities already). */
#define DET_THRESH  0.5f
#define DET_NMS_IOU 0.4f

struct pack {
    const char *name, *det, *lmk, *rec; /* manifest names */
};

/* In order of preference: buffalo_l's detector and recogniser are the accurate ones. */
static const struct pack packs[] = {
    { "buffalo_l", "scrfd_10g", "landmark_2d106_l", "arcface_r50" },
    { "buffalo_s", "scrfd_500m", "landmark_2d106_s", "arcface_mbf" },
};

struct insight {
    struct face_ctx *ctx;
    const struct pack *pack;
    struct pho_model *det, *lmk;
    struct face_smile *smile;
    struct face_embedder *embed; /* NULL when opts.encode is off */
};

/*
 * Checks one pack's files (the recogniser only when embeddings are wanted):
 * present, and with @verify their pinned size and sha256. *found counts the
 * files present, valid or not.
 */
static int check_pack(const struct face_ctx *ctx, const struct pack *pk, bool verify, int *found,
                      struct pho_err *err)
{
    const char *names[3] = { pk->det, pk->lmk, pk->rec };
    int rc = 0;
    *found = 0;
    for (int i = 0; i < (ctx->opts.encode ? 3 : 2); i++) {
        const struct pho_model_spec *s = pho_models_find(ctx->models, names[i]);
        if (!s)
            return pho_err_set(err, PHO_EBACKEND, "face: model '%s' is not in the manifest",
                               names[i]);
        char path[4200];
        struct pho_err why = PHO_ERR_INIT;
        int r = pho_models_locate(path, sizeof(path), s, ctx->models_dir, &why);
        if (r == 0) {
            (*found)++;
            if (verify)
                r = pho_models_verify(s, path, &why);
        }
        if (r && rc == 0)
            rc = pho_err_set(err, PHO_EBACKEND, "%s", why.msg);
    }
    return rc;
}

/* The first pack that is complete and valid, or why there is none. */
static int choose_pack(const struct face_ctx *ctx, const struct pack **out, struct pho_err *err)
{
    struct pho_err why[PHO_ARRAY_LEN(packs)];
    int found[PHO_ARRAY_LEN(packs)];
    for (size_t i = 0; i < PHO_ARRAY_LEN(packs); i++) {
        pho_err_clear(&why[i]);
        if (check_pack(ctx, &packs[i], ctx->opts.trust == 0, &found[i], &why[i]) == 0) {
            *out = &packs[i];
            return 0;
        }
    }
    /* A pack that is partly there is the one the user meant to install: say what it lacks. */
    for (size_t i = 0; i < PHO_ARRAY_LEN(packs); i++)
        if (found[i] > 0)
            return pho_err_set(err, PHO_EBACKEND, "face: insightface %s pack: %s", packs[i].name,
                               why[i].msg);
    char dir[4096];
    if (ctx->models_dir)
        pho_strlcpy(dir, ctx->models_dir, sizeof(dir));
    else
        pho_models_default_dir(dir, sizeof(dir));
    return pho_err_set(err, PHO_EBACKEND,
                       "face: insightface needs InsightFace's buffalo_l (or buffalo_s) pack: unzip "
                       "buffalo_l.zip into ~/.insightface/models/buffalo_l/ or %s/buffalo_l/",
                       dir);
}

static int probe(const struct face_ctx *ctx, struct pho_err *err)
{
    static const char *const shipped[] = { "emotion", NULL };
    const struct pack *pk;
    int rc = choose_pack(ctx, &pk, err);
    if (rc == 0)
        rc = pho_face__probe_models(ctx, shipped, err);
    return rc;
}

static void close_pack(struct insight *p)
{
    pho_face__embed_close(p->embed);
    pho_model_close(p->lmk);
    pho_model_close(p->det);
    p->embed = NULL;
    p->lmk = p->det = NULL;
    p->pack = NULL;
}

static int open_pack(struct insight *p, struct face_ctx *ctx, const struct pack *pk,
                     struct pho_err *err)
{
    int rc = pho_face__open_model(&p->det, ctx, pk->det, err);
    if (rc == 0)
        rc = pho_face__open_model(&p->lmk, ctx, pk->lmk, err);
    if (rc == 0 && ctx->opts.encode)
        rc = pho_face__embed_open(&p->embed, ctx, pk->rec, err);
    if (rc)
        close_pack(p);
    else
        p->pack = pk;
    return rc;
}

static int open_backend(void *priv, struct face_ctx *ctx, struct pho_err *err)
{
    struct insight *p = priv;
    p->ctx = ctx;
    /* Opening a model checks its sum again, so the choice here only looks for the files (the
     * probe hashed them already; buffalo_l's recogniser alone is 174 MB) and moves on to the
     * next pack when one fails to open. */
    int rc = 0;
    bool tried = false;
    for (size_t i = 0; i < PHO_ARRAY_LEN(packs) && !p->pack; i++) {
        int found;
        if (check_pack(ctx, &packs[i], false, &found, NULL) == 0) {
            tried = true;
            rc = open_pack(p, ctx, &packs[i], err);
        }
    }
    if (!tried) {
        const struct pack *pk;
        rc = choose_pack(ctx, &pk, err);
        return rc ? rc : pho_err_set(err, PHO_EBACKEND, "face: insightface: no pack to open");
    }
    if (rc == 0)
        rc = pho_face__smile_open(&p->smile, ctx, err);
    /* Worth a line: buffalo_s finds and tells faces apart less well than buffalo_l. */
    if (rc == 0)
        pho_log(PHO_LOG_INFO, "face", "insightface: using the %s pack", p->pack->name);
    return rc;
}

static void close_backend(void *priv)
{
    struct insight *p = priv;
    pho_face__smile_close(p->smile);
    close_pack(p);
    memset(p, 0, sizeof(*p));
}

/* SCRFD on the letterboxed image: detections in image pixels, best first, after NMS. */
static int detect(struct insight *p, const struct pho_image *img, struct face_det **out,
                  size_t *count, struct pho_err *err)
{
    static const struct face_norm norm = {
        { 127.5f, 127.5f, 127.5f }, { 1 / 128.0f, 1 / 128.0f, 1 / 128.0f }, true, false, false
    };
    struct pho_tensor res[DET_OUTPUTS];
    memset(res, 0, sizeof(res));
    struct face_det *dets = NULL;
    face_affine to_tensor, to_image;
    int rc = 0;
    *out = NULL;
    *count = 0;
    float *in = NULL;
    rc = pho_face__letterbox_input(&in, img, DET_SIZE, &norm, to_tensor, to_image, err);
    if (rc)
        return rc;
    struct pho_tensor t = { in, { 1, 3, DET_SIZE, DET_SIZE }, 4, false };
    rc = pho_model_run(p->det, &t, 1, res, DET_OUTPUTS, err);
    if (rc)
        goto out;
    struct face_scrfd_level lv[FACE_SCRFD_LEVELS];
    size_t bad;
    if (!pho_face__scrfd_bind(lv, res, DET_OUTPUTS, DET_SIZE, DET_SIZE, &bad)) {
        char shape[96];
        if (bad < DET_OUTPUTS)
            rc = pho_err_set(err, PHO_EMODEL,
                             "face: scrfd output %zu is %s, which is no score, box or keypoint "
                             "output of a stride of a %dx%d input (or comes twice)",
                             bad, pho_face__shape_str(&res[bad], shape, sizeof(shape)), DET_SIZE,
                             DET_SIZE);
        else
            rc = pho_err_set(err, PHO_EMODEL,
                             "face: scrfd lacks a score, box or keypoint output at some stride");
        goto out;
    }
    size_t n = 0;
    for (int i = 0; i < FACE_SCRFD_LEVELS; i++)
        n += pho_face__scrfd_decode(&lv[i], DET_SIZE, DET_THRESH, NULL, 0);
    if (n == 0)
        goto out;
    dets = pho_reallocarray(NULL, n, sizeof(*dets));
    if (!dets) {
        rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        goto out;
    }
    size_t got = 0;
    for (int i = 0; i < FACE_SCRFD_LEVELS; i++)
        got += pho_face__scrfd_decode(&lv[i], DET_SIZE, DET_THRESH, dets + got, n - got);
    *count = pho_face__dets_finish(dets, got, to_image, p->ctx->opts.min_face, img, DET_NMS_IOU,
                                   MAX_FACES);
    *out = dets;
    dets = NULL;
out:
    for (size_t i = 0; i < DET_OUTPUTS; i++)
        pho_tensor_release(&res[i]);
    pho_free(dets);
    pho_free(in);
    return rc;
}

/* Eyes of one face from its 106 points (model values in [-1,1]). */
static void eyes_from_106(struct pho_face *f, const struct face_det *d,
                          const struct face_lmk106_crop *crop, const float *v, unsigned img_w,
                          unsigned img_h, float (*dense)[2])
{
    float pts[FACE_LMK106_POINTS][2], el[6][2], er[6][2];
    for (int k = 0; k < FACE_LMK106_POINTS; k++)
        pho_face__lmk106_to_image(crop, v[2 * k], v[2 * k + 1], &pts[k][0], &pts[k][1]);
    for (int k = 0; dense && k < FACE_LMK106_POINTS; k++) {
        dense[k][0] = pts[k][0] / (float)img_w;
        dense[k][1] = pts[k][1] / (float)img_h;
    }
    pho_face__lmk106_eyes((const float(*)[2])pts, d->kp[0], d->kp[1], el, er);
    /* In pixels: normalising x and y by different sizes would bend the ratio. */
    f->ear_l = pho_face__ear((const float(*)[2])el);
    f->ear_r = pho_face__ear((const float(*)[2])er);
    pho_face__eye_state(f->ear_l, f->ear_r, FACE_LMK106_CLOSED_EAR, &f->eyes_closed, &f->winking);
    f->yaw = pho_face__yaw(el[0], er[3], d->kp[2]);
    for (int i = 0; i < 6; i++) {
        f->eye_l[i][0] = el[i][0] / (float)img_w;
        f->eye_l[i][1] = el[i][1] / (float)img_h;
        f->eye_r[i][0] = er[i][0] / (float)img_w;
        f->eye_r[i][1] = er[i][1] / (float)img_h;
    }
    f->has_eyes = true;
}

/* 2d106 on every face (faces->faces[i] came from dets[i]). */
static int landmarks(struct insight *p, const struct pho_image *img, const struct face_det *dets,
                     struct pho_face_list *faces, struct pho_err *err)
{
    static const struct face_norm norm = { { 0, 0, 0 }, { 1, 1, 1 }, true, false, false };
    const size_t plane = 3 * FACE_LMK106_SIZE * FACE_LMK106_SIZE;
    int rc = 0;
    float *in = pho_malloc(sizeof(float) * plane * LMK_BATCH);
    if (!in || (p->ctx->opts.dense && pho_face__dense_alloc(faces, FACE_LMK106_POINTS))) {
        pho_free(in);
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    }
    for (size_t first = 0; first < faces->count && rc == 0; first += LMK_BATCH) {
        size_t b = PHO_MIN((size_t)LMK_BATCH, faces->count - first);
        struct face_lmk106_crop crop[LMK_BATCH];
        bool usable[LMK_BATCH];
        for (size_t i = 0; i < b; i++) {
            const struct face_det *d = &dets[first + i];
            float box[4] = { d->x0, d->y0, d->x1, d->y1 };
            usable[i] = pho_face__lmk106_crop(box, &crop[i]);
            if (!usable[i]) {
                memset(in + i * plane, 0, sizeof(float) * plane);
                continue;
            }
            face_affine m;
            pho_face__lmk106_crop_affine(&crop[i], m);
            pho_face__warp(img, m, FACE_LMK106_SIZE, FACE_LMK106_SIZE, &norm, in + i * plane);
        }
        struct pho_tensor t = {
            in, { (int64_t)b, 3, FACE_LMK106_SIZE, FACE_LMK106_SIZE }, 4, false
        };
        struct pho_tensor o = { 0 };
        rc = pho_model_run(p->lmk, &t, 1, &o, 1, err);
        if (rc)
            break;
        if (o.ndim != 2 || o.shape[0] != (int64_t)b || o.shape[1] != LMK_VALUES) {
            rc = pho_err_set(err, PHO_EMODEL, "face: 2d106 gave %zu dims, expected [%zu,%d]",
                             o.ndim, b, LMK_VALUES);
        } else {
            for (size_t i = 0; i < b; i++)
                if (usable[i])
                    eyes_from_106(&faces->faces[first + i], &dets[first + i], &crop[i],
                                  o.data + i * LMK_VALUES, img->width, img->height,
                                  faces->dense ? faces->dense + (first + i) * FACE_LMK106_POINTS
                                               : NULL);
        }
        pho_tensor_release(&o);
    }
    pho_free(in);
    return rc;
}

static int analyze(void *priv, const struct pho_image *img, struct pho_face_list *out,
                   struct pho_err *err)
{
    struct insight *p = priv;
    struct face_det *dets = NULL;
    size_t n = 0;
    double t0 = pho_face__now();
    int rc = detect(p, img, &dets, &n, err);
    pho_face__stat_add(p->ctx, FACE_STAGE_DETECT, pho_face__now() - t0);
    if (rc || n == 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct pho_face *f = pho_face__list_add(out);
        if (!f) {
            rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
            goto out;
        }
        pho_face__det_fill(f, &dets[i], img->width, img->height);
    }
    t0 = pho_face__now();
    rc = landmarks(p, img, dets, out, err);
    pho_face__stat_add(p->ctx, FACE_STAGE_LANDMARKS, pho_face__now() - t0);
out:
    pho_free(dets);
    return rc;
}

static void tail(const void *priv, struct face_tail *out)
{
    const struct insight *p = priv;
    *out = (struct face_tail){ p->smile, p->embed };
}

const struct pho_face_backend pho_face_backend_insightface = {
    .p = {
        .name = "insightface",
        .cpu_rank = 0,
        .gpu_rank = 2,
        .description = "InsightFace buffalo_l/buffalo_s (user-installed): SCRFD detector, 2d106 "
                       "eyelids, ArcFace 512-d embeddings",
        .caps = PHO_FACE_CAP_DETECT | PHO_FACE_CAP_LANDMARKS | PHO_FACE_CAP_EYES |
                PHO_FACE_CAP_SMILE | PHO_FACE_CAP_ENCODE,
        /* buffalo_s's three stand in for buffalo_l's when buffalo_l is absent. */
        .models = { "scrfd_10g", "landmark_2d106_l", "arcface_r50", "emotion", NULL },
        .optional = { "scrfd_500m", "landmark_2d106_s", "arcface_mbf", NULL },
    },
    .priv_size = sizeof(struct insight),
    .probe = probe,
    .open = open_backend,
    .analyze = analyze,
    .close = close_backend,
    .tail = tail,
};
