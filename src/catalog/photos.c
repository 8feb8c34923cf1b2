/* SPDX-License-Identifier: MIT */
/*
 * Photo and face records of the catalog: one row per source file, stored as
 * typed columns (schema.h's single column list binds and reads them in the
 * same order), and each photo's faces as one versioned blob (faces_blob.c).
 * A record is read back exactly or not at all: a value out of range makes
 * the row a miss, so the photo is analysed again rather than trusted.
 */
#include "core/common.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "catalog/faces_blob.h"
#include "catalog/internal.h"
#include "catalog/schema.h"
#include "pho/catalog.h"
#include "pho/face.h"

/* Binds photo columns (schema.h's order) of one statement. */
struct binder {
    struct cat_stmt *s;
};

static void b_int(struct binder *b, int col, int64_t v)
{
    pho_catalog__bind_int(b->s, PARAM_FIRST_COLUMN + col, v);
}

static void b_real(struct binder *b, int col, double v)
{
    pho_catalog__bind_real(b->s, PARAM_FIRST_COLUMN + col, v);
}

/* A fixed-size field: never read past it, even if it lacks its NUL. */
static void b_str(struct binder *b, int col, const char *field, size_t size)
{
    pho_catalog__bind_text(b->s, PARAM_FIRST_COLUMN + col, field, strnlen(field, size));
}

#define B_STR(b, col, field) b_str(b, col, field, sizeof(field))

/* The signature's record: a version byte, the four crop hashes (little-endian), the thumbnail. */
#define SIG_VERSION 2
#define SIG_BYTES   (1 + 8 * 2 * PHO_HASH_CROPS + PHO_HASH_THUMB * PHO_HASH_THUMB + 64 + 16)
#define SIG_TURNED  (1 + 16 * PHO_HASH_CROPS + PHO_HASH_THUMB * PHO_HASH_THUMB + 64)

static void put_u64(uint8_t *out, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *in)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | in[i];
    return v;
}

static void sig_encode(uint8_t *out, const struct pho_hash_sig *sig)
{
    out[0] = SIG_VERSION;
    for (int k = 0; k < PHO_HASH_CROPS; k++) {
        put_u64(out + 1 + 8 * k, sig->crop_dhash[k]);
        put_u64(out + 1 + 8 * (PHO_HASH_CROPS + k), sig->crop_phash[k]);
    }
    memcpy(out + 1 + 16 * PHO_HASH_CROPS, sig->thumb, sizeof(sig->thumb));
    memcpy(out + 1 + 16 * PHO_HASH_CROPS + sizeof(sig->thumb), sig->colour, sizeof(sig->colour));
    put_u64(out + SIG_TURNED, sig->turned_dhash[0]);
    put_u64(out + SIG_TURNED + 8, sig->turned_dhash[1]);
}

static bool sig_decode(struct pho_hash_sig *sig, const uint8_t *in, size_t len)
{
    if (len != SIG_BYTES || in[0] != SIG_VERSION)
        return false;
    for (int k = 0; k < PHO_HASH_CROPS; k++) {
        sig->crop_dhash[k] = get_u64(in + 1 + 8 * k);
        sig->crop_phash[k] = get_u64(in + 1 + 8 * (PHO_HASH_CROPS + k));
    }
    memcpy(sig->thumb, in + 1 + 16 * PHO_HASH_CROPS, sizeof(sig->thumb));
    memcpy(sig->colour, in + 1 + 16 * PHO_HASH_CROPS + sizeof(sig->thumb), sizeof(sig->colour));
    sig->turned_dhash[0] = get_u64(in + SIG_TURNED);
    sig->turned_dhash[1] = get_u64(in + SIG_TURNED + 8);
    return true;
}

