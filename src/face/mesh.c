/* SPDX-License-Identifier: MIT */
/* Placeholder until the mesh stage is implemented (see face/stages.h). */
#include "core/common.h"

#include <math.h>

#include "face/stages.h"

int face__mesh_open(struct face_mesh **out, struct face_ctx *ctx, struct pho_err *err)
{
    PHO_UNUSED(ctx);
    *out = NULL;
    return pho_err_set(err, PHO_EUNSUPPORTED, "face: the mesh stage is not implemented yet");
}

void face__mesh_close(struct face_mesh *m)
{
    PHO_UNUSED(m);
}

int face__mesh_run(struct face_mesh *m, const struct pho_image *img, struct pho_face_list *faces,
                   size_t first, const float (*eye_hints)[2][2], struct pho_err *err)
{
    PHO_UNUSED(m);
    PHO_UNUSED(img);
    PHO_UNUSED(faces);
    PHO_UNUSED(first);
    PHO_UNUSED(eye_hints);
    return pho_err_set(err, PHO_EUNSUPPORTED, "face: the mesh stage is not implemented yet");
}

float face__mesh_closed_ear(void)
{
    return NAN;
}
