/* SPDX-License-Identifier: MIT */
/*
 * XMP of HEIF/HEIC/AVIF files, through libheif: libvips hands over their
 * EXIF item but not the XMP one ("mime" item of type application/rdf+xml),
 * where phones' editors and DAMs put the capture date of exported photos.
 */
#include "core/common.h"

#include <string.h>

#include <libheif/heif.h>

#include "image/internal.h"

#define XMP_MAX (16u << 20)

void pho_image__heif_xmp(struct pho_meta *m, const struct img_src *src)
{
    struct heif_context *ctx = heif_context_alloc();
    struct heif_image_handle *h = NULL;
    uint8_t *buf = NULL;
    if (!ctx)
        return;
    struct heif_error e =
            src->path ? heif_context_read_from_file(ctx, src->path, NULL)
                      : heif_context_read_from_memory_without_copy(ctx, src->data, src->len, NULL);
    if (e.code != heif_error_Ok)
        goto out;
    e = heif_context_get_primary_image_handle(ctx, &h);
    if (e.code != heif_error_Ok)
        goto out;
    heif_item_id ids[16];
    int n = heif_image_handle_get_list_of_metadata_block_IDs(h, "mime", ids, 16);
    for (int i = 0; i < n; i++) {
        const char *type = heif_image_handle_get_metadata_content_type(h, ids[i]);
        size_t len = heif_image_handle_get_metadata_size(h, ids[i]);
        if (!type || strcmp(type, "application/rdf+xml") != 0 || len == 0 || len > XMP_MAX)
            continue;
        buf = pho_malloc(len);
        if (!buf)
            goto out;
        if (heif_image_handle_get_metadata(h, ids[i], buf).code == heif_error_Ok)
            pho_xmp_parse(m, buf, len, NULL);
        break;
    }
out:
    pho_free(buf);
    heif_image_handle_release(h);
    heif_context_free(ctx);
}
