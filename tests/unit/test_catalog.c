/* SPDX-License-Identifier: MIT */
/*
 * The catalog: exact round trips of every photo field, the (rel, size,
 * mtime) key, runs and outputs, refusal of foreign, damaged and newer files,
 * durability across a killed process, and recovery from every failed
 * allocation (ours and SQLite's) while opening.
 *
 * Built twice: test_catalog runs these against the SQLite engine, and
 * test_catalog_pg (PHO_TEST_PG) runs the same tests against a PostgreSQL
 * server of its own (tests/lib/pgserver.sh), one new database per test, plus
 * the work queue's.
 */
#include "core/common.h"

#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>
#include <sqlite3.h>
#ifdef PHO_TEST_PG
#    include <libpq-fe.h>
#endif

#include "../lib/testlib.h"
#include "pho/catalog.h"
#include "pho/face.h"

/* ------------------------------------------------------------- helpers */

/* The schema version this build writes (migrations in src/catalog/schema.h). */
#define CATALOG_VERSION 11

struct fixture {
    char *dir;
    char db[4096];
};

#ifdef PHO_TEST_PG
#    define PG 1

/* The server all tests share: started by the group setup. */
static char pg_dir[1024];
static int pg_seq;

static void pg_admin(const char *sql)
{
    char conninfo[4200];
    snprintf(conninfo, sizeof(conninfo), "host=%s/pg user=pho dbname=postgres", pg_dir);
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("%s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static int pg_group_setup(void **state)
{
    PHO_UNUSED(state);
    char *dir = make_tempdir();
    snprintf(pg_dir, sizeof(pg_dir), "%s", dir);
    free(dir);
    const char *root = getenv("PHO_SOURCE_ROOT");
    char cmd[8400];
    snprintf(cmd, sizeof(cmd), "'%s/tests/lib/pgserver.sh' start '%s/pg' >/dev/null",
             root ? root : ".", pg_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "# could not start PostgreSQL\n");
        return -1;
    }
    return 0;
}

static int pg_group_teardown(void **state)
{
    PHO_UNUSED(state);
    const char *root = getenv("PHO_SOURCE_ROOT");
    char cmd[8400];
    snprintf(cmd, sizeof(cmd), "'%s/tests/lib/pgserver.sh' stop '%s/pg'", root ? root : ".",
             pg_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not stop PostgreSQL\n");
    rm_rf(pg_dir);
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = make_tempdir();
    char sql[64];
    snprintf(sql, sizeof(sql), "CREATE DATABASE t%d", ++pg_seq);
    pg_admin(sql);
    snprintf(f->db, sizeof(f->db), "host=%s/pg user=pho dbname=t%d", pg_dir, pg_seq);
    *state = f;
    return 0;
}

static PGresult *pg_query(const char *db, const char *sql)
{
    PGconn *c = PQconnectdb(db);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("%s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQfinish(c);
    return r;
}

/* One integer (or boolean) from SQL run on a separate connection. */
static int64_t sql_int(const char *db, const char *sql)
{
    PGresult *r = pg_query(db, sql);
    assert_true(PQntuples(r) > 0);
    const char *v = PQgetvalue(r, 0, 0);
    int64_t n = !strcmp(v, "t") ? 1 : !strcmp(v, "f") ? 0 : strtoll(v, NULL, 10);
    PQclear(r);
    return n;
}

static void sql_exec(const char *db, const char *sql)
{
    PQclear(pg_query(db, sql));
}
#else
#    define PG 0

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = make_tempdir();
    snprintf(f->db, sizeof(f->db), "%s/catalog.db", f->dir);
    *state = f;
    return 0;
}
#endif

static int teardown(void **state)
{
    struct fixture *f = *state;
    rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static struct pho_catalog *open_ok(const char *db)
{
    struct pho_catalog *cat = NULL;
    struct pho_err err = PHO_ERR_INIT;
    int rc = pho_catalog_open(&cat, db, &err);
    if (rc != 0)
        fail_msg("open %s: %s", db, err.msg);
    assert_non_null(cat);
    return cat;
}

#if !PG
static void remove_db(const char *db)
{
    const char *parts[] = { "", "-wal", "-shm", "-journal" };
    char path[4200];
    for (size_t i = 0; i < PHO_ARRAY_LEN(parts); i++) {
        snprintf(path, sizeof(path), "%s%s", db, parts[i]);
        unlink(path);
    }
}
#endif

#if !PG
/* One integer from SQL run on a separate, plain SQLite connection. */
static int64_t sql_int(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(h));
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

static void sql_text(const char *db, const char *sql, char *out, size_t size)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    snprintf(out, size, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(h);
}

static void sql_exec(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(h);
}
#endif

/* A string of exactly len bytes (len < size) made of a repeated UTF-8 pattern. */
static void fill_str(char *dst, size_t size, size_t len, const char *pattern)
{
    size_t plen = strlen(pattern), n = 0;
    assert_true(len < size);
    while (n < len) {
        size_t take = PHO_MIN(plen, len - n);
        memcpy(dst + n, pattern, take);
        n += take;
    }
    dst[len] = '\0';
}

/* Every field set, most at the edge of its type. */
static void photo_extreme(struct pho_photo *p, char *rel)
{
    pho_photo_init(p);
    p->rel = rel;
    p->size = UINT64_MAX;
    p->mtime_ns = INT64_MIN;
    struct pho_meta *m = &p->meta;
    m->format = 17;
    m->file_size = UINT64_MAX - 1;
    m->mtime = INT64_MAX;
    m->mtime_nsec = INT32_MIN;
    m->width = UINT32_MAX;
    m->height = UINT32_MAX - 7;
    m->orientation = UINT8_MAX;
    m->orientation_tag = 8;
    m->time.local = INT64_MIN;
    m->time.nsec = INT32_MAX;
    m->time.offset_min = INT16_MIN;
    m->time.has_offset = true;
    m->time.source = PHO_TIME_MTIME;
    /* Full length, ending in half of a UTF-8 sequence: bytes come back as stored. */
    fill_str(m->make, sizeof(m->make), sizeof(m->make) - 1, "a\xc3\xa9");
    snprintf(m->model, sizeof(m->model), "O'Brien \"Mk II\"\nline two\ttab; DROP TABLE photos;--");
    m->lens[0] = '\0';
    fill_str(m->serial, sizeof(m->serial), sizeof(m->serial) - 1, "0320");
    fill_str(m->content_id, sizeof(m->content_id), sizeof(m->content_id) - 1, "UUID");
    m->exposure_time = 5e-324; /* smallest denormal */
    m->fnumber = DBL_MAX;
    m->iso = UINT32_MAX;
    m->exposure_bias = -0.0;
    m->focal_length = INFINITY;
    m->gps_lat = -INFINITY;
    m->gps_lon = -DBL_MIN;
    m->gps_alt = NAN;
    m->flags = UINT_MAX;
    fill_str(m->note, sizeof(m->note), sizeof(m->note) - 1, "\xe2\x82\xac!"); /* euro sign */
    p->dhash = UINT64_MAX;
    p->phash = UINT64_C(1) << 63;
    p->hashed_from_thumbnail = true;
    p->sig.crop_dhash[0] = UINT64_MAX;
    p->sig.crop_dhash[1] = 1;
    p->sig.crop_phash[0] = UINT64_C(1) << 63;
    p->sig.crop_phash[1] = UINT64_C(0x0123456789abcdef);
    p->sig.turned_dhash[0] = UINT64_MAX - 1;
    p->sig.turned_dhash[1] = 2;
    for (size_t i = 0; i < sizeof(p->sig.colour); i++)
        p->sig.colour[i] = (uint8_t)(255 - i);
    for (size_t i = 0; i < sizeof(p->sig.thumb); i++)
        p->sig.thumb[i] = (uint8_t)(i * 7 + 3);
    struct pho_quality *q = &p->quality;
    q->sharpness = 1e300;
    q->clipped_high = 1.0;
    q->clipped_low = 0.1; /* not exact in binary: must come back bit for bit */
    q->mean_luma = 3.0;   /* integral: REAL affinity would store it as an integer */
    q->noise = -0.0;
    q->brisque = NAN;
    q->megapixels = 2.0 / 3.0;
    q->score = nextafter(1.0, 0.0);
    p->analysed = true;
    p->error = INT32_MIN;
    fill_str(p->error_msg, sizeof(p->error_msg), sizeof(p->error_msg) - 1, "x\n\"'");
}

/* The opposite corner: zeros, empty strings, an error instead of an analysis. */
static void photo_failed(struct pho_photo *p, char *rel)
{
    pho_photo_init(p);
    p->rel = rel;
    p->meta.orientation = 1;
    p->quality.brisque = NAN;
    p->error = PHO_ECORRUPT;
    snprintf(p->error_msg, sizeof(p->error_msg), "image: premature end of JPEG file");
}

static void assert_same_double(double a, double b, const char *what)
{
    if (isnan(a) && isnan(b))
        return;
    if (memcmp(&a, &b, sizeof(a)) != 0)
        fail_msg("%s: stored %.17g, read back %.17g", what, a, b);
}

#define SAME_D(field) assert_same_double(a->field, b->field, #field)
#define SAME_I(field) assert_true(a->field == b->field)

/* Everything the catalog restores, compared exactly (NaN equals NaN). */
static void assert_restored(const struct pho_photo *a, const struct pho_photo *b)
{
    SAME_I(meta.format);
    SAME_I(meta.file_size);
    SAME_I(meta.mtime);
    SAME_I(meta.mtime_nsec);
    SAME_I(meta.width);
    SAME_I(meta.height);
    SAME_I(meta.orientation);
    SAME_I(meta.orientation_tag);
    SAME_I(meta.time.local);
    SAME_I(meta.time.nsec);
    SAME_I(meta.time.offset_min);
    SAME_I(meta.time.has_offset);
    SAME_I(meta.time.source);
    assert_string_equal(a->meta.make, b->meta.make);
    assert_string_equal(a->meta.model, b->meta.model);
    assert_string_equal(a->meta.lens, b->meta.lens);
    assert_string_equal(a->meta.serial, b->meta.serial);
    assert_string_equal(a->meta.content_id, b->meta.content_id);
    SAME_D(meta.exposure_time);
    SAME_D(meta.fnumber);
    SAME_I(meta.iso);
    SAME_D(meta.exposure_bias);
    SAME_D(meta.focal_length);
    SAME_D(meta.gps_lat);
    SAME_D(meta.gps_lon);
    SAME_D(meta.gps_alt);
    SAME_I(meta.flags);
    assert_string_equal(a->meta.note, b->meta.note);
    SAME_I(dhash);
    SAME_I(phash);
    assert_memory_equal(&a->sig, &b->sig, sizeof(a->sig));
    SAME_D(quality.sharpness);
    SAME_D(quality.clipped_high);
    SAME_D(quality.clipped_low);
    SAME_D(quality.mean_luma);
    SAME_D(quality.noise);
    SAME_D(quality.brisque);
    SAME_D(quality.megapixels);
    SAME_D(quality.score);
    SAME_I(analysed);
    SAME_I(hashed_from_thumbnail);
    SAME_I(error);
    assert_string_equal(a->error_msg, b->error_msg);
}

/* A record to look up: only the key set, everything else poisoned. */
static void probe_for(struct pho_photo *q, const struct pho_photo *p)
{
    memset(q, 0x5a, sizeof(*q));
    q->path = NULL;
    q->rel = p->rel;
    q->size = p->size;
    q->mtime_ns = p->mtime_ns;
    q->from_catalog = false;
}

static bool lookup(struct pho_catalog *cat, struct pho_photo *q)
{
    bool found = true;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_catalog_lookup(cat, q, &found, &err) != 0)
        fail_msg("lookup %s: %s", q->rel, err.msg);
    return found;
}

static void put_ok(struct pho_catalog *cat, const struct pho_photo *p)
{
    struct pho_err err = PHO_ERR_INIT;
    if (pho_catalog_put(cat, p, &err) != 0)
        fail_msg("put %s: %s", p->rel, err.msg);
}

static void assert_module_msg(const struct pho_err *err)
{
    if (strncmp(err->msg, "catalog: ", 9) != 0)
        fail_msg("message does not name the module: \"%s\"", err->msg);
}

#if !PG
/* Sets or clears the immutable flag (root only; false where unsupported). */
static bool set_immutable(const char *path, bool on)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    int flags = 0;
    bool ok = ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
    if (ok) {
        flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
        ok = ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
    }
    close(fd);
    return ok;
}
#endif

/* --------------------------------------------------------------- tests */

static void test_round_trip_every_field(void **state)
{
    struct fixture *f = *state;
    char rel_a[512], rel_b[] = "plain.jpg";
    /* Keys are bytes below the source root: UTF-8, quotes, a newline, a long name. */
    int n = snprintf(rel_a, sizeof(rel_a), "2019/Caf\xc3\xa9 \"d'\xc3\xa9t\xc3\xa9\"\nx/");
    fill_str(rel_a + n, sizeof(rel_a) - (size_t)n, 400, "IMG_0001 ");
    struct pho_photo a, b, q;
    photo_extreme(&a, rel_a);
    photo_failed(&b, rel_b);

    struct pho_catalog *cat = open_ok(f->db);
    put_ok(cat, &a);
    put_ok(cat, &b);
    pho_catalog_close(cat);

    cat = open_ok(f->db);
    probe_for(&q, &a);
    assert_true(lookup(cat, &q));
    assert_restored(&a, &q);
    assert_true(q.from_catalog);
    /* The key and the path belong to the caller and are left alone. */
    assert_ptr_equal(q.rel, rel_a);
    assert_null(q.path);
    assert_true(q.size == UINT64_MAX && q.mtime_ns == INT64_MIN);

    probe_for(&q, &b);
    assert_true(lookup(cat, &q));
    assert_restored(&b, &q);
    assert_false(q.analysed);
    assert_int_equal(q.error, PHO_ECORRUPT);
    pho_catalog_close(cat);

    /* Hashes are stored as the signed reading of their bits; NaN as NULL;
     * the columns really are typed columns anyone can query. */
    assert_int_equal(sql_int(f->db, "SELECT dhash FROM photos WHERE rel = 'plain.jpg'"), 0);
    assert_int_equal(sql_int(f->db, PG ? "SELECT count(*) FROM photos WHERE dhash = -1 AND "
                                         "phash = -9223372036854775808 AND q_brisque IS NULL "
                                         "AND gps_alt IS NULL AND q_mean_luma IS NOT NULL AND "
                                         "width = 4294967295 AND lens = ''"
                                       : "SELECT count(*) FROM photos WHERE dhash = -1 AND "
                                         "phash = -9223372036854775808 AND q_brisque IS NULL AND "
                                         "gps_alt IS NULL AND typeof(q_mean_luma) = 'real' AND "
                                         "width = 4294967295 AND lens = ''"),
                     1);
}

static void test_truncated_strings_on_load(void **state)
{
    struct fixture *f = *state;
    char rel[] = "long.jpg";
    struct pho_photo p, q;
    photo_failed(&p, rel);
    struct pho_catalog *cat = open_ok(f->db);
    put_ok(cat, &p);
    pho_catalog_close(cat);
    /* Rows written by someone else may hold longer strings than the fields:
     * 200 x "é" (400 bytes) must come back cut to whole characters. */
    sql_exec(f->db, PG ? "UPDATE photos SET make = convert_to(repeat('é', 200), 'UTF8'), "
                         "error_msg = convert_to(repeat('ab', 300), 'UTF8')"
                       : "UPDATE photos SET make = replace(hex(zeroblob(200)), '00', 'é'), "
                         "error_msg = replace(hex(zeroblob(300)), '00', 'ab')");
    cat = open_ok(f->db);
    probe_for(&q, &p);
    assert_true(lookup(cat, &q));
    assert_int_equal(strlen(q.meta.make), PHO_META_STR - 2); /* 47 whole "é" */
    assert_int_equal(strlen(q.error_msg), PHO_PHOTO_ERR_MAX - 1);
    assert_true((unsigned char)q.meta.make[PHO_META_STR - 3] == 0xa9);

    /* A value that does not fit its field makes the row unusable: not found,
     * the photo untouched, and the next put replaces the row. */
    pho_catalog_close(cat);
    sql_exec(f->db, "UPDATE photos SET width = 4294967296");
    cat = open_ok(f->db);
    probe_for(&q, &p);
    struct pho_photo before;
    memcpy(&before, &q, sizeof(q));
    assert_false(lookup(cat, &q));
    assert_memory_equal(&before, &q, sizeof(q));
    put_ok(cat, &p);
    assert_true(lookup(cat, &q));
    assert_restored(&p, &q);
    pho_catalog_close(cat);
}

static void test_key_semantics(void **state)
{
    struct fixture *f = *state;
    char rel[] = "a/b.jpg";
    struct pho_photo p, q;
    photo_extreme(&p, rel);
    p.size = 1234;
    p.mtime_ns = INT64_C(1700000000123456789);
    struct pho_catalog *cat = open_ok(f->db);
    put_ok(cat, &p);

    /* A different size or mtime: not found, and the probe is left untouched. */
    probe_for(&q, &p);
    q.size++;
    struct pho_photo before;
    memcpy(&before, &q, sizeof(q));
    assert_false(lookup(cat, &q));
    assert_memory_equal(&before, &q, sizeof(q));
    probe_for(&q, &p);
    q.mtime_ns--;
    assert_false(lookup(cat, &q));
    probe_for(&q, &p);
    char other[] = "a/B.jpg"; /* keys are case-sensitive bytes */
    q.rel = other;
    assert_false(lookup(cat, &q));
    probe_for(&q, &p);
    assert_true(lookup(cat, &q));
    pho_catalog_close(cat);
    int64_t id = sql_int(f->db, "SELECT id FROM photos");

    /* The file changed: the next put replaces the stale row (same id). */
    cat = open_ok(f->db);
    struct pho_photo p2;
    photo_failed(&p2, rel);
    p2.size = 99;
    p2.mtime_ns = p.mtime_ns + 1;
    put_ok(cat, &p2);
    probe_for(&q, &p);
    assert_false(lookup(cat, &q));
    probe_for(&q, &p2);
    assert_true(lookup(cat, &q));
    assert_restored(&p2, &q);
    pho_catalog_close(cat);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM photos"), 1);
    assert_int_equal(sql_int(f->db, "SELECT id FROM photos"), id);
}

static void test_forget_photos(void **state)
{
    struct fixture *f = *state;
    char rels[3][16] = { "1.jpg", "2.jpg", "3.jpg" };
    struct pho_photo p[3], q;
    struct pho_catalog *cat = open_ok(f->db);
    struct pho_err err = PHO_ERR_INIT;
    int64_t run;
    assert_int_equal(pho_catalog_run_start(cat, "{}", &run, &err), 0);
    assert_int_equal(pho_catalog_output_put(cat, "group_0001/1.jpg", 5,
                                            "0123456789abcdef0123456789abcdef"
                                            "0123456789abcdef0123456789abcdef",
                                            &err),
                     0);
    for (int i = 0; i < 3; i++) {
        photo_failed(&p[i], rels[i]);
        put_ok(cat, &p[i]);
    }
    assert_int_equal(pho_catalog_forget_photos(cat, &err), 0);
    for (int i = 0; i < 3; i++) {
        probe_for(&q, &p[i]);
        assert_false(lookup(cat, &q));
    }
    /* Runs and outputs are not photo analyses: they stay. */
    char *settings = NULL;
    bool finished = true;
    assert_int_equal(pho_catalog_last_run(cat, &settings, &finished, &err), 0);
    assert_string_equal(settings, "{}");
    pho_free(settings);
    struct pho_output_file *files = NULL;
    size_t count = 0;
    assert_int_equal(pho_catalog_output_list(cat, &files, &count, &err), 0);
    assert_int_equal(count, 1);
    pho_catalog_outputs_free(files, count);
    put_ok(cat, &p[1]);
    probe_for(&q, &p[1]);
    assert_true(lookup(cat, &q));
    pho_catalog_close(cat);
}

static void test_runs(void **state)
{
    struct fixture *f = *state;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_catalog *cat = open_ok(f->db);
    char *settings = (char *)"poison";
    bool finished = true;
    assert_int_equal(pho_catalog_last_run(cat, &settings, &finished, &err), 0);
    assert_null(settings);
    assert_false(finished);

    const char *first = "{\"source\":\"/photos/Caf\xc3\xa9 \\\"x\\\"\",\"threshold\":10}";
    int64_t id1 = 0, id2 = 0;
    assert_int_equal(pho_catalog_run_start(cat, first, &id1, &err), 0);
    assert_true(id1 > 0);
    assert_int_equal(pho_catalog_last_run(cat, &settings, &finished, &err), 0);
    assert_string_equal(settings, first);
    assert_false(finished);
    pho_free(settings);
    assert_int_equal(pho_catalog_run_finish(cat, id1, &err), 0);
    assert_int_equal(pho_catalog_last_run(cat, &settings, &finished, &err), 0);
    assert_true(finished);
    pho_free(settings);

    /* The newest run wins, finished or not. */
    assert_int_equal(pho_catalog_run_start(cat, "{\"n\":2}", &id2, &err), 0);
    assert_true(id2 > id1);
    pho_catalog_close(cat);
    cat = open_ok(f->db);
    assert_int_equal(pho_catalog_last_run(cat, &settings, &finished, &err), 0);
    assert_string_equal(settings, "{\"n\":2}");
    assert_false(finished);
    pho_free(settings);

    assert_int_equal(pho_catalog_run_finish(cat, id2 + 100, &err), PHO_ENOTFOUND);
    assert_module_msg(&err);
    assert_int_equal(pho_catalog_run_start(cat, NULL, &id2, &err), PHO_EINVAL);
    assert_module_msg(&err);
    pho_catalog_close(cat);
    assert_true(sql_int(f->db, "SELECT started_at FROM runs WHERE id = 1") >
                1600000000); /* Unix seconds */
    assert_int_equal(sql_int(f->db, "SELECT finished_at IS NULL FROM runs WHERE id = 2"), 1);
}

/* People: persons per model, their faces, merges and refusals (docs/people.md). */
static void test_people(void **state)
{
    struct fixture *f = *state;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_catalog *cat = open_ok(f->db);
    int64_t next = 0;
    assert_int_equal(pho_catalog_person_next_id(cat, &next, &err), 0);
    assert_int_equal(next, 1);
    assert_int_equal(pho_catalog_person_new(cat, 1, "m-192", &err), 0);
    assert_int_equal(pho_catalog_person_new(cat, 2, "m-192", &err), 0);
    assert_int_equal(pho_catalog_person_new(cat, 3, "other", &err), 0);
    assert_int_equal(pho_catalog_person_next_id(cat, &next, &err), 0);
    assert_int_equal(next, 4);
    assert_int_equal(pho_catalog_person_set(cat, 1, "Zo\xc3\xab", -1, -1, &err), 0);
    assert_int_equal(pho_catalog_person_set(cat, 2, NULL, 1, 1, &err), 0);
    assert_int_equal(pho_catalog_person_set(cat, 9, "x", -1, -1, &err), PHO_ENOTFOUND);
    struct pho_person_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(pho_catalog_persons(cat, "m-192", &rows, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].name, "Zo\xc3\xab");
    assert_false(rows[0].hidden);
    assert_true(rows[1].hidden);
    assert_int_equal(rows[1].merged_into, 1);
    assert_string_equal(rows[1].name, "");
    pho_catalog_persons_free(rows, n);
    assert_int_equal(pho_catalog_persons(cat, NULL, &rows, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(rows[2].model, "other");
    pho_catalog_persons_free(rows, n);

    char ab[] = "a/b.jpg", c[] = "c.jpg";
    struct pho_person_face faces[2] = {
        { .rel = ab, .face = 0, .box = { .1f, .2f, .3f, .4f }, .person = 2, .score = .9f },
        { .rel = ab, .face = 1, .box = { .5f, .2f, .7f, .4f }, .person = 0 },
    };
    assert_int_equal(pho_catalog_person_faces_replace(cat, "m-192", "a/b.jpg", faces, 2, &err), 0);
    struct pho_person_face pin = { .rel = c, .face = 3, .person = 1, .pinned = true };
    assert_int_equal(pho_catalog_person_face_put(cat, "m-192", &pin, &err), 0);
    assert_int_equal(pho_catalog_person_refuse(cat, "m-192", &faces[1], &err), 0);
    assert_int_equal(pho_catalog_person_faces_move(cat, 2, 1, &err), 0);
    pho_catalog_close(cat);

    cat = open_ok(f->db);
    struct pho_person_face *got = NULL;
    assert_int_equal(pho_catalog_person_faces(cat, "m-192", 0, &got, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(got[0].rel, "a/b.jpg");
    assert_int_equal(got[0].person, 1); /* moved by the merge */
    assert_true(fabsf(got[0].box[2] - .3f) < 1e-6f && fabsf(got[0].score - .9f) < 1e-6f);
    assert_int_equal(got[1].person, 0);
    assert_true(got[2].pinned);
    pho_catalog_person_faces_free(got, n);
    assert_int_equal(pho_catalog_person_faces(cat, "m-192", 1, &got, &n, &err), 0);
    assert_int_equal(n, 2);
    pho_catalog_person_faces_free(got, n);
    assert_int_equal(pho_catalog_person_refusals(cat, "m-192", &got, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(got[0].face, 1);
    assert_int_equal(got[0].person, 0);
    pho_catalog_person_faces_free(got, n);
    /* Replacing a photo's rows drops the ones not given again. */
    assert_int_equal(pho_catalog_person_faces_replace(cat, "m-192", "a/b.jpg", NULL, 0, &err), 0);
    assert_int_equal(pho_catalog_person_faces(cat, "m-192", 0, &got, &n, &err), 0);
    assert_int_equal(n, 1);
    pho_catalog_person_faces_free(got, n);
    pho_catalog_close(cat);
}

/* What a made output was made from: kept, replaced, read back, forgotten with the output. */
static void test_derived(void **state)
{
    struct fixture *f = *state;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_catalog *cat = open_ok(f->db);
    const char *sha = "0000000000000000000000000000000000000000000000000000000000000001";
    char *recipe = (char *)&err, *details = (char *)&err;
    bool found = true;
    assert_int_equal(
            pho_catalog_derived_get(cat, "g/best_x_fixed.jpg", &recipe, &details, &found, &err), 0);
    assert_false(found);
    assert_null(recipe);
    assert_null(details);
    assert_int_equal(pho_catalog_output_put(cat, "g/best_x_fixed.jpg", 3, sha, &err), 0);
    assert_int_equal(pho_catalog_derived_put(cat, "g/best_x_fixed.jpg", "r1", "{}", &err), 0);
    assert_int_equal(pho_catalog_derived_put(cat, "g/best_x_fixed.jpg", "r2", "{\"a\":1}", &err),
                     0);
    assert_int_equal(pho_catalog_derived_put(cat, "g/refused.jpg", "r3", "{}", &err), 0);
    assert_int_equal(pho_catalog_derived_put(cat, "", "r", "{}", &err), PHO_EINVAL);
    pho_catalog_close(cat);

    cat = open_ok(f->db);
    assert_int_equal(
            pho_catalog_derived_get(cat, "g/best_x_fixed.jpg", &recipe, &details, &found, &err), 0);
    assert_true(found);
    assert_string_equal(recipe, "r2");
    assert_string_equal(details, "{\"a\":1}");
    pho_free(recipe);
    pho_free(details);
    assert_int_equal(pho_catalog_output_forget(cat, "g/best_x_fixed.jpg", &err), 0);
    assert_int_equal(
            pho_catalog_derived_get(cat, "g/best_x_fixed.jpg", &recipe, &details, &found, &err), 0);
    assert_false(found);
    assert_int_equal(pho_catalog_derived_get(cat, "g/refused.jpg", &recipe, &details, &found, &err),
                     0);
    assert_true(found);
    pho_free(recipe);
    pho_free(details);
    pho_catalog_close(cat);
}

/* The user's decisions: kept in order, listed while in force, the newest taken back first. */
static void test_decisions(void **state)
{
    struct fixture *f = *state;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_catalog *cat = open_ok(f->db);
    struct pho_decision *v = NULL;
    size_t n = 9;
    assert_int_equal(pho_catalog_decisions(cat, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    int64_t id1 = 0, id2 = 0;
    assert_int_equal(pho_catalog_decision_add(cat, "best", "a/1.jpg", NULL, &id1, &err), 0);
    assert_int_equal(pho_catalog_decision_add(cat, "best", "b/\xc3\xa9.jpg", "", &id2, &err), 0);
    assert_true(id2 > id1);
    assert_int_equal(pho_catalog_decision_add(cat, "", "a/1.jpg", NULL, NULL, &err), PHO_EINVAL);
    assert_int_equal(pho_catalog_decision_add(cat, "best", "", NULL, NULL, &err), PHO_EINVAL);
    pho_catalog_close(cat);

    cat = open_ok(f->db);
    assert_int_equal(pho_catalog_decisions(cat, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].kind, "best");
    assert_string_equal(v[0].photo, "a/1.jpg");
    assert_string_equal(v[1].photo, "b/\xc3\xa9.jpg");
    assert_string_equal(v[1].other, "");
    assert_true(v[1].made_at > 1700000000);
    pho_catalog_decisions_free(v, n);
    struct pho_decision d;
    assert_int_equal(pho_catalog_decision_undo(cat, &d, &err), 0);
    assert_true(d.id == id2);
    assert_string_equal(d.photo, "b/\xc3\xa9.jpg");
    pho_free(d.photo);
    assert_int_equal(pho_catalog_decisions(cat, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    pho_catalog_decisions_free(v, n);
    assert_int_equal(pho_catalog_decision_undo(cat, &d, &err), 0);
    pho_free(d.photo);
    assert_int_equal(pho_catalog_decision_undo(cat, &d, &err), 0);
    assert_true(d.id == 0);
    pho_catalog_decisions_free(NULL, 0);
    pho_catalog_close(cat);
}

static void test_outputs(void **state)
{
    struct fixture *f = *state;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_catalog *cat = open_ok(f->db);
    struct pho_output_file *files = (struct pho_output_file *)&err;
    size_t count = 99;
    assert_int_equal(pho_catalog_output_list(cat, &files, &count, &err), 0);
    assert_null(files);
    assert_int_equal(count, 0);
    pho_catalog_outputs_free(NULL, 0);

    const char *sha_a = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
    const char *sha_b = "0000000000000000000000000000000000000000000000000000000000000001";
    /* Inserted out of order; listed bytewise ("B" < "a" < "a/"). */
    assert_int_equal(pho_catalog_output_put(cat, "group_0002/x.jpg", 10, sha_b, &err), 0);
    assert_int_equal(pho_catalog_output_put(cat, "a", UINT64_MAX, sha_a, &err), 0);
    assert_int_equal(pho_catalog_output_put(cat, "B", 0, sha_b, &err), 0);
    assert_int_equal(pho_catalog_output_put_mode(cat, "a/\xc3\xa9.jpg", 3, sha_b, "hardlink", &err),
                     0);
    assert_int_equal(pho_catalog_output_put_mode(cat, "z", 3, sha_b, "", &err), PHO_EINVAL);
    /* Recording a path again updates it. */
    assert_int_equal(pho_catalog_output_put(cat, "group_0002/x.jpg", 11, sha_a, &err), 0);
    assert_int_equal(pho_catalog_output_forget(cat, "B", &err), 0);
    assert_int_equal(pho_catalog_output_forget(cat, "never-recorded", &err), 0);
    pho_catalog_close(cat);

    cat = open_ok(f->db);
    assert_int_equal(pho_catalog_output_list(cat, &files, &count, &err), 0);
    assert_int_equal(count, 3);
    assert_string_equal(files[0].rel, "a");
    assert_true(files[0].size == UINT64_MAX);
    assert_string_equal(files[0].sha256,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_string_equal(files[1].rel, "a/\xc3\xa9.jpg");
    assert_int_equal(files[1].size, 3);
    assert_string_equal(files[1].sha256, sha_b);
    assert_string_equal(files[1].mode, "hardlink");
    assert_string_equal(files[0].mode, "copy");
    assert_string_equal(files[2].rel, "group_0002/x.jpg");
    assert_int_equal(files[2].size, 11);
    assert_string_equal(files[2].sha256, files[0].sha256);
    pho_catalog_outputs_free(files, count);

    /* Bad checksums and paths are refused before touching the database. */
    const char *bad[] = { "abc", "", NULL,
                          "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550" };
    for (size_t i = 0; i < PHO_ARRAY_LEN(bad); i++) {
        pho_err_clear(&err);
        assert_int_equal(pho_catalog_output_put(cat, "z", 1, bad[i], &err), PHO_EINVAL);
        assert_module_msg(&err);
    }
    assert_int_equal(pho_catalog_output_put(cat, NULL, 1, sha_a, &err), PHO_EINVAL);
    assert_int_equal(pho_catalog_output_list(cat, &files, &count, &err), 0);
    assert_int_equal(count, 3);
    pho_catalog_outputs_free(files, count);
    pho_catalog_close(cat);
}

#if !PG
static void test_wal_and_schema_version(void **state)
{
    struct fixture *f = *state;
    struct pho_catalog *cat = open_ok(f->db);
    char text[64];
    sql_text(f->db, "PRAGMA journal_mode", text, sizeof(text));
    assert_string_equal(text, "wal");
    assert_int_equal(sql_int(f->db, "PRAGMA user_version"), CATALOG_VERSION);
    assert_int_equal(sql_int(f->db, "PRAGMA application_id"), 0x50484f43);
    pho_catalog_close(cat);
    /* Reopening a current catalog changes nothing. */
    cat = open_ok(f->db);
    pho_catalog_close(cat);
    assert_int_equal(sql_int(f->db, "PRAGMA user_version"), CATALOG_VERSION);
}

static void test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    pho_catalog_close(open_ok(f->db));
    sql_exec(f->db, "PRAGMA user_version = 99; CREATE TABLE widgets (id INTEGER PRIMARY KEY)");
    struct pho_catalog *cat = (struct pho_catalog *)f;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_catalog_open(&cat, f->db, &err), PHO_EDB);
    assert_null(cat);
    assert_module_msg(&err);
    assert_non_null(strstr(err.msg, "newer photo-organizer (schema 99"));
    assert_non_null(strstr(err.msg, "--force-fresh"));
    /* Left exactly as it was. */
    assert_int_equal(sql_int(f->db, "PRAGMA user_version"), 99);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM sqlite_master WHERE name = 'widgets'"),
                     1);

    /* A negative version is no version of ours. */
    sql_exec(f->db, "PRAGMA user_version = -3");
    assert_int_equal(pho_catalog_open(&cat, f->db, &err), PHO_EDB);
    assert_null(cat);
    assert_non_null(strstr(err.msg, "--force-fresh"));

    /* A bare database with only a newer version number is refused the same way. */
    remove_db(f->db);
    sql_exec(f->db, "PRAGMA user_version = 99");
    assert_int_equal(pho_catalog_open(&cat, f->db, &err), PHO_EDB);
    assert_non_null(strstr(err.msg, "schema 99"));
}

static void test_foreign_and_garbage_files(void **state)
{
    struct fixture *f = *state;
    struct pho_catalog *cat = NULL;
    struct pho_err err = PHO_ERR_INIT;

    /* Another program's database. */
    sql_exec(f->db, "CREATE TABLE notes (body TEXT)");
    assert_int_equal(pho_catalog_open(&cat, f->db, &err), PHO_EDB);
    assert_null(cat);
    assert_module_msg(&err);
    assert_non_null(strstr(err.msg, "another program"));
    assert_non_null(strstr(err.msg, "--force-fresh"));
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM sqlite_master"), 1);
    remove_db(f->db);
    sql_exec(f->db, "PRAGMA application_id = 1234");
    assert_int_equal(pho_catalog_open(&cat, f->db, &err), PHO_EDB);
    remove_db(f->db);

    /* Not a database at all: refused, left untouched, then moved aside. */
    char junk[8192];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)("not a database\n"[i % 15]);
    write_file(f->db, junk, sizeof(junk));
    pho_err_clear(&err);
    assert_int_equal(pho_catalog_open(&cat, f->db, &err), PHO_EDB);
    assert_null(cat);
    assert_module_msg(&err);
    assert_non_null(strstr(err.msg, "not a database"));
    assert_non_null(strstr(err.msg, "--force-fresh"));
    size_t len = 0;
    uint8_t *now = read_file(f->db, &len);
    assert_int_equal(len, sizeof(junk));
    assert_memory_equal(now, junk, len);
    free(now);
    char wal[4200];
    snprintf(wal, sizeof(wal), "%s-wal", f->db);
    write_file(wal, "stale", 5);

    char *aside = NULL;
    assert_int_equal(pho_catalog_move_aside(f->db, &aside, &err), 0);
    assert_non_null(aside);
    assert_true(strncmp(aside, f->db, strlen(f->db)) == 0);
    assert_non_null(strstr(aside, ".old-"));
    assert_int_equal(access(f->db, F_OK), -1);
    assert_int_equal(access(wal, F_OK), -1);
    now = read_file(aside, &len);
    assert_int_equal(len, sizeof(junk));
    free(now);
    char aside_wal[4300];
    snprintf(aside_wal, sizeof(aside_wal), "%s-wal", aside);
    assert_int_equal(access(aside_wal, F_OK), 0);

    /* A second reset in the same second gets a name of its own. */
    write_file(f->db, junk, 100);
    char *aside2 = NULL;
    assert_int_equal(pho_catalog_move_aside(f->db, &aside2, &err), 0);
    assert_non_null(aside2);
    assert_string_not_equal(aside, aside2);
    pho_free(aside);
    pho_free(aside2);
    /* Nothing left to move. */
    aside = (char *)"poison";
    assert_int_equal(pho_catalog_move_aside(f->db, &aside, &err), 0);
    assert_null(aside);
    assert_int_equal(pho_catalog_move_aside(f->db, NULL, &err), 0);

    /* And the fresh start works. */
    cat = open_ok(f->db);
    pho_catalog_close(cat);
}

static void test_zero_byte_file_is_new(void **state)
{
    struct fixture *f = *state;
    write_file(f->db, "", 0);
    char rel[] = "x.jpg";
    struct pho_photo p, q;
    photo_extreme(&p, rel);
    struct pho_catalog *cat = open_ok(f->db);
    put_ok(cat, &p);
    probe_for(&q, &p);
    assert_true(lookup(cat, &q));
    pho_catalog_close(cat);
    assert_int_equal(sql_int(f->db, "PRAGMA user_version"), CATALOG_VERSION);
}

static void test_damaged_file(void **state)
{
    struct fixture *f = *state;
    char rel[64];
    struct pho_photo p, q;
    struct pho_catalog *cat = open_ok(f->db);
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_catalog_begin(cat, &err), 0);
    for (int i = 0; i < 500; i++) {
        snprintf(rel, sizeof(rel), "dir/%04d.jpg", i);
        photo_extreme(&p, rel);
        put_ok(cat, &p);
    }
    assert_int_equal(pho_catalog_commit(cat, &err), 0);
    pho_catalog_close(cat); /* checkpoints: everything is in the main file */

    /* Overwrite every page after the schema page with junk. */
    size_t len = 0;
    uint8_t *bytes = read_file(f->db, &len);
    assert_true(len > 4 * 4096);
    memset(bytes + 4096, 0x5a, len - 4096);
    write_file(f->db, bytes, len);
    free(bytes);

    int rc = pho_catalog_open(&cat, f->db, &err);
    if (rc == 0) {
        snprintf(rel, sizeof(rel), "dir/%04d.jpg", 7);
        photo_extreme(&p, rel);
        probe_for(&q, &p);
        bool found = true;
        rc = pho_catalog_lookup(cat, &q, &found, &err);
        assert_false(found);
        pho_catalog_close(cat);
    }
    assert_int_equal(rc, PHO_EDB);
    assert_module_msg(&err);
    assert_non_null(strstr(err.msg, "malformed"));
    assert_non_null(strstr(err.msg, "--force-fresh"));
}

#endif

/* ------------------------------------------------------- crash safety */

enum { BATCH = 50 };

static void child_put(struct pho_catalog *cat, int batch, int i)
{
    char rel[64];
    struct pho_photo p;
    snprintf(rel, sizeof(rel), "batch%05d/%03d.jpg", batch, i);
    photo_extreme(&p, rel);
    p.size = (uint64_t)batch;
    p.mtime_ns = i;
    if (pho_catalog_put(cat, &p, NULL) != 0)
        _exit(3);
}

/*
 * Child: commits @p batches batches of BATCH rows, reporting each commit on
 * @p fd, then (when @p batches is negative) keeps committing forever; or
 * starts one more batch, puts half of it and ends as @p how says.
 */
enum death { DIE_EXIT, DIE_SIGKILL, DIE_SIGKILL_BUSY };

static void child_main(const char *db, int fd, int batches, enum death how)
{
    struct pho_catalog *cat = NULL;
    if (pho_catalog_open(&cat, db, NULL) != 0)
        _exit(2);
    for (int b = 0; how == DIE_SIGKILL_BUSY || b < batches; b++) {
        if (pho_catalog_begin(cat, NULL) != 0)
            _exit(4);
        for (int i = 0; i < BATCH; i++)
            child_put(cat, b, i);
        if (pho_catalog_commit(cat, NULL) != 0)
            _exit(5);
        char c = 'c';
        if (write(fd, &c, 1) != 1)
            _exit(6);
    }
    if (pho_catalog_begin(cat, NULL) != 0)
        _exit(4);
    for (int i = 0; i < BATCH / 2; i++)
        child_put(cat, batches, i);
    if (how == DIE_EXIT)
        _exit(0); /* no close, no rollback, no checkpoint */
    char c = 'u';
    if (write(fd, &c, 1) != 1)
        _exit(6);
    for (;;)
        pause();
}

static void crash_and_check(struct fixture *f, enum death how)
{
    const int batches = 7;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_main(f->db, fds[1], batches, how);
    }
    close(fds[1]);
    int committed = 0;
    char c;
    int want = how == DIE_SIGKILL_BUSY ? 20 : batches;
    while (committed < want && read(fds[0], &c, 1) == 1 && c == 'c')
        committed++;
    assert_int_equal(committed, want);
    if (how == DIE_SIGKILL) {
        assert_int_equal(read(fds[0], &c, 1), 1); /* mid-transaction now */
        assert_int_equal(c, 'u');
    }
    if (how != DIE_EXIT)
        assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(fds[0]);
    if (how == DIE_EXIT)
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    else
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    /* Whole batches only: each committed one is there, the open one is not. */
    int64_t rows = sql_int(f->db, "SELECT count(*) FROM photos");
#if !PG
    char text[64];
    sql_text(f->db, "PRAGMA integrity_check", text, sizeof(text));
    assert_string_equal(text, "ok");
#endif
    if (how == DIE_SIGKILL_BUSY) {
        assert_int_equal(rows % BATCH, 0);
        assert_true(rows >= (int64_t)want * BATCH);
        committed = (int)(rows / BATCH);
    } else {
        assert_int_equal(rows, (int64_t)batches * BATCH);
    }
    struct pho_catalog *cat = open_ok(f->db);
    char rel[64];
    struct pho_photo p, q;
    for (int b = 0; b <= committed; b++) {
        for (int i = 0; i < BATCH; i += 7) {
            snprintf(rel, sizeof(rel), "batch%05d/%03d.jpg", b, i);
            photo_extreme(&p, rel);
            p.size = (uint64_t)b;
            p.mtime_ns = i;
            probe_for(&q, &p);
            bool found = lookup(cat, &q);
            assert_int_equal(found, b < committed);
            if (found)
                assert_restored(&p, &q);
        }
    }
    pho_catalog_close(cat);
}

static void test_crash_exit_mid_transaction(void **state)
{
    crash_and_check(*state, DIE_EXIT);
}

static void test_crash_sigkill_mid_transaction(void **state)
{
    crash_and_check(*state, DIE_SIGKILL);
}

static void test_crash_sigkill_while_busy(void **state)
{
    crash_and_check(*state, DIE_SIGKILL_BUSY);
}

static void test_transactions(void **state)
{
    struct fixture *f = *state;
    char rel[] = "t.jpg";
    struct pho_photo p, q;
    photo_failed(&p, rel);
    struct pho_err err = PHO_ERR_INIT;
    struct pho_catalog *cat = open_ok(f->db);
    assert_int_equal(pho_catalog_commit(cat, &err), PHO_EINVAL);
    assert_module_msg(&err);
    assert_int_equal(pho_catalog_begin(cat, &err), 0);
    assert_int_equal(pho_catalog_begin(cat, &err), PHO_EINVAL);
    assert_module_msg(&err);
    put_ok(cat, &p);
    probe_for(&q, &p);
    assert_true(lookup(cat, &q)); /* visible inside its own transaction */
    /* Closing with the transaction open rolls it back. */
    pho_catalog_close(cat);
    cat = open_ok(f->db);
    probe_for(&q, &p);
    assert_false(lookup(cat, &q));

    /* Without begin, each put commits by itself. */
    put_ok(cat, &p);
    pho_catalog_close(cat);
    cat = open_ok(f->db);
    probe_for(&q, &p);
    assert_true(lookup(cat, &q));
    pho_catalog_close(cat);
    pho_catalog_close(NULL);
}

#if !PG
static void test_errors(void **state)
{
    struct fixture *f = *state;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_catalog *cat = NULL;
    char path[4200];
    snprintf(path, sizeof(path), "%s/missing/catalog.db", f->dir);
    assert_int_equal(pho_catalog_open(&cat, path, &err), PHO_EIO);
    assert_null(cat);
    assert_module_msg(&err);
    assert_int_equal(pho_catalog_open(&cat, "", &err), PHO_EINVAL);
    assert_module_msg(&err);
    assert_int_equal(pho_catalog_open(&cat, NULL, NULL), PHO_EINVAL);

    cat = open_ok(f->db);
    struct pho_photo p;
    pho_photo_init(&p);
    bool found = true;
    assert_int_equal(pho_catalog_put(cat, &p, &err), PHO_EINVAL);
    assert_module_msg(&err);
    assert_int_equal(pho_catalog_lookup(cat, &p, &found, &err), PHO_EINVAL);
    assert_false(found);
    pho_catalog_close(cat);

    /* A catalog another process is writing to: busy, not corrupt. The
     * timeout is what the other process's commit may take, so this waits. */
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    cat = open_ok(f->db);
    assert_int_equal(pho_catalog_begin(cat, &err), PHO_EIO);
    assert_module_msg(&err);
    assert_non_null(strstr(err.msg, "locked"));
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(h);
    assert_int_equal(pho_catalog_begin(cat, &err), 0);
    assert_int_equal(pho_catalog_commit(cat, &err), 0);
    pho_catalog_close(cat);

    /* A file we may not write: root ignores permissions, but not the immutable flag. */
    bool immutable = geteuid() == 0;
    if (immutable ? set_immutable(f->db, true) : chmod(f->db, 0444) == 0) {
        int rc = pho_catalog_open(&cat, f->db, &err);
        if (immutable)
            set_immutable(f->db, false);
        assert_int_equal(rc, PHO_EIO);
        assert_null(cat);
        assert_module_msg(&err);
        assert_non_null(strstr(err.msg, "read-only"));
    } else {
        print_message("# read-only case not checked: cannot make the file read-only here\n");
    }
}

/* ----------------------------------------------------------------- OOM */

/* SQLite's allocator wrapped so that its n-th allocation fails (0: never). */
static sqlite3_mem_methods sqlite_mem;
static unsigned long sqlite_fail_nth, sqlite_allocs;

static bool sqlite_should_fail(void)
{
    sqlite_allocs++;
    return sqlite_fail_nth && sqlite_allocs == sqlite_fail_nth;
}

static void *faulty_malloc(int n)
{
    return sqlite_should_fail() ? NULL : sqlite_mem.xMalloc(n);
}

static void *faulty_realloc(void *p, int n)
{
    return sqlite_should_fail() ? NULL : sqlite_mem.xRealloc(p, n);
}

static void install_sqlite_fault_hook(void)
{
    assert_int_equal(sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_mem), SQLITE_OK);
    sqlite3_mem_methods m = sqlite_mem;
    m.xMalloc = faulty_malloc;
    m.xRealloc = faulty_realloc;
    assert_int_equal(sqlite3_config(SQLITE_CONFIG_MALLOC, &m), SQLITE_OK);
}

/* After any failed open the file must still open cleanly and work. */
static void check_usable(const char *db)
{
    char rel[] = "after-oom.jpg";
    struct pho_photo p, q;
    photo_extreme(&p, rel);
    struct pho_catalog *cat = open_ok(db);
    put_ok(cat, &p);
    probe_for(&q, &p);
    assert_true(lookup(cat, &q));
    pho_catalog_close(cat);
}

static void assert_clean_failure(int rc, const struct pho_catalog *cat, const struct pho_err *err)
{
    if (rc != PHO_ENOMEM && rc != PHO_EDB && rc != PHO_EIO)
        fail_msg("unexpected status %d (%s)", rc, err->msg);
    assert_null(cat);
    assert_module_msg(err);
}

static void test_oom_open_our_allocations(void **state)
{
    struct fixture *f = *state;
    /* "file:" would be taken for a URI: the catalog must keep it a file name. */
    char *cwd = getcwd(NULL, 0);
    assert_int_equal(chdir(f->dir), 0);
    const char *db = "file:catalog.db";
    for (int existing = 0; existing < 2; existing++) {
        unsigned long k, seen;
        for (k = 1;; k++) {
            if (!existing)
                remove_db(db);
            struct pho_catalog *cat = NULL;
            struct pho_err err = PHO_ERR_INIT;
            pho_alloc_fail_at(k);
            int rc = pho_catalog_open(&cat, db, &err);
            seen = pho_alloc_fail_at(0);
            if (rc == 0) {
                pho_catalog_close(cat);
                if (k > seen)
                    break;
                continue;
            }
            assert_int_equal(rc, PHO_ENOMEM);
            assert_clean_failure(rc, cat, &err);
            check_usable(db);
        }
        assert_int_equal(seen, 2); /* the catalog and the "./file:" copy */
        assert_int_equal(access("file:catalog.db", F_OK), 0);
    }
    assert_int_equal(chdir(cwd), 0);
    free(cwd);
}

static void test_oom_open_sqlite_allocations(void **state)
{
    struct fixture *f = *state;
    int failures = 0;
    for (int existing = 0; existing < 2; existing++) {
        unsigned long k;
        for (k = 1;; k++) {
            if (!existing)
                remove_db(f->db);
            struct pho_catalog *cat = NULL;
            struct pho_err err = PHO_ERR_INIT;
            sqlite_allocs = 0;
            sqlite_fail_nth = k;
            int rc = pho_catalog_open(&cat, f->db, &err);
            unsigned long seen = sqlite_allocs;
            sqlite_fail_nth = 0;
            if (rc == 0) {
                pho_catalog_close(cat);
                if (k > seen)
                    break;
                continue;
            }
            failures++;
            assert_clean_failure(rc, cat, &err);
            check_usable(f->db);
        }
        assert_true(k > 20);
    }
    assert_true(failures > 20);
}

static void test_oom_allocating_calls(void **state)
{
    struct fixture *f = *state;
    struct pho_catalog *cat = open_ok(f->db);
    struct pho_err err = PHO_ERR_INIT;
    const char *sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    char rel[32];
    for (int i = 0; i < 100; i++) {
        snprintf(rel, sizeof(rel), "out/%03d.jpg", i);
        assert_int_equal(pho_catalog_output_put(cat, rel, (uint64_t)i, sha, &err), 0);
    }
    int64_t run;
    assert_int_equal(pho_catalog_run_start(cat, "{\"a\":1}", &run, &err), 0);
    for (unsigned long k = 1;; k++) {
        struct pho_output_file *files = NULL;
        size_t count = 0;
        pho_alloc_fail_at(k);
        int rc = pho_catalog_output_list(cat, &files, &count, &err);
        unsigned long seen = pho_alloc_fail_at(0);
        if (rc == 0) {
            assert_int_equal(count, 100);
            assert_string_equal(files[99].rel, "out/099.jpg");
            pho_catalog_outputs_free(files, count);
            if (k > seen)
                break;
            continue;
        }
        assert_int_equal(rc, PHO_ENOMEM);
        assert_null(files);
        assert_int_equal(count, 0);
    }
    char *settings = NULL;
    bool finished = true;
    pho_alloc_fail_at(1);
    assert_int_equal(pho_catalog_last_run(cat, &settings, &finished, &err), PHO_ENOMEM);
    pho_alloc_fail_at(0);
    assert_null(settings);
    assert_int_equal(pho_catalog_last_run(cat, &settings, &finished, &err), 0);
    assert_string_equal(settings, "{\"a\":1}");
    pho_free(settings);
    pho_catalog_close(cat);

    char junk[] = "junk";
    write_file(f->db, junk, sizeof(junk));
    for (unsigned long k = 1; k <= 3; k++) {
        char *aside = NULL;
        pho_alloc_fail_at(k);
        assert_int_equal(pho_catalog_move_aside(f->db, &aside, &err), PHO_ENOMEM);
        pho_alloc_fail_at(0);
        assert_null(aside);
        assert_int_equal(access(f->db, F_OK), 0);
    }
}

#endif

/* -------------------------------------------------------------- volume */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A realistic record for photo @p i of a large library. */

static void photo_typical(struct pho_photo *p, char *rel, size_t rel_size, int i)
{
    pho_photo_init(p);
    snprintf(rel, rel_size, "%04d/%02d/IMG_%06d.JPG", 2000 + i % 25, 1 + i % 12, i);
    p->rel = rel;
    p->size = 3000000 + (uint64_t)i * 17;
    p->mtime_ns = INT64_C(1500000000000000000) + (int64_t)i * 1000003;
    p->meta.format = 1;
    p->meta.file_size = p->size;
    p->meta.mtime = p->mtime_ns / 1000000000;
    p->meta.width = 6000;
    p->meta.height = 4000;
    p->meta.time.local = 1500000000 + i;
    p->meta.time.source = PHO_TIME_ORIGINAL;
    snprintf(p->meta.make, sizeof(p->meta.make), "Canon");
    snprintf(p->meta.model, sizeof(p->meta.model), "Canon EOS 5D Mark IV");
    snprintf(p->meta.lens, sizeof(p->meta.lens), "EF24-105mm f/4L IS II USM");
    p->meta.exposure_time = 1.0 / 250;
    p->meta.fnumber = 8;
    p->meta.iso = 200;
    p->meta.focal_length = 50;
    p->meta.flags = PHO_META_EXIF | PHO_META_DIMENSIONS | PHO_META_ISO;
    p->dhash = UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(i + 1);
    p->phash = ~p->dhash;
    p->quality.sharpness = 100 + i % 50;
    p->quality.mean_luma = 120.5;
    p->quality.brisque = i % 3 ? NAN : 30.25;
    p->quality.megapixels = 24;
    p->quality.score = 0.5;
    p->analysed = true;
}

/*
 * N photos put and looked up in transactions of 1000, like a run does.
 * N is 10000 by default; PHO_CATALOG_BENCH_N=100000 measures the rate a big
 * library sees (printed as a TAP comment).
 */
static void test_volume(void **state)
{
    struct fixture *f = *state;
    const char *env = getenv("PHO_CATALOG_BENCH_N");
    long n = env ? strtol(env, NULL, 10) : 10000;
    if (n <= 0)
        n = 10000;
    const int batch = 1000;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_catalog *cat = open_ok(f->db);
    char rel[64];
    struct pho_photo p, q;

    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        if (i % batch == 0)
            assert_int_equal(pho_catalog_begin(cat, &err), 0);
        photo_typical(&p, rel, sizeof(rel), (int)i);
        put_ok(cat, &p);
        if (i % batch == batch - 1 || i == n - 1)
            assert_int_equal(pho_catalog_commit(cat, &err), 0);
    }
    double t_put = now_s() - t0;
    pho_catalog_close(cat);

    cat = open_ok(f->db);
    t0 = now_s();
    long hits = 0;
    for (long i = 0; i < n; i++) {
        if (i % batch == 0)
            assert_int_equal(pho_catalog_begin(cat, &err), 0);
        photo_typical(&p, rel, sizeof(rel), (int)i);
        q = p;
        hits += lookup(cat, &q);
        if (i % batch == batch - 1 || i == n - 1)
            assert_int_equal(pho_catalog_commit(cat, &err), 0);
    }
    double t_lookup = now_s() - t0;
    assert_int_equal(hits, n);

    /* Outside transactions, as a run that only reads would do. */
    t0 = now_s();
    hits = 0;
    for (long i = 0; i < n; i++) {
        photo_typical(&p, rel, sizeof(rel), (int)i);
        q = p;
        hits += lookup(cat, &q);
        if (i % 997 == 0)
            assert_restored(&p, &q);
    }
    double t_lookup_auto = now_s() - t0;
    assert_int_equal(hits, n);
    pho_catalog_close(cat);
    print_message("# catalog: %ld photos: %.0f puts/s, %.0f lookups/s in transactions of %d, "
                  "%.0f lookups/s without\n",
                  n, (double)n / t_put, (double)n / t_lookup, batch, (double)n / t_lookup_auto);
}

static void test_faces_round_trip(void **state)
{
    struct fixture *f = *state;
    struct pho_catalog *cat = open_ok(f->db);
    struct pho_face_list in = { 0 };
    in.image_w = 1600;
    in.image_h = 1200;
    in.count = 3;
    in.faces = calloc(3, sizeof(*in.faces));
    for (size_t i = 0; i < 3; i++) {
        struct pho_face *fc = &in.faces[i];
        for (int k = 0; k < 4; k++)
            fc->box[k] = 0.1f * (float)(i + k) + 0.001f;
        fc->score = 0.9f - 0.1f * (float)i;
        for (int k = 0; k < 5; k++)
            fc->pts5[k][0] = fc->pts5[k][1] = 0.05f * k;
        for (int k = 0; k < 6; k++) {
            fc->eye_l[k][0] = 0.3f + 0.01f * k;
            fc->eye_r[k][1] = -0.0f;
        }
        fc->has_pts5 = true;
        fc->has_eyes = i != 1;
        fc->ear_l = 0.25f;
        fc->ear_r = i == 2 ? NAN : 0.05f;
        fc->eyes_closed = (int8_t)(i == 0 ? 0 : i == 1 ? -1 : 1);
        fc->winking = (int8_t)(i == 2 ? 1 : -1);
        fc->smile = i == 1 ? NAN : 0.75f;
        fc->mouth_hidden = i == 1;
        fc->sharpness = 123.5f;
        fc->yaw = -0.25f;
        fc->embed_dim = i == 1 ? 0 : (uint16_t)(i == 0 ? 192 : 512);
        for (int k = 0; k < fc->embed_dim; k++)
            fc->embed[k] = (float)k / 1000.0f - 0.1f;
    }
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_catalog_faces_put(cat, "a/b.jpg", 100, 5, "mediapipe/v1", &in, &err), 0);
    struct pho_face_list out;
    bool found = false;
    /* Another configuration or a changed file: not found. */
    assert_int_equal(
            pho_catalog_faces_get(cat, "a/b.jpg", 100, 5, "insightface/v1", &out, &found, &err), 0);
    assert_false(found);
    assert_int_equal(
            pho_catalog_faces_get(cat, "a/b.jpg", 101, 5, "mediapipe/v1", &out, &found, &err), 0);
    assert_false(found);
    assert_int_equal(
            pho_catalog_faces_get(cat, "a/b.jpg", 100, 5, "mediapipe/v1", &out, &found, &err), 0);
    assert_true(found);
    assert_int_equal(out.count, 3);
    assert_int_equal(out.image_w, 1600);
    assert_int_equal(out.image_h, 1200);
    for (size_t i = 0; i < 3; i++) {
        const struct pho_face *a = &in.faces[i], *b = &out.faces[i];
        assert_memory_equal(a->box, b->box, sizeof(a->box));
        assert_memory_equal(a->pts5, b->pts5, sizeof(a->pts5));
        assert_memory_equal(a->eye_l, b->eye_l, sizeof(a->eye_l));
        assert_memory_equal(a->eye_r, b->eye_r, sizeof(a->eye_r));
        assert_true(a->score == b->score && a->ear_l == b->ear_l && a->sharpness == b->sharpness);
        assert_true(isnan(a->ear_r) ? isnan(b->ear_r) : a->ear_r == b->ear_r);
        assert_true(isnan(a->smile) ? isnan(b->smile) : a->smile == b->smile);
        assert_int_equal(a->eyes_closed, b->eyes_closed);
        assert_int_equal(a->winking, b->winking);
        assert_int_equal(a->has_eyes, b->has_eyes);
        assert_int_equal(a->has_pts5, b->has_pts5);
        assert_int_equal(a->mouth_hidden, b->mouth_hidden);
        assert_int_equal(a->embed_dim, b->embed_dim);
        assert_memory_equal(a->embed, b->embed, sizeof(float) * a->embed_dim);
    }
    pho_face_list_release(&out);
    /* No faces is an answer worth keeping too. */
    struct pho_face_list none = { 0 };
    none.image_w = 10;
    none.image_h = 20;
    assert_int_equal(pho_catalog_faces_put(cat, "empty.jpg", 1, 1, "c", &none, &err), 0);
    assert_int_equal(pho_catalog_faces_get(cat, "empty.jpg", 1, 1, "c", &out, &found, &err), 0);
    assert_true(found);
    assert_int_equal(out.count, 0);
    /* --force-fresh forgets faces too. */
    assert_int_equal(pho_catalog_forget_photos(cat, &err), 0);
    assert_int_equal(
            pho_catalog_faces_get(cat, "a/b.jpg", 100, 5, "mediapipe/v1", &out, &found, &err), 0);
    assert_false(found);
    free(in.faces);
    pho_catalog_close(cat);
}

#if !PG
/* A catalog written by the first release (schema 1) opens, keeps its photos and gains faces. */
static void test_upgrade_from_schema_1(void **state)
{
    struct fixture *f = *state;
    struct pho_catalog *cat = open_ok(f->db);
    struct pho_photo p;
    char rel[] = "old/photo.jpg";
    photo_extreme(&p, rel);
    put_ok(cat, &p);
    pho_catalog_close(cat);
    sql_exec(f->db,
             "DROP TABLE faces; ALTER TABLE photos DROP COLUMN sig; "
             "ALTER TABLE photos DROP COLUMN thumb_hashed; "
             "ALTER TABLE photos DROP COLUMN serial; ALTER TABLE photos DROP COLUMN probed; "
             "ALTER TABLE photos DROP COLUMN content_id; ALTER TABLE outputs DROP COLUMN mode; "
             "DROP TABLE persons; DROP TABLE person_faces; DROP TABLE person_refusals; "
             "DROP TABLE derived; DROP TABLE decisions; DROP TABLE jobs; "
             "PRAGMA user_version = 1");
    cat = open_ok(f->db);
    assert_int_equal(sql_int(f->db, "PRAGMA user_version"), CATALOG_VERSION);
    struct pho_photo q;
    probe_for(&q, &p);
    /* A photo analysed before the grouping signature existed is analysed again ... */
    assert_false(lookup(cat, &q));
    /* ... and then stored and restored whole. */
    put_ok(cat, &p);
    probe_for(&q, &p);
    assert_true(lookup(cat, &q));
    assert_restored(&p, &q);
    /* Rows from before migration 4 were hashed from pixels. */
    sql_exec(f->db, "UPDATE photos SET thumb_hashed = 0");
    probe_for(&q, &p);
    assert_true(lookup(cat, &q));
    assert_false(q.hashed_from_thumbnail);
    struct pho_face_list none = { 0 };
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_catalog_faces_put(cat, "old/photo.jpg", 1, 1, "c", &none, &err), 0);
    pho_catalog_close(cat);
}

#endif

/* The RAW of a shot: its metadata alone, stored and restored as such (docs/catalog.md). */
static void test_probed_row(void **state)
{
    struct fixture *f = *state;
    struct pho_catalog *cat = open_ok(f->db);
    struct pho_photo p;
    char rel[] = "IMG_0001.DNG";
    pho_photo_init(&p);
    p.rel = rel;
    p.size = 1234;
    p.mtime_ns = 5;
    p.probed = true;
    p.meta.time.source = PHO_TIME_ORIGINAL;
    p.meta.time.local = 1559806191;
    pho_strlcpy(p.meta.model, "Canon EOS 6D", sizeof(p.meta.model));
    pho_strlcpy(p.meta.content_id, "6F1C1E3A-0B5C-4F1E-9D7A-2C8B5E4D3A21",
                sizeof(p.meta.content_id));
    put_ok(cat, &p);
    struct pho_photo q;
    probe_for(&q, &p);
    assert_true(lookup(cat, &q));
    assert_true(q.probed);
    assert_false(q.analysed);
    assert_int_equal(q.error, 0);
    assert_int_equal(q.meta.time.local, 1559806191);
    assert_string_equal(q.meta.model, "Canon EOS 6D");
    assert_string_equal(q.meta.content_id, "6F1C1E3A-0B5C-4F1E-9D7A-2C8B5E4D3A21");
    /* Analysed in full later: the same row, no longer probed. */
    p.probed = false;
    p.analysed = true;
    put_ok(cat, &p);
    probe_for(&q, &p);
    assert_true(lookup(cat, &q));
    assert_false(q.probed);
    assert_true(q.analysed);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM photos"), 1);
    pho_catalog_close(cat);
}

/* ---------------------------------------------------------------- jobs */

static void add_jobs(struct pho_catalog *cat, int64_t run, int n)
{
    struct pho_err err = PHO_ERR_INIT;
    char rel[64];
    assert_int_equal(pho_catalog_begin(cat, &err), 0);
    for (int i = 0; i < n; i++) {
        snprintf(rel, sizeof(rel), "d/\xff%05d.jpg", i);
        if (pho_catalog_job_add(cat, run, i % 2 ? "analyse" : "faces", rel, (uint64_t)i + 1, -i,
                                &err) != 0)
            fail_msg("add: %s", err.msg);
    }
    assert_int_equal(pho_catalog_commit(cat, &err), 0);
}

/* Claims hand out the oldest queued jobs once; leases run out and the jobs come back;
 * a job claimed too often is given up; done jobs stay done. */
static void test_jobs(void **state)
{
    struct fixture *f = *state;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_catalog *cat = open_ok(f->db);
    add_jobs(cat, 7, 10);
    add_jobs(cat, 8, 1);
    int64_t n[PHO_JOB_STATES];
    assert_int_equal(pho_catalog_jobs_count(cat, 7, n, &err), 0);
    assert_true(n[PHO_JOB_QUEUED] == 10 && n[PHO_JOB_CLAIMED] == 0);

    struct pho_job *jobs = NULL;
    size_t count = 0;
    assert_int_equal(pho_catalog_jobs_claim(cat, "w1", 60, 4, &jobs, &count, &err), 0);
    assert_int_equal(count, 4);
    for (size_t i = 0; i < count; i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "d/\xff%05zu.jpg", i);
        assert_string_equal(jobs[i].rel, rel);
        assert_int_equal(jobs[i].run, 7);
        assert_string_equal(jobs[i].kind, i % 2 ? "analyse" : "faces");
        assert_true(jobs[i].size == i + 1 && jobs[i].mtime_ns == -(int64_t)i);
    }
    assert_int_equal(pho_catalog_job_done(cat, jobs[0].id, &err), 0);
    int64_t first = jobs[0].id;
    pho_catalog_jobs_free(jobs, count);

    /* A second worker gets the next ones, never the first's. */
    assert_int_equal(pho_catalog_jobs_claim(cat, "w2", 1, 3, &jobs, &count, &err), 0);
    assert_int_equal(count, 3);
    assert_true(jobs[0].id == first + 4);
    pho_catalog_jobs_free(jobs, count);
    assert_int_equal(pho_catalog_jobs_count(cat, 7, n, &err), 0);
    assert_true(n[PHO_JOB_QUEUED] == 3 && n[PHO_JOB_CLAIMED] == 6 && n[PHO_JOB_DONE] == 1);

    /* w1 keeps its lease with heartbeats; w2's (1 s) runs out. */
    sleep(2);
    assert_int_equal(pho_catalog_jobs_heartbeat(cat, "w1", 60, &err), 0);
    int64_t expired = 0;
    assert_int_equal(pho_catalog_jobs_expire(cat, 3, &expired, &err), 0);
    assert_int_equal(expired, 3);
    assert_int_equal(pho_catalog_jobs_count(cat, 7, n, &err), 0);
    assert_true(n[PHO_JOB_QUEUED] == 6 && n[PHO_JOB_CLAIMED] == 3 && n[PHO_JOB_DONE] == 1);

    /* Given up after the third claim whose lease ran out. */
    for (int round = 0; round < 2; round++) {
        assert_int_equal(pho_catalog_jobs_claim(cat, "w3", 1, 100, &jobs, &count, &err), 0);
        pho_catalog_jobs_free(jobs, count);
        sleep(2);
        assert_int_equal(pho_catalog_jobs_expire(cat, 3, &expired, &err), 0);
    }
    assert_int_equal(pho_catalog_jobs_count(cat, 7, n, &err), 0);
    assert_int_equal(n[PHO_JOB_DONE], 1);
    assert_int_equal(n[PHO_JOB_CLAIMED], 3); /* w1's */
    assert_int_equal(n[PHO_JOB_GIVEN_UP], 3);
    assert_int_equal(n[PHO_JOB_QUEUED], 3);
    assert_int_equal(pho_catalog_jobs_forget(cat, 7, &err), 0);
    assert_int_equal(pho_catalog_jobs_count(cat, 7, n, &err), 0);
    assert_true(n[0] + n[1] + n[2] + n[3] == 0);
    assert_int_equal(pho_catalog_jobs_count(cat, 8, n, &err), 0);
    assert_true(n[PHO_JOB_QUEUED] + n[PHO_JOB_CLAIMED] == 1);
    /* A job handed back is queued at once, or given up once claimed often enough. */
    assert_int_equal(pho_catalog_jobs_claim(cat, "w5", 60, 10, &jobs, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_int_equal(pho_catalog_job_release(cat, jobs[0].id, 10, &err), 0);
    assert_int_equal(pho_catalog_jobs_count(cat, 8, n, &err), 0);
    assert_true(n[PHO_JOB_QUEUED] == 1 && n[PHO_JOB_CLAIMED] == 0);
    pho_catalog_jobs_free(jobs, count);
    assert_int_equal(pho_catalog_jobs_claim(cat, "w5", 60, 10, &jobs, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_int_equal(pho_catalog_job_release(cat, jobs[0].id, 1, &err), 0);
    assert_int_equal(pho_catalog_jobs_count(cat, 8, n, &err), 0);
    assert_true(n[PHO_JOB_GIVEN_UP] == 1 && n[PHO_JOB_QUEUED] == 0);
    pho_catalog_jobs_free(jobs, count);
    pho_catalog_close(cat);
}

/* Four processes claiming at once in batches: every job handed out exactly once. */
static void test_jobs_concurrent_claims(void **state)
{
    struct fixture *f = *state;
    enum { JOBS = 3000, PROCS = 4 };
    struct pho_catalog *cat = open_ok(f->db);
    add_jobs(cat, 1, JOBS);
    pho_catalog_close(cat);
    int fds[PROCS][2];
    pid_t pids[PROCS];
    for (int k = 0; k < PROCS; k++) {
        assert_int_equal(pipe(fds[k]), 0);
        pids[k] = fork();
        assert_true(pids[k] >= 0);
        if (pids[k] == 0) {
            close(fds[k][0]);
            struct pho_catalog *c = NULL;
            if (pho_catalog_open(&c, f->db, NULL) != 0)
                _exit(2);
            char name[16];
            snprintf(name, sizeof(name), "w%d", k);
            for (;;) {
                struct pho_job *jobs = NULL;
                size_t count = 0;
                if (pho_catalog_jobs_claim(c, name, 60, 64, &jobs, &count, NULL) != 0)
                    _exit(3);
                if (count == 0)
                    break;
                for (size_t i = 0; i < count; i++)
                    if (write(fds[k][1], &jobs[i].id, sizeof(jobs[i].id)) !=
                                (ssize_t)sizeof(jobs[i].id) ||
                        pho_catalog_job_done(c, jobs[i].id, NULL) != 0)
                        _exit(4);
                pho_catalog_jobs_free(jobs, count);
            }
            pho_catalog_close(c);
            _exit(0);
        }
        close(fds[k][1]);
    }
    static unsigned char seen[JOBS + 1];
    memset(seen, 0, sizeof(seen));
    int total = 0, busy = 0;
    for (int k = 0; k < PROCS; k++) {
        int64_t id;
        int mine = 0;
        while (read(fds[k][0], &id, sizeof(id)) == (ssize_t)sizeof(id)) {
            assert_true(id >= 1 && id <= JOBS);
            assert_int_equal(seen[id], 0);
            seen[id] = 1;
            total++;
            mine++;
        }
        busy += mine > 0;
        close(fds[k][0]);
        int status = 0;
        assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(total, JOBS);
    assert_true(busy >= 2);
    cat = open_ok(f->db);
    int64_t n[PHO_JOB_STATES];
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_catalog_jobs_count(cat, 1, n, &err), 0);
    assert_int_equal(n[PHO_JOB_DONE], JOBS);
    pho_catalog_close(cat);
}

#if PG
/* A database with another program's tables, or from a newer release, is refused with
 * what to do; a server that is not there is an I/O error naming the server. */
static void test_pg_refusals(void **state)
{
    struct fixture *f = *state;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_catalog *cat = NULL;
    sql_exec(f->db, "CREATE TABLE photos (x INT)");
    assert_int_equal(pho_catalog_open(&cat, f->db, &err), PHO_EDB);
    assert_null(cat);
    assert_module_msg(&err);
    assert_non_null(strstr(err.msg, "search_path"));
    sql_exec(f->db, "DROP TABLE photos");
    pho_catalog_close(open_ok(f->db));
    sql_exec(f->db, "UPDATE photo_organizer SET value = 99 WHERE key = 'schema'");
    assert_int_equal(pho_catalog_open(&cat, f->db, &err), PHO_EDB);
    assert_non_null(strstr(err.msg, "newer photo-organizer"));
    char gone[4400];
    snprintf(gone, sizeof(gone), "host=%s/nowhere user=pho dbname=x", f->dir);
    assert_int_equal(pho_catalog_open(&cat, gone, &err), PHO_EIO);
    assert_non_null(strstr(err.msg, "cannot connect to PostgreSQL"));
    assert_true(pho_catalog_is_url("postgresql://u@h/db"));
    assert_true(pho_catalog_is_url("postgres://h/db"));
    assert_true(pho_catalog_is_url(" host=/run/postgresql dbname=x"));
    assert_false(pho_catalog_is_url("/out/.photo-organizer/catalog.db"));
    assert_false(pho_catalog_is_url("catalog.db"));
    assert_false(pho_catalog_is_url(NULL));
}

/* Schema names keep libraries apart in one database (options=-csearch_path). */
static void test_pg_engine(void **state)
{
    struct fixture *f = *state;
    struct pho_catalog *cat = open_ok(f->db);
    assert_true(pho_catalog_is_shared(cat));
    assert_string_equal(pho_catalog_engine(cat), "PostgreSQL");
    pho_catalog_close(cat);
    assert_int_equal(sql_int(f->db, "SELECT value FROM photo_organizer WHERE key = 'schema'"), 1);
    /* The queue's claims read this index (docs/scale-out.md). */
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM pg_indexes WHERE indexname = "
                                    "'jobs_state' AND indexdef LIKE '%(state, id)%'"),
                     1);
}
#endif

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_faces_round_trip),
        T(test_people),
        T(test_probed_row),
        T(test_round_trip_every_field),
        T(test_truncated_strings_on_load),
        T(test_key_semantics),
        T(test_forget_photos),
        T(test_runs),
        T(test_outputs),
        T(test_derived),
        T(test_decisions),
        T(test_jobs),
        T(test_jobs_concurrent_claims),
        T(test_crash_exit_mid_transaction),
        T(test_crash_sigkill_mid_transaction),
        T(test_crash_sigkill_while_busy),
        T(test_transactions),
        T(test_volume),
#if PG
        T(test_pg_refusals),
        T(test_pg_engine),
#else
        T(test_upgrade_from_schema_1),
        T(test_wal_and_schema_version),
        T(test_newer_schema_refused),
        T(test_foreign_and_garbage_files),
        T(test_zero_byte_file_is_new),
        T(test_damaged_file),
        T(test_errors),
        T(test_oom_open_our_allocations),
        T(test_oom_open_sqlite_allocations),
        T(test_oom_allocating_calls),
#endif
    };
#undef T
#if PG
    return T_RUN_GROUP(tests, pg_group_setup, pg_group_teardown);
#else
    install_sqlite_fault_hook();
    return T_RUN_GROUP(tests, NULL, NULL);
#endif
}
