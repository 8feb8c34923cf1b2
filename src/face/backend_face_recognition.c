/* SPDX-License-Identifier: MIT */
/*
 * The face_recognition backend: the dlib pipeline of the original tool's
 * face_recognition backend, in C around one C++ bridge (dlib_shim.cpp).
 * dlib's HOG frontal face detector finds the faces, dlib's 68-point shape
 * predictor (Debian libdlib-data) places the landmarks, the eyes are points
 * 36-41 and 42-47 with their eye aspect ratio, and identity is dlib's
 * ResNet descriptor (128-d, Euclidean, same person at 0.6) through the shared
 * embed stage, aligned on five points taken from the 68. The original tool
 * scored no smiles here; when the emotion model is installed the shared
 * smile stage does, so best-shot choice weighs smiles with every backend.
 *
 * The detector scans a copy of the photo at a chosen size (see plan()) so
 * that its cost stays bounded whatever the input, and the landmarks are
 * placed on the photo itself. The eye thresholds say beside them what they
 * were calibrated on.
 */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "face/backend.h"
#include "face/dlib_shim.h"
#include "face/stages.h"

#define PREDICTOR_FILE       "shape_predictor_68_face_landmarks.dat"
/* Size of the one official 68-point model (dlib-models, Debian libdlib-data 19.24). */
#define PREDICTOR_BYTES      99693937LL
#define PREDICTOR_SYSTEM_DIR "/usr/share/dlib"

/*
 * Eye thresholds on dlib-68 eye aspect ratios, calibrated on the labelled
 * photos (faces/eyes and every face labelled eyes=open): shut eyes gave a mean
 * EAR of 0.087, the narrowest open eyes (laughing) 0.141. The cut sits nearer
 * the open side because the unlabelled group shots in bursts/ show shut or
 * downcast eyes up to about 0.13. The shut eye of the wink measured 0.200
 * beside 0.259, while no open face had its narrower eye below 81 % of the
 * other: dlib's model never closes an eye fully, so a wink is found by the
 * asymmetry of the two eyes, and only among eyes that are narrow at all.
 */
#define CLOSED_MEAN_EAR 0.13f  /* both eyes: mean EAR below this */
#define WINK_EAR        0.215f /* a winking eye is at most this open ... */
#define WINK_RATIO      0.79f  /* ... and narrower than this fraction of the other eye */

/* The detector never scans more pixels than this (after upsampling): about one
 * second of HOG on one core of a 2020s x86 CPU, the cost of a 1600x1200 photo
 * upsampled once, which is what the original tool did by default. */
#define SCAN_MAX_PIXELS 8.0e6
/* A scale this close to 1 is not worth a resampled copy. */
#define SCALE_SNAP      0.95
/* More faces than any photo holds; dlib returns the strongest first. */
#define MAX_FACES       1024

struct fr {
    struct face_ctx *ctx;
    struct pho_dlib *dlib;
    struct face_embedder *embed; /* NULL when opts.encode is false */
    struct face_smile *smile;    /* NULL when the emotion model is not installed */
};

/* How the detector scans a photo: a working copy at @scale, then @upsample doublings. */
struct scan_plan {
    double scale;
    unsigned upsample;
};

/*
 * The detector finds faces of about PHO_DLIB_WINDOW pixels and more. The
 * smallest face wanted (opts.min_face of the long side) is brought to that
 * size: by shrinking when it is larger (cheaper, and nothing wanted is lost),
 * otherwise by one upsampling (like face_recognition's default) with the copy
 * shrunk only as far as the window allows. The scanned image is then held
 * to SCAN_MAX_PIXELS by shrinking further, dropping the upsampling once it
 * would only undo a shrink. So a 1600 px photo at the default min_face (32 px
 * faces) is scanned upsampled once (faces from about 40 px), a 12 MP photo
 * at full size is scanned at about 0.8x without upsampling (faces from about
 * 100 px), and min_face 0.1 scans a 1600 px photo at half size. Scales above
 * SCALE_SNAP scan the photo itself.
 */
