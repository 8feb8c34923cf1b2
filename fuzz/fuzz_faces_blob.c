/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the decoder of the catalog's faces record, which reads what a
 * damaged or foreign catalog holds. The first two bytes are the face count
 * the row claims; the rest is the BLOB. A record that decodes must encode
 * back to a record that decodes to the same faces.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/faces_blob.h"
#include "core/alloc.h"
#include "pho/face.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int64_t count = data[0] | (data[1] << 8);
    struct pho_face_list a = { 0 };
    if (pho_catalog__faces_decode(&a, data + 2, size - 2, count)) {
        size_t len = 0;
        uint8_t *again = pho_catalog__faces_encode(&a, &len);
        struct pho_face_list b = { 0 };
        if (again &&
            (!pho_catalog__faces_decode(&b, again, len, (int64_t)a.count) || b.count != a.count))
            abort();
        for (size_t i = 0; again && i < a.count; i++)
            if (b.faces[i].embed_dim != a.faces[i].embed_dim ||
                memcmp(b.faces[i].embed, a.faces[i].embed, sizeof(float) * a.faces[i].embed_dim) !=
                        0)
                abort();
        pho_free(again);
        pho_face_list_release(&b);
    }
    pho_face_list_release(&a);
    return 0;
}
