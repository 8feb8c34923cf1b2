/* SPDX-License-Identifier: MIT */
/*
 * Is the mouth there to be read? A smile score on a mouth behind a mask, a
 * hand or another head is a guess, and the best-shot rule would let that
 * guess choose between takes; the smile stage asks here first and leaves the
 * score unknown when the mouth is hidden (docs/faces.md, "Hidden mouths").
 *
 * Two tests, both on the face's own geometry:
 *   - another face's box covers this face's mouth: a head in front;
 *   - the lips are not skin: lips are a paler, darker or redder shade of the
 *     skin's own hue (chroma pointing the same way from grey, whatever the
 *     skin tone), while masks are white, grey, black or blue and a scarf is
 *     rarely the face's colour. The band between the mouth corners is
 *     compared with the face's own skin above the eyes (forehead and the
 *     top of the nose, which masks leave bare), so lighting and white
 *     balance cancel out. Under 15 % of the band skin-like: hidden (on the
 *     test photos visible mouths measure 24 % and up, a moustache over the
 *     lips being the lowest; painted masks 0 %).
 * A face without colour (a black-and-white photo, a grey forehead) cannot be
 * told this way and keeps its score. A skin-coloured cover (a hand) is not
 * caught by the colour test; that limit is documented.
 */
#include "core/common.h"

#include <math.h>
#include <stdlib.h>

#include "face/stages.h"
#include "face/tensor_io.h"

/* Patches in the smile template's frame (fractions of its side; eyes at y 0.328,
 * mouth corners at x 0.323 / 0.677, y 0.719). */
static const float skin_patch[4] = { 0.40f, 0.12f, 0.60f, 0.28f };  /* x0, y0, x1, y1 */
static const float mouth_patch[4] = { 0.36f, 0.68f, 0.64f, 0.78f }; /* between the corners */

enum { GRID = 12 }; /* samples per patch side */

#define MIN_SKIN_CHROMA 6.0f  /* forehead chroma (|Cb-128|+|Cr-128|) below this: no colour */
#define SKIN_ALONG      0.35f /* a lip pixel's chroma: at least this share of the skin's */
#define SKIN_ACROSS     1.5f  /* and at most this far off its hue line, in skin strengths */
#define MIN_LIP_SHARE   0.15f /* share of the band that must look like lips or skin */

/* Bilinear RGB at image point (x, y) (pixel centres), false outside the image. */
static bool sample_rgb(const struct pho_image *img, float x, float y, float rgb[3])
{
    if (!(x >= 0 && y >= 0 && x <= (float)img->width - 1 && y <= (float)img->height - 1))
        return false;
    uint32_t x0 = (uint32_t)x, y0 = (uint32_t)y;
    uint32_t x1 = x0 + 1 < img->width ? x0 + 1 : x0, y1 = y0 + 1 < img->height ? y0 + 1 : y0;
    float fx = x - (float)x0, fy = y - (float)y0;
    const uint8_t *r0 = img->pixels + (size_t)y0 * img->stride,
                  *r1 = img->pixels + (size_t)y1 * img->stride;
    for (int c = 0; c < 3; c++) {
        float a = r0[x0 * 3 + c] * (1 - fx) + r0[x1 * 3 + c] * fx;
        float b = r1[x0 * 3 + c] * (1 - fx) + r1[x1 * 3 + c] * fx;
        rgb[c] = a * (1 - fy) + b * fy;
    }
    return true;
}

/* BT.601 chroma of one pixel. */
static void chroma(const float rgb[3], float *cb, float *cr)
{
    *cb = 128 - 0.168736f * rgb[0] - 0.331264f * rgb[1] + 0.5f * rgb[2];
    *cr = 128 + 0.5f * rgb[0] - 0.418688f * rgb[1] - 0.081312f * rgb[2];
}

