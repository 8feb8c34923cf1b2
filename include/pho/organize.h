/* SPDX-License-Identifier: MIT */
/**
 * @file organize.h
 * The organizer: scan a source folder, analyse every photo (metadata,
 * hashes, quality; cached in the catalog), group near-duplicates and bursts,
 * pick the best shot of each group and write the result under an output
 * folder, with a JSON report. Sources are only ever read.
 *
 *     struct pho_organize_opts o = PHO_ORGANIZE_OPTS_INIT;
 *     o.source = "/photos"; o.output = "/photos-organized";
 *     struct pho_organize_result r;
 *     int rc = pho_organize_run(&r, &o, &err);
 *     ...
 *     pho_organize_result_release(&r);
 *
 * Output layout (like the original tool):
 *     OUT/group_NNNN/originals/<files>     copies of every member (clashes: name_2.ext ...)
 *     OUT/group_NNNN/best_<name>           a second copy of the chosen photo
 *     OUT/group_NNNN/metadata.txt          each member's metadata and scores
 *     OUT/reports/report_<date_time>.json  and latest.json (a symlink to it)
 *     OUT/.photo-organizer/catalog.db      the cache that makes re-runs incremental
 * Every file is written to a temporary name, fsync'ed and renamed.
 */
#ifndef PHO_ORGANIZE_H
#define PHO_ORGANIZE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/catalog.h"
#include "pho/common.h"
#include "pho/error.h"
#include "pho/face.h"
#include "pho/group.h"
#include "pho/hash.h"
#include "pho/photo.h"

PHO_BEGIN_DECLS

/** Where a run is, for progress displays. */
enum pho_stage {
    PHO_STAGE_SCAN = 0,
    PHO_STAGE_ANALYSE,
    PHO_STAGE_GROUP,
    PHO_STAGE_QUALITY, /**< image quality of group members hashed from thumbnails */
    PHO_STAGE_FACES,
    PHO_STAGE_PEOPLE, /**< faces of every photo into persons (docs/people.md) */
    PHO_STAGE_WRITE,
    PHO_STAGE_REPORT,
    PHO_STAGE_DONE,
};

struct pho_progress {
    enum pho_stage stage;
    size_t done, total;  /**< items of the current stage */
    double elapsed;      /**< seconds since the stage started */
    const char *current; /**< path being worked on (may be NULL) */
};

/** Progress callback; called from worker threads too, serialised by the library. */
typedef void (*pho_progress_fn)(void *ud, const struct pho_progress *p);

/** Called once per photo that failed, as soon as it failed (serialised). */
typedef void (*pho_failure_fn)(void *ud, const struct pho_photo *photo);

/** Which photos get face analysis. */
enum pho_faces_mode {
    PHO_FACES_GROUPS = 0, /**< members of groups: what picking their best shot needs (default) */
    PHO_FACES_ALL,        /**< every readable photo (people across the whole library) */
    PHO_FACES_NONE,       /**< none: best shots by image quality only */
};

/** How the files under group_NNNN/originals/ and best_* are made (docs/output.md). */
enum pho_link_mode {
    /** A reflink (copy-on-write clone: shares the blocks, so editing the output never changes
     *  the source) where the filesystem can, else a copy. The default. */
    PHO_LINK_AUTO = 0,
    PHO_LINK_COPY,    /**< a copy of the bytes (the original tool's behaviour) */
    PHO_LINK_REFLINK, /**< a reflink; a filesystem that cannot is an error */
    /** A hard link: no space used, but an editor that saves in place changes the source. */
    PHO_LINK_HARDLINK,
    /** A symbolic link (relative when it can be): as above, and it breaks when the
     *  library moves. */
    PHO_LINK_SYMLINK,
};

/** "auto", "copy", "reflink", "hardlink", "symlink". */
PHO_API const char *pho_link_mode_name(enum pho_link_mode mode);
/** Parses a name from pho_link_mode_name(). @return 0 or PHO_EINVAL. */
PHO_API int pho_link_mode_parse(enum pho_link_mode *out, const char *name);

/** How an XMP sidecar is named (docs/xmp.md). */
enum pho_xmp_style {
    /** IMG_0001.xmp, one per shot: Lightroom Classic, Capture One, Bridge. The default. */
    PHO_XMP_STYLE_NAME = 0,
    /** IMG_0001.CR2.xmp, one per file: darktable, digiKam. */
    PHO_XMP_STYLE_NAME_EXT,
};

