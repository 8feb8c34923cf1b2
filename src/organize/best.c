/* SPDX-License-Identifier: MIT */
/*
 * Picking the best shot of a group (docs/best-shot.md).
 *
 * With faces: first the fewest faces with closed eyes, because a take where
 * everyone's eyes are open beats any smile; faces the detector did not find
 * in a take (someone turned away or covered) count as half a closed face and
 * faces whose eyes could not be judged as a quarter. Among takes tied on that,
 * the highest blend of face quality (smile, face sharpness, frontal pose) and
 * image quality wins. Without faces: the image quality score alone. Remaining
 * ties go to the earlier capture, then the path, so the choice never depends
 * on anything but the photos.
 */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "organize/internal.h"

/* Weights documented in docs/best-shot.md. */
#define MISSING_FACE 0.5
#define UNKNOWN_EYES 0.25
#define W_SMILE      0.5
#define W_FACE_SHARP 0.3
#define W_FRONTAL    0.2
#define W_FACES      0.6 /* vs 1 - W_FACES for the image quality score */

/* Two takes tied on closed eyes whose least-open faces differ by more than
 * this (as a share of the same person's widest opening) are told apart by it,
 * before smiles: half-lowered lids are a worse picture of open eyes. */
#define OPENNESS_MARGIN 0.1

struct shot {
    size_t idx;
    bool faces_known; /* face analysis ran on this photo */
    int nfaces, closed, unknown, missing, blinks;
    double badness, openness, face_q, smile, total;
    char who[96]; /* "Anna's eyes closed, Ben missing": named people, when known */
};

/* A person's name, or "" when unnamed or not known. */
static const char *name_of(const struct pho_organize__identity *id, int64_t person)
{
    size_t lo = 0, hi = id && person > 0 ? id->npeople : 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (id->people[mid].id == person)
            return id->people[mid].hidden ? "" : id->people[mid].name;
        if (id->people[mid].id < person)
            lo = mid + 1;
        else
            hi = mid;
    }
    return "";
}

static void add_who(char *who, size_t size, const char *name, const char *what)
{
    size_t len = strlen(who);
    if (!name[0] || len + 1 >= size)
        return;
    snprintf(who + len, size - len, "%s%s%s", len ? ", " : "", name, what);
}

/* The persons a take of the group is expected to show: those in most of the takes whose
 * faces were analysed (a passer-by in one take of three is not expected in the others; of
 * two takes, only who is in both). At most @cap. */
static size_t group_persons(int64_t *out, size_t cap, const struct pho_group_plan *g,
                            const struct pho_face_list *faces, int64_t *const *persons)
{
    size_t n = 0, takes = 0, seen_in[64] = { 0 };
    cap = PHO_MIN(cap, PHO_ARRAY_LEN(seen_in));
    for (size_t k = 0; k < g->count; k++) {
        const int64_t *pp = persons[g->members[k]];
        takes += faces[g->members[k]].image_w != 0;
        for (size_t i = 0; pp && i < faces[g->members[k]].count; i++) {
            size_t j = 0;
            while (j < n && out[j] != pp[i])
                j++;
            bool again = false; /* twice in one take (a merge the user made): once */
            for (size_t b = 0; b < i; b++)
                again |= pp[b] == pp[i];
            if (pp[i] <= 0 || again || (j == n && n == cap))
                continue;
            if (j == n)
                out[n++] = pp[i];
            seen_in[j]++;
        }
    }
    size_t kept = 0;
    for (size_t j = 0; j < n; j++)
        if (2 * seen_in[j] > takes)
            out[kept++] = out[j];
    return kept;
}

static double clamp01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* One face's quality, 0..1. */
static double face_quality(const struct pho_face *f)
{
    double smile = isfinite(f->smile) ? f->smile : 0.5;
    /* Same log scale as the image sharpness term (docs/quality.md). */
    double sharp = isfinite(f->sharpness) && f->sharpness > 0
                           ? clamp01(log10(f->sharpness / 10.0) / log10(300.0))
                           : 0.5;
    double frontal = isfinite(f->yaw) ? 1 - clamp01(fabs(f->yaw)) : 1;
    return W_SMILE * smile + W_FACE_SHARP * sharp + W_FRONTAL * frontal;
}

static double capture_seconds(const struct pho_photo *p)
{
    return (double)p->meta.time.local + p->meta.time.nsec / 1e9;
}

