/* SPDX-License-Identifier: MIT */
/*
 * Private to src/organize: the state of one run, shared by its stages
 * (analyse.c, plan.c, quality.c, faces.c, write.c), and the bookkeeping below them
 * (run.c). organize.c drives the stages in order; no stage calls another.
 */
#ifndef PHO_ORGANIZE_RUN_H
#define PHO_ORGANIZE_RUN_H

#include "core/common.h"

#include <pthread.h>

#include "organize/internal.h"
#include "pho/catalog.h"
#include "pho/image.h"
#include "pho/organize.h"
#include "pho/quality.h"
#include "pho/scan.h"

/* Working decode: the smallest JPEG DCT scale with a long side of at least this
 * many pixels serves hashing and quality alike (both reduce further). */
#define WORK_SIZE PHO_QUALITY_SIZE

struct run {
    const struct pho_organize_opts *o;
    struct pho_organize_result *r;
    struct pho_brisque *brisque;
    struct pho_catalog *cat;
    char *out_dir;        /* canonical output folder (NULL on a dry run) */
    pthread_mutex_t lock; /* serialises callbacks */
    size_t done, total;
    double stage_start;
    enum pho_stage stage;
    unsigned threads;
    size_t *todo;
    int64_t run_id;
    int lock_fd; /* the output folder's lock (lock.c), -1 when not held */
    struct pho_organize__identity identity; /* of the face engine that ran (faces.c) */
    bool no_reflink; /* --link auto found the output's filesystem cannot clone: copies */
    /* --enable-face-swap: the engine that repairs and checks (swap.c), opened when first
     * needed; swap_fe_failed once it could not be. */
    struct pho_face_engine *swap_fe;
    bool swap_fe_failed;
    char face_config[160]; /* how faces were analysed (faces.c): part of a repair's recipe */
    /* The user's decisions in force, oldest first (decisions.c; loaded before grouping). */
    struct pho_decision *decisions;
    size_t ndecisions;
    char *catalog_where; /* the catalog's location (a file or a connection string) */
};

/* Monotonic seconds. */
double pho_organize__now(void);
/* True once the caller asked the run to stop. */
bool pho_organize__cancelled(const struct run *run);
/* Progress: a stage starts (with @total steps), @n steps are done. */
void pho_organize__stage_begin(struct run *run, enum pho_stage stage, size_t total);
void pho_organize__step_done(struct run *run, size_t n, const char *current);
/* The caller's on_failure for a photo that failed (serialised). */
void pho_organize__report_failure(struct run *run, const struct pho_photo *p);
/* Marks @p unreadable with @code and @e's message. */
void pho_organize__set_error(struct pho_photo *p, const struct pho_err *e, int code);
/* A photo's analysis failed with @rc: marks it (a message from @rc when @e has none) and
 * reports the failure. */
void pho_organize__fail(struct run *run, struct pho_photo *p, struct pho_err *e, int rc);

/*
 * Decodes @p at the working size (filling p->meta) and computes its hashes
 * and grouping signature; *img is the working image (caller frees), NULL on
 * failure. With @thumbnail_ok (the auto rule) a JPEG's EXIF thumbnail may
 * stand in for the decode: then (*img)->from_thumbnail and
 * p->hashed_from_thumbnail. What analyse does before measuring quality, and
 * what explain does.
 */
int pho_organize__load_hashed(struct pho_image **img, struct pho_photo *p, uint64_t max_pixels,
                              bool thumbnail_ok, struct pho_err *err);

/* Marks a quality as not measured (every field NaN): the photo was hashed from its
 * EXIF thumbnail and no best shot has needed it yet. */
void pho_organize__quality_unknown(struct pho_quality *q);
/* Measures @p's image quality on its working decode @img. */
int pho_organize__measure(struct pho_photo *p, const struct pho_image *img,
                          const struct pho_brisque *brisque, struct pho_err *err);
/* Writes the results (or errors) of photos @idx[0..count) to the catalog in one
 * transaction; photos with neither (skipped by a cancellation) are left out. */
int pho_organize__store(struct run *run, const size_t *idx, size_t count, struct pho_err *err);
/* Frees the groups of a result (before grouping again). */
void pho_organize__groups_clear(struct pho_organize_result *r);

/* The working decode's options: JPEG DCT scaling to a long side of WORK_SIZE..2*WORK_SIZE-1. */
void pho_organize__work_opts(struct pho_image_opts *io, uint64_t max_pixels);

/* Whether @m has a capture time (a file's mtime says when it was copied, not taken). */
bool pho_organize__has_capture_time(const struct pho_meta *m);

/* The grouping item of an analysed photo (plan.c; @p must outlive it). */
void pho_organize__group_item(struct pho_group_item *item, const struct pho_photo *p,
                              enum pho_hash_kind hash);

