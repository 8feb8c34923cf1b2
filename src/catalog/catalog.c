/* SPDX-License-Identifier: MIT */
/*
 * The catalog: the organizer's memory between runs, kept by one of two
 * engines (internal.h): an SQLite file in OUT (the default) or a PostgreSQL
 * database shared by workers on many machines (docs/scale-out.md). This file
 * picks the engine, keeps the statement cache and the transaction rules, and
 * is the statement interface the record files use. Statements are prepared
 * on first use and kept for the life of the connection, because a run does a
 * lookup and a put for each of possibly 100k photos.
 */
#include "core/common.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "catalog/internal.h"
#include "catalog/schema.h"
#include "pho/catalog.h"

bool pho_catalog_is_url(const char *where)
{
    if (!where)
        return false;
    if (!strncmp(where, "postgresql://", 13) || !strncmp(where, "postgres://", 11))
        return true;
    /* libpq's "key=value ..." form: a keyword, then '='. */
    const char *p = where;
    while (isspace((unsigned char)*p))
        p++;
    const char *k = p;
    while (islower((unsigned char)*p) || *p == '_')
        p++;
    if (p == k)
        return false;
    while (isspace((unsigned char)*p))
        p++;
    return *p == '=';
}

int pho_catalog_open(struct pho_catalog **out, const char *where, struct pho_err *err)
{
    if (!out || !where || !*where) {
        if (out)
            *out = NULL;
        return pho_err_set(err, PHO_EINVAL, "catalog: no database path given");
    }
    *out = NULL;
    struct pho_catalog *cat = pho_calloc(1, sizeof(*cat));
    if (!cat)
        return pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
    cat->engine = pho_catalog_is_url(where) ? &pho_catalog__pg : &pho_catalog__sqlite;
    int rc = cat->engine->open(cat, where, err);
    if (rc < 0) {
        pho_catalog_close(cat);
        return rc;
    }
    *out = cat;
    return 0;
}

void pho_catalog_close(struct pho_catalog *cat)
{
    if (!cat)
        return;
    for (size_t i = 0; i < ST_COUNT; i++)
        if (cat->stmt[i])
            cat->engine->finalize(cat->stmt[i]);
    if (cat->conn)
        cat->engine->close(cat);
    pho_free(cat);
}

bool pho_catalog_is_shared(const struct pho_catalog *cat)
{
    return cat && cat->engine == &pho_catalog__pg;
}

const char *pho_catalog_engine(const struct pho_catalog *cat)
{
    return cat ? cat->engine->name : "";
}

/* -------------------------------------------------------- transactions */

int pho_catalog_begin(struct pho_catalog *cat, struct pho_err *err)
{
    if (cat->engine->tx(cat) != CAT_TX_IDLE)
        return pho_err_set(err, PHO_EINVAL, "catalog: a transaction is already open");
    int rc = cat->engine->begin(cat, err);
    cat->in_tx = rc == 0;
    return rc;
}

int pho_catalog_commit(struct pho_catalog *cat, struct pho_err *err)
{
    bool began = cat->in_tx;
    cat->in_tx = false;
    enum cat_tx tx = cat->engine->tx(cat);
    if (tx != CAT_TX_OPEN) {
        /* The engine rolled back (SQLite after disk full, I/O error, out of memory) or
         * will only roll back (PostgreSQL after any failed statement). */
        if (tx == CAT_TX_FAILED)
            cat->engine->rollback(cat);
        if (began)
            return pho_err_set(err, PHO_EDB,
                               "catalog: the transaction was rolled back after "
                               "an earlier error; nothing was committed");
        return pho_err_set(err, PHO_EINVAL, "catalog: no transaction to commit");
    }
    int rc = cat->engine->commit(cat, err);
    /* Never leave a half-failed transaction open for the next batch to join. */
    if (rc < 0 && cat->engine->tx(cat) != CAT_TX_IDLE)
        cat->engine->rollback(cat);
    return rc;
}

/* ---------------------------------------------------------- statements */

