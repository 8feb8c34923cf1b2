/* SPDX-License-Identifier: MIT */
/**
 * @file group.h
 * Near-duplicate and burst grouping.
 *
 * Two rules. **Auto** (the program's default; docs/grouping.md gives every
 * constant with its evidence): photos are candidates when one of their
 * hashes (dHash, pHash, or the hash of a centre crop against the other's
 * full frame) is within a few bits, or within more bits when both were taken
 * close in time, or when both lack a capture time; or when the same camera
 * took them seconds apart. A candidate pair is linked only when the
 * correlation of their thumbnails confirms it, so time only ever adds links
 * and a looser search never costs precision.
 *
 * **Classic** (the original tool's rule, what its flags mean): two photos
 * are linked when the Hamming distance of their hashes is at most
 * `threshold` and, when the time window is on and both have a capture time,
 * their capture times are at most `time_window` seconds apart. Groups are the
 * connected components of that graph (the original Python tool compared each
 * photo only with the first photo of a group), with a guard that keeps long
 * chains of slowly changing shots from merging into one huge group; groups
 * smaller than `min_group_size` are dropped (their photos stay ungrouped).
 *
 * The result depends only on the items and options, never on thread count or
 * timing. Cost is sub-quadratic: a time-sorted sweep when the window is on,
 * multi-index hashing otherwise.
 */
#ifndef PHO_GROUP_H
#define PHO_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"
#include "pho/error.h"
#include "pho/hash.h"

PHO_BEGIN_DECLS

struct pho_group_item {
    /** The classic rule's hash (dHash or pHash, as chosen). */
    uint64_t hash;
    /** Capture time in seconds (any fixed epoch; the camera's wall clock). */
    double time;
    /** False when the photo has no trustworthy capture time (the window then ignores it). */
    bool has_time;
    /** Auto rule: both full-frame hashes. */
    uint64_t dhash, phash;
    /** Auto rule: crop hashes and thumbnail (required; borrowed for the call). */
    const struct pho_hash_sig *sig;
    /** Auto rule: which camera model took it (make and model), 0 when unknown. */
    uint32_t camera;
    /** Auto rule: which body of that model (its serial number), 0 when unknown. Two photos
     *  are from one camera when their models match and their bodies do not differ. */
    uint32_t body;
};

/** Which link rule groups the photos. */
enum pho_group_rule {
    PHO_GROUP_RULE_CLASSIC = 0, /**< one hash, threshold, time window (the original's flags) */
    PHO_GROUP_RULE_AUTO = 1,    /**< verified hash variants, time and camera (the default) */
};

struct pho_group_opts {
    int version;
    /** Maximum Hamming distance, 0..64 (default 5). */
    int threshold;
    /** Maximum time gap in seconds between linked photos; 0 = visual only (default 300). */
    double time_window;
    /** Smallest group kept (default 3, never below 2). */
    size_t min_group_size;
    /** Worker threads for candidate search (0 = all CPUs). Results do not depend on it. */
    unsigned threads;
    /** The link rule; threshold and time_window apply to the classic rule only. */
    enum pho_group_rule rule;
};

#define PHO_GROUP_OPTS_INIT                       \
    {                                             \
        1, 5, 300.0, 3, 0, PHO_GROUP_RULE_CLASSIC \
    }

/** Whether one camera took both: same model, and not two different known bodies. */
PHO_API bool pho_group_same_camera(const struct pho_group_item *a, const struct pho_group_item *b);

/** Why the auto rule linked two photos (or would have). */
enum pho_group_reason {
    PHO_GROUP_NOT_LINKED = 0,
    PHO_GROUP_COPY,    /**< near-identical hashes (any time), verified */
    PHO_GROUP_BURST,   /**< taken close in time, hashes within the burst allowance, verified */
    PHO_GROUP_UNDATED, /**< neither has a capture time, hashes within the burst allowance, verified
                        */
    PHO_GROUP_SAME_CAMERA, /**< same camera seconds apart, verified */
    PHO_GROUP_TURNED,      /**< a mirrored or 90-degree-turned copy (any time), verified */
    /** An edit or copy of the other by its name (IMG_E1234, -edited, (1)): the organizer
     *  keeps it with its original whatever the pictures say (docs/shots.md). */
    PHO_GROUP_EDIT,
    /** Put in this group by the user (a move or merge decision, docs/decisions.md). */
    PHO_GROUP_USER,
};

/** One link: how a photo joined its group, or how two photos compare. */
struct pho_group_why {
    /** The item it was linked to; SIZE_MAX for the first member of a group. */
    size_t via;
    enum pho_group_reason reason;
    /** Smallest distance over dHash, pHash and crop-against-frame hashes (0..64). */
    int bits;
    /** Bits the rule allowed for this pair (depends on the time gap), 0 when none. */
    int allowed_bits;
    /** Thumbnail correlation, -1..1 (NAN when not computed). */
    float score;
    /** Correlation the rule asked for (NAN when not a candidate). */
    float needed_score;
    /** Colour histogram intersection, 0..1 (NAN when not computed). */
    float colour;
    /** Capture time difference in seconds, NAN when either lacks a time. */
    double gap;
    /** Both taken by the same known camera. */
    bool same_camera;
};

/**
 * Groups, in a canonical order. Group g has members
 * members[offsets[g]] .. members[offsets[g+1]-1] (indices into the item
 * array), sorted by capture time, ties by index; groups are sorted by their
 * first member's time, ties by that member's index.
 */
struct pho_groups {
    size_t count;
    size_t *offsets; /**< count + 1 entries */
    size_t *members;
    /** Auto rule: why each member is in its group, parallel to members (NULL otherwise). */
    struct pho_group_why *why;
    /** Statistics for reports and benchmarks. */
    size_t pairs_compared;
    size_t links;
    size_t chains_split; /**< components the chain guard divided */
};

/**
 * Groups @p n items. Caller owns *out (free with pho_groups_free()).
 * @return 0, PHO_EINVAL for bad options, PHO_ENOMEM.
 */
PHO_API int pho_group_run(struct pho_groups **out, const struct pho_group_item *items, size_t n,
                          const struct pho_group_opts *opts, struct pho_err *err);

/**
 * How the auto rule judges the pair (@p a, @p b) on its own (other photos
 * can still join them through a chain of links): fills @p out with the
 * signals and the reason, PHO_GROUP_NOT_LINKED when they are not linked.
 */
PHO_API void pho_group_explain(struct pho_group_why *out, const struct pho_group_item *a,
                               const struct pho_group_item *b);

/**
 * One line for people: "burst: 12 of 16 hash bits, pictures alike 0.81
 * (needs 0.60), 3.0 s apart" (@p w from pho_group_explain() or a group's why).
 * @return @p buf.
 */
PHO_API char *pho_group_why_format(char *buf, size_t size, const struct pho_group_why *w);

/** A short name of @p reason ("copy", "burst", ...). */
PHO_API const char *pho_group_reason_name(enum pho_group_reason reason);

/** Frees a grouping; NULL is a no-op. */
PHO_API void pho_groups_free(struct pho_groups *groups);

PHO_END_DECLS

#endif /* PHO_GROUP_H */
