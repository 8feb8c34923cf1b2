/* SPDX-License-Identifier: MIT */
/**
 * @file face.h
 * Faces: detection, landmarks, eye openness, smile, sharpness and identity
 * embeddings, through one of five pluggable backends (the original tool's
 * five: mediapipe, face_recognition, facenet, insightface, yolov8).
 *
 *     struct pho_face_opts fo = PHO_FACE_OPTS_INIT;   // backend "auto"
 *     struct pho_face_engine *fe = NULL;
 *     if (pho_face_engine_open(&fe, &fo, &err) == 0) {
 *         struct pho_face_list faces = { 0 };
 *         pho_face_analyze(fe, img, &faces, &err);    // thread-safe
 *         ... faces.faces[i].eyes_closed, .smile, .embed ...
 *         pho_face_list_release(&faces);
 *         pho_face_engine_close(fe);
 *     }
 *
 * Geometry is given in the analysed image, normalised by its width and
 * height (0..1), so it maps onto any size of the same upright photo. "Left"
 * and "right" are as seen in the image (the subject's right eye is the image's
 * left eye).
 */
#ifndef PHO_FACE_H
#define PHO_FACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"
#include "pho/error.h"
#include "pho/image.h"

PHO_BEGIN_DECLS

enum pho_face_caps {
    PHO_FACE_CAP_DETECT = 1u << 0,
    PHO_FACE_CAP_LANDMARKS = 1u << 1, /**< 5 points at least */
    PHO_FACE_CAP_EYES = 1u << 2,      /**< real per-eye openness (EAR from 6 eyelid points) */
    PHO_FACE_CAP_SMILE = 1u << 3,
    PHO_FACE_CAP_ENCODE = 1u << 4, /**< identity embeddings */
};

enum pho_face_metric {
    PHO_FACE_METRIC_NONE = 0,
    PHO_FACE_METRIC_COSINE,    /**< distance = 1 - cos; embeddings are L2-normalised */
    PHO_FACE_METRIC_EUCLIDEAN, /**< distance = |a - b| (dlib's descriptors) */
};

#define PHO_FACE_EMBED_MAX 512

struct pho_face {
    float box[4]; /**< x0, y0, x1, y1 */
    float score;  /**< detector confidence, 0..1 */
    /** ArcFace order: image-left eye, image-right eye, nose tip, left and right mouth corners. */
    float pts5[5][2];
    bool has_pts5;
    /** Six eyelid points per eye in dlib's order (points 36-41 and 42-47): each eye runs
     *  left to right across the image, upper lid then lower lid, so eye_l (the image-left
     *  eye) starts at its outer corner and eye_r at its inner corner. */
    float eye_l[6][2], eye_r[6][2];
    bool has_eyes;
    float ear_l, ear_r; /**< eye aspect ratio of each eye; NAN when unknown */
    /** 1 when the eyes are closed (mean EAR below the backend's calibrated threshold),
     *  0 when open, -1 when unknown. A wink (one eye shut) counts as closed. */
    int8_t eyes_closed;
    int8_t winking; /**< 1 when exactly one eye is shut, 0 otherwise, -1 unknown */
    float smile;    /**< 0..1; NAN when unknown */
    /** The mouth is hidden (a mask, another head in front): smile is NAN, and a one-eyed
     *  squint cannot be told from a wink (docs/faces.md, "Hidden mouths"). */
    bool mouth_hidden;
    float sharpness;    /**< variance of the Laplacian of the face, grey, at a fixed crop size */
    float yaw;          /**< rough head turn, -1 (image-left) .. 1; NAN when unknown */
    uint16_t embed_dim; /**< 0 when not computed */
    float embed[PHO_FACE_EMBED_MAX];
};

struct pho_face_list {
    struct pho_face *faces;
    size_t count;
    uint32_t image_w, image_h; /**< the analysed image */
    /** Optional dense landmarks: face i owns dense[i * dense_per_face .. +dense_per_face)
     *  as (x, y) pairs, normalised like everything else. */
    float (*dense)[2];
    size_t dense_per_face;
};

/** "open", "closed", "wink" or "unknown": how reports and the CLI name a face's eyes. */
PHO_API const char *pho_face_eyes_word(const struct pho_face *f);

/** Intersection over union of two boxes (x0, y0, x1, y1): how the same face is recognised
 *  in two analyses of one photo. */
PHO_API float pho_face_box_iou(const float a[4], const float b[4]);

/** Frees what @p list owns and zeroes it; NULL is a no-op. */
PHO_API void pho_face_list_release(struct pho_face_list *list);

struct pho_face_opts {
    int version;
    /** "auto" (default) or a backend name; see pho_face_backend_iterate(). */
    const char *backend;
    /** Models folder (NULL: $XDG_DATA_HOME/photo-organizer/models). */
    const char *models_dir;
    bool gpu;
    int gpu_device;
    /** Threads ONNX Runtime may use inside one model run (0 = 1: callers
     *  parallelise across photos). */
    unsigned threads;
    /** Smallest face to look for, as a fraction of the image's long side (default 0.02). */
    float min_face;
    /** Compute identity embeddings (default true). */
    bool encode;
    /** 0 = verify model checksums; 1 = contract only (synthetic test stand-ins). */
    int trust;
    /** Keep the dense landmarks in pho_face_list.dense (default false): FaceMesh's 468
     *  points with mediapipe, facenet and yolov8, dlib's 68 with face_recognition,
     *  InsightFace's 106 with insightface. */
    bool dense;
};

