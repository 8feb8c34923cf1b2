/* SPDX-License-Identifier: MIT */
/**
 * @file photo.h
 * What the organizer knows about one photo: where it is, what its metadata
 * says, its hashes and quality, or why it could not be read. The catalog
 * stores and restores these records; reports and output are written from
 * them.
 */
#ifndef PHO_PHOTO_H
#define PHO_PHOTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"
#include "pho/error.h"
#include "pho/exif.h"
#include "pho/hash.h"
#include "pho/quality.h"

PHO_BEGIN_DECLS

/** Room for a photo's error message: a photo's problem is one line, and a
 *  library of 100k photos keeps them all in memory. */
#define PHO_PHOTO_ERR_MAX 256

/** A photo's flag from the user's decisions. */
enum pho_user_flag {
    PHO_FLAG_NONE = 0,
    PHO_FLAG_PICK,   /**< a keeper */
    PHO_FLAG_REJECT, /**< not wanted: never the best shot unless the user says so */
};

struct pho_photo {
    char *path; /**< as scanned (source root joined with rel); owned */
    char *rel;  /**< path below the source root: the catalog key; owned */
    uint64_t size;
    int64_t mtime_ns; /**< file modification time, nanoseconds since the Unix epoch */

    struct pho_meta meta;
    uint64_t dhash, phash;
    struct pho_hash_sig sig; /**< crop hashes and thumbnail (the auto grouping rule) */
    struct pho_quality quality;
    bool analysed; /**< meta and hashes are valid; quality too unless its score is NaN */
    /** The hashes and signature are of the photo's EXIF thumbnail (the auto rule's fast path,
     *  pho_image_opts.thumbnail_ok), not of its decoded pixels. Its quality is then NaN until a
     *  group needs it. */
    bool hashed_from_thumbnail;
    bool from_catalog; /**< restored from the catalog, not recomputed this run */
    /** Only its metadata was read (the RAW of a RAW+rendition shot): no hashes, no quality. */
    bool probed;

    /* Shots (docs/shots.md); indices are into the organizer's result.photos. */
    /** SIZE_MAX when this file is its shot's main file (the one analysed, grouped and
     *  ranked), else the index of that main file: this file goes wherever it goes. */
    size_t part_of;
    uint8_t shot_role; /**< enum pho_shot_role */
    /** The photo (a shot's main file) this one is an edit or copy of, SIZE_MAX when none;
     *  the two always share a group. */
    size_t edit_of;
    uint8_t edit_kind; /**< enum pho_edit_kind */
    /** The user's pick or reject (enum pho_user_flag; docs/decisions.md), set from the
     *  catalog's decisions by every run, never stored with the photo. */
    uint8_t user_flag;

    int error; /**< 0, or the PHO_E* status of the step that failed */
    char error_msg[PHO_PHOTO_ERR_MAX];
};

/** Zeroes @p p (no allocation). */
PHO_API void pho_photo_init(struct pho_photo *p);

/** Frees the strings @p p owns and zeroes it; NULL is a no-op. */
PHO_API void pho_photo_release(struct pho_photo *p);

PHO_END_DECLS

#endif /* PHO_PHOTO_H */