/** "name" or "name.ext". */
PHO_API const char *pho_xmp_style_name(enum pho_xmp_style style);
/** Parses a style by its name or a tool's ("lightroom", "capture-one", "bridge": name;
 *  "darktable", "digikam": name.ext). @return 0 or PHO_EINVAL. */
PHO_API int pho_xmp_style_parse(enum pho_xmp_style *out, const char *name);

/** The colour label of a best shot (xmp:Label, the names every tool reads). */
enum pho_xmp_label {
    PHO_XMP_LABEL_NONE = 0,
    PHO_XMP_LABEL_RED,
    PHO_XMP_LABEL_YELLOW,
    PHO_XMP_LABEL_GREEN,
    PHO_XMP_LABEL_BLUE,
    PHO_XMP_LABEL_PURPLE,
};
/** "none", "Red", "Yellow", "Green", "Blue", "Purple". */
PHO_API const char *pho_xmp_label_name(enum pho_xmp_label label);
/** Parses a label name, any case. @return 0 or PHO_EINVAL. */
PHO_API int pho_xmp_label_parse(enum pho_xmp_label *out, const char *name);

/** XMP sidecars: the decisions, for the tools photographers cull in (docs/xmp.md). */
struct pho_xmp_opts {
    bool in_output;      /**< --xmp: beside the group's files in OUT */
    bool beside_sources; /**< beside the source photos (an existing sidecar is merged) */
    enum pho_xmp_style style;
    int rating_best;          /**< xmp:Rating of the best shot: default 5 */
    int rating_others;        /**< of the other members: -1 (rejected) .. 5, default 1 */
    enum pho_xmp_label label; /**< of the best shot, default Green (the others get none) */
};

struct pho_organize_opts {
    int version;
    const char *source;
    const char *output;
    /** The link rule (docs/grouping.md): auto (default), or the original tool's. */
    enum pho_group_rule grouping;
    int threshold;           /**< classic rule: 0..64, default 5 */
    double time_window;      /**< classic rule: seconds, 0 = visual only, default 300 */
    size_t min_group_size;   /**< default 2 (the original's was 3), raised to 2 if lower */
    enum pho_hash_kind hash; /**< classic rule: the hash */
    unsigned threads;        /**< 0 = one per CPU */
    size_t limit;            /**< stop after this many photos (0 = all) */
    uint64_t max_pixels;     /**< 0 = PHO_DEFAULT_MAX_PIXELS */
    bool dry_run;            /**< plan only: nothing at all is written under the output folder */
    bool force_fresh;        /**< ignore (and reset) the catalog's cached analyses */
    bool wait_lock;  /**< another run holds the output folder: wait for it (else PHO_EBUSY) */
    bool ml_quality; /**< BRISQUE (the learned quality model); default on */
    bool include_hidden;
    bool follow_symlinks;
    /** How group files are made in OUT (default auto: reflink, else copy). */
    enum pho_link_mode link;
    /** Sidecars with the decisions (default: none). */
    struct pho_xmp_opts xmp;
    /** Write the decisions only (report, sidecars): no group folders, nothing removed. With
     *  neither sidecar place asked for, sidecars go to OUT/xmp/ (the library's folders). */
    bool tag_only;
    /** OUT/people/<name>/: each person's photos (needs faces = all; docs/people.md). */
    bool people_folders;
    /** Best shots with closed eyes repaired from the group's other takes, written beside them
     *  as best_<name>_fixed.jpg (docs/face-swap.md; needs identity embeddings). */
    bool face_swap;
    /* Faces */
    enum pho_faces_mode faces;
    const char *face_backend; /**< "auto" (default) or a backend name */
    const char *models_dir;   /**< NULL: the default models folder */
    bool gpu;
    int gpu_device;
    float min_face; /**< smallest face, fraction of the long side (default 0.02) */
    /** Photos per face-model batch; 0 = automatic (1 on the CPU, 16 on a GPU). */
    unsigned batch_size;
    pho_progress_fn progress;
    pho_failure_fn on_failure;
    void *ud;
    /** Set to non-zero (e.g. from a signal handler) to stop at the next safe point. */
    atomic_int *cancel;
    /** The catalog: NULL for the output folder's own (its SQLite file, or the database it
     *  was last organized with), or a PostgreSQL database (pho_catalog_is_url();
     *  docs/scale-out.md), remembered in the output folder. */
    const char *catalog;
    /** Queue the photos' analyses and faces in the shared catalog for workers
     *  (pho_worker_run(), on any machine), work on them too, wait for the queue to drain,
     *  then finish as a single run would. Needs a PostgreSQL catalog. */
    bool distributed;
    /** Static sharding for batch schedulers: with shard_count > 0, analyse only shard
     *  shard_index (0-based) of shard_count into the shared catalog and stop there (no
     *  grouping, nothing written under the output folder, which may be NULL). A final run
     *  without it groups the whole library from the catalog. */
    unsigned shard_index, shard_count;
};

