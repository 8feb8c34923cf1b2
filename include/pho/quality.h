/* SPDX-License-Identifier: MIT */
/**
 * @file quality.h
 * Image quality without faces: sharpness, exposure, noise, BRISQUE and
 * resolution, combined into one documented score used to pick the best shot
 * of a group when faces do not decide.
 *
 * Measurements are taken on a grey copy reduced to a fixed analysis size
 * (PHO_QUALITY_SIZE on the long side, never enlarged), so photos decoded at
 * different sizes compare fairly.
 *
 * BRISQUE uses the SVR trained on LIVE that Debian's opencv-data ships
 * (brisque_model_live.yml, brisque_range_live.yml), read by our own code.
 */
#ifndef PHO_QUALITY_H
#define PHO_QUALITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"
#include "pho/error.h"
#include "pho/image.h"

PHO_BEGIN_DECLS

/** Long side of the grey copy every measurement uses. */
#define PHO_QUALITY_SIZE 480

#define PHO_BRISQUE_MODEL_DEFAULT "/usr/share/opencv4/quality/brisque_model_live.yml"
#define PHO_BRISQUE_RANGE_DEFAULT "/usr/share/opencv4/quality/brisque_range_live.yml"

struct pho_quality {
    double sharpness;    /**< variance of the Laplacian of the analysis image (grey 0..255) */
    double clipped_high; /**< fraction of pixels >= 250 */
    double clipped_low;  /**< fraction of pixels <= 5 */
    double mean_luma;    /**< 0..255 */
    double noise;        /**< estimated noise sigma, grey levels */
    double brisque;      /**< 0 (pristine) .. 100 (poor); NAN when not computed */
    double megapixels;   /**< of the original (from its stored size) */
    double score;        /**< combined, 0..1, higher is better; see pho_quality_score() */
};

/** The BRISQUE support-vector model. Immutable once loaded; share it between threads. */
struct pho_brisque;

/**
 * Loads the BRISQUE model and its feature ranges (NULL = the Debian paths above).
 * Caller owns *out. @return 0, PHO_ENOTFOUND (file missing: the message says
 * which Debian package provides it), PHO_ECORRUPT (unparsable), PHO_ENOMEM.
 */
PHO_API int pho_brisque_open(struct pho_brisque **out, const char *model_path,
                             const char *range_path, struct pho_err *err);

/** Frees the model; NULL is a no-op. */
PHO_API void pho_brisque_close(struct pho_brisque *model);

/**
 * BRISQUE score of @p img (computed on its grey version at analysis size),
 * clamped to 0..100 like OpenCV's implementation.
 */
PHO_API int pho_brisque_score(double *out, const struct pho_brisque *model,
                              const struct pho_image *img, struct pho_err *err);

/**
 * Measures @p img. @p megapixels is the original's size (the decoded image may
 * be shrunk). @p brisque may be NULL (then out->brisque is NAN and the score
 * leaves it out). Fills out->score with pho_quality_score().
 * Thread-safe; allocates only scratch memory.
 */
PHO_API int pho_quality_measure(struct pho_quality *out, const struct pho_image *img,
                                double megapixels, const struct pho_brisque *brisque,
                                struct pho_err *err);

/**
 * The combined score, 0..1 (higher is better), from the measured fields: a
 * weighted sum of normalised sharpness, exposure, noise, BRISQUE and
 * resolution terms. The weights are documented in docs/quality.md.
 */
PHO_API double pho_quality_score(const struct pho_quality *q);

PHO_END_DECLS

#endif /* PHO_QUALITY_H */
