/* SPDX-License-Identifier: MIT */
/*
 * The FaceMesh stage (MediaPipe face_landmark, 468 points) shared by the
 * backends that need real eye openness: each face is cropped as MediaPipe
 * does (a square 1.5x the detection box, turned so the eye line is level),
 * the faces of one image run as one batch, and the points are mapped back to
 * the image. The eyelids come from MediaPipe's eye-contour ("iris") model on
 * crops around each eye's corners, because the mesh's own eyelids hardly
 * close on shut eyes; from them (the manifest's EAR indices, dlib order) the
 * eye aspect ratios and open / closed / wink against the threshold
 * calibrated in docs/faces.md. The mesh gives the five alignment points and a
 * rough yaw, and its face-presence score tells non-faces apart.
 */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face/stages.h"
#include "face/tensor_io.h"

enum { MESH_POINTS = 468, MESH_BATCH = 16, IRIS_BATCH = 32 };

/*
 * Closed-eye thresholds on EAR, calibrated on the labelled test photos
 * (docs/faces.md, "Eyes"): with the eye-contour model (iris), and with the
 * mesh's own eyelids when that model is missing. The mesh's eyelids stay
 * open-looking on shut eyes (mean EAR 0.19 on the closed-eyes photo, as low
 * as 0.17 on open smiling eyes), so without the eye model only clearly shut
 * eyes are caught.
 */
#define IRIS_CLOSED_EAR    0.135f
/* A wink: one eye under the threshold while the other is clearly open (the lowest open eye
 * measured is 0.210); two low eyes are closing eyes, not a wink. */
#define IRIS_WINK_OPEN_EAR 0.200f
#define MESH_CLOSED_EAR    0.150f
/* sigmoid(presence logit) below this: the crop holds no face (MediaPipe's own cut-off). */
#define MESH_MIN_PRESENCE  0.5f
/* A face whose mesh eye line is turned more than this from its crop is cropped again, level. */
#define MESH_RECROP_RAD    0.17f
/* The eye crop's side, in eye-corner distances (MediaPipe's iris ROI). */
#define IRIS_CROP          2.3f

struct face_mesh {
    struct face_ctx *ctx;
    struct pho_model *model;
    struct face_input in;
    int eye[2][6];        /* [0] image-left (subject's right) eye, [1] image-right; dlib order */
    int eye_centre[2][2]; /* corner pairs whose mean is each eye's centre */
    int nose, mouth[2];   /* nose tip; image-left and image-right mouth corners */
    /* The eye-contour model (NULL when not installed: mesh eyelids, MESH_CLOSED_EAR). */
    struct pho_model *iris;
    struct face_input iris_in;
    int iris_eye[2][6];  /* its points in dlib order, per eye as above */
    bool iris_mirror[2]; /* which eye's crop is mirrored left-right */
    int iris_points;     /* points per eye in its output (x, y, z each) */
};

float pho_face__mesh_closed_ear(void)
{
    return IRIS_CLOSED_EAR;
}

/* Copies @n landmark indices, each below @max. */
static int copy_indices(int *dst, const int *src, int n, int max)
{
    for (int i = 0; i < n; i++) {
        if (src[i] < 0 || src[i] >= max)
            return -1;
        dst[i] = src[i];
    }
    return 0;
}

/* The landmark indices the stage uses, from the manifest's spec of face_landmark. */
static int read_layout(struct face_mesh *m, struct pho_err *err)
{
    const struct pho_model_spec *s = pho_models_find(m->ctx->models, "face_landmark");
    int five[5][2];
    int bad = !s || !s->has_eye_points || !s->has_five_points ||
              copy_indices(m->eye[0], s->eye_points[0], 6, MESH_POINTS) ||
              copy_indices(m->eye[1], s->eye_points[1], 6, MESH_POINTS) ||
              copy_indices(&five[0][0], &s->five_points[0][0], 10, MESH_POINTS);
    if (bad)
        return pho_err_set(err, PHO_EMODEL,
                           "face: the manifest entry of face_landmark lacks valid ear_indices / "
                           "five_points");
    memcpy(m->eye_centre, five, sizeof(m->eye_centre)); /* right eye, left eye */
    m->nose = five[2][0];
    m->mouth[0] = five[3][0];
    m->mouth[1] = five[4][0];
    return 0;
}