#define PHO_ORGANIZE_OPTS_INIT                                                                    \
    {                                                                                             \
        .version = 1, .grouping = PHO_GROUP_RULE_AUTO, .threshold = 5, .time_window = 300.0,      \
        .min_group_size = 2, .hash = PHO_HASH_DHASH, .ml_quality = true, .follow_symlinks = true, \
        .faces = PHO_FACES_GROUPS, .face_backend = "auto", .min_face = 0.02f, .xmp = {            \
            .rating_best = 5,                                                                     \
            .rating_others = 1,                                                                   \
            .label = PHO_XMP_LABEL_GREEN                                                          \
        }                                                                                         \
    }

/** A file that travels with a photo but is not one: a sidecar, a Live Photo's video
 *  (docs/shots.md). Copied, never read, except Takeout JSON (capture time and place). */
struct pho_companion {
    char *path; /**< as scanned; owned */
    char *rel;  /**< below the source root; owned */
    uint64_t size;
    int64_t mtime_ns;
    int kind;     /**< enum pho_companion_kind (shot.h) */
    size_t owner; /**< index into result.photos: the file it belongs to */
};

/** Longest name of a group's repaired best shot. */
#define PHO_SWAP_FILE_MAX 320

/** One file a group writes under originals/ (and as best_ for the best shot). */
struct pho_group_file {
    size_t member;    /**< which member's shot (index into the group's members) */
    size_t photo;     /**< index into result.photos, or SIZE_MAX for a companion */
    size_t companion; /**< index into result.companions, or SIZE_MAX for a photo file */
    char *name;       /**< its name under originals/ (unique in the group) */
};

/** A closed-eyed face of a group's best shot and its repair (--enable-face-swap,
 *  docs/face-swap.md). */
struct pho_swap_fix {
    size_t face;       /**< index into result.faces[best] (SIZE_MAX: not one the run found) */
    float box[4];      /**< the face in the best shot, fractions of the image */
    size_t donor;      /**< index into result.photos: the take its eyes came (or would come)
                            from; SIZE_MAX when none */
    size_t donor_face; /**< index into that take's faces */
    bool fixed;        /**< repaired in the written file (never on a dry run) */
    /** Mean eye aspect ratio before and after; identity distance donor-to-target and
     *  repaired-to-target; seam and match measures (NAN where not measured). */
    float ear_before, ear_after, distance, distance_after, seam, match;
    char why[256];
};

/** The repair of a group's best shot. */
struct pho_group_swap {
    /** "best_<name>_fixed.jpg" in the group folder once written; "" when none. */
    char file[PHO_SWAP_FILE_MAX];
    struct pho_swap_fix *faces; /**< one per closed-eyed face of the best shot */
    size_t nfaces, nfixed;
};

/** One planned group. */
struct pho_group_plan {
    char dir[32];    /**< "group_0001" */
    size_t *members; /**< indices into result.photos, canonical order */
    char **names;    /**< file name of each member under originals/ (clashes resolved) */
    size_t count;
    /** Every file of the members' shots: each main file, the other files of its shot and
     *  their companions, member by member; all named alike when a clash renames a shot. */
    struct pho_group_file *files;
    size_t nfiles;
    /** How each member joined the group (auto rule; parallel to members, `via` an index into
     *  result.photos); NULL with the classic rule. */
    struct pho_group_why *links;
    size_t best;   /**< index into result.photos */
    char why[512]; /**< why the best was chosen */
    int error;     /**< 0, or why this group's files could not all be written (PHO_E*) */
    char error_msg[512];
    /** The best shot's closed eyes and their repair (--enable-face-swap; nfaces 0: none). */
    struct pho_group_swap swap;
};

