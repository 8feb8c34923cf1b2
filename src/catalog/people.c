/* SPDX-License-Identifier: MIT */
/*
 * People in the catalog (docs/people.md): persons per embedding model, the
 * faces in them, and the user's refusals. What these rows mean is decided in
 * src/organize/people.c; this file only keeps them.
 */
#include "core/common.h"

#include <string.h>

#include "catalog/internal.h"
#include "catalog/schema.h"
#include "pho/catalog.h"

/* Grows @v (elements of @size) to hold @n + 1. */
static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 64;
    void *p = pho_reallocarray(*v, c, size);
    if (!p)
        return false;
    *v = p;
    *cap = c;
    return true;
}

int pho_catalog_persons(struct pho_catalog *cat, const char *model, struct pho_person_row **rows,
                        size_t *count, struct pho_err *err)
{
    *rows = NULL;
    *count = 0;
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_PERSONS_LIST, &s, err);
    if (rc < 0)
        return rc;
    if (model)
        pho_catalog__bind_text(s, 1, model, strlen(model));
    else
        pho_catalog__bind_null(s, 1);
    size_t cap = 0;
    bool row = false;
    while ((rc = pho_catalog__step(s, &row, err, "cannot read the persons")) == 0 && row) {
        if (!grow((void **)rows, &cap, *count, sizeof(**rows))) {
            rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
            break;
        }
        struct pho_person_row *r = &(*rows)[*count];
        memset(r, 0, sizeof(*r));
        r->id = pho_catalog__col_int(s, 0);
        pho_catalog__text_into(s, 1, r->model, sizeof(r->model));
        r->hidden = pho_catalog__col_int(s, 3) != 0;
        r->merged_into = pho_catalog__col_int(s, 4);
        if (!(r->name = pho_catalog__text(s, 2))) {
            rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
            break;
        }
        (*count)++;
    }
    pho_catalog__reset(s);
    if (rc) {
        pho_catalog_persons_free(*rows, *count);
        *rows = NULL;
        *count = 0;
    }
    return rc;
}

void pho_catalog_persons_free(struct pho_person_row *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++)
        pho_free(rows[i].name);
    pho_free(rows);
}

int pho_catalog_person_new(struct pho_catalog *cat, int64_t id, const char *model,
                           struct pho_err *err)
{
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_PERSON_NEW, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_int(s, 1, id);
    pho_catalog__bind_text(s, 2, model, strlen(model));
    return pho_catalog__run(s, err, "cannot record a person");
}

int pho_catalog_person_next_id(struct pho_catalog *cat, int64_t *id, struct pho_err *err)
{
    *id = 1;
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_PERSON_NEXT_ID, &s, err);
    if (rc < 0)
        return rc;
    bool row = false;
    rc = pho_catalog__step(s, &row, err, "cannot number a person");
    if (row)
        *id = pho_catalog__col_int(s, 0);
    pho_catalog__reset(s);
    return rc;
}

int pho_catalog_person_set(struct pho_catalog *cat, int64_t id, const char *name, int hidden,
                           int64_t merged_into, struct pho_err *err)
{
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_PERSON_SET, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_int(s, 1, id);
    if (name)
        pho_catalog__bind_text(s, 2, name, strlen(name));
    else
        pho_catalog__bind_null(s, 2);
    if (hidden >= 0)
        pho_catalog__bind_int(s, 3, hidden != 0);
    else
        pho_catalog__bind_null(s, 3);
    if (merged_into >= 0)
        pho_catalog__bind_int(s, 4, merged_into);
    else
        pho_catalog__bind_null(s, 4);
    rc = pho_catalog__run(s, err, "cannot change a person");
    if (rc == 0 && pho_catalog__changes(s) == 0)
        rc = pho_err_set(err, PHO_ENOTFOUND, "people: there is no person %lld", (long long)id);
    return rc;
}

