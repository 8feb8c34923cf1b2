/* SPDX-License-Identifier: MIT */
/*
 * Stage: write, its XMP sidecars (docs/xmp.md). Each grouped photo gets a
 * sidecar with the decision (sidecar.c) beside its files in OUT, under
 * OUT/xmp/ on a --tag-only run, and beside the source photo when asked.
 *
 * A sidecar that is already there is merged into, never replaced: in OUT
 * when it is the user's (their tool wrote ratings into it), beside a source
 * always. The first time ours goes into someone else's sidecar, its content
 * is kept in NAME.xmp.photo-organizer-backup. A sidecar that is not XMP, or
 * not a regular file, is left as it is: one line, an entry in the report.
 */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "core/file.h"
#include "organize/internal.h"
#include "organize/outputs.h"
#include "organize/run.h"

/* A sidecar larger than this is not one we merge into (Lightroom's run to tens of KiB). */
#define SIDECAR_MAX (16u << 20)

struct entry {
    size_t member;
    char *out_name;       /* under originals/ */
    const char *src_path; /* the photo file it describes, as scanned */
    const char *src_rel;  /* below the source root */
    char *source;         /* its sidecar beside the source */
    bool source_bad;      /* that sidecar is there but cannot be merged (why: source_why) */
    char source_why[256];
    struct pho_organize__decision d;
};

struct pho_organize__sidecars {
    struct entry *v;
    size_t n;
    bool in_folders; /* written beside the group files (--xmp without --tag-only) */
};

void pho_organize__sidecars_free(struct pho_organize__sidecars *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        pho_free(s->v[i].out_name);
        pho_free(s->v[i].source);
    }
    pho_free(s->v);
    pho_free(s);
}

/* @path's folder joined with the sidecar name of its file. */
static char *beside(const char *path, enum pho_xmp_style style)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *name = pho_organize__sidecar_name(base, style);
    if (!name)
        return NULL;
    size_t n = (size_t)(base - path) + strlen(name) + 1;
    char *s = pho_malloc(n);
    if (s)
        snprintf(s, n, "%.*s%s", (int)(base - path), path, name);
    pho_free(name);
    return s;
}

static bool taken(const struct pho_organize__sidecars *s, const char *out_name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].out_name, out_name))
            return true;
    return false;
}

static int add(struct pho_organize__sidecars *s, const struct run *run,
               const struct pho_group_plan *g, size_t m, const char *name, size_t photo)
{
    const struct pho_xmp_opts *x = &run->o->xmp;
    const struct pho_photo *p = &run->r->photos[photo];
    struct entry *v = pho_reallocarray(s->v, s->n + 1, sizeof(*v));
    if (!v)
        return PHO_ENOMEM;
    s->v = v;
    struct entry *e = &v[s->n];
    *e = (struct entry){ .member = m, .src_path = p->path, .src_rel = p->rel };
    e->out_name = pho_organize__sidecar_name(name, x->style);
    /* Two shots of a group with one stem (IMG_1.JPG, IMG_1.PNG): name.ext keeps them apart. */
    if (e->out_name && taken(s, e->out_name)) {
        pho_free(e->out_name);
        e->out_name = pho_organize__sidecar_name(name, PHO_XMP_STYLE_NAME_EXT);
    }
    e->source = beside(p->path, x->style);
    if (!e->out_name || !e->source) {
        pho_free(e->out_name);
        pho_free(e->source);
        return PHO_ENOMEM;
    }
    pho_organize__decision(&e->d, run->r, g, m, x);
    s->n++;
    return 0;
}

static int slurp(char **text, size_t *len, const char *path, struct pho_err *err);

/* Whether the source's own sidecar (when there is one) can be merged into ours: when not,
 * it travels as it is and ours is not written in OUT (said once, at write time). */
static int check_source(struct entry *e)
{
    char *text, *out;
    size_t len, out_len;
    unsigned flags;
    struct pho_err err = PHO_ERR_INIT;
    int rc = slurp(&text, &len, e->source, &err);
    if (rc == 0 && text)
        rc = pho_organize__sidecar_merge(&out, &out_len, &flags, text, len, &e->d, &err);
    if (rc == 0 && text)
        pho_free(out);
    pho_free(text);
    if (rc == PHO_ENOMEM)
        return rc;
    e->source_bad = rc != 0;
    pho_strlcpy(e->source_why, err.msg, sizeof(e->source_why));
    return 0;
}

