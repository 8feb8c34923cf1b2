/* SPDX-License-Identifier: MIT */
/*
 * Private to src/catalog: the catalog's SQL. The migrations are the history
 * of the on-disk format: once released, an entry is never edited, only new
 * ones appended (a database at user_version N runs migrations N, N+1, ...).
 * The statements the catalog caches are assembled from one column list so
 * the INSERT, the SELECT and the C code that binds and reads them cannot
 * disagree about the order of the columns.
 */
#ifndef PHO_CATALOG_SCHEMA_H
#define PHO_CATALOG_SCHEMA_H

#include "core/common.h"

/* "PHOC": tells our catalogs from other SQLite files (PRAGMA application_id). */
#define CATALOG_APPLICATION_ID 0x50484f43

/*
 * Columns without a declared type but with a CHECK on typeof(): REAL
 * affinity would store integral values as integers on disk and give back
 * 0.0 for -0.0, and the organizer must print the same numbers whether a
 * photo was analysed in this run or restored from the catalog. NULL stands
 * for NaN, which SQLite cannot store.
 */
#define REAL_COLUMN(name) name " CHECK (typeof(" name ") IN ('real', 'null'))"

/* migrations[i] takes a database from user_version i to i + 1. */
/* clang-format off */
static const char *const catalog_migrations[] = {
    /* 0 -> 1: photos, runs and outputs. */
    "CREATE TABLE photos (\n"
    "    id INTEGER PRIMARY KEY,\n"
    "    rel TEXT NOT NULL UNIQUE,\n"
    "    size INTEGER NOT NULL,\n"
    "    mtime_ns INTEGER NOT NULL,\n"
    "    analysed INTEGER NOT NULL CHECK (analysed IN (0, 1)),\n"
    "    error INTEGER NOT NULL,\n"
    "    error_msg TEXT NOT NULL,\n"
    "    format INTEGER NOT NULL,\n"
    "    file_size INTEGER NOT NULL,\n"
    "    meta_mtime INTEGER NOT NULL,\n"
    "    meta_mtime_nsec INTEGER NOT NULL,\n"
    "    width INTEGER NOT NULL,\n"
    "    height INTEGER NOT NULL,\n"
    "    orientation INTEGER NOT NULL,\n"
    "    orientation_tag INTEGER NOT NULL,\n"
    "    time_local INTEGER NOT NULL,\n"
    "    time_nsec INTEGER NOT NULL,\n"
    "    time_offset_min INTEGER NOT NULL,\n"
    "    time_has_offset INTEGER NOT NULL CHECK (time_has_offset IN (0, 1)),\n"
    "    time_source INTEGER NOT NULL,\n"
    "    make TEXT NOT NULL,\n"
    "    model TEXT NOT NULL,\n"
    "    lens TEXT NOT NULL,\n"
    "    " REAL_COLUMN("exposure_time") ",\n"
    "    " REAL_COLUMN("fnumber") ",\n"
    "    iso INTEGER NOT NULL,\n"
    "    " REAL_COLUMN("exposure_bias") ",\n"
    "    " REAL_COLUMN("focal_length") ",\n"
    "    " REAL_COLUMN("gps_lat") ",\n"
    "    " REAL_COLUMN("gps_lon") ",\n"
    "    " REAL_COLUMN("gps_alt") ",\n"
    "    meta_flags INTEGER NOT NULL,\n"
    "    note TEXT NOT NULL,\n"
    "    dhash INTEGER NOT NULL,\n"
    "    phash INTEGER NOT NULL,\n"
    "    " REAL_COLUMN("q_sharpness") ",\n"
    "    " REAL_COLUMN("q_clipped_high") ",\n"
    "    " REAL_COLUMN("q_clipped_low") ",\n"
    "    " REAL_COLUMN("q_mean_luma") ",\n"
    "    " REAL_COLUMN("q_noise") ",\n"
    "    " REAL_COLUMN("q_brisque") ",\n"
    "    " REAL_COLUMN("q_megapixels") ",\n"
    "    " REAL_COLUMN("q_score") "\n"
    ");\n"
    "CREATE TABLE runs (\n"
    "    id INTEGER PRIMARY KEY,\n"
    "    started_at INTEGER NOT NULL,\n"
    "    finished_at INTEGER,\n"
    "    settings TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE outputs (\n"
    "    rel TEXT PRIMARY KEY NOT NULL,\n"
    "    size INTEGER NOT NULL,\n"
    "    sha256 TEXT NOT NULL CHECK (length(sha256) = 64)\n"
    ") WITHOUT ROWID;\n",

    /* 1 -> 2: the faces found in a photo, per face configuration (backend,
     * embedding model, settings), as one record per photo (docs/catalog.md). */
    "CREATE TABLE faces (\n"
    "    rel TEXT PRIMARY KEY NOT NULL,\n"
    "    size INTEGER NOT NULL,\n"
    "    mtime_ns INTEGER NOT NULL,\n"
    "    config TEXT NOT NULL,\n"
    "    image_w INTEGER NOT NULL,\n"
    "    image_h INTEGER NOT NULL,\n"
    "    count INTEGER NOT NULL CHECK (count >= 0),\n"
    "    data BLOB NOT NULL\n"
    ") WITHOUT ROWID;\n",

    /* 2 -> 3: the grouping signature of an analysed photo (crop hashes and
     * thumbnail, docs/catalog.md); rows without one are analysed again. */
    "ALTER TABLE photos ADD COLUMN sig BLOB;\n",

    /* 3 -> 4: whether the hashes are of the EXIF thumbnail (1) or of the
     * decoded pixels (0, every photo analysed before); docs/catalog.md. */
    "ALTER TABLE photos ADD COLUMN thumb_hashed INTEGER NOT NULL DEFAULT 0\n"
    "    CHECK (thumb_hashed IN (0, 1));\n",

    /* 4 -> 5: the camera body's serial number (docs/catalog.md); '' for rows
     * from before, which the grouping rule reads as "not known". */
    "ALTER TABLE photos ADD COLUMN serial TEXT NOT NULL DEFAULT '';\n",

    /* 5 -> 6: rows of files whose metadata alone was read (the RAW of a RAW+JPEG
     * shot, docs/shots.md): analysed = 0, error = 0, probed = 1; and Apple's content
     * identifier, which ties a Live Photo's still to its video ('' when none). */
    "ALTER TABLE photos ADD COLUMN probed INTEGER NOT NULL DEFAULT 0\n"
    "    CHECK (probed IN (0, 1));\n"
    "ALTER TABLE photos ADD COLUMN content_id TEXT NOT NULL DEFAULT '';\n",

    /* 6 -> 7: how each output was made (--link, docs/catalog.md): 'copy' for every
     * output of the runs before, which all copied. */
    "ALTER TABLE outputs ADD COLUMN mode TEXT NOT NULL DEFAULT 'copy';\n",

    /* 7 -> 8: people (docs/people.md): the persons found with each embedding model, the
     * face each photo has in them (by its index and box, so a face found again after
     * the photo changed is recognised), and the user's "not this person". */
    "CREATE TABLE persons (\n"
    "    id INTEGER PRIMARY KEY,\n"
    "    model TEXT NOT NULL,\n"
    "    name TEXT NOT NULL DEFAULT '',\n"
    "    hidden INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1)),\n"
    "    merged_into INTEGER NOT NULL DEFAULT 0\n"
    ");\n"
    "CREATE TABLE person_faces (\n"
    "    model TEXT NOT NULL,\n"
    "    rel TEXT NOT NULL,\n"
    "    face INTEGER NOT NULL CHECK (face >= 0),\n"
    "    x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,\n"
    "    person INTEGER NOT NULL,\n"
    "    pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),\n"
    "    score REAL NOT NULL DEFAULT 0,\n"
    "    PRIMARY KEY (model, rel, face)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX person_faces_person ON person_faces (person);\n"
    "CREATE TABLE person_refusals (\n"
    "    model TEXT NOT NULL,\n"
    "    rel TEXT NOT NULL,\n"
    "    face INTEGER NOT NULL CHECK (face >= 0),\n"
    "    x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,\n"
    "    person INTEGER NOT NULL,\n"
    "    PRIMARY KEY (model, rel, face, person)\n"
    ") WITHOUT ROWID;\n",

    /* 8 -> 9: outputs made from photos rather than copied (a repaired best shot,
     * docs/face-swap.md): what each was made from, so a re-run that would make the same
     * keeps it without making it again, and what the making found. */
    "CREATE TABLE derived (\n"
    "    rel TEXT PRIMARY KEY NOT NULL,\n"
    "    recipe TEXT NOT NULL,\n"
    "    details TEXT NOT NULL\n"
    ") WITHOUT ROWID;\n",

    /* 9 -> 10: the user's decisions about the result (docs/decisions.md): each a kind, the
     * photo it is about (below the source) and, for kinds that relate two, the other; kept
     * in order, undone by marking, applied by every later run after its own computation. */
    "CREATE TABLE decisions (\n"
    "    id INTEGER PRIMARY KEY,\n"
    "    kind TEXT NOT NULL,\n"
    "    photo TEXT NOT NULL,\n"
    "    other TEXT NOT NULL DEFAULT '',\n"
    "    made_at INTEGER NOT NULL,\n"
    "    undone INTEGER NOT NULL DEFAULT 0 CHECK (undone IN (0, 1))\n"
    ");\n",

    /* 10 -> 11: work to share among processes (docs/scale-out.md): each job a photo to
     * analyse for a run, its state (0 queued, 1 claimed until lease_until, 2 done, 3 given
     * up after too many claims) and who claimed it. */
    "CREATE TABLE jobs (\n"
    "    id INTEGER PRIMARY KEY,\n"
    "    run INTEGER NOT NULL,\n"
    "    kind TEXT NOT NULL,\n"
    "    rel TEXT NOT NULL,\n"
    "    size INTEGER NOT NULL,\n"
    "    mtime_ns INTEGER NOT NULL,\n"
    "    state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2, 3)),\n"
    "    worker TEXT NOT NULL DEFAULT '',\n"
    "    lease_until INTEGER NOT NULL DEFAULT 0,\n"
    "    attempts INTEGER NOT NULL DEFAULT 0\n"
    ");\n"
    "CREATE INDEX jobs_state ON jobs (state, id);\n"
    "CREATE INDEX jobs_run ON jobs (run, state);\n",
};
/* clang-format on */

