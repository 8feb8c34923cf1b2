/* SPDX-License-Identifier: MIT */
/*
 * Why two photos are, or are not, grouped: each is read and hashed exactly
 * as the analyse stage reads it, then judged by the grouping rule the
 * options select (photo-organizer explain A B).
 */
#include "core/common.h"

#include <math.h>
#include <string.h>

#include "organize/run.h"
#include "pho/group.h"

static int read_photo(struct pho_photo *p, const char *path, const struct pho_organize_opts *o,
                      struct pho_err *err)
{
    pho_photo_init(p);
    p->path = pho_strdup(path);
    if (!p->path)
        return pho_err_set(err, PHO_ENOMEM, "explain: out of memory");
    struct pho_image *img = NULL;
    int rc = pho_organize__load_hashed(&img, p, o->max_pixels, o->grouping == PHO_GROUP_RULE_AUTO,
                                       err);
    pho_image_free(img);
    return rc;
}

/* The original tool's rule on its own terms: one hash, a threshold, a time window. */
static void judge_classic(struct pho_group_why *w, const struct pho_group_item *a,
                          const struct pho_group_item *b, const struct pho_organize_opts *o)
{
    memset(w, 0, sizeof(*w));
    w->via = SIZE_MAX;
    w->score = NAN;
    w->needed_score = NAN;
    w->bits = __builtin_popcountll(a->hash ^ b->hash);
    w->allowed_bits = o->threshold;
    w->gap = a->has_time && b->has_time ? fabs(a->time - b->time) : NAN;
    w->same_camera = pho_group_same_camera(a, b);
    bool in_window = o->time_window <= 0 || !(w->gap > o->time_window);
    w->reason = w->bits <= o->threshold && in_window ? PHO_GROUP_COPY : PHO_GROUP_NOT_LINKED;
}

int pho_organize_explain(struct pho_group_why *out, const char *a, const char *b,
                         const struct pho_organize_opts *opts, struct pho_err *err)
{
    static const struct pho_organize_opts defaults = PHO_ORGANIZE_OPTS_INIT;
    const struct pho_organize_opts *o = opts ? opts : &defaults;
    struct pho_photo pa, pb;
    int rc = read_photo(&pa, a, o, err);
    if (rc == 0)
        rc = read_photo(&pb, b, o, err);
    else
        pho_photo_init(&pb);
    if (rc == 0) {
        struct pho_group_item ia, ib;
        pho_organize__group_item(&ia, &pa, o->hash);
        pho_organize__group_item(&ib, &pb, o->hash);
        if (o->grouping == PHO_GROUP_RULE_CLASSIC)
            judge_classic(out, &ia, &ib, o);
        else
            pho_group_explain(out, &ia, &ib);
    }
    pho_photo_release(&pa);
    pho_photo_release(&pb);
    return rc;
}
