/* SPDX-License-Identifier: MIT */
/*
 * The SQLite engine: the catalog as one file in OUT, in WAL mode. Opening it
 * checks that the file is ours and not from a newer version, then brings the
 * schema up to date in one transaction (schema.h holds the SQL). Every record
 * is stored as typed columns so the file can be queried and migrated, and read
 * back exactly: NaN travels as NULL, unsigned 64-bit values as their
 * two's-complement bits.
 */
#include "core/common.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "catalog/internal.h"
#include "catalog/schema.h"
#include "pho/catalog.h"

#define DB(cat) ((sqlite3 *)(cat)->conn)

struct lite_stmt {
    struct cat_stmt base;
    sqlite3_stmt *s;
    int bind_rc; /* the first failed bind, reported by the step */
    bool done;   /* stepped past the last row */
    int64_t changes;
};

/* Long enough to ride out another process's commit or checkpoint, short
 * enough that a second organizer on the same folder fails visibly. */
#define BUSY_TIMEOUT_MS 5000

#define FRESH_HINT "run with --force-fresh to move it aside and start a new catalog"

/*
 * Turns an SQLite failure into a status and "catalog: <what>: <sqlite's
 * words>", with what the user can do about it where there is something.
 * Call it before the statement is reset: that keeps sqlite3_errmsg() intact.
 */
static int lite_fail(sqlite3 *db, int rc, struct pho_err *err, const char *what)
{
    const char *why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return pho_err_set(err, PHO_ENOMEM, "catalog: %s: out of memory", what);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return pho_err_set(err, PHO_EDB, "catalog: %s: %s; the catalog is damaged: " FRESH_HINT,
                           what, why);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        /* Not PHO_EDB: the file is fine, and --force-fresh must not move a
         * catalog aside while another process is using it. */
        return pho_err_set(err, PHO_EIO,
                           "catalog: %s: %s (is another photo-organizer writing to this "
                           "output folder?)",
                           what, why);
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return pho_err_set(err, PHO_EIO, "catalog: %s: %s", what, why);
    default:
        return pho_err_set(err, PHO_EDB, "catalog: %s: %s", what, why);
    }
}

static int exec_sql(sqlite3 *db, const char *sql, struct pho_err *err, const char *what)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : lite_fail(db, rc, err, what);
}

/*
 * Runs a query that yields at most one row (a PRAGMA, a count) and hands back
 * its first column: as an integer in *num, or as text copied into @p text.
 * No row gives 0 / "".
 */
static int query_one(sqlite3 *db, const char *sql, int64_t *num, char *text, size_t text_size,
                     struct pho_err *err, const char *what)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        bool row = rc == SQLITE_ROW;
        if (row || rc == SQLITE_DONE)
            rc = SQLITE_OK;
        if (num)
            *num = row ? sqlite3_column_int64(s, 0) : 0;
        if (text) {
            const unsigned char *t = row ? sqlite3_column_text(s, 0) : NULL;
            pho_strlcpy(text, t ? (const char *)t : "", text_size);
        }
    }
    int ret = rc == SQLITE_OK ? 0 : lite_fail(db, rc, err, what);
    sqlite3_finalize(s);
    return ret;
}

/* ------------------------------------------------------------------ open */

/*
 * Refuses files that are not ours before anything is written to them: a
 * garbage file, another program's database, a catalog from a newer version.
 * The first read of the header is where SQLite notices a non-database.
 */
