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

#include "catalog/faces_blob.h"
#include "catalog/schema.h"
#include "pho/catalog.h"
#include "pho/face.h"

/* Long enough to ride out another process's commit or checkpoint, short
 * enough that a second organizer on the same folder fails visibly. */
#define BUSY_TIMEOUT_MS 5000

#define FRESH_HINT "run with --force-fresh to move it aside and start a new catalog"

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
static int db_fail(sqlite3 *db, int rc, struct pho_err *err, const char *what)
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
    return rc == SQLITE_OK ? 0 : db_fail(db, rc, err, what);
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
    int ret = rc == SQLITE_OK ? 0 : db_fail(db, rc, err, what);
    sqlite3_finalize(s);
    return ret;
}

/* The cached statement @p id, prepared on first use. */
static int stmt_get(struct pho_catalog *cat, enum catalog_stmt id, sqlite3_stmt **out,
                    struct pho_err *err)
{
    if (!cat->stmt[id]) {
        int rc = sqlite3_prepare_v3(cat->db, catalog_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &cat->stmt[id], NULL);
        if (rc != SQLITE_OK)
            return db_fail(cat->db, rc, err, "cannot prepare a statement");
    }
    *out = cat->stmt[id];
    return 0;
}

/*
 * Steps a statement that returns no rows. Always resets it: a statement left
 * mid-way would keep its read transaction open and stop WAL checkpoints.
 */
static int stmt_run(struct pho_catalog *cat, sqlite3_stmt *s, struct pho_err *err, const char *what)
{
    int rc = sqlite3_step(s);
    int ret = rc == SQLITE_DONE ? 0 : db_fail(cat->db, rc, err, what);
    sqlite3_reset(s);
    return ret;
}

static int64_t u64_bits(uint64_t v)
{
    int64_t s;
    memcpy(&s, &v, sizeof(s));
    return s;
}

static uint64_t bits_u64(int64_t s)
{
    uint64_t v;
    memcpy(&v, &s, sizeof(v));
    return v;
}

/* Binds text of a known length; SQLite refuses what does not fit an int. */
static int bind_text(sqlite3_stmt *s, int param, const char *str, size_t len)
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
        rc = cat->db ? db_fail(cat->db, src, err, "cannot open")
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
    int rc = stmt_get(cat, ST_BEGIN, &s, err);
    if (rc == 0)
        rc = stmt_run(cat, s, err, "cannot start a transaction");
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
    int rc = stmt_get(cat, ST_COMMIT, &s, err);
    if (rc == 0)
        rc = stmt_run(cat, s, err, "cannot commit (the batch was rolled back)");
    /* Never leave a half-failed transaction open for the next batch to join. */
    if (rc < 0 && !sqlite3_get_autocommit(cat->db))
        sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* -------------------------------------------------------------- photos */

/* Accumulates the first bind failure, so a put binds 40 values in a row. */
struct binder {
    sqlite3_stmt *s;
    int rc;
};

static void b_int(struct binder *b, int col, int64_t v)
{
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_int64(b->s, PARAM_FIRST_COLUMN + col, v);
}

static void b_real(struct binder *b, int col, double v)
{
    if (b->rc == SQLITE_OK)
        b->rc = isnan(v) ? sqlite3_bind_null(b->s, PARAM_FIRST_COLUMN + col)
                         : sqlite3_bind_double(b->s, PARAM_FIRST_COLUMN + col, v);
}

/* A fixed-size field: never read past it, even if it lacks its NUL. */
static void b_str(struct binder *b, int col, const char *field, size_t size)
{
    if (b->rc == SQLITE_OK)
        b->rc = bind_text(b->s, PARAM_FIRST_COLUMN + col, field, strnlen(field, size));
}

#define B_STR(b, col, field) b_str(b, col, field, sizeof(field))

