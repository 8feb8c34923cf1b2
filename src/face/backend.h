/* SPDX-License-Identifier: MIT */
/*
 * Private to src/face: what a face backend is. Each backend is one file with
 * one const struct pho_face_backend, listed in engine.c's ordered registry.
 * The engine allocates priv_size zeroed bytes, calls open() once, analyze()
 * from any number of threads, and close() exactly once (even after a failed
 * open). After analyze() it runs the shared tail (smile, embed) and drops the
 * dense landmarks unless the caller asked for them, so a backend leaves the
 * dense points it computed (the smile reads the mouth from them) in place.
 */
#ifndef PHO_FACE_BACKEND_H
#define PHO_FACE_BACKEND_H

#include "core/common.h"

#include <pthread.h>

#include "pho/face.h"
#include "pho/infer.h"
#include "pho/models.h"

enum face_stage {
    FACE_STAGE_DETECT = 0,
    FACE_STAGE_LANDMARKS,
    FACE_STAGE_SMILE,
    FACE_STAGE_EMBED,
};

/* What a backend gets from the engine. Shared by every thread; read-only after open. */
struct face_ctx {
    struct pho_infer *inf;
    const struct pho_models *models;
    const char *models_dir; /* NULL: the default folder */
    struct pho_face_opts opts;
    pthread_mutex_t stats_lock;
    struct pho_face_stats stats;
    /* Set by the eye-state stage when it opens: it judges by the attention mesh's eyelids
     * (the faces keep the backend's own). */
    bool lids_attention;
};

struct face_smile;
struct face_embedder;

/* The stages every backend shares after its own detection and landmarks. */
struct face_tail {
    struct face_smile *smile;    /* NULL: the backend scores no smiles */
    struct face_embedder *embed; /* NULL: no identity embeddings (or not asked for) */
};

struct pho_face_backend {
    struct pho_face_backend_info p; /* must be first: the public view */
    size_t priv_size;
    /* Cheap check that the backend's models are installed and valid (no session). */
    int (*probe)(const struct face_ctx *ctx, struct pho_err *err);
    int (*open)(void *priv, struct face_ctx *ctx, struct pho_err *err);
    /* Thread-safe. Fills every field the backend's caps promise; the rest stay
     * unknown (NAN / -1 / 0). Coordinates normalised to the image. */
    int (*analyze)(void *priv, const struct pho_image *img, struct pho_face_list *out,
                   struct pho_err *err);
    /* Optional: several photos at once, so model runs can be batched across
     * photos (what a GPU needs). Same results as analyze() on each. */
    int (*analyze_batch)(void *priv, const struct pho_image *const *imgs, size_t n,
                         struct pho_face_list *outs, struct pho_err *err);
    void (*close)(void *priv);
    /* Optional: the shared stages (after open) the engine runs on every face analyze()
     * found: smile, then identity embedding; it reports the embedder's model, metric and
     * calibrated same-person distance. */
    void (*tail)(const void *priv, struct face_tail *out);
};

extern const struct pho_face_backend pho_face_backend_mediapipe;
extern const struct pho_face_backend pho_face_backend_face_recognition;
extern const struct pho_face_backend pho_face_backend_facenet;
extern const struct pho_face_backend pho_face_backend_insightface;
extern const struct pho_face_backend pho_face_backend_yolov8;

/* Adds @seconds to a stage's counter (thread-safe). */
void pho_face__stat_add(struct face_ctx *ctx, enum face_stage stage, double seconds);

/* Monotonic seconds, for the counters. */
double pho_face__now(void);

/*
 * Checks that each model named in @names (NULL-terminated) is installed and
 * valid, as a probe does. @return 0 or PHO_EBACKEND with the first problem.
 */
int pho_face__probe_models(const struct face_ctx *ctx, const char *const *names,
                           struct pho_err *err);

/* Opens one model through the manifest with the context's trust setting. */
int pho_face__open_model(struct pho_model **out, struct face_ctx *ctx, const char *name,
                         struct pho_err *err);

/* Appends a zeroed face (unknown fields set: NAN, -1) to @list; NULL on OOM. */
struct pho_face *pho_face__list_add(struct pho_face_list *list);

/* Dense landmarks for the faces already in @list, @per_face points each, all NAN.
 * @return 0, or PHO_ENOMEM. */
int pho_face__dense_alloc(struct pho_face_list *list, size_t per_face);
/* Frees the dense landmarks (when the caller did not ask to keep them). */
void pho_face__dense_drop(struct pho_face_list *list);

#endif /* PHO_FACE_BACKEND_H */
