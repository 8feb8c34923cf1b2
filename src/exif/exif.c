/* SPDX-License-Identifier: MIT */
/*
 * EXIF block -> struct pho_meta, through libexif. libexif walks the IFDs;
 * this file only picks tags, checks their types and counts, and range-checks
 * every value, because EXIF written by cameras and editors is often wrong
 * and sometimes hostile.
 */
#include "core/common.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libexif/exif-data.h>
#include <libexif/exif-utils.h>

#include "exif/tags.h"
#include "pho/exif.h"

enum {
    TAG_MAKE = 0x010f,
    TAG_MODEL = 0x0110,
    TAG_ORIENTATION = 0x0112,
    TAG_DATETIME = 0x0132,
    TAG_EXPOSURE_TIME = 0x829a,
    TAG_FNUMBER = 0x829d,
    TAG_ISO = 0x8827,
    TAG_DATETIME_ORIGINAL = 0x9003,
    TAG_DATETIME_DIGITIZED = 0x9004,
    TAG_OFFSET_TIME = 0x9010,
    TAG_OFFSET_TIME_ORIGINAL = 0x9011,
    TAG_OFFSET_TIME_DIGITIZED = 0x9012,
    TAG_EXPOSURE_BIAS = 0x9204,
    TAG_FOCAL_LENGTH = 0x920a,
    TAG_SUBSEC_TIME = 0x9290,
    TAG_SUBSEC_TIME_ORIGINAL = 0x9291,
    TAG_SUBSEC_TIME_DIGITIZED = 0x9292,
    TAG_BODY_SERIAL = 0xa431,
    TAG_LENS_MAKE = 0xa433,
    TAG_LENS_MODEL = 0xa434,
    TAG_GPS_LAT_REF = 0x0001,
    TAG_GPS_LAT = 0x0002,
    TAG_GPS_LON_REF = 0x0003,
    TAG_GPS_LON = 0x0004,
    TAG_GPS_ALT_REF = 0x0005,
    TAG_GPS_ALT = 0x0006,
    TAG_GPS_STATUS = 0x0009,
};

static void note(struct pho_meta *m, const char *fmt, ...) PHO_PRINTF(2, 3);