int pho_organize__sidecars_plan(struct pho_organize__sidecars **out, const struct run *run,
                                const struct pho_group_plan *g, bool for_output,
                                struct pho_err *err)
{
    *out = NULL;
    const struct pho_organize_opts *o = run->o;
    bool mirror = o->tag_only && (o->xmp.in_output || !o->xmp.beside_sources);
    if (!(o->xmp.in_output || o->xmp.beside_sources || mirror))
        return 0;
    struct pho_organize__sidecars *s = pho_calloc(1, sizeof(*s));
    int rc = s ? 0 : PHO_ENOMEM;
    if (s)
        s->in_folders = o->xmp.in_output && !o->tag_only;
    for (size_t m = 0; rc == 0 && m < g->count; m++) {
        size_t first = s->n;
        if (o->xmp.style == PHO_XMP_STYLE_NAME) {
            /* One per shot, named after its main file (Lightroom reads it for the RAW). */
            rc = add(s, run, g, m, g->names[m], g->members[m]);
        } else {
            for (size_t f = 0; rc == 0 && f < g->nfiles; f++)
                if (g->files[f].member == m && g->files[f].photo != SIZE_MAX)
                    rc = add(s, run, g, m, g->files[f].name, g->files[f].photo);
        }
        /* Only OUT's sidecars take a source's in; beside the sources each is read when
         * merged into. */
        for (size_t i = first; rc == 0 && for_output && i < s->n; i++)
            rc = check_source(&s->v[i]);
    }
    if (rc) {
        pho_organize__sidecars_free(s);
        return pho_err_set(err, PHO_ENOMEM, "xmp: out of memory");
    }
    *out = s;
    return 0;
}

bool pho_organize__sidecars_replace(const struct pho_organize__sidecars *s,
                                    const struct pho_group_file *f)
{
    if (!s || !s->in_folders || f->companion == SIZE_MAX)
        return false;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].member == f->member && !strcmp(s->v[i].out_name, f->name))
            return !s->v[i].source_bad;
    return false;
}

/* Reads a sidecar: 0 with *@text (caller frees; NULL and *@len 0 when there is none),
 * PHO_EINVAL when @path is not a regular file (a link is never read through), PHO_EIO. */
static int slurp(char **text, size_t *len, const char *path, struct pho_err *err)
{
    *text = NULL;
    *len = 0;
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : pho_err_set(err, PHO_EIO, "%s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return pho_err_set(err, PHO_EINVAL, "not a regular file (%s): left as it is",
                           S_ISLNK(st.st_mode) ? "a symbolic link" : pho_file__kind(st.st_mode));
    if ((uint64_t)st.st_size > SIDECAR_MAX)
        return pho_err_set(err, PHO_EINVAL, "larger than %u MiB: not a sidecar to merge into",
                           SIDECAR_MAX >> 20);
    int fd;
    int rc = pho_file__open_regular(&fd, &st, path, "sidecar", err);
    if (rc)
        return rc == PHO_ENOTFOUND ? (pho_err_clear(err), 0) : rc;
    char *buf = pho_malloc((size_t)st.st_size + 1);
    ssize_t n = buf ? pho_file__pread_full(fd, buf, (size_t)st.st_size, 0) : -1;
    int e = errno;
    close(fd);
    if (!buf)
        return pho_err_set(err, PHO_ENOMEM, "xmp: out of memory");
    if (n < 0) {
        pho_free(buf);
        return pho_err_set(err, PHO_EIO, "%s", strerror(e));
    }
    buf[n] = '\0';
    *text = buf;
    *len = (size_t)n;
    return 0;
}

/* One line and a report entry for a sidecar left alone; the run goes on. */
/* A sidecar's path as the report gives it: below SOURCE (@e's photo's root) or below OUT. */
static const char *shown(const struct entry *e, const char *path)
{
    size_t root = strlen(e->src_path) - strlen(e->src_rel);
    return strlen(path) > root && !strncmp(path, e->src_path, root) ? path + root : path;
}

static void not_written(struct run *run, const char *path, bool in_output, const char *why)
{
    /* Once per file, though both OUT's copy and the source's own may stumble on it. */
    for (size_t i = 0; i < run->r->nsidecar_issues; i++)
        if (!strcmp(run->r->sidecar_issues[i].path, path))
            return;
    pho_log(PHO_LOG_WARN, "xmp", "%s: %s; the decision for this photo is not written there", path,
            why);
    pho_organize__sidecar_issue(run->r, path, in_output, why);
}

