/* SPDX-License-Identifier: MIT */
/* Private to src/image: the decoding back ends (libvips, LibRaw) and their glue. */
#ifndef PHO_IMAGE_INTERNAL_H
#define PHO_IMAGE_INTERNAL_H

#include "core/common.h"

#include "pho/image.h"

/* Where the bytes come from: a file path, or a buffer in memory. */
struct img_src {
    const char *path; /* NULL for in-memory sources */
    int fd;           /* open descriptor of path */
    const uint8_t *data;
    size_t len;
};

/* An image plus whatever owns its pixel memory. */
struct image_priv {
    struct pho_image pub;
    void *mem;
    void (*release)(void *mem);
};

/* Starts libvips once per process; safe from any thread. */
int pho_image__vips_start(struct pho_err *err);

/* Empties libvips' (process-wide) error buffer. */
void pho_image__vips_clear_errors(void);

/* Fills @err from libvips' error buffer: "<what>: <first vips message>". */
int pho_image__vips_fail(struct pho_err *err, int code, const char *what);

/* Wraps memory owned elsewhere as a pho_image; takes @mem (released on failure too). */
int pho_image__wrap(struct pho_image **out, uint32_t w, uint32_t h, size_t stride, void *mem,
                    void (*release)(void *), struct pho_err *err);

/* RAW through LibRaw (raw.c). */
int pho_image__raw_probe(struct pho_meta *m, const struct img_src *src, struct pho_err *err);
int pho_image__raw_decode(struct pho_image **out, const struct img_src *src,
                          const struct pho_meta *m, const struct pho_image_opts *o,
                          struct pho_err *err);

/* libvips-family formats (vips.c). */
int pho_image__vips_probe(struct pho_meta *m, const struct img_src *src, struct pho_err *err);
int pho_image__vips_decode(struct pho_image **out, const struct img_src *src,
                           const struct pho_meta *m, const struct pho_image_opts *o,
                           struct pho_err *err);
/* Runs an already-opened VipsImage (a `void *` to keep glib out of this header)
 * through shrink/orient/sRGB and hands it over as a pho_image. Consumes @in. */
int pho_image__vips_finish(struct pho_image **out, void *in, uint32_t max_size, int orientation,
                           const char *what, struct pho_err *err);

/* EXIF and XMP of a PNG from every chunk that can carry them, before or
 * after the image data (png.c). Fails only for lack of memory. */
int pho_image__png_meta(struct pho_meta *m, const struct img_src *src);

/* PHO_ECORRUPT when a chunk before the image data claims more bytes than the file holds:
 * libpng allocates and clears a chunk's declared length before it finds the file too short,
 * so a 2 KB file that claims a 1 GiB text chunk costs a gigabyte and seconds (png.c). */
int pho_image__png_check(const struct img_src *src, struct pho_err *err);

/* The capture date of a HEIF/AVIF file's XMP item, when better than @m's (heif.c). */
void pho_image__heif_xmp(struct pho_meta *m, const struct img_src *src);

/* True when a HEIF file declares rotation/mirroring (irot/imir), which libheif
 * applies itself; the EXIF orientation tag must then be ignored. */
bool pho_image__heif_transformed(const void *head, size_t len);

/* Pixel-limit check shared by every back end. */
int pho_image__check_pixels(const struct pho_meta *m, const struct pho_image_opts *o,
                            struct pho_err *err);

#endif /* PHO_IMAGE_INTERNAL_H */
