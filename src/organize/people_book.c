/* SPDX-License-Identifier: MIT */
/*
 * An output folder's people, to read and change (the `people` command,
 * docs/people.md). Every change is a decision of the user's that later runs
 * keep: a name, a hidden person, a merge (recorded as merged_into, so faces
 * found later follow it), a face moved (pinned) or refused.
 */
#include "core/common.h"

#include <stdlib.h>
#include <string.h>

#include "organize/internal.h"
#include "pho/catalog.h"
#include "pho/people.h"

struct pho_people_book {
    struct pho_catalog *cat;
    int lock_fd;
    char model[64];
};

void pho_people_close(struct pho_people_book *book)
{
    if (!book)
        return;
    pho_catalog_close(book->cat);
    pho_organize__unlock(book->lock_fd); /* after the catalog: its last writes are inside */
    pho_free(book);
}

const char *pho_people_model(const struct pho_people_book *book)
{
    return book->model;
}

int pho_people_open(struct pho_people_book **out, const char *output, bool change,
                    struct pho_err *err)
{
    *out = NULL;
    struct pho_people_book *book = pho_calloc(1, sizeof(*book));
    if (!book)
        return pho_err_set(err, PHO_ENOMEM, "people: out of memory");
    struct pho_person_row *rows = NULL;
    size_t n = 0;
    int rc = pho_organize__open_catalog(&book->cat, &book->lock_fd, output, change, "people",
                                        "organize it first with --faces all", err);
    if (rc == 0)
        rc = pho_catalog_persons(book->cat, NULL, &rows, &n, err);
    /* The newest persons are of the model the last run recognised faces with. */
    if (rc == 0 && n == 0)
        rc = pho_err_set(err, PHO_ENOTFOUND,
                         "people: no people found in %s yet; organize it with --faces all", output);
    if (rc == 0)
        pho_strlcpy(book->model, rows[n - 1].model, sizeof(book->model));
    pho_catalog_persons_free(rows, n);
    if (rc) {
        pho_people_close(book);
        return rc;
    }
    *out = book;
    return 0;
}

void pho_people_infos_free(struct pho_person_info *v, size_t count)
{
    for (size_t i = 0; v && i < count; i++) {
        pho_free(v[i].name);
        pho_free(v[i].sample);
    }
    pho_free(v);
}

/* Fills @info of person @row from its faces @f[0..n) (sorted by photo). */
static int describe(struct pho_person_info *info, const struct pho_person_row *row,
                    const struct pho_person_face *f, size_t n)
{
    *info = (struct pho_person_info){ .id = row->id, .hidden = row->hidden, .faces = n };
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        info->photos += i == 0 || strcmp(f[i].rel, f[i - 1].rel) != 0;
        float a = f[i].score * (f[i].box[2] - f[i].box[0]) * (f[i].box[3] - f[i].box[1]);
        float b = f[best].score * (f[best].box[2] - f[best].box[0]) *
                  (f[best].box[3] - f[best].box[1]);
        if (a > b)
            best = i;
    }
    info->name = pho_strdup(row->name);
    info->sample = pho_strdup(n ? f[best].rel : "");
    return info->name && info->sample ? 0 : PHO_ENOMEM;
}

int pho_people_list(struct pho_person_info **out, size_t *count, struct pho_people_book *book,
                    struct pho_err *err)
{
    *out = NULL;
    *count = 0;
    struct pho_person_row *rows = NULL;
    size_t nrows = 0;
    int rc = pho_catalog_persons(book->cat, book->model, &rows, &nrows, err);
    struct pho_person_info *v = rc == 0 ? pho_calloc(nrows ? nrows : 1, sizeof(*v)) : NULL;
    if (rc == 0 && !v)
        rc = pho_err_set(err, PHO_ENOMEM, "people: out of memory");
    for (size_t i = 0; rc == 0 && i < nrows; i++) {
        if (rows[i].merged_into)
            continue;
        struct pho_person_face *f = NULL;
        size_t nf = 0;
        rc = pho_catalog_person_faces(book->cat, book->model, rows[i].id, &f, &nf, err);
        if (rc == 0 && nf && describe(&v[*count], &rows[i], f, nf) != 0)
            rc = pho_err_set(err, PHO_ENOMEM, "people: out of memory");
        if (rc == 0 && nf)
            (*count)++;
        pho_catalog_person_faces_free(f, nf);
    }
    pho_catalog_persons_free(rows, nrows);
    if (rc) {
        pho_people_infos_free(v, *count);
        *count = 0;
        return rc;
    }
    *out = v;
    return 0;
}

/* The person @id answers as now (merges followed), with its row in *@row. */
static int current(struct pho_people_book *book, int64_t *id, struct pho_person_row *row,
                   struct pho_err *err)
{
    struct pho_person_row *rows = NULL;
    size_t n = 0;
    int rc = pho_catalog_persons(book->cat, book->model, &rows, &n, err);
    int64_t want = *id;
    for (size_t hops = 0; rc == 0 && hops <= n; hops++) {
        const struct pho_person_row *r = NULL;
        for (size_t i = 0; i < n && !r; i++)
            if (rows[i].id == *id)
                r = &rows[i];
        if (!r) {
            rc = pho_err_set(err, PHO_ENOTFOUND, "people: there is no person %lld",
                             (long long)want);
            break;
        }
        if (!r->merged_into) {
            if (row) {
                *row = *r;
                row->name = pho_strdup(r->name);
                if (!row->name)
                    rc = pho_err_set(err, PHO_ENOMEM, "people: out of memory");
            }
            break;
        }
        *id = r->merged_into;
    }
    pho_catalog_persons_free(rows, n);
    return rc;
}

