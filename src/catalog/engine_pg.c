/* SPDX-License-Identifier: MIT */
/*
 * The PostgreSQL engine: a catalog that workers on many machines share
 * (docs/scale-out.md), through libpq. Values travel in binary both ways so
 * they come back exactly (64-bit integers, doubles bit for bit), through
 * statements prepared once per connection (the server plans each once); text is
 * kept as bytea, because file names are bytes on Linux and PostgreSQL's text
 * must be valid in the database's encoding, and because bytes sort the same
 * way SQLite's text does. The schema lives in the connection's current
 * schema (choose another with options=-csearch_path=NAME to keep several
 * libraries in one database) and is migrated under an advisory lock, so
 * workers starting together do not race.
 */
#include "core/common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "catalog/internal.h"
#include "catalog/schema.h"
#include "catalog/schema_pg.h"
#include "pho/catalog.h"

#define CONN(cat) ((PGconn *)(cat)->conn)

/* Type OIDs of PostgreSQL's built-in types (fixed since the first releases). */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_TEXT = 25,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_VARCHAR = 1043,
};

/* Most parameters of a statement (a photo row has 47). */
#define PG_MAX_PARAMS 64

struct pg_stmt {
    struct cat_stmt base;
    char name[16]; /* the server's prepared statement */
    int nwant;     /* its parameters, and the types the server settled on */
    Oid want[PG_MAX_PARAMS];
    int nparams;
    Oid types[PG_MAX_PARAMS];
    char *values[PG_MAX_PARAMS];
    int lengths[PG_MAX_PARAMS];
    int formats[PG_MAX_PARAMS];
    uint8_t fixed[PG_MAX_PARAMS][8]; /* integers and doubles, big-endian */
    bool owned[PG_MAX_PARAMS];       /* values[i] is a copy to free */
    bool bind_failed;
    PGresult *res;
    int row, nrows;
    bool ran;
    int64_t changes;
};

/* libpq prints notices to stderr by default; the library never prints. */
static void quiet(void *arg, const char *message)
{
    PHO_UNUSED(arg);
    PHO_LOG_DEBUG("catalog", "PostgreSQL: %s", message);
}

/* The server's words without the trailing newline. */
static void trimmed(char *out, size_t size, const char *msg)
{
    pho_strlcpy(out, msg ? msg : "", size);
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
}

/* A failed command as a status: lost connections, full disks and conflicts are I/O
 * trouble (try again); the rest says the database is not what we expect. */