static struct scan_plan plan(uint32_t w, uint32_t h, float min_face)
{
    double side = PHO_MAX(w, h);
    double smallest = (min_face > 0 && min_face < 1 ? min_face : 0.02) * side;
    double mag = PHO_DLIB_WINDOW / PHO_MAX(smallest, 1.0);
    struct scan_plan p = { 1.0, 0 };
    if (mag > 1) {
        p.upsample = 1;
        p.scale = PHO_MIN(1.0, mag / 2);
    } else {
        p.scale = mag;
    }
    double px = (double)w * h * p.scale * p.scale * (p.upsample ? 4 : 1);
    if (px > SCAN_MAX_PIXELS) {
        p.scale *= sqrt(SCAN_MAX_PIXELS / px);
        if (p.upsample && p.scale <= 0.5) {
            p.upsample = 0;
            p.scale *= 2;
        }
    }
    if (p.scale >= SCALE_SNAP)
        p.scale = 1;
    return p;
}

/* Area-weighted mean of the source pixels under each output pixel of one row. */
static void shrink_row(const uint8_t *row, uint32_t sw, uint32_t dw, float *out)
{
    double step = (double)sw / dw;
    for (uint32_t x = 0; x < dw; x++) {
        double a = x * step, b = a + step;
        float acc[3] = { 0, 0, 0 };
        for (uint32_t i = (uint32_t)a; i < sw && i < b; i++) {
            float wgt = (float)(PHO_MIN(b, i + 1.0) - PHO_MAX(a, (double)i));
            for (int c = 0; c < 3; c++)
                acc[c] += wgt * row[(size_t)i * 3 + c];
        }
        for (int c = 0; c < 3; c++)
            out[(size_t)x * 3 + c] = acc[c] / (float)step;
    }
}