int pho_catalog_put(struct pho_catalog *cat, const struct pho_photo *p, struct pho_err *err)
{
    if (!p || !p->rel)
        return pho_err_set(err, PHO_EINVAL, "catalog: photo without a path");
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(cat, ST_PHOTO_PUT, &s, err);
    if (rc < 0)
        return rc;
    const struct pho_meta *m = &p->meta;
    const struct pho_quality *q = &p->quality;
    struct binder b = { s, bind_text(s, PARAM_REL, p->rel, strlen(p->rel)) };
    b_int(&b, COL_size, u64_bits(p->size));
    b_int(&b, COL_mtime_ns, p->mtime_ns);
    b_int(&b, COL_analysed, p->analysed);
    b_int(&b, COL_error, p->error);
    B_STR(&b, COL_error_msg, p->error_msg);
    b_int(&b, COL_format, m->format);
    b_int(&b, COL_file_size, u64_bits(m->file_size));
    b_int(&b, COL_meta_mtime, m->mtime);
    b_int(&b, COL_meta_mtime_nsec, m->mtime_nsec);
    b_int(&b, COL_width, m->width);
    b_int(&b, COL_height, m->height);
    b_int(&b, COL_orientation, m->orientation);
    b_int(&b, COL_orientation_tag, m->orientation_tag);
    b_int(&b, COL_time_local, m->time.local);
    b_int(&b, COL_time_nsec, m->time.nsec);
    b_int(&b, COL_time_offset_min, m->time.offset_min);
    b_int(&b, COL_time_has_offset, m->time.has_offset);
    b_int(&b, COL_time_source, m->time.source);
    B_STR(&b, COL_make, m->make);
    B_STR(&b, COL_model, m->model);
    B_STR(&b, COL_lens, m->lens);
    b_real(&b, COL_exposure_time, m->exposure_time);
    b_real(&b, COL_fnumber, m->fnumber);
    b_int(&b, COL_iso, m->iso);
    b_real(&b, COL_exposure_bias, m->exposure_bias);
    b_real(&b, COL_focal_length, m->focal_length);
    b_real(&b, COL_gps_lat, m->gps_lat);
    b_real(&b, COL_gps_lon, m->gps_lon);
    b_real(&b, COL_gps_alt, m->gps_alt);
    b_int(&b, COL_meta_flags, m->flags);
    B_STR(&b, COL_note, m->note);
    b_int(&b, COL_dhash, u64_bits(p->dhash));
    b_int(&b, COL_phash, u64_bits(p->phash));
    b_real(&b, COL_q_sharpness, q->sharpness);
    b_real(&b, COL_q_clipped_high, q->clipped_high);
    b_real(&b, COL_q_clipped_low, q->clipped_low);
    b_real(&b, COL_q_mean_luma, q->mean_luma);
    b_real(&b, COL_q_noise, q->noise);
    b_real(&b, COL_q_brisque, q->brisque);
    b_real(&b, COL_q_megapixels, q->megapixels);
    b_real(&b, COL_q_score, q->score);
    if (b.rc != SQLITE_OK) {
        rc = db_fail(cat->db, b.rc, err, "cannot store a photo");
        sqlite3_reset(s);
        return rc;
    }
    return stmt_run(cat, s, err, "cannot store a photo");
}

/*
 * Reads columns back into their C fields and checks that each fits: a row
 * that does not (edited by hand, or by a version that widened a field) is
 * treated as missing, so the photo is analysed again and the row replaced.
 */
struct reader {
    sqlite3_stmt *s;
    bool ok;
    bool nomem;
};

static int64_t r_int(struct reader *r, int col, int64_t lo, int64_t hi)
{
    if (sqlite3_column_type(r->s, col) != SQLITE_INTEGER) {
        r->ok = false;
        return 0;
    }
    int64_t v = sqlite3_column_int64(r->s, col);
    if (v < lo || v > hi) {
        r->ok = false;
        return 0;
    }
    return v;
}

static uint64_t r_u64(struct reader *r, int col)
{
    return bits_u64(r_int(r, col, INT64_MIN, INT64_MAX));
}

static double r_real(struct reader *r, int col)
{
    switch (sqlite3_column_type(r->s, col)) {
    case SQLITE_NULL:
        return NAN;
    case SQLITE_FLOAT:
        return sqlite3_column_double(r->s, col);
    default:
        r->ok = false;
        return 0;
    }
}