/** A file in the output folder that is the user's (photo-organizer did not
 *  write it, or it was changed since): kept as it is, this run's version
 *  written beside it. Paths are relative to the output folder. */
struct pho_kept_file {
    char *path; /**< the user's file, untouched */
    char *ours; /**< where this run's version went */
};

/** A sidecar that was not written, and why (not valid XMP, not a regular file, not
 *  writable). */
struct pho_sidecar_issue {
    char *path;     /**< below SOURCE, or below OUT when @p in_output */
    bool in_output; /**< the user's sidecar in OUT (else the one beside a source) */
    char *why;
};

/** A person of this run's library (docs/people.md). */
struct pho_person_summary {
    int64_t id;
    char *name; /**< "" when not named */
    bool hidden;
    size_t faces, photos;
    size_t sample; /**< index into result.photos: the photo that shows the person best */
    char *picture; /**< their face picture below OUT (--people-folders), NULL when none */
};

struct pho_organize_result {
    struct pho_photo *photos; /**< every scanned photo, scan order */
    size_t nphotos;
    /** Per photo: the next file of its shot (main file first, then its RAW and other
     *  renditions), SIZE_MAX after the last; NULL before the scan is done. */
    size_t *shot_next;
    /** Readable shots: main files neither unreadable nor part of another (set once the
     *  groups are final). */
    size_t nshots;
    /** Sidecars and videos that belong to a photo, sorted by owner then path. */
    struct pho_companion *companions;
    size_t ncompanions;
    /** Faces of each photo (parallel to photos); image_w == 0 means not analysed. */
    struct pho_face_list *faces;
    char face_backend[32]; /**< "" when faces were not analysed */
    char face_device[160];
    char embed_model[48];
    size_t faces_analysed, faces_from_catalog;
    struct pho_face_stats face_stats;
    /** Face pipeline: decode workers, queue wait and inference (seconds, summed over
     *  workers), batches run, batch size used. */
    double t_face_decode, t_face_wait, t_face_infer;
    size_t face_batches, face_batch_size;
    struct pho_group_plan *groups;
    size_t ngroups;
    /** People, when the faces of every photo were analysed (--faces all): per photo the
     *  person of each face (parallel to faces[i].faces; 0: none; NULL: no faces), and the
     *  persons, by id. */
    int64_t **face_persons;
    struct pho_person_summary *people;
    size_t npeople;
    size_t people_created; /**< persons found in this run */
    size_t decisions;      /**< the user's decisions in force (docs/decisions.md) */
    /** --enable-face-swap: best shots with closed eyes, those with a repaired file (made in
     *  this run or kept from an earlier one), faces repaired in them. */
    size_t swap_groups, swap_written, swap_faces_fixed;
    size_t analysed, from_catalog, failed;
    size_t shard_skipped; /**< --shard: photos left to the other shards */
    size_t groups_failed; /**< groups whose files could not all be written (see their error) */
    struct pho_kept_file *kept; /**< the user's files in OUT that were kept (docs/catalog.md) */
    size_t nkept;
    size_t files_written, files_unchanged, files_removed;
    /** Of files_written: made as reflinks, hard links, symbolic links (the rest copied). */
    size_t files_reflinked, files_hardlinked, files_symlinked;
    /** XMP sidecars written (new or changed), already right, merged into a sidecar that was
     *  there (the user's or another tool's), and their first contents kept as backups. */
    size_t sidecars_written, sidecars_unchanged, sidecars_merged, sidecars_backed_up;
    /** Sidecars that could not be written, and why (the run went on). */
    struct pho_sidecar_issue *sidecar_issues;
    size_t nsidecar_issues;
    bool interrupted;
    double t_scan, t_analyse, t_group, t_faces, t_people, t_write, t_total;
    char report_path[4096]; /**< "" on a dry run */
};

