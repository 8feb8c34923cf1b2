/* SPDX-License-Identifier: MIT */
/* Helpers shared by the face tests (tests/unit/test_face*.c): photos decoded and analysed,
 * synthetic images, folders of stand-in models, reference detections, threads. */
#ifndef PHO_FACETEST_H
#define PHO_FACETEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/face.h"
#include "pho/image.h"
#include "pho/infer.h"
#include "testlib.h"

/* ---- photos and engines ---- */

/* A test photo (td(): skips without them) at most @max_size on its long side (0: full size);
 * @allow_larger keeps shrink-on-load's 1..2x max_size, as the organizer decodes for faces. A
 * photo that does not decode fails the test: no face test means anything without it. */
struct pho_image *ft_load(const char *rel, uint32_t max_size, bool allow_larger);

/* The engine a test cannot go on without: a refusal fails the test with the engine's reason. */
struct pho_face_engine *ft_engine(const struct pho_face_opts *fo);

/* For group setups, where no cmocka assertion may run: @backend on @models_dir with default
 * options into *fe, 0, or -1 with the reason on stderr. */
int ft_engine_setup(struct pho_face_engine **fe, const char *backend, const char *models_dir);

/* A backend named explicitly that cannot run must be refused, never swapped for another that
 * can: asserts PHO_EBACKEND, no engine and a reason naming @backend, left in @err. */
void ft_assert_refused(const char *backend, const char *models_dir, int trust, struct pho_err *err);

/* Analyses what must analyse: an error fails the test with the engine's message. */
void ft_analyze(struct pho_face_engine *fe, const struct pho_image *img, struct pho_face_list *out);

/* ft_load() then ft_analyze(), naming the photo on failure and freeing it either way. */
void ft_analyze_photo(struct pho_face_engine *fe, const char *rel, uint32_t max_size,
                      bool allow_larger, struct pho_face_list *out);

/* The subject of a one-person photo is its largest face; NULL on an empty list. */
const struct pho_face *ft_largest(const struct pho_face_list *l);

/* Bit-identical results: determinism and thread safety are promised to the byte. */
void ft_assert_same_faces(const struct pho_face_list *a, const struct pho_face_list *b);

/* One analysis thread: @img analysed @rounds times (at least once), the last result in @out
 * and the first failure in @rc. Results are checked by the caller, back on the test's thread,
 * since cmocka's assertions are not thread-safe. */
struct ft_job {
    struct pho_face_engine *fe;
    const struct pho_image *img;
    int rounds;
    struct pho_face_list out;
    int rc;
};

/* Runs every job on its own thread, all at once, and waits for them: concurrent use of one
 * engine must give what serial use gives. */
void ft_run_jobs(struct ft_job *jobs, size_t n);

/* The concurrency check of the stand-in backends: @img, which must hold faces, analysed on two
 * threads at once, three times each, gives exactly the serial result every time. */
void ft_assert_two_threads_agree(struct pho_face_engine *fe, const struct pho_image *img);

/* ---- synthetic images ---- */

/* A black @w x @h image; the stand-in detectors see nothing on black. */
struct pho_image *ft_canvas(uint32_t w, uint32_t h);

/* Fills [x0,x1) x [y0,y1) with one colour: the stand-ins light exactly on such blocks. */
void ft_paint(struct pho_image *img, int x0, int y0, int x1, int y1, uint8_t r, uint8_t g,
              uint8_t b);

/* ---- model folders ---- */

/* Symlinks @target as @dir/@name, failing the test when that cannot be done. */
void ft_link(const char *target, const char *dir, const char *name);

/* Links the shipped mesh, iris and smile models the stand-in backends need into @dir, all
 * but @skip (NULL: none); models not installed are left out, for the probes to name. */
void ft_link_shipped(const char *dir, const char *skip);

/* Links the stand-in file or pack @name into @dir under its own name. */
void ft_link_standin(const char *dir, const char *name);

/* A fresh temporary folder linking every shipped model but @skip (NULL: none), plus the file
 * @extra (NULL: none) under its own name. The caller removes it with rm_rf() and frees it. */
char *ft_models_folder(const char *skip, const char *extra);

/*
 * What the stand-in backends' tests run in: an inference session and the manifest for the
 * stand-ins' own runs, a models folder to fill, a $HOME of their own (so no model of the
 * user's is found), and a scratch folder for the probe tests' partial installs.
 */
struct ft_sandbox {
    struct pho_infer *inf;
    struct pho_models *manifest;
    char *models, *home, *scratch;
    int next; /* names the scratch folders */
};

/* For the group setup: 0, or -1 with the reason on stderr, when the stand-in file @needed
 * (relative to the stand-ins folder) is missing or the session does not open. */
int ft_sandbox_setup(struct ft_sandbox *sb, const char *needed);
void ft_sandbox_teardown(struct ft_sandbox *sb);

/* A fresh empty folder under the scratch one; the caller frees the string, teardown removes
 * the folder. */
char *ft_sandbox_dir(struct ft_sandbox *sb);

/* Runs the stand-in @name from the sandbox's models folder on one NCHW @side x @side image into
 * @out (zeroed first; the caller releases it). Contract only: stand-ins are not the official
 * files. A refusal fails the test. */
void ft_run_standin(struct ft_sandbox *sb, const char *name, float *input, int side,
                    struct pho_tensor *out, size_t nout);

/* Three @side x @side planes, @v on [x0,x1) x [y0,y1) and 0 elsewhere: the shape of the
 * standins.json examples. The caller frees it. */
float *ft_planes(int side, int x0, int y0, int x1, int y1, float v);

/* ---- reference detections ---- */

/* A detection the test computes by hand from a stand-in's formulas, in image pixels. */
struct ft_ref {
    float x0, y0, x1, y1, kp[5][2];
};

/* The backends' greedy NMS over equal scores (every lit stand-in anchor scores the same): the
 * upper, then the left box first, dropping those overlapping a kept one by more than @iou.
 * Returns how many are kept, in order, at the front of @r. */
size_t ft_ref_nms(struct ft_ref *r, size_t n, float iou);

/* Asserts @fl holds exactly @want in order: boxes and five points within 0.01 px of the
 * reference, and every score @score. */
void ft_check_ref(const struct pho_face_list *fl, const struct ft_ref *want, size_t n, float score);

/* ---- labelled identities ---- */

/* The single-face test photos with a person label (labels.csv), for identity tests. */
struct ft_person {
    const char *rel, *person;
};
enum { FT_PEOPLE = 29 };
extern const struct ft_person ft_people[FT_PEOPLE];

#endif