char *pho_catalog__sql(const char *sql, bool dollar, const char *lock)
{
    static const char token[] = "@LOCK@";
    size_t cap = strlen(sql) * 2 + strlen(lock) + 1, n = 0;
    char *out = pho_malloc(cap);
    const char *names[64];
    size_t lens[64], nnames = 0;
    bool quoted = false;
    if (!out)
        return NULL;
    for (const char *p = sql; *p;) {
        if (*p == '\'')
            quoted = !quoted;
        if (!quoted && !strncmp(p, token, sizeof(token) - 1)) {
            size_t l = strlen(lock);
            memcpy(out + n, lock, l);
            n += l;
            p += sizeof(token) - 1;
        } else if (!quoted && dollar && *p == '?') {
            out[n++] = '$';
            p++;
        } else if (!quoted && dollar && *p == ':' &&
                   (isalpha((unsigned char)p[1]) || p[1] == '_')) {
            const char *name = ++p;
            while (isalnum((unsigned char)*p) || *p == '_')
                p++;
            size_t len = (size_t)(p - name), k = 0;
            while (k < nnames && !(lens[k] == len && !memcmp(names[k], name, len)))
                k++;
            if (k == nnames && nnames < PHO_ARRAY_LEN(names)) {
                names[nnames] = name;
                lens[nnames++] = len;
            }
            n += (size_t)snprintf(out + n, cap - n, "$%zu", k + 1);
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return out;
}

int pho_catalog__stmt(struct pho_catalog *cat, enum catalog_stmt id, struct cat_stmt **out,
                      struct pho_err *err)
{
    if (!cat->stmt[id]) {
        int rc = cat->engine->prepare(cat, id, &cat->stmt[id], err);
        if (rc < 0)
            return rc;
    }
    *out = cat->stmt[id];
    return 0;
}

void pho_catalog__bind_int(struct cat_stmt *s, int param, int64_t v)
{
    s->cat->engine->bind(s, param, CAT_INT, v, 0, NULL, 0);
}

void pho_catalog__bind_real(struct cat_stmt *s, int param, double v)
{
    if (isnan(v))
        pho_catalog__bind_null(s, param);
    else
        s->cat->engine->bind(s, param, CAT_REAL, 0, v, NULL, 0);
}

void pho_catalog__bind_null(struct cat_stmt *s, int param)
{
    s->cat->engine->bind(s, param, CAT_NULL, 0, 0, NULL, 0);
}

void pho_catalog__bind_text(struct cat_stmt *s, int param, const char *str, size_t len)
{
    s->cat->engine->bind(s, param, CAT_TEXT, 0, 0, str, len);
}

void pho_catalog__bind_blob(struct cat_stmt *s, int param, const void *p, size_t len)
{
    s->cat->engine->bind(s, param, CAT_BLOB, 0, 0, p, len);
}

int pho_catalog__step(struct cat_stmt *s, bool *row, struct pho_err *err, const char *what)
{
    *row = false;
    int rc = s->cat->engine->step(s, row, err, what);
    if (rc < 0)
        s->cat->engine->reset(s);
    return rc;
}

int pho_catalog__run(struct cat_stmt *s, struct pho_err *err, const char *what)
{
    bool row = false;
    int rc = s->cat->engine->step(s, &row, err, what);
    /* RETURNING rows nobody asked for are dropped with the reset. */
    s->cat->engine->reset(s);
    return rc;
}

void pho_catalog__reset(struct cat_stmt *s)
{
    s->cat->engine->reset(s);
}

int64_t pho_catalog__changes(struct cat_stmt *s)
{
    return s->cat->engine->changes(s);
}

enum cat_type pho_catalog__col_type(struct cat_stmt *s, int col)
{
    return s->cat->engine->col_type(s, col);
}

int64_t pho_catalog__col_int(struct cat_stmt *s, int col)
{
    return s->cat->engine->col_int(s, col);
}

double pho_catalog__col_real(struct cat_stmt *s, int col)
{
    return s->cat->engine->col_real(s, col);
}

const void *pho_catalog__col_data(struct cat_stmt *s, int col, size_t *len)
{
    *len = 0;
    return s->cat->engine->col_data(s, col, len);
}

char *pho_catalog__text(struct cat_stmt *s, int col)
{
    size_t len = 0;
    const char *t = NULL;
    if (pho_catalog__col_type(s, col) != CAT_NULL) {
        t = pho_catalog__col_data(s, col, &len);
        if (!t)
            return NULL;
    }
    char *d = pho_malloc(len + 1);
    if (d) {
        if (len)
            memcpy(d, t, len);
        d[len] = '\0';
    }
    return d;
}

void pho_catalog__text_into(struct cat_stmt *s, int col, char *dst, size_t size)
{
    size_t len = 0;
    const char *t =
            pho_catalog__col_type(s, col) == CAT_NULL ? NULL : pho_catalog__col_data(s, col, &len);
    pho_catalog__copy_bounded(dst, size, t ? t : "", t ? len : 0);
}
