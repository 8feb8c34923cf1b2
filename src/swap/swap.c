/* SPDX-License-Identifier: MIT */
/*
 * Closed eyes repaired from another take (include/pho/swap.h, docs/face-swap.md).
 *
 * Which face: the same person in another take is found by identity embedding
 * (the engine's same-person distance), with open eyes; among several, the one
 * closest in head turn, then in time, then in identity. How: the donor face is
 * mapped onto the target by a similarity transform fitted to the landmarks that
 * do not move when eyes open (eye corners, nose tip, mouth corners), and only
 * the eyes are replaced: an ellipse around each eye wide enough for an open
 * eye's lids, so the target keeps its own expression (the take was chosen for
 * it). OpenCV does the pixel work (cv_shim.cpp). Then the result is analysed
 * again: a repair stands only when that face now has open eyes, is still the
 * same person and left no seam; otherwise the next donor face is tried.
 */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pho/swap.h"
#include "swap/cv_shim.h"

/* Points of the mask's ellipse around each eye. */
#define ELLIPSE_POINTS 32
/* Landmark pairs for the transform: 4 eye corners, nose tip, 2 mouth corners. */
#define NPTS           7

static float mean_ear(const struct pho_face *f)
{
    if (isnan(f->ear_l) && isnan(f->ear_r))
        return NAN;
    if (isnan(f->ear_l))
        return f->ear_r;
    if (isnan(f->ear_r))
        return f->ear_l;
    return 0.5f * (f->ear_l + f->ear_r);
}

/* An eye's corners (points 0 and 3 of its six) in pixels of a @w x @h image. */
static void corners(float c[2][2], const float eye[6][2], uint32_t w, uint32_t h)
{
    c[0][0] = eye[0][0] * (float)w;
    c[0][1] = eye[0][1] * (float)h;
    c[1][0] = eye[3][0] * (float)w;
    c[1][1] = eye[3][1] * (float)h;
}

static float eye_width(const float eye[6][2], uint32_t w, uint32_t h)
{
    float c[2][2];
    corners(c, eye, w, h);
    return hypotf(c[1][0] - c[0][0], c[1][1] - c[0][1]);
}

/* The landmarks a blink does not move, in pixels. */
static void stable_points(float p[NPTS][2], const struct pho_face *f, uint32_t w, uint32_t h)
{
    corners(p, f->eye_l, w, h);
    corners(p + 2, f->eye_r, w, h);
    for (int i = 0; i < 3; i++) {
        p[4 + i][0] = f->pts5[2 + i][0] * (float)w;
        p[4 + i][1] = f->pts5[2 + i][1] * (float)h;
    }
}

/*
 * The mask around one eye, in pixels: an ellipse along the eye's axis, 1.5 eye widths long
 * and 1.0 high, its centre a tenth of a width above the corners' line, so it holds an open
 * eye's upper lid and crease but not the brow (an open eye is about a third as high as it
 * is wide; the brow sits most of a width above the corners) nor the side of the face.
 */
static void eye_ellipse(float (*out)[2], const float eye[6][2], uint32_t w, uint32_t h)
{
    float c[2][2];
    corners(c, eye, w, h);
    float dx = c[1][0] - c[0][0], dy = c[1][1] - c[0][1];
    float len = hypotf(dx, dy);
    float ux = dx / len, uy = dy / len;
    /* Across the eye, pointing down the face (image y grows downwards). */
    float vx = -uy, vy = ux;
    if (vy < 0)
        vx = -vx, vy = -vy;
    float cx = 0.5f * (c[0][0] + c[1][0]) - 0.1f * len * vx;
    float cy = 0.5f * (c[0][1] + c[1][1]) - 0.1f * len * vy;
    float a = 0.75f * len, b = 0.5f * len;
    for (int i = 0; i < ELLIPSE_POINTS; i++) {
        float t = 2.0f * (float)M_PI * (float)i / ELLIPSE_POINTS;
        out[i][0] = cx + a * cosf(t) * ux + b * sinf(t) * vx;
        out[i][1] = cy + a * cosf(t) * uy + b * sinf(t) * vy;
    }
}

static int copy_image(struct pho_image **out, const struct pho_image *src, struct pho_err *err)
{
    int rc = pho_image_new(out, src->width, src->height, err);
    if (rc)
        return rc;
    for (uint32_t y = 0; y < src->height; y++)
        memcpy((*out)->pixels + (size_t)y * (*out)->stride, src->pixels + (size_t)y * src->stride,
               (size_t)src->width * 3);
    return 0;
}

static struct pho_swap__px px_of(const struct pho_image *img)
{
    return (struct pho_swap__px){ img->pixels, (int)img->width, (int)img->height, img->stride };
}

struct candidate {
    size_t donor, face;
    float distance, cost;
};

