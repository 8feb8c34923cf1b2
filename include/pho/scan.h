/* SPDX-License-Identifier: MIT */
/**
 * @file scan.h
 * Find the photos under a folder: recursive, in a deterministic (sorted)
 * order, skipping the output folder, hidden entries and symlink loops.
 * Unreadable entries are recorded as problems, never fatal.
 *
 *     struct pho_scan_list *list = NULL;
 *     struct pho_scan_opts o = PHO_SCAN_OPTS_INIT;
 *     if (pho_scan_run(&list, "/photos", &o, &err) == 0) {
 *         for (size_t i = 0; i < list->count; i++) puts(list->items[i].path);
 *         pho_scan_list_free(list);
 *     }
 */
#ifndef PHO_SCAN_H
#define PHO_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"
#include "pho/error.h"

PHO_BEGIN_DECLS

struct pho_scan_opts {
    int version;
    /** Directory never descended into (the output folder when it lies inside the source). */
    const char *exclude_dir;
    /** Stop after this many photos (0 = no limit). */
    size_t limit;
    /** Also visit names starting with '.' and NAS thumbnail folders (@eaDir). */
    bool include_hidden;
    /** Follow symbolic links to directories (each directory is still visited once). */
    bool follow_symlinks;
};

#define PHO_SCAN_OPTS_INIT      \
    {                           \
        1, NULL, 0, false, true \
    }

struct pho_scan_item {
    char *path;      /**< root-joined path, as given root + '/' + relative path */
    const char *rel; /**< points into path: the part below the root */
    uint64_t size;
    int64_t mtime;
    int32_t mtime_nsec;
    int format_hint; /**< enum pho_format from the suffix or the sniffed bytes */
};

struct pho_scan_problem {
    char *path;
    int code;
    char msg[160];
};

struct pho_scan_list {
    struct pho_scan_item *items;
    size_t count;
    struct pho_scan_problem *problems;
    size_t nproblems;
    size_t skipped; /**< non-photo files seen and ignored */
    /** Files that are not photos but may travel with one (sidecars: .xmp, .aae, .thm,
     *  .json; a Live Photo's .mov/.mp4), same order rules as items; format_hint is
     *  PHO_FORMAT_UNKNOWN. pho_shot_assemble() tells which belong to a photo. */
    struct pho_scan_item *others;
    size_t nothers;
};

/**
 * Scans @p root (a directory, or a single file). Caller owns *out and frees it
 * with pho_scan_list_free(). Items come in a stable order: entries of each
 * directory sorted bytewise by name, depth first.
 * @return 0 (problems with individual entries are listed, not returned);
 *         PHO_ENOTFOUND / PHO_EIO when @p root itself cannot be read; PHO_ENOMEM.
 */
PHO_API int pho_scan_run(struct pho_scan_list **out, const char *root,
                         const struct pho_scan_opts *opts, struct pho_err *err);

/** Frees a scan result; NULL is a no-op. */
PHO_API void pho_scan_list_free(struct pho_scan_list *list);

PHO_END_DECLS

#endif /* PHO_SCAN_H */