static int pg_fail(PGconn *conn, const PGresult *res, struct pho_err *err, const char *what)
{
    char why[512];
    trimmed(why, sizeof(why), res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    if (!why[0])
        trimmed(why, sizeof(why), PQerrorMessage(conn));
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (PQstatus(conn) == CONNECTION_BAD)
        return pho_err_set(err, PHO_EIO,
                           "catalog: %s: lost the connection to PostgreSQL (%s); is the server "
                           "running?",
                           what, why);
    if (state && !strcmp(state, "53200"))
        return pho_err_set(err, PHO_ENOMEM, "catalog: %s: PostgreSQL is out of memory", what);
    if (state &&
        (!strncmp(state, "08", 2) || !strncmp(state, "53", 2) || !strncmp(state, "57", 2) ||
         !strncmp(state, "40", 2) || !strncmp(state, "58", 2) || !strcmp(state, "42501")))
        return pho_err_set(err, PHO_EIO, "catalog: %s: %s", what, why);
    return pho_err_set(err, PHO_EDB, "catalog: %s: %s", what, why);
}

/* Runs SQL without parameters (one or more commands). */
static int exec_sql(PGconn *conn, const char *sql, struct pho_err *err, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : pg_fail(conn, res, err, what);
    PQclear(res);
    return rc;
}

/* The first column of the first row as an integer (text result); 0 without a row. */
static int query_int(PGconn *conn, const char *sql, int64_t *out, struct pho_err *err,
                     const char *what)
{
    *out = 0;
    PGresult *res = PQexec(conn, sql);
    int rc = res && PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : pg_fail(conn, res, err, what);
    if (rc == 0 && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
        const char *v = PQgetvalue(res, 0, 0);
        *out = !strcmp(v, "t") ? 1 : !strcmp(v, "f") ? 0 : strtoll(v, NULL, 10);
    }
    PQclear(res);
    return rc;
}

#define EMPTY_HINT                                                                               \
    "use an empty database for the catalog, or a schema of its own (options=-csearch_path=NAME " \
    "in the connection string)"

/*
 * Brings the schema up to date in one transaction, holding an advisory lock
 * so that of several workers connecting at once one migrates and the others
 * wait and find it done. A database whose tables are another program's is
 * refused before anything is written.
 */
static int migrate(PGconn *conn, struct pho_err *err)
{
    const char *what = "cannot prepare the catalog";
    char sql[256];
    int64_t ours = 0, foreign = 0, version = 0;
    int rc = exec_sql(conn, "BEGIN", err, what);
    if (rc < 0)
        return rc;
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d)", CATALOG_APPLICATION_ID);
    rc = exec_sql(conn, sql, err, what);
    if (rc == 0)
        rc = query_int(conn, "SELECT to_regclass('photo_organizer') IS NOT NULL", &ours, err, what);
    if (rc == 0 && !ours)
        rc = query_int(conn,
                       "SELECT to_regclass('photos') IS NOT NULL OR to_regclass('runs') IS NOT "
                       "NULL OR to_regclass('jobs') IS NOT NULL",
                       &foreign, err, what);
    if (rc == 0 && ours)
        rc = query_int(conn, "SELECT value FROM photo_organizer WHERE key = 'schema'", &version,
                       err, what);
    if (rc == 0 && foreign)
        rc = pho_err_set(err, PHO_EDB,
                         "catalog: the database has tables of another program (photos, runs "
                         "or jobs); " EMPTY_HINT);
    if (rc == 0 && version > PG_SCHEMA_VERSION)
        rc = pho_err_set(err, PHO_EDB,
                         "catalog: created by a newer photo-organizer (PostgreSQL schema %lld; "
                         "this one knows up to %d): upgrade photo-organizer on every machine",
                         (long long)version, PG_SCHEMA_VERSION);
    for (int64_t v = version; rc == 0 && v < PG_SCHEMA_VERSION; v++)
        rc = exec_sql(conn, catalog_pg_migrations[v], err, "cannot upgrade the catalog");
    if (rc == 0 && version < PG_SCHEMA_VERSION) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO photo_organizer (key, value) VALUES ('schema', %d) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 PG_SCHEMA_VERSION);
        rc = exec_sql(conn, sql, err, "cannot upgrade the catalog");
    }
    if (rc == 0)
        rc = exec_sql(conn, "COMMIT", err, what);
    if (rc < 0 && PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
    return rc;
}

static int pg_open(struct pho_catalog *cat, const char *where, struct pho_err *err)
{
    PGconn *conn = PQconnectdb(where);
    cat->conn = conn;
    if (!conn)
        return pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
    if (PQstatus(conn) != CONNECTION_OK) {
        char why[512];
        trimmed(why, sizeof(why), PQerrorMessage(conn));
        return pho_err_set(err, PHO_EIO,
                           "catalog: cannot connect to PostgreSQL: %s; check --catalog and that "
                           "the server is running",
                           why);
    }
    PQsetNoticeProcessor(conn, quiet, NULL);
    int rc = exec_sql(conn, "SET client_min_messages = warning", err, "cannot set up the session");
    if (rc == 0)
        rc = migrate(conn, err);
    return rc;
}

static void pg_close(struct pho_catalog *cat)
{
    /* Closing the connection rolls back what is open. */
    PQfinish(CONN(cat));
    cat->conn = NULL;
}

static int pg_begin(struct pho_catalog *cat, struct pho_err *err)
{
    return exec_sql(CONN(cat), "BEGIN", err, "cannot start a transaction");
}