/** Options, as bits: which a user gave, which a recorded run holds. */
enum pho_setting {
    PHO_SET_THRESHOLD = 1 << 0,
    PHO_SET_WINDOW = 1 << 1,
    PHO_SET_MIN = 1 << 2,
    PHO_SET_HASH = 1 << 3,
    PHO_SET_LIMIT = 1 << 4,
    PHO_SET_ML = 1 << 5,
    PHO_SET_SOURCE = 1 << 6,
    PHO_SET_HIDDEN = 1 << 7,
    PHO_SET_FOLLOW = 1 << 8,
    PHO_SET_PIXELS = 1 << 9,
    PHO_SET_THREADS = 1 << 10,
    PHO_SET_FACES = 1 << 11,
    PHO_SET_BACKEND = 1 << 12,
    PHO_SET_MIN_FACE = 1 << 13,
    PHO_SET_GPU = 1 << 14,
    PHO_SET_GROUPING = 1 << 15,
    PHO_SET_LINK = 1 << 16,
    PHO_SET_XMP = 1 << 17, /**< --xmp */
    PHO_SET_XMP_SOURCES = 1 << 18,
    PHO_SET_XMP_STYLE = 1 << 19,
    PHO_SET_XMP_RATING = 1 << 20,
    PHO_SET_XMP_LABEL = 1 << 21,
    PHO_SET_TAG_ONLY = 1 << 22,
    PHO_SET_PEOPLE_FOLDERS = 1 << 23,
    PHO_SET_FACE_SWAP = 1 << 24,
};

/** The settings of the last run recorded in an output folder (what --resume continues). */
struct pho_organize_record {
    struct pho_organize_opts opts; /**< as recorded; its strings point into this struct */
    unsigned present;              /**< enum pho_setting bits the record holds */
    char source[4096];             /**< canonical path (older catalogs: as typed) */
    char face_backend[64];
    char models_dir[4096];  /**< the face models folder the run used, when it was given */
    bool source_identified; /**< source_device/inode were recorded with a canonical path */
    unsigned long long source_device, source_inode;
    bool finished; /**< that run finished */
};

/**
 * The options of a run as the catalog records them (JSON; the source by its
 * canonical path and its folder's device and inode). Caller frees with
 * pho_free(); NULL when out of memory. pho_organize_run() records this itself.
 */
PHO_API char *pho_organize_settings_json(const struct pho_organize_opts *o);

/**
 * Reads the settings of the last run recorded in the output folder @p output.
 * @return 0; PHO_ENOTFOUND (no earlier run there), PHO_ECORRUPT or PHO_EDB.
 */
PHO_API int pho_organize_last_run(struct pho_organize_record *rec, const char *output,
                                  struct pho_err *err);

/** Copies into @p o every option the record holds and @p given (enum pho_setting bits)
 *  does not; strings then point into @p rec. */
/**
 * The grouping rule the settings @p given (enum pho_setting bits) ask for: a
 * flag of the original tool (-t, --time-window, --hash) selects its rule,
 * and that rule's minimum group size is 3 unless given. Sets PHO_SET_GROUPING
 * in *@p given when it chose. @return 0, or PHO_EINVAL when the auto rule was
 * asked for together with a flag of the classic one.
 */
PHO_API int pho_organize_select_rule(struct pho_organize_opts *o, unsigned *given);

PHO_API void pho_organize_record_apply(struct pho_organize_opts *o,
                                       const struct pho_organize_record *rec, unsigned given);

/**
 * Runs the organizer. Fills @p out (release it with pho_organize_result_release()
 * whatever the return value). Individual unreadable photos are not errors:
 * they are listed in out->photos with their error, in the report, and
 * reported through on_failure. @return 0; PHO_EINVAL (bad options: message
 * says which), PHO_ENOTFOUND (source missing), PHO_EIO (output not writable),
 * PHO_EDB (catalog unusable), PHO_EINTR (cancelled; what was done is kept).
 */
PHO_API int pho_organize_run(struct pho_organize_result *out, const struct pho_organize_opts *opts,
                             struct pho_err *err);

PHO_API void pho_organize_result_release(struct pho_organize_result *r);

