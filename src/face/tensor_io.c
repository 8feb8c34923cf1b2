/* SPDX-License-Identifier: MIT */
/*
 * Tensor helpers of tensor_io.h: model inputs read from the manifest, the
 * rotated square crops of the mesh and the detector tiles, and warps fast
 * enough to run on every tile.
 */
#include "core/common.h"

#include <math.h>
#include <string.h>

#include "face/tensor_io.h"

int pho_face__model_input(const struct face_ctx *ctx, const char *name, struct face_input *out,
                          struct pho_err *err)
{
    memset(out, 0, sizeof(*out));
    const struct pho_model_spec *s = pho_models_find(ctx->models, name);
    const struct pho_model_contract *c = s ? &s->contract : NULL;
    if (!c || c->ninputs < 1 || c->in_rank[0] != 4)
        return pho_err_set(err, PHO_EMODEL, "face: the manifest has no image input for model '%s'",
                           name);
    const int64_t *d = c->in_shape[0];
    /* NCHW when the manifest says so, or when it is silent and dimension 1 is a channel count. */
    out->norm.nchw = s->layout == PHO_MODEL_LAYOUT_NCHW ||
                     (s->layout == PHO_MODEL_LAYOUT_NONE && (d[1] == 1 || d[1] == 3));
    out->channels = (int)(out->norm.nchw ? d[1] : d[3]);
    out->h = (int)(out->norm.nchw ? d[2] : d[1]);
    out->w = (int)(out->norm.nchw ? d[3] : d[2]);
    out->norm.grey = out->channels == 1 || s->color == PHO_MODEL_COLOR_GRAY;
    out->norm.bgr = s->color == PHO_MODEL_COLOR_BGR;
    if ((out->channels != 1 && out->channels != 3) || out->w < 8 || out->h < 8 || out->w > 4096 ||
        out->h > 4096 || out->norm.grey != (out->channels == 1))
        return pho_err_set(err, PHO_EMODEL,
                           "face: model '%s': input 0 is not an image tensor in the manifest",
                           name);
    memcpy(out->norm.mean, s->mean, sizeof(out->norm.mean));
    memcpy(out->norm.scale, s->scale, sizeof(out->norm.scale));
    return 0;
}

void pho_face__roi_affine(float cx, float cy, float side, float angle, int n, face_affine out)
{
    float s = (float)n / side, c = cosf(angle), sn = sinf(angle);
    out[0][0] = s * c;
    out[0][1] = s * sn;
    out[0][2] = (float)n / 2 - s * (c * cx + sn * cy);
    out[1][0] = -s * sn;
    out[1][1] = s * c;
    out[1][2] = (float)n / 2 - s * (-sn * cx + c * cy);
}

void pho_face__edge_to_centre(const face_affine edge, face_affine centre)
{
    for (int r = 0; r < 2; r++) {
        centre[r][0] = edge[r][0];
        centre[r][1] = edge[r][1];
        centre[r][2] = edge[r][2] + 0.5f * (edge[r][0] + edge[r][1]) - 0.5f;
    }
}

