/* SPDX-License-Identifier: MIT */
/*
 * The catalog: the organizer's memory between runs, one SQLite database in
 * WAL mode. Opening it checks that the file is ours and not from a newer
 * version, then brings the schema up to date in one transaction (schema.h
 * holds the SQL). Every record is stored as typed columns so the file can be
 * queried and migrated, and read back exactly: NaN travels as NULL, unsigned
 * 64-bit values as their two's-complement bits. Statements are prepared on
 * first use and kept for the life of the connection, because a run does a
 * lookup and a put for each of possibly 100k photos.
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
#include "pho/face.h"

/* Long enough to ride out another process's commit or checkpoint, short
 * enough that a second organizer on the same folder fails visibly. */
#define BUSY_TIMEOUT_MS 5000

#define FRESH_HINT "run with --force-fresh to move it aside and start a new catalog"

/*
 * Turns an SQLite failure into a status and "catalog: <what>: <sqlite's
 * words>", with what the user can do about it where there is something.
 * Call it before the statement is reset: that keeps sqlite3_errmsg() intact.
 */
int pho_catalog__fail(sqlite3 *db, int rc, struct pho_err *err, const char *what)
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
    return rc == SQLITE_OK ? 0 : pho_catalog__fail(db, rc, err, what);
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
    int ret = rc == SQLITE_OK ? 0 : pho_catalog__fail(db, rc, err, what);
    sqlite3_finalize(s);
    return ret;
}

/* The cached statement @p id, prepared on first use. */
int pho_catalog__stmt(struct pho_catalog *cat, enum catalog_stmt id, sqlite3_stmt **out,
                      struct pho_err *err)
{
    if (!cat->stmt[id]) {
        int rc = sqlite3_prepare_v3(cat->db, catalog_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &cat->stmt[id], NULL);
        if (rc != SQLITE_OK)
            return pho_catalog__fail(cat->db, rc, err, "cannot prepare a statement");
    }
    *out = cat->stmt[id];
    return 0;
}

/*
 * Steps a statement that returns no rows. Always resets it: a statement left
 * mid-way would keep its read transaction open and stop WAL checkpoints.
 */
int pho_catalog__run(struct pho_catalog *cat, sqlite3_stmt *s, struct pho_err *err,
                     const char *what)
{
    int rc = sqlite3_step(s);
    int ret = rc == SQLITE_DONE ? 0 : pho_catalog__fail(cat->db, rc, err, what);
    sqlite3_reset(s);
    return ret;
}

/* Binds text of a known length; SQLite refuses what does not fit an int. */
int pho_catalog__bind_text(sqlite3_stmt *s, int param, const char *str, size_t len)
{
    if (len > INT_MAX)
        return SQLITE_TOOBIG;
    return sqlite3_bind_text(s, param, str, (int)len, SQLITE_STATIC);
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

int pho_catalog_open(struct pho_catalog **out, const char *db_path, struct pho_err *err)
{
    if (!out || !db_path || !*db_path) {
        if (out)
            *out = NULL;
        return pho_err_set(err, PHO_EINVAL, "catalog: no database path given");
    }
    *out = NULL;
    char *uri_safe = NULL;
    struct pho_catalog *cat = pho_calloc(1, sizeof(*cat));
    if (!cat)
        return pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
    /* This SQLite takes names starting with "file:" as URIs; "./" keeps
     * such a relative path a plain file name. */
    const char *name = db_path;
    int rc = 0;
    if (strncmp(db_path, "file:", 5) == 0) {
        size_t len = strlen(db_path);
        uri_safe = pho_malloc(len + 3);
        if (!uri_safe) {
            rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
            goto out;
        }
        memcpy(uri_safe, "./", 2);
        memcpy(uri_safe + 2, db_path, len + 1);
        name = uri_safe;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
#ifdef SQLITE_OPEN_EXRESCODE
    flags |= SQLITE_OPEN_EXRESCODE;
#endif
    int src = sqlite3_open_v2(name, &cat->db, flags, NULL);
    if (src != SQLITE_OK) {
        rc = cat->db ? pho_catalog__fail(cat->db, src, err, "cannot open")
                     : pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(cat->db, 1);
    sqlite3_busy_timeout(cat->db, BUSY_TIMEOUT_MS);
    if (sqlite3_db_readonly(cat->db, "main") == 1) {
        rc = pho_err_set(err, PHO_EIO,
                         "catalog: the file is read-only; photo-organizer needs "
                         "to write its catalog");
        goto out;
    }
    rc = check_identity(cat->db, err);
    if (rc == 0)
        rc = set_durability(cat->db, err);
    if (rc == 0)
        rc = migrate(cat->db, err);
    /* After the migrations: foreign keys cannot be switched inside a transaction. */
    if (rc == 0)
        rc = exec_sql(cat->db, "PRAGMA foreign_keys = ON", err, "cannot enable foreign keys");
out:
    pho_free(uri_safe);
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
        sqlite3_finalize(cat->stmt[i]);
    /* sqlite3_close would roll back too; saying so keeps the contract visible. */
    if (cat->db && !sqlite3_get_autocommit(cat->db))
        sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close_v2(cat->db);
    pho_free(cat);
}

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

/* -------------------------------------------------------- transactions */

int pho_catalog_begin(struct pho_catalog *cat, struct pho_err *err)
{
    if (!sqlite3_get_autocommit(cat->db))
        return pho_err_set(err, PHO_EINVAL, "catalog: a transaction is already open");
    sqlite3_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_BEGIN, &s, err);
    if (rc == 0)
        rc = pho_catalog__run(cat, s, err, "cannot start a transaction");
    cat->in_tx = rc == 0;
    return rc;
}

int pho_catalog_commit(struct pho_catalog *cat, struct pho_err *err)
{
    bool began = cat->in_tx;
    cat->in_tx = false;
    if (sqlite3_get_autocommit(cat->db)) {
        /* SQLite rolls a transaction back by itself after some errors
         * (disk full, I/O error, out of memory) in one of its statements. */
        if (began)
            return pho_err_set(err, PHO_EDB,
                               "catalog: the transaction was rolled back after "
                               "an earlier error; nothing was committed");
        return pho_err_set(err, PHO_EINVAL, "catalog: no transaction to commit");
    }
    sqlite3_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_COMMIT, &s, err);
    if (rc == 0)
        rc = pho_catalog__run(cat, s, err, "cannot commit (the batch was rolled back)");
    /* Never leave a half-failed transaction open for the next batch to join. */
    if (rc < 0 && !sqlite3_get_autocommit(cat->db))
        sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* A malloc'd copy of a text column (which may hold any bytes); NULL when out of memory. */
char *pho_catalog__text(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    if (!t && sqlite3_column_type(s, col) != SQLITE_NULL)
        return NULL;
    size_t len = t ? (size_t)sqlite3_column_bytes(s, col) : 0;
    char *d = pho_malloc(len + 1);
    if (d) {
        if (len)
            memcpy(d, t, len);
        d[len] = '\0';
    }
    return d;
}
