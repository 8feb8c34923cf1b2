/* SPDX-License-Identifier: MIT */
/*
 * Format identification from magic bytes, with the file suffix as a hint for
 * deciding what to open during a scan. TIFF-based RAWs (DNG, NEF, ARW, PEF)
 * share the TIFF signature and are told apart by probe.c from their tags.
 */
#include "core/common.h"

#include <string.h>
#include <strings.h>

#include "image/internal.h"

static const char *const format_names[PHO_FORMAT_COUNT_] = {
    [PHO_FORMAT_UNKNOWN] = "unknown", [PHO_FORMAT_JPEG] = "JPEG", [PHO_FORMAT_PNG] = "PNG",
    [PHO_FORMAT_HEIC] = "HEIC",       [PHO_FORMAT_HEIF] = "HEIF", [PHO_FORMAT_AVIF] = "AVIF",
    [PHO_FORMAT_WEBP] = "WEBP",       [PHO_FORMAT_GIF] = "GIF",   [PHO_FORMAT_TIFF] = "TIFF",
    [PHO_FORMAT_DNG] = "DNG",         [PHO_FORMAT_CR2] = "CR2",   [PHO_FORMAT_CR3] = "CR3",
    [PHO_FORMAT_NEF] = "NEF",         [PHO_FORMAT_ARW] = "ARW",   [PHO_FORMAT_ORF] = "ORF",
    [PHO_FORMAT_RW2] = "RW2",         [PHO_FORMAT_RAF] = "RAF",   [PHO_FORMAT_PEF] = "PEF",
    [PHO_FORMAT_RAW] = "RAW",
};

const char *pho_format_name(int format)
{
    if (format < 0 || format >= PHO_FORMAT_COUNT_)
        return "unknown";
    return format_names[format];
}

bool pho_format_is_raw(int format)
{
    return format >= PHO_FORMAT_DNG && format <= PHO_FORMAT_RAW;
}

static bool has(const unsigned char *p, size_t len, size_t off, const char *magic, size_t n)
{
    return len >= off + n && memcmp(p + off, magic, n) == 0;
}

/* ISO-BMFF: the major brand and the compatible brands of the ftyp box decide. */
static int sniff_ftyp(const unsigned char *p, size_t len)
{
    if (!has(p, len, 4, "ftyp", 4) || len < 16)
        return PHO_FORMAT_UNKNOWN;
    size_t box = ((size_t)p[0] << 24) | ((size_t)p[1] << 16) | ((size_t)p[2] << 8) | p[3];
    if (box < 16)
        return PHO_FORMAT_UNKNOWN;
    size_t end = PHO_MIN(box, len);
    bool heic = false, heif = false, avif = false, crx = false;
    for (size_t off = 8; off + 4 <= end; off += 4) {
        if (off == 12)
            continue; /* minor version */
        const unsigned char *b = p + off;
        if (!memcmp(b, "heic", 4) || !memcmp(b, "heix", 4) || !memcmp(b, "heim", 4) ||
            !memcmp(b, "heis", 4) || !memcmp(b, "hevc", 4) || !memcmp(b, "hevx", 4))
            heic = true;
        else if (!memcmp(b, "avif", 4) || !memcmp(b, "avis", 4))
            avif = true;
        else if (!memcmp(b, "mif1", 4) || !memcmp(b, "msf1", 4))
            heif = true;
        else if (!memcmp(b, "crx ", 4))
            crx = true;
    }
    /* The major brand wins over compatible ones. */
    if (!memcmp(p + 8, "crx ", 4) || crx)
        return PHO_FORMAT_CR3;
    if (!memcmp(p + 8, "avif", 4) || !memcmp(p + 8, "avis", 4))
        return PHO_FORMAT_AVIF;
    if (heic)
        return PHO_FORMAT_HEIC;
    if (avif)
        return PHO_FORMAT_AVIF;
    if (heif)
        return PHO_FORMAT_HEIF;
    return PHO_FORMAT_UNKNOWN;
}

