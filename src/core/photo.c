/* SPDX-License-Identifier: MIT */
/* Lifecycle of struct pho_photo. */
#include "core/common.h"

#include <string.h>

#include "pho/photo.h"

void pho_photo_init(struct pho_photo *p)
{
    memset(p, 0, sizeof(*p));
    pho_meta_init(&p->meta);
    p->part_of = SIZE_MAX;
    p->edit_of = SIZE_MAX;
}

void pho_photo_release(struct pho_photo *p)
{
    if (!p)
        return;
    pho_free(p->path);
    pho_free(p->rel);
    pho_photo_init(p);
}