#define CATALOG_SCHEMA_VERSION ((int)PHO_ARRAY_LEN(catalog_migrations))

/*
 * The photo columns the catalog writes and reads, rel excepted (it is the
 * key, bound separately). F names the first column, X every other one, so
 * comma-separated lists can be spelled out at compile time.
 */
/* clang-format off */
#define PHOTO_COLUMNS(F, X) \
    F(size) \
    X(mtime_ns) \
    X(analysed) \
    X(error) \
    X(error_msg) \
    X(format) \
    X(file_size) \
    X(meta_mtime) \
    X(meta_mtime_nsec) \
    X(width) \
    X(height) \
    X(orientation) \
    X(orientation_tag) \
    X(time_local) \
    X(time_nsec) \
    X(time_offset_min) \
    X(time_has_offset) \
    X(time_source) \
    X(make) \
    X(model) \
    X(lens) \
    X(exposure_time) \
    X(fnumber) \
    X(iso) \
    X(exposure_bias) \
    X(focal_length) \
    X(gps_lat) \
    X(gps_lon) \
    X(gps_alt) \
    X(meta_flags) \
    X(note) \
    X(dhash) \
    X(phash) \
    X(q_sharpness) \
    X(q_clipped_high) \
    X(q_clipped_low) \
    X(q_mean_luma) \
    X(q_noise) \
    X(q_brisque) \
    X(q_megapixels) \
    X(q_score) \
    X(sig) \
    X(thumb_hashed) \
    X(serial) \
    X(probed) \
    X(content_id)