/*
 * Opens the eye-contour model when it is installed. Its absence is not an
 * error (the mesh's eyelids stand in), but it is said once per open.
 */
static int open_iris(struct face_mesh *m, struct pho_err *err)
{
    static const char *const names[] = { "iris", NULL };
    struct pho_err why = PHO_ERR_INIT;
    if (pho_face__probe_models(m->ctx, names, &why)) {
        pho_log(PHO_LOG_WARN, "face",
                "%s; eyes are judged from the face mesh alone, which misses most closed eyes "
                "(run 'photo-organizer models install')",
                why.msg);
        return 0;
    }
    const struct pho_model_spec *s = pho_models_find(m->ctx->models, "iris");
    const struct pho_model_contract *c = s ? &s->contract : NULL;
    int64_t values =
            c && c->noutputs > 0 && c->out_rank[0] > 0 ? c->out_shape[0][c->out_rank[0] - 1] : 0;
    m->iris_points = (int)(values / 3);
    int bad = !s || !s->has_eye_points || m->iris_points < 16 ||
              copy_indices(m->iris_eye[0], s->eye_points[0], 6, m->iris_points) ||
              copy_indices(m->iris_eye[1], s->eye_points[1], 6, m->iris_points);
    if (bad)
        return pho_err_set(err, PHO_EMODEL,
                           "face: the manifest entry of iris lacks valid ear_indices / outputs");
    m->iris_mirror[0] = s->mirrored_eye == 0;
    m->iris_mirror[1] = s->mirrored_eye == 1;
    int rc = pho_face__model_input(m->ctx, "iris", &m->iris_in, err);
    if (rc == 0)
        rc = pho_face__open_model(&m->iris, m->ctx, "iris", err);
    if (rc == 0 && (m->iris_in.channels != 3 || m->iris_in.w != m->iris_in.h))
        rc = pho_err_set(err, PHO_EMODEL, "face: the iris model does not take square RGB crops");
    return rc;
}

