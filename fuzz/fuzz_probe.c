/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: bytes of a file -> format sniffing, metadata (EXIF blocks
 * through libexif; TIFF-structured files and RAW containers through LibRaw's
 * whole-file walk and its EXIF callback; PNG chunks before and after the
 * image data, raw profiles inflated with zlib; HEIF XMP items) and header
 * decode (libvips), the path `photo-organizer info --no-decode` takes for a
 * file on disk. The same bytes then go to the EXIF and XMP parsers alone.
 */
#include <stddef.h>
#include <stdint.h>

#include "pho/exif.h"
#include "pho/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
    o.max_pixels = 64u * 1000 * 1000;
    struct pho_meta m;
    pho_image_probe_buffer(&m, data, size, &o, NULL);
    /* The same bytes as a bare EXIF block: libexif sees every input. */
    pho_meta_init(&m);
    pho_exif_parse(&m, data, size, NULL);
    pho_meta_init(&m);
    pho_xmp_parse(&m, data, size, NULL);
    return 0;
}