int pho_face__box_reduce(const struct pho_image *img, int x0, int y0, int w, int h, int k,
                         struct pho_image *out)
{
    memset(out, 0, sizeof(*out));
    if (k < 1 || x0 < 0 || y0 < 0 || x0 + w > (int)img->width || y0 + h > (int)img->height ||
        w / k < 1 || h / k < 1)
        return PHO_EINVAL;
    int ow = w / k, oh = h / k;
    uint8_t *px = pho_malloc((size_t)ow * oh * 3);
    uint32_t *acc = pho_malloc((size_t)ow * 3 * sizeof(*acc));
    if (!px || !acc) {
        pho_free(px);
        pho_free(acc);
        return PHO_ENOMEM;
    }
    uint32_t area = (uint32_t)(k * k);
    for (int j = 0; j < oh; j++) {
        memset(acc, 0, (size_t)ow * 3 * sizeof(*acc));
        for (int dy = 0; dy < k; dy++) {
            const uint8_t *row =
                    img->pixels + (size_t)(y0 + j * k + dy) * img->stride + (size_t)x0 * 3;
            for (int i = 0; i < ow; i++) {
                const uint8_t *p = row + (size_t)i * k * 3;
                uint32_t r = 0, g = 0, b = 0;
                for (int dx = 0; dx < k; dx++, p += 3) {
                    r += p[0];
                    g += p[1];
                    b += p[2];
                }
                acc[i * 3] += r;
                acc[i * 3 + 1] += g;
                acc[i * 3 + 2] += b;
            }
        }
        uint8_t *o = px + (size_t)j * ow * 3;
        for (int i = 0; i < ow * 3; i++)
            o[i] = (uint8_t)((acc[i] + area / 2) / area);
    }
    pho_free(acc);
    out->width = (uint32_t)ow;
    out->height = (uint32_t)oh;
    out->stride = (size_t)ow * 3;
    out->pixels = px;
    return 0;
}

/*
 * Bilinear sampling through @m (pixel-centre map, image -> tensor), like
 * pho_face__warp() (zero outside the image) but faster: no libm calls, and
 * pixels whose four neighbours are all inside the image take a path without
 * bounds checks.
 */
void pho_face__warp_sharp(const struct pho_image *img, const face_affine m, int out_w, int out_h,
                          const struct face_norm *norm, float *dst)
{
    face_affine inv;
    if (!pho_face__affine_invert(m, inv)) {
        pho_face__warp(img, m, out_w, out_h, norm, dst);
        return;
    }
    const int W = (int)img->width, H = (int)img->height;
    const size_t plane = (size_t)out_w * (size_t)out_h;
    /* value = sum(w * px) * mul[c] + add[c], output channel c from source channel src[c] */
    float mul[3], add[3];
    int src[3];
    for (int c = 0; c < 3; c++) {
        src[c] = norm->bgr ? 2 - c : c;
        mul[c] = norm->scale[c];
        add[c] = -norm->mean[c] * norm->scale[c];
    }
    const size_t px_step = norm->grey ? 1 : norm->nchw ? 1 : 3;
    const size_t ch_step = norm->nchw ? plane : 1;
    for (int v = 0; v < out_h; v++) {
        float bx = inv[0][1] * (float)v + inv[0][2], by = inv[1][1] * (float)v + inv[1][2];
        float *row = dst + (size_t)v * out_w * px_step;
        for (int u = 0; u < out_w; u++) {
            float rgb[3] = { 0, 0, 0 };
            float x = bx + inv[0][0] * (float)u, y = by + inv[1][0] * (float)u;
            /* floor without a libm call (x86-64 baseline has no SSE4.1 round) */
            int x0 = (int)x - (x < 0), y0 = (int)y - (y < 0);
            float fx = x - (float)x0, fy = y - (float)y0;
            if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
                const uint8_t *p = img->pixels + (size_t)y0 * img->stride + (size_t)x0 * 3;
                const uint8_t *q = p + img->stride;
                float w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy,
                      w11 = fx * fy;
                for (int c = 0; c < 3; c++)
                    rgb[c] = w00 * p[c] + w01 * p[3 + c] + w10 * q[c] + w11 * q[3 + c];
            } else if (x0 >= -1 && y0 >= -1 && x0 < W && y0 < H) {
                for (int dy = 0; dy < 2; dy++) {
                    int yy = y0 + dy;
                    if (yy < 0 || yy >= H)
                        continue;
                    float wy = dy ? fy : 1 - fy;
                    for (int dx = 0; dx < 2; dx++) {
                        int xx = x0 + dx;
                        if (xx < 0 || xx >= W)
                            continue;
                        float wt = wy * (dx ? fx : 1 - fx);
                        const uint8_t *p = img->pixels + (size_t)yy * img->stride + (size_t)xx * 3;
                        for (int c = 0; c < 3; c++)
                            rgb[c] += wt * p[c];
                    }
                }
            }
            float *o = row + (size_t)u * px_step;
            if (norm->grey) {
                float g = 0.2989f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
                *o = g * mul[0] + add[0];
            } else {
                for (int c = 0; c < 3; c++)
                    o[c * ch_step] = rgb[src[c]] * mul[c] + add[c];
            }
        }
    }
}