/* Keeps the first oddity only: one line is what `info` and reports show. */
static void note(struct pho_meta *m, const char *fmt, ...)
{
    if (m->note[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->note, sizeof(m->note), fmt, ap);
    va_end(ap);
}

/* libexif's readers, in the byte order the value was stored in. */
static uint32_t rd16(const struct pho_exif_value *v, size_t at)
{
    return exif_get_short(v->data + at,
                          v->big_endian ? EXIF_BYTE_ORDER_MOTOROLA : EXIF_BYTE_ORDER_INTEL);
}

static uint32_t rd32(const struct pho_exif_value *v, size_t at)
{
    return exif_get_long(v->data + at,
                         v->big_endian ? EXIF_BYTE_ORDER_MOTOROLA : EXIF_BYTE_ORDER_INTEL);
}

/* The value of (dir, tag) when it holds at least n items of @type. */
static const struct pho_exif_value *typed(const struct pho_exif_tags *t, enum pho_exif_dir dir,
                                          unsigned tag, unsigned type, uint32_t n)
{
    const struct pho_exif_value *v = pho_exif_tags_get(t, dir, tag);
    if (!v || v->type != type || v->count < n)
        return NULL;
    return v->size >= n * pho_exif_tags_type_size(type) ? v : NULL;
}

/* Copies an ASCII tag, trimmed, with control characters replaced. */
static bool get_ascii(const struct pho_exif_tags *t, enum pho_exif_dir dir, unsigned tag, char *buf,
                      size_t size)
{
    const struct pho_exif_value *v = pho_exif_tags_get(t, dir, tag);
    if (!v || !v->size || size == 0)
        return false;
    /* Some writers tag strings as UNDEFINED or BYTE: the bytes are still text. */
    if (v->type != PHO_TIFF_ASCII && v->type != PHO_TIFF_UNDEFINED && v->type != PHO_TIFF_BYTE)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < v->size && v->data[i] && n + 1 < size; i++) {
        unsigned char c = v->data[i];
        buf[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = '\0';
    size_t lead = 0;
    while (buf[lead] == ' ')
        lead++;
    if (lead)
        memmove(buf, buf + lead, n - lead + 1);
    return buf[0] != '\0';
}

static bool get_rational(const struct pho_exif_tags *t, enum pho_exif_dir dir, unsigned tag,
                         unsigned idx, double *out)
{
    const struct pho_exif_value *v;
    if ((v = typed(t, dir, tag, PHO_TIFF_RATIONAL, idx + 1))) {
        uint32_t num = rd32(v, 8 * idx), den = rd32(v, 8 * idx + 4);
        if (den == 0)
            return false;
        *out = (double)num / den;
        return true;
    }
    if ((v = typed(t, dir, tag, PHO_TIFF_SRATIONAL, idx + 1))) {
        int32_t num = (int32_t)rd32(v, 8 * idx), den = (int32_t)rd32(v, 8 * idx + 4);
        if (den == 0)
            return false;
        *out = (double)num / den;
        return true;
    }
    return false;
}

static bool get_uint(const struct pho_exif_tags *t, enum pho_exif_dir dir, unsigned tag,
                     uint32_t *out)
{
    const struct pho_exif_value *v;
    if ((v = typed(t, dir, tag, PHO_TIFF_SHORT, 1)))
        *out = rd16(v, 0);
    else if ((v = typed(t, dir, tag, PHO_TIFF_LONG, 1)))
        *out = rd32(v, 0);
    else if ((v = typed(t, dir, tag, PHO_TIFF_BYTE, 1)))
        *out = v->data[0];
    else if ((v = typed(t, dir, tag, PHO_TIFF_SSHORT, 1)) && !(rd16(v, 0) & 0x8000))
        *out = rd16(v, 0); /* signed types, as some writers use, when not negative */
    else if ((v = typed(t, dir, tag, PHO_TIFF_SLONG, 1)) && !(rd32(v, 0) & 0x80000000u))
        *out = rd32(v, 0);
    else
        return false;
    return true;
}

/* A date tag, searched in the EXIF IFD first and IFD0 second (some writers misplace it). */
static bool get_date(const struct pho_exif_tags *d, unsigned tag, int64_t *out)
{
    char buf[64];
    return (get_ascii(d, PHO_EXIF_DIR_EXIF, tag, buf, sizeof(buf)) ||
            get_ascii(d, PHO_EXIF_DIR_0, tag, buf, sizeof(buf))) &&
           pho_time_parse_exif(out, buf) == 0;
}

static void read_time(struct pho_meta *m, const struct pho_exif_tags *d)
{
    static const struct {
        unsigned date, subsec, offset;
        enum pho_time_source src;
    } order[] = {
        { TAG_DATETIME_ORIGINAL, TAG_SUBSEC_TIME_ORIGINAL, TAG_OFFSET_TIME_ORIGINAL,
          PHO_TIME_ORIGINAL },
        { TAG_DATETIME_DIGITIZED, TAG_SUBSEC_TIME_DIGITIZED, TAG_OFFSET_TIME_DIGITIZED,
          PHO_TIME_DIGITIZED },
        { TAG_DATETIME, TAG_SUBSEC_TIME, TAG_OFFSET_TIME, PHO_TIME_DATETIME },
    };
    char raw[64];
    if (get_ascii(d, PHO_EXIF_DIR_EXIF, TAG_DATETIME_ORIGINAL, raw, sizeof(raw))) {
        int64_t tmp;
        if (pho_time_parse_exif(&tmp, raw) != 0)
            note(m, "DateTimeOriginal '%s' is not a valid date; ignored", raw);
    }
    for (size_t i = 0; i < PHO_ARRAY_LEN(order); i++) {
        int64_t local;
        if (!get_date(d, order[i].date, &local))
            continue;
        /* Keep a better source an earlier block (or container) already gave. */
        if (pho_exif_time_rank(m->time.source) <= pho_exif_time_rank(order[i].src))
            return;
        memset(&m->time, 0, sizeof(m->time));
        m->time.local = local;
        m->time.source = order[i].src;
        char buf[32];
        if (get_ascii(d, PHO_EXIF_DIR_EXIF, order[i].subsec, buf, sizeof(buf))) {
            int32_t ns = pho_time_parse_subsec(buf);
            if (ns > 0)
                m->time.nsec = ns;
        }
        if (get_ascii(d, PHO_EXIF_DIR_EXIF, order[i].offset, buf, sizeof(buf)) &&
            pho_time_parse_offset(&m->time.offset_min, buf))
            m->time.has_offset = true;
        return;
    }
}

/* An exposure tag from the EXIF sub-IFD, else from IFD0 where some writers put it. */
static bool exposure_rational(const struct pho_exif_tags *d, unsigned tag, double *v)
{
    return get_rational(d, PHO_EXIF_DIR_EXIF, tag, 0, v) ||
           get_rational(d, PHO_EXIF_DIR_0, tag, 0, v);
}

static void read_exposure(struct pho_meta *m, const struct pho_exif_tags *d)
{
    double v;
    uint32_t u;
    if (exposure_rational(d, TAG_EXPOSURE_TIME, &v) && v > 0 && v < 1e5) {
        m->exposure_time = v;
        m->flags |= PHO_META_EXPOSURE_TIME;
    }
    if (exposure_rational(d, TAG_FNUMBER, &v) && v >= 0.3 && v <= 1024) {
        m->fnumber = v;
        m->flags |= PHO_META_FNUMBER;
    }
    if ((get_uint(d, PHO_EXIF_DIR_EXIF, TAG_ISO, &u) || get_uint(d, PHO_EXIF_DIR_0, TAG_ISO, &u)) &&
        u > 0 && u < 10000000) {
        m->iso = u;
        m->flags |= PHO_META_ISO;
    }
    if (get_rational(d, PHO_EXIF_DIR_EXIF, TAG_EXPOSURE_BIAS, 0, &v) && fabs(v) <= 64) {
        m->exposure_bias = v;
        m->flags |= PHO_META_EXPOSURE_BIAS;
    }
    if (exposure_rational(d, TAG_FOCAL_LENGTH, &v) && v > 0 && v < 1e5) {
        m->focal_length = v;
        m->flags |= PHO_META_FOCAL_LENGTH;
    }
}

static bool gps_coord(const struct pho_exif_tags *d, unsigned tag, double *out)
{
    double deg, min = 0, sec = 0;
    if (!get_rational(d, PHO_EXIF_DIR_GPS, tag, 0, &deg))
        return false;
    /* Minutes and seconds are optional in practice (some writers store decimal degrees). */
    if (get_rational(d, PHO_EXIF_DIR_GPS, tag, 1, &min))
        get_rational(d, PHO_EXIF_DIR_GPS, tag, 2, &sec);
    /* Out-of-range minutes or seconds are folded in: the sum is what gets range-checked. */
    if (!isfinite(deg) || !isfinite(min) || !isfinite(sec) || deg < 0 || min < 0 || sec < 0)
        *out = NAN;
    else
        *out = deg + min / 60.0 + sec / 3600.0;
    return true;
}

static void read_gps(struct pho_meta *m, const struct pho_exif_tags *d)
{
    double lat, lon;
    if (!gps_coord(d, TAG_GPS_LAT, &lat) || !gps_coord(d, TAG_GPS_LON, &lon))
        return;
    char ref[8];
    char status[8];
    if (get_ascii(d, PHO_EXIF_DIR_GPS, TAG_GPS_STATUS, status, sizeof(status)) &&
        status[0] == 'V') {
        note(m, "gps status is 'void' (no fix); position ignored");
        return;
    }
    if (isnan(lat) || lat > 90) {
        if (isnan(lat))
            note(m, "gps latitude is not a number; position ignored");
        else
            note(m, "gps latitude %.1f\xc2\xb0 is out of range; position ignored", lat);
        return;
    }
    if (isnan(lon) || lon > 180) {
        if (isnan(lon))
            note(m, "gps longitude is not a number; position ignored");
        else
            note(m, "gps longitude %.1f\xc2\xb0 is out of range; position ignored", lon);
        return;
    }
    if (get_ascii(d, PHO_EXIF_DIR_GPS, TAG_GPS_LAT_REF, ref, sizeof(ref)) &&
        (ref[0] == 'S' || ref[0] == 's'))
        lat = -lat;
    if (get_ascii(d, PHO_EXIF_DIR_GPS, TAG_GPS_LON_REF, ref, sizeof(ref)) &&
        (ref[0] == 'W' || ref[0] == 'w'))
        lon = -lon;
    if (lat == 0 && lon == 0) {
        /* "Null Island": what phones write when they had no fix. */
        note(m, "gps position 0,0 is a placeholder; ignored");
        return;
    }
    m->gps_lat = lat;
    m->gps_lon = lon;
    m->flags |= PHO_META_GPS;
    double alt;
    if (get_rational(d, PHO_EXIF_DIR_GPS, TAG_GPS_ALT, 0, &alt) && isfinite(alt) && alt < 1e5) {
        uint32_t aref = 0;
        get_uint(d, PHO_EXIF_DIR_GPS, TAG_GPS_ALT_REF, &aref);
        m->gps_alt = aref == 1 ? -alt : alt;
        m->flags |= PHO_META_GPS_ALT;
    }
}

void pho_meta_init(struct pho_meta *m)
{
    memset(m, 0, sizeof(*m));
    m->orientation = 1;
}

void pho_exif_tags_apply(struct pho_meta *m, const struct pho_exif_tags *d)
{
    if (!d->found)
        return;
    m->flags |= PHO_META_EXIF;

    if (!m->make[0])
        get_ascii(d, PHO_EXIF_DIR_0, TAG_MAKE, m->make, sizeof(m->make));
    if (!m->model[0])
        get_ascii(d, PHO_EXIF_DIR_0, TAG_MODEL, m->model, sizeof(m->model));
    if (!m->serial[0])
        get_ascii(d, PHO_EXIF_DIR_EXIF, TAG_BODY_SERIAL, m->serial, sizeof(m->serial));
    if (!m->lens[0] && get_ascii(d, PHO_EXIF_DIR_EXIF, TAG_LENS_MODEL, m->lens, sizeof(m->lens))) {
        char lmake[PHO_META_STR];
        /* Prefix the lens maker unless the model already names it. */
        if (get_ascii(d, PHO_EXIF_DIR_EXIF, TAG_LENS_MAKE, lmake, sizeof(lmake)) &&
            strncasecmp(m->lens, lmake, strlen(lmake)) != 0) {
            char both[2 * PHO_META_STR + 2];
            snprintf(both, sizeof(both), "%s %s", lmake, m->lens);
            pho_strlcpy(m->lens, both, sizeof(m->lens));
        }
    }

    uint32_t orient;
    if (m->orientation_tag == 0 && get_uint(d, PHO_EXIF_DIR_0, TAG_ORIENTATION, &orient)) {
        m->orientation_tag = (uint8_t)PHO_MIN(orient, 255u);
        if (orient >= 1 && orient <= 8) {
            m->orientation = (uint8_t)orient;
        } else {
            m->orientation = 1;
            note(m, "orientation tag %u is invalid; treated as 1 (normal)", (unsigned)orient);
        }
    }
    read_time(m, d);
    read_exposure(m, d);
    read_gps(m, d);
}

/* Apple's maker note: "Apple iOS\0", a version, the byte order, then one IFD whose
 * offsets count from the note's start (ExifTool's Apple tags). Tag 0x0011 is the content
 * identifier that ties a Live Photo's still to its video. Read here from the note's bytes:
 * libexif 0.6.24's Apple reader returns the wrong bytes for values stored out of line. */
#define APPLE_CONTENT_ID 0x0011

static void read_apple(struct pho_meta *m, ExifData *d)
{
    if (m->content_id[0] || strncmp(m->make, "Apple", 5) != 0 || !d->ifd[EXIF_IFD_EXIF])
        return;
    const ExifEntry *e = exif_content_get_entry(d->ifd[EXIF_IFD_EXIF], EXIF_TAG_MAKER_NOTE);
    static const char magic[10] = "Apple iOS";
    if (!e || !e->data || e->size < 16 || memcmp(e->data, magic, sizeof(magic)) != 0)
        return;
    const unsigned char *n = e->data;
    size_t size = e->size;
    ExifByteOrder o;
    if (n[12] == 'M' && n[13] == 'M')
        o = EXIF_BYTE_ORDER_MOTOROLA;
    else if (n[12] == 'I' && n[13] == 'I')
        o = EXIF_BYTE_ORDER_INTEL;
    else
        return;
    unsigned count = exif_get_short(n + 14, o);
    for (size_t i = 0; i < count && 16 + 12 * (i + 1) <= size; i++) {
        const unsigned char *en = n + 16 + 12 * i;
        if (exif_get_short(en, o) != APPLE_CONTENT_ID)
            continue;
        if (exif_get_short(en + 2, o) != EXIF_FORMAT_ASCII)
            return;
        uint32_t len = exif_get_long(en + 4, o), at = exif_get_long(en + 8, o);
        const unsigned char *v = len <= 4 ? en + 8 : at <= size && len <= size - at ? n + at : NULL;
        if (!v || len == 0 || len >= sizeof(m->content_id))
            return;
        char id[sizeof(m->content_id)];
        size_t k = 0;
        for (; k < len && v[k]; k++) {
            if (v[k] <= ' ' || v[k] > '~') /* a UUID: printable ASCII, else not one */
                return;
            id[k] = (char)v[k];
        }
        id[k] = '\0';
        pho_strlcpy(m->content_id, id, sizeof(m->content_id));
        return;
    }
}

/* Copies what libexif found in one directory into the tag set. */
static void collect(struct pho_exif_tags *t, ExifData *d, ExifIfd ifd, enum pho_exif_dir dir)
{
    ExifContent *c = d->ifd[ifd];
    bool big = exif_data_get_byte_order(d) == EXIF_BYTE_ORDER_MOTOROLA;
    for (unsigned i = 0; c && i < c->count; i++) {
        const ExifEntry *e = c->entries[i];
        if (e && e->data && e->size)
            pho_exif_tags_add(t, dir, e->tag, e->format, (uint32_t)e->components, e->data, e->size,
                              big);
    }
}

int pho_exif_parse(struct pho_meta *m, const void *data, size_t len, struct pho_err *err)
{
    static const unsigned char exif_hdr[6] = { 'E', 'x', 'i', 'f', 0, 0 };
    const unsigned char *p = data;
    unsigned char *copy = NULL;
    struct pho_exif_tags *tags = NULL;
    int rc = 0;

    if (!p || len < 8)
        return pho_err_set(err, PHO_ECORRUPT, "exif: block too short (%zu bytes)", len);
    /* libexif wants "Exif\0\0" or a JPEG stream; a bare TIFF header (PNG
     * eXIf chunks, HEIF items without the prefix) gets the prefix. libexif
     * reads at most 64 KiB: whole TIFF-structured files go through LibRaw's
     * walk instead (src/image/raw.c). */
    bool tiff = (p[0] == 'I' && p[1] == 'I') || (p[0] == 'M' && p[1] == 'M');
    if (tiff) {
        size_t n = PHO_MIN(len, (size_t)0xfff0);
        copy = pho_malloc(n + sizeof(exif_hdr));
        if (!copy)
            return pho_err_set(err, PHO_ENOMEM, "exif: out of memory");
        memcpy(copy, exif_hdr, sizeof(exif_hdr));
        memcpy(copy + sizeof(exif_hdr), p, n);
        p = copy;
        len = n + sizeof(exif_hdr);
    }

    ExifData *d = exif_data_new();
    tags = pho_malloc(sizeof(*tags));
    if (!d || !tags) {
        rc = pho_err_set(err, PHO_ENOMEM, "exif: out of memory");
        goto out;
    }
    /* FOLLOW_SPECIFICATION would "fix" the data by inventing mandatory tags
     * (a DateTime of now); unknown tags are kept because RAW files rely on them. */
    exif_data_unset_option(d, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_unset_option(d, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
    exif_data_load_data(d, p, (unsigned int)PHO_MIN(len, (size_t)UINT32_MAX));

    bool any = false;
    for (int i = 0; i < EXIF_IFD_COUNT; i++)
        any |= d->ifd[i] && d->ifd[i]->count > 0;
    if (!any) {
        rc = pho_err_set(err, PHO_ECORRUPT, "exif: no readable EXIF directory");
        goto out;
    }
    pho_exif_tags_init(tags);
    collect(tags, d, EXIF_IFD_0, PHO_EXIF_DIR_0);
    collect(tags, d, EXIF_IFD_EXIF, PHO_EXIF_DIR_EXIF);
    collect(tags, d, EXIF_IFD_GPS, PHO_EXIF_DIR_GPS);
    m->flags |= PHO_META_EXIF;
    pho_exif_tags_apply(m, tags);
    read_apple(m, d);

out:
    if (d)
        exif_data_unref(d);
    pho_free(tags);
    pho_free(copy);
    return rc;
}
