/* SPDX-License-Identifier: MIT */
/* Private to src/quality: the grey analysis image shared by the metrics and BRISQUE. */
#ifndef PHO_QUALITY_INTERNAL_H
#define PHO_QUALITY_INTERNAL_H

#include "core/common.h"

#include "pho/quality.h"

/* 8-bit BT.601 luma, at most PHO_QUALITY_SIZE on the long side; rows are w bytes. */
struct pho_grey {
    uint32_t w, h;
    uint8_t *px;
};

/* Builds the analysis image of @img (caller frees g->px with pho_free). */
int pho_quality__grey(struct pho_grey *g, const struct pho_image *img, struct pho_err *err);

/* BRISQUE's feature count: 18 per scale, two scales. */
#define PHO_BRISQUE_FEATURES 36

/* The model (brisque_model.c reads it; brisque.c scores with it). */
struct pho_brisque {
    size_t sv_count;
    float *sv; /* sv_count rows of PHO_BRISQUE_FEATURES, already in the scaled -1..1 space */
    double *alpha;
    double rho;
    double gamma;
    float lo[PHO_BRISQUE_FEATURES],
            hi[PHO_BRISQUE_FEATURES]; /* feature ranges the SVR was trained on */
    /* Shape-parameter grid of the generalised Gaussian fit and the moment
     * ratio of each entry, tabulated once so a fit is a table walk. */
    size_t grid_n;
    double *grid_shape;
    double *grid_ratio;
};

/* Smallest side BRISQUE accepts: the half scale must still hold a few 7x7 windows. */
#define PHO_BRISQUE_MIN_SIDE 16

/* BRISQUE of an analysis image, 0..100; PHO_EINVAL below PHO_BRISQUE_MIN_SIDE. */
int pho_quality__brisque_grey(double *out, const struct pho_brisque *model,
                              const struct pho_grey *g, struct pho_err *err);

#endif /* PHO_QUALITY_INTERNAL_H */
