/* SPDX-License-Identifier: MIT */
/*
 * What a new rendition of a photo keeps of it (pho_image_carry_read(), image.h): its
 * metadata as libvips reads it from the header, the EXIF made upright by libexif
 * (src/exif/upright.c), and the JPEG quality it was saved at, so a repaired copy looks
 * and reads like the photo it came from.
 */
#include "core/common.h"

#include <string.h>
#include <unistd.h>

#include <vips/vips.h>

#include "core/file.h"
#include "exif/upright.h"
#include "image/internal.h"

struct pho_image_carry {
    void *exif; /* "Exif\0\0" + TIFF as stored; made upright when written */
    size_t exif_len;
    void *icc;
    size_t icc_len;
    void *xmp;
    size_t xmp_len;
    int quality; /* 0: not a JPEG */
};

/* libjpeg's luminance table (ITU T.81 Annex K) in zigzag order, as DQT stores it. */
static const uint8_t std_luma_zigzag[64] = {
    16, 11, 12,  14,  12,  10, 16, 14,  13,  14,  18,  17,  16, 19,  24,  40,
    26, 24, 22,  22,  24,  49, 35, 37,  29,  40,  58,  51,  61, 60,  57,  51,
    56, 55, 64,  72,  92,  78, 64, 68,  87,  69,  55,  56,  80, 109, 81,  87,
    95, 98, 103, 104, 103, 62, 77, 113, 121, 112, 100, 120, 92, 101, 103, 99,
};

/*
 * The quality whose IJG scaling of the standard table comes closest to @q (zigzag order):
 * what most encoders use; a camera's own tables land on the nearest equivalent.
 */
static int estimate_quality(const uint16_t q[64])
{
    int best = 0;
    long best_diff = -1;
    for (int quality = 1; quality <= 100; quality++) {
        long scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
        long diff = 0;
        for (int i = 0; i < 64; i++) {
            long v = ((long)std_luma_zigzag[i] * scale + 50) / 100;
            v = v < 1 ? 1 : v > 255 ? 255 : v;
            diff += labs(v - (long)q[i]);
        }
        if (best_diff < 0 || diff < best_diff)
            best_diff = diff, best = quality;
    }
    return best;
}

/* The first luminance quantisation table of the JPEG open at @fd (markers walked until the
 * first scan); 0 when none is found. */
static int jpeg_quality(int fd)
{
    uint8_t h[4];
    uint64_t at = 2;
    if (pho_file__pread_full(fd, h, 2, 0) != 2 || h[0] != 0xff || h[1] != 0xd8)
        return 0;
    for (int guard = 0; guard < 256; guard++) {
        if (pho_file__pread_full(fd, h, 4, at) != 4 || h[0] != 0xff)
            return 0;
        if (h[1] == 0xff) { /* fill byte */
            at++;
            continue;
        }
        if (h[1] == 0xda || h[1] == 0xd9) /* start of scan, end of image */
            return 0;
        size_t seg = ((size_t)h[2] << 8) | h[3];
        if (seg < 2)
            return 0;
        if (h[1] == 0xdb) {
            uint8_t buf[65 * 2 * 4];
            size_t n = PHO_MIN(seg - 2, sizeof(buf));
            if (pho_file__pread_full(fd, buf, n, at + 4) != (ssize_t)n)
                return 0;
            for (size_t p = 0; p < n;) {
                int precision = buf[p] >> 4, id = buf[p] & 15;
                size_t size = precision ? 128 : 64;
                if (p + 1 + size > n)
                    return 0;
                if (id == 0) {
                    uint16_t q[64];
                    for (int i = 0; i < 64; i++)
                        q[i] = precision
                                       ? (uint16_t)((buf[p + 1 + 2 * i] << 8) | buf[p + 2 + 2 * i])
                                       : buf[p + 1 + i];
                    return estimate_quality(q);
                }
                p += 1 + size;
            }
        }
        at += 2 + seg;
    }
    return 0;
}

static int copy_blob(void **out, size_t *len, VipsImage *img, const char *name)
{
    const void *data = NULL;
    size_t n = 0;
    if (!vips_image_get_typeof(img, name) || vips_image_get_blob(img, name, &data, &n) || !n)
        return 0;
    *out = pho_malloc(n);
    if (!*out)
        return PHO_ENOMEM;
    memcpy(*out, data, n);
    *len = n;
    return 0;
}

