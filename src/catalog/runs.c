/* SPDX-License-Identifier: MIT */
/*
 * Run bookkeeping in the catalog: each run's settings and whether it
 * finished (what --resume reads back), and the output files a run wrote
 * with their hashes, so a later run can tell its own files from a user's.
 */
#include "core/common.h"

#include <math.h>
#include <string.h>

#include "catalog/faces_blob.h"
#include "catalog/internal.h"
#include "catalog/schema.h"
#include "pho/catalog.h"
#include "pho/face.h"

int pho_catalog_run_start(struct pho_catalog *cat, const char *settings_json, int64_t *run_id,
                          struct pho_err *err)
{
    *run_id = 0;
    if (!settings_json)
        return pho_err_set(err, PHO_EINVAL, "catalog: run without settings");
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_RUN_START, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_text(s, 1, settings_json, strlen(settings_json));
    bool row = false;
    rc = pho_catalog__step(s, &row, err, "cannot record the run");
    if (rc == 0 && row)
        *run_id = pho_catalog__col_int(s, 0);
    pho_catalog__reset(s);
    return rc;
}

int pho_catalog_run_finish(struct pho_catalog *cat, int64_t run_id, struct pho_err *err)
{
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_RUN_FINISH, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_int(s, 1, run_id);
    rc = pho_catalog__run(s, err, "cannot mark the run finished");
    if (rc == 0 && pho_catalog__changes(s) == 0)
        rc = pho_err_set(err, PHO_ENOTFOUND, "catalog: no run %lld to mark finished",
                         (long long)run_id);
    return rc;
}

int pho_catalog_last_run(struct pho_catalog *cat, char **settings_json, bool *finished,
                         struct pho_err *err)
{
    *settings_json = NULL;
    *finished = false;
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_RUN_LAST, &s, err);
    if (rc < 0)
        return rc;
    bool row = false;
    rc = pho_catalog__step(s, &row, err, "cannot read the last run");
    if (row) {
        *settings_json = pho_catalog__text(s, 0);
        if (!*settings_json)
            rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
        else
            *finished = pho_catalog__col_int(s, 1) != 0;
    }
    pho_catalog__reset(s);
    return rc;
}

int pho_catalog_run_settings(struct pho_catalog *cat, int64_t run_id, char **settings_json,
                             struct pho_err *err)
{
    *settings_json = NULL;
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_RUN_SETTINGS, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_int(s, 1, run_id);
    bool row = false;
    rc = pho_catalog__step(s, &row, err, "cannot read a run's settings");
    if (row && !(*settings_json = pho_catalog__text(s, 0)))
        rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
    else if (rc == 0 && !row)
        rc = pho_err_set(err, PHO_ENOTFOUND, "catalog: there is no run %lld", (long long)run_id);
    pho_catalog__reset(s);
    return rc;
}

/* ------------------------------------------------------------- outputs */

