/* SPDX-License-Identifier: MIT */
/*
 * --enable-face-swap (docs/face-swap.md): a group whose best shot still shows closed eyes
 * (no take had everyone's open) gets best_<name>_fixed.jpg beside the best shot, with
 * each closed-eyed face given the same person's open eyes from another take of the group
 * (src/swap). The plan comes from the run's own face analysis, so a dry run can say it;
 * the repair runs while the group is written, on the full pixels, and is checked there.
 * The best shot itself is never changed.
 */
#include "core/common.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "organize/internal.h"
#include "organize/outputs.h"
#include "organize/run.h"
#include "pho/json.h"
#include "pho/log.h"
#include "pho/swap.h"

/* Takes whose eyes are tried at most: the nearest in time of those that can give any. */
#define MAX_DONORS 4

static double time_apart(const struct pho_photo *a, const struct pho_photo *b)
{
    if (!pho_organize__has_capture_time(&a->meta) || !pho_organize__has_capture_time(&b->meta))
        return NAN;
    return pho_time_diff(&a->meta.time, &b->meta.time);
}

static void append_why(struct pho_group_plan *g, const char *fmt, ...) PHO_PRINTF(2, 3);
static void append_why(struct pho_group_plan *g, const char *fmt, ...)
{
    size_t len = strlen(g->why);
    if (len + 2 >= sizeof(g->why))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->why + len, sizeof(g->why) - len, fmt, ap);
    va_end(ap);
}

/* The take of @g (other than the best) that shows face @t's person with open eyes, nearest
 * in time then in identity; SIZE_MAX when none. */
static size_t plan_donor(size_t *face, const struct run *run, const struct pho_group_plan *g,
                         const struct pho_face *t)
{
    const struct pho_organize_result *r = run->r;
    size_t best = SIZE_MAX;
    double best_dt = INFINITY;
    float best_d = INFINITY;
    for (size_t m = 0; m < g->count; m++) {
        size_t p = g->members[m];
        const struct pho_face_list *l = &r->faces[p];
        if (p == g->best || !l->image_w)
            continue;
        size_t k = SIZE_MAX;
        float d = INFINITY;
        for (size_t i = 0; i < l->count; i++) {
            const struct pho_face *f = &l->faces[i];
            if (!f->embed_dim || f->embed_dim != t->embed_dim)
                continue;
            float di = pho_face_distance(run->identity.metric, f->embed, t->embed, t->embed_dim);
            if (di < d)
                d = di, k = i;
        }
        if (k == SIZE_MAX || d > run->identity.same || l->faces[k].eyes_closed != 0)
            continue;
        double dt = fabs(time_apart(&r->photos[g->best], &r->photos[p]));
        if (isnan(dt))
            dt = (double)m; /* no times: the group's order */
        if (dt < best_dt || (dt == best_dt && d < best_d))
            best = p, *face = k, best_dt = dt, best_d = d;
    }
    return best;
}

