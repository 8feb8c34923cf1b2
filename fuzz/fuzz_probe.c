/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: bytes of a file -> format sniffing, metadata (EXIF through
 * libexif, RAW containers through LibRaw) and header decode (libvips), the
 * same path `photo-organizer info --no-decode` takes for a file on disk.
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
    return 0;
}