static int pg_commit(struct pho_catalog *cat, struct pho_err *err)
{
    PGresult *res = PQexec(CONN(cat), "COMMIT");
    int rc = res && PQresultStatus(res) == PGRES_COMMAND_OK
                     ? 0
                     : pg_fail(CONN(cat), res, err, "cannot commit (the batch was rolled back)");
    /* A failed transaction answers COMMIT with ROLLBACK. */
    if (rc == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0)
        rc = pho_err_set(err, PHO_EDB,
                         "catalog: the transaction was rolled back after an earlier error; "
                         "nothing was committed");
    PQclear(res);
    return rc;
}

static void pg_rollback(struct pho_catalog *cat)
{
    PQclear(PQexec(CONN(cat), "ROLLBACK"));
}

static enum cat_tx pg_tx(struct pho_catalog *cat)
{
    switch (PQtransactionStatus(CONN(cat))) {
    case PQTRANS_IDLE:
        return CAT_TX_IDLE;
    case PQTRANS_INTRANS:
    case PQTRANS_ACTIVE:
        return CAT_TX_OPEN;
    default:
        return CAT_TX_FAILED;
    }
}

static void put_be64(uint8_t *out, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *in, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | in[i];
    return v;
}

/*
 * Prepares the statement on the server once for the connection and asks which type it
 * gave each parameter: values are then sent in exactly that type's binary form (an
 * integer compared with a literal may be an int4, not our int8).
 */
static int pg_prepare(struct pho_catalog *cat, enum catalog_stmt id, struct cat_stmt **out,
                      struct pho_err *err)
{
    struct pg_stmt *ps = pho_calloc(1, sizeof(*ps));
    char *sql = pho_catalog__sql(catalog_sql[id], true, "FOR UPDATE SKIP LOCKED");
    if (!ps || !sql) {
        pho_free(ps);
        pho_free(sql);
        return pho_err_set(err, PHO_ENOMEM, "catalog: out of memory");
    }
    snprintf(ps->name, sizeof(ps->name), "pho_%d", (int)id);
    PGresult *res = PQprepare(CONN(cat), ps->name, sql, 0, NULL);
    pho_free(sql);
    int rc = res && PQresultStatus(res) == PGRES_COMMAND_OK
                     ? 0
                     : pg_fail(CONN(cat), res, err, "cannot prepare a statement");
    PQclear(res);
    if (rc == 0) {
        res = PQdescribePrepared(CONN(cat), ps->name);
        rc = res && PQresultStatus(res) == PGRES_COMMAND_OK
                     ? 0
                     : pg_fail(CONN(cat), res, err, "cannot prepare a statement");
        ps->nwant = rc == 0 ? PQnparams(res) : 0;
        if (ps->nwant > PG_MAX_PARAMS)
            rc = pho_err_set(err, PHO_EDB, "catalog: a statement with %d parameters", ps->nwant);
        for (int i = 0; rc == 0 && i < ps->nwant; i++)
            ps->want[i] = PQparamtype(res, i);
        PQclear(res);
    }
    if (rc < 0) {
        pho_free(ps);
        return rc;
    }
    ps->base.cat = cat;
    *out = &ps->base;
    return 0;
}

/* Re-encodes parameter @k (bound as int8, float8 or bytea) as the type the server wants;
 * false when it cannot be (a value out of the type's range, a type we never send). */