int pho_organize__swap_plan(struct run *run, struct pho_err *err)
{
    struct pho_organize_result *r = run->r;
    if (!run->o->face_swap || !r->faces)
        return 0;
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        struct pho_group_plan *g = &r->groups[gi];
        const struct pho_face_list *bl = &r->faces[g->best];
        size_t n = 0;
        for (size_t i = 0; i < bl->count; i++)
            n += bl->faces[i].eyes_closed == 1;
        if (n == 0)
            continue;
        g->swap.faces = pho_calloc(n, sizeof(*g->swap.faces));
        if (!g->swap.faces)
            return pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        r->swap_groups++;
        size_t planned = 0;
        for (size_t i = 0; i < bl->count; i++) {
            const struct pho_face *t = &bl->faces[i];
            if (t->eyes_closed != 1)
                continue;
            struct pho_swap_fix *s = &g->swap.faces[g->swap.nfaces++];
            *s = (struct pho_swap_fix){ .face = i,
                                        .donor_face = SIZE_MAX,
                                        .ear_before = NAN,
                                        .ear_after = NAN,
                                        .distance = NAN,
                                        .distance_after = NAN,
                                        .seam = NAN,
                                        .match = NAN };
            memcpy(s->box, t->box, sizeof(s->box));
            s->ear_before = isnan(t->ear_l)   ? t->ear_r
                            : isnan(t->ear_r) ? t->ear_l
                                              : 0.5f * (t->ear_l + t->ear_r);
            s->donor = t->embed_dim ? plan_donor(&s->donor_face, run, g, t) : SIZE_MAX;
            if (s->donor == SIZE_MAX) {
                snprintf(s->why, sizeof(s->why), "%s",
                         t->embed_dim ? "no other take shows this person with open eyes"
                                      : "no identity for this face");
            } else {
                planned++;
                snprintf(s->why, sizeof(s->why), "eyes to come from %s (face %zu)",
                         r->photos[s->donor].rel, s->donor_face + 1);
            }
        }
        if (run->o->dry_run)
            append_why(g, "; face swap planned for %zu of %zu closed-eyed face(s)", planned,
                       g->swap.nfaces);
    }
    return 0;
}

/* The repaired best shot's name: best_<stem of the best's file>_fixed.jpg. */
static int fixed_name(char *out, size_t size, const struct pho_group_plan *g)
{
    const char *name = NULL;
    for (size_t f = 0; f < g->nfiles && !name; f++)
        if (g->files[f].photo == g->best)
            name = g->files[f].name;
    if (!name)
        return PHO_ENOTFOUND;
    const char *dot = strrchr(name, '.');
    size_t stem = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    char full[PHO_SWAP_FILE_MAX + 64];
    snprintf(full, sizeof(full), "best_%.*s_fixed.jpg", (int)PHO_MIN(stem, (size_t)255), name);
    bool shortened = false;
    char *fit = pho_organize__fit_name(full, PHO_OUT_NAME_MAX, &shortened);
    if (!fit)
        return PHO_ENOMEM;
    pho_strlcpy(out, fit, size);
    pho_free(fit);
    return 0;
}

static int open_engine(struct run *run, struct pho_err *err)
{
    if (run->swap_fe || run->swap_fe_failed)
        return 0;
    int rc = pho_organize__open_faces(run, &run->swap_fe, err);
    if (rc || !run->swap_fe) {
        run->swap_fe_failed = true;
        return rc == PHO_ENOMEM ? rc : 0;
    }
    return 0;
}

void pho_organize__swap_close(struct run *run)
{
    pho_face_engine_close(run->swap_fe);
    run->swap_fe = NULL;
}

/* Fills @g->swap from the repair's result (faces matched to the run's own by their box). */
static void take_result(struct pho_group_plan *g, const struct pho_organize_result *r,
                        const struct pho_swap_result *res, const size_t *donor_photo)
{
    for (size_t i = 0; i < g->swap.nfaces; i++) {
        struct pho_swap_fix *s = &g->swap.faces[i];
        const struct pho_swap_face *best = NULL;
        float best_o = 0.3f;
        for (size_t k = 0; k < res->nfaces; k++) {
            float o = pho_face_box_iou(res->faces[k].box, s->box);
            if (o > best_o)
                best_o = o, best = &res->faces[k];
        }
        if (!best) {
            snprintf(s->why, sizeof(s->why),
                     "judged open when the full photo was analysed again: not repaired");
            continue;
        }
        s->fixed = best->status == 0;
        s->donor = best->donor != SIZE_MAX ? donor_photo[best->donor] : SIZE_MAX;
        s->donor_face = best->donor_face;
        s->ear_before = best->ear_before;
        s->ear_after = best->ear_after;
        s->distance = best->distance;
        s->distance_after = best->distance_after;
        s->seam = best->seam;
        s->match = best->match;
        if (s->fixed)
            snprintf(s->why, sizeof(s->why), "eyes from %s (face %zu)", r->photos[s->donor].rel,
                     s->donor_face + 1);
        else
            pho_strlcpy(s->why, best->why, sizeof(s->why));
        g->swap.nfixed += s->fixed;
    }
}