static int cmp_candidate(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost < y->cost ? -1 : 1;
    if (x->donor != y->donor)
        return x->donor < y->donor ? -1 : 1;
    return (x->face > y->face) - (x->face < y->face);
}

struct job {
    struct pho_face_engine *fe;
    enum pho_face_metric metric;
    float same;
    const struct pho_image *const *donors;
    const double *dt;
    size_t ndonors;
    struct pho_face_list *dfaces; /* each donor's analysis (image_w 0: not yet) */
    const struct pho_swap_opts *o;
};

/* Analyses @img as the organizer would: photos of twice the working size or more are
 * analysed shrunk to it (geometry comes back in fractions of the image either way). */
static int analyse(struct job *j, const struct pho_image *img, struct pho_face_list *out,
                   struct pho_err *err)
{
    uint32_t size = j->o->analyse_size ? j->o->analyse_size : 1600;
    if (PHO_MAX(img->width, img->height) < 2 * size)
        return pho_face_analyze(j->fe, img, out, err);
    struct pho_image *small = NULL;
    int rc = pho_image_fit(&small, img, size, err);
    if (rc == 0)
        rc = pho_face_analyze(j->fe, small, out, err);
    pho_image_free(small);
    return rc;
}

static int donor_faces(struct job *j, size_t d, struct pho_err *err)
{
    if (j->dfaces[d].image_w)
        return 0;
    return analyse(j, j->donors[d], &j->dfaces[d], err);
}

/* Every donor face that is @t's person with open eyes, best first (*@n of them). */
static int candidates(struct candidate **out, size_t *n, struct job *j, const struct pho_face *t,
                      float eye_px, struct pho_err *err)
{
    *out = NULL;
    *n = 0;
    struct candidate *c = pho_calloc(j->ndonors ? j->ndonors : 1, sizeof(*c));
    if (!c)
        return pho_err_set(err, PHO_ENOMEM, "face swap: out of memory");
    for (size_t d = 0; d < j->ndonors; d++) {
        int rc = donor_faces(j, d, err);
        if (rc) {
            pho_free(c);
            return rc;
        }
        const struct pho_face_list *l = &j->dfaces[d];
        /* The donor's face nearest in identity: one person appears once in a take. */
        size_t best = SIZE_MAX;
        float bd = INFINITY;
        for (size_t k = 0; k < l->count; k++) {
            const struct pho_face *f = &l->faces[k];
            if (f->embed_dim == 0 || f->embed_dim != t->embed_dim)
                continue;
            float dist = pho_face_distance(j->metric, f->embed, t->embed, t->embed_dim);
            if (dist < bd)
                bd = dist, best = k;
        }
        if (best == SIZE_MAX || bd > j->same)
            continue;
        const struct pho_face *f = &l->faces[best];
        if (f->eyes_closed != 0 || !f->has_eyes || !f->has_pts5)
            continue;
        /* A face much smaller than the target's would have to be blown up: blurred eyes. */
        const struct pho_image *di = j->donors[d];
        float dw = 0.5f * (eye_width(f->eye_l, di->width, di->height) +
                           eye_width(f->eye_r, di->width, di->height));
        if (dw * 2.0f < eye_px)
            continue;
        float pose = (isnan(f->yaw) || isnan(t->yaw)) ? 0.5f : fabsf(f->yaw - t->yaw);
        float when = (j->dt && isfinite(j->dt[d])) ? (float)fmin(fabs(j->dt[d]), 60.0) / 60.0f
                                                   : 0.01f * (float)d;
        c[*n] = (struct candidate){ d, best, bd, 2.0f * pose + 0.5f * when + 0.25f * bd / j->same };
        (*n)++;
    }
    qsort(c, *n, sizeof(*c), cmp_candidate);
    *out = c;
    return 0;
}

/*
 * Tries the donor face @c on the target's face @t over the current result @cur: on
 * success *@cur is replaced by the repaired image. 0 with s->status 0 (repaired) or a
 * refusal in s; negative: an error of the analysis.
 */