void pho_face__warp_aa(const struct pho_image *img, const face_affine m, int out_w, int out_h,
                       const struct face_norm *norm, float *dst)
{
    float scale = sqrtf(fabsf(m[0][0] * m[1][1] - m[0][1] * m[1][0]));
    int k = scale > 0 ? (int)floorf(1.0f / scale) : 1;
    face_affine inv;
    if (k < 2 || !pho_face__affine_invert(m, inv)) {
        pho_face__warp_sharp(img, m, out_w, out_h, norm, dst);
        return;
    }
    if (k > 32)
        k = 32;
    /* The part of the image the tensor reads, plus a block of margin. */
    float xs[4], ys[4];
    pho_face__affine_apply(inv, -0.5f, -0.5f, &xs[0], &ys[0]);
    pho_face__affine_apply(inv, out_w - 0.5f, -0.5f, &xs[1], &ys[1]);
    pho_face__affine_apply(inv, -0.5f, out_h - 0.5f, &xs[2], &ys[2]);
    pho_face__affine_apply(inv, out_w - 0.5f, out_h - 0.5f, &xs[3], &ys[3]);
    float lo_x = xs[0], hi_x = xs[0], lo_y = ys[0], hi_y = ys[0];
    for (int i = 1; i < 4; i++) {
        lo_x = fminf(lo_x, xs[i]);
        hi_x = fmaxf(hi_x, xs[i]);
        lo_y = fminf(lo_y, ys[i]);
        hi_y = fmaxf(hi_y, ys[i]);
    }
    int x0 = (int)PHO_MAX(floorf(lo_x) - k, 0.0f), y0 = (int)PHO_MAX(floorf(lo_y) - k, 0.0f);
    int x1 = (int)PHO_MIN(ceilf(hi_x) + k + 1, (float)img->width);
    int y1 = (int)PHO_MIN(ceilf(hi_y) + k + 1, (float)img->height);
    /* Keep the blocks on the image's own grid so neighbouring crops agree. */
    x0 -= x0 % k;
    y0 -= y0 % k;
    struct pho_image small;
    if (x1 - x0 < k || y1 - y0 < k ||
        pho_face__box_reduce(img, x0, y0, x1 - x0, y1 - y0, k, &small)) {
        pho_face__warp_sharp(img, m, out_w, out_h, norm, dst);
        return;
    }
    /* Reduced pixel t has its centre at image pixel x0 + k t + (k - 1) / 2. */
    float ox = (float)x0 + (float)(k - 1) / 2, oy = (float)y0 + (float)(k - 1) / 2;
    face_affine ms;
    for (int r = 0; r < 2; r++) {
        ms[r][0] = m[r][0] * (float)k;
        ms[r][1] = m[r][1] * (float)k;
        ms[r][2] = m[r][0] * ox + m[r][1] * oy + m[r][2];
    }
    pho_face__warp_sharp(&small, ms, out_w, out_h, norm, dst);
    pho_free(small.pixels);
}

struct pho_tensor pho_face__input_batch(const struct face_input *in, float *data, size_t n)
{
    struct pho_tensor t = { data, { (int64_t)n, in->h, in->w, in->channels }, 4, false };
    if (in->norm.nchw) {
        t.shape[1] = in->channels;
        t.shape[2] = in->h;
        t.shape[3] = in->w;
    }
    return t;
}