/* Lowercase copy of a 64-digit hex SHA-256, or false. */
static bool sha256_normalise(char out[65], const char *hex)
{
    if (!hex)
        return false;
    for (size_t i = 0; i < 64; i++) {
        char c = hex[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        out[i] = c;
    }
    out[64] = '\0';
    return hex[64] == '\0';
}

int pho_catalog_output_put(struct pho_catalog *cat, const char *rel, uint64_t size,
                           const char *sha256_hex, struct pho_err *err)
{
    return pho_catalog_output_put_mode(cat, rel, size, sha256_hex, "copy", err);
}

int pho_catalog_output_put_mode(struct pho_catalog *cat, const char *rel, uint64_t size,
                                const char *sha256_hex, const char *mode, struct pho_err *err)
{
    char sha[65];
    if (!mode || !*mode || strlen(mode) >= PHO_OUTPUT_MODE_MAX)
        return pho_err_set(err, PHO_EINVAL, "catalog: output mode must be a short name");
    if (!rel || !*rel)
        return pho_err_set(err, PHO_EINVAL, "catalog: output file without a path");
    if (!sha256_normalise(sha, sha256_hex))
        return pho_err_set(err, PHO_EINVAL, "catalog: output checksum is not 64 hex digits");
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_OUTPUT_PUT, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_text(s, 1, rel, strlen(rel));
    pho_catalog__bind_int(s, 2, pho_catalog__u64_bits(size));
    pho_catalog__bind_text(s, 3, sha, 64);
    pho_catalog__bind_text(s, 4, mode, strlen(mode));
    return pho_catalog__run(s, err, "cannot record an output file");
}

/* Runs statement @st with @rel bound first and @a, @b after it (NULL: not bound). */
static int run_rel(struct pho_catalog *cat, int st, const char *rel, const char *a, const char *b,
                   const char *what, struct pho_err *err)
{
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, st, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_text(s, 1, rel, strlen(rel));
    if (a)
        pho_catalog__bind_text(s, 2, a, strlen(a));
    if (b)
        pho_catalog__bind_text(s, 3, b, strlen(b));
    return pho_catalog__run(s, err, what);
}

int pho_catalog_output_forget(struct pho_catalog *cat, const char *rel, struct pho_err *err)
{
    if (!rel)
        return pho_err_set(err, PHO_EINVAL, "catalog: output file without a path");
    int rc = run_rel(cat, ST_OUTPUT_FORGET, rel, NULL, NULL, "cannot forget an output file", err);
    if (rc == 0)
        rc = run_rel(cat, ST_DERIVED_FORGET, rel, NULL, NULL, "cannot forget an output file", err);
    return rc;
}

int pho_catalog_derived_put(struct pho_catalog *cat, const char *rel, const char *recipe,
                            const char *details, struct pho_err *err)
{
    if (!rel || !*rel || !recipe || !details)
        return pho_err_set(err, PHO_EINVAL, "catalog: derived output without a path or recipe");
    return run_rel(cat, ST_DERIVED_PUT, rel, recipe, details, "cannot record a derived output",
                   err);
}

int pho_catalog_derived_get(struct pho_catalog *cat, const char *rel, char **recipe, char **details,
                            bool *found, struct pho_err *err)
{
    *recipe = *details = NULL;
    *found = false;
    if (!rel)
        return pho_err_set(err, PHO_EINVAL, "catalog: derived output without a path");
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_DERIVED_GET, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_text(s, 1, rel, strlen(rel));
    bool row = false;
    rc = pho_catalog__step(s, &row, err, "cannot read a derived output");
    if (row) {
        *recipe = pho_catalog__text(s, 0);
        *details = pho_catalog__text(s, 1);
        if (!*recipe || !*details) {
            pho_free(*recipe);
            pho_free(*details);
            *recipe = *details = NULL;
            rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
        } else {
            *found = true;
        }
    }
    pho_catalog__reset(s);
    return rc;
}

int pho_catalog_output_list(struct pho_catalog *cat, struct pho_output_file **files, size_t *count,
                            struct pho_err *err)
{
    *files = NULL;
    *count = 0;
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_OUTPUT_LIST, &s, err);
    if (rc < 0)
        return rc;
    struct pho_output_file *list = NULL;
    size_t n = 0, cap = 0;
    bool row = false;
    while ((rc = pho_catalog__step(s, &row, err, "cannot list the output files")) == 0 && row) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct pho_output_file *grown = pho_reallocarray(list, ncap, sizeof(*list));
            if (!grown) {
                rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
                break;
            }
            list = grown;
            cap = ncap;
        }
        struct pho_output_file *f = &list[n];
        memset(f, 0, sizeof(*f));
        f->rel = pho_catalog__text(s, 0);
        if (!f->rel) {
            rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
            break;
        }
        n++;
        f->size = pho_catalog__bits_u64(pho_catalog__col_int(s, 1));
        pho_catalog__text_into(s, 2, f->sha256, sizeof(f->sha256));
        pho_catalog__text_into(s, 3, f->mode, sizeof(f->mode));
        if (!f->mode[0])
            pho_strlcpy(f->mode, "copy", sizeof(f->mode));
    }
    pho_catalog__reset(s);
    if (rc < 0) {
        pho_catalog_outputs_free(list, n);
        return rc;
    }
    *files = list;
    *count = n;
    return 0;
}