int pho_format_sniff(const void *head, size_t len)
{
    const unsigned char *p = head;
    if (!p || len < 4)
        return PHO_FORMAT_UNKNOWN;
    if (p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
        return PHO_FORMAT_JPEG;
    if (has(p, len, 0, "\x89PNG\r\n\x1a\n", 8))
        return PHO_FORMAT_PNG;
    if (has(p, len, 0, "GIF87a", 6) || has(p, len, 0, "GIF89a", 6))
        return PHO_FORMAT_GIF;
    if (has(p, len, 0, "RIFF", 4) && has(p, len, 8, "WEBP", 4))
        return PHO_FORMAT_WEBP;
    if (has(p, len, 0, "FUJIFILMCCD-RAW", 15))
        return PHO_FORMAT_RAF;
    /* Olympus and Panasonic use private TIFF variants with their own magic. */
    if (has(p, len, 0, "IIRO", 4) || has(p, len, 0, "IIRS", 4) || has(p, len, 0, "MMOR", 4))
        return PHO_FORMAT_ORF;
    if (has(p, len, 0, "IIU\0", 4))
        return PHO_FORMAT_RW2;
    if (has(p, len, 0, "II*\0", 4) || has(p, len, 0, "MM\0*", 4)) {
        if (has(p, len, 8, "CR", 2))
            return PHO_FORMAT_CR2;
        return PHO_FORMAT_TIFF;
    }
    /* BigTIFF (64-bit offsets): libtiff reads it; the structure decides as for TIFF. */
    if (has(p, len, 0, "II+\0", 4) || has(p, len, 0, "MM\0+", 4))
        return PHO_FORMAT_TIFF;
    /* Minolta MRW and Sigma X3F have their own containers. */
    if (has(p, len, 0, "\0MRM", 4) || has(p, len, 0, "FOVb", 4))
        return PHO_FORMAT_RAW;
    return sniff_ftyp(p, len);
}

int pho_format_from_suffix(const char *path)
{
    static const struct {
        const char *suffix;
        int format;
    } table[] = {
        { "jpg", PHO_FORMAT_JPEG },  { "jpeg", PHO_FORMAT_JPEG }, { "jpe", PHO_FORMAT_JPEG },
        { "jfif", PHO_FORMAT_JPEG }, { "png", PHO_FORMAT_PNG },   { "heic", PHO_FORMAT_HEIC },
        { "heif", PHO_FORMAT_HEIF }, { "hif", PHO_FORMAT_HEIF },  { "avif", PHO_FORMAT_AVIF },
        { "webp", PHO_FORMAT_WEBP }, { "gif", PHO_FORMAT_GIF },   { "tif", PHO_FORMAT_TIFF },
        { "tiff", PHO_FORMAT_TIFF }, { "dng", PHO_FORMAT_DNG },   { "cr2", PHO_FORMAT_CR2 },
        { "cr3", PHO_FORMAT_CR3 },   { "nef", PHO_FORMAT_NEF },   { "nrw", PHO_FORMAT_NEF },
        { "arw", PHO_FORMAT_ARW },   { "srf", PHO_FORMAT_ARW },   { "sr2", PHO_FORMAT_ARW },
        { "orf", PHO_FORMAT_ORF },   { "rw2", PHO_FORMAT_RW2 },   { "raf", PHO_FORMAT_RAF },
        { "pef", PHO_FORMAT_PEF },   { "raw", PHO_FORMAT_RAW },   { "rwl", PHO_FORMAT_RAW },
        { "srw", PHO_FORMAT_RAW },   { "x3f", PHO_FORMAT_RAW },   { "3fr", PHO_FORMAT_RAW },
        { "iiq", PHO_FORMAT_RAW },   { "mrw", PHO_FORMAT_RAW },   { "kdc", PHO_FORMAT_RAW },
        { "erf", PHO_FORMAT_RAW },
    };
    if (!path)
        return PHO_FORMAT_UNKNOWN;
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (!dot || !dot[1])
        return PHO_FORMAT_UNKNOWN;
    for (size_t i = 0; i < PHO_ARRAY_LEN(table); i++)
        if (strcasecmp(dot + 1, table[i].suffix) == 0)
            return table[i].format;
    return PHO_FORMAT_UNKNOWN;
}

/* Reads one ISO-BMFF box header at p[0..len); false when it does not fit. */
static bool box_at(const unsigned char *p, size_t len, size_t *size, const unsigned char **type,
                   size_t *hdr)
{
    if (len < 8)
        return false;
    uint64_t sz = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    size_t h = 8;
    if (sz == 1) {
        if (len < 16)
            return false;
        sz = 0;
        for (int i = 8; i < 16; i++)
            sz = (sz << 8) | p[i];
        h = 16;
    } else if (sz == 0) {
        sz = len; /* extends to the end */
    }
    if (sz < h)
        return false;
    *size = sz > len ? len : (size_t)sz; /* a box cut by the head is read as far as it goes */
    *type = p + 4;
    *hdr = h;
    return true;
}

/* Finds the first child box of the given type inside [p, p+len). */
static const unsigned char *find_box(const unsigned char *p, size_t len, const char *want,
                                     size_t *body_len)
{
    size_t off = 0;
    while (off < len) {
        size_t size, hdr;
        const unsigned char *type;
        if (!box_at(p + off, len - off, &size, &type, &hdr))
            return NULL;
        if (!memcmp(type, want, 4)) {
            *body_len = size - hdr;
            return p + off + hdr;
        }
        off += size;
    }
    return NULL;
}

bool pho_image__heif_transformed(const void *head, size_t len)
{
    size_t n;
    const unsigned char *meta = find_box(head, len, "meta", &n);
    if (!meta || n < 4)
        return false;
    meta += 4; /* full box: version and flags */
    n -= 4;
    const unsigned char *iprp = find_box(meta, n, "iprp", &n);
    const unsigned char *ipco = iprp ? find_box(iprp, n, "ipco", &n) : NULL;
    if (!ipco)
        return false;
    /* Any rotation or mirror property: libheif applies it while decoding. */
    size_t dummy;
    return find_box(ipco, n, "irot", &dummy) || find_box(ipco, n, "imir", &dummy);
}
