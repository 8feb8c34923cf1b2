/* SPDX-License-Identifier: MIT */
/*
 * The faces record of a photo in the catalog (a BLOB), encoded and decoded.
 * Kept apart from catalog.c so that the decoder, which reads whatever a
 * damaged or foreign catalog holds, is fuzzed on its own (fuzz/fuzz_faces_blob.c).
 */
#include "core/common.h"

#include <string.h>

#include "catalog/faces_blob.h"

/*
 * One face on disk, little-endian whatever the host: 44 float32 (box[4],
 * score, pts5[5][2], eye_l[6][2], eye_r[6][2], ear_l, ear_r, smile,
 * sharpness, yaw), 4 int8 (has_pts5 with mouth_hidden in bit 1, has_eyes,
 * eyes_closed, winking), a uint16 embedding length, then that many float32.
 * (Records written before mouth_hidden have bit 1 clear: the mouth was not
 * checked, so not hidden.)
 */
enum { FACE_FLOATS = 44, FACE_FIXED = FACE_FLOATS * 4 + 4 + 2 };

static void put_f32(uint8_t **p, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int i = 0; i < 4; i++)
        *(*p)++ = (uint8_t)(u >> (8 * i));
}

static float get_f32(const uint8_t **p)
{
    uint32_t u = 0;
    for (int i = 0; i < 4; i++)
        u |= (uint32_t)(*p)[i] << (8 * i);
    *p += 4;
    float v;
    memcpy(&v, &u, 4);
    return v;
}

/* The face's float fields in record order. */
static void face_floats(struct pho_face *f, float *v[FACE_FLOATS])
{
    int n = 0;
    for (int i = 0; i < 4; i++)
        v[n++] = &f->box[i];
    v[n++] = &f->score;
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 2; k++)
            v[n++] = &f->pts5[i][k];
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 2; k++)
            v[n++] = &f->eye_l[i][k];
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 2; k++)
            v[n++] = &f->eye_r[i][k];
    v[n++] = &f->ear_l;
    v[n++] = &f->ear_r;
    v[n++] = &f->smile;
    v[n++] = &f->sharpness;
    v[n++] = &f->yaw;
    PHO_ASSERT(n == FACE_FLOATS);
}

uint8_t *pho_catalog__faces_encode(const struct pho_face_list *faces, size_t *len)
{
    size_t bytes = 1;
    for (size_t i = 0; i < faces->count; i++)
        bytes += FACE_FIXED + 4u * PHO_MIN(faces->faces[i].embed_dim, PHO_FACE_EMBED_MAX);
    uint8_t *data = pho_malloc(bytes), *p = data;
    if (!data)
        return NULL;
    for (size_t i = 0; i < faces->count; i++) {
        struct pho_face f = faces->faces[i];
        float *v[FACE_FLOATS];
        face_floats(&f, v);
        for (int k = 0; k < FACE_FLOATS; k++)
            put_f32(&p, *v[k]);
        *p++ = (uint8_t)((f.has_pts5 ? 1 : 0) | (f.mouth_hidden ? 2 : 0));
        *p++ = (uint8_t)f.has_eyes;
        *p++ = (uint8_t)f.eyes_closed;
        *p++ = (uint8_t)f.winking;
        uint16_t dim = (uint16_t)PHO_MIN(f.embed_dim, PHO_FACE_EMBED_MAX);
        *p++ = (uint8_t)dim;
        *p++ = (uint8_t)(dim >> 8);
        for (uint16_t k = 0; k < dim; k++)
            put_f32(&p, f.embed[k]);
    }
    *len = (size_t)(p - data);
    return data;
}

/* Decodes a faces record; false when it does not fit (then the photo is analysed again). */
bool pho_catalog__faces_decode(struct pho_face_list *out, const uint8_t *p, size_t len,
                               int64_t count)
{
    const uint8_t *end = p + len;
    if (count < 0 || count > 100000)
        return false;
    for (int64_t i = 0; i < count; i++) {
        if ((size_t)(end - p) < FACE_FIXED)
            return false;
        struct pho_face *f = pho_reallocarray(out->faces, out->count + 1, sizeof(*f));
        if (!f)
            return false;
        out->faces = f;
        f = &out->faces[out->count];
        memset(f, 0, sizeof(*f));
        float *v[FACE_FLOATS];
        face_floats(f, v);
        for (int k = 0; k < FACE_FLOATS; k++)
            *v[k] = get_f32(&p);
        f->has_pts5 = (p[0] & 1) != 0;
        f->mouth_hidden = (p[0] & 2) != 0;
        f->has_eyes = p[1] != 0;
        f->eyes_closed = (int8_t)p[2];
        f->winking = (int8_t)p[3];
        uint16_t dim = (uint16_t)(p[4] | (p[5] << 8));
        p += 6;
        if (dim > PHO_FACE_EMBED_MAX || (size_t)(end - p) < 4u * dim)
            return false;
        f->embed_dim = dim;
        for (uint16_t k = 0; k < dim; k++)
            f->embed[k] = get_f32(&p);
        out->count++;
    }
    return p == end || p + 1 == end;
}