/*
 * What a repair is made from, as text: the method's version, how faces were analysed, the
 * best shot and the donor takes (path, size, modification time). The same recipe makes the
 * same file, so a re-run keeps it (docs/catalog.md, schema 9). NULL on OOM.
 */
static char *recipe_of(const struct run *run, const struct pho_group_plan *g, const size_t *donor,
                       size_t nd)
{
    const struct pho_organize_result *r = run->r;
    json_t *j = json_object(), *photos = json_array();
    pho_json_set_str(j, "method", "face-swap/1");
    pho_json_set_str(j, "faces", run->face_config);
    pho_json_set_real(j, "max_seam", PHO_SWAP_MAX_SEAM);
    pho_json_set_real(j, "max_residual", PHO_SWAP_MAX_RESIDUAL);
    pho_json_set_real(j, "min_match", PHO_SWAP_MIN_MATCH);
    for (size_t k = 0; k <= nd; k++) {
        const struct pho_photo *p = &r->photos[k ? donor[k - 1] : g->best];
        json_t *jp = json_object();
        pho_json_set_path(jp, "rel", p->rel);
        pho_json_set_int(jp, "size", (long long)p->size);
        pho_json_set_int(jp, "mtime_ns", (long long)p->mtime_ns);
        json_array_append_new(photos, jp);
    }
    pho_json_set(j, "photos", photos);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    char *out = text ? pho_malloc(strlen(text) + 1) : NULL;
    if (out)
        memcpy(out, text, strlen(text) + 1);
    free(text);
    return out;
}

static float real_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? (float)json_number_value(v) : NAN;
}

/* @g->swap as the catalog's details say it was (pho_organize__swap_json()), when they are of
 * the same faces and takes; false (nothing changed) otherwise. */
static bool restore(struct pho_group_plan *g, const struct pho_organize_result *r, const json_t *j)
{
    const json_t *faces = json_object_get(j, "faces");
    if (!json_is_array(faces) || json_array_size(faces) != g->swap.nfaces)
        return false;
    for (size_t i = 0; i < g->swap.nfaces; i++) {
        const json_t *jf = json_array_get(faces, i);
        const json_t *face = json_object_get(jf, "face"), *from = json_object_get(jf, "from");
        if (!json_is_integer(face) || (size_t)json_integer_value(face) != g->swap.faces[i].face + 1)
            return false;
        if (json_is_string(from)) {
            bool known = false;
            for (size_t m = 0; m < g->count && !known; m++)
                known = !strcmp(r->photos[g->members[m]].rel, json_string_value(from));
            if (!known)
                return false;
        }
    }
    size_t nfixed = 0;
    for (size_t i = 0; i < g->swap.nfaces; i++) {
        const json_t *jf = json_array_get(faces, i);
        struct pho_swap_fix *s = &g->swap.faces[i];
        const json_t *from = json_object_get(jf, "from");
        s->donor = SIZE_MAX;
        for (size_t m = 0; json_is_string(from) && m < g->count; m++)
            if (!strcmp(r->photos[g->members[m]].rel, json_string_value(from)))
                s->donor = g->members[m];
        const json_t *ff = json_object_get(jf, "from_face");
        s->donor_face = json_is_integer(ff) ? (size_t)json_integer_value(ff) - 1 : SIZE_MAX;
        s->fixed = json_is_true(json_object_get(jf, "fixed"));
        s->ear_before = real_of(jf, "ear_before");
        s->ear_after = real_of(jf, "ear_after");
        s->distance = real_of(jf, "identity_distance");
        s->distance_after = real_of(jf, "identity_distance_after");
        s->seam = real_of(jf, "seam");
        s->match = real_of(jf, "match");
        const json_t *why = json_object_get(jf, "why");
        pho_strlcpy(s->why, json_is_string(why) ? json_string_value(why) : "", sizeof(s->why));
        nfixed += s->fixed;
    }
    g->swap.nfixed = nfixed;
    const json_t *file = json_object_get(j, "file");
    pho_strlcpy(g->swap.file, json_is_string(file) ? json_string_value(file) : "",
                sizeof(g->swap.file));
    return true;
}

