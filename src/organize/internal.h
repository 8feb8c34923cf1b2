/* SPDX-License-Identifier: MIT */
/* Private to src/organize: atomic file operations, the report and metadata.txt writers. */
#ifndef PHO_ORGANIZE_INTERNAL_H
#define PHO_ORGANIZE_INTERNAL_H

#include "core/common.h"

#include <limits.h>
#include <sys/types.h>

#include <jansson.h>

#include "pho/catalog.h"
#include "pho/organize.h"

/* Prefix of every temporary file: a crash can leave one; the next run removes them. */
#define PHO_TMP_PREFIX ".pho-tmp."

/* Creates @path and its parents (mode 0755). */
int pho_organize__mkdirs(const char *path, struct pho_err *err);

/* Longest name of a group member in OUT: "best_<name>" must fit NAME_MAX. */
#define PHO_OUT_NAME_MAX (NAME_MAX - 5)

/* @name, or when longer than @max bytes a shortened name that is always the
 * same for the same @name: its start (whole UTF-8 characters), "~", 8 hex
 * digits of its SHA-256 and its extension. Sets *@shortened. Caller frees;
 * NULL on OOM. */
char *pho_organize__fit_name(const char *name, size_t max, bool *shortened);

/* Joins a and b with one '/'. Caller frees. NULL on OOM. */
char *pho_organize__join(const char *a, const char *b);

struct pho_copy_info {
    uint64_t size;
    char sha256[65];
};

/* Files written to temporary names beside their targets and put in place together: one
 * syncfs for all their data, then the renames, then one fsync per folder (write.c, per
 * group). Each entry can carry what the catalog is to record once it is in place. */
struct pho_batched {
    char *tmp, *dst; /* owned; tmp NULL once renamed */
    bool placed;
    char *rel;                 /* the caller's: the output's path below OUT (owned) */
    struct pho_copy_info info; /* the caller's: what to record */
    int kind;                  /* the caller's: enum pho_link_mode it was made as */
};
struct pho_batch {
    struct pho_batched *v;
    size_t n, cap;
};

/* Puts every staged file in place (syncfs, renames, folder fsyncs); on a failed rename the
 * rest stay temporaries (entries not placed). @out_dir: any folder on OUT's filesystem. */
int pho_organize__batch_commit(struct pho_batch *stage, const char *out_dir, struct pho_err *err);
/* Removes the temporaries not placed and frees the stage. */
void pho_organize__batch_discard(struct pho_batch *stage);

/*
 * Copies @src to @dst: temporary file beside dst, data and mode copied, mtime
 * preserved (like cp -p); then with @stage staged, else fsync, rename, fsync of the
 * folder. Fills @info. Every maker below takes @stage the same way.
 */
int pho_organize__copy(const char *src, const char *dst, struct pho_copy_info *info,
                       struct pho_batch *stage, struct pho_err *err);

/* Writes @len bytes to @dst the same atomic way. Fills @info when not NULL. */
int pho_organize__write_atomic(const char *dst, const void *data, size_t len,
                               struct pho_copy_info *info, struct pho_batch *stage,
                               struct pho_err *err);

/* Writes @len bytes to @dst atomically, readable by its owner only (it may hold a secret). */
int pho_organize__write_private(const char *dst, const void *data, size_t len, struct pho_err *err);

/* Where OUT's catalog is (malloc'd; NULL when out of memory): @given (--catalog) when set,
 * else the database OUT was organized with (catalog-location), else its own SQLite file.
 * *@shared (may be NULL): it is a PostgreSQL database. */
char *pho_organize__catalog_where(const char *output, const char *given, bool *shared);

struct pho_organize_record;
/* Reads settings recorded as JSON (pho_organize_settings_json) into @rec. */
int pho_organize__record_parse(struct pho_organize_record *rec, const char *text,
                               struct pho_err *err);

/* Remembers @where as OUT's catalog (a database), or forgets it (an SQLite file). */
int pho_organize__catalog_remember(const char *output, const char *where, struct pho_err *err);

/* Makes @dst a reflink (FICLONE) of @src, atomically; PHO_EUNSUPPORTED when the filesystem
 * cannot. @info: the content's size and hash, read from the source. */
int pho_organize__reflink(const char *src, const char *dst, struct pho_copy_info *info,
                          struct pho_batch *stage, struct pho_err *err);

/* Makes @dst a hard link to @src, atomically; PHO_EUNSUPPORTED across filesystems. @info: the
 * source's size and the link's fingerprint (pho_organize__fingerprint). */
int pho_organize__hardlink(const char *src, const char *dst, struct pho_copy_info *info,
                           struct pho_batch *stage, struct pho_err *err);

/* pho_organize__symlink() that also fills @info with the link's fingerprint. */
int pho_organize__symlink_to(const char *target, const char *dst, struct pho_copy_info *info,
                             struct pho_batch *stage, struct pho_err *err);

/* What the catalog keeps of an output made as @kind (enum pho_link_mode): the content's
 * SHA-256 for a copy or reflink; for a hard link the SHA-256 of "hardlink:<dev>:<ino>" (the
 * file's identity, so the user's replacement or an unrelated file never matches); for a
 * symbolic link that of "symlink:<target>". Never opens a link for writing. */
int pho_organize__fingerprint(const char *path, int kind, char out[65], uint64_t *size,
                              struct pho_err *err);

/* Points @link at @target (relative), replacing any previous link atomically. */
int pho_organize__symlink(const char *target, const char *link, struct pho_err *err);

/* SHA-256 of a file as hex; 0 or a PHO_E* code. */
int pho_organize__sha256_file(const char *path, char out[65], uint64_t *size, struct pho_err *err);