/* Copies at most size-1 bytes, backing off so a UTF-8 sequence is never cut. */
static void copy_bounded(char *dst, size_t size, const char *src, size_t len)
{
    if (len >= size) {
        len = size - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void r_str(struct reader *r, int col, char *field, size_t size)
{
    if (sqlite3_column_type(r->s, col) != SQLITE_TEXT) {
        r->ok = false;
        return;
    }
    const char *t = (const char *)sqlite3_column_text(r->s, col);
    if (!t) {
        r->nomem = true;
        r->ok = false;
        return;
    }
    copy_bounded(field, size, t, (size_t)sqlite3_column_bytes(r->s, col));
}

#define R_STR(r, col, field) r_str(r, col, field, sizeof(field))

/* Fills @p p from the current row of the lookup; false if the row does not fit. */
static bool read_photo(struct reader *r, struct pho_photo *p)
{
    struct pho_meta *m = &p->meta;
    struct pho_quality *q = &p->quality;
    p->size = r_u64(r, COL_size);
    p->mtime_ns = r_int(r, COL_mtime_ns, INT64_MIN, INT64_MAX);
    p->analysed = r_int(r, COL_analysed, 0, 1);
    p->error = (int)r_int(r, COL_error, INT_MIN, INT_MAX);
    R_STR(r, COL_error_msg, p->error_msg);
    m->format = (int)r_int(r, COL_format, INT_MIN, INT_MAX);
    m->file_size = r_u64(r, COL_file_size);
    m->mtime = r_int(r, COL_meta_mtime, INT64_MIN, INT64_MAX);
    m->mtime_nsec = (int32_t)r_int(r, COL_meta_mtime_nsec, INT32_MIN, INT32_MAX);
    m->width = (uint32_t)r_int(r, COL_width, 0, UINT32_MAX);
    m->height = (uint32_t)r_int(r, COL_height, 0, UINT32_MAX);
    m->orientation = (uint8_t)r_int(r, COL_orientation, 0, UINT8_MAX);
    m->orientation_tag = (uint8_t)r_int(r, COL_orientation_tag, 0, UINT8_MAX);
    m->time.local = r_int(r, COL_time_local, INT64_MIN, INT64_MAX);
    m->time.nsec = (int32_t)r_int(r, COL_time_nsec, INT32_MIN, INT32_MAX);
    m->time.offset_min = (int16_t)r_int(r, COL_time_offset_min, INT16_MIN, INT16_MAX);
    m->time.has_offset = r_int(r, COL_time_has_offset, 0, 1);
    m->time.source = (enum pho_time_source)r_int(r, COL_time_source, PHO_TIME_NONE, PHO_TIME_MTIME);
    R_STR(r, COL_make, m->make);
    R_STR(r, COL_model, m->model);
    R_STR(r, COL_lens, m->lens);
    m->exposure_time = r_real(r, COL_exposure_time);
    m->fnumber = r_real(r, COL_fnumber);
    m->iso = (uint32_t)r_int(r, COL_iso, 0, UINT32_MAX);
    m->exposure_bias = r_real(r, COL_exposure_bias);
    m->focal_length = r_real(r, COL_focal_length);
    m->gps_lat = r_real(r, COL_gps_lat);
    m->gps_lon = r_real(r, COL_gps_lon);
    m->gps_alt = r_real(r, COL_gps_alt);
    m->flags = (unsigned)r_int(r, COL_meta_flags, 0, UINT_MAX);
    R_STR(r, COL_note, m->note);
    p->dhash = r_u64(r, COL_dhash);
    p->phash = r_u64(r, COL_phash);
    q->sharpness = r_real(r, COL_q_sharpness);
    q->clipped_high = r_real(r, COL_q_clipped_high);
    q->clipped_low = r_real(r, COL_q_clipped_low);
    q->mean_luma = r_real(r, COL_q_mean_luma);
    q->noise = r_real(r, COL_q_noise);
    q->brisque = r_real(r, COL_q_brisque);
    q->megapixels = r_real(r, COL_q_megapixels);
    q->score = r_real(r, COL_q_score);
    return r->ok;
}

int pho_catalog_lookup(struct pho_catalog *cat, struct pho_photo *photo, bool *found,
                       struct pho_err *err)
{
    *found = false;
    if (!photo || !photo->rel)
        return pho_err_set(err, PHO_EINVAL, "catalog: photo without a path");
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(cat, ST_PHOTO_LOOKUP, &s, err);
    if (rc < 0)
        return rc;
    int src = bind_text(s, 1, photo->rel, strlen(photo->rel));
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(s, 2, u64_bits(photo->size));
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(s, 3, photo->mtime_ns);
    if (src == SQLITE_OK)
        src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        /* Decoded aside: the caller's record changes only on a full match. */
        struct pho_photo row;
        memset(&row, 0, sizeof(row));
        struct reader r = { s, true, false };
        if (read_photo(&r, &row)) {
            photo->meta = row.meta;
            photo->dhash = row.dhash;
            photo->phash = row.phash;
            photo->quality = row.quality;
            photo->analysed = row.analysed;
            photo->error = row.error;
            memcpy(photo->error_msg, row.error_msg, sizeof(photo->error_msg));
            photo->from_catalog = true;
            *found = true;
        } else if (r.nomem) {
            rc = pho_err_set(err, PHO_ENOMEM, "catalog: cannot read a photo: out of memory");
        } else {
            PHO_LOG_DEBUG("catalog", "row for %s does not fit this version; analysing again",
                          photo->rel);
        }
    } else if (src != SQLITE_DONE) {
        rc = db_fail(cat->db, src, err, "cannot look up a photo");
    }
    sqlite3_reset(s);
    return rc;
}

int pho_catalog_forget_photos(struct pho_catalog *cat, struct pho_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(cat, ST_PHOTO_FORGET_ALL, &s, err);
    if (rc == 0)
        rc = stmt_run(cat, s, err, "cannot forget the photos");
    if (rc == 0)
        rc = stmt_get(cat, ST_FACES_FORGET_ALL, &s, err);
    return rc < 0 ? rc : stmt_run(cat, s, err, "cannot forget the faces");
}

/* --------------------------------------------------------------- faces */

int pho_catalog_faces_put(struct pho_catalog *cat, const char *rel, uint64_t size, int64_t mtime_ns,
                          const char *config, const struct pho_face_list *faces,
                          struct pho_err *err)
{
    if (!rel || !config || !faces)
        return pho_err_set(err, PHO_EINVAL, "catalog: faces without a photo or a configuration");
    size_t len = 0;
    uint8_t *data = pho_catalog__faces_encode(faces, &len);
    if (!data)
        return pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(cat, ST_FACES_PUT, &s, err);
    if (rc == 0) {
        int src = bind_text(s, 1, rel, strlen(rel));
        if (src == SQLITE_OK)
            src = sqlite3_bind_int64(s, 2, u64_bits(size));
        if (src == SQLITE_OK)
            src = sqlite3_bind_int64(s, 3, mtime_ns);
        if (src == SQLITE_OK)
            src = bind_text(s, 4, config, strlen(config));
        if (src == SQLITE_OK)
            src = sqlite3_bind_int64(s, 5, faces->image_w);
        if (src == SQLITE_OK)
            src = sqlite3_bind_int64(s, 6, faces->image_h);
        if (src == SQLITE_OK)
            src = sqlite3_bind_int64(s, 7, (int64_t)faces->count);
        if (src == SQLITE_OK)
            src = sqlite3_bind_blob64(s, 8, data, (sqlite3_uint64)len, SQLITE_TRANSIENT);
        if (src != SQLITE_OK) {
            rc = db_fail(cat->db, src, err, "cannot record faces");
            sqlite3_reset(s);
        } else {
            rc = stmt_run(cat, s, err, "cannot record faces");
        }
    }
    pho_free(data);
    return rc;
}

int pho_catalog_faces_get(struct pho_catalog *cat, const char *rel, uint64_t size, int64_t mtime_ns,
                          const char *config, struct pho_face_list *out, bool *found,
                          struct pho_err *err)
{
    *found = false;
    memset(out, 0, sizeof(*out));
    if (!rel || !config)
        return pho_err_set(err, PHO_EINVAL, "catalog: faces without a photo or a configuration");
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(cat, ST_FACES_GET, &s, err);
    if (rc < 0)
        return rc;
    int src = bind_text(s, 1, rel, strlen(rel));
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(s, 2, u64_bits(size));
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(s, 3, mtime_ns);
    if (src == SQLITE_OK)
        src = bind_text(s, 4, config, strlen(config));
    if (src == SQLITE_OK)
        src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        const uint8_t *blob = sqlite3_column_blob(s, 3);
        size_t len = (size_t)sqlite3_column_bytes(s, 3);
        out->image_w = (uint32_t)sqlite3_column_int64(s, 0);
        out->image_h = (uint32_t)sqlite3_column_int64(s, 1);
        if (pho_catalog__faces_decode(out, blob ? blob : (const uint8_t *)"", len,
                                      sqlite3_column_int64(s, 2))) {
            *found = true;
        } else {
            pho_free(out->faces);
            memset(out, 0, sizeof(*out));
            PHO_LOG_DEBUG("catalog", "faces of %s do not fit this version; analysing again", rel);
        }
    } else if (src != SQLITE_DONE) {
        rc = db_fail(cat->db, src, err, "cannot look up faces");
    }
    sqlite3_reset(s);
    return rc;
}