/**
 * Records one of the user's decisions about @p output's result (docs/decisions.md), about
 * @p photo (a path below the source, as the report gives it), in this and every later run:
 * "best" (its group's best shot), "pick", "reject" (never the best unless chosen by hand),
 * "unflag", "move" (into the group of @p other), "merge" (its group and @p other's become
 * one), "split" (it and the takes after it form a group of their own), "ungroup" (its group
 * is no more), "detach" (it leaves its group). @p other: "move" and "merge" only. Takes the
 * output folder's lock (PHO_EBUSY while a run holds it). It shows once the result is made
 * again (pho_organize_rerun()).
 */
PHO_API int pho_organize_decide(const char *output, const char *kind, const char *photo,
                                const char *other, struct pho_err *err);

/** True when @p kind is a decision this version applies. */
PHO_API bool pho_organize_decision_known(const char *kind);

/** True when decisions of @p kind relate two photos (move, merge). */
PHO_API bool pho_organize_decision_relates(const char *kind);

/** Takes back the newest decision in force; *@p undone says which (id 0: none; its strings
 *  are the caller's to pho_free()). */
PHO_API int pho_organize_undo(struct pho_decision *undone, const char *output, struct pho_err *err);

/** The decisions in force in @p output, oldest first (caller frees with
 *  pho_catalog_decisions_free()); PHO_ENOTFOUND when it has no catalog. */
PHO_API int pho_organize_decisions(struct pho_decision **out, size_t *count, const char *output,
                                   struct pho_err *err);

/**
 * Makes @p output's result again with its last run's settings (what --resume does), so
 * that decisions show in its folders, report and sidecars; photos come from the catalog
 * when unchanged. Waits for a run that holds the folder. Fills @p out as pho_organize_run().
 */
PHO_API int pho_organize_rerun(struct pho_organize_result *out, const char *output,
                               const char *models_dir, atomic_int *cancel, struct pho_err *err);

/** The companions of photo @p photo in @p r (*@p count of them; NULL when none). */
PHO_API const struct pho_companion *pho_organize_companions(const struct pho_organize_result *r,
                                                            size_t photo, size_t *count);

/** Short name of a stage ("analyse"). */
PHO_API const char *pho_stage_name(enum pho_stage stage);

/**
 * Why photos @p a and @p b (paths) are or are not grouped: each is read as
 * organize reads it and judged alone by the rule @p o selects (NULL: the
 * defaults); other photos can still join them through a chain of links.
 * @return 0, or the status of the photo that could not be read.
 */
PHO_API int pho_organize_explain(struct pho_group_why *out, const char *a, const char *b,
                                 const struct pho_organize_opts *o, struct pho_err *err);

/* ---- Workers (docs/scale-out.md) ---- */

/** What a worker does: where the queue is and how this machine works. The settings of
 *  each job (grouping, quality, face backend) are those of the run that queued it. */
struct pho_worker_opts {
    const char *catalog;    /**< the shared catalog (PostgreSQL connection string) */
    const char *name;       /**< in the queue's claims; NULL: host:pid */
    const char *models_dir; /**< this machine's face models folder; NULL: the run's */
    bool gpu_set;           /**< use gpu / gpu_device below rather than the run's choice */
    bool gpu;
    int gpu_device;
    unsigned threads;            /**< 0: one per CPU */
    const char *const *path_map; /**< "FROM=TO": the source FROM is TO on this machine */
    size_t npath_map;
    size_t batch;        /**< jobs per claim; 0: 8 per thread */
    int lease_s;         /**< seconds a claim holds without a heartbeat; 0: 60 */
    bool exit_when_idle; /**< return once nothing is queued for idle_wait_s seconds */
    double idle_wait_s;
    atomic_int *cancel; /**< non-zero: stop once the photos in hand are done */
};

#define PHO_WORKER_OPTS_INIT \
    {                        \
        .idle_wait_s = 5.0   \
    }

struct pho_worker_stats {
    size_t done; /**< jobs done */
    double seconds;
};

/**
 * Works on the shared catalog's queue until cancelled (or idle, with exit_when_idle).
 * @return 0; PHO_EINTR when cancelled (the photos in hand were finished, the rest of the
 * batch handed back); PHO_EIO (the database went away), PHO_EDB, PHO_ENOMEM.
 */
PHO_API int pho_worker_run(struct pho_worker_stats *stats, const struct pho_worker_opts *o,
                           struct pho_err *err);

PHO_END_DECLS

#endif /* PHO_ORGANIZE_H */