static void counted(struct run *run, unsigned flags, bool written)
{
    run->r->sidecars_written += written;
    run->r->sidecars_unchanged += !written;
    run->r->sidecars_merged += written && (flags & PHO_SIDECAR_MERGED);
}

/* Keeps what @path held before ours first went into it, unless a backup is there already
 * (the oldest content is the one worth keeping). */
static int backup(struct run *run, const char *path, const char *text, size_t len,
                  struct pho_batch *stage, struct pho_err *err)
{
    size_t n = strlen(path) + sizeof(PHO_SIDECAR_BACKUP_SUFFIX);
    char *bak = pho_malloc(n);
    if (!bak)
        return pho_err_set(err, PHO_ENOMEM, "xmp: out of memory");
    snprintf(bak, n, "%s%s", path, PHO_SIDECAR_BACKUP_SUFFIX);
    struct stat st;
    int rc = 0;
    if (lstat(bak, &st) < 0 && errno == ENOENT) {
        rc = pho_organize__write_atomic(bak, text, len, NULL, stage, err);
        run->r->sidecars_backed_up += rc == 0;
    }
    pho_free(bak);
    return rc;
}

/* Makes the sidecar at @rel below OUT say @d: merged into the user's file there, else into
 * the source's sidecar @base (when there is one), else new. */
static int put_out(struct run *run, struct pho_organize__outputs *outs, const char *rel,
                   const char *base, const struct entry *en, struct pho_err *err)
{
    char *dst = pho_organize__join(run->out_dir, rel);
    if (!dst)
        return pho_err_set(err, PHO_ENOMEM, "xmp: out of memory");
    char *old = NULL, *text = NULL;
    size_t old_len = 0, len = 0;
    unsigned flags = 0;
    struct pho_err e = PHO_ERR_INIT;
    int rc = pho_organize__out_planned(outs, rel);
    struct stat st;
    bool there = rc == 0 && lstat(dst, &st) == 0;
    const struct pho_output_file *rec = pho_organize__out_recorded(outs, rel);
    bool ours = there && rec && pho_organize__out_still_ours(dst, rec);
    const char *from = there && !ours ? dst : base;
    if (rc == 0 && from)
        rc = slurp(&old, &old_len, from, &e);
    if (rc == 0)
        rc = pho_organize__sidecar_merge(&text, &len, &flags, old, old_len, &en->d, &e);
    if (rc == PHO_ENOMEM) {
        pho_err_set(err, PHO_ENOMEM, "%s", e.msg);
        goto out;
    }
    if (rc) {
        /* The user's file, or the source's sidecar, could not be taken in: left alone. */
        if (from == dst)
            not_written(run, rel, true, e.msg);
        else
            not_written(run, shown(en, base), false, e.msg);
        if (rec && there && !ours)
            rc = pho_catalog_output_forget(run->cat, rel, err); /* theirs now */
        else
            rc = 0;
        goto out;
    }
    struct pho_copy_info info;
    if (there && S_ISREG(st.st_mode) && pho_organize__out_holds(dst, text, len)) {
        counted(run, flags, false);
        if (!ours && pho_organize__sha256_file(dst, info.sha256, &info.size, err) == 0)
            rc = pho_catalog_output_put_mode(run->cat, rel, info.size, info.sha256,
                                             pho_link_mode_name(PHO_LINK_COPY), err);
        goto out;
    }
    if (there && !ours && (flags & PHO_SIDECAR_NEEDS_BACKUP))
        rc = backup(run, dst, old, old_len, outs->stage, err);
    if (rc == 0)
        rc = pho_organize__write_atomic(dst, text, len, &info, outs->stage, err);
    if (rc == 0)
        rc = outs->stage ? pho_organize__out_staged(outs, rel, &info, PHO_LINK_COPY, err)
                         : pho_organize__out_record(run, rel, &info, PHO_LINK_COPY, err);
    if (rc == 0)
        counted(run, flags, true);
out:
    pho_free(old);
    pho_free(text);
    pho_free(dst);
    return rc;
}

/* "a/b/IMG_1.JPG" -> "xmp/a/b/<sidecar name>". */
static char *mirror_rel(const char *src_rel, enum pho_xmp_style style)
{
    char *side = beside(src_rel, style);
    if (!side)
        return NULL;
    char *rel = pho_organize__join("xmp", side);
    pho_free(side);
    return rel;
}