static int check_identity(sqlite3 *db, struct pho_err *err)
{
    int64_t app_id = 0, version = 0, objects = 0;
    int rc = query_one(db, "PRAGMA application_id", &app_id, NULL, 0, err,
                       "cannot read the catalog");
    if (rc == 0)
        rc = query_one(db, "PRAGMA user_version", &version, NULL, 0, err,
                       "cannot read the catalog");
    if (rc == 0 && app_id == 0 && version == 0)
        rc = query_one(db, "SELECT count(*) FROM sqlite_master", &objects, NULL, 0, err,
                       "cannot read the catalog");
    if (rc < 0)
        return rc;
    if ((app_id != 0 && app_id != CATALOG_APPLICATION_ID) || objects > 0)
        return pho_err_set(err, PHO_EDB,
                           "catalog: the file is an SQLite database of another program, not a "
                           "photo-organizer catalog; " FRESH_HINT);
    if (version < 0)
        return pho_err_set(
                err, PHO_EDB,
                "catalog: unknown schema version %lld; the catalog is damaged: " FRESH_HINT,
                (long long)version);
    if (version > CATALOG_SCHEMA_VERSION)
        return pho_err_set(err, PHO_EDB,
                           "catalog: created by a newer photo-organizer (schema %lld; this one "
                           "knows up to %d): upgrade photo-organizer, or " FRESH_HINT,
                           (long long)version, CATALOG_SCHEMA_VERSION);
    return 0;
}

/*
 * WAL: readers never block the writer, and a commit is one append to the
 * -wal file. synchronous=NORMAL is enough in WAL mode for a committed
 * transaction to survive the process being killed (the data is in the
 * kernel's page cache once COMMIT returns); it is fsynced at checkpoints,
 * so a power cut can lose the last commits but never corrupts the file.
 * Where WAL is impossible (no shared memory on some network filesystems),
 * the rollback journal needs FULL for the same guarantee.
 */
static int set_durability(sqlite3 *db, struct pho_err *err)
{
    char mode[16];
    int rc = query_one(db, "PRAGMA journal_mode = WAL", NULL, mode, sizeof(mode), err,
                       "cannot switch to WAL mode");
    if (rc < 0)
        return rc;
    bool wal = strcmp(mode, "wal") == 0;
    if (!wal)
        pho_log(PHO_LOG_WARN, "catalog",
                "WAL mode unavailable here (journal mode stays \"%s\"); using synchronous=FULL",
                mode);
    return exec_sql(db, wal ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL", err,
                    "cannot set synchronous");
}

/*
 * Applies the missing migrations in one IMMEDIATE transaction, so a crash
 * or an error leaves the old version intact and two processes opening an
 * old catalog at once do not both migrate it. Foreign keys are still off
 * here, as SQLite's table-rebuild recipe wants; foreign_key_check catches
 * whatever a migration broke before it is committed.
 */
