/* SPDX-License-Identifier: MIT */
/**
 * @file catalog.h
 * The organizer's memory between runs: an SQLite database (WAL mode) at
 * OUT/.photo-organizer/catalog.db.
 *
 * - photos: one row per source file, keyed by (path below the source root,
 *   size, mtime): re-runs skip files whose key is unchanged. Rows hold the
 *   metadata, hashes and quality (or the error) of struct pho_photo.
 * - runs: each run's settings (JSON) and whether it finished, so --resume
 *   can continue an interrupted run with its own settings.
 * - outputs: every file the organizer wrote under OUT with its size and
 *   checksum, so a re-run can tell its own files from a user's.
 *
 * Every change happens inside a transaction; a crash (even SIGKILL) leaves
 * the last committed state. The schema is versioned (PRAGMA user_version)
 * and migrated forward on open.
 *
 * Not thread-safe: use one catalog from one thread.
 */
#ifndef PHO_CATALOG_H
#define PHO_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"
#include "pho/error.h"
#include "pho/photo.h"

PHO_BEGIN_DECLS

struct pho_catalog;

/**
 * Opens (creating if needed) the catalog at @p db_path (an SQLite file, whose folder must
 * exist, or a PostgreSQL database: pho_catalog_is_url()). Caller owns *out. @return 0; PHO_EDB when
 * the file is not a usable database (the message says so and how to start over: --force-fresh) or
 * comes from a newer, unknown schema; PHO_EIO; PHO_ENOMEM.
 */
PHO_API int pho_catalog_open(struct pho_catalog **out, const char *db_path, struct pho_err *err);

/**
 * Moves an unusable catalog out of the way (what --force-fresh does when
 * pho_catalog_open() fails with PHO_EDB): @p db_path and its SQLite
 * companions (-wal, -journal) are renamed to "<db_path>.old-<UTC time>"
 * (plus the same suffixes), and the -shm index is deleted, so the next open
 * starts a new catalog and the old one stays readable for inspection. Call it
 * only while no process has the catalog open. @p moved_to may be NULL;
 * otherwise *moved_to is the new path (caller frees with pho_free()), or NULL
 * when there was nothing to move. @return 0; PHO_EIO; PHO_ENOMEM.
 */
PHO_API int pho_catalog_move_aside(const char *db_path, char **moved_to, struct pho_err *err);

/**
 * True when @p where names a PostgreSQL database (postgresql://..., postgres://..., or
 * libpq's "key=value ..." form) rather than an SQLite file; pho_catalog_open() then
 * connects to it (docs/scale-out.md).
 */
PHO_API bool pho_catalog_is_url(const char *where);

/** True for a catalog that processes on many machines may share (PostgreSQL). */
PHO_API bool pho_catalog_is_shared(const struct pho_catalog *cat);

/** The engine's name: "SQLite" or "PostgreSQL". */
PHO_API const char *pho_catalog_engine(const struct pho_catalog *cat);

/** Closes the catalog; NULL is a no-op. Pending transactions are rolled back. */
PHO_API void pho_catalog_close(struct pho_catalog *cat);

/** Starts a write transaction (batches of puts are much faster inside one). */
PHO_API int pho_catalog_begin(struct pho_catalog *cat, struct pho_err *err);

/** Commits the transaction started by pho_catalog_begin(). */
PHO_API int pho_catalog_commit(struct pho_catalog *cat, struct pho_err *err);

/**
 * Looks up photo->rel with photo->size and photo->mtime_ns. When a row with
 * that exact key exists, fills meta, hashes, quality, analysed / error
 * fields of @p photo, sets from_catalog and *found = true; otherwise leaves
 * @p photo untouched and sets *found = false.
 */
PHO_API int pho_catalog_lookup(struct pho_catalog *cat, struct pho_photo *photo, bool *found,
                               struct pho_err *err);

/** Inserts or replaces the row for photo->rel (analysis results or the error). */
PHO_API int pho_catalog_put(struct pho_catalog *cat, const struct pho_photo *photo,
                            struct pho_err *err);