static int try_one(struct pho_image **cur, struct pho_swap_face *s, struct job *j,
                   const struct pho_face *t, const struct candidate *c, struct pho_err *err)
{
    const struct pho_face_list *dl = &j->dfaces[c->donor];
    const struct pho_face *f = &dl->faces[c->face];
    struct pho_image *img = NULL;
    struct pho_face_list again = { 0 };
    int rc = copy_image(&img, *cur, err);
    if (rc)
        return rc;
    float sp[NPTS][2], dp[NPTS][2];
    /* Pixel work on the full pixels: geometry is in fractions of the image. */
    const struct pho_image *di = j->donors[c->donor];
    uint32_t W = (*cur)->width, H = (*cur)->height;
    stable_points(sp, f, di->width, di->height);
    stable_points(dp, t, W, H);
    float poly[2 * ELLIPSE_POINTS][2];
    int plen[2] = { ELLIPSE_POINTS, ELLIPSE_POINTS };
    eye_ellipse(poly, t->eye_l, W, H);
    eye_ellipse(poly + ELLIPSE_POINTS, t->eye_r, W, H);
    float ew = 0.5f * (eye_width(t->eye_l, W, H) + eye_width(t->eye_r, W, H));
    struct pho_swap__transplant tp = {
        .src_pts = sp,
        .dst_pts = dp,
        .npts = NPTS,
        .poly = poly,
        .poly_len = plen,
        .npoly = 2,
        .ring = fmaxf(2.0f, 0.25f * ew),
        .blend = j->o->blend == PHO_SWAP_BLEND_PASTE ? PHO_SWAP__PASTE : PHO_SWAP__POISSON,
    };
    struct pho_swap__px dst = px_of(img), src = px_of(di);
    char why[200] = "";
    int crc = pho_swap__cv_transplant(&dst, &src, &tp, why, sizeof(why));
    s->tries++;
    s->donor = c->donor;
    s->donor_face = c->face;
    s->distance = c->distance;
    if (crc == PHO_SWAP__NOMEM) {
        rc = pho_err_set(err, PHO_ENOMEM, "face swap: out of memory");
        goto out;
    }
    if (crc) {
        s->status = PHO_EUNSUPPORTED;
        snprintf(s->why, sizeof(s->why), "%s", why);
        goto out;
    }
    s->seam = tp.seam;
    s->match = tp.match;
    s->yaw_diff = (isnan(f->yaw) || isnan(t->yaw)) ? NAN : fabsf(f->yaw - t->yaw);
    s->scale = tp.scale;
    s->residual = tp.residual;
    /* The donor must line up with the target: its landmarks where the target's are and the
     * skin, brows and creases around the eyes alike. A take from another moment, pose or
     * day does not, and Poisson blending would paste whatever lies there (hair, the face's
     * edge) onto the face. */
    if (tp.residual > PHO_SWAP_MAX_RESIDUAL * ew) {
        s->status = PHO_ELIMIT;
        snprintf(s->why, sizeof(s->why),
                 "the other take's face does not line up with this one (landmarks %.1f px "
                 "apart, limit %.1f): head turned or expression changed",
                 tp.residual, PHO_SWAP_MAX_RESIDUAL * ew);
        goto out;
    }
    if (!(tp.match >= PHO_SWAP_MIN_MATCH)) {
        s->status = PHO_ELIMIT;
        snprintf(s->why, sizeof(s->why),
                 "the other take's face looks different around the eyes (match %.2f, needs "
                 "%.2f)",
                 tp.match, PHO_SWAP_MIN_MATCH);
        goto out;
    }
    if (tp.seam > j->o->max_seam) {
        s->status = PHO_ELIMIT;
        snprintf(s->why, sizeof(s->why), "the seam would show (%.2f, limit %.2f)", tp.seam,
                 j->o->max_seam);
        goto out;
    }
    /* The result, judged as the organizer judges any photo. */
    rc = analyse(j, img, &again, err);
    if (rc)
        goto out;
    size_t at = SIZE_MAX;
    float best = 0.3f;
    for (size_t k = 0; k < again.count; k++) {
        float o = pho_face_box_iou(again.faces[k].box, t->box);
        if (o > best)
            best = o, at = k;
    }
    if (at == SIZE_MAX) {
        s->status = PHO_ELIMIT;
        snprintf(s->why, sizeof(s->why), "the repaired face is no longer found");
        goto out;
    }
    const struct pho_face *r = &again.faces[at];
    s->ear_after = mean_ear(r);
    s->distance_after = r->embed_dim == t->embed_dim
                                ? pho_face_distance(j->metric, r->embed, t->embed, t->embed_dim)
                                : NAN;
    if (r->eyes_closed != 0) {
        s->status = PHO_ELIMIT;
        snprintf(s->why, sizeof(s->why), "the eyes are still %s after the repair (EAR %.3f)",
                 r->eyes_closed > 0 ? "closed" : "not clearly open", s->ear_after);
        goto out;
    }
    if (!(s->distance_after <= j->same)) {
        s->status = PHO_ELIMIT;
        snprintf(s->why, sizeof(s->why),
                 "the repaired face no longer looks like the same person (distance %.3f, "
                 "limit %.3f)",
                 s->distance_after, j->same);
        goto out;
    }
    s->status = 0;
    snprintf(s->why, sizeof(s->why), "eyes from donor %zu, face %zu", c->donor + 1, c->face + 1);
    pho_image_free(*cur);
    *cur = img;
    img = NULL;
out:
    pho_face_list_release(&again);
    pho_image_free(img);
    return rc;
}