static int migrate(sqlite3 *db, struct pho_err *err)
{
    int64_t version = 0;
    int rc =
            query_one(db, "PRAGMA user_version", &version, NULL, 0, err, "cannot read the catalog");
    if (rc < 0 || version == CATALOG_SCHEMA_VERSION)
        return rc;
    rc = exec_sql(db, "BEGIN IMMEDIATE", err, "cannot start the schema upgrade");
    if (rc < 0)
        return rc;
    /* Another process may have migrated while we waited for the lock. */
    rc = check_identity(db, err);
    if (rc == 0)
        rc = query_one(db, "PRAGMA user_version", &version, NULL, 0, err,
                       "cannot read the catalog");
    char what[64];
    snprintf(what, sizeof(what), "cannot upgrade the catalog to schema %d", CATALOG_SCHEMA_VERSION);
    for (int64_t v = version; rc == 0 && v < CATALOG_SCHEMA_VERSION; v++)
        rc = exec_sql(db, catalog_migrations[v], err, what);
    if (rc == 0 && version < CATALOG_SCHEMA_VERSION) {
        char sql[96];
        snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d",
                 CATALOG_APPLICATION_ID, CATALOG_SCHEMA_VERSION);
        rc = exec_sql(db, sql, err, what);
    }
    int64_t broken = 0;
    if (rc == 0)
        rc = query_one(db, "SELECT count(*) FROM pragma_foreign_key_check", &broken, NULL, 0, err,
                       what);
    if (rc == 0 && broken)
        rc = pho_err_set(err, PHO_EDB, "catalog: %s: %lld foreign-key violations", what,
                         (long long)broken);
    if (rc == 0)
        rc = exec_sql(db, "COMMIT", err, what);
    if (rc < 0 && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* The database's clock for the shared SQL (schema.h): seconds since 1970. */
static void sql_now(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    PHO_UNUSED(argc);
    PHO_UNUSED(argv);
    sqlite3_result_int64(ctx, (sqlite3_int64)time(NULL));
}

static int lite_open(struct pho_catalog *cat, const char *db_path, struct pho_err *err)
{
    char *uri_safe = NULL;
    /* This SQLite takes names starting with "file:" as URIs; "./" keeps
     * such a relative path a plain file name. */
    const char *name = db_path;
    int rc = 0;
    if (strncmp(db_path, "file:", 5) == 0) {
        size_t len = strlen(db_path);
        uri_safe = pho_malloc(len + 3);
        if (!uri_safe)
            return pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
        memcpy(uri_safe, "./", 2);
        memcpy(uri_safe + 2, db_path, len + 1);
        name = uri_safe;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
#ifdef SQLITE_OPEN_EXRESCODE
    flags |= SQLITE_OPEN_EXRESCODE;
#endif
    sqlite3 *db = NULL;
    int src = sqlite3_open_v2(name, &db, flags, NULL);
    cat->conn = db;
    if (src != SQLITE_OK) {
        rc = db ? lite_fail(db, src, err, "cannot open")
                : pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    if (sqlite3_db_readonly(db, "main") == 1) {
        rc = pho_err_set(err, PHO_EIO,
                         "catalog: the file is read-only; photo-organizer needs "
                         "to write its catalog");
        goto out;
    }
    src = sqlite3_create_function(db, "pho_now", 0, SQLITE_UTF8, NULL, sql_now, NULL, NULL);
    if (src != SQLITE_OK) {
        rc = lite_fail(db, src, err, "cannot open");
        goto out;
    }
    rc = check_identity(db, err);
    if (rc == 0)
        rc = set_durability(db, err);
    if (rc == 0)
        rc = migrate(db, err);
    /* After the migrations: foreign keys cannot be switched inside a transaction. */
    if (rc == 0)
        rc = exec_sql(db, "PRAGMA foreign_keys = ON", err, "cannot enable foreign keys");
out:
    pho_free(uri_safe);
    return rc;
}

static void lite_close(struct pho_catalog *cat)
{
    /* sqlite3_close would roll back too; saying so keeps the contract visible. */
    if (!sqlite3_get_autocommit(DB(cat)))
        sqlite3_exec(DB(cat), "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close_v2(DB(cat));
    cat->conn = NULL;
}

/* IMMEDIATE takes the write lock up front: a deferred transaction that
 * later needs it can fail with SQLITE_BUSY no matter the busy timeout. */
static int lite_begin(struct pho_catalog *cat, struct pho_err *err)
{
    return exec_sql(DB(cat), "BEGIN IMMEDIATE", err, "cannot start a transaction");
}

static int lite_commit(struct pho_catalog *cat, struct pho_err *err)
{
    return exec_sql(DB(cat), "COMMIT", err, "cannot commit (the batch was rolled back)");
}

static void lite_rollback(struct pho_catalog *cat)
{
    sqlite3_exec(DB(cat), "ROLLBACK", NULL, NULL, NULL);
}

/* SQLite rolls a transaction back by itself after some errors (disk full, I/O error,
 * out of memory) in one of its statements: then it is idle again. */
static enum cat_tx lite_tx(struct pho_catalog *cat)
{
    return sqlite3_get_autocommit(DB(cat)) ? CAT_TX_IDLE : CAT_TX_OPEN;
}

static int lite_prepare(struct pho_catalog *cat, enum catalog_stmt id, struct cat_stmt **out,
                        struct pho_err *err)
{
    char *sql = pho_catalog__sql(catalog_sql[id], false, "");
    struct lite_stmt *ls = pho_calloc(1, sizeof(*ls));
    if (!sql || !ls) {
        pho_free(sql);
        pho_free(ls);
        return pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
    }
    int rc = sqlite3_prepare_v3(DB(cat), sql, -1, SQLITE_PREPARE_PERSISTENT, &ls->s, NULL);
    pho_free(sql);
    if (rc != SQLITE_OK) {
        rc = lite_fail(DB(cat), rc, err, "cannot prepare a statement");
        pho_free(ls);
        return rc;
    }
    ls->base.cat = cat;
    *out = &ls->base;
    return 0;
}

static void lite_finalize(struct cat_stmt *s)
{
    struct lite_stmt *ls = (struct lite_stmt *)s;
    sqlite3_finalize(ls->s);
    pho_free(ls);
}

static void lite_bind(struct cat_stmt *s, int param, enum cat_type t, int64_t i, double r,
                      const void *p, size_t n)
{
    struct lite_stmt *ls = (struct lite_stmt *)s;
    if (ls->bind_rc != SQLITE_OK)
        return;
    int rc;
    switch (t) {
    case CAT_INT:
        rc = sqlite3_bind_int64(ls->s, param, i);
        break;
    case CAT_REAL:
        rc = sqlite3_bind_double(ls->s, param, r);
        break;
    case CAT_TEXT:
        /* SQLite refuses what does not fit an int. */
        rc = n > INT_MAX ? SQLITE_TOOBIG
                         : sqlite3_bind_text(ls->s, param, p, (int)n, SQLITE_TRANSIENT);
        break;
    case CAT_BLOB:
        rc = sqlite3_bind_blob64(ls->s, param, n ? p : "", (sqlite3_uint64)n, SQLITE_TRANSIENT);
        break;
    default:
        rc = sqlite3_bind_null(ls->s, param);
        break;
    }
    ls->bind_rc = rc;
}

static int lite_step(struct cat_stmt *s, bool *row, struct pho_err *err, const char *what)
{
    struct lite_stmt *ls = (struct lite_stmt *)s;
    sqlite3 *db = DB(s->cat);
    *row = false;
    if (ls->bind_rc != SQLITE_OK)
        return lite_fail(db, ls->bind_rc, err, what);
    if (ls->done)
        return 0;
    int rc = sqlite3_step(ls->s);
    if (rc == SQLITE_ROW) {
        *row = true;
        return 0;
    }
    if (rc == SQLITE_DONE) {
        ls->done = true;
        ls->changes = sqlite3_changes(db);
        return 0;
    }
    return lite_fail(db, rc, err, what);
}

static enum cat_type lite_col_type(struct cat_stmt *s, int col)
{
    switch (sqlite3_column_type(((struct lite_stmt *)s)->s, col)) {
    case SQLITE_INTEGER:
        return CAT_INT;
    case SQLITE_FLOAT:
        return CAT_REAL;
    case SQLITE_TEXT:
        return CAT_TEXT;
    case SQLITE_BLOB:
        return CAT_BLOB;
    default:
        return CAT_NULL;
    }
}

static int64_t lite_col_int(struct cat_stmt *s, int col)
{
    return sqlite3_column_int64(((struct lite_stmt *)s)->s, col);
}

static double lite_col_real(struct cat_stmt *s, int col)
{
    return sqlite3_column_double(((struct lite_stmt *)s)->s, col);
}

static const void *lite_col_data(struct cat_stmt *s, int col, size_t *len)
{
    sqlite3_stmt *st = ((struct lite_stmt *)s)->s;
    int t = sqlite3_column_type(st, col);
    const void *p = t == SQLITE_TEXT   ? (const void *)sqlite3_column_text(st, col)
                    : t == SQLITE_BLOB ? sqlite3_column_blob(st, col)
                                       : NULL;
    /* An empty blob has no pointer; it is still a value. */
    if (!p && t == SQLITE_BLOB && sqlite3_errcode(DB(s->cat)) != SQLITE_NOMEM)
        p = "";
    *len = p ? (size_t)sqlite3_column_bytes(st, col) : 0;
    return p;
}

static void lite_reset(struct cat_stmt *s)
{
    struct lite_stmt *ls = (struct lite_stmt *)s;
    if (!ls->done)
        ls->changes = sqlite3_changes(DB(s->cat));
    sqlite3_reset(ls->s);
    sqlite3_clear_bindings(ls->s);
    ls->bind_rc = SQLITE_OK;
    ls->done = false;
}

static int64_t lite_changes(struct cat_stmt *s)
{
    return ((struct lite_stmt *)s)->changes;
}

const struct cat_engine pho_catalog__sqlite = {
    .name = "SQLite",
    .open = lite_open,
    .close = lite_close,
    .begin = lite_begin,
    .commit = lite_commit,
    .rollback = lite_rollback,
    .tx = lite_tx,
    .prepare = lite_prepare,
    .finalize = lite_finalize,
    .bind = lite_bind,
    .step = lite_step,
    .col_type = lite_col_type,
    .col_int = lite_col_int,
    .col_real = lite_col_real,
    .col_data = lite_col_data,
    .reset = lite_reset,
    .changes = lite_changes,
};

/* ---------------------------------------------------------- move aside */

int pho_catalog_move_aside(const char *db_path, char **moved_to, struct pho_err *err)
{
    /* The journals first: a -wal left beside a new database would be replayed into it. */
    static const char *const parts[] = { "-wal", "-journal", "" };
    if (moved_to)
        *moved_to = NULL;
    if (!db_path || !*db_path)
        return pho_err_set(err, PHO_EINVAL, "catalog: no database path given");
    size_t cap = strlen(db_path) + 64;
    char *src = pho_malloc(cap), *dst = pho_malloc(cap), *base = pho_malloc(cap);
    int rc = 0;
    if (!src || !dst || !base) {
        rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
        goto out;
    }
    struct stat st;
    bool any = false;
    for (size_t i = 0; i < PHO_ARRAY_LEN(parts); i++) {
        snprintf(src, cap, "%s%s", db_path, parts[i]);
        any = any || lstat(src, &st) == 0;
    }
    if (any) {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        if (!gmtime_r(&now, &tm) || !strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm))
            pho_strlcpy(stamp, "0", sizeof(stamp));
        /* A name none of whose parts exist yet: two resets within a second
         * must not overwrite the first one's files. */
        bool free_name = false;
        for (int n = 1; n < 1000 && !free_name; n++) {
            if (n == 1)
                snprintf(base, cap, "%s.old-%s", db_path, stamp);
            else
                snprintf(base, cap, "%s.old-%s-%d", db_path, stamp, n);
            free_name = true;
            for (size_t i = 0; i < PHO_ARRAY_LEN(parts) && free_name; i++) {
                snprintf(dst, cap, "%s%s", base, parts[i]);
                free_name = lstat(dst, &st) != 0 && errno == ENOENT;
            }
        }
        if (!free_name) {
            rc = pho_err_set(err, PHO_EIO, "catalog: cannot find a free name to move it aside");
            goto out;
        }
        for (size_t i = 0; i < PHO_ARRAY_LEN(parts); i++) {
            snprintf(src, cap, "%s%s", db_path, parts[i]);
            snprintf(dst, cap, "%s%s", base, parts[i]);
            if (rename(src, dst) != 0 && errno != ENOENT) {
                rc = pho_err_set(err, PHO_EIO, "catalog: cannot move %s aside: %s", src,
                                 strerror(errno));
                goto out;
            }
        }
    }
    /* Only an index of the -wal; SQLite rebuilds it. */
    snprintf(src, cap, "%s-shm", db_path);
    if (unlink(src) != 0 && errno != ENOENT) {
        rc = pho_err_set(err, PHO_EIO, "catalog: cannot remove %s: %s", src, strerror(errno));
        goto out;
    }
    if (any && moved_to) {
        *moved_to = base;
        base = NULL;
    }
out:
    pho_free(src);
    pho_free(dst);
    pho_free(base);
    return rc;
}