/** Deletes every photo row and every cached face (what --force-fresh does before a run). */
PHO_API int pho_catalog_forget_photos(struct pho_catalog *cat, struct pho_err *err);

/** Records the start of a run with its settings (a JSON object as text). */
PHO_API int pho_catalog_run_start(struct pho_catalog *cat, const char *settings_json,
                                  int64_t *run_id, struct pho_err *err);

/** Marks a run finished. */
PHO_API int pho_catalog_run_finish(struct pho_catalog *cat, int64_t run_id, struct pho_err *err);

/**
 * The most recent run. *settings_json is caller-owned (free with pho_free()),
 * NULL when there has been no run; *finished tells whether it completed.
 */
PHO_API int pho_catalog_last_run(struct pho_catalog *cat, char **settings_json, bool *finished,
                                 struct pho_err *err);

/** The settings (JSON text) of run @p run_id; caller frees with pho_free(). PHO_ENOTFOUND
 *  when there is no such run. */
PHO_API int pho_catalog_run_settings(struct pho_catalog *cat, int64_t run_id, char **settings_json,
                                     struct pho_err *err);

struct pho_face_list;

/**
 * Records the faces found in photo @p rel (identified by its size and mtime)
 * by the face configuration @p config (backend, embedding model, settings),
 * replacing earlier ones.
 */
PHO_API int pho_catalog_faces_put(struct pho_catalog *cat, const char *rel, uint64_t size,
                                  int64_t mtime_ns, const char *config,
                                  const struct pho_face_list *faces, struct pho_err *err);

/**
 * Restores the faces of @p rel when size, mtime and config all match
 * (*found = true); the caller releases @p out with pho_face_list_release().
 * Dense landmarks are not kept.
 */
PHO_API int pho_catalog_faces_get(struct pho_catalog *cat, const char *rel, uint64_t size,
                                  int64_t mtime_ns, const char *config, struct pho_face_list *out,
                                  bool *found, struct pho_err *err);

/** Room for an output's mode name, NUL included. */
#define PHO_OUTPUT_MODE_MAX 16

/** An output file the organizer wrote: path below OUT, size, SHA-256 (hex) of its content,
 *  or for a link of the link's identity (docs/catalog.md), and how it was made. */
struct pho_output_file {
    char *rel;
    uint64_t size;
    char sha256[65];
    char mode[PHO_OUTPUT_MODE_MAX]; /**< "copy", "reflink", "hardlink", "symlink" */
};

/** Records (or updates) one output file. */
PHO_API int pho_catalog_output_put(struct pho_catalog *cat, const char *rel, uint64_t size,
                                   const char *sha256_hex, struct pho_err *err);

/** Records (or updates) one output file made in @p mode ("copy", "reflink", "hardlink",
 *  "symlink"; pho_catalog_output_put() records "copy"). */
PHO_API int pho_catalog_output_put_mode(struct pho_catalog *cat, const char *rel, uint64_t size,
                                        const char *sha256_hex, const char *mode,
                                        struct pho_err *err);

/** Forgets one output file (after it was removed). */
PHO_API int pho_catalog_output_forget(struct pho_catalog *cat, const char *rel,
                                      struct pho_err *err);

/**
 * All recorded output files, sorted by path. Caller owns *files and frees it
 * with pho_catalog_outputs_free().
 */
PHO_API int pho_catalog_output_list(struct pho_catalog *cat, struct pho_output_file **files,
                                    size_t *count, struct pho_err *err);

PHO_API void pho_catalog_outputs_free(struct pho_output_file *files, size_t count);

/** Records what the output @p rel was made from (@p recipe: a text that changes whenever
 *  its result could) and what the making found (@p details, JSON), for outputs made rather
 *  than copied (a repaired best shot). Forgotten with the output
 *  (pho_catalog_output_forget()). */
