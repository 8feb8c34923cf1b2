/* SPDX-License-Identifier: MIT */
/*
 * Private to src/face: the analysis stages several backends share, each
 * working on faces a detector already found (box, and eye positions when the
 * detector gives them):
 *   mesh.c   FaceMesh 468 on a face crop turned upright: six eyelid points per
 *            eye, EAR, open/closed (calibrated threshold), 5 points, yaw
 *   smile.c  smile 0..1: the emotion model on the face plus mouth geometry,
 *            unknown when occlusion.c finds the mouth hidden
 *   embed.c  identity: 5-point similarity alignment to the model's template,
 *            then MobileFaceNet, ArcFace, InceptionResnetV1 or dlib's ResNet
 * Each takes the faces of one or several images (face_job) and runs their
 * crops through its model in shared batches, so a batch of photos fills a
 * GPU; results do not depend on how faces are batched. All are thread-safe
 * once open and add their time to the context's stage counters.
 */
#ifndef PHO_FACE_STAGES_H
#define PHO_FACE_STAGES_H

#include "core/common.h"

#include "face/backend.h"
#include "face/util.h"

/* One image's share of a stage run: faces[first..count) of @img. */
struct face_job {
    const struct pho_image *img;
    struct pho_face_list *faces;
    size_t first;
    /* Mesh only: per face from @first, image-left eye then image-right eye, in image
     * pixels; NULL: level crops. */
    const float (*eye_hints)[2][2];
};

/* A face of a job list: jobs[job].faces->faces[face]. */
struct face_ref {
    size_t job, face;
};

/* Every face of @jobs from their @first on, in order, into a malloc'd *out (NULL when none,
 * *n 0); 0, or PHO_ENOMEM. */
int pho_face__jobs_flatten(struct face_ref **out, size_t *n, const struct face_job *jobs,
                           size_t njobs, struct pho_err *err);

/* ---- FaceMesh (models: face_landmark) ---- */

enum { FACE_MESH_POINTS = 468 };

struct face_mesh;

int pho_face__mesh_open(struct face_mesh **out, struct face_ctx *ctx, struct pho_err *err);
void pho_face__mesh_close(struct face_mesh *m);

/*
 * For faces[first..count): crops 1.5x the box, rotated so the eyes are level
 * (eye_hints[i - first] = image-left eye, image-right eye in image pixels;
 * NULL: level crop), runs the mesh, and fills eye_l/eye_r, has_eyes,
 * ear_l/ear_r, eyes_closed, winking, yaw and, when !has_pts5, pts5. When
 * faces->dense_per_face is 468 on entry (caller asks for dense landmarks),
 * also fills faces->dense for those faces (NAN where the mesh found no face).
 * Coordinates normalised.
 * A face whose eye line comes out more than 10 degrees off level in its crop
 * (no hints, poor hints) is cropped again along the mesh's eye line. The
 * eyelids (eye_l/eye_r, EAR) come from the eye-contour model "iris" when it
 * is installed (the mesh's own eyelids barely close; without it a warning is
 * logged once per open). A face the mesh finds no face in (presence < 0.5:
 * profiles, hands, non-faces) gets none of these fields: has_eyes stays
 * false, so callers can drop or keep it.
 */
int pho_face__mesh_run(struct face_mesh *m, const struct pho_image *img,
                       struct pho_face_list *faces, size_t first, const float (*eye_hints)[2][2],
                       struct pho_err *err);
/* pho_face__mesh_run() over @njobs images, their crops batched together. */
int pho_face__mesh_run_jobs(struct face_mesh *m, const struct face_job *jobs, size_t njobs,
                            struct pho_err *err);

/* The closed-eye threshold on each eye's EAR (eye-contour model eyelids; calibrated on the
 * test photos, docs/faces.md). */
float pho_face__mesh_closed_ear(void);

/* ---- Attention mesh eyelids (models: face_landmark_attention; optional) ---- */
struct face_attention;
/* *out stays NULL, and 0 is returned, when the model is not installed. */
int pho_face__attention_open(struct face_attention **out, struct face_ctx *ctx,
                             struct pho_err *err);
void pho_face__attention_close(struct face_attention *a);
/* The six dlib-order eyelid points per eye (image-left eye first), in image pixels, of the
 * face in the square of side @crop centred on (@cx, @cy) and turned by @angle (the face
 * mesh's crop), in image pixels. */
int pho_face__attention_eyes(struct face_attention *a, const struct pho_image *img, float cx,
                             float cy, float crop, float angle, float (*eyes)[6][2],
                             struct pho_err *err);

/* ---- Eye state (models: eye_state) ---- */
struct face_eyestate;
int pho_face__eyestate_open(struct face_eyestate **out, struct face_ctx *ctx, struct pho_err *err);
void pho_face__eyestate_close(struct face_eyestate *s);
/* For every face of @jobs with eyelid points and ratios: the eye-state model on each eye,
 * then eyes_closed and winking from the model and the ratios together (eyestate.c). Its time
 * counts as landmarks. */
int pho_face__eyestate_run_jobs(struct face_eyestate *s, const struct face_job *jobs, size_t njobs,
                                struct pho_err *err);

/* ---- Smile (models: emotion) ---- */

struct face_smile;

int pho_face__smile_open(struct face_smile **out, struct face_ctx *ctx, struct pho_err *err);
void pho_face__smile_close(struct face_smile *s);

/* Fills smile for faces[first..count) (uses pts5 to align, and eye/mouth geometry when known). */
int pho_face__smile_run(struct face_smile *s, const struct pho_image *img,
                        struct pho_face_list *faces, size_t first, struct pho_err *err);
int pho_face__smile_run_jobs(struct face_smile *s, const struct face_job *jobs, size_t njobs,
                             struct pho_err *err);

/* occlusion.c. Whether another face's box (of at least half this face's width) covers
 * face @i's mouth. */
bool pho_face__mouth_covered(const struct pho_face_list *faces, size_t i);

/* Whether face @i's mouth is hidden: covered by another face, or the band between its mouth
 * corners is not skin; @tmpl_map maps image pixel centres onto the @side x @side smile
 * template the face was aligned to. */
bool pho_face__mouth_hidden(const struct pho_face_list *faces, size_t i,
                            const struct pho_image *img, const face_affine tmpl_map, int side);

/* ---- Identity embeddings ---- */

struct face_embedder;

/* @model: "mobilefacenet", "arcface_r50", "arcface_mbf", "facenet_vggface2" or "dlib_resnet". */
int pho_face__embed_open(struct face_embedder **out, struct face_ctx *ctx, const char *model,
                         struct pho_err *err);
void pho_face__embed_close(struct face_embedder *e);

/* Fills embed / embed_dim for faces[first..count) that have pts5 (others keep embed_dim 0). */
int pho_face__embed_run(struct face_embedder *e, const struct pho_image *img,
                        struct pho_face_list *faces, size_t first, struct pho_err *err);
int pho_face__embed_run_jobs(struct face_embedder *e, const struct face_job *jobs, size_t njobs,
                             struct pho_err *err);

/* "mobilefacenet-192" etc.; embeddings from different ids never compare. */
const char *pho_face__embed_id(const struct face_embedder *e);
enum pho_face_metric pho_face__embed_metric(const struct face_embedder *e);
/* Calibrated same-person distance for this model (docs/faces.md). */
float pho_face__embed_same_person(const struct face_embedder *e);

#endif /* PHO_FACE_STAGES_H */