int pho_catalog_put(struct pho_catalog *cat, const struct pho_photo *p, struct pho_err *err)
{
    if (!p || !p->rel)
        return pho_err_set(err, PHO_EINVAL, "catalog: photo without a path");
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_PHOTO_PUT, &s, err);
    if (rc < 0)
        return rc;
    const struct pho_meta *m = &p->meta;
    const struct pho_quality *q = &p->quality;
    struct binder b = { s };
    pho_catalog__bind_text(s, PARAM_REL, p->rel, strlen(p->rel));
    b_int(&b, COL_size, pho_catalog__u64_bits(p->size));
    b_int(&b, COL_mtime_ns, p->mtime_ns);
    b_int(&b, COL_analysed, p->analysed);
    b_int(&b, COL_error, p->error);
    B_STR(&b, COL_error_msg, p->error_msg);
    b_int(&b, COL_format, m->format);
    b_int(&b, COL_file_size, pho_catalog__u64_bits(m->file_size));
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
    B_STR(&b, COL_serial, m->serial);
    B_STR(&b, COL_content_id, m->content_id);
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
    b_int(&b, COL_dhash, pho_catalog__u64_bits(p->dhash));
    b_int(&b, COL_phash, pho_catalog__u64_bits(p->phash));
    b_real(&b, COL_q_sharpness, q->sharpness);
    b_real(&b, COL_q_clipped_high, q->clipped_high);
    b_real(&b, COL_q_clipped_low, q->clipped_low);
    b_real(&b, COL_q_mean_luma, q->mean_luma);
    b_real(&b, COL_q_noise, q->noise);
    b_real(&b, COL_q_brisque, q->brisque);
    b_real(&b, COL_q_megapixels, q->megapixels);
    b_real(&b, COL_q_score, q->score);
    b_int(&b, COL_thumb_hashed, p->hashed_from_thumbnail);
    b_int(&b, COL_probed, p->probed);
    uint8_t sig[SIG_BYTES];
    sig_encode(sig, &p->sig);
    if (p->analysed)
        pho_catalog__bind_blob(s, PARAM_FIRST_COLUMN + COL_sig, sig, SIG_BYTES);
    else
        pho_catalog__bind_null(s, PARAM_FIRST_COLUMN + COL_sig);
    return pho_catalog__run(s, err, "cannot store a photo");
}

/*
 * Reads columns back into their C fields and checks that each fits: a row
 * that does not (edited by hand, or by a version that widened a field) is
 * treated as missing, so the photo is analysed again and the row replaced.
 */
struct reader {
    struct cat_stmt *s;
    bool ok;
    bool nomem;
};

static int64_t r_int(struct reader *r, int col, int64_t lo, int64_t hi)
{
    if (pho_catalog__col_type(r->s, col) != CAT_INT) {
        r->ok = false;
        return 0;
    }
    int64_t v = pho_catalog__col_int(r->s, col);
    if (v < lo || v > hi) {
        r->ok = false;
        return 0;
    }
    return v;
}

static uint64_t r_u64(struct reader *r, int col)
{
    return pho_catalog__bits_u64(r_int(r, col, INT64_MIN, INT64_MAX));
}

static double r_real(struct reader *r, int col)
{
    switch (pho_catalog__col_type(r->s, col)) {
    case CAT_NULL:
        return NAN;
    case CAT_REAL:
        return pho_catalog__col_real(r->s, col);
    default:
        r->ok = false;
        return 0;
    }
}

static void r_str(struct reader *r, int col, char *field, size_t size)
{
    /* Text, or bytes where the engine keeps text as bytes (PostgreSQL's bytea). */
    enum cat_type t0 = pho_catalog__col_type(r->s, col);
    if (t0 != CAT_TEXT && t0 != CAT_BLOB) {
        r->ok = false;
        return;
    }
    size_t len = 0;
    const char *t = pho_catalog__col_data(r->s, col, &len);
    if (!t) {
        r->nomem = true;
        r->ok = false;
        return;
    }
    pho_catalog__copy_bounded(field, size, t, len);
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
    m->time.source = (enum pho_time_source)r_int(r, COL_time_source, PHO_TIME_NONE, PHO_TIME_XMP);
    R_STR(r, COL_make, m->make);
    R_STR(r, COL_model, m->model);
    R_STR(r, COL_lens, m->lens);
    R_STR(r, COL_serial, m->serial);
    R_STR(r, COL_content_id, m->content_id);
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
    p->hashed_from_thumbnail = r_int(r, COL_thumb_hashed, 0, 1);
    p->probed = r_int(r, COL_probed, 0, 1);
    /* An analysed photo without a signature (a catalog from before it) is analysed again. */
    if (p->analysed) {
        size_t len = 0;
        const void *blob = pho_catalog__col_type(r->s, COL_sig) == CAT_BLOB
                                   ? pho_catalog__col_data(r->s, COL_sig, &len)
                                   : NULL;
        if (!blob || !sig_decode(&p->sig, blob, len))
            r->ok = false;
    }
    return r->ok;
}