/* A re-run that would repair from the same recipe: the earlier result stands when its file
 * is still ours (or when it made none). *@hit says whether it did. */
static int cached(struct run *run, struct pho_organize__outputs *outs, struct pho_group_plan *g,
                  const char *rel, const char *recipe, bool *hit, struct pho_err *err)
{
    *hit = false;
    char *old = NULL, *details = NULL, *path = NULL;
    bool found = false;
    json_t *j = NULL;
    int rc = pho_catalog_derived_get(run->cat, rel, &old, &details, &found, err);
    if (rc || !found || strcmp(old, recipe) || !(j = json_loads(details, 0, NULL)))
        goto out;
    const json_t *file = json_object_get(j, "file");
    if (json_is_string(file)) {
        /* Only the file this recipe made, as it was made: the user's edit is theirs. */
        const struct pho_output_file *f = pho_organize__out_recorded(outs, rel);
        path = pho_organize__join(run->out_dir, rel);
        if (!path) {
            rc = pho_err_set(err, PHO_ENOMEM, "output: out of memory");
            goto out;
        }
        const char *slash = strrchr(rel, '/');
        if (!f || strcmp(json_string_value(file), slash ? slash + 1 : rel) ||
            !pho_organize__out_still_ours(path, f))
            goto out;
    }
    if (!restore(g, run->r, j))
        goto out;
    if (g->swap.file[0]) {
        rc = pho_organize__out_planned(outs, rel);
        if (rc) {
            rc = pho_err_set(err, PHO_ENOMEM, "output: out of memory");
            goto out;
        }
        run->r->files_unchanged++;
    }
    pho_log(PHO_LOG_INFO, "face swap",
            "%s: the repair of an earlier run stands (same photos, "
            "same analysis)",
            g->dir);
    *hit = true;
out:
    json_decref(j);
    pho_free(old);
    pho_free(details);
    pho_free(path);
    return rc;
}

/* The repair itself (no recipe matched): @g->swap filled, the file put at @rel when a face
 * was repaired. *@made: the result is one to remember (not a photo that could not be read
 * or a file that could not be written: those are tried again next time). */
static int repair(struct run *run, struct pho_organize__outputs *outs, struct pho_group_plan *g,
                  const char *rel, const size_t *donor_photo, size_t nd, bool *made,
                  struct pho_err *err)
{
    struct pho_organize_result *r = run->r;
    *made = false;
    int rc = open_engine(run, err);
    if (rc || !run->swap_fe) {
        for (size_t i = 0; i < g->swap.nfaces; i++)
            pho_strlcpy(g->swap.faces[i].why, "no face backend", sizeof(g->swap.faces[i].why));
        return rc;
    }
    struct pho_image_opts io = PHO_IMAGE_OPTS_INIT;
    io.max_pixels = run->o->max_pixels;
    struct pho_image *target = NULL, *donors[MAX_DONORS] = { 0 };
    double dt[MAX_DONORS];
    struct pho_image_carry *carry = NULL;
    struct pho_swap_result res = { 0 };
    void *jpeg = NULL;
    size_t jlen = 0;
    struct pho_err e = PHO_ERR_INIT;
    const struct pho_photo *bp = &r->photos[g->best];
    int src = pho_image_load(&target, bp->path, &io, NULL, &e);
    if (src == 0)
        src = pho_image_carry_read(&carry, bp->path, &e);
    for (size_t k = 0; src == 0 && k < nd; k++) {
        src = pho_image_load(&donors[k], r->photos[donor_photo[k]].path, &io, NULL, &e);
        dt[k] = time_apart(bp, &r->photos[donor_photo[k]]);
    }
    struct pho_swap_opts so = PHO_SWAP_OPTS_INIT;
    if (src == 0)
        src = pho_swap_fix_eyes(&res, run->swap_fe, target, (const struct pho_image *const *)donors,
                                dt, nd, &so, &e);
    if (src == 0) {
        take_result(g, r, &res, donor_photo);
        if (res.image && g->swap.nfixed)
            src = pho_image_jpeg_carrying(&jpeg, &jlen, res.image, carry, 0, &e);
    }
    if (src == 0 && jpeg) {
        src = pho_organize__out_put_data(run, outs, jpeg, jlen, rel, &e);
        if (src == 0) {
            const char *slash = strrchr(rel, '/');
            pho_strlcpy(g->swap.file, slash ? slash + 1 : rel, sizeof(g->swap.file));
        }
    }
    *made = src == 0;
    if (src == PHO_ENOMEM || src == PHO_EDB) {
        rc = pho_err_set(err, src, "%s", e.msg);
    } else if (src) {
        /* A photo that cannot be read again or a file that cannot be written: said, and
         * the group is written without its repair. */
        pho_log(PHO_LOG_WARN, "face swap", "%s: %s", g->dir, e.msg);
        for (size_t i = 0; i < g->swap.nfaces; i++) {
            g->swap.faces[i].fixed = false;
            pho_strlcpy(g->swap.faces[i].why, e.msg, sizeof(g->swap.faces[i].why));
        }
        g->swap.nfixed = 0;
    }
    pho_free(jpeg);
    pho_swap_result_release(&res);
    pho_image_carry_free(carry);
    pho_image_free(target);
    for (size_t k = 0; k < nd; k++)
        pho_image_free(donors[k]);
    return rc;
}