/* ---------------------------------------------------------------- runs */

int pho_catalog_run_start(struct pho_catalog *cat, const char *settings_json, int64_t *run_id,
                          struct pho_err *err)
{
    *run_id = 0;
    if (!settings_json)
        return pho_err_set(err, PHO_EINVAL, "catalog: run without settings");
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(cat, ST_RUN_START, &s, err);
    if (rc < 0)
        return rc;
    int src = bind_text(s, 1, settings_json, strlen(settings_json));
    if (src != SQLITE_OK) {
        rc = db_fail(cat->db, src, err, "cannot record the run");
        sqlite3_reset(s);
        return rc;
    }
    rc = stmt_run(cat, s, err, "cannot record the run");
    if (rc == 0)
        *run_id = sqlite3_last_insert_rowid(cat->db);
    return rc;
}

int pho_catalog_run_finish(struct pho_catalog *cat, int64_t run_id, struct pho_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(cat, ST_RUN_FINISH, &s, err);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, run_id);
    rc = stmt_run(cat, s, err, "cannot mark the run finished");
    if (rc == 0 && sqlite3_changes(cat->db) == 0)
        rc = pho_err_set(err, PHO_ENOTFOUND, "catalog: no run %lld to mark finished",
                         (long long)run_id);
    return rc;
}

