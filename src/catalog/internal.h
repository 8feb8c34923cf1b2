/* SPDX-License-Identifier: MIT */
/*
 * Private to src/catalog: the connection and the helpers its files
 * share (catalog.c opens and migrates, photos.c keeps photo and face
 * records, runs.c keeps runs and output files, people.c persons and their
 * faces).
 */
#ifndef PHO_CATALOG_INTERNAL_H
#define PHO_CATALOG_INTERNAL_H

#include "core/common.h"

#include <string.h>

#include <sqlite3.h>

#include "catalog/schema.h"

struct pho_catalog {
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT];
    bool in_tx; /* between pho_catalog_begin() and _commit() */
};

/*
 * Turns an SQLite failure into a status and "catalog: <what>: <sqlite's
 * words>", with what the user can do about it where there is something.
 * Call it before the statement is reset: that keeps sqlite3_errmsg() intact.
 */
int pho_catalog__fail(sqlite3 *db, int rc, struct pho_err *err, const char *what);

/* The cached statement @id, prepared on first use. */
int pho_catalog__stmt(struct pho_catalog *cat, enum catalog_stmt id, sqlite3_stmt **out,
                      struct pho_err *err);

/*
 * Steps a statement that returns no rows. Always resets it: a statement left
 * mid-way would keep its read transaction open and stop WAL checkpoints.
 */
int pho_catalog__run(struct pho_catalog *cat, sqlite3_stmt *s, struct pho_err *err,
                     const char *what);

/* A malloc'd copy of text column @col (which may hold any bytes; "" for NULL); NULL when
 * out of memory. */
char *pho_catalog__text(sqlite3_stmt *s, int col);

/* Binds text of a known length; SQLite refuses what does not fit an int. */
int pho_catalog__bind_text(sqlite3_stmt *s, int param, const char *str, size_t len);

/* Unsigned 64-bit values are stored as their two's-complement bits. */
static inline int64_t pho_catalog__u64_bits(uint64_t v)
{
    int64_t s;
    memcpy(&s, &v, sizeof(s));
    return s;
}

static inline uint64_t pho_catalog__bits_u64(int64_t s)
{
    uint64_t v;
    memcpy(&v, &s, sizeof(v));
    return v;
}

/* Copies at most size-1 bytes, backing off so a UTF-8 sequence is never cut. */
static inline void pho_catalog__copy_bounded(char *dst, size_t size, const char *src, size_t len)
{
    if (len >= size) {
        len = size - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

#endif
