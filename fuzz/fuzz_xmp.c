/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a sidecar that is already there (docs/xmp.md). The input is
 * read as the XMP a decision is merged into; what comes out is merged into
 * again and then has ours taken out, as later runs do.
 */
#include "core/common.h"

#include <stddef.h>
#include <stdint.h>

#include "organize/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pho_organize__decision d = {
        .group = "group_0001",
        .role = "best",
        .best = "IMG_1.JPG",
        .reason = "fuzz",
        .group_size = 2,
        .rating = 5,
        .label = PHO_XMP_LABEL_GREEN,
    };
    char *out = NULL, *again = NULL, *gone = NULL;
    size_t len = 0, len2 = 0, len3 = 0;
    unsigned flags;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_organize__sidecar_merge(&out, &len, &flags, (const char *)data, size, &d, &err) == 0) {
        d.role = "member";
        d.rating = 1;
        d.label = PHO_XMP_LABEL_NONE;
        if (pho_organize__sidecar_merge(&again, &len2, &flags, out, len, &d, &err) == 0)
            pho_organize__sidecar_merge(&gone, &len3, &flags, again, len2, NULL, &err);
    }
    pho_free(out);
    pho_free(again);
    pho_free(gone);
    return 0;
}