PHO_API int pho_catalog_derived_put(struct pho_catalog *cat, const char *rel, const char *recipe,
                                    const char *details, struct pho_err *err);

/** One of the user's decisions about the result (docs/decisions.md). */
struct pho_decision {
    int64_t id;
    char kind[16]; /**< "best", "pick", "move", ... (docs/decisions.md) */
    char *photo;   /**< below the source */
    char *other;   /**< "" unless the kind relates two photos */
    int64_t made_at;
};

/** Records a decision (after the ones before it). *@p id: its number (may be NULL). */
PHO_API int pho_catalog_decision_add(struct pho_catalog *cat, const char *kind, const char *photo,
                                     const char *other, int64_t *id, struct pho_err *err);

/** The decisions in force, oldest first (caller frees with pho_catalog_decisions_free()). */
PHO_API int pho_catalog_decisions(struct pho_catalog *cat, struct pho_decision **out, size_t *count,
                                  struct pho_err *err);

PHO_API void pho_catalog_decisions_free(struct pho_decision *v, size_t count);

/** Takes back the newest decision in force: *@p undone gets it (id 0: there was none;
 *  photo and other are the caller's to free with pho_free()). */
PHO_API int pho_catalog_decision_undo(struct pho_catalog *cat, struct pho_decision *undone,
                                      struct pho_err *err);

/** What pho_catalog_derived_put() recorded at @p rel: *@p found false when nothing; the
 *  strings are the caller's (pho_free). */
PHO_API int pho_catalog_derived_get(struct pho_catalog *cat, const char *rel, char **recipe,
                                    char **details, bool *found, struct pho_err *err);

/* ---- People (docs/people.md) ---- */

/** A person found with one embedding model. */
struct pho_person_row {
    int64_t id;
    char model[64];
    char *name; /**< "" when not named */
    bool hidden;
    int64_t merged_into; /**< 0, or the person the user merged it into */
};

/** A face in a person: photo @p rel's face number @p face, whose box is kept so the same
 *  face is recognised when the photo is analysed again. Also a refusal ("not @p person"). */
struct pho_person_face {
    char *rel;
    uint32_t face;
    float box[4];
    int64_t person;
    bool pinned; /**< the user put it there */
    float score; /**< detector confidence (the clearest face shows the person) */
};

/** Persons of @p model (NULL: of every model), by id. Free with pho_catalog_persons_free. */
PHO_API int pho_catalog_persons(struct pho_catalog *cat, const char *model,
                                struct pho_person_row **rows, size_t *count, struct pho_err *err);
PHO_API void pho_catalog_persons_free(struct pho_person_row *rows, size_t count);
/** A new person of @p model numbered @p id (pho_catalog_person_next_id). */
PHO_API int pho_catalog_person_new(struct pho_catalog *cat, int64_t id, const char *model,
                                   struct pho_err *err);
PHO_API int pho_catalog_person_next_id(struct pho_catalog *cat, int64_t *id, struct pho_err *err);
/** Changes a person: @p name (NULL: kept), @p hidden (-1: kept), @p merged_into (-1: kept).
 *  PHO_ENOTFOUND when there is no such person. */
PHO_API int pho_catalog_person_set(struct pho_catalog *cat, int64_t id, const char *name,
                                   int hidden, int64_t merged_into, struct pho_err *err);
/** Faces of @p model in person @p person (0: every face, those in no person too: their
 *  person is 0), by photo. Free with
 *  pho_catalog_person_faces_free. */
PHO_API int pho_catalog_person_faces(struct pho_catalog *cat, const char *model, int64_t person,
                                     struct pho_person_face **faces, size_t *count,
                                     struct pho_err *err);
/** The user's refusals of @p model. Free with pho_catalog_person_faces_free. */
PHO_API int pho_catalog_person_refusals(struct pho_catalog *cat, const char *model,
                                        struct pho_person_face **refusals, size_t *count,
                                        struct pho_err *err);
