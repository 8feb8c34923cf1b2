/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: what a photo's companions bring (docs/shots.md). The input is
 * read as a Google Takeout JSON sidecar, and its first two lines as a photo's
 * name and a neighbour's, for the name rules that pair them.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "memfile.h"
#include "pho/exif.h"
#include "pho/shot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Copies line @n (0-based) of @data into @out as a file name: no '/', no NUL. */
static void line_of(char *out, size_t cap, const uint8_t *data, size_t size, int n)
{
    size_t at = 0;
    for (int k = 0; k < n && at < size; at++)
        if (data[at] == '\n')
            k++;
    size_t len = 0;
    while (at < size && data[at] != '\n' && len + 1 < cap) {
        uint8_t c = data[at++];
        out[len++] = c == '/' || c == 0 ? '_' : (char)c;
    }
    out[len] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct memfile f;
    if (memfile_open(&f, data, size) == 0) {
        struct pho_meta m;
        pho_meta_init(&m);
        pho_takeout_apply(&m, f.path, NULL);
        memfile_close(&f);
    }
    char photo[512], other[512];
    line_of(photo, sizeof(photo), data, size, 0);
    line_of(other, sizeof(other), data, size, 1);
    if (photo[0] && other[0])
        pho_shot_companion_kind(photo, other);
    return 0;
}