int pho_image_carry_read(struct pho_image_carry **out, const char *path, struct pho_err *err)
{
    *out = NULL;
    int rc = pho_image__vips_start(err);
    if (rc)
        return rc;
    int fd = -1;
    struct stat st;
    rc = pho_file__open_regular(&fd, &st, path, "image", err);
    if (rc)
        return rc;
    struct pho_image_carry *c = pho_calloc(1, sizeof(*c));
    VipsSource *s = c ? vips_source_new_from_descriptor(fd) : NULL;
    VipsImage *img =
            s ? vips_image_new_from_source(s, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL) : NULL;
    if (!c) {
        rc = pho_err_set(err, PHO_ENOMEM, "image: out of memory");
        goto out;
    }
    if (!img) {
        /* Not something libvips reads (a camera RAW): the pixels travel without metadata. */
        pho_image__vips_clear_errors();
        goto out;
    }
    if (copy_blob(&c->exif, &c->exif_len, img, VIPS_META_EXIF_NAME) ||
        copy_blob(&c->xmp, &c->xmp_len, img, VIPS_META_XMP_NAME)) {
        rc = pho_err_set(err, PHO_ENOMEM, "image: out of memory");
        goto out;
    }
    /* The decoder leaves 3-band sRGB-tagged pixels in their own space: the profile
     * describes them still. Anything converted (CMYK, grey, 16-bit) is sRGB now. */
    if (vips_image_get_interpretation(img) == VIPS_INTERPRETATION_sRGB &&
        vips_image_get_bands(img) == 3 &&
        copy_blob(&c->icc, &c->icc_len, img, VIPS_META_ICC_NAME)) {
        rc = pho_err_set(err, PHO_ENOMEM, "image: out of memory");
        goto out;
    }
    /* XMP may state an orientation of its own that readers would apply again. */
    if (c->xmp && memmem(c->xmp, c->xmp_len, "tiff:Orientation", 16)) {
        pho_free(c->xmp);
        c->xmp = NULL;
        c->xmp_len = 0;
    }
    c->quality = jpeg_quality(fd);
out:
    if (img)
        g_object_unref(img);
    if (s)
        g_object_unref(s);
    close(fd);
    if (rc) {
        pho_image_carry_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void pho_image_carry_free(struct pho_image_carry *c)
{
    if (!c)
        return;
    pho_free(c->exif);
    pho_free(c->icc);
    pho_free(c->xmp);
    pho_free(c);
}

int pho_image_carry_quality(const struct pho_image_carry *c)
{
    return c ? c->quality : 0;
}

unsigned pho_image_carry_kept(const struct pho_image_carry *c)
{
    if (!c)
        return 0;
    return (c->exif ? 1u : 0u) | (c->icc ? 2u : 0u) | (c->xmp ? 4u : 0u);
}

int pho_image_jpeg_carrying(void **out, size_t *len, const struct pho_image *img,
                            const struct pho_image_carry *c, int quality, struct pho_err *err)
{
    *out = NULL;
    *len = 0;
    int rc = pho_image__vips_start(err);
    if (rc)
        return rc;
    if (quality <= 0 || quality > 100)
        quality = c && c->quality ? c->quality : 92;
    void *exif = NULL;
    size_t exif_len = 0;
    if (c && c->exif &&
        pho_exif__upright(&exif, &exif_len, c->exif, c->exif_len, img->width, img->height) ==
                PHO_ENOMEM)
        return pho_err_set(err, PHO_ENOMEM, "image: out of memory");
    VipsImage *v = vips_image_new_from_memory(img->pixels, img->stride * img->height,
                                              (int)(img->stride / 3), (int)img->height, 3,
                                              VIPS_FORMAT_UCHAR);
    VipsImage *part = NULL;
    void *buf = NULL;
    size_t n = 0;
    if (!v || vips_extract_area(v, &part, 0, 0, (int)img->width, (int)img->height, NULL)) {
        rc = pho_image__vips_fail(err, PHO_EIO, "image: cannot write a JPEG");
        goto out;
    }
    /* The metadata rides on the image; libvips writes it as it is (orientation 1). */
    vips_image_set_int(part, VIPS_META_ORIENTATION, 1);
    if (exif)
        vips_image_set_blob_copy(part, VIPS_META_EXIF_NAME, exif, exif_len);
    if (c && c->icc)
        vips_image_set_blob_copy(part, VIPS_META_ICC_NAME, c->icc, c->icc_len);
    if (c && c->xmp)
        vips_image_set_blob_copy(part, VIPS_META_XMP_NAME, c->xmp, c->xmp_len);
    if (vips_jpegsave_buffer(part, &buf, &n, "Q", quality, "optimize_coding", TRUE, NULL)) {
        rc = pho_image__vips_fail(err, PHO_EIO, "image: cannot write a JPEG");
        goto out;
    }
    *out = pho_malloc(n ? n : 1);
    if (!*out)
        rc = pho_err_set(err, PHO_ENOMEM, "image: out of memory");
    else
        memcpy(*out, buf, n), *len = n;
out:
    g_free(buf);
    if (part)
        g_object_unref(part);
    if (v)
        g_object_unref(v);
    pho_free(exif);
    return rc;
}