/* Lists a user's file kept in OUT and where this run's version went (organize.c). */
void pho_organize__kept(struct pho_organize_result *r, const char *path, const char *ours);

/* Lists a sidecar that was not written, and why (organize.c). */
void pho_organize__sidecar_issue(struct pho_organize_result *r, const char *path, bool in_output,
                                 const char *why);

/* What a sidecar says of one photo (sidecar.c). */
struct pho_organize__decision {
    const char *group;  /* "group_0007" */
    const char *role;   /* "best", "member" or "edit" */
    const char *best;   /* the best shot's file name in the group */
    const char *reason; /* why it was chosen */
    size_t group_size;
    int rating;
    enum pho_xmp_label label; /* NONE: none of ours */
};

/* The decision for member @m of @g, as @x asks. */
void pho_organize__decision(struct pho_organize__decision *d, const struct pho_organize_result *r,
                            const struct pho_group_plan *g, size_t m, const struct pho_xmp_opts *x);

/* How a merge went: flags. */
enum {
    PHO_SIDECAR_MERGED = 1 << 0,       /* there was XMP of someone else's to keep */
    PHO_SIDECAR_NEEDS_BACKUP = 1 << 1, /* first time ours goes into it: keep its content */
    PHO_SIDECAR_KEPT_RATING = 1 << 2,  /* the user's rating differs from ours: theirs stays */
    PHO_SIDECAR_KEPT_LABEL = 1 << 3,
};

/* The sidecar @old (@old_len bytes; 0: none yet) with @d merged in: xmp:Rating, xmp:Label,
 * dc:subject and lr:hierarchicalSubject keywords, the phorg: fields; everything else kept.
 * @d NULL takes ours out. *@out (caller frees with pho_free) and *@flags. PHO_ECORRUPT when
 * @old is not XMP. */
int pho_organize__sidecar_merge(char **out, size_t *out_len, unsigned *flags, const char *old,
                                size_t old_len, const struct pho_organize__decision *d,
                                struct pho_err *err);

/* The sidecar name of a file called @name ("IMG_1.CR2" -> "IMG_1.xmp" or "IMG_1.CR2.xmp"),
 * or NULL on OOM. */
char *pho_organize__sidecar_name(const char *name, enum pho_xmp_style style);

/* Where the first content of a sidecar photo-organizer merged into is kept. */
#define PHO_SIDECAR_BACKUP_SUFFIX ".photo-organizer-backup"

/* Takes the exclusive lock of @out_dir for this run (lock.c): PHO_EBUSY when
 * another run holds it, unless @wait, which waits for it (PHO_EINTR when a
 * signal ends the wait). Release with pho_organize__unlock(*@fd). */
int pho_organize__lock(int *fd, const char *out_dir, bool wait, struct pho_err *err);
void pho_organize__unlock(int fd);

/* Opens @output's catalog for a command that reads or changes the user's decisions (people,
 * decisions), under OUT's lock when @lock (PHO_EBUSY while a run holds it). No catalog:
 * PHO_ENOTFOUND, "<who>: OUT has no catalog; <hint>". On failure nothing is held. */
int pho_organize__open_catalog(struct pho_catalog **cat, int *lock_fd, const char *output,
                               bool lock, const char *who, const char *hint, struct pho_err *err);

/* Removes temporary files a crashed run left under @dir (one level of group folders deep). */
void pho_organize__sweep_temps(const char *dir);

/* How faces of one person are recognised across takes: the face engine's
 * metric and same-person distance (PHO_FACE_METRIC_NONE: by position only). */
struct pho_organize__identity {
    enum pho_face_metric metric;
    float same;
    /* Persons, when the people stage ran (people.c): each photo's faces' persons (0: none;
     * NULL: not known) and the persons by id, for their names. */
    int64_t *const *persons;
    const struct pho_person_summary *people;
    size_t npeople;
};

/* What the relative judgement (blink.c) says about one take of a group. */
struct pho_organize__take_eyes {
    int blinks;     /* faces open by the absolute judgement but closing against the
                       same person's eyes in the other takes */
    float openness; /* the take's least-open face, as a share of its own widest (1: none lower) */
};

/* Judges each take's eyes against the same people's eyes in the group's other
 * takes; @out is parallel to g->members. */
void pho_organize__relative_eyes(const struct pho_group_plan *g, const struct pho_face_list *faces,
                                 const struct pho_organize__identity *id,
                                 struct pho_organize__take_eyes *out);

/* Sets g->best and g->why from the photos' quality and (when analysed) their faces
 * (@faces parallel to @photos, or NULL; @id may be NULL). See best.c. */
void pho_organize__choose_best(struct pho_group_plan *g, const struct pho_photo *photos,
                               const struct pho_face_list *faces,
                               const struct pho_organize__identity *id);

/* metadata.txt of one group, as text. Caller frees. */
char *pho_organize__metadata_txt(const struct pho_organize_result *r,
                                 const struct pho_group_plan *g);

/* A group's face swap as the report gives it (report.c): also what the catalog keeps of a
 * repair (swap.c). */
json_t *pho_organize__swap_json(const struct pho_organize_result *r,
                                const struct pho_group_plan *g);

/* The report's "settings" object (settings.c). */
json_t *pho_organize__settings_report(const struct pho_organize_opts *o);

/* The JSON report of a run, as text. Caller frees. */
char *pho_organize__report_json(const struct pho_organize_result *r,
                                const struct pho_organize_opts *o, const char *generated_at);

#endif /* PHO_ORGANIZE_INTERNAL_H */