static bool convert_param(struct pg_stmt *ps, int k)
{
    Oid have = ps->types[k], want = ps->want[k];
    if (!ps->values[k] || have == want)
        return true;
    if (have == OID_BYTEA)
        return want == OID_TEXT || want == OID_VARCHAR;
    uint64_t bits = get_be(ps->fixed[k], 8);
    if (have == OID_FLOAT8 && want == OID_FLOAT4) {
        double d;
        memcpy(&d, &bits, sizeof(d));
        float f = (float)d;
        uint32_t b32;
        memcpy(&b32, &f, sizeof(b32));
        for (int i = 0; i < 4; i++)
            ps->fixed[k][i] = (uint8_t)(b32 >> (24 - 8 * i));
        ps->lengths[k] = 4;
        return true;
    }
    if (have != OID_INT8)
        return false;
    int64_t v;
    memcpy(&v, &bits, sizeof(v));
    if (want == OID_FLOAT8) {
        double d = (double)v;
        memcpy(&bits, &d, sizeof(bits));
        put_be64(ps->fixed[k], bits);
        return true;
    }
    int width = want == OID_INT4 ? 4 : want == OID_INT2 ? 2 : want == OID_BOOL ? 1 : 0;
    if (!width || (width == 4 && (v < INT32_MIN || v > INT32_MAX)) ||
        (width == 2 && (v < INT16_MIN || v > INT16_MAX)) || (width == 1 && (v < 0 || v > 1)))
        return false;
    for (int i = 0; i < width; i++)
        ps->fixed[k][i] = (uint8_t)((uint64_t)v >> (8 * (width - 1 - i)));
    ps->lengths[k] = width;
    return true;
}

static void clear_params(struct pg_stmt *ps)
{
    for (int i = 0; i < ps->nparams; i++)
        if (ps->owned[i])
            pho_free(ps->values[i]);
    memset(ps->values, 0, sizeof(ps->values));
    memset(ps->owned, 0, sizeof(ps->owned));
    memset(ps->types, 0, sizeof(ps->types));
    ps->nparams = 0;
    ps->bind_failed = false;
}

static void pg_finalize(struct cat_stmt *s)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    clear_params(ps);
    PQclear(ps->res);
    /* The server forgets prepared statements with the connection. */
    pho_free(ps);
}

static void pg_bind(struct cat_stmt *s, int param, enum cat_type t, int64_t i, double r,
                    const void *p, size_t n)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    if (param < 1 || param > PG_MAX_PARAMS) {
        ps->bind_failed = true;
        return;
    }
    int k = param - 1;
    if (ps->owned[k])
        pho_free(ps->values[k]);
    ps->owned[k] = false;
    ps->values[k] = NULL;
    ps->lengths[k] = 0;
    ps->formats[k] = 1;
    ps->types[k] = 0;
    switch (t) {
    case CAT_INT: {
        uint64_t bits;
        memcpy(&bits, &i, sizeof(bits));
        put_be64(ps->fixed[k], bits);
        ps->values[k] = (char *)ps->fixed[k];
        ps->lengths[k] = 8;
        ps->types[k] = OID_INT8;
        break;
    }
    case CAT_REAL: {
        uint64_t bits;
        memcpy(&bits, &r, sizeof(bits));
        put_be64(ps->fixed[k], bits);
        ps->values[k] = (char *)ps->fixed[k];
        ps->lengths[k] = 8;
        ps->types[k] = OID_FLOAT8;
        break;
    }
    case CAT_TEXT:
    case CAT_BLOB:
        if (n > (size_t)INT32_MAX - 1 || !(ps->values[k] = pho_malloc(n ? n : 1))) {
            ps->bind_failed = true;
            break;
        }
        if (n)
            memcpy(ps->values[k], p, n);
        ps->owned[k] = true;
        ps->lengths[k] = (int)n;
        ps->types[k] = OID_BYTEA;
        break;
    default: /* NULL: the server infers the type from where it is used */
        break;
    }
    if (param > ps->nparams)
        ps->nparams = param;
}

