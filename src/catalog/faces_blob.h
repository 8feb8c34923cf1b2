/* SPDX-License-Identifier: MIT */
/* Private to src/catalog (and its fuzz harness): the faces record codec. */
#ifndef PHO_CATALOG_FACES_BLOB_H
#define PHO_CATALOG_FACES_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/face.h"

/* The record of @faces (malloc'd, *@len bytes), or NULL when out of memory. */
uint8_t *pho_catalog__faces_encode(const struct pho_face_list *faces, size_t *len);

/* Appends the @count faces of the record @p/@len to @out. False when the
 * record does not fit (then the photo is analysed again); what was decoded
 * stays in @out for the caller to release. */
bool pho_catalog__faces_decode(struct pho_face_list *out, const uint8_t *p, size_t len,
                               int64_t count);

#endif
