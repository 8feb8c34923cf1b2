/* SPDX-License-Identifier: MIT */
/*
 * Private to src/swap: the pixel work of a face repair, done by OpenCV
 * (cv_shim.cpp, the only user of the library): a similarity transform fitted
 * to landmark pairs (calib3d), the donor warped onto the target (imgproc),
 * its exposure matched, and Poisson blending (photo's seamlessClone). The
 * seam measure is computed here too, from the same pixels.
 *
 * No C++ exception crosses this boundary and nothing is printed.
 */
#ifndef PHO_SWAP_CV_SHIM_H
#define PHO_SWAP_CV_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 8-bit RGB pixels, rows @stride bytes apart. */
struct pho_swap__px {
    uint8_t *px;
    int w, h;
    size_t stride;
};

enum pho_swap__blend {
    PHO_SWAP__POISSON = 0, /* seamless cloning (the repair) */
    PHO_SWAP__PASTE,       /* the warped pixels as they are (what the seam check must refuse) */
};

struct pho_swap__transplant {
    /* In: landmark pairs in pixels (donor -> target), the mask as polygons in target pixels,
     * the width of the ring around it whose colour the donor is matched to. */
    const float (*src_pts)[2], (*dst_pts)[2];
    int npts;
    const float (*poly)[2];
    const int *poly_len;
    int npoly;
    float ring;
    enum pho_swap__blend blend;
    /* Out: the fitted transform (donor pixels per target pixel: its scale; rotation in
     * radians), the mean distance between the target's landmarks and the donor's mapped
     * onto them (pixels), the per-channel gain that matched the donor's exposure, and the
     * seam: mean gradient magnitude along the mask's border after / before. */
    float scale, rotation, residual;
    float gain[3];
    float seam;
    /* How alike the aligned donor and the target are on the ring around the region:
     * normalised cross-correlation of their grey levels, -1..1. */
    float match;
};

enum { PHO_SWAP__OK = 0, PHO_SWAP__NOMEM = 1, PHO_SWAP__FAIL = 2 };

/* Puts the donor's pixels under the mask into @dst (in place), as @t says. On failure @dst is
 * unchanged and @why says what went wrong. */
int pho_swap__cv_transplant(struct pho_swap__px *dst, const struct pho_swap__px *src,
                            struct pho_swap__transplant *t, char *why, size_t why_size);

#ifdef __cplusplus
}
#endif

#endif
