/* SPDX-License-Identifier: MIT */
/**
 * @file exif.h
 * Photo metadata: capture time (with the tag it came from), orientation,
 * camera and lens, exposure, GPS and pixel size.
 *
 * `struct pho_meta` is plain data with fixed-size strings: copy it, store it,
 * share it read-only between threads; nothing inside needs freeing.
 *
 *     struct pho_meta m;
 *     struct pho_err err = PHO_ERR_INIT;
 *     if (pho_image_probe(&m, "IMG_1234.JPG", NULL, &err) == 0 && m.time.source)
 *         ... m.time.local, m.make, m.gps_lat ...
 */
#ifndef PHO_EXIF_H
#define PHO_EXIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"
#include "pho/error.h"

PHO_BEGIN_DECLS

/** Where a capture time came from, most trustworthy first (but for PHO_TIME_XMP). */
enum pho_time_source {
    PHO_TIME_NONE = 0,
    PHO_TIME_ORIGINAL,  /**< EXIF DateTimeOriginal (0x9003) */
    PHO_TIME_DIGITIZED, /**< EXIF DateTimeDigitized (0x9004) */
    PHO_TIME_DATETIME,  /**< IFD0 DateTime (0x0132): last modification by the camera/editor */
    PHO_TIME_MTIME,     /**< file modification time */
    /** XMP exif:DateTimeOriginal, photoshop:DateCreated or xmp:CreateDate, when
     *  the EXIF has no DateTimeOriginal or DateTimeDigitized. Ranks between
     *  DateTimeDigitized and DateTime (numbered last to keep stored values). */
    PHO_TIME_XMP,
    /** Google Takeout's photoTakenTime (UTC), from the photo's JSON sidecar, when the
     *  photo's own metadata has no capture time better than IFD0 DateTime; ranks between
     *  XMP and DateTime (docs/shots.md). */
    PHO_TIME_TAKEOUT,
};

/**
 * A capture time as the camera's clock showed it. `local` counts seconds
 * since 1970-01-01 00:00:00 of that wall clock (no zone applied), so two
 * photos from the same camera compare directly. When the EXIF carries an
 * OffsetTime* tag, `has_offset` is set and UTC = local - offset_min * 60.
 */
struct pho_time {
    int64_t local;
    int32_t nsec;       /**< sub-second part from SubSecTime*, 0 if absent */
    int16_t offset_min; /**< UTC offset in minutes, valid when has_offset */
    bool has_offset;
    enum pho_time_source source;
};

/** Flags for the optional fields of struct pho_meta. */
enum pho_meta_flags {
    PHO_META_EXPOSURE_TIME = 1u << 0,
    PHO_META_FNUMBER = 1u << 1,
    PHO_META_ISO = 1u << 2,
    PHO_META_EXPOSURE_BIAS = 1u << 3,
    PHO_META_FOCAL_LENGTH = 1u << 4,
    PHO_META_GPS = 1u << 5,         /**< gps_lat / gps_lon valid */
    PHO_META_GPS_ALT = 1u << 6,     /**< gps_alt valid */
    PHO_META_EXIF = 1u << 7,        /**< an EXIF block was found and parsed */
    PHO_META_DIMENSIONS = 1u << 8,  /**< width / height valid */
    PHO_META_GPS_TAKEOUT = 1u << 9, /**< the GPS position is Takeout's geoData, not the EXIF's */
};

#define PHO_META_STR 96

struct pho_meta {
    int format;         /**< enum pho_format (image.h) */
    uint64_t file_size; /**< bytes; 0 for in-memory probes */
    int64_t mtime;      /**< file modification time, Unix seconds */
    int32_t mtime_nsec;
    uint32_t width, height;  /**< stored pixel size, before orientation */
    uint8_t orientation;     /**< EXIF orientation 1..8, 1 when absent or invalid */
    uint8_t orientation_tag; /**< value as stored, 0 when absent */
    struct pho_time time;
    char make[PHO_META_STR];
    char model[PHO_META_STR];
    char lens[PHO_META_STR];
    /** BodySerialNumber: tells two bodies of one model apart ("" when not written; most phones
     *  do not). Kept in the catalog for grouping, never shown in reports. */
    char serial[PHO_META_STR];
    /** Apple's content identifier (maker note tag 0x0011): the same in a Live Photo's
     *  still and its video ("" when not written). Kept in the catalog, never shown. */
    char content_id[64];
    double exposure_time; /**< seconds */
    double fnumber;
    uint32_t iso;
    double exposure_bias;    /**< EV */
    double focal_length;     /**< mm */
    double gps_lat, gps_lon; /**< degrees, north and east positive */
    double gps_alt;          /**< metres above sea level */
    unsigned flags;          /**< enum pho_meta_flags */
    char note[160];          /**< first oddity found (out-of-range GPS, bad date…), "" if none */
};

