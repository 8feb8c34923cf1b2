/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the OpenCV FileStorage YAML reader behind BRISQUE. The input
 * is read as the model file with the installed range file (the path every
 * run takes), or, when its first byte is odd, as both files.
 */
#include <stddef.h>
#include <stdint.h>

#include "memfile.h"
#include "pho/quality.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct memfile f;
    if (memfile_open(&f, data, size) < 0)
        return 0;
    struct pho_brisque *b = NULL;
    bool both = size > 0 && (data[0] & 1);
    pho_brisque_open(&b, f.path, both ? f.path : NULL, NULL);
    pho_brisque_close(b);
    memfile_close(&f);
    return 0;
}
