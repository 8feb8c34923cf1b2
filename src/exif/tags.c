/* SPDX-License-Identifier: MIT */
/* The set of wanted EXIF tags (tags.h): a fixed table, first value wins. */
#include "core/common.h"

#include <string.h>

#include <libexif/exif-format.h>

#include "exif/tags.h"

/* Every (directory, tag) the mapping in exif.c reads. Dates and exposure are
 * also taken from IFD0, where some writers put them (Nikon's DateTimeOriginal;
 * editors that flatten the EXIF sub-IFD into IFD0). */
static const struct {
    uint8_t dir;
    uint16_t tag;
} wanted[] = {
    { PHO_EXIF_DIR_0, 0x010f },    /* Make */
    { PHO_EXIF_DIR_0, 0x0110 },    /* Model */
    { PHO_EXIF_DIR_0, 0x0112 },    /* Orientation */
    { PHO_EXIF_DIR_0, 0x0132 },    /* DateTime */
    { PHO_EXIF_DIR_0, 0x9003 },    /* DateTimeOriginal, misplaced */
    { PHO_EXIF_DIR_0, 0x9004 },    /* DateTimeDigitized, misplaced */
    { PHO_EXIF_DIR_0, 0x829a },    /* ExposureTime, misplaced */
    { PHO_EXIF_DIR_0, 0x829d },    /* FNumber, misplaced */
    { PHO_EXIF_DIR_0, 0x8827 },    /* ISO, misplaced */
    { PHO_EXIF_DIR_0, 0x920a },    /* FocalLength, misplaced */
    { PHO_EXIF_DIR_EXIF, 0x0132 }, /* DateTime, misplaced */
    { PHO_EXIF_DIR_EXIF, 0x829a }, /* ExposureTime */
    { PHO_EXIF_DIR_EXIF, 0x829d }, /* FNumber */
    { PHO_EXIF_DIR_EXIF, 0x8827 }, /* ISO */
    { PHO_EXIF_DIR_EXIF, 0x9003 }, /* DateTimeOriginal */
    { PHO_EXIF_DIR_EXIF, 0x9004 }, /* DateTimeDigitized */
    { PHO_EXIF_DIR_EXIF, 0x9010 }, /* OffsetTime */
    { PHO_EXIF_DIR_EXIF, 0x9011 }, /* OffsetTimeOriginal */
    { PHO_EXIF_DIR_EXIF, 0x9012 }, /* OffsetTimeDigitized */
    { PHO_EXIF_DIR_EXIF, 0x9204 }, /* ExposureBiasValue */
    { PHO_EXIF_DIR_EXIF, 0x920a }, /* FocalLength */
    { PHO_EXIF_DIR_EXIF, 0x9290 }, /* SubSecTime */
    { PHO_EXIF_DIR_EXIF, 0x9291 }, /* SubSecTimeOriginal */
    { PHO_EXIF_DIR_EXIF, 0x9292 }, /* SubSecTimeDigitized */
    { PHO_EXIF_DIR_EXIF, 0xa431 }, /* BodySerialNumber */
    { PHO_EXIF_DIR_EXIF, 0xa433 }, /* LensMake */
    { PHO_EXIF_DIR_EXIF, 0xa434 }, /* LensModel */
    { PHO_EXIF_DIR_GPS, 0x0001 },  /* GPSLatitudeRef */
    { PHO_EXIF_DIR_GPS, 0x0002 },  /* GPSLatitude */
    { PHO_EXIF_DIR_GPS, 0x0003 },  /* GPSLongitudeRef */
    { PHO_EXIF_DIR_GPS, 0x0004 },  /* GPSLongitude */
    { PHO_EXIF_DIR_GPS, 0x0005 },  /* GPSAltitudeRef */
    { PHO_EXIF_DIR_GPS, 0x0006 },  /* GPSAltitude */
    { PHO_EXIF_DIR_GPS, 0x0009 },  /* GPSStatus */
};

_Static_assert(PHO_ARRAY_LEN(wanted) <= PHO_EXIF_SLOTS, "raise PHO_EXIF_SLOTS");

static int slot(enum pho_exif_dir dir, unsigned tag)
{
    for (size_t i = 0; i < PHO_ARRAY_LEN(wanted); i++)
        if (wanted[i].dir == dir && wanted[i].tag == tag)
            return (int)i;
    return -1;
}

void pho_exif_tags_init(struct pho_exif_tags *t)
{
    memset(t, 0, sizeof(*t));
}

size_t pho_exif_tags_type_size(unsigned type)
{
    return type > 0 && type < 0x10000 ? exif_format_get_size((ExifFormat)type) : 0;
}

size_t pho_exif_tags_wanted(enum pho_exif_dir dir, unsigned tag)
{
    return slot(dir, tag) < 0 ? 0 : PHO_EXIF_VALUE_MAX;
}

void pho_exif_tags_add(struct pho_exif_tags *t, enum pho_exif_dir dir, unsigned tag, unsigned type,
                       uint32_t count, const void *data, size_t size, bool big_endian)
{
    int i = slot(dir, tag);
    if (i < 0 || t->v[i].present || !data || size == 0)
        return;
    struct pho_exif_value *v = &t->v[i];
    v->present = true;
    v->big_endian = big_endian;
    v->type = (uint16_t)type;
    v->count = count;
    v->size = (uint32_t)PHO_MIN(size, sizeof(v->data));
    memcpy(v->data, data, v->size);
    t->found++;
}

const struct pho_exif_value *pho_exif_tags_get(const struct pho_exif_tags *t, enum pho_exif_dir dir,
                                               unsigned tag)
{
    int i = slot(dir, tag);
    return i >= 0 && t->v[i].present ? &t->v[i] : NULL;
}

int pho_exif_time_rank(enum pho_time_source src)
{
    switch (src) {
    case PHO_TIME_ORIGINAL:
        return 1;
    case PHO_TIME_DIGITIZED:
        return 2;
    case PHO_TIME_XMP:
        return 3;
    case PHO_TIME_TAKEOUT:
        return 4;
    case PHO_TIME_DATETIME:
        return 5;
    case PHO_TIME_MTIME:
        return 6;
    case PHO_TIME_NONE:
        break;
    }
    return 7;
}
