/* SPDX-License-Identifier: MIT */
/*
 * Google Takeout's JSON sidecar. Takeout exports strip or rewrite EXIF, and
 * the time a photo was taken then survives only in the JSON beside it:
 * {"photoTakenTime": {"timestamp": "1562848200", ...},
 *  "geoData": {"latitude": 48.85, "longitude": 2.35, "altitude": 35.0, ...}}.
 * The timestamp is Unix seconds (UTC), written as a string by Takeout (a
 * number is accepted too). A geoData of 0, 0 is Takeout's "unknown".
 */
#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/file.h"
#include "exif/tags.h"
#include "pho/exif.h"

/* Takeout's JSON are a few kilobytes; anything far larger is not one. */
#define TAKEOUT_MAX_BYTES (1u << 20)

/* A JSON number, or a string holding one (Takeout writes timestamps as strings). */
static bool number_of(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return isfinite(*out);
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        *out = strtod(s, &end);
        return end != s && *end == '\0' && isfinite(*out);
    }
    return false;
}

static void take_time(struct pho_meta *m, const json_t *root)
{
    double ts;
    const json_t *t = json_object_get(root, "photoTakenTime");
    if (!number_of(json_object_get(t, "timestamp"), &ts))
        return;
    /* 0 is what Takeout writes when it does not know; years past 9999 are not times. */
    if (ts <= 0 || ts > 253402300799.0)
        return;
    if (pho_exif_time_rank(m->time.source) <= pho_exif_time_rank(PHO_TIME_TAKEOUT))
        return;
    m->time = (struct pho_time){
        .local = (int64_t)ts,
        .nsec = 0,
        .offset_min = 0,
        .has_offset = true, /* the timestamp is UTC */
        .source = PHO_TIME_TAKEOUT,
    };
}

static void take_place(struct pho_meta *m, const json_t *root)
{
    if (m->flags & PHO_META_GPS)
        return;
    /* geoDataExif is Takeout's copy of the EXIF position; geoData its own. */
    static const char *const keys[] = { "geoData", "geoDataExif" };
    for (size_t k = 0; k < PHO_ARRAY_LEN(keys); k++) {
        const json_t *g = json_object_get(root, keys[k]);
        double lat, lon, alt;
        if (!number_of(json_object_get(g, "latitude"), &lat) ||
            !number_of(json_object_get(g, "longitude"), &lon))
            continue;
        if ((lat == 0 && lon == 0) || fabs(lat) > 90 || fabs(lon) > 180)
            continue;
        m->gps_lat = lat;
        m->gps_lon = lon;
        m->flags |= PHO_META_GPS | PHO_META_GPS_TAKEOUT;
        if (number_of(json_object_get(g, "altitude"), &alt) && fabs(alt) < 100000) {
            m->gps_alt = alt;
            m->flags |= PHO_META_GPS_ALT;
        }
        return;
    }
}

int pho_takeout_apply(struct pho_meta *m, const char *json_path, struct pho_err *err)
{
    int fd = -1;
    struct stat st;
    int rc = pho_file__open_regular(&fd, &st, json_path, "takeout", err);
    if (rc)
        return rc;
    char *buf = NULL;
    json_t *root = NULL;
    if (st.st_size <= 0 || (uint64_t)st.st_size > TAKEOUT_MAX_BYTES) {
        rc = pho_err_set(err, PHO_ECORRUPT, "takeout: %s: %lld bytes is not a Takeout sidecar",
                         json_path, (long long)st.st_size);
        goto out;
    }
    buf = pho_malloc((size_t)st.st_size);
    if (!buf) {
        rc = pho_err_set(err, PHO_ENOMEM, "takeout: out of memory");
        goto out;
    }
    ssize_t n = pho_file__pread_full(fd, buf, (size_t)st.st_size, 0);
    if (n != st.st_size) {
        rc = pho_err_set(err, PHO_EIO, "takeout: %s: cannot read", json_path);
        goto out;
    }
    json_error_t je;
    root = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(root)) {
        rc = pho_err_set(err, PHO_ECORRUPT, "takeout: %s: not a JSON object (%s, line %d)",
                         json_path, root ? "another value" : je.text, je.line);
        goto out;
    }
    take_time(m, root);
    take_place(m, root);
out:
    json_decref(root);
    pho_free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}