static int pg_step(struct cat_stmt *s, bool *row, struct pho_err *err, const char *what)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    PGconn *conn = CONN(s->cat);
    *row = false;
    if (!ps->ran) {
        if (ps->bind_failed)
            return pho_err_set(err, PHO_ENOMEM, "catalog: %s: out of memory", what);
        if (ps->nparams > ps->nwant)
            return pho_err_set(err, PHO_EINVAL, "catalog: %s: too many parameters", what);
        for (int k = 0; k < ps->nwant; k++) {
            ps->formats[k] = 1;
            if (!convert_param(ps, k))
                return pho_err_set(err, PHO_EINVAL,
                                   "catalog: %s: parameter %d does not fit its column", what,
                                   k + 1);
        }
        ps->res = PQexecPrepared(conn, ps->name, ps->nwant, (const char *const *)ps->values,
                                 ps->lengths, ps->formats, 1);
        ExecStatusType st = ps->res ? PQresultStatus(ps->res) : PGRES_FATAL_ERROR;
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            return pg_fail(conn, ps->res, err, what);
        ps->ran = true;
        ps->row = -1;
        ps->nrows = PQntuples(ps->res);
        const char *changed = PQcmdTuples(ps->res);
        ps->changes = changed && *changed ? strtoll(changed, NULL, 10) : 0;
    }
    if (ps->row < ps->nrows)
        ps->row++;
    *row = ps->row < ps->nrows;
    return 0;
}

static enum cat_type pg_col_type(struct cat_stmt *s, int col)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    if (!ps->res || ps->row < 0 || ps->row >= ps->nrows || col >= PQnfields(ps->res) ||
        PQgetisnull(ps->res, ps->row, col))
        return CAT_NULL;
    switch (PQftype(ps->res, col)) {
    case OID_BOOL:
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
        return CAT_INT;
    case OID_FLOAT4:
    case OID_FLOAT8:
        return CAT_REAL;
    case OID_TEXT:
    case OID_VARCHAR:
        return CAT_TEXT;
    default:
        return CAT_BLOB;
    }
}

static int64_t pg_col_int(struct cat_stmt *s, int col)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    if (pg_col_type(s, col) != CAT_INT)
        return 0;
    const uint8_t *v = (const uint8_t *)PQgetvalue(ps->res, ps->row, col);
    int len = PQgetlength(ps->res, ps->row, col);
    if (len != 1 && len != 2 && len != 4 && len != 8)
        return 0;
    uint64_t bits = get_be(v, len);
    /* Sign-extend the narrower integers. */
    if (len < 8 && (bits >> (8 * len - 1)) & 1)
        bits |= ~UINT64_C(0) << (8 * len);
    int64_t out;
    memcpy(&out, &bits, sizeof(out));
    return len == 1 ? (v[0] != 0) : out;
}

static double pg_col_real(struct cat_stmt *s, int col)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    if (pg_col_type(s, col) != CAT_REAL)
        return 0;
    const uint8_t *v = (const uint8_t *)PQgetvalue(ps->res, ps->row, col);
    int len = PQgetlength(ps->res, ps->row, col);
    if (len == 4) {
        uint32_t bits = (uint32_t)get_be(v, 4);
        float f;
        memcpy(&f, &bits, sizeof(f));
        return f;
    }
    if (len != 8)
        return 0;
    uint64_t bits = get_be(v, 8);
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

static const void *pg_col_data(struct cat_stmt *s, int col, size_t *len)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    enum cat_type t = pg_col_type(s, col);
    if (t != CAT_TEXT && t != CAT_BLOB)
        return NULL;
    *len = (size_t)PQgetlength(ps->res, ps->row, col);
    return PQgetvalue(ps->res, ps->row, col);
}

static void pg_reset(struct cat_stmt *s)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    PQclear(ps->res);
    ps->res = NULL;
    ps->ran = false;
    ps->row = -1;
    ps->nrows = 0;
    clear_params(ps);
}

static int64_t pg_changes(struct cat_stmt *s)
{
    return ((struct pg_stmt *)s)->changes;
}

const struct cat_engine pho_catalog__pg = {
    .name = "PostgreSQL",
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .tx = pg_tx,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .bind = pg_bind,
    .step = pg_step,
    .col_type = pg_col_type,
    .col_int = pg_col_int,
    .col_real = pg_col_real,
    .col_data = pg_col_data,
    .reset = pg_reset,
    .changes = pg_changes,
};
