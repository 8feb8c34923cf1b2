/* SPDX-License-Identifier: MIT */
/*
 * A group's plan: its folder, its members and the names every file of their
 * shots gets under originals/. A shot keeps its files' names when it can;
 * when one of them clashes with a file already named in the group (two
 * IMG_0001 from different folders), the whole shot is renamed alike:
 * IMG_0001_2.JPG, IMG_0001_2.DNG, IMG_0001_2.xmp, IMG_0001_2.JPG.json, so
 * sidecars still name their photo (docs/shots.md).
 */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "organize/run.h"
#include "pho/shot.h"

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Length of @name before its last '.' (all of it when none, or only a leading one). */
static size_t stem_len(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? (size_t)(dot - name) : strlen(name);
}

/* "name.jpg" -> "name_2.jpg" for the n-th clash. Caller frees. */
static char *numbered(const char *name, int n)
{
    size_t stem = stem_len(name);
    size_t len = strlen(name) + 16;
    char *s = pho_malloc(len);
    if (s)
        snprintf(s, len, "%.*s_%d%s", (int)stem, name, n, name + stem);
    return s;
}

/* @name, shortened when it would not fit OUT (pho_organize__fit_name). Takes @name. */
static char *fitted(char *name)
{
    if (!name || strlen(name) <= PHO_OUT_NAME_MAX)
        return name;
    bool shortened;
    char *fit = pho_organize__fit_name(name, PHO_OUT_NAME_MAX, &shortened);
    pho_free(name);
    return fit;
}

/* One file of a shot, before it is named. */
struct src {
    const char *rel;
    size_t photo, companion;
    int kind; /* companions: enum pho_companion_kind */
};

struct names {
    char **v; /* every name given in the group so far */
    size_t n, cap;
};

static bool taken(const struct names *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->v[i], name))
            return true;
    return false;
}

/*
 * Names the @n files of one shot for attempt @attempt (1: their own names, then
 * numbered): @out[0] is the main file's. The main file's name is fitted to OUT; a
 * file whose name starts with the main file's stem keeps what follows it.
 */
static int name_shot(char **out, const struct src *files, size_t n, int attempt)
{
    const char *main_base = base_name(files[0].rel);
    bool shortened = false;
    char *main_fit = pho_organize__fit_name(main_base, PHO_OUT_NAME_MAX, &shortened);
    if (!main_fit)
        return PHO_ENOMEM;
    out[0] = attempt == 1 ? main_fit : fitted(numbered(main_fit, attempt));
    if (attempt != 1)
        pho_free(main_fit);
    if (!out[0])
        return PHO_ENOMEM;
    size_t src_stem = stem_len(main_base), out_stem = stem_len(out[0]);
    bool renamed = strcmp(out[0], main_base) != 0;
    for (size_t i = 1; i < n; i++) {
        const char *b = base_name(files[i].rel);
        char *name;
        if (!renamed) {
            name = pho_strdup(b);
        } else if (strncasecmp(b, main_base, src_stem) == 0 &&
                   (b[src_stem] == '.' || !b[src_stem])) {
            size_t len = out_stem + strlen(b + src_stem) + 1;
            name = pho_malloc(len);
            if (name)
                snprintf(name, len, "%.*s%s", (int)out_stem, out[0], b + src_stem);
        } else if (files[i].kind == PHO_COMPANION_TAKEOUT) {
            /* A shortened Takeout name: the full form names the renamed photo. */
            size_t len = strlen(out[0]) + 6;
            name = pho_malloc(len);
            if (name)
                snprintf(name, len, "%s.json", out[0]);
        } else {
            name = numbered(b, attempt > 1 ? attempt : 2);
        }
        if (!(out[i] = fitted(name)))
            return PHO_ENOMEM;
    }
    return 0;
}