int pho_organize__swap_write(struct run *run, struct pho_organize__outputs *outs,
                             struct pho_group_plan *g, struct pho_err *err)
{
    struct pho_organize_result *r = run->r;
    if (g->swap.nfaces == 0)
        return 0;
    /* Donors: the takes the plan found, nearest in time first. */
    size_t donor_photo[MAX_DONORS];
    size_t nd = 0;
    for (size_t i = 0; i < g->swap.nfaces && nd < MAX_DONORS; i++) {
        size_t p = g->swap.faces[i].donor;
        bool seen = p == SIZE_MAX;
        for (size_t k = 0; k < nd && !seen; k++)
            seen = donor_photo[k] == p;
        if (!seen)
            donor_photo[nd++] = p;
    }
    if (nd == 0) {
        append_why(g, "; face swap: no take to repair %zu closed-eyed face(s) from",
                   g->swap.nfaces);
        return 0;
    }
    char name[PHO_SWAP_FILE_MAX], rel[4096];
    int rc = fixed_name(name, sizeof(name), g);
    if (rc)
        return rc == PHO_ENOMEM ? pho_err_set(err, rc, "output: out of memory") : 0;
    snprintf(rel, sizeof(rel), "%s/%s", g->dir, name);
    char *recipe = recipe_of(run, g, donor_photo, nd);
    if (!recipe)
        return pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    bool hit = false, made = false;
    rc = cached(run, outs, g, rel, recipe, &hit, err);
    if (rc == 0 && !hit)
        rc = repair(run, outs, g, rel, donor_photo, nd, &made, err);
    if (rc == 0 && made) {
        json_t *j = pho_organize__swap_json(r, g);
        char *details = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        rc = details ? pho_catalog_derived_put(run->cat, rel, recipe, details, err)
                     : pho_err_set(err, PHO_ENOMEM, "output: out of memory");
        free(details);
    }
    pho_free(recipe);
    if (rc)
        return rc;
    if (g->swap.file[0]) {
        r->swap_written++;
        r->swap_faces_fixed += g->swap.nfixed;
        append_why(g, "; face swap: %zu of %zu closed-eyed face(s) repaired in %s", g->swap.nfixed,
                   g->swap.nfaces, g->swap.file);
    } else {
        append_why(g, "; face swap: %zu closed-eyed face(s) not repaired: %s", g->swap.nfaces,
                   g->swap.faces[0].why);
    }
    return 0;
}