int pho_organize__sidecars_write(struct run *run, struct pho_organize__outputs *outs,
                                 const struct pho_group_plan *g,
                                 const struct pho_organize__sidecars *s, struct pho_err *err)
{
    if (!s || !(run->o->xmp.in_output || run->o->tag_only))
        return 0;
    if (run->o->tag_only && !run->o->xmp.in_output && run->o->xmp.beside_sources)
        return 0; /* tag-only, beside the sources alone */
    int rc = 0;
    char rel[4096];
    for (size_t i = 0; rc == 0 && i < s->n; i++) {
        const struct entry *e = &s->v[i];
        if (e->source_bad) {
            /* The source's sidecar travels as it is (copied); ours is not written. */
            not_written(run, shown(e, e->source), false, e->source_why);
            continue;
        }
        struct stat st;
        /* The source's own sidecar of this name is taken in (it was not copied). */
        const char *base = lstat(e->source, &st) == 0 ? e->source : NULL;
        if (run->o->tag_only) {
            char *mrel = mirror_rel(e->src_rel, run->o->xmp.style);
            if (!mrel)
                return pho_err_set(err, PHO_ENOMEM, "xmp: out of memory");
            char *dir = pho_organize__join(run->out_dir, mrel);
            char *slash = dir ? strrchr(dir, '/') : NULL;
            if (slash)
                *slash = '\0';
            rc = dir ? pho_organize__mkdirs(dir, err)
                     : pho_err_set(err, PHO_ENOMEM, "xmp: out of memory");
            pho_free(dir);
            if (rc == 0)
                rc = put_out(run, outs, mrel, base, e, err);
            pho_free(mrel);
            continue;
        }
        snprintf(rel, sizeof(rel), "%s/originals/%s", g->dir, e->out_name);
        rc = put_out(run, outs, rel, base, e, err);
        if (rc == 0 && g->members[e->member] == g->best) {
            snprintf(rel, sizeof(rel), "%s/best_%s", g->dir, e->out_name);
            rc = put_out(run, outs, rel, base, e, err);
        }
    }
    return rc;
}

/* The sidecar beside one source photo: merged into what is there, backed up the first time. */
static int put_source(struct run *run, const char *path, const struct entry *en,
                      struct pho_err *err)
{
    char *old = NULL, *text = NULL;
    size_t old_len = 0, len = 0;
    unsigned flags = 0;
    struct pho_err e = PHO_ERR_INIT;
    int rc = slurp(&old, &old_len, path, &e);
    if (rc == 0)
        rc = pho_organize__sidecar_merge(&text, &len, &flags, old, old_len, &en->d, &e);
    if (rc == 0 && old && old_len == len && !memcmp(old, text, len)) {
        counted(run, flags, false);
    } else if (rc == 0) {
        if (old && (flags & PHO_SIDECAR_NEEDS_BACKUP))
            rc = backup(run, path, old, old_len, NULL, &e);
        if (rc == 0)
            rc = pho_organize__write_atomic(path, text, len, NULL, NULL, &e);
        if (rc == 0)
            counted(run, flags, true);
    }
    if (rc == PHO_ENOMEM)
        pho_err_set(err, PHO_ENOMEM, "%s", e.msg);
    else if (rc)
        not_written(run, shown(en, path), false,
                    e.msg); /* a read-only folder, not XMP, ...: the run goes on */
    pho_free(old);
    pho_free(text);
    return rc == PHO_ENOMEM ? rc : 0;
}

int pho_organize__source_sidecars(struct run *run, struct pho_err *err)
{
    if (!run->o->xmp.beside_sources || run->o->dry_run)
        return 0;
    /* Two photos of one folder with one stem would share IMG_1.xmp: the later gets
     * IMG_1.JPG.xmp. */
    GHashTable *used = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int rc = 0;
    for (size_t gi = 0; rc == 0 && gi < run->r->ngroups; gi++) {
        const struct pho_group_plan *g = &run->r->groups[gi];
        struct pho_organize__sidecars *s;
        rc = pho_organize__sidecars_plan(&s, run, g, false, err);
        for (size_t i = 0; rc == 0 && s && i < s->n; i++) {
            const struct entry *e = &s->v[i];
            char *path = g_hash_table_contains(used, e->source)
                                 ? beside(e->src_path, PHO_XMP_STYLE_NAME_EXT)
                                 : pho_strdup(e->source);
            if (!path) {
                rc = pho_err_set(err, PHO_ENOMEM, "xmp: out of memory");
                break;
            }
            g_hash_table_add(used, g_strdup(path));
            rc = put_source(run, path, e, err);
            pho_free(path);
        }
        pho_organize__sidecars_free(s);
    }
    g_hash_table_destroy(used);
    return rc;
}