/* The files of @main's shot: the main file, its parts, and every one's companions. */
static int shot_files(struct src **out, size_t *n, const struct pho_organize_result *r, size_t main)
{
    size_t cap = 0;
    *n = 0;
    for (size_t p = main; p != SIZE_MAX; p = r->shot_next ? r->shot_next[p] : SIZE_MAX) {
        size_t nc;
        const struct pho_companion *c = pho_organize_companions(r, p, &nc);
        if (*n + 1 + nc > cap) {
            cap = (*n + 1 + nc) * 2;
            struct src *v = pho_reallocarray(*out, cap, sizeof(**out));
            if (!v)
                return PHO_ENOMEM;
            *out = v;
        }
        (*out)[(*n)++] = (struct src){ r->photos[p].rel, p, SIZE_MAX, 0 };
        for (size_t k = 0; k < nc; k++)
            (*out)[(*n)++] =
                    (struct src){ c[k].rel, SIZE_MAX, (size_t)(c + k - r->companions), c[k].kind };
    }
    return 0;
}

int pho_organize__plan_group(struct pho_group_plan *g, const struct pho_organize_result *r,
                             const size_t *members, size_t count, size_t index)
{
    snprintf(g->dir, sizeof(g->dir), "group_%04zu", index + 1);
    g->count = count;
    g->members = pho_calloc(count, sizeof(*g->members));
    g->names = pho_calloc(count, sizeof(*g->names));
    if (!g->members || !g->names)
        return PHO_ENOMEM;
    struct names t = { 0 };
    struct src *files = NULL;
    char **cand = NULL;
    size_t ncand = 0, cap_cand = 0;
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < count; k++) {
        g->members[k] = members[k];
        size_t n = 0;
        rc = shot_files(&files, &n, r, members[k]);
        if (rc == 0 && n > cap_cand) {
            char **v = pho_reallocarray(cand, n, sizeof(*cand));
            if (v) {
                cand = v;
                cap_cand = n;
            } else {
                rc = PHO_ENOMEM;
            }
        }
        /* Same name from different folders: the later shot is numbered, in member order. */
        for (int attempt = 1; rc == 0; attempt++) {
            memset(cand, 0, n * sizeof(*cand));
            ncand = n;
            rc = name_shot(cand, files, n, attempt);
            bool clash = false;
            for (size_t i = 0; rc == 0 && i < n && !clash; i++) {
                clash = taken(&t, cand[i]);
                for (size_t j = 0; j < i && !clash; j++)
                    clash = !strcmp(cand[i], cand[j]);
            }
            if (rc || !clash || attempt > 10000)
                break;
            for (size_t i = 0; i < n; i++)
                pho_free(cand[i]);
            ncand = 0;
        }
        if (rc)
            break;
        /* Taken: the names move into the plan. */
        struct pho_group_file *gf = pho_reallocarray(g->files, g->nfiles + n, sizeof(*gf));
        char **tv = t.n + n > t.cap ? pho_reallocarray(t.v, (t.n + n) * 2, sizeof(*tv)) : t.v;
        if (!gf || !tv) {
            if (gf)
                g->files = gf;
            if (tv && tv != t.v) {
                t.v = tv;
                t.cap = (t.n + n) * 2;
            }
            rc = PHO_ENOMEM;
            break;
        }
        g->files = gf;
        if (tv != t.v) {
            t.v = tv;
            t.cap = (t.n + n) * 2;
        }
        g->names[k] = pho_strdup(cand[0]);
        if (!g->names[k]) {
            rc = PHO_ENOMEM;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            g->files[g->nfiles++] =
                    (struct pho_group_file){ k, files[i].photo, files[i].companion, cand[i] };
            t.v[t.n++] = cand[i];
            cand[i] = NULL;
        }
        ncand = 0;
    }
    for (size_t i = 0; i < ncand; i++)
        pho_free(cand[i]);
    pho_free(cand);
    pho_free(files);
    pho_free(t.v); /* the strings belong to g->files */
    g->best = members[0];
    return rc;
}
