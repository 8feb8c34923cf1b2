/* SPDX-License-Identifier: MIT */
/* Fuzz target: the model manifest reader (models/manifest.json and its fields). */
#include <stddef.h>
#include <stdint.h>

#include "memfile.h"
#include "pho/models.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct memfile f;
    if (memfile_open(&f, data, size) < 0)
        return 0;
    struct pho_models *m = NULL;
    pho_models_load(&m, f.path, NULL);
    pho_models_free(m);
    memfile_close(&f);
    return 0;
}