int pho_people_get(struct pho_person_info *out, struct pho_people_book *book, int64_t id,
                   struct pho_err *err)
{
    memset(out, 0, sizeof(*out));
    struct pho_person_row row = { 0 };
    int rc = current(book, &id, &row, err);
    struct pho_person_face *f = NULL;
    size_t nf = 0;
    if (rc == 0)
        rc = pho_catalog_person_faces(book->cat, book->model, id, &f, &nf, err);
    if (rc == 0 && describe(out, &row, f, nf) != 0)
        rc = pho_err_set(err, PHO_ENOMEM, "people: out of memory");
    pho_catalog_person_faces_free(f, nf);
    pho_free(row.name);
    return rc;
}

int pho_people_faces(struct pho_person_face **out, size_t *count, struct pho_people_book *book,
                     int64_t id, struct pho_err *err)
{
    *out = NULL;
    *count = 0;
    int rc = current(book, &id, NULL, err);
    return rc ? rc : pho_catalog_person_faces(book->cat, book->model, id, out, count, err);
}

int pho_people_name(struct pho_people_book *book, int64_t id, const char *name, struct pho_err *err)
{
    int rc = current(book, &id, NULL, err);
    return rc ? rc : pho_catalog_person_set(book->cat, id, name, -1, -1, err);
}

int pho_people_hide(struct pho_people_book *book, int64_t id, bool hidden, struct pho_err *err)
{
    int rc = current(book, &id, NULL, err);
    return rc ? rc : pho_catalog_person_set(book->cat, id, NULL, hidden, -1, err);
}

int pho_people_merge(struct pho_people_book *book, int64_t into, int64_t from, struct pho_err *err)
{
    int rc = current(book, &into, NULL, err);
    if (rc == 0)
        rc = current(book, &from, NULL, err);
    if (rc == 0 && into == from)
        return pho_err_set(err, PHO_EINVAL, "people: %lld and %lld are already one person",
                           (long long)into, (long long)from);
    if (rc == 0)
        rc = pho_catalog_begin(book->cat, err);
    if (rc == 0)
        rc = pho_catalog_person_set(book->cat, from, NULL, -1, into, err);
    if (rc == 0)
        rc = pho_catalog_person_faces_move(book->cat, from, into, err);
    if (rc == 0)
        rc = pho_catalog_commit(book->cat, err);
    return rc;
}

/* The catalog's row of face @face of @rel (any person, or none), in *@row. */
static int face_row(struct pho_people_book *book, const char *rel, uint32_t face,
                    struct pho_person_face *row, struct pho_err *err)
{
    struct pho_person_face *f = NULL;
    size_t n = 0;
    int rc = pho_catalog_person_faces(book->cat, book->model, 0, &f, &n, err);
    bool found = false;
    for (size_t i = 0; rc == 0 && i < n && !found; i++) {
        if (f[i].face == face && !strcmp(f[i].rel, rel)) {
            *row = f[i];
            row->rel = pho_strdup(rel);
            found = true;
            if (!row->rel)
                rc = pho_err_set(err, PHO_ENOMEM, "people: out of memory");
        }
    }
    pho_catalog_person_faces_free(f, n);
    if (rc == 0 && !found)
        rc = pho_err_set(err, PHO_ENOTFOUND,
                         "people: %s has no face %u with an identity (see its faces in the "
                         "report, numbered from 0)",
                         rel, face);
    return rc;
}

int pho_people_move(struct pho_people_book *book, const char *rel, uint32_t face, int64_t id,
                    struct pho_err *err)
{
    struct pho_person_face row = { 0 };
    int rc = current(book, &id, NULL, err);
    if (rc == 0)
        rc = face_row(book, rel, face, &row, err);
    if (rc == 0) {
        row.person = id;
        row.pinned = true;
        rc = pho_catalog_person_face_put(book->cat, book->model, &row, err);
    }
    pho_free(row.rel);
    return rc;
}

int pho_people_refuse(struct pho_people_book *book, const char *rel, uint32_t face, int64_t id,
                      struct pho_err *err)
{
    struct pho_person_face row = { 0 };
    int rc = current(book, &id, NULL, err);
    if (rc == 0)
        rc = face_row(book, rel, face, &row, err);
    if (rc == 0)
        rc = pho_catalog_begin(book->cat, err);
    if (rc == 0) {
        int64_t was = row.person;
        row.person = id;
        rc = pho_catalog_person_refuse(book->cat, book->model, &row, err);
        if (rc == 0 && was == id) {
            row.person = 0;
            row.pinned = false;
            rc = pho_catalog_person_face_put(book->cat, book->model, &row, err);
        }
    }
    if (rc == 0)
        rc = pho_catalog_commit(book->cat, err);
    pho_free(row.rel);
    return rc;
}
