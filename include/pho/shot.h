/* SPDX-License-Identifier: MIT */
/**
 * @file shot.h
 * Shots, not files: the files of one capture in one folder belong together.
 * A RAW and the camera's JPEG/HEIC rendition of it are one shot; a Live
 * Photo's still and its video are one shot; sidecars (.xmp in Lightroom's and
 * darktable's naming, .AAE, .THM, Google Takeout's .json in all its forms)
 * travel with the photo they describe; iOS "IMG_E" edits, "-edited" files and
 * "(1)" duplicates are photos of their own that know their original.
 * docs/shots.md states each rule.
 *
 * Everything here is decided from names alone (case-insensitive, within one
 * folder); the organizer confirms a RAW+rendition pair by capture time.
 *
 *     struct pho_shot_map *m = NULL;
 *     if (pho_shot_assemble(&m, list, &err) == 0) {
 *         ... m->part_of[i], m->owner[j] ...
 *         pho_shot_map_free(m);
 *     }
 */
#ifndef PHO_SHOT_H
#define PHO_SHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"
#include "pho/error.h"
#include "pho/scan.h"

PHO_BEGIN_DECLS

/** What a photo file is within its shot. */
enum pho_shot_role {
    PHO_SHOT_MAIN = 0, /**< the file that is analysed: a photo on its own, or a shot's rendition */
    PHO_SHOT_RAW, /**< the RAW of a RAW+rendition shot (its metadata is read, not its pixels) */
    PHO_SHOT_RENDITION2, /**< a further rendition of the same stem (a JPEG beside a HEIC) */
};

/** What a companion file is. */
enum pho_companion_kind {
    PHO_COMPANION_NONE = 0,
    PHO_COMPANION_XMP,      /**< name.xmp: Lightroom, Capture One (the whole shot's) */
    PHO_COMPANION_XMP_FULL, /**< name.ext.xmp: darktable, digiKam (one file's) */
    PHO_COMPANION_AAE,      /**< iOS edit instructions (name.AAE, name_O.AAE) */
    PHO_COMPANION_THM,      /**< a camera's thumbnail */
    PHO_COMPANION_TAKEOUT,  /**< Google Takeout metadata: name.ext.json and its variants */
    PHO_COMPANION_VIDEO,    /**< a Live Photo's motion (name.MOV / name.MP4) */
};

/** How a photo is an edit of another. */
enum pho_edit_kind {
    PHO_EDIT_NONE = 0,
    PHO_EDIT_IOS,       /**< IMG_E1234.JPG of IMG_1234 (the Photos app's edit) */
    PHO_EDIT_EDITED,    /**< name-edited.jpg of name.jpg (Google Photos) */
    PHO_EDIT_DUPLICATE, /**< name(1).jpg or "name (1).jpg" of name.jpg (a second copy) */
};

/** The shots of one scan, parallel to its items and others. */
struct pho_shot_map {
    /** Per item: SIZE_MAX when it is its shot's main file, else the main file's item index. */
    size_t *part_of;
    uint8_t *role; /**< per item: enum pho_shot_role */
    /** Per item: the item (a shot's main file) it is an edit or copy of, SIZE_MAX when none. */
    size_t *edit_of;
    uint8_t *edit_kind; /**< per item: enum pho_edit_kind */
    /** Per other: the item it travels with, SIZE_MAX when it belongs to no photo. */
    size_t *owner;
    uint8_t *kind; /**< per other: enum pho_companion_kind */
    size_t nitems, nothers;
};

/**
 * Assembles the shots of @p list (from pho_scan_run()). Caller frees *out.
 * @return 0 or PHO_ENOMEM.
 */
PHO_API int pho_shot_assemble(struct pho_shot_map **out, const struct pho_scan_list *list,
                              struct pho_err *err);

/** Frees a map; NULL is a no-op. */
PHO_API void pho_shot_map_free(struct pho_shot_map *map);

/**
 * Whether the file named @p name is a companion of the photo named @p photo
 * in the same folder, and which kind (PHO_COMPANION_NONE when not). The
 * stem-wide kinds (name.xmp, .AAE, .THM, video) match any photo of that stem.
 * Names are base names.
 */
PHO_API enum pho_companion_kind pho_shot_companion_kind(const char *photo, const char *name);

/**
 * The Google Takeout JSON beside the photo at @p photo_path, in any of the forms
 * pho_shot_assemble() knows (the folder is listed only for names Takeout may have
 * shortened). *@p out: its path (caller frees with pho_free()).
 * @return 0, PHO_ENOTFOUND when there is none, PHO_ENOMEM.
 */
PHO_API int pho_shot_find_takeout(char **out, const char *photo_path);

/**
 * Apple's content identifier of a Live Photo's video (QuickTime metadata
 * com.apple.quicktime.content.identifier), "" when it has none. A still's is
 * pho_meta.content_id; when both carry one and they differ, the two are not
 * one Live Photo.
 * @return 0, PHO_ENOTFOUND, or PHO_ECORRUPT when the file is not a video
 * libavformat can read.
 */
PHO_API int pho_shot_video_content_id(char *out, size_t size, const char *path,
                                      struct pho_err *err);

/** Short names: "raw", "xmp", "takeout", "ios-edit", ... */
PHO_API const char *pho_shot_role_name(enum pho_shot_role role);
PHO_API const char *pho_companion_kind_name(enum pho_companion_kind kind);
PHO_API const char *pho_edit_kind_name(enum pho_edit_kind kind);

/** Whether files of format @p format (enum pho_format) can be the rendition of a RAW:
 *  JPEG and HEIF, what cameras and phones write beside their RAW. */
PHO_API bool pho_shot_is_rendition(int format);

PHO_END_DECLS

#endif /* PHO_SHOT_H */