int pho_face__mesh_open(struct face_mesh **out, struct face_ctx *ctx, struct pho_err *err)
{
    *out = NULL;
    struct face_mesh *m = pho_calloc(1, sizeof(*m));
    if (!m)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    m->ctx = ctx;
    int rc = pho_face__model_input(ctx, "face_landmark", &m->in, err);
    if (rc == 0)
        rc = read_layout(m, err);
    if (rc == 0)
        rc = pho_face__open_model(&m->model, ctx, "face_landmark", err);
    if (rc == 0 &&
        (m->in.channels != 3 || m->in.w != m->in.h || pho_model_output_count(m->model) < 2))
        rc = pho_err_set(err, PHO_EMODEL, "face: face_landmark does not have the mesh's layout");
    if (rc == 0)
        rc = open_iris(m, err);
    if (rc) {
        pho_face__mesh_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

void pho_face__mesh_close(struct face_mesh *m)
{
    if (!m)
        return;
    pho_model_close(m->iris);
    pho_model_close(m->model);
    pho_free(m);
}

/* Where one face is cropped: its image, and the centre, side and angle of its square, in
 * image pixels. */
struct mesh_roi {
    const struct pho_image *img;
    float cx, cy, side, angle;
};

/*
 * Runs the mesh on @n crops. pts receives 468 (x, y) per crop in image
 * pixels, presence the sigmoid of the presence logit.
 */
static int run_mesh(struct face_mesh *m, const struct mesh_roi *roi, size_t n, float (*pts)[2],
                    float *presence, struct pho_err *err)
{
    const int side = m->in.w;
    size_t item = pho_face__input_len(&m->in);
    float *buf = pho_malloc(sizeof(float) * item * PHO_MIN(n, (size_t)MESH_BATCH));
    if (!buf)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    int rc = 0;
    for (size_t b0 = 0; b0 < n && rc == 0; b0 += MESH_BATCH) {
        size_t nb = PHO_MIN(n - b0, (size_t)MESH_BATCH);
        face_affine edge[MESH_BATCH];
        for (size_t i = 0; i < nb; i++) {
            const struct mesh_roi *r = &roi[b0 + i];
            face_affine centre;
            pho_face__roi_affine(r->cx, r->cy, r->side, r->angle, side, edge[i]);
            pho_face__edge_to_centre(edge[i], centre);
            pho_face__warp_aa(r->img, centre, side, side, &m->in.norm, buf + i * item);
        }
        struct pho_tensor in = pho_face__input_batch(&m->in, buf, nb);
        struct pho_tensor out[2] = { 0 };
        rc = pho_model_run(m->model, &in, 1, out, 2, err);
        if (rc)
            break;
        if (pho_tensor_count(&out[0]) != nb * MESH_POINTS * 3 || pho_tensor_count(&out[1]) != nb) {
            rc = pho_err_set(err, PHO_EINFER, "face: face_landmark gave outputs of the wrong size");
        } else {
            for (size_t i = 0; i < nb; i++) {
                face_affine back;
                pho_face__affine_invert(edge[i], back);
                const float *o = out[0].data + i * MESH_POINTS * 3;
                float(*p)[2] = pts + (b0 + i) * MESH_POINTS;
                for (int k = 0; k < MESH_POINTS; k++)
                    pho_face__affine_apply(back, o[k * 3], o[k * 3 + 1], &p[k][0], &p[k][1]);
                presence[b0 + i] = pho_face__sigmoid(out[1].data[i]);
            }
        }
        pho_tensor_release(&out[0]);
        pho_tensor_release(&out[1]);
    }
    pho_free(buf);
    return rc;
}

/*
 * The eye-contour model on both eyes of the @n faces listed in @faces (indices
 * into @roi, @pts and @eyes): each eye's crop is centred on its corners (mesh
 * points @pts) and turned along them, as MediaPipe does. eyes[faces[j]]
 * receives per eye the six dlib-order points (image pixels).
 */
static int run_iris(struct face_mesh *m, const struct mesh_roi *roi, const float (*pts)[2],
                    const size_t *faces, size_t n, float (*eyes)[2][6][2], struct pho_err *err)
{
    const int side = m->iris_in.w;
    const size_t item = pho_face__input_len(&m->iris_in), ncrop = 2 * n;
    float *buf = pho_malloc(sizeof(float) * item * PHO_MIN(ncrop, (size_t)IRIS_BATCH));
    if (!buf)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    int rc = 0;
    for (size_t c0 = 0; c0 < ncrop && rc == 0; c0 += IRIS_BATCH) {
        size_t nb = PHO_MIN(ncrop - c0, (size_t)IRIS_BATCH);
        face_affine edge[IRIS_BATCH];
        for (size_t j = 0; j < nb; j++) {
            size_t c = c0 + j;
            int e = (int)(c % 2);
            const float(*p)[2] = pts + faces[c / 2] * MESH_POINTS;
            /* Corners: dlib points 0 and 3, the image-left one first on an upright face. */
            const float *a = p[m->eye[e][0]], *b = p[m->eye[e][3]];
            float d = hypotf(b[0] - a[0], b[1] - a[1]);
            pho_face__roi_affine((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, IRIS_CROP * PHO_MAX(d, 1.0f),
                                 atan2f(b[1] - a[1], b[0] - a[0]), side, edge[j]);
            if (m->iris_mirror[e]) {
                for (int k = 0; k < 3; k++)
                    edge[j][0][k] = -edge[j][0][k];
                edge[j][0][2] += (float)side;
            }
            face_affine centre;
            pho_face__edge_to_centre(edge[j], centre);
            pho_face__warp_aa(roi[faces[c / 2]].img, centre, side, side, &m->iris_in.norm,
                              buf + j * item);
        }
        struct pho_tensor in = pho_face__input_batch(&m->iris_in, buf, nb);
        struct pho_tensor out = { 0 };
        rc = pho_model_run(m->iris, &in, 1, &out, 1, err);
        if (rc)
            break;
        size_t per = (size_t)m->iris_points * 3;
        if (pho_tensor_count(&out) != nb * per) {
            rc = pho_err_set(err, PHO_EINFER,
                             "face: the iris model gave outputs of the wrong size");
        } else {
            for (size_t j = 0; j < nb; j++) {
                size_t c = c0 + j;
                int e = (int)(c % 2);
                face_affine back;
                pho_face__affine_invert(edge[j], back);
                const float *o = out.data + j * per;
                for (int k = 0; k < 6; k++) {
                    int q = m->iris_eye[e][k];
                    pho_face__affine_apply(back, o[q * 3], o[q * 3 + 1],
                                           &eyes[faces[c / 2]][e][k][0],
                                           &eyes[faces[c / 2]][e][k][1]);
                }
            }
        }
        pho_tensor_release(&out);
    }
    pho_free(buf);
    return rc;
}

static void mid(const float a[2], const float b[2], float out[2])
{
    out[0] = (a[0] + b[0]) / 2;
    out[1] = (a[1] + b[1]) / 2;
}

/* Angle of the line from the image-left eye centre to the image-right one. */
static float eye_angle(const struct face_mesh *m, const float (*p)[2])
{
    float l[2], r[2];
    mid(p[m->eye_centre[0][0]], p[m->eye_centre[0][1]], l);
    mid(p[m->eye_centre[1][0]], p[m->eye_centre[1][1]], r);
    return atan2f(r[1] - l[1], r[0] - l[0]);
}

static float wrap_angle(float a)
{
    while (a > (float)M_PI)
        a -= 2 * (float)M_PI;
    while (a < -(float)M_PI)
        a += 2 * (float)M_PI;
    return a;
}

/*
 * Head turn from the eye corners and the nose tip, measured along the eye
 * line: 0 when the nose sits midway between the outer corners, towards -1
 * when it nears the image-left one (the head turned to the image's left).
 */
static float yaw_of(const struct face_mesh *m, const float (*p)[2])
{
    const float *outer_l = p[m->eye[0][0]], *outer_r = p[m->eye[1][3]], *nose = p[m->nose];
    float ux = outer_r[0] - outer_l[0], uy = outer_r[1] - outer_l[1];
    float len2 = ux * ux + uy * uy;
    if (!(len2 > 1e-6f))
        return NAN;
    /* Position of the nose along the eye line: 0 at the left corner, 1 at the right one. */
    float t = ((nose[0] - outer_l[0]) * ux + (nose[1] - outer_l[1]) * uy) / len2;
    float yaw = 2 * t - 1;
    return yaw < -1 ? -1 : yaw > 1 ? 1 : yaw;
}

/*
 * Fills the mesh fields of @f from the 468 points @p and the eyelid points
 * @eyes (image pixels), judged against @closed.
 */
static void fill_face(const struct face_mesh *m, const float (*p)[2], const float (*eyes)[6][2],
                      float closed, float w, float h, struct pho_face *f)
{
    float(*dst[2])[2] = { f->eye_l, f->eye_r };
    float ear[2];
    for (int e = 0; e < 2; e++) {
        for (int k = 0; k < 6; k++) {
            dst[e][k][0] = eyes[e][k][0] / w;
            dst[e][k][1] = eyes[e][k][1] / h;
        }
        ear[e] = pho_face__ear(eyes[e]);
    }
    f->has_eyes = true;
    f->ear_l = ear[0];
    f->ear_r = ear[1];
    if (isnan(ear[0]) || isnan(ear[1])) {
        f->eyes_closed = f->winking = -1;
    } else {
        bool shut_l = ear[0] < closed, shut_r = ear[1] < closed;
        float other = shut_l ? ear[1] : ear[0];
        f->winking = shut_l != shut_r && other >= closed * (IRIS_WINK_OPEN_EAR / IRIS_CLOSED_EAR);
        f->eyes_closed = shut_l || shut_r;
    }
    f->yaw = yaw_of(m, p);
    if (!f->has_pts5) {
        float pt[5][2];
        mid(p[m->eye_centre[0][0]], p[m->eye_centre[0][1]], pt[0]);
        mid(p[m->eye_centre[1][0]], p[m->eye_centre[1][1]], pt[1]);
        memcpy(pt[2], p[m->nose], sizeof(pt[2]));
        memcpy(pt[3], p[m->mouth[0]], sizeof(pt[3]));
        memcpy(pt[4], p[m->mouth[1]], sizeof(pt[4]));
        for (int k = 0; k < 5; k++) {
            f->pts5[k][0] = pt[k][0] / w;
            f->pts5[k][1] = pt[k][1] / h;
        }
        f->has_pts5 = true;
    }
}

/* Makes faces->dense hold 468 points for every face, NAN where unknown. */
static int grow_dense(struct pho_face_list *faces, size_t first)
{
    size_t have = faces->dense ? first : 0;
    float(*d)[2] = pho_reallocarray(faces->dense, faces->count * MESH_POINTS, sizeof(*d));
    if (!d)
        return PHO_ENOMEM;
    for (size_t i = have * MESH_POINTS; i < faces->count * MESH_POINTS; i++)
        d[i][0] = d[i][1] = NAN;
    faces->dense = d;
    return 0;
}

/* Re-runs the mesh on the faces whose eye line came out tilted in their crop. */
static int recrop_tilted(struct face_mesh *m, struct mesh_roi *roi, size_t n, float (*pts)[2],
                         float *presence, struct pho_err *err)
{
    size_t *redo = pho_malloc(sizeof(size_t) * n), nredo = 0;
    if (!redo)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    for (size_t i = 0; i < n; i++) {
        if (presence[i] < MESH_MIN_PRESENCE)
            continue;
        float a = eye_angle(m, (const float(*)[2])(pts + i * MESH_POINTS));
        if (fabsf(wrap_angle(a - roi[i].angle)) > MESH_RECROP_RAD) {
            roi[i].angle = a;
            redo[nredo++] = i;
        }
    }
    int rc = 0;
    if (nredo) {
        struct mesh_roi *roi2 = pho_malloc(sizeof(*roi2) * nredo);
        float(*pts2)[2] = pho_malloc(sizeof(*pts2) * MESH_POINTS * nredo);
        float *pres2 = pho_malloc(sizeof(float) * nredo);
        if (!roi2 || !pts2 || !pres2) {
            rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        } else {
            for (size_t j = 0; j < nredo; j++)
                roi2[j] = roi[redo[j]];
            rc = run_mesh(m, roi2, nredo, pts2, pres2, err);
            for (size_t j = 0; j < nredo && rc == 0; j++) {
                memcpy(pts + redo[j] * MESH_POINTS, pts2 + j * MESH_POINTS,
                       sizeof(*pts) * MESH_POINTS);
                presence[redo[j]] = pres2[j];
            }
        }
        pho_free(roi2);
        pho_free(pts2);
        pho_free(pres2);
    }
    pho_free(redo);
    return rc;
}

int pho_face__mesh_run_jobs(struct face_mesh *m, const struct face_job *jobs, size_t njobs,
                            struct pho_err *err)
{
    struct face_ref *refs;
    size_t n, nface = 0;
    int rc = pho_face__jobs_flatten(&refs, &n, jobs, njobs, err);
    if (rc || n == 0)
        return rc;
    double t0 = pho_face__now();
    struct mesh_roi *roi = pho_calloc(n, sizeof(*roi));
    float(*pts)[2] = pho_malloc(sizeof(*pts) * MESH_POINTS * n);
    float *presence = pho_malloc(sizeof(float) * n);
    size_t *live = pho_malloc(sizeof(size_t) * n);
    float(*eyes)[2][6][2] = pho_malloc(sizeof(*eyes) * n);
    if (!roi || !pts || !presence || !live || !eyes) {
        rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        goto out;
    }
    for (size_t j = 0; j < njobs; j++) {
        if (jobs[j].first < jobs[j].faces->count && jobs[j].faces->dense_per_face == MESH_POINTS &&
            grow_dense(jobs[j].faces, jobs[j].first)) {
            rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct face_job *jb = &jobs[refs[i].job];
        const struct pho_face *f = &jb->faces->faces[refs[i].face];
        const float w = (float)jb->img->width, h = (float)jb->img->height;
        float x0 = f->box[0] * w, y0 = f->box[1] * h, x1 = f->box[2] * w, y1 = f->box[3] * h;
        roi[i].img = jb->img;
        roi[i].cx = (x0 + x1) / 2;
        roi[i].cy = (y0 + y1) / 2;
        roi[i].side = PHO_MAX(1.5f * PHO_MAX(x1 - x0, y1 - y0), 1.0f);
        if (jb->eye_hints) {
            const float(*e)[2] = jb->eye_hints[refs[i].face - jb->first];
            roi[i].angle = atan2f(e[1][1] - e[0][1], e[1][0] - e[0][0]);
        }
    }
    rc = run_mesh(m, roi, n, pts, presence, err);
    /* The mesh is far more precise on upright faces: no hints, or poor ones, get a second look. */
    if (rc == 0)
        rc = recrop_tilted(m, roi, n, pts, presence, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < n; i++) {
        PHO_LOG_DEBUG("face", "mesh: face %zu presence %.3f", refs[i].face, (double)presence[i]);
        if (presence[i] < MESH_MIN_PRESENCE)
            continue; /* no face in the crop: its mesh fields stay unknown */
        live[nface++] = i;
        const float(*p)[2] = (const float(*)[2])(pts + i * MESH_POINTS);
        for (int e = 0; e < 2; e++)
            for (int k = 0; k < 6; k++)
                memcpy(eyes[i][e][k], p[m->eye[e][k]], sizeof(eyes[i][e][k]));
    }
    if (m->iris && nface)
        rc = run_iris(m, roi, (const float(*)[2])pts, live, nface, eyes, err);
    if (rc)
        goto out;
    for (size_t q = 0; q < nface; q++) {
        size_t i = live[q];
        struct pho_face_list *faces = jobs[refs[i].job].faces;
        const float w = (float)roi[i].img->width, h = (float)roi[i].img->height;
        const float(*p)[2] = (const float(*)[2])(pts + i * MESH_POINTS);
        fill_face(m, p, (const float(*)[6][2])eyes[i], m->iris ? IRIS_CLOSED_EAR : MESH_CLOSED_EAR,
                  w, h, &faces->faces[refs[i].face]);
        if (faces->dense_per_face == MESH_POINTS) {
            float(*d)[2] = faces->dense + refs[i].face * MESH_POINTS;
            for (int k = 0; k < MESH_POINTS; k++) {
                d[k][0] = p[k][0] / w;
                d[k][1] = p[k][1] / h;
            }
        }
    }
out:
    pho_free(refs);
    pho_free(roi);
    pho_free(pts);
    pho_free(presence);
    pho_free(live);
    pho_free(eyes);
    pho_face__stat_add(m->ctx, FACE_STAGE_LANDMARKS, pho_face__now() - t0);
    return rc;
}

int pho_face__mesh_run(struct face_mesh *m, const struct pho_image *img,
                       struct pho_face_list *faces, size_t first, const float (*eye_hints)[2][2],
                       struct pho_err *err)
{
    struct face_job jb = { img, faces, first, eye_hints };
    return pho_face__mesh_run_jobs(m, &jb, 1, err);
}
