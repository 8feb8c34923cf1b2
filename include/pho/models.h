/* SPDX-License-Identifier: MIT */
/**
 * @file models.h
 * The face models: the project's manifest (models/manifest.json: where each
 * model comes from, how it is converted, its sha256 and its input/output
 * contract), where installed files live, and loading them safely.
 *
 * Shipped models are built from pinned npm packages by
 * tools/models/install_models.py into the models folder (--models-dir,
 * default $XDG_DATA_HOME/photo-organizer/models) and must match their pinned
 * sha256. User-supplied packs (InsightFace buffalo_l / buffalo_s, YOLOv8-face,
 * InceptionResnetV1) are found in the models folder, in MODELS/<pack>/, or in
 * ~/.insightface/models/<pack>/; they are checked by sha256 where the
 * official file's hash is known, and always by their input/output contract.
 */
#ifndef PHO_MODELS_H
#define PHO_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"
#include "pho/error.h"
#include "pho/infer.h"

PHO_BEGIN_DECLS

/** How input 0 of an image model lays out its pixels. */
enum pho_model_layout {
    PHO_MODEL_LAYOUT_NONE = 0, /**< not an image input, or the manifest does not say */
    PHO_MODEL_LAYOUT_NHWC,
    PHO_MODEL_LAYOUT_NCHW,
    PHO_MODEL_LAYOUT_NWHC, /**< MTCNN's transposed images */
};

/** The colour order input 0 expects. */
enum pho_model_color {
    PHO_MODEL_COLOR_RGB = 0,
    PHO_MODEL_COLOR_BGR,
    PHO_MODEL_COLOR_GRAY,
};

struct pho_model_spec {
    char name[48];
    char file[96];
    char role[160];
    char user_pack[32]; /**< "buffalo_l", ... or "" */
    char sha256[65];    /**< "" when no official hash is known */
    char how_to_get[320];
    char license[128];
    bool shipped;
    uint64_t size; /**< 0 when unknown */
    struct pho_model_contract contract;
    /** Input 0 as an image: its memory layout and colour order. */
    enum pho_model_layout layout;
    enum pho_model_color color;
    /**
     * Per-channel normalisation of input 0: value = (pixel - mean) * scale.
     * A list of one value (grey models) applies to every channel.
     */
    float mean[3], scale[3];
    /** Landmark models: the six eye-contour points per eye (right, left), dlib order. */
    bool has_eye_points;
    int eye_points[2][6];
    /**
     * Landmark models: the five alignment points (right eye, left eye, nose,
     * mouth right, mouth left) as the mean of two landmarks (a == b for one).
     */
    bool has_five_points;
    int five_points[5][2];
    /** Eye-contour models: the eye whose crop is mirrored (0 right, 1 left) or -1. */
    int mirrored_eye;
};

struct pho_models {
    struct pho_model_spec *specs;
    size_t count;
    char manifest_path[4096];
    char tools_dir[4096]; /**< tools/models (install_models.py) or "" when not found */
};

/**
 * Loads the manifest. @p path NULL: $PHO_MODELS_MANIFEST, then the installed
 * copy, then the source tree's models/manifest.json. Caller owns *out.
 * @return 0; PHO_ENOTFOUND; PHO_ECORRUPT (malformed manifest).
 */
PHO_API int pho_models_load(struct pho_models **out, const char *path, struct pho_err *err);

PHO_API void pho_models_free(struct pho_models *m);

/** The spec called @p name, or NULL. Borrowed. */
PHO_API const struct pho_model_spec *pho_models_find(const struct pho_models *m, const char *name);

/** $XDG_DATA_HOME/photo-organizer/models (or ~/.local/share/...) into @p buf. */
PHO_API void pho_models_default_dir(char *buf, size_t size);

/**
 * Where the file of @p spec is: MODELS_DIR/file, MODELS_DIR/<pack>/file,
 * ~/.insightface/models/<pack>/file. @return 0 with @p path filled, or
 * PHO_EMODEL with a message naming the file, where it goes and how to get it.
 */
PHO_API int pho_models_locate(char *path, size_t size, const struct pho_model_spec *spec,
                              const char *models_dir, struct pho_err *err);

/**
 * Checks the file at @p path: size and sha256 when the spec pins them.
 * @return 0; PHO_EMODEL (truncated, wrong checksum: message says what to do).
 */
PHO_API int pho_models_verify(const struct pho_model_spec *spec, const char *path,
                              struct pho_err *err);

/** How strictly pho_models_open() checks a file. */
enum pho_models_trust {
    PHO_MODELS_VERIFY = 0,    /**< pinned sha256 must match (default) */
    PHO_MODELS_CONTRACT_ONLY, /**< only the input/output contract (test stand-ins) */
};

/**
 * Locates, verifies and loads model @p name, and checks its contract.
 * Caller owns *out. @return 0; PHO_EMODEL (missing / wrong / refused file:
 * actionable message); PHO_ENOMEM.
 */
PHO_API int pho_models_open(struct pho_model **out, struct pho_infer *inf,
                            const struct pho_models *m, const char *name, const char *models_dir,
                            enum pho_models_trust trust, struct pho_err *err);

PHO_END_DECLS

#endif /* PHO_MODELS_H */
