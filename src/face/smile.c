/* SPDX-License-Identifier: MIT */
/* Placeholder until the smile stage is implemented (see face/stages.h). */
#include "core/common.h"

#include <math.h>

#include "face/stages.h"

int face__smile_open(struct face_smile **out, struct face_ctx *ctx, struct pho_err *err)
{
    PHO_UNUSED(ctx);
    *out = NULL;
    return pho_err_set(err, PHO_EUNSUPPORTED, "face: the smile stage is not implemented yet");
}

void face__smile_close(struct face_smile *s)
{
    PHO_UNUSED(s);
}

int face__smile_run(struct face_smile *s, const struct pho_image *img, struct pho_face_list *faces,
                    size_t first, struct pho_err *err)
{
    PHO_UNUSED(s);
    PHO_UNUSED(img);
    PHO_UNUSED(faces);
    PHO_UNUSED(first);
    return pho_err_set(err, PHO_EUNSUPPORTED, "face: the smile stage is not implemented yet");
}