/* clang-format on */

#define COL_NAME_FIRST_(c)  #c
#define COL_NAME_NEXT_(c)   ", " #c
#define COL_PARAM_FIRST_(c) ":" #c
#define COL_PARAM_NEXT_(c)  ", :" #c
#define COL_SET_FIRST_(c)   #c " = excluded." #c
#define COL_SET_NEXT_(c)    ", " #c " = excluded." #c
#define COL_ENUM_(c)        COL_##c,

#define PHOTO_NAMES  PHOTO_COLUMNS(COL_NAME_FIRST_, COL_NAME_NEXT_)
#define PHOTO_PARAMS PHOTO_COLUMNS(COL_PARAM_FIRST_, COL_PARAM_NEXT_)
#define PHOTO_SETS   PHOTO_COLUMNS(COL_SET_FIRST_, COL_SET_NEXT_)

/* Column indices in the SELECT, and (plus PARAM_FIRST_COLUMN) parameters in the INSERT. */
enum photo_column { PHOTO_COLUMNS(COL_ENUM_, COL_ENUM_) COL_COUNT };

/* Parameter 1 of the INSERT is :rel; the columns follow in order. */
enum { PARAM_REL = 1, PARAM_FIRST_COLUMN = 2 };

/* The statements a catalog prepares once and keeps. */
enum catalog_stmt {
    ST_PHOTO_LOOKUP,
    ST_PHOTO_PUT,
    ST_PHOTO_FORGET_ALL,
    ST_RUN_START,
    ST_RUN_FINISH,
    ST_RUN_LAST,
    ST_RUN_SETTINGS,
    ST_OUTPUT_PUT,
    ST_OUTPUT_FORGET,
    ST_OUTPUT_LIST,
    ST_DERIVED_PUT,
    ST_DERIVED_GET,
    ST_DERIVED_FORGET,
    ST_DECISION_ADD,
    ST_DECISIONS_LIST,
    ST_DECISION_UNDO,
    ST_FACES_PUT,
    ST_FACES_GET,
    ST_FACES_FORGET_ALL,
    ST_PERSONS_LIST,
    ST_PERSON_NEW,
    ST_PERSON_SET,
    ST_PERSON_NEXT_ID,
    ST_PERSON_FACES_LIST,
    ST_PERSON_FACES_DROP_REL,
    ST_PERSON_FACE_PUT,
    ST_PERSON_FACES_MOVE_ALL,
    ST_PERSON_REFUSALS_LIST,
    ST_PERSON_REFUSAL_PUT,
    ST_JOB_ADD,
    ST_JOBS_CLAIM,
    ST_JOB_DONE,
    ST_JOB_RELEASE,
    ST_JOBS_HEARTBEAT,
    ST_JOBS_EXPIRE,
    ST_JOBS_COUNT,
    ST_JOBS_FORGET,
    ST_JOBS_FORGET_BEFORE,
    ST_COUNT
};

