/* SPDX-License-Identifier: MIT */
/**
 * @file image.h
 * Identify, probe and decode photos.
 *
 * Formats are recognised from their bytes; the file name's suffix is only a
 * hint. Decoding returns 8-bit sRGB RGB pixels, upright according to the EXIF
 * orientation, shrunk while loading (JPEG DCT scaling, RAW embedded previews)
 * to the size asked for. A pixel limit refuses decompression bombs before
 * any pixel is decoded.
 *
 *     struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
 *     o.max_size = 1600;
 *     struct pho_image *img = NULL;
 *     if (pho_image_load(&img, path, &o, NULL, &err) == 0) { ...; pho_image_free(img); }
 *
 * Thread safety: every function may be called from any number of threads.
 */
#ifndef PHO_IMAGE_H
#define PHO_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"
#include "pho/error.h"
#include "pho/exif.h"

PHO_BEGIN_DECLS

enum pho_format {
    PHO_FORMAT_UNKNOWN = 0,
    PHO_FORMAT_JPEG,
    PHO_FORMAT_PNG,
    PHO_FORMAT_HEIC, /**< HEIF with HEVC images (iPhone) */
    PHO_FORMAT_HEIF, /**< other HEIF brands */
    PHO_FORMAT_AVIF,
    PHO_FORMAT_WEBP,
    PHO_FORMAT_GIF,
    PHO_FORMAT_TIFF,
    PHO_FORMAT_DNG,
    PHO_FORMAT_CR2,
    PHO_FORMAT_CR3,
    PHO_FORMAT_NEF,
    PHO_FORMAT_ARW,
    PHO_FORMAT_ORF,
    PHO_FORMAT_RW2,
    PHO_FORMAT_RAF,
    PHO_FORMAT_PEF,
    PHO_FORMAT_RAW, /**< another camera RAW that LibRaw understands */
    PHO_FORMAT_COUNT_
};

/** Short upper-case name ("JPEG", "HEIC", "DNG"); "unknown" for PHO_FORMAT_UNKNOWN. */
PHO_API const char *pho_format_name(int format);

/** True for camera RAW formats (decoded through LibRaw). */
PHO_API bool pho_format_is_raw(int format);

/**
 * Identifies a format from the first bytes of a file (32 are enough for all
 * but TIFF-based RAWs, which report PHO_FORMAT_TIFF here and are refined by
 * pho_image_probe). Pure function, no I/O.
 */
PHO_API int pho_format_sniff(const void *head, size_t len);

/**
 * Format a file name's suffix suggests (".jpg" -> JPEG), PHO_FORMAT_UNKNOWN
 * otherwise. Only a hint: scanning uses it to decide what to open.
 */
PHO_API int pho_format_from_suffix(const char *path);

/** Default refusal threshold: larger images are treated as decompression bombs. */
#define PHO_DEFAULT_MAX_PIXELS (400u * 1000u * 1000u)

struct pho_image_opts {
    int version;
    /** Longest side of the decoded image in pixels; 0 = full resolution. */
    uint32_t max_size;
    /** Refuse images with more stored pixels than this; 0 = PHO_DEFAULT_MAX_PIXELS. */
    uint64_t max_pixels;
    /** Also look for recoverable damage (a second, strict decode) and describe it in the
     *  meta's note. Whether the photo is readable does not change: pixels that decode
     *  with recoverable damage are readable, for every caller. */
    bool strict;
    /**
     * Accept what shrink-on-load gives when it is within twice max_size
     * (long side in [max_size, 2 * max_size)) instead of resampling to
     * exactly max_size. For consumers that reduce further themselves
     * (hashing): saves the resize, which costs as much as a third of a
     * 1/8-scale JPEG decode.
     */
    bool allow_larger;
    /**
     * For consumers that need only a small picture (hashing, grouping): a
     * JPEG's embedded EXIF thumbnail may stand in for the decode, which then
     * reads a few kilobytes instead of every coefficient of the photo. Only
     * when it can only be this photo's: the file ends with its End Of Image
     * marker (not cut off), the thumbnail is a JPEG at least
     * PHO_IMAGE_THUMB_MIN pixels on its long side with the stored image's
     * shape within 2 %, and, where the EXIF states the pixel size it was
     * written for, that is exactly the image's size (an editor that crops or
     * resizes and copies the metadata leaves the old size and the old
     * thumbnail behind). Otherwise the decode runs as usual; the result says
     * which it was (pho_image.from_thumbnail). Ignored with strict.
     */
    bool thumbnail_ok;
};

#define PHO_IMAGE_OPTS_INIT          \
    {                                \
        1, 0, 0, false, false, false \
    }

/** Smallest EXIF thumbnail (long side, pixels) that may stand in for a photo: the size the
 *  grouping signature is made at (docs/grouping.md). */
#define PHO_IMAGE_THUMB_MIN 128