/* A copy of @src reduced by @scale (< 1) with area averaging, so HOG sees no aliasing. */
static int shrink(const struct pho_image *src, double scale, struct pho_image **out,
                  struct pho_err *err)
{
    uint32_t dw = (uint32_t)PHO_MAX(1, lround(src->width * scale));
    uint32_t dh = (uint32_t)PHO_MAX(1, lround(src->height * scale));
    float *acc = pho_malloc(sizeof(float) * dw * 3);
    float *tmp = pho_malloc(sizeof(float) * dw * 3);
    struct pho_image *dst = NULL;
    int rc = 0;
    if (!acc || !tmp) {
        rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        goto out;
    }
    rc = pho_image_new(&dst, dw, dh, err);
    if (rc)
        goto out;
    double step = (double)src->height / dh;
    for (uint32_t y = 0; y < dh; y++) {
        double a = y * step, b = a + step;
        memset(acc, 0, sizeof(float) * dw * 3);
        for (uint32_t i = (uint32_t)a; i < src->height && i < b; i++) {
            float wgt = (float)(PHO_MIN(b, i + 1.0) - PHO_MAX(a, (double)i));
            shrink_row(src->pixels + (size_t)i * src->stride, src->width, dw, tmp);
            for (size_t k = 0; k < (size_t)dw * 3; k++)
                acc[k] += wgt * tmp[k];
        }
        uint8_t *row = dst->pixels + (size_t)y * dst->stride;
        for (size_t k = 0; k < (size_t)dw * 3; k++) {
            float v = acc[k] / (float)step + 0.5f;
            row[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    *out = dst;
    dst = NULL;
out:
    pho_image_free(dst);
    pho_free(acc);
    pho_free(tmp);
    return rc;
}

/*
 * Where the predictor file is: beside the models first (a copy the user put
 * there wins), then $PHO_DLIB_DATA_DIR or Debian's /usr/share/dlib.
 */
static int find_predictor(const struct face_ctx *ctx, char *path, size_t size, struct pho_err *err)
{
    char models[4096];
    if (ctx->models_dir)
        pho_strlcpy(models, ctx->models_dir, sizeof(models));
    else
        pho_models_default_dir(models, sizeof(models));
    const char *sys = getenv("PHO_DLIB_DATA_DIR");
    if (!sys || !*sys)
        sys = PREDICTOR_SYSTEM_DIR;
    const char *dirs[2] = { models, sys };
    for (int i = 0; i < 2; i++) {
        struct stat st;
        snprintf(path, size, "%s/%s", dirs[i], PREDICTOR_FILE);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if ((long long)st.st_size != PREDICTOR_BYTES)
            return pho_err_set(err, PHO_EBACKEND,
                               "face: %s is %lld bytes, not dlib's 68-point model (%lld): "
                               "reinstall the Debian package libdlib-data",
                               path, (long long)st.st_size, PREDICTOR_BYTES);
        if (access(path, R_OK) != 0)
            return pho_err_set(err, PHO_EBACKEND, "face: cannot read %s", path);
        return 0;
    }
    return pho_err_set(err, PHO_EBACKEND,
                       "face: dlib's 68-point landmark model %s is not in %s nor %s: install "
                       "the Debian package libdlib-data",
                       PREDICTOR_FILE, sys, models);
}

static int probe(const struct face_ctx *ctx, struct pho_err *err)
{
    static const char *const needed[] = { "dlib_resnet", NULL };
    char path[4200];
    int rc = find_predictor(ctx, path, sizeof(path), err);
    if (rc == 0 && ctx->opts.encode)
        rc = pho_face__probe_models(ctx, needed, err);
    return rc;
}

static int open_backend(void *priv, struct face_ctx *ctx, struct pho_err *err)
{
    struct fr *b = priv;
    char path[4200], why[PHO_ERR_MSG_MAX];
    b->ctx = ctx;
    int rc = find_predictor(ctx, path, sizeof(path), err);
    if (rc)
        return rc;
    b->dlib = pho_dlib_open(path, why, sizeof(why));
    if (!b->dlib)
        return pho_err_set(err, PHO_EBACKEND, "face: %s (reinstall libdlib-data)", why);
    static const char *const smile_models[] = { "emotion", NULL };
    struct pho_err why_not = PHO_ERR_INIT;
    if (pho_face__probe_models(ctx, smile_models, &why_not) == 0) {
        int rc2 = pho_face__smile_open(&b->smile, ctx, err);
        if (rc2)
            return rc2;
    } else {
        pho_log(PHO_LOG_INFO, "face", "%s; face_recognition scores no smiles", why_not.msg);
    }
    if (ctx->opts.encode)
        return pho_face__embed_open(&b->embed, ctx, "dlib_resnet", err);
    return 0;
}

static void close_backend(void *priv)
{
    struct fr *b = priv;
    if (!b)
        return;
    pho_face__embed_close(b->embed);
    pho_face__smile_close(b->smile);
    pho_dlib_close(b->dlib);
    b->embed = NULL;
    b->smile = NULL;
    b->dlib = NULL;
}

static void mean_point(const float (*p)[2], int n, float out[2])
{
    out[0] = out[1] = 0;
    for (int k = 0; k < n; k++) {
        out[0] += p[k][0] / (float)n;
        out[1] += p[k][1] / (float)n;
    }
}

/*
 * Head turn as the other backends measure it: where the nose tip (30) sits
 * between the outer eye corners (36, 45), along the eye line: -1 at the
 * image-left corner, 0 midway, 1 at the image-right one.
 */
static float yaw_of(const float (*p)[2])
{
    const float *l = p[36], *r = p[45], *nose = p[30];
    float ux = r[0] - l[0], uy = r[1] - l[1], len2 = ux * ux + uy * uy;
    if (!(len2 > 1e-6f))
        return NAN;
    float t = ((nose[0] - l[0]) * ux + (nose[1] - l[1]) * uy) / len2;
    float yaw = 2 * t - 1;
    return yaw < -1 ? -1 : yaw > 1 ? 1 : yaw;
}

/* Fills @f from a detection (image pixels) and its 68 landmarks (image pixels). */
static void fill_face(struct pho_face *f, const float box[4], float confidence, const float (*p)[2],
                      float w, float h)
{
    f->box[0] = PHO_MAX(box[0], 0.0f) / w;
    f->box[1] = PHO_MAX(box[1], 0.0f) / h;
    f->box[2] = PHO_MIN(box[2], w) / w;
    f->box[3] = PHO_MIN(box[3], h) / h;
    /* dlib's margin is 0 at its own threshold: that becomes 0.5, the usual cut-off. */
    f->score = 1 / (1 + expf(-confidence));

    float pt[5][2];
    mean_point(p + 36, 6, pt[0]);
    mean_point(p + 42, 6, pt[1]);
    memcpy(pt[2], p[30], sizeof(pt[2]));
    memcpy(pt[3], p[48], sizeof(pt[3]));
    memcpy(pt[4], p[54], sizeof(pt[4]));
    for (int k = 0; k < 5; k++) {
        f->pts5[k][0] = pt[k][0] / w;
        f->pts5[k][1] = pt[k][1] / h;
    }
    f->has_pts5 = true;

    for (int k = 0; k < 6; k++) {
        f->eye_l[k][0] = p[36 + k][0] / w;
        f->eye_l[k][1] = p[36 + k][1] / h;
        f->eye_r[k][0] = p[42 + k][0] / w;
        f->eye_r[k][1] = p[42 + k][1] / h;
    }
    f->has_eyes = true;
    f->ear_l = pho_face__ear(p + 36);
    f->ear_r = pho_face__ear(p + 42);
    if (isnan(f->ear_l) || isnan(f->ear_r)) {
        f->eyes_closed = f->winking = -1;
    } else {
        float lo = PHO_MIN(f->ear_l, f->ear_r), hi = PHO_MAX(f->ear_l, f->ear_r);
        bool both = (f->ear_l + f->ear_r) / 2 < CLOSED_MEAN_EAR;
        f->winking = !both && lo < WINK_EAR && lo < WINK_RATIO * hi;
        f->eyes_closed = both || f->winking;
    }
    f->yaw = yaw_of(p);
}

static int analyze(void *priv, const struct pho_image *img, struct pho_face_list *out,
                   struct pho_err *err)
{
    struct fr *b = priv;
    const float w = (float)img->width, h = (float)img->height;
    struct pho_image *small = NULL;
    struct pho_dlib_box *boxes = pho_malloc(sizeof(*boxes) * MAX_FACES);
    char why[PHO_ERR_MSG_MAX];
    int rc = 0;
    if (!boxes)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");

    double t0 = pho_face__now();
    struct scan_plan p = plan(img->width, img->height, b->ctx->opts.min_face);
    const struct pho_image *scan = img;
    if (p.scale < 1) {
        rc = shrink(img, p.scale, &small, err);
        if (rc)
            goto out;
        scan = small;
    }
    struct pho_dlib_image di = { scan->pixels, scan->width, scan->height, scan->stride };
    size_t found = 0;
    if (pho_dlib_detect(b->dlib, &di, p.upsample, boxes, MAX_FACES, &found, why, sizeof(why))) {
        rc = pho_err_set(err, PHO_EINFER, "face: %s", why);
        goto out;
    }
    pho_face__stat_add(b->ctx, FACE_STAGE_DETECT, pho_face__now() - t0);

    t0 = pho_face__now();
    const float sx = w / (float)scan->width, sy = h / (float)scan->height;
    const struct pho_dlib_image full = { img->pixels, img->width, img->height, img->stride };
    for (size_t i = 0; i < PHO_MIN(found, (size_t)MAX_FACES); i++) {
        float box[4] = { boxes[i].x0 * sx, boxes[i].y0 * sy, boxes[i].x1 * sx, boxes[i].y1 * sy };
        float pts[68][2];
        if (pho_dlib_landmarks(b->dlib, &full, box, pts, why, sizeof(why))) {
            rc = pho_err_set(err, PHO_EINFER, "face: %s", why);
            goto out;
        }
        struct pho_face *f = pho_face__list_add(out);
        if (!f) {
            rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
            goto out;
        }
        fill_face(f, box, boxes[i].confidence, (const float(*)[2])pts, w, h);
        if (b->ctx->opts.dense) {
            float(*d)[2] = pho_reallocarray(out->dense, out->count * 68, sizeof(*d));
            if (!d) {
                rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
                goto out;
            }
            out->dense = d;
            out->dense_per_face = 68;
            for (int k = 0; k < 68; k++) {
                d[(out->count - 1) * 68 + k][0] = pts[k][0] / w;
                d[(out->count - 1) * 68 + k][1] = pts[k][1] / h;
            }
        }
    }
    pho_face__stat_add(b->ctx, FACE_STAGE_LANDMARKS, pho_face__now() - t0);
out:
    pho_image_free(small);
    pho_free(boxes);
    return rc;
}

static void tail(const void *priv, struct face_tail *out)
{
    const struct fr *b = priv;
    *out = (struct face_tail){ b->smile, b->embed };
}

const struct pho_face_backend pho_face_backend_face_recognition = {
    .p = {
        .name = "face_recognition",
        .cpu_rank = 2,
        .gpu_rank = 4,
        .description = "dlib HOG detector, dlib 68-point landmarks and eyes (libdlib-data), "
                       "dlib ResNet 128-d identity, emotion-model smiles",
        .caps = PHO_FACE_CAP_DETECT | PHO_FACE_CAP_LANDMARKS | PHO_FACE_CAP_EYES |
                PHO_FACE_CAP_SMILE | PHO_FACE_CAP_ENCODE,
        .models = { "dlib_resnet", NULL },
        .optional = { "emotion", NULL }, /* smiles, when installed */
    },
    .priv_size = sizeof(struct fr),
    .probe = probe,
    .open = open_backend,
    .analyze = analyze,
    .close = close_backend,
    .tail = tail,
};