PHO_API void pho_catalog_person_faces_free(struct pho_person_face *faces, size_t count);
/** Replaces the faces photo @p rel has in persons with @p faces (@p n may be 0). */
PHO_API int pho_catalog_person_faces_replace(struct pho_catalog *cat, const char *model,
                                             const char *rel, const struct pho_person_face *faces,
                                             size_t n, struct pho_err *err);
/** Records one face in a person (the user's move: pinned). */
PHO_API int pho_catalog_person_face_put(struct pho_catalog *cat, const char *model,
                                        const struct pho_person_face *face, struct pho_err *err);
/** Every face of person @p from now in person @p into (a merge). */
PHO_API int pho_catalog_person_faces_move(struct pho_catalog *cat, int64_t from, int64_t into,
                                          struct pho_err *err);
/** Records that @p face is not @p face->person. */
PHO_API int pho_catalog_person_refuse(struct pho_catalog *cat, const char *model,
                                      const struct pho_person_face *face, struct pho_err *err);

/* ---- Jobs: work shared among processes (docs/scale-out.md) ---- */

/** A job's state. */
enum pho_job_state { PHO_JOB_QUEUED, PHO_JOB_CLAIMED, PHO_JOB_DONE, PHO_JOB_GIVEN_UP };
#define PHO_JOB_STATES 4

/** A photo a run wants worked on. */
struct pho_job {
    int64_t id;
    int64_t run;
    char kind[16]; /**< "analyse", "probe", "measure", "faces" (docs/scale-out.md) */
    char *rel;     /**< below the run's source */
    uint64_t size;
    int64_t mtime_ns;
};

/** Queues a job for run @p run (inside a transaction for many). */
PHO_API int pho_catalog_job_add(struct pho_catalog *cat, int64_t run, const char *kind,
                                const char *rel, uint64_t size, int64_t mtime_ns,
                                struct pho_err *err);
/** Claims up to @p max of the oldest queued jobs for @p worker, leased for @p lease_s
 *  seconds; never one another claimer holds. Free with pho_catalog_jobs_free(). */
PHO_API int pho_catalog_jobs_claim(struct pho_catalog *cat, const char *worker, int lease_s,
                                   size_t max, struct pho_job **jobs, size_t *count,
                                   struct pho_err *err);
PHO_API void pho_catalog_jobs_free(struct pho_job *jobs, size_t count);
/** Marks a job done (with its results, in the same transaction). */
PHO_API int pho_catalog_job_done(struct pho_catalog *cat, int64_t id, struct pho_err *err);
/** Hands a claimed job back to the queue at once (given up when claimed @p max_attempts
 *  times): a worker that cannot do it (a file it cannot see, no face model, stopping). */
PHO_API int pho_catalog_job_release(struct pho_catalog *cat, int64_t id, int max_attempts,
                                    struct pho_err *err);
/** Extends the leases of every job @p worker holds to @p lease_s seconds from now. */
PHO_API int pho_catalog_jobs_heartbeat(struct pho_catalog *cat, const char *worker, int lease_s,
                                       struct pho_err *err);
/** Queues again the jobs whose lease ran out, or gives up those claimed @p max_attempts
 *  times; *@p expired (may be NULL) counts both. */
PHO_API int pho_catalog_jobs_expire(struct pho_catalog *cat, int max_attempts, int64_t *expired,
                                    struct pho_err *err);
/** How many jobs of run @p run are in each state (indexed by enum pho_job_state). */
PHO_API int pho_catalog_jobs_count(struct pho_catalog *cat, int64_t run,
                                   int64_t counts[PHO_JOB_STATES], struct pho_err *err);
/** Forgets the jobs of run @p run. */
PHO_API int pho_catalog_jobs_forget(struct pho_catalog *cat, int64_t run, struct pho_err *err);
/** Forgets the jobs of every run before @p run. */
PHO_API int pho_catalog_jobs_forget_before(struct pho_catalog *cat, int64_t run,
                                           struct pho_err *err);

PHO_END_DECLS

#endif /* PHO_CATALOG_H */
