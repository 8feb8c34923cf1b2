/* SPDX-License-Identifier: MIT */
/**
 * @file
 * People: the faces of a whole library clustered into persons (docs/people.md).
 *
 * Clustering works on identity embeddings of one model at a time (embeddings
 * of different models never compare). It is incremental: faces that already
 * belong to a person keep it; new faces join a person through their nearest
 * neighbours; only faces left over are clustered, and a new person needs
 * several mutually close faces that pass the quality gate. The user's
 * decisions (a face moved to a person, "not this person") are constraints it
 * never undoes.
 */
#ifndef PHO_PEOPLE_H
#define PHO_PEOPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/catalog.h"
#include "pho/common.h"
#include "pho/error.h"
#include "pho/face.h"

PHO_BEGIN_DECLS

/** One face, as clustering sees it. */
struct pho_people_face {
    const float *embed; /**< the model's dimension of floats */
    /** Which photo it is in: two faces of one photo are never one person. */
    uint64_t photo;
    bool eligible;              /**< passes the quality gate: may found a person */
    int64_t person;             /**< its person before this run, 0 when none */
    bool pinned;                /**< the user put it there: kept whatever its neighbours say */
    const int64_t *not_persons; /**< persons the user said it is not */
    size_t nnot;
};

struct pho_people_opts {
    size_t dim;
    enum pho_face_metric metric; /**< cosine (unit vectors) or Euclidean */
    float same;                  /**< the model's same-person distance */
    size_t min_faces;            /**< faces that found a person (default 2) */
    size_t k;                    /**< neighbours looked at per face (default 10) */
    unsigned threads;            /**< 0: one */
};

#define PHO_PEOPLE_OPTS_INIT                  \
    {                                         \
        .min_faces = 2, .k = 10, .threads = 1 \
    }

/**
 * Assigns each of the @p n faces a person in @p out: the one it had, one of its
 * neighbours' (never one it is "not"), a new one numbered from @p next_id up, or 0 (no
 * person: alone, or not good enough to found one). *@p created: how many new persons.
 * @return 0, PHO_ENOMEM or PHO_EINVAL.
 */
PHO_API int pho_people_cluster(int64_t *out, size_t *created, const struct pho_people_face *faces,
                               size_t n, const struct pho_people_opts *o, int64_t next_id,
                               struct pho_err *err);

/** The quality gate: whether @p f (found in an image @p image_w wide, @p image_h high) is
 *  clear enough to found a person: a confident detection, at least 40 pixels across, not
 *  turned far from the camera, with an embedding. */
PHO_API bool pho_people_eligible(const struct pho_face *f, uint32_t image_w, uint32_t image_h);

/* ---- An output folder's people, to read and change (the `people` command) ---- */

struct pho_people_book;

/** A person as `people list` shows it. */
struct pho_person_info {
    int64_t id;
    char *name; /**< "" when not named */
    bool hidden;
    size_t faces, photos;
    char *sample; /**< the photo (below SOURCE) that shows the person best */
};

/**
 * Opens the people of output folder @p output: of the embedding model the
 * last run found persons with. With @p change, takes the folder's lock
 * (PHO_EBUSY while a run organizes into it). PHO_ENOTFOUND when no run has
 * found people there (`organize --faces all`).
 */
PHO_API int pho_people_open(struct pho_people_book **out, const char *output, bool change,
                            struct pho_err *err);
PHO_API void pho_people_close(struct pho_people_book *book);
/** The embedding model the persons belong to ("mobilefacenet-192"). */
PHO_API const char *pho_people_model(const struct pho_people_book *book);

/** Every person with a face (hidden ones too), by id. Free with pho_people_infos_free. */
PHO_API int pho_people_list(struct pho_person_info **out, size_t *count,
                            struct pho_people_book *book, struct pho_err *err);
PHO_API void pho_people_infos_free(struct pho_person_info *v, size_t count);
/** One person (PHO_ENOTFOUND: none with that id; a merged one answers as the person it was
 *  merged into). */
PHO_API int pho_people_get(struct pho_person_info *out, struct pho_people_book *book, int64_t id,
                           struct pho_err *err);
/** The faces of person @p id, by photo. Free with pho_catalog_person_faces_free. */
PHO_API int pho_people_faces(struct pho_person_face **out, size_t *count,
                             struct pho_people_book *book, int64_t id, struct pho_err *err);

/** Names a person (any UTF-8; "" takes the name away). */
PHO_API int pho_people_name(struct pho_people_book *book, int64_t id, const char *name,
                            struct pho_err *err);
/** Hides a person from lists and people folders, or shows it again. */
PHO_API int pho_people_hide(struct pho_people_book *book, int64_t id, bool hidden,
                            struct pho_err *err);
/** Person @p from becomes part of @p into: its faces, and what is said of it later. */
PHO_API int pho_people_merge(struct pho_people_book *book, int64_t into, int64_t from,
                             struct pho_err *err);
/** Face number @p face of photo @p rel belongs to person @p id, whatever clustering says. */
PHO_API int pho_people_move(struct pho_people_book *book, const char *rel, uint32_t face,
                            int64_t id, struct pho_err *err);
/** Face number @p face of photo @p rel is not person @p id: it leaves it and never joins it
 *  again. */
PHO_API int pho_people_refuse(struct pho_people_book *book, const char *rel, uint32_t face,
                              int64_t id, struct pho_err *err);

PHO_END_DECLS

#endif