/* Chroma of the GRID x GRID samples of @patch; returns how many fell inside the image. */
static int patch_chroma(const struct pho_image *img, const face_affine to_img, int side,
                        const float patch[4], float *cb, float *cr)
{
    int n = 0;
    for (int j = 0; j < GRID; j++)
        for (int i = 0; i < GRID; i++) {
            float u = (patch[0] + (patch[2] - patch[0]) * (i + 0.5f) / GRID) * side - 0.5f;
            float v = (patch[1] + (patch[3] - patch[1]) * (j + 0.5f) / GRID) * side - 0.5f;
            float x, y, rgb[3];
            pho_face__affine_apply(to_img, u, v, &x, &y);
            if (sample_rgb(img, x, y, rgb)) {
                chroma(rgb, &cb[n], &cr[n]);
                n++;
            }
        }
    return n;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static float median(float *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_float);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * The share (0..1) of the band between the mouth corners whose chroma is skin-like against
 * the face's skin above the eyes, sampled through @tmpl_map (image pixel centres -> the
 * @side x @side smile template); NAN when it cannot tell (no colour, off the picture).
 */
static float lip_share(const struct pho_image *img, const face_affine tmpl_map, int side)
{
    face_affine to_img;
    if (!pho_face__affine_invert(tmpl_map, to_img))
        return NAN;
    float cb[GRID * GRID], cr[GRID * GRID];
    int n = patch_chroma(img, to_img, side, skin_patch, cb, cr);
    if (n < GRID * GRID / 2)
        return NAN; /* the forehead is off the picture */
    float cb0 = median(cb, n), cr0 = median(cr, n);
    if (fabsf(cb0 - 128) + fabsf(cr0 - 128) < MIN_SKIN_CHROMA)
        return NAN; /* no colour to compare */
    n = patch_chroma(img, to_img, side, mouth_patch, cb, cr);
    if (n < GRID * GRID / 2)
        return NAN;
    /* A pixel is skin or lip when its chroma points the skin's way from grey with at
     * least SKIN_ALONG of the skin's strength, and strays from that line by at most
     * SKIN_ACROSS of it: lips are a paler or darker shade of the same hue. */
    const float rx = cb0 - 128, ry = cr0 - 128, r2 = rx * rx + ry * ry;
    int like = 0;
    for (int k = 0; k < n; k++) {
        float x = cb[k] - 128, y = cr[k] - 128;
        float along = (x * rx + y * ry) / r2, across = fabsf(x * ry - y * rx) / r2;
        like += along >= SKIN_ALONG && across <= SKIN_ACROSS;
    }
    return (float)like / (float)n;
}

bool pho_face__mouth_covered(const struct pho_face_list *faces, size_t i)
{
    const struct pho_face *f = &faces->faces[i];
    if (!f->has_pts5)
        return false;
    float mx = (f->pts5[3][0] + f->pts5[4][0]) / 2, my = (f->pts5[3][1] + f->pts5[4][1]) / 2;
    float fw = f->box[2] - f->box[0];
    for (size_t k = 0; k < faces->count; k++) {
        const struct pho_face *o = &faces->faces[k];
        if (k == i)
            continue;
        /* Only a face of at least half this one's size can hide its mouth (a small
         * box inside a big face is a false detection, not a head). */
        float ow = o->box[2] - o->box[0];
        float mx_in = 0.1f * (o->box[2] - o->box[0]), my_in = 0.1f * (o->box[3] - o->box[1]);
        if (ow >= 0.5f * fw && mx > o->box[0] + mx_in && mx < o->box[2] - mx_in &&
            my > o->box[1] + my_in && my < o->box[3] - my_in)
            return true;
    }
    return false;
}

bool pho_face__mouth_hidden(const struct pho_face_list *faces, size_t i,
                            const struct pho_image *img, const face_affine tmpl_map, int side)
{
    if (pho_face__mouth_covered(faces, i))
        return true;
    float share = lip_share(img, tmpl_map, side);
    PHO_LOG_DEBUG("face", "mouth: lip share %.3f", (double)share);
    return isfinite(share) && share < MIN_LIP_SHARE;
}
