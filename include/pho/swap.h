/* SPDX-License-Identifier: MIT */
/**
 * @file swap.h
 * Closed eyes repaired from another take (docs/face-swap.md): each face of a
 * target photo whose eyes are closed gets the eyes of the same person from a
 * donor take where they are open. The donor's face is aligned onto the target
 * by a similarity transform fitted to the landmarks, matched to its exposure
 * and blended in by Poisson cloning under a mask that follows the eyes. Every
 * repair is checked on the result (analysed again: eyes open, the same
 * person, no visible seam) and refused otherwise; the target is never
 * changed.
 *
 *     struct pho_swap_opts so = PHO_SWAP_OPTS_INIT;
 *     struct pho_swap_result res;
 *     if (pho_swap_fix_eyes(&res, fe, target, donors, dt, n, &so, &err) == 0) {
 *         ... res.image (NULL when nothing was repaired), res.faces[i].status ...
 *         pho_swap_result_release(&res);
 *     }
 */
#ifndef PHO_SWAP_H
#define PHO_SWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"
#include "pho/error.h"
#include "pho/face.h"
#include "pho/image.h"

PHO_BEGIN_DECLS

/** Refused above this seam measure (docs/face-swap.md: how much a repair raises the edges
 *  along the border of what it replaced; 1 is none). */
#define PHO_SWAP_MAX_SEAM 1.6f

/** Refused when the donor's landmarks, mapped onto the target, lie further than this many
 *  eye widths from the target's on average (docs/face-swap.md). */
#define PHO_SWAP_MAX_RESIDUAL 0.2f

/** Refused when donor and target, aligned, correlate less than this around the eyes
 *  (pho_swap_face.match; docs/face-swap.md). */
#define PHO_SWAP_MIN_MATCH 0.6f

/** Eyes narrower than this many pixels (corner to corner, in the target) are not repaired:
 *  too few pixels to tell or to blend. */
#define PHO_SWAP_MIN_EYE_PX 10.0f

/** How the donor's pixels are put in. */
enum pho_swap_blend {
    PHO_SWAP_BLEND_POISSON = 0, /**< seamless (Poisson) cloning: the repair */
    /** Pasted as they are, without blending: only for showing that the checks refuse a
     *  visible seam (tests, docs). */
    PHO_SWAP_BLEND_PASTE,
};

struct pho_swap_opts {
    int version;
    float max_seam; /**< refuse above this (default PHO_SWAP_MAX_SEAM) */
    enum pho_swap_blend blend;
    /** Donor faces tried per closed face, best first (default 3). */
    unsigned max_tries;
    /** Photos are analysed at a long side of this to 2x this, as the organizer analyses
     *  them (default 1600); the repair itself works on the full pixels. */
    uint32_t analyse_size;
};

#define PHO_SWAP_OPTS_INIT                                                                \
    {                                                                                     \
        .version = 1, .max_seam = PHO_SWAP_MAX_SEAM, .max_tries = 3, .analyse_size = 1600 \
    }

/** What became of one closed-eyed face of the target. */
struct pho_swap_face {
    size_t face;   /**< index in the target's analysis (result.target_faces) */
    float box[4];  /**< its box, fractions of the image */
    int status;    /**< 0: repaired; else why not (PHO_ENOTFOUND: no open-eyed take of this
                        person; PHO_ELIMIT: a check refused every try; others) */
    char why[256]; /**< what happened, in words */
    size_t donor;  /**< which donor image gave the eyes (SIZE_MAX: none) */
    size_t donor_face;
    float ear_before, ear_after; /**< the face's mean eye aspect ratio (NAN: unknown) */
    /** Identity distances: donor face to target face, and the repaired face to the target
     *  face (the engine's metric; its same-person threshold is result.same). */
    float distance, distance_after;
    float seam; /**< the repair's seam measure (NAN: not tried) */
    /** How alike donor and target are around the eyes once aligned (normalised
     *  cross-correlation of grey levels on a ring around the mask, -1..1; NAN: not tried). */
    float match;
    float yaw_diff; /**< head turn difference of donor and target (0..2; NAN: unknown) */
    float scale;    /**< donor pixels per target pixel of the fitted transform */
    float residual; /**< landmark alignment error after the transform, target pixels */
    unsigned tries; /**< donor faces tried */
};

struct pho_swap_result {
    /** The repaired photo (caller's via this result), NULL when no face was repaired. */
    struct pho_image *image;
    struct pho_face_list target_faces; /**< the target, as analysed */
    struct pho_swap_face *faces;       /**< one per closed-eyed face of the target */
    size_t nfaces, nfixed;
    float same; /**< the engine's same-person distance */
};

/**
 * Repairs the closed-eyed faces of @p target from @p donors (other takes of the same scene;
 * any size, upright). @p dt: each donor's capture time minus the target's in seconds, or
 * NULL / NAN when unknown (then the donors' order stands for time). For each closed face
 * the donors' faces of the same person (identity embedding within the engine's
 * same-person distance) with open eyes are tried, closest in pose and time first.
 * Fills @p out (release it with pho_swap_result_release() whatever the return value).
 * @return 0 (out->nfixed may be 0: each face says why); PHO_EBACKEND when the engine has
 * no identity embeddings; PHO_ENOMEM; the analysis's errors.
 */
PHO_API int pho_swap_fix_eyes(struct pho_swap_result *out, struct pho_face_engine *fe,
                              const struct pho_image *target, const struct pho_image *const *donors,
                              const double *dt, size_t ndonors, const struct pho_swap_opts *opts,
                              struct pho_err *err);

/** Frees what @p r owns and zeroes it; NULL is a no-op. */
PHO_API void pho_swap_result_release(struct pho_swap_result *r);

PHO_END_DECLS

#endif /* PHO_SWAP_H */