/*
 * The statements, in the SQL both engines speak: parameters ?N (the PostgreSQL
 * engine renumbers them $N, and :name in order of appearance), upserts with ON
 * CONFLICT, RETURNING, and pho_now() for the database's clock in whole seconds (a
 * function each engine defines: workers on many machines share one clock).
 */
static const char *const catalog_sql[ST_COUNT] = {
    [ST_PHOTO_LOOKUP] = "SELECT " PHOTO_NAMES " FROM photos "
                        "WHERE rel = ?1 AND size = ?2 AND mtime_ns = ?3",
    /* An upsert, not INSERT OR REPLACE, so a photo keeps its id (what rows
     * of later tables will reference) when its row is refreshed. */
    [ST_PHOTO_PUT] = "INSERT INTO photos (rel, " PHOTO_NAMES ") VALUES (:rel, " PHOTO_PARAMS ") "
                     "ON CONFLICT (rel) DO UPDATE SET " PHOTO_SETS,
    [ST_PHOTO_FORGET_ALL] = "DELETE FROM photos",
    [ST_RUN_START] = "INSERT INTO runs (started_at, settings) VALUES (pho_now(), ?1) RETURNING id",
    [ST_RUN_FINISH] = "UPDATE runs SET finished_at = pho_now() WHERE id = ?1",
    [ST_RUN_LAST] = "SELECT settings, CASE WHEN finished_at IS NULL THEN 0 ELSE 1 END "
                    "FROM runs ORDER BY id DESC LIMIT 1",
    [ST_RUN_SETTINGS] = "SELECT settings FROM runs WHERE id = ?1",
    [ST_OUTPUT_PUT] = "INSERT INTO outputs (rel, size, sha256, mode) VALUES (?1, ?2, ?3, ?4) "
                      "ON CONFLICT (rel) DO UPDATE SET size = excluded.size, "
                      "sha256 = excluded.sha256, mode = excluded.mode",
    [ST_OUTPUT_FORGET] = "DELETE FROM outputs WHERE rel = ?1",
    [ST_OUTPUT_LIST] = "SELECT rel, size, sha256, mode FROM outputs ORDER BY rel",
    [ST_DERIVED_PUT] = "INSERT INTO derived (rel, recipe, details) VALUES (?1, ?2, ?3) "
                       "ON CONFLICT (rel) DO UPDATE SET recipe = excluded.recipe, "
                       "details = excluded.details",
    [ST_DERIVED_GET] = "SELECT recipe, details FROM derived WHERE rel = ?1",
    [ST_DERIVED_FORGET] = "DELETE FROM derived WHERE rel = ?1",
    [ST_DECISION_ADD] = "INSERT INTO decisions (kind, photo, other, made_at) "
                        "VALUES (?1, ?2, ?3, pho_now()) RETURNING id",
    [ST_DECISIONS_LIST] = "SELECT id, kind, photo, other, made_at FROM decisions "
                          "WHERE undone = 0 ORDER BY id",
    /* The newest decision still in force. */
    [ST_DECISION_UNDO] =
            "UPDATE decisions SET undone = 1 WHERE id = "
            "(SELECT MAX(id) FROM decisions WHERE undone = 0) RETURNING id, kind, photo",
    [ST_FACES_PUT] = "INSERT INTO faces (rel, size, mtime_ns, config, image_w, image_h, count, "
                     "data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (rel) DO UPDATE "
                     "SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
                     "config = excluded.config, image_w = excluded.image_w, "
                     "image_h = excluded.image_h, count = excluded.count, data = excluded.data",
    [ST_FACES_GET] = "SELECT image_w, image_h, count, data FROM faces "
                     "WHERE rel = ?1 AND size = ?2 AND mtime_ns = ?3 AND config = ?4",
    [ST_FACES_FORGET_ALL] = "DELETE FROM faces",
    /* ?1 NULL: every model's. */
    [ST_PERSONS_LIST] = "SELECT id, model, name, hidden, merged_into FROM persons "
                        "WHERE model = COALESCE(?1, model) ORDER BY id",
    [ST_PERSON_NEW] = "INSERT INTO persons (id, model) VALUES (?1, ?2)",
    /* NULL keeps a column as it is. */
    [ST_PERSON_SET] = "UPDATE persons SET name = COALESCE(?2, name), "
                      "hidden = COALESCE(?3, hidden), merged_into = COALESCE(?4, merged_into) "
                      "WHERE id = ?1",
    [ST_PERSON_NEXT_ID] = "SELECT COALESCE(MAX(id), 0) + 1 FROM persons",
    [ST_PERSON_FACES_LIST] = "SELECT rel, face, x0, y0, x1, y1, person, pinned, score "
                             "FROM person_faces WHERE model = ?1 AND (?2 = 0 OR person = ?2) "
                             "ORDER BY rel, face",
    [ST_PERSON_FACES_DROP_REL] = "DELETE FROM person_faces WHERE model = ?1 AND rel = ?2",
    [ST_PERSON_FACE_PUT] = "INSERT INTO person_faces (model, rel, face, x0, y0, x1, y1, person, "
                           "pinned, score) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                           "ON CONFLICT (model, rel, face) DO UPDATE SET x0 = excluded.x0, "
                           "y0 = excluded.y0, x1 = excluded.x1, y1 = excluded.y1, "
                           "person = excluded.person, pinned = excluded.pinned, "
                           "score = excluded.score",
    [ST_PERSON_FACES_MOVE_ALL] = "UPDATE person_faces SET person = ?2 WHERE person = ?1",
    [ST_PERSON_REFUSALS_LIST] = "SELECT rel, face, x0, y0, x1, y1, person FROM person_refusals "
                                "WHERE model = ?1 ORDER BY rel, face",
    [ST_PERSON_REFUSAL_PUT] = "INSERT INTO person_refusals (model, rel, face, x0, y0, x1, y1, "
                              "person) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                              "ON CONFLICT (model, rel, face, person) DO UPDATE SET "
                              "x0 = excluded.x0, y0 = excluded.y0, x1 = excluded.x1, "
                              "y1 = excluded.y1",
    [ST_JOB_ADD] = "INSERT INTO jobs (run, kind, rel, size, mtime_ns) VALUES (?1, ?2, ?3, ?4, ?5)",
    /* The oldest queued jobs, leased to worker ?1 for ?2 seconds (engine_pg.c adds
     * FOR UPDATE SKIP LOCKED: claimers never wait for each other). */
    [ST_JOBS_CLAIM] = "UPDATE jobs SET state = 1, worker = ?1, lease_until = pho_now() + ?2, "
                      "attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs WHERE state = 0 "
                      "ORDER BY id LIMIT ?3 @LOCK@) RETURNING id, run, kind, rel, size, mtime_ns",
    /* Whoever did it: a job whose lease ran out may have been done twice, alike. */
    [ST_JOB_DONE] = "UPDATE jobs SET state = 2, lease_until = 0 WHERE id = ?1",
    /* Handed back before its lease runs out (given up after ?2 claims). */
    [ST_JOB_RELEASE] = "UPDATE jobs SET state = CASE WHEN attempts >= ?2 THEN 3 ELSE 0 END, "
                       "worker = '', lease_until = 0 WHERE id = ?1 AND state = 1",
    [ST_JOBS_HEARTBEAT] = "UPDATE jobs SET lease_until = pho_now() + ?2 "
                          "WHERE state = 1 AND worker = ?1",
    /* Leases that ran out go back to the queue, or are given up after ?1 claims. */
    [ST_JOBS_EXPIRE] = "UPDATE jobs SET state = CASE WHEN attempts >= ?1 THEN 3 ELSE 0 END, "
                       "worker = '' WHERE state = 1 AND lease_until < pho_now()",
    [ST_JOBS_COUNT] = "SELECT state, COUNT(*) FROM jobs WHERE run = ?1 GROUP BY state "
                      "ORDER BY state",
    [ST_JOBS_FORGET] = "DELETE FROM jobs WHERE run = ?1",
    [ST_JOBS_FORGET_BEFORE] = "DELETE FROM jobs WHERE run < ?1",
};

#endif /* PHO_CATALOG_SCHEMA_H */
