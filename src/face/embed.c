/* SPDX-License-Identifier: MIT */
/* Placeholder until the embed stage is implemented (see face/stages.h). */
#include "core/common.h"

#include <math.h>

#include "face/stages.h"

int face__embed_open(struct face_embedder **out, struct face_ctx *ctx, const char *model,
                     struct pho_err *err)
{
    PHO_UNUSED(ctx);
    *out = NULL;
    return pho_err_set(err, PHO_EUNSUPPORTED, "face: embedding with %s is not implemented yet",
                       model);
}

void face__embed_close(struct face_embedder *e)
{
    PHO_UNUSED(e);
}

int face__embed_run(struct face_embedder *e, const struct pho_image *img,
                    struct pho_face_list *faces, size_t first, struct pho_err *err)
{
    PHO_UNUSED(e);
    PHO_UNUSED(img);
    PHO_UNUSED(faces);
    PHO_UNUSED(first);
    return pho_err_set(err, PHO_EUNSUPPORTED, "face: embeddings are not implemented yet");
}

const char *face__embed_id(const struct face_embedder *e)
{
    PHO_UNUSED(e);
    return "";
}

enum pho_face_metric face__embed_metric(const struct face_embedder *e)
{
    PHO_UNUSED(e);
    return PHO_FACE_METRIC_NONE;
}

float face__embed_same_person(const struct face_embedder *e)
{
    PHO_UNUSED(e);
    return NAN;
}
