/* SPDX-License-Identifier: MIT */
/*
 * Identity embeddings shared by the backends: each face with five points is
 * warped by a least-squares similarity onto its model's template (ArcFace's
 * 112x112 five points; for dlib's ResNet, dlib's own face-chip geometry), the
 * faces of one image run as one batch, and cosine models are L2-normalised.
 * Input size, layout and normalisation come from the model's manifest entry.
 * Thresholds: docs/faces.md ("Identity").
 */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "face/stages.h"
#include "face/tensor_io.h"

enum { EMBED_BATCH = 16 };

enum templ {
    TEMPL_ARCFACE, /* the ArcFace 112 points, scaled to the input size */
    TEMPL_DLIB,    /* dlib's get_face_chip_details(150, padding 0.25) geometry */
};

struct embed_model {
    const char *name;
    int dim;
    enum pho_face_metric metric;
    enum templ templ;
    float same_person; /* distance at or below which two faces are one person */
};

/*
 * same_person: mobilefacenet calibrated on the identity photos; dlib_resnet
 * keeps dlib's 0.6, which the same photos support; the others cannot be
 * calibrated without their (user-supplied) weights: published defaults.
 * Every number is explained in docs/faces.md.
 */
static const struct embed_model models[] = {
    { "mobilefacenet", 192, PHO_FACE_METRIC_COSINE, TEMPL_ARCFACE, 0.52f },
    { "arcface_r50", 512, PHO_FACE_METRIC_COSINE, TEMPL_ARCFACE, 0.55f },
    { "arcface_mbf", 512, PHO_FACE_METRIC_COSINE, TEMPL_ARCFACE, 0.55f },
    { "facenet_vggface2", 512, PHO_FACE_METRIC_COSINE, TEMPL_ARCFACE, 0.40f },
    { "dlib_resnet", 128, PHO_FACE_METRIC_EUCLIDEAN, TEMPL_DLIB, 0.60f },
};

struct face_embedder {
    struct face_ctx *ctx;
    const struct embed_model *spec;
    struct pho_model *model;
    struct face_input in;
    float tmpl[5][2]; /* the five points in tensor pixels (pixel centres) */
    char id[48];
};

/*
 * dlib's mean face (points 17-67 of its 68-point shape, in a unit square)
 * gives the chip dlib's ResNet was trained on; our five points are its eye
 * centres (mean of 36-41 and 42-47), nose tip 30 and mouth corners 48 / 54.
 */
static void dlib_template(int size, float out[5][2])
{
    static const float eye_l[6][2] = { { 0.121737f, 0.216423f }, { 0.187122f, 0.178758f },
                                       { 0.265825f, 0.179852f }, { 0.334606f, 0.231733f },
                                       { 0.260918f, 0.245099f }, { 0.182743f, 0.244077f } };
    static const float eye_r[6][2] = { { 0.645647f, 0.231733f }, { 0.714428f, 0.179852f },
                                       { 0.793132f, 0.178758f }, { 0.858516f, 0.216423f },
                                       { 0.797510f, 0.244077f }, { 0.719335f, 0.245099f } };
    const float pad = 0.25f;
    float unit[5][2] = { { 0, 0 },
                         { 0, 0 },
                         { 0.490127f, 0.515625f },
                         { 0.254149f, 0.780233f },
                         { 0.726104f, 0.780233f } };
    for (int k = 0; k < 6; k++) {
        for (int c = 0; c < 2; c++) {
            unit[0][c] += eye_l[k][c] / 6;
            unit[1][c] += eye_r[k][c] / 6;
        }
    }
    /* dlib: (padding + p) / (2 padding + 1) * size, in pixel-centre coordinates. */
    for (int k = 0; k < 5; k++)
        for (int c = 0; c < 2; c++)
            out[k][c] = (pad + unit[k][c]) / (2 * pad + 1) * (float)size;
}

