/* SPDX-License-Identifier: MIT */
/*
 * PNG metadata wherever the writer put it. libvips reads the chunks before
 * the image data only, but ImageMagick writes its eXIf chunk after IDAT,
 * older ImageMagick and ExifTool write EXIF as a hex "Raw profile type exif"
 * (or "APP1") text chunk, compressed or not, and XMP sits in an iTXt chunk.
 * This walks the chunk headers (skipping the image data by its length, so
 * a 50 MB PNG costs a few reads), inflates text chunks with zlib and hands
 * EXIF to libexif and XMP to Exempi (src/exif).
 */
#include "core/common.h"

#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "core/file.h"
#include "image/internal.h"

/* Bounds that no real PNG metadata comes near; past them a chunk is skipped. */
#define CHUNK_MAX  (16u << 20) /* bytes of one metadata chunk as stored */
#define TEXT_MAX   (16u << 20) /* bytes of one inflated text */
#define CHUNKS_MAX 100000      /* chunks walked (a PNG of 4 GiB in 64 KiB IDATs) */

static bool read_at(const struct img_src *src, uint64_t off, void *buf, size_t n)
{
    if (!src->path) {
        if (off > src->len || n > src->len - off)
            return false;
        memcpy(buf, src->data + off, n);
        return true;
    }
    return pho_file__pread_full(src->fd, buf, n, off) == (ssize_t)n;
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* zlib stream -> new buffer (caller frees), at most TEXT_MAX bytes. */
static uint8_t *inflate_text(const uint8_t *in, size_t n, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit(&z) != Z_OK)
        return NULL;
    size_t cap = PHO_MIN((size_t)TEXT_MAX, PHO_MAX(n * 4, (size_t)4096));
    uint8_t *out = pho_malloc(cap);
    int zr = Z_OK;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    while (out) {
        z.next_out = out + z.total_out;
        z.avail_out = (uInt)(cap - z.total_out);
        zr = inflate(&z, Z_NO_FLUSH);
        if (zr == Z_STREAM_END || (zr != Z_OK && zr != Z_BUF_ERROR))
            break;
        if (z.avail_out == 0) {
            if (cap >= TEXT_MAX)
                break;
            size_t ncap = PHO_MIN(cap * 2, (size_t)TEXT_MAX);
            uint8_t *grown = pho_reallocarray(out, ncap, 1);
            if (!grown)
                break;
            out = grown;
            cap = ncap;
        } else if (zr == Z_BUF_ERROR || z.avail_in == 0) {
            break; /* truncated stream: keep what inflated */
        }
    }
    *out_len = z.total_out;
    inflateEnd(&z);
    if (out && z.total_out == 0) {
        pho_free(out);
        return NULL;
    }
    return out;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * ImageMagick's raw profile: "\n<name>\n<spaces><decimal length>\n<hex, 72 a line>".
 * Decodes in place; returns the byte count (0 when malformed).
 */
static size_t decode_raw_profile(uint8_t *t, size_t n)
{
    size_t i = 0;
    while (i < n && t[i] == '\n')
        i++;
    while (i < n && t[i] != '\n') /* the profile's name */
        i++;
    while (i < n && (t[i] == '\n' || t[i] == ' '))
        i++;
    size_t want = 0;
    while (i < n && t[i] >= '0' && t[i] <= '9' && want < TEXT_MAX)
        want = want * 10 + (size_t)(t[i++] - '0');
    size_t got = 0;
    int hi = -1;
    for (; i < n && got < want; i++) {
        int v = hexval(t[i]);
        if (v < 0)
            continue; /* line breaks */
        if (hi < 0) {
            hi = v;
        } else {
            t[got++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return got == want ? got : 0;
}

static bool is_keyword(const uint8_t *d, size_t n, const char *kw)
{
    size_t k = strlen(kw);
    return n > k && d[k] == 0 && !memcmp(d, kw, k);
}

/* The text of a tEXt/zTXt/iTXt chunk: a pointer into @d or an inflated copy in *owned. */
static const uint8_t *chunk_text(const uint8_t *type, const uint8_t *d, size_t n, size_t kwlen,
                                 size_t *len, uint8_t **owned)
{
    size_t at = kwlen + 1;
    *owned = NULL;
    if (!memcmp(type, "tEXt", 4)) {
        *len = n - at;
        return d + at;
    }
    bool compressed;
    if (!memcmp(type, "zTXt", 4)) {
        at += 1; /* compression method */
        compressed = true;
    } else {
        if (at + 2 > n)
            return NULL;
        compressed = d[at] != 0;
        at += 2;
        for (int skip = 0; skip < 2; skip++) { /* language tag, translated keyword */
            const uint8_t *z = memchr(d + at, 0, n - PHO_MIN(at, n));
            if (!z)
                return NULL;
            at = (size_t)(z - d) + 1;
        }
    }
    if (at > n)
        return NULL;
    if (!compressed) {
        *len = n - at;
        return d + at;
    }
    *owned = inflate_text(d + at, n - at, len);
    return *owned;
}

static void text_chunk(struct pho_meta *m, const uint8_t *type, const uint8_t *d, size_t n)
{
    static const char *const exif_kw[] = { "Raw profile type exif", "Raw profile type APP1" };
    static const char xmp_kw[] = "XML:com.adobe.xmp";
    static const char xmp_raw_kw[] = "Raw profile type xmp";
    const char *kw = NULL;
    bool raw = true;
    for (size_t i = 0; i < PHO_ARRAY_LEN(exif_kw); i++)
        if (is_keyword(d, n, exif_kw[i]))
            kw = exif_kw[i];
    bool xmp = false;
    if (!kw && is_keyword(d, n, xmp_kw)) {
        kw = xmp_kw;
        xmp = true;
        raw = false;
    } else if (!kw && is_keyword(d, n, xmp_raw_kw)) {
        kw = xmp_raw_kw;
        xmp = true;
    }
    if (!kw)
        return;
    size_t len = 0;
    uint8_t *owned = NULL;
    const uint8_t *text = chunk_text(type, d, n, strlen(kw), &len, &owned);
    if (text && raw) {
        if (!owned) { /* decoded in place: work on a copy */
            owned = pho_malloc(len ? len : 1);
            if (owned)
                memcpy(owned, text, len);
        }
        len = owned ? decode_raw_profile(owned, len) : 0;
        text = owned;
    }
    if (text && len) {
        if (xmp)
            pho_xmp_parse(m, text, len, NULL);
        else
            pho_exif_parse(m, text, len, NULL);
    }
    pho_free(owned);
}

int pho_image__png_meta(struct pho_meta *m, const struct img_src *src)
{
    uint64_t off = 8; /* after the signature */
    for (int i = 0; i < CHUNKS_MAX; i++) {
        uint8_t hdr[8];
        if (!read_at(src, off, hdr, sizeof(hdr)))
            break;
        uint32_t len = be32(hdr);
        const uint8_t *type = hdr + 4;
        if (len > 0x7fffffffu || !memcmp(type, "IEND", 4))
            break;
        bool exif = !memcmp(type, "eXIf", 4);
        bool text =
                !memcmp(type, "tEXt", 4) || !memcmp(type, "zTXt", 4) || !memcmp(type, "iTXt", 4);
        if ((exif || text) && len > 0 && len <= CHUNK_MAX) {
            uint8_t *d = pho_malloc(len);
            if (!d)
                return PHO_ENOMEM;
            if (read_at(src, off + 8, d, len)) {
                if (exif)
                    pho_exif_parse(m, d, len, NULL);
                else
                    text_chunk(m, type, d, len);
            }
            pho_free(d);
        }
        off += 12 + (uint64_t)len;
    }
    return 0;
}

int pho_image__png_check(const struct img_src *src, struct pho_err *err)
{
    uint64_t size = src->len;
    struct stat st;
    if (src->path) {
        if (fstat(src->fd, &st) != 0)
            return 0; /* the loader says what is wrong */
        size = (uint64_t)st.st_size;
    }
    uint64_t off = 8;
    for (int i = 0; i < CHUNKS_MAX; i++) {
        uint8_t hdr[8];
        if (!read_at(src, off, hdr, sizeof(hdr)))
            return 0;
        uint32_t len = be32(hdr);
        /* The image data streams; a cut-off IDAT is the decoder's to report. */
        if (!memcmp(hdr + 4, "IDAT", 4) || !memcmp(hdr + 4, "IEND", 4))
            return 0;
        if (len > 0x7fffffffu || off + 12 + (uint64_t)len > size)
            return pho_err_set(err, PHO_ECORRUPT,
                               "image: damaged PNG: its %.4s chunk runs past the end of the file",
                               (const char *)hdr + 4);
        off += 12 + (uint64_t)len;
    }
    return 0;
}