int pho_catalog_lookup(struct pho_catalog *cat, struct pho_photo *photo, bool *found,
                       struct pho_err *err)
{
    *found = false;
    if (!photo || !photo->rel)
        return pho_err_set(err, PHO_EINVAL, "catalog: photo without a path");
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_PHOTO_LOOKUP, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_text(s, 1, photo->rel, strlen(photo->rel));
    pho_catalog__bind_int(s, 2, pho_catalog__u64_bits(photo->size));
    pho_catalog__bind_int(s, 3, photo->mtime_ns);
    bool there = false;
    rc = pho_catalog__step(s, &there, err, "cannot look up a photo");
    if (there) {
        /* Decoded aside: the caller's record changes only on a full match. */
        struct pho_photo row;
        memset(&row, 0, sizeof(row));
        struct reader r = { s, true, false };
        if (read_photo(&r, &row)) {
            photo->meta = row.meta;
            photo->dhash = row.dhash;
            photo->phash = row.phash;
            photo->sig = row.sig;
            photo->quality = row.quality;
            photo->hashed_from_thumbnail = row.hashed_from_thumbnail;
            photo->probed = row.probed;
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
    }
    pho_catalog__reset(s);
    return rc;
}

int pho_catalog_forget_photos(struct pho_catalog *cat, struct pho_err *err)
{
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_PHOTO_FORGET_ALL, &s, err);
    if (rc == 0)
        rc = pho_catalog__run(s, err, "cannot forget the photos");
    if (rc == 0)
        rc = pho_catalog__stmt(cat, ST_FACES_FORGET_ALL, &s, err);
    return rc < 0 ? rc : pho_catalog__run(s, err, "cannot forget the faces");
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
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_FACES_PUT, &s, err);
    if (rc == 0) {
        pho_catalog__bind_text(s, 1, rel, strlen(rel));
        pho_catalog__bind_int(s, 2, pho_catalog__u64_bits(size));
        pho_catalog__bind_int(s, 3, mtime_ns);
        pho_catalog__bind_text(s, 4, config, strlen(config));
        pho_catalog__bind_int(s, 5, faces->image_w);
        pho_catalog__bind_int(s, 6, faces->image_h);
        pho_catalog__bind_int(s, 7, (int64_t)faces->count);
        pho_catalog__bind_blob(s, 8, data, len);
        rc = pho_catalog__run(s, err, "cannot record faces");
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
    struct cat_stmt *s = NULL;
    int rc = pho_catalog__stmt(cat, ST_FACES_GET, &s, err);
    if (rc < 0)
        return rc;
    pho_catalog__bind_text(s, 1, rel, strlen(rel));
    pho_catalog__bind_int(s, 2, pho_catalog__u64_bits(size));
    pho_catalog__bind_int(s, 3, mtime_ns);
    pho_catalog__bind_text(s, 4, config, strlen(config));
    bool row = false;
    rc = pho_catalog__step(s, &row, err, "cannot look up faces");
    if (row) {
        size_t len = 0;
        const uint8_t *blob =
                pho_catalog__col_type(s, 3) == CAT_BLOB ? pho_catalog__col_data(s, 3, &len) : NULL;
        out->image_w = (uint32_t)pho_catalog__col_int(s, 0);
        out->image_h = (uint32_t)pho_catalog__col_int(s, 1);
        if (pho_catalog__faces_decode(out, blob ? blob : (const uint8_t *)"", blob ? len : 0,
                                      pho_catalog__col_int(s, 2))) {
            *found = true;
        } else {
            pho_free(out->faces);
            memset(out, 0, sizeof(*out));
            PHO_LOG_DEBUG("catalog", "faces of %s do not fit this version; analysing again", rel);
        }
    }
    pho_catalog__reset(s);
    return rc;
}

/* ---------------------------------------------------------------- runs */