/* Rows of a faces or refusals listing; @faces_table: with the faces' pinned and score. */
static int read_faces(struct cat_stmt *s, bool faces_table, struct pho_person_face **out,
                      size_t *count, struct pho_err *err)
{
    size_t cap = 0;
    int rc;
    bool row = false;
    while ((rc = pho_catalog__step(s, &row, err, "cannot read the faces of persons")) == 0 && row) {
        if (!grow((void **)out, &cap, *count, sizeof(**out))) {
            rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
            break;
        }
        struct pho_person_face *f = &(*out)[*count];
        memset(f, 0, sizeof(*f));
        f->face = (uint32_t)pho_catalog__col_int(s, 1);
        for (int i = 0; i < 4; i++)
            f->box[i] = (float)pho_catalog__col_real(s, 2 + i);
        f->person = pho_catalog__col_int(s, 6);
        if (faces_table) {
            f->pinned = pho_catalog__col_int(s, 7) != 0;
            f->score = (float)pho_catalog__col_real(s, 8);
        }
        if (!(f->rel = pho_catalog__text(s, 0))) {
            rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
            break;
        }
        (*count)++;
    }
    pho_catalog__reset(s);
    if (rc) {
        pho_catalog_person_faces_free(*out, *count);
        *out = NULL;
        *count = 0;
    }
    return rc;
}

int pho_catalog_person_faces(struct pho_catalog *cat, const char *model, int64_t person,
                             struct pho_person_face **faces, size_t *count, struct pho_err *err)
{
    *faces = NULL;
    *count = 0;
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_PERSON_FACES_LIST, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_text(s, 1, model, strlen(model));
    pho_catalog__bind_int(s, 2, person);
    return read_faces(s, true, faces, count, err);
}

int pho_catalog_person_refusals(struct pho_catalog *cat, const char *model,
                                struct pho_person_face **refusals, size_t *count,
                                struct pho_err *err)
{
    *refusals = NULL;
    *count = 0;
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_PERSON_REFUSALS_LIST, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_text(s, 1, model, strlen(model));
    return read_faces(s, false, refusals, count, err);
}

void pho_catalog_person_faces_free(struct pho_person_face *faces, size_t count)
{
    for (size_t i = 0; faces && i < count; i++)
        pho_free(faces[i].rel);
    pho_free(faces);
}

/* Binds model, rel, face and box as parameters 1..7. */
static void bind_face(struct cat_stmt *s, const char *model, const struct pho_person_face *f)
{
    pho_catalog__bind_text(s, 1, model, strlen(model));
    pho_catalog__bind_text(s, 2, f->rel, strlen(f->rel));
    pho_catalog__bind_int(s, 3, f->face);
    for (int i = 0; i < 4; i++)
        pho_catalog__bind_real(s, 4 + i, f->box[i]);
}

int pho_catalog_person_face_put(struct pho_catalog *cat, const char *model,
                                const struct pho_person_face *face, struct pho_err *err)
{
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_PERSON_FACE_PUT, &s, err);
    if (rc < 0)
        return rc;
    bind_face(s, model, face);
    pho_catalog__bind_int(s, 8, face->person);
    pho_catalog__bind_int(s, 9, face->pinned);
    pho_catalog__bind_real(s, 10, face->score);
    return pho_catalog__run(s, err, "cannot record a face of a person");
}

int pho_catalog_person_faces_replace(struct pho_catalog *cat, const char *model, const char *rel,
                                     const struct pho_person_face *faces, size_t n,
                                     struct pho_err *err)
{
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_PERSON_FACES_DROP_REL, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_text(s, 1, model, strlen(model));
    pho_catalog__bind_text(s, 2, rel, strlen(rel));
    rc = pho_catalog__run(s, err, "cannot change the faces of persons");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = pho_catalog_person_face_put(cat, model, &faces[i], err);
    return rc;
}

int pho_catalog_person_faces_move(struct pho_catalog *cat, int64_t from, int64_t into,
                                  struct pho_err *err)
{
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_PERSON_FACES_MOVE_ALL, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_int(s, 1, from);
    pho_catalog__bind_int(s, 2, into);
    return pho_catalog__run(s, err, "cannot merge persons");
}

int pho_catalog_person_refuse(struct pho_catalog *cat, const char *model,
                              const struct pho_person_face *face, struct pho_err *err)
{
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_PERSON_REFUSAL_PUT, &s, err);
    if (rc < 0)
        return rc;
    bind_face(s, model, face);
    pho_catalog__bind_int(s, 8, face->person);
    return pho_catalog__run(s, err, "cannot record that a face is not a person");
}