/** Decoded pixels: 8-bit sRGB, 3 interleaved channels (R, G, B), rows `stride` bytes apart. */
struct pho_image {
    uint32_t width, height;
    size_t stride;
    uint8_t *pixels;
    /** The photo's embedded EXIF thumbnail, upright (pho_image_opts.thumbnail_ok), not a
     *  decode of its pixels: good for hashes, not for measuring quality. */
    bool from_thumbnail;
};

/**
 * Reads what a photo says about itself without decoding pixels: format,
 * stored size, EXIF (orientation, capture time with fallbacks down to the
 * file's mtime, camera, lens, exposure, GPS).
 * @param opts may be NULL (defaults); only max_pixels is used.
 * @return 0; PHO_EIO (unreadable), PHO_ECORRUPT (empty, truncated header),
 *         PHO_EUNSUPPORTED (not an image), PHO_ELIMIT (pixel limit).
 */
PHO_API int pho_image_probe(struct pho_meta *out, const char *path,
                            const struct pho_image_opts *opts, struct pho_err *err);

/** pho_image_probe() over bytes in memory (file facts left zero). */
PHO_API int pho_image_probe_buffer(struct pho_meta *out, const void *data, size_t len,
                                   const struct pho_image_opts *opts, struct pho_err *err);

/**
 * Decodes a photo. Caller owns *out and frees it with pho_image_free(); on
 * failure *out is NULL. When @p meta is not NULL it receives the probe result
 * (so a caller needing both opens the file once).
 */
PHO_API int pho_image_load(struct pho_image **out, const char *path,
                           const struct pho_image_opts *opts, struct pho_meta *meta,
                           struct pho_err *err);

/** pho_image_load() over bytes in memory. */
PHO_API int pho_image_load_buffer(struct pho_image **out, const void *data, size_t len,
                                  const struct pho_image_opts *opts, struct pho_meta *meta,
                                  struct pho_err *err);

/** Allocates a zeroed width x height image. Caller owns *out. */
PHO_API int pho_image_new(struct pho_image **out, uint32_t width, uint32_t height,
                          struct pho_err *err);

/** Frees an image; NULL is a no-op. */
PHO_API void pho_image_free(struct pho_image *img);

/**
 * The part of @p img inside @p box (x0, y0, x1, y1 as fractions of its width and height),
 * made no larger than @p max_size on its long side, as a JPEG of @p quality (1-100) without
 * metadata. *@p out is the caller's (pho_free).
 */
PHO_API int pho_image_jpeg(void **out, size_t *len, const struct pho_image *img, const float box[4],
                           uint32_t max_size, int quality, struct pho_err *err);

/** @p img made no larger than @p max_size on its long side (a new image, Lanczos; a copy
 *  when it is already small enough). Caller owns *@p out. */
PHO_API int pho_image_fit(struct pho_image **out, const struct pho_image *img, uint32_t max_size,
                          struct pho_err *err);

/** What a new rendition of a photo keeps of it (pho_image_carry_read()). */
struct pho_image_carry;

/**
 * Reads what a photo carries that a new rendition of its pixels (a repaired copy) keeps:
 * its EXIF, made upright (orientation 1, the new size, no thumbnail: it would show the old
 * picture); its ICC profile, when its pixels decode without a colour conversion (they then
 * stay in that profile's space); its XMP, unless that states an orientation; and the JPEG
 * quality it was saved at. Reads headers only. Caller frees *@p out with
 * pho_image_carry_free(). @return 0, or PHO_EIO / PHO_ECORRUPT / PHO_EUNSUPPORTED.
 */
PHO_API int pho_image_carry_read(struct pho_image_carry **out, const char *path,
                                 struct pho_err *err);

/** Frees what pho_image_carry_read() made; NULL is a no-op. */
PHO_API void pho_image_carry_free(struct pho_image_carry *c);

/** The JPEG quality (1-100) the photo was saved at, estimated from its luminance
 *  quantisation table against the IJG tables; 0 when it is not a JPEG. */
PHO_API int pho_image_carry_quality(const struct pho_image_carry *c);

/** What was kept, as bits: 1 EXIF, 2 ICC profile, 4 XMP. */
PHO_API unsigned pho_image_carry_kept(const struct pho_image_carry *c);

/**
 * Encodes @p img (the photo's upright pixels, possibly changed) as a JPEG carrying @p c's
 * metadata (@p c may be NULL: none), at @p quality (1-100; 0: the photo's own, else 92).
 * *@p out is the caller's (pho_free).
 */
PHO_API int pho_image_jpeg_carrying(void **out, size_t *len, const struct pho_image *img,
                                    const struct pho_image_carry *c, int quality,
                                    struct pho_err *err);

/**
 * Worker threads libvips may use inside one decode (default 1: libpho
 * parallelises across photos instead). Call before the first decode.
 */
PHO_API void pho_image_set_concurrency(int threads);

PHO_END_DECLS

#endif /* PHO_IMAGE_H */