void pho_catalog_outputs_free(struct pho_output_file *files, size_t count)
{
    if (!files)
        return;
    for (size_t i = 0; i < count; i++)
        pho_free(files[i].rel);
    pho_free(files);
}

int pho_catalog_decision_add(struct pho_catalog *cat, const char *kind, const char *photo,
                             const char *other, int64_t *id, struct pho_err *err)
{
    if (!kind || !*kind || strlen(kind) >= sizeof(((struct pho_decision *)0)->kind) || !photo ||
        !*photo)
        return pho_err_set(err, PHO_EINVAL, "catalog: a decision needs a kind and a photo");
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_DECISION_ADD, &s, err);
    if (rc < 0)
        return rc;
    const char *o = other ? other : "";
    pho_catalog__bind_text(s, 1, kind, strlen(kind));
    pho_catalog__bind_text(s, 2, photo, strlen(photo));
    pho_catalog__bind_text(s, 3, o, strlen(o));
    bool row = false;
    rc = pho_catalog__step(s, &row, err, "cannot record a decision");
    if (rc == 0 && row && id)
        *id = pho_catalog__col_int(s, 0);
    pho_catalog__reset(s);
    return rc;
}

void pho_catalog_decisions_free(struct pho_decision *v, size_t count)
{
    for (size_t i = 0; v && i < count; i++) {
        pho_free(v[i].photo);
        pho_free(v[i].other);
    }
    pho_free(v);
}

int pho_catalog_decisions(struct pho_catalog *cat, struct pho_decision **out, size_t *count,
                          struct pho_err *err)
{
    *out = NULL;
    *count = 0;
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_DECISIONS_LIST, &s, err);
    if (rc < 0)
        return rc;
    struct pho_decision *v = NULL;
    size_t n = 0, cap = 0;
    bool row = false;
    while ((rc = pho_catalog__step(s, &row, err, "cannot read the decisions")) == 0 && row) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct pho_decision *grown = pho_reallocarray(v, ncap, sizeof(*v));
            if (!grown) {
                rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
                break;
            }
            v = grown;
            cap = ncap;
        }
        struct pho_decision *d = &v[n];
        memset(d, 0, sizeof(*d));
        d->id = pho_catalog__col_int(s, 0);
        pho_catalog__text_into(s, 1, d->kind, sizeof(d->kind));
        d->photo = pho_catalog__text(s, 2);
        d->other = pho_catalog__text(s, 3);
        d->made_at = pho_catalog__col_int(s, 4);
        n++;
        if (!d->photo || !d->other) {
            rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
            break;
        }
    }
    pho_catalog__reset(s);
    if (rc) {
        pho_catalog_decisions_free(v, n);
        return rc;
    }
    *out = v;
    *count = n;
    return 0;
}

int pho_catalog_decision_undo(struct pho_catalog *cat, struct pho_decision *undone,
                              struct pho_err *err)
{
    memset(undone, 0, sizeof(*undone));
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_DECISION_UNDO, &s, err);
    if (rc < 0)
        return rc;
    bool row = false;
    rc = pho_catalog__step(s, &row, err, "cannot take a decision back");
    if (row) {
        undone->id = pho_catalog__col_int(s, 0);
        pho_catalog__text_into(s, 1, undone->kind, sizeof(undone->kind));
        undone->photo = pho_catalog__text(s, 2);
        rc = pho_catalog__step(s, &row, err, "cannot take a decision back");
    }
    pho_catalog__reset(s);
    return rc;
}