int pho_face__embed_open(struct face_embedder **out, struct face_ctx *ctx, const char *model,
                         struct pho_err *err)
{
    *out = NULL;
    const struct embed_model *spec = NULL;
    for (size_t i = 0; i < PHO_ARRAY_LEN(models); i++)
        if (!strcmp(models[i].name, model))
            spec = &models[i];
    if (!spec)
        return pho_err_set(err, PHO_EINVAL, "face: no embedding model called '%s'", model);
    struct face_embedder *e = pho_calloc(1, sizeof(*e));
    if (!e)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    e->ctx = ctx;
    e->spec = spec;
    snprintf(e->id, sizeof(e->id), "%s-%d", spec->name, spec->dim);
    int rc = pho_face__model_input(ctx, model, &e->in, err);
    if (rc == 0)
        rc = pho_face__open_model(&e->model, ctx, model, err);
    if (rc == 0) {
        int64_t shape[PHO_TENSOR_MAX_DIMS];
        size_t rank = pho_model_output_shape(e->model, 0, shape);
        if (e->in.channels != 3 || e->in.w != e->in.h || rank != 2 || shape[1] != spec->dim)
            rc = pho_err_set(err, PHO_EMODEL,
                             "face: %s does not give %d-d embeddings from square RGB crops", model,
                             spec->dim);
    }
    if (rc) {
        pho_face__embed_close(e);
        return rc;
    }
    if (spec->templ == TEMPL_DLIB) {
        dlib_template(e->in.w, e->tmpl);
    } else {
        /* The ArcFace points are pixel centres of a 112 crop; scale about (0, 0)'s corner. */
        float s = (float)e->in.w / 112.0f;
        for (int k = 0; k < 5; k++)
            for (int c = 0; c < 2; c++)
                e->tmpl[k][c] = (pho_face__arcface_112[k][c] + 0.5f) * s - 0.5f;
    }
    *out = e;
    return 0;
}

void pho_face__embed_close(struct face_embedder *e)
{
    if (!e)
        return;
    pho_model_close(e->model);
    pho_free(e);
}

const char *pho_face__embed_id(const struct face_embedder *e)
{
    return e->id;
}

enum pho_face_metric pho_face__embed_metric(const struct face_embedder *e)
{
    return e->spec->metric;
}

float pho_face__embed_same_person(const struct face_embedder *e)
{
    return e->spec->same_person;
}

int pho_face__embed_run_jobs(struct face_embedder *e, const struct face_job *jobs, size_t njobs,
                             struct pho_err *err)
{
    struct face_ref *refs;
    size_t n;
    int rc = pho_face__jobs_flatten(&refs, &n, jobs, njobs, err);
    if (rc || n == 0)
        return rc;
    double t0 = pho_face__now();
    size_t item = pho_face__input_len(&e->in), todo = 0;
    float *buf = pho_malloc(sizeof(float) * item * PHO_MIN(n, (size_t)EMBED_BATCH));
    if (!buf) {
        rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        goto out;
    }
    /* Only faces with five points can be aligned: the rest keep embed_dim 0. */
    for (size_t i = 0; i < n; i++) {
        struct pho_face *f = &jobs[refs[i].job].faces->faces[refs[i].face];
        f->embed_dim = 0;
        if (f->has_pts5)
            refs[todo++] = refs[i];
    }
    for (size_t b0 = 0; b0 < todo && rc == 0; b0 += EMBED_BATCH) {
        size_t nb = PHO_MIN(todo - b0, (size_t)EMBED_BATCH), used = 0;
        struct pho_face *which[EMBED_BATCH];
        for (size_t j = 0; j < nb; j++) {
            const struct face_job *jb = &jobs[refs[b0 + j].job];
            struct pho_face *f = &jb->faces->faces[refs[b0 + j].face];
            face_affine m;
            if (!pho_face__align5(f, (float)jb->img->width, (float)jb->img->height,
                                  (const float(*)[2])e->tmpl, m))
                continue;
            pho_face__warp_aa(jb->img, m, e->in.w, e->in.h, &e->in.norm, buf + used * item);
            which[used++] = f;
        }
        if (!used)
            continue;
        struct pho_tensor in = pho_face__input_batch(&e->in, buf, used);
        struct pho_tensor out = { 0 };
        rc = pho_model_run(e->model, &in, 1, &out, 1, err);
        if (rc)
            break;
        if (pho_tensor_count(&out) != used * (size_t)e->spec->dim) {
            rc = pho_err_set(err, PHO_EINFER, "face: %s gave embeddings of the wrong size",
                             e->spec->name);
        } else {
            for (size_t j = 0; j < used; j++) {
                struct pho_face *f = which[j];
                const float *v = out.data + j * (size_t)e->spec->dim;
                double norm = 0;
                for (int k = 0; k < e->spec->dim; k++)
                    norm += (double)v[k] * v[k];
                float s = 1;
                if (e->spec->metric == PHO_FACE_METRIC_COSINE)
                    s = norm > 0 ? (float)(1 / sqrt(norm)) : 0;
                for (int k = 0; k < e->spec->dim; k++)
                    f->embed[k] = v[k] * s;
                f->embed_dim = (uint16_t)e->spec->dim;
            }
        }
        pho_tensor_release(&out);
    }
out:
    pho_free(refs);
    pho_free(buf);
    pho_face__stat_add(e->ctx, FACE_STAGE_EMBED, pho_face__now() - t0);
    return rc;
}

int pho_face__embed_run(struct face_embedder *e, const struct pho_image *img,
                        struct pho_face_list *faces, size_t first, struct pho_err *err)
{
    struct face_job jb = { img, faces, first, NULL };
    return pho_face__embed_run_jobs(e, &jb, 1, err);
}