/* A malloc'd copy of a text column (which may hold any bytes); NULL when out of memory. */
static char *dup_column(sqlite3_stmt *s, int col)
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

int pho_catalog_last_run(struct pho_catalog *cat, char **settings_json, bool *finished,
                         struct pho_err *err)
{
    *settings_json = NULL;
    *finished = false;
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(cat, ST_RUN_LAST, &s, err);
    if (rc < 0)
        return rc;
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        *settings_json = dup_column(s, 0);
        if (!*settings_json)
            rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
        else
            *finished = sqlite3_column_int(s, 1) != 0;
    } else if (src != SQLITE_DONE) {
        rc = db_fail(cat->db, src, err, "cannot read the last run");
    }
    sqlite3_reset(s);
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
    char sha[65];
    if (!rel || !*rel)
        return pho_err_set(err, PHO_EINVAL, "catalog: output file without a path");
    if (!sha256_normalise(sha, sha256_hex))
        return pho_err_set(err, PHO_EINVAL, "catalog: output checksum is not 64 hex digits");
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(cat, ST_OUTPUT_PUT, &s, err);
    if (rc < 0)
        return rc;
    int src = bind_text(s, 1, rel, strlen(rel));
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(s, 2, u64_bits(size));
    if (src == SQLITE_OK)
        src = bind_text(s, 3, sha, 64);
    if (src != SQLITE_OK) {
        rc = db_fail(cat->db, src, err, "cannot record an output file");
        sqlite3_reset(s);
        return rc;
    }
    return stmt_run(cat, s, err, "cannot record an output file");
}

int pho_catalog_output_forget(struct pho_catalog *cat, const char *rel, struct pho_err *err)
{
    if (!rel)
        return pho_err_set(err, PHO_EINVAL, "catalog: output file without a path");
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(cat, ST_OUTPUT_FORGET, &s, err);
    if (rc < 0)
        return rc;
    int src = bind_text(s, 1, rel, strlen(rel));
    if (src != SQLITE_OK) {
        rc = db_fail(cat->db, src, err, "cannot forget an output file");
        sqlite3_reset(s);
        return rc;
    }
    return stmt_run(cat, s, err, "cannot forget an output file");
}

int pho_catalog_output_list(struct pho_catalog *cat, struct pho_output_file **files, size_t *count,
                            struct pho_err *err)
{
    *files = NULL;
    *count = 0;
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(cat, ST_OUTPUT_LIST, &s, err);
    if (rc < 0)
        return rc;
    struct pho_output_file *list = NULL;
    size_t n = 0, cap = 0;
    int src;
    while (rc == 0 && (src = sqlite3_step(s)) == SQLITE_ROW) {
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
        f->rel = dup_column(s, 0);
        if (!f->rel) {
            rc = pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
            break;
        }
        n++;
        f->size = bits_u64(sqlite3_column_int64(s, 1));
        const unsigned char *sha = sqlite3_column_text(s, 2);
        if (sha)
            copy_bounded(f->sha256, sizeof(f->sha256), (const char *)sha,
                         (size_t)sqlite3_column_bytes(s, 2));
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = db_fail(cat->db, src, err, "cannot list the output files");
    sqlite3_reset(s);
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