/* Shots (shots.c): ties each scanned file to its shot and its companions (after the scan);
 * splits RAW+rendition pairs whose capture times disagree, writing to @todo the photos that
 * now need a full analysis and returning how many (after the analysis); fills in capture
 * times and places from Takeout JSON (before grouping). */
int pho_organize__shots_collect(struct run *run, const struct pho_scan_list *list,
                                struct pho_err *err);
size_t pho_organize__shots_confirm(struct run *run, size_t *todo);
void pho_organize__shots_takeout(struct run *run);

/* Folder, members and the names of every file of the members' shots (names.c); the best
 * shot is chosen later. */
int pho_organize__plan_group(struct pho_group_plan *g, const struct pho_organize_result *r,
                             const size_t *members, size_t count, size_t index);

/* The stages, in the order organize.c runs them. */
int pho_organize__analyse(struct run *run, size_t ntodo, struct pho_err *err);
/* Analyses one photo (decode, hashes, quality; a RAW of a shot, part_of set: its metadata). */
void pho_organize__analyse_photo(struct run *run, struct pho_photo *p);
/* Decodes a photo hashed from its thumbnail and measures its quality (quality.c); on
 * failure the photo becomes a failed one. */
int pho_organize__measure_photo(struct run *run, struct pho_photo *p);
/* The face configuration a face engine gives the catalog's faces records. */
void pho_organize__face_config(const struct run *run, struct pho_face_engine *fe, char *out,
                               size_t size);
/* Finds the faces of photos @todo (indices into run->r->photos) with @fe into run->r->faces,
 * recording them in the catalog as they are found. */
int pho_organize__faces_compute(struct run *run, struct pho_face_engine *fe, const char *config,
                                const size_t *todo, size_t ntodo, struct pho_err *err);
/* Distributed runs (distribute.c): queues jobs of @kind for photos @idx of the result, works
 * on the queue in this process too, and returns once no job of the run is waiting or held
 * (the results are then in the catalog, except those given up). */
/* Marks which photos of @r shard @index of @count analyses (shard.c). */
int pho_organize__shard(bool *in_shard, const struct pho_organize_result *r, unsigned index,
                        unsigned count, struct pho_err *err);
int pho_organize__distribute(struct run *run, const char *kind, const size_t *idx, size_t n,
                             struct pho_err *err);
int pho_organize__plan(struct run *run, struct pho_err *err);
/* Measures the group members hashed from thumbnails; *failed: how many turned out unreadable. */
int pho_organize__quality(struct run *run, size_t *failed, struct pho_err *err);
int pho_organize__faces(struct run *run, struct pho_err *err);
/* The face engine the run's options ask for (faces.c); *@fe NULL when "auto" finds none
 * (warned). */
int pho_organize__open_faces(struct run *run, struct pho_face_engine **fe, struct pho_err *err);
/* Face swap (swap.c): which closed-eyed faces of each best shot could be repaired from which
 * take (after the best-shot choice, dry runs too); the repair of one group's best shot,
 * written as best_<name>_fixed.jpg while the group is written; the engine closed at the end. */
int pho_organize__swap_plan(struct run *run, struct pho_err *err);
/* The user's decisions (decisions.c): loaded from the catalog (nothing on a dry run
 * without one); picks and rejects set on the photos, before the best-shot choice; the
 * best shots chosen by hand, after it. */
int pho_organize__decisions_load(struct run *run, struct pho_err *err);
void pho_organize__decisions_flags(struct run *run);
void pho_organize__decisions(struct run *run);

/* The groups again, each component of @parent with at least @min items, in the grouper's
 * canonical order (members by time, groups by their first member); links follow when @w
 * (plan.c). */
int pho_organize__regroup(struct pho_groups **gs, const struct pho_group_item *items, size_t n,
                          size_t *parent, struct pho_group_why *w, size_t min);

/* The user's moves, merges, splits and ungroupings applied to the rule's groups
 * (decide_groups.c); @map takes items to result photos. Leaves @gs alone without any. */
int pho_organize__decide_groups(struct run *run, struct pho_groups **gs,
                                const struct pho_group_item *items, size_t n, const size_t *map);
struct pho_organize__outputs;
int pho_organize__swap_write(struct run *run, struct pho_organize__outputs *outs,
                             struct pho_group_plan *g, struct pho_err *err);
void pho_organize__swap_close(struct run *run);
/* People (people.c): with the faces of every photo, persons found and kept in the catalog. */
int pho_organize__people(struct run *run, struct pho_err *err);
int pho_organize__write(struct run *run, struct pho_err *err);
int pho_organize__write_report(struct run *run, struct pho_err *err);

#endif