static int fix_face(struct pho_image **cur, struct pho_swap_face *s, struct job *j,
                    const struct pho_face *t, struct pho_err *err)
{
    uint32_t W = (*cur)->width, H = (*cur)->height;
    float ew = 0.5f * (eye_width(t->eye_l, W, H) + eye_width(t->eye_r, W, H));
    if (!t->has_eyes || !t->has_pts5 || ew < PHO_SWAP_MIN_EYE_PX) {
        s->status = PHO_EUNSUPPORTED;
        snprintf(s->why, sizeof(s->why), "the eyes are too small to repair (%.0f px wide)", ew);
        return 0;
    }
    struct candidate *c = NULL;
    size_t n = 0;
    int rc = candidates(&c, &n, j, t, ew, err);
    if (rc)
        return rc;
    if (n == 0) {
        s->status = PHO_ENOTFOUND;
        snprintf(s->why, sizeof(s->why),
                 "no other take shows this person with open eyes at a usable size");
    }
    unsigned tries = j->o->max_tries ? j->o->max_tries : 3;
    for (size_t k = 0; k < n && k < tries && rc == 0; k++) {
        rc = try_one(cur, s, j, t, &c[k], err);
        if (rc == 0 && s->status == 0)
            break;
    }
    pho_free(c);
    return rc;
}

int pho_swap_fix_eyes(struct pho_swap_result *out, struct pho_face_engine *fe,
                      const struct pho_image *target, const struct pho_image *const *donors,
                      const double *dt, size_t ndonors, const struct pho_swap_opts *opts,
                      struct pho_err *err)
{
    memset(out, 0, sizeof(*out));
    struct pho_swap_opts defaults = PHO_SWAP_OPTS_INIT;
    const struct pho_swap_opts *o = opts ? opts : &defaults;
    if (!fe || !target || (ndonors && !donors))
        return pho_err_set(err, PHO_EINVAL, "face swap: no engine or no photo");
    int rc = pho_face_engine_require(fe, PHO_FACE_CAP_ENCODE, "face swap", err);
    if (rc)
        return rc;
    struct job j = {
        .fe = fe,
        .metric = pho_face_engine_metric(fe),
        .same = pho_face_engine_same_person(fe),
        .donors = donors,
        .dt = dt,
        .ndonors = ndonors,
        .o = o,
    };
    out->same = j.same;
    j.dfaces = pho_calloc(ndonors ? ndonors : 1, sizeof(*j.dfaces));
    if (!j.dfaces)
        return pho_err_set(err, PHO_ENOMEM, "face swap: out of memory");
    rc = analyse(&j, target, &out->target_faces, err);
    if (rc)
        goto out;
    const struct pho_face_list *tl = &out->target_faces;
    size_t nclosed = 0;
    for (size_t i = 0; i < tl->count; i++)
        nclosed += tl->faces[i].eyes_closed == 1;
    if (nclosed == 0)
        goto out;
    out->faces = pho_calloc(nclosed, sizeof(*out->faces));
    if (!out->faces) {
        rc = pho_err_set(err, PHO_ENOMEM, "face swap: out of memory");
        goto out;
    }
    rc = copy_image(&out->image, target, err);
    for (size_t i = 0; i < tl->count && rc == 0; i++) {
        const struct pho_face *t = &tl->faces[i];
        if (t->eyes_closed != 1)
            continue;
        struct pho_swap_face *s = &out->faces[out->nfaces++];
        *s = (struct pho_swap_face){ .face = i,
                                     .status = PHO_ENOTFOUND,
                                     .donor = SIZE_MAX,
                                     .donor_face = SIZE_MAX,
                                     .ear_before = mean_ear(t),
                                     .ear_after = NAN,
                                     .distance = NAN,
                                     .distance_after = NAN,
                                     .seam = NAN,
                                     .match = NAN,
                                     .yaw_diff = NAN,
                                     .scale = NAN,
                                     .residual = NAN };
        memcpy(s->box, t->box, sizeof(s->box));
        rc = fix_face(&out->image, s, &j, t, err);
        out->nfixed += rc == 0 && s->status == 0;
    }
out:
    for (size_t d = 0; d < ndonors; d++)
        pho_face_list_release(&j.dfaces[d]);
    pho_free(j.dfaces);
    if (rc == 0 && out->nfixed == 0) {
        pho_image_free(out->image);
        out->image = NULL;
    }
    return rc;
}

void pho_swap_result_release(struct pho_swap_result *r)
{
    if (!r)
        return;
    pho_image_free(r->image);
    pho_face_list_release(&r->target_faces);
    pho_free(r->faces);
    memset(r, 0, sizeof(*r));
}
