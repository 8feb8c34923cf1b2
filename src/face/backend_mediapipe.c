/* SPDX-License-Identifier: MIT */
/* Placeholder until the mediapipe backend is implemented. */
#include "core/common.h"

#include "face/backend.h"

static int probe(const struct face_ctx *ctx, struct pho_err *err)
{
    PHO_UNUSED(ctx);
    return pho_err_set(err, PHO_EBACKEND, "face: the mediapipe backend is not implemented yet");
}

static int open_backend(void *priv, struct face_ctx *ctx, struct pho_err *err)
{
    PHO_UNUSED(priv);
    PHO_UNUSED(ctx);
    return pho_err_set(err, PHO_EBACKEND, "face: the mediapipe backend is not implemented yet");
}

static int analyze(void *priv, const struct pho_image *img, struct pho_face_list *out,
                   struct pho_err *err)
{
    PHO_UNUSED(priv);
    PHO_UNUSED(img);
    PHO_UNUSED(out);
    return pho_err_set(err, PHO_EBACKEND, "face: the mediapipe backend is not implemented yet");
}

static void close_backend(void *priv)
{
    PHO_UNUSED(priv);
}

const struct pho_face_backend pho_face_backend_mediapipe = {
    .p = { .name = "mediapipe", .description = "not implemented yet", .caps = 0 },
    .priv_size = 0,
    .probe = probe,
    .open = open_backend,
    .analyze = analyze,
    .close = close_backend,
};
