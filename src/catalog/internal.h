/* SPDX-License-Identifier: MIT */
/*
 * Private to src/catalog: one catalog, two engines. The records (photos.c,
 * runs.c, people.c, jobs.c) are written once against the small statement
 * interface below; an engine (engine_sqlite.c, engine_pg.c) behind a const
 * vtable connects, migrates its schema and runs the statements of schema.h.
 * Values cross the interface with SQLite's five storage classes, which both
 * engines can keep exactly (docs/catalog.md).
 */
#ifndef PHO_CATALOG_INTERNAL_H
#define PHO_CATALOG_INTERNAL_H

#include "core/common.h"

#include <string.h>

#include "catalog/schema.h"

/* What a parameter or a column holds. */
enum cat_type { CAT_NULL, CAT_INT, CAT_REAL, CAT_TEXT, CAT_BLOB };

/* A statement of an engine; each engine's own record starts with this. */
struct cat_stmt {
    struct pho_catalog *cat;
};

/* Where the transaction stands. */
enum cat_tx { CAT_TX_IDLE, CAT_TX_OPEN, CAT_TX_FAILED };

struct cat_engine {
    const char *name; /* "SQLite", "PostgreSQL" */
    /* Connects to @where (a file, a connection string), checks it is a catalog and
     * migrates it; sets cat->conn. */
    int (*open)(struct pho_catalog *cat, const char *where, struct pho_err *err);
    /* Rolls back what is open and disconnects; cat->stmt[] are finalized before. */
    void (*close)(struct pho_catalog *cat);
    /* BEGIN / COMMIT / ROLLBACK, the engine's way. */
    int (*begin)(struct pho_catalog *cat, struct pho_err *err);
    int (*commit)(struct pho_catalog *cat, struct pho_err *err);
    void (*rollback)(struct pho_catalog *cat);
    enum cat_tx (*tx)(struct pho_catalog *cat);
    int (*prepare)(struct pho_catalog *cat, enum catalog_stmt id, struct cat_stmt **out,
                   struct pho_err *err);
    void (*finalize)(struct cat_stmt *s);
    /* Parameters are numbered from 1. Text and blobs are copied or outlive the step;
     * a failure to bind is reported by the next step. */
    void (*bind)(struct cat_stmt *s, int param, enum cat_type t, int64_t i, double r, const void *p,
                 size_t n);
    /* The first step runs the statement; *row tells whether a row is there to read. */
    int (*step)(struct cat_stmt *s, bool *row, struct pho_err *err, const char *what);
    enum cat_type (*col_type)(struct cat_stmt *s, int col);
    int64_t (*col_int)(struct cat_stmt *s, int col);
    double (*col_real)(struct cat_stmt *s, int col);
    /* Bytes of a text or blob column (valid until the next step or reset); NULL when
     * out of memory or of another type. */
    const void *(*col_data)(struct cat_stmt *s, int col, size_t *len);
    /* Ready to bind and run again; parameters are cleared. */
    void (*reset)(struct cat_stmt *s);
    /* Rows the last run statement changed. */
    int64_t (*changes)(struct cat_stmt *s);
};

extern const struct cat_engine pho_catalog__sqlite;
extern const struct cat_engine pho_catalog__pg;

struct pho_catalog {
    const struct cat_engine *engine;
    void *conn; /* the engine's connection */
    struct cat_stmt *stmt[ST_COUNT];
    bool in_tx; /* between pho_catalog_begin() and _commit() */
};

/* The text of a statement of schema.h for an engine: "@LOCK@" replaced by @lock, and with
 * @dollar the parameters ?N as $N and :name as $K in order of first appearance
 * (malloc'd; NULL when out of memory). */
char *pho_catalog__sql(const char *sql, bool dollar, const char *lock);

/* The cached statement @id, prepared on first use. */
int pho_catalog__stmt(struct pho_catalog *cat, enum catalog_stmt id, struct cat_stmt **out,
                      struct pho_err *err);

void pho_catalog__bind_int(struct cat_stmt *s, int param, int64_t v);
/* NaN is kept as NULL: SQLite cannot store it. */
void pho_catalog__bind_real(struct cat_stmt *s, int param, double v);
void pho_catalog__bind_null(struct cat_stmt *s, int param);
void pho_catalog__bind_text(struct cat_stmt *s, int param, const char *str, size_t len);
void pho_catalog__bind_blob(struct cat_stmt *s, int param, const void *p, size_t len);

/* Next row of @s (*row false at the end). On failure the statement is reset. */
int pho_catalog__step(struct cat_stmt *s, bool *row, struct pho_err *err, const char *what);

/*
 * Runs a statement that returns no rows. Always resets it: a statement left
 * mid-way would keep its read transaction open and stop WAL checkpoints.
 */
int pho_catalog__run(struct cat_stmt *s, struct pho_err *err, const char *what);

void pho_catalog__reset(struct cat_stmt *s);
int64_t pho_catalog__changes(struct cat_stmt *s);

enum cat_type pho_catalog__col_type(struct cat_stmt *s, int col);
int64_t pho_catalog__col_int(struct cat_stmt *s, int col);
double pho_catalog__col_real(struct cat_stmt *s, int col);
/* Text or blob bytes (NULL: out of memory or neither); see cat_engine.col_data. */
const void *pho_catalog__col_data(struct cat_stmt *s, int col, size_t *len);

/* A malloc'd copy of text column @col (which may hold any bytes; "" for NULL); NULL when
 * out of memory. */
char *pho_catalog__text(struct cat_stmt *s, int col);

/* Copies text column @col into a fixed-size field ("" for NULL). */
void pho_catalog__text_into(struct cat_stmt *s, int col, char *dst, size_t size);

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