#define PHO_FACE_OPTS_INIT                                  \
    {                                                       \
        1, "auto", NULL, false, 0, 0, 0.02f, true, 0, false \
    }

/** What pho_face_backend_iterate() describes. */
struct pho_face_backend_info {
    const char *name;
    const char *description;
    unsigned caps;           /**< enum pho_face_caps */
    const char *models[8];   /**< manifest names of the models it needs, NULL-terminated */
    const char *optional[4]; /**< models it uses when present, NULL-terminated */
    /** Place in the "auto" order on the CPU and with --gpu: 1 is tried first, 0 never
     *  (DESIGN section 3: on a GPU facenet and insightface lead; on the CPU mediapipe). */
    unsigned cpu_rank, gpu_rank;
};

/** Walks the backends in auto-selection order; start with *opaque = NULL. */
PHO_API const struct pho_face_backend_info *pho_face_backend_iterate(void **opaque);

/**
 * Whether backend @p name could run with @p opts (its models installed and
 * valid). @return 0, or PHO_EBACKEND with the actionable reason in @p err.
 */
PHO_API int pho_face_backend_probe(const char *name, const struct pho_face_opts *opts,
                                   struct pho_err *err);

struct pho_face_engine;

/**
 * Opens a backend. With "auto" the first usable backend in the order of
 * DESIGN §3 (with --gpu: facenet, insightface, then the CPU order; without:
 * mediapipe, face_recognition) is chosen, and each one skipped is logged with
 * its reason. A named backend that cannot run fails with PHO_EBACKEND and an
 * actionable message (never a silent fallback). Caller owns *out.
 */
PHO_API int pho_face_engine_open(struct pho_face_engine **out, const struct pho_face_opts *opts,
                                 struct pho_err *err);

PHO_API void pho_face_engine_close(struct pho_face_engine *fe);

/** The chosen backend's name and capabilities. */
PHO_API const char *pho_face_engine_backend(const struct pho_face_engine *fe);
PHO_API unsigned pho_face_engine_caps(const struct pho_face_engine *fe);
/**
 * Checks that the open backend can do @p caps (enum pho_face_caps) before a
 * feature relies on them: identity comparison and face swap need
 * PHO_FACE_CAP_ENCODE, which yolov8 lacks. @return 0, or PHO_EBACKEND with a
 * message naming @p purpose and the installed backends that can.
 */
PHO_API int pho_face_engine_require(const struct pho_face_engine *fe, unsigned caps,
                                    const char *purpose, struct pho_err *err);

/** Where its models run ("CPU", "CUDA:0 (...)"). */
PHO_API const char *pho_face_engine_device(const struct pho_face_engine *fe);
/** Identifies the embedding space ("mobilefacenet-192"); embeddings of different models never
 * compare. */
PHO_API const char *pho_face_engine_embed_model(const struct pho_face_engine *fe);
/** "eye_state/N" (N: the version of the judgement) when the eye-state classifier judges open
 *  and closed eyes (model installed, backend with eyelid landmarks), "" when the eyelid ratio
 *  alone does (docs/faces.md). */
PHO_API const char *pho_face_engine_eye_model(const struct pho_face_engine *fe);
PHO_API enum pho_face_metric pho_face_engine_metric(const struct pho_face_engine *fe);
/** Distances at or below this mean "same person" (calibrated; see docs/faces.md). */
PHO_API float pho_face_engine_same_person(const struct pho_face_engine *fe);

/**
 * Finds and analyses the faces of @p img (upright sRGB; any size, the
 * backend scales it). Fills @p out (caller releases it). Thread-safe.
 */
PHO_API int pho_face_analyze(struct pho_face_engine *fe, const struct pho_image *img,
                             struct pho_face_list *out, struct pho_err *err);

/**
 * pho_face_analyze() for @p n photos at once: backends that can batch their
 * model runs across photos do (the GPU pipeline relies on it); the results
 * are the same as analysing each photo alone. outs[i] belongs to imgs[i];
 * on failure every output is released. Thread-safe.
 */
PHO_API int pho_face_analyze_batch(struct pho_face_engine *fe, const struct pho_image *const *imgs,
                                   size_t n, struct pho_face_list *outs, struct pho_err *err);

/** Distance between two embeddings of the same model. */
PHO_API float pho_face_distance(enum pho_face_metric metric, const float *a, const float *b,
                                size_t dim);

/** Time spent per stage since the engine was opened (seconds, summed over threads). */
struct pho_face_stats {
    uint64_t images, faces;
    double detect, landmarks, smile, embed;
};

PHO_API void pho_face_engine_stats(const struct pho_face_engine *fe, struct pho_face_stats *out);

PHO_END_DECLS

#endif /* PHO_FACE_H */