static int compare(const struct shot *a, const struct shot *b, const struct pho_photo *photos)
{
    /* A take the user rejected is the best shot only when they say so (decisions.c). */
    bool ra = photos[a->idx].user_flag == PHO_FLAG_REJECT,
         rb = photos[b->idx].user_flag == PHO_FLAG_REJECT;
    if (ra != rb)
        return ra ? 1 : -1;
    if (fabs(a->badness - b->badness) > 1e-9)
        return a->badness < b->badness ? -1 : 1;
    if (fabs(a->openness - b->openness) > OPENNESS_MARGIN)
        return a->openness > b->openness ? -1 : 1;
    if (fabs(a->total - b->total) > 1e-9)
        return a->total > b->total ? -1 : 1;
    double ta = capture_seconds(&photos[a->idx]), tb = capture_seconds(&photos[b->idx]);
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return strcmp(photos[a->idx].rel, photos[b->idx].rel);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void eyes_text(char *buf, size_t size, const struct shot *s)
{
    if (s->closed == 0 && s->missing == 0 && s->unknown == 0)
        snprintf(buf, size, "all eyes open (%d face%s)", s->nfaces, s->nfaces == 1 ? "" : "s");
    else if (s->closed == 0 && s->missing == 0)
        snprintf(buf, size, "no closed eyes (%d face%s, %d not judged)", s->nfaces,
                 s->nfaces == 1 ? "" : "s", s->unknown);
    else if (s->closed == 0)
        snprintf(buf, size, "no closed eyes, but %d of %d face%s missing%s%s", s->missing,
                 s->nfaces + s->missing, s->nfaces + s->missing == 1 ? "" : "s",
                 s->who[0] ? ": " : "", s->who);
    else
        snprintf(buf, size, "%d closed-eye face%s of %d%s%s%s%s", s->closed,
                 s->closed == 1 ? "" : "s", s->nfaces + s->missing,
                 s->blinks ? " (closing against the other takes)" : "",
                 s->missing ? ", some faces not found" : "", s->who[0] ? ": " : "", s->who);
}

void pho_organize__choose_best(struct pho_group_plan *g, const struct pho_photo *photos,
                               const struct pho_face_list *faces,
                               const struct pho_organize__identity *id)
{
    struct pho_organize__take_eyes *rel = NULL;
    struct shot best = { 0 }, second = { 0 };
    bool have_second = false;
    int expected = 0;
    bool any_faces = false;
    for (size_t k = 0; faces && k < g->count; k++) {
        const struct pho_face_list *fl = &faces[g->members[k]];
        if (fl->image_w && (int)fl->count > expected)
            expected = (int)fl->count;
    }
    any_faces = expected > 0;
    /* Who is in the group, by person, when the people are known. */
    int64_t present[64];
    size_t npresent =
            any_faces && id && id->persons
                    ? group_persons(present, PHO_ARRAY_LEN(present), g, faces, id->persons)
                    : 0;
    /* Each take's eyes against the same people's eyes in the other takes (blink.c). */
    if (any_faces && (rel = pho_calloc(g->count, sizeof(*rel))) != NULL)
        pho_organize__relative_eyes(g, faces, id, rel);
    for (size_t k = 0; k < g->count; k++) {
        size_t idx = g->members[k];
        struct shot s = { .idx = idx };
        const struct pho_photo *p = &photos[idx];
        double image_q = isfinite(p->quality.score) ? p->quality.score : 0;
        if (any_faces) {
            const struct pho_face_list *fl = &faces[idx];
            s.faces_known = fl->image_w != 0;
            s.nfaces = (int)fl->count;
            double q = 0, smile = 0;
            const int64_t *pp = npresent ? id->persons[idx] : NULL;
            for (size_t i = 0; i < fl->count; i++) {
                const struct pho_face *f = &fl->faces[i];
                s.closed += f->eyes_closed == 1;
                s.unknown += f->eyes_closed < 0;
                q += face_quality(f);
                smile += isfinite(f->smile) ? f->smile : 0.5;
                if (pp && f->eyes_closed == 1)
                    add_who(s.who, sizeof(s.who), name_of(id, pp[i]), "'s eyes closed");
            }
            /* A person of the group this take lacks is missing, whoever stands in. */
            int absent = 0;
            for (size_t j = 0; j < npresent; j++) {
                bool here = false;
                for (size_t i = 0; pp && i < fl->count && !here; i++)
                    here = pp[i] == present[j];
                if (!here && s.faces_known) {
                    absent++;
                    add_who(s.who, sizeof(s.who), name_of(id, present[j]), " missing");
                }
            }
            if (rel) {
                s.blinks = rel[k].blinks;
                s.closed += s.blinks;
                s.openness = rel[k].openness;
            } else {
                s.openness = 1;
            }
            s.missing = expected > s.nfaces ? expected - s.nfaces : 0;
            if (absent > s.missing)
                s.missing = absent;
            s.face_q = s.nfaces ? q / s.nfaces : 0;
            s.smile = s.nfaces ? smile / s.nfaces : 0;
            s.badness = s.closed + MISSING_FACE * s.missing + UNKNOWN_EYES * s.unknown;
            s.total = W_FACES * s.face_q + (1 - W_FACES) * image_q;
        } else {
            s.total = image_q;
        }
        if (k == 0 || compare(&s, &best, photos) < 0) {
            if (k > 0) {
                second = best;
                have_second = true;
            }
            best = s;
        } else if (!have_second || compare(&s, &second, photos) < 0) {
            second = s;
            have_second = true;
        }
    }
    pho_free(rel);
    g->best = best.idx;
    const char *next = have_second ? base_name(photos[second.idx].rel) : "-";
    if (!any_faces) {
        const struct pho_photo *b = &photos[best.idx];
        if (have_second && fabs(best.total - second.total) <= 1e-9)
            snprintf(g->why, sizeof(g->why),
                     "no faces; image quality ties with %s (%.3f): the earlier shot wins", next,
                     best.total);
        else
            snprintf(g->why, sizeof(g->why),
                     "no faces; highest image quality %.3f (next: %s, %.3f): sharpness %.0f, "
                     "clipped %.1f%%, noise %.1f",
                     best.total, next, have_second ? second.total : 0.0, b->quality.sharpness,
                     (b->quality.clipped_high + b->quality.clipped_low) * 100, b->quality.noise);
        return;
    }
    char mine[200], theirs[200];
    eyes_text(mine, sizeof(mine), &best);
    if (have_second && fabs(best.badness - second.badness) > 1e-9) {
        eyes_text(theirs, sizeof(theirs), &second);
        snprintf(g->why, sizeof(g->why), "%s, smile %.2f (next: %s, %s)", mine, best.smile, next,
                 theirs);
    } else if (have_second && fabs(best.total - second.total) > 1e-9) {
        snprintf(g->why, sizeof(g->why),
                 "%s; best faces and image: score %.3f, smile %.2f (next: %s, %.3f, smile %.2f)",
                 mine, best.total, best.smile, next, second.total, second.smile);
    } else {
        snprintf(g->why, sizeof(g->why), "%s; ties with %s: the earlier shot wins", mine, next);
    }
}
