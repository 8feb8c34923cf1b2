/* SPDX-License-Identifier: MIT */
/*
 * Eyes judged against the same person's own eyes in the other takes of a
 * group (docs/best-shot.md): what a person does when leafing through a
 * burst. An eye aspect ratio of 0.20 is open for someone whose eyes are
 * naturally narrow and a half-blink for someone whose eyes measure 0.35 in
 * the next frame; a single absolute threshold cannot tell the two apart, a
 * person's own open-eye baseline can.
 *
 * People are followed across takes by identity embedding when the faces have
 * one, else by where the face sits in the frame (a burst keeps its framing);
 * when every take shows exactly one face, it is the same person.
 */
#include "core/common.h"

#include <math.h>
#include <string.h>

#include "organize/internal.h"

/* An eye below this share of the same eye's widest opening in the group is
 * closing: a blink or a wink. Open eyes of one person measured across takes
 * of a series vary by up to 17 %, winks' shut eyes measured 50-70 % of their
 * baselines (docs/best-shot.md). */
#define BLINK_RATIO  0.75f
/* Eyes narrower than this (pixels, in the analysed image) are not compared:
 * the ratio of two few-pixel measurements is noise. */
#define MIN_EYE_PX   8.0f
/* Head turns that differ by more than this change the ratio by themselves. */
#define MAX_YAW_DIFF 0.35f
/* Position match when there are no embeddings: centres closer than this many
 * face widths. */
#define SAME_PLACE   0.5f

struct person_face {
    size_t take; /* index into g->members */
    const struct pho_face *f;
    int person;
};

static float eye_px(const float (*e)[2], const struct pho_face_list *fl)
{
    return hypotf((e[3][0] - e[0][0]) * (float)fl->image_w,
                  (e[3][1] - e[0][1]) * (float)fl->image_h);
}

static bool judgeable(const struct pho_face *f, const struct pho_face_list *fl)
{
    return f->has_eyes && isfinite(f->ear_l) && isfinite(f->ear_r) &&
           eye_px(f->eye_l, fl) >= MIN_EYE_PX && eye_px(f->eye_r, fl) >= MIN_EYE_PX;
}

static bool same_person(const struct pho_face *a, const struct pho_face *b,
                        const struct pho_organize__identity *id)
{
    if (id && id->metric != PHO_FACE_METRIC_NONE && a->embed_dim && a->embed_dim == b->embed_dim)
        return pho_face_distance(id->metric, a->embed, b->embed, a->embed_dim) <= id->same;
    float wa = a->box[2] - a->box[0], wb = b->box[2] - b->box[0];
    float dx = (a->box[0] + a->box[2]) / 2 - (b->box[0] + b->box[2]) / 2;
    float dy = (a->box[1] + a->box[3]) / 2 - (b->box[1] + b->box[3]) / 2;
    return hypotf(dx, dy) < SAME_PLACE * (wa + wb) / 2;
}

void pho_organize__relative_eyes(const struct pho_group_plan *g, const struct pho_face_list *faces,
                                 const struct pho_organize__identity *id,
                                 struct pho_organize__take_eyes *out)
{
    size_t total = 0;
    bool one_each = true;
    for (size_t t = 0; t < g->count; t++) {
        out[t].blinks = 0;
        out[t].openness = 1;
        size_t n = faces[g->members[t]].count;
        total += n;
        one_each &= n <= 1; /* a take without a face says nothing about who */
    }
    if (g->count < 2 || total < 2)
        return;
    struct person_face *pf = pho_calloc(total, sizeof(*pf));
    size_t *rep = pho_calloc(total, sizeof(*rep));   /* a face of each person: the latest */
    size_t *last = pho_calloc(total, sizeof(*last)); /* 1 + the take it was last seen in */
    if (!pf || !rep || !last) {
        pho_free(pf);
        pho_free(rep);
        pho_free(last);
        return; /* the absolute judgement stands */
    }
    size_t n = 0;
    int people = 0;
    for (size_t t = 0; t < g->count; t++) {
        const struct pho_face_list *fl = &faces[g->members[t]];
        for (size_t k = 0; k < fl->count; k++) {
            struct person_face *p = &pf[n];
            p->take = t;
            p->f = &fl->faces[k];
            p->person = -1;
            /* The first person already seen, not yet in this take, who matches. */
            for (int who = 0; who < people && p->person < 0; who++)
                if (last[who] != t + 1 && (one_each || same_person(p->f, pf[rep[who]].f, id)))
                    p->person = who;
            if (p->person < 0)
                p->person = people++;
            rep[p->person] = n;
            last[p->person] = t + 1;
            n++;
        }
    }
    for (int who = 0; who < people; who++) {
        /* The person's widest-open eyes over the takes where both can be measured. */
        const struct pho_face *base_l = NULL, *base_r = NULL;
        int takes = 0;
        for (size_t i = 0; i < n; i++) {
            const struct pho_face_list *fl = &faces[g->members[pf[i].take]];
            if (pf[i].person != who || !judgeable(pf[i].f, fl))
                continue;
            takes++;
            if (!base_l || pf[i].f->ear_l > base_l->ear_l)
                base_l = pf[i].f;
            if (!base_r || pf[i].f->ear_r > base_r->ear_r)
                base_r = pf[i].f;
        }
        if (takes < 2)
            continue;
        for (size_t i = 0; i < n; i++) {
            const struct pho_face *f = pf[i].f;
            const struct pho_face_list *fl = &faces[g->members[pf[i].take]];
            if (pf[i].person != who || !judgeable(f, fl))
                continue;
            if (isfinite(f->yaw) &&
                ((isfinite(base_l->yaw) && fabsf(f->yaw - base_l->yaw) > MAX_YAW_DIFF) ||
                 (isfinite(base_r->yaw) && fabsf(f->yaw - base_r->yaw) > MAX_YAW_DIFF)))
                continue;
            float open = fminf(f->ear_l / base_l->ear_l, f->ear_r / base_r->ear_r);
            struct pho_organize__take_eyes *te = &out[pf[i].take];
            if (open < te->openness)
                te->openness = open;
            /* Closed already by the absolute judgement: counted there. */
            if (open < BLINK_RATIO && f->eyes_closed == 0)
                te->blinks++;
        }
    }
    pho_free(pf);
    pho_free(rep);
    pho_free(last);
}
