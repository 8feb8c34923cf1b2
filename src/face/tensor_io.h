/* SPDX-License-Identifier: MIT */
/*
 * Private to src/face (the shared stages and the mediapipe backend): how a
 * model's input tensor is made, read from its manifest entry (size, layout,
 * colour, mean and scale), the square rotated crop the mesh and the detector
 * tiles use, and an anti-aliased warp for strong reductions.
 *
 * Image geometry here uses the "edge" convention (pixel i spans [i, i+1),
 * like box and landmark coordinates); pho_face__warp() wants maps between pixel
 * centres, which pho_face__edge_to_centre() converts to.
 */
#ifndef PHO_FACE_TENSOR_IO_H
#define PHO_FACE_TENSOR_IO_H

#include "core/common.h"

#include "face/backend.h"
#include "face/util.h"

/* Input 0 of a model as its manifest entry describes it. */
struct face_input {
    int w, h;              /* tensor width and height in pixels */
    int channels;          /* 3, or 1 for grey models */
    struct face_norm norm; /* layout, colour order, mean and scale */
};

/*
 * Input 0 of manifest model @name from its parsed spec: shape (NHWC
 * [-1,H,W,C] or NCHW [-1,C,H,W] per its layout), colour order, mean and scale.
 * @return 0, or PHO_EMODEL when the entry is missing or not an image input.
 */
int pho_face__model_input(const struct face_ctx *ctx, const char *name, struct face_input *out,
                          struct pho_err *err);

/* A batch of @n items of input @in at @data, shaped NHWC or NCHW as the model wants. */
struct pho_tensor pho_face__input_batch(const struct face_input *in, float *data, size_t n);

/* Floats in one input item (w * h * channels). */
static inline size_t pho_face__input_len(const struct face_input *in)
{
    return (size_t)in->w * (size_t)in->h * (size_t)in->channels;
}

/*
 * The map from image pixels (edge convention) onto an n x n tensor of the
 * square of side @side centred on (cx, cy), turned by @angle radians (the
 * square's x axis points along (cos angle, sin angle) in the image).
 */
void pho_face__roi_affine(float cx, float cy, float side, float angle, int n, face_affine out);

/* Converts an edge-convention map (image -> tensor) into the pixel-centre map pho_face__warp()
 * uses. */
void pho_face__edge_to_centre(const face_affine edge, face_affine centre);

/*
 * pho_face__warp() (bilinear, zero outside the image, same result to rounding)
 * made several times faster; no pre-filter.
 */
void pho_face__warp_sharp(const struct pho_image *img, const face_affine m, int out_w, int out_h,
                          const struct face_norm *norm, float *dst);

/*
 * pho_face__warp_sharp() with an anti-aliasing pre-filter: when @m (pixel-centre map,
 * image -> tensor) reduces by 2x or more, the part of the image it reads is
 * first box-averaged by the integer factor floor(1 / scale), so the bilinear
 * sampler never skips pixels. Falls back to pho_face__warp() when memory is short.
 */
void pho_face__warp_aa(const struct pho_image *img, const face_affine m, int out_w, int out_h,
                       const struct face_norm *norm, float *dst);

/*
 * Box-averages the rectangle x0, y0, w, h (pixels, inside @img) by @k into
 * @out: floor(w / k) x floor(h / k) pixels, partial blocks dropped; output
 * pixel (i, j) averages input pixels x0 + k i .. x0 + k i + k - 1 (same for
 * y). Caller frees out->pixels with pho_free(). @return 0, PHO_EINVAL (empty
 * result) or PHO_ENOMEM.
 */
int pho_face__box_reduce(const struct pho_image *img, int x0, int y0, int w, int h, int k,
                         struct pho_image *out);

#endif /* PHO_FACE_TENSOR_IO_H */