/** Zeroes @p m and sets the defaults (orientation 1). */
PHO_API void pho_meta_init(struct pho_meta *m);

/**
 * Parses an EXIF block into @p m, keeping fields @p m already holds when the
 * block lacks them. Accepts a block that starts with "Exif\0\0", with a bare
 * TIFF header ("II*\0" / "MM\0*"), or a JPEG stream (APP1 is searched).
 * Hostile values are range-checked: bad ones are dropped and noted in
 * m->note, never trusted.
 * @return 0, or PHO_ECORRUPT when no EXIF structure could be read.
 */
PHO_API int pho_exif_parse(struct pho_meta *m, const void *data, size_t len, struct pho_err *err);

/**
 * Takes the capture time from an XMP packet (through Exempi) when @p m has
 * none better: exif:DateTimeOriginal, else photoshop:DateCreated, else
 * xmp:CreateDate, with sub-seconds and zone when given.
 * @return 0 (also when the packet has no date, or is not read because @p m
 * has a better date), PHO_ECORRUPT for a packet that does not parse.
 */
PHO_API int pho_xmp_parse(struct pho_meta *m, const void *data, size_t len, struct pho_err *err);

/**
 * Parses an EXIF date "YYYY:MM:DD HH:MM:SS" (also accepts '-' separators, a
 * 'T', and a trailing ".fraction" or junk after the seconds).
 * @return 0 with *out_local set, or PHO_ECORRUPT for blank, zero or invalid dates.
 */
PHO_API int pho_time_parse_exif(int64_t *out_local, const char *s);

/** Parses SubSecTime digits ("187" = 0.187 s) into nanoseconds; -1 if invalid. */
PHO_API int32_t pho_time_parse_subsec(const char *s);

/** Parses an OffsetTime value "+02:00" / "-05:30" into minutes; returns false if invalid. */
PHO_API bool pho_time_parse_offset(int16_t *out_min, const char *s);

/**
 * Seconds from @p a to @p b (b - a). Uses UTC when both carry an offset,
 * the wall clocks otherwise.
 */
PHO_API double pho_time_diff(const struct pho_time *a, const struct pho_time *b);

/**
 * Formats as ISO 8601 ("2019-11-12T11:10:24.187+01:00"; no offset part when
 * unknown). Returns the length written, like snprintf.
 */
PHO_API int pho_time_format(char *buf, size_t size, const struct pho_time *t);

/**
 * Fills from a Google Takeout JSON sidecar (@p json_path) what @p m lacks:
 * the capture time from photoTakenTime when @p m has none better than IFD0
 * DateTime, the GPS position from geoData when @p m has none (a geoData of
 * 0, 0 means unknown). The photo's own metadata always wins.
 * @return 0 (also when nothing was taken), PHO_ECORRUPT when the file is not
 * Takeout JSON, PHO_EIO / PHO_ENOTFOUND when it cannot be read.
 */
PHO_API int pho_takeout_apply(struct pho_meta *m, const char *json_path, struct pho_err *err);

/** "DateTimeOriginal", "DateTimeDigitized", "DateTime", "XMP", "Takeout", "file mtime" or
 *  "none". */
PHO_API const char *pho_time_source_name(enum pho_time_source src);

/** Converts a Unix time to the local wall clock of this machine (for mtime fallbacks). */
PHO_API void pho_time_from_unix(struct pho_time *out, int64_t unix_sec, int32_t nsec);

PHO_END_DECLS

#endif /* PHO_EXIF_H */
