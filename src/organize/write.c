/* SPDX-License-Identifier: MIT */
/*
 * Stage: write. Copies, best_ files and metadata.txt of every group, each
 * written atomically and only when ours to write (docs/catalog.md: whose files
 * are in OUT); outputs of earlier runs that no longer belong are removed when
 * still ours; then the report.
 */
#include "core/common.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "organize/internal.h"
#include "organize/outputs.h"
#include "organize/pipeline.h"
#include "organize/run.h"
#include "pho/face.h"
#include "pho/group.h"
#include "pho/image.h"
#include "pho/parallel.h"
#include "pho/quality.h"
#include "pho/scan.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

const struct pho_output_file *pho_organize__out_recorded(const struct pho_organize__outputs *outs,
                                                         const char *rel)
{
    size_t lo = 0, hi = outs->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(outs->files[mid].rel, rel);
        if (c == 0)
            return &outs->files[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int pho_organize__out_planned(struct pho_organize__outputs *outs, const char *rel)
{
    if (outs->nplanned == outs->cap) {
        size_t cap = outs->cap ? outs->cap * 2 : 256;
        char **p = pho_reallocarray(outs->planned, cap, sizeof(*p));
        if (!p)
            return PHO_ENOMEM;
        outs->planned = p;
        outs->cap = cap;
    }
    if (!(outs->planned[outs->nplanned] = pho_strdup(rel)))
        return PHO_ENOMEM;
    outs->nplanned++;
    return 0;
}

/* True when @path holds exactly @len bytes equal to @text. */
bool pho_organize__out_holds(const char *path, const char *text, size_t len)
{
    FILE *f = pho_file__fopen_regular(path, "output", NULL);
    if (!f)
        return false;
    bool same = true;
    char buf[8192];
    size_t off = 0, n;
    while (same && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
        same = off + n <= len && memcmp(buf, text + off, n) == 0;
        off += n;
    }
    fclose(f);
    return same && off == len;
}

/* What a file that is about to be written must be to count as ours already. */
struct want {
    const char *src;  /* a copy or link of this file, or */
    const char *text; /* this text */
    size_t len;
    enum pho_link_mode mode; /* how a source is made (text: always written) */
    const char *target;      /* PHO_LINK_SYMLINK: the link's text */
    struct stat src_st;      /* the source, as found (hard links: its identity) */
};

static bool same_inode(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Whether the symbolic link @path says exactly @target. */
static bool link_says(const char *path, const char *target)
{
    char buf[4096];
    ssize_t n = readlink(path, buf, sizeof(buf) - 1);
    if (n < 0)
        return false;
    buf[n] = '\0';
    return !strcmp(buf, target);
}

/* Whether @dst (lstat @st) already is what @w would make. @dst_sum: the SHA-256 of a regular
 * file at @dst, or NULL when it was not read. Never follows a link to read through it. */
static bool holds_wanted(const char *dst, const struct stat *st, const char *dst_sum,
                         const struct want *w)
{
    if (w->text)
        return S_ISREG(st->st_mode) && pho_organize__out_holds(dst, w->text, w->len);
    if (w->mode == PHO_LINK_SYMLINK)
        return S_ISLNK(st->st_mode) && link_says(dst, w->target);
    if (!S_ISREG(st->st_mode))
        return false;
    if (w->mode == PHO_LINK_HARDLINK)
        return same_inode(st, &w->src_st);
    /* A copy (or reflink) is its own file: a hard link to the source is not one. */
    char src_sum[65];
    uint64_t n;
    return !same_inode(st, &w->src_st) && dst_sum &&
           pho_organize__sha256_file(w->src, src_sum, &n, NULL) == 0 && !strcmp(dst_sum, src_sum);
}

/* A copy or a reflink (what auto makes): a file of its own, alike to every reader. */
static bool is_copy_kind(enum pho_link_mode m)
{
    return m == PHO_LINK_AUTO || m == PHO_LINK_COPY || m == PHO_LINK_REFLINK;
}

/* The output kind a catalog mode name stands for. */
static enum pho_link_mode recorded_kind(const struct pho_output_file *f)
{
    enum pho_link_mode m = PHO_LINK_COPY;
    return pho_link_mode_parse(&m, f->mode) == 0 ? m : PHO_LINK_COPY;
}

/* Whether the output @f recorded is still as this program made it (so it may be replaced or
 * removed): its fingerprint of the recorded kind matches. */
bool pho_organize__out_still_ours(const char *path, const struct pho_output_file *f)
{
    char sum[65];
    uint64_t size = 0;
    return pho_organize__fingerprint(path, recorded_kind(f), sum, &size, NULL) == 0 &&
           size == f->size && !strcmp(sum, f->sha256);
}

/* The relative path from the folder of @from to @to (both absolute, canonical). Caller
 * frees; NULL on OOM. */
static char *relative_to(const char *from, const char *to)
{
    const char *slash = strrchr(from, '/');
    size_t dir_len = slash ? (size_t)(slash - from) : 0;
    /* The longest common folder prefix. */
    size_t common = 0;
    for (size_t i = 0; i <= dir_len && to[i]; i++) {
        if (from[i] != to[i])
            break;
        if (i == dir_len || from[i] == '/')
            common = i;
    }
    if (common == dir_len && to[dir_len] != '/')
        common = 0;
    size_t ups = 0;
    for (size_t i = common; i < dir_len; i++)
        ups += from[i] == '/';
    const char *rest = to + common + (to[common] == '/');
    size_t n = ups * 3 + strlen(rest) + 1;
    char *s = pho_malloc(n);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < ups; i++)
        pho_strlcpy(s + 3 * i, "../", n - 3 * i);
    pho_strlcpy(s + 3 * ups, rest, n - 3 * ups);
    return s;
}

/* Makes @dst as @w says, atomically; *@made: how (auto settles on reflink or copy). */
static int write_wanted(struct run *run, const char *dst, const struct want *w,
                        struct pho_copy_info *info, enum pho_link_mode *made,
                        struct pho_batch *stage, struct pho_err *err)
{
    *made = PHO_LINK_COPY;
    if (w->text)
        return pho_organize__write_atomic(dst, w->text, w->len, info, stage, err);
    switch (w->mode) {
    case PHO_LINK_HARDLINK:
        *made = PHO_LINK_HARDLINK;
        return pho_organize__hardlink(w->src, dst, info, stage, err);
    case PHO_LINK_SYMLINK:
        *made = PHO_LINK_SYMLINK;
        return pho_organize__symlink_to(w->target, dst, info, stage, err);
    case PHO_LINK_REFLINK:
        *made = PHO_LINK_REFLINK;
        return pho_organize__reflink(w->src, dst, info, stage, err);
    case PHO_LINK_AUTO:
        if (!run->no_reflink) {
            int rc = pho_organize__reflink(w->src, dst, info, stage, err);
            if (rc != PHO_EUNSUPPORTED) {
                *made = PHO_LINK_REFLINK;
                return rc;
            }
            /* This filesystem cannot: copies from now on, without asking again. */
            pho_err_clear(err);
            run->no_reflink = true;
        }
        break;
    case PHO_LINK_COPY:
        break;
    }
    return pho_organize__copy(w->src, dst, info, stage, err);
}

/* "dir/best_x.jpg" -> "dir/best_x.photo-organizer.jpg" (n = 1), "...photo-organizer-2.jpg". */
static void beside_name(char *out, size_t size, const char *rel, int n)
{
    const char *slash = strrchr(rel, '/');
    const char *base = slash ? slash + 1 : rel;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - rel) : strlen(rel);
    char tag[32] = ".photo-organizer";
    if (n > 1)
        snprintf(tag, sizeof(tag), ".photo-organizer-%d", n);
    snprintf(out, size, "%.*s%s%s", (int)stem, rel, tag, rel + stem);
}

/*
 * Files in OUT are the user's unless this program wrote them and they are
 * still as it wrote them (docs/catalog.md). Finds where this run's file for
 * @rel goes: @rel itself when nothing is there, when the file there is ours
 * and unchanged, or when it already holds exactly what would be written
 * (then *@same). A file the catalog did not write, or one changed since, is
 * kept: ours goes beside it (beside_name), the user is told, and the report
 * lists it. Writes the rel used to @used; returns the full path (caller
 * frees) or NULL on OOM.
 */
static char *claim(struct run *run, struct pho_organize__outputs *outs, const char *rel,
                   const struct want *w, char *used, size_t used_size, bool *same,
                   struct pho_err *err)
{
    *same = false;
    for (int n = 0; n < 100; n++) {
        if (n == 0)
            pho_strlcpy(used, rel, used_size);
        else
            beside_name(used, used_size, rel, n);
        char *dst = pho_organize__join(run->out_dir, used);
        if (!dst)
            break;
        struct stat st;
        if (lstat(dst, &st) < 0 && errno == ENOENT)
            return dst;
        const struct pho_output_file *old = pho_organize__out_recorded(outs, used);
        /* A regular file's content hash, read once, when a copy is compared with its source. */
        char sum[65];
        uint64_t size = 0;
        bool hashed = S_ISREG(st.st_mode) && !w->text && is_copy_kind(w->mode) &&
                      !same_inode(&st, &w->src_st) &&
                      pho_organize__sha256_file(dst, sum, &size, NULL) == 0;
        if (holds_wanted(dst, &st, hashed ? sum : NULL, w)) {
            *same = true;
            return dst;
        }
        if (old && pho_organize__out_still_ours(dst, old))
            return dst; /* ours, as made: may be replaced (also by another kind of output) */
        if (n == 0) {
            /* Kept: not written by us, or changed since. No longer ours. */
            if (old && pho_catalog_output_forget(run->cat, used, err) < 0) {
                pho_free(dst);
                return NULL;
            }
            char ours[4096];
            beside_name(ours, sizeof(ours), rel, 1);
            pho_organize__kept(run->r, rel, ours);
            /* The user's now: not a stale output of ours to warn about again. */
            if (pho_organize__out_planned(outs, rel) != 0) {
                pho_free(dst);
                pho_err_set(err, PHO_ENOMEM, "output: out of memory");
                return NULL;
            }
            pho_log(PHO_LOG_WARN, "output",
                    "%s was not written by photo-organizer or was changed since: kept as it is; "
                    "this run's version is written beside it",
                    rel);
        }
        pho_free(dst);
    }
    pho_err_set(err, PHO_EEXIST, "output: %s: no free name beside the user's file", rel);
    return NULL;
}

/* A file this run made is in place: the catalog records it, the counts say how. */
int pho_organize__out_record(struct run *run, const char *rel, const struct pho_copy_info *info,
                             enum pho_link_mode kind, struct pho_err *err)
{
    int rc = pho_catalog_output_put_mode(run->cat, rel, info->size, info->sha256,
                                         pho_link_mode_name(kind), err);
    if (rc == 0) {
        run->r->files_written++;
        run->r->files_reflinked += kind == PHO_LINK_REFLINK;
        run->r->files_hardlinked += kind == PHO_LINK_HARDLINK;
        run->r->files_symlinked += kind == PHO_LINK_SYMLINK;
    }
    return rc;
}

/* Makes @w at @rel, or beside the user's file there (claim), unless what it holds is
 * already right; records ours in the catalog (at once, or once the group's batch is in
 * place). */
static int put_wanted(struct run *run, struct pho_organize__outputs *outs, const char *rel,
                      const struct want *w, struct pho_err *err)
{
    char used[4096];
    bool identical;
    char *dst = claim(run, outs, rel, w, used, sizeof(used), &identical, err);
    if (!dst)
        return err && err->code ? err->code : PHO_ENOMEM;
    int rc = pho_organize__out_planned(outs, used) == 0
                     ? 0
                     : pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    struct pho_copy_info info;
    enum pho_link_mode kind = w->text ? PHO_LINK_COPY : w->mode;
    if (rc == 0 && identical) {
        run->r->files_unchanged++;
        /* A copy and a reflink look alike: what the catalog says stands. */
        const struct pho_output_file *old = pho_organize__out_recorded(outs, used);
        if (old && is_copy_kind(kind) && is_copy_kind(recorded_kind(old)))
            kind = recorded_kind(old);
        else if (kind == PHO_LINK_AUTO)
            kind = PHO_LINK_COPY;
        if ((!old || recorded_kind(old) != kind) &&
            pho_organize__fingerprint(dst, kind, info.sha256, &info.size, err) == 0)
            rc = pho_catalog_output_put_mode(run->cat, used, info.size, info.sha256,
                                             pho_link_mode_name(kind), err);
    } else if (rc == 0) {
        rc = write_wanted(run, dst, w, &info, &kind, outs->stage, err);
        if (rc == 0 && outs->stage) {
            rc = pho_organize__out_staged(outs, used, &info, kind, err);
        } else if (rc == 0) {
            rc = pho_organize__out_record(run, used, &info, kind, err);
        }
    }
    pho_free(dst);
    return rc;
}

int pho_organize__out_staged(struct pho_organize__outputs *outs, const char *rel,
                             const struct pho_copy_info *info, int kind, struct pho_err *err)
{
    /* Recorded once it is in place (record_placed). */
    struct pho_batched *e = &outs->stage->v[outs->stage->n - 1];
    e->info = *info;
    e->kind = kind;
    if (!(e->rel = pho_strdup(rel)))
        return pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    return 0;
}

/* Records the staged files that are in place, as record_made does. */
int pho_organize__out_record_placed(struct run *run, const struct pho_batch *stage,
                                    struct pho_err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < stage->n; i++)
        if (stage->v[i].placed && stage->v[i].rel)
            rc = pho_organize__out_record(run, stage->v[i].rel, &stage->v[i].info,
                                          (enum pho_link_mode)stage->v[i].kind, err);
    return rc;
}

/* A source file: a photo or a companion. */
struct source {
    const char *path;
    uint64_t size;
    int64_t mtime_ns;
};

/* put_copy's body: the checks that need no hashing (a link already in place, a copy of the
 * same size and time), then put_wanted. */
static int put_file(struct run *run, struct pho_organize__outputs *outs, const struct source *p,
                    const char *rel, const char *dst, const struct pho_output_file *old,
                    const struct want *w, struct pho_err *err)
{
    struct stat st;
    bool there = lstat(dst, &st) == 0;
    bool link_done =
            there && old &&
            ((w->mode == PHO_LINK_HARDLINK && S_ISREG(st.st_mode) && same_inode(&st, &w->src_st)) ||
             (w->mode == PHO_LINK_SYMLINK && S_ISLNK(st.st_mode) && link_says(dst, w->target)));
    if (link_done && recorded_kind(old) == w->mode) {
        run->r->files_unchanged++;
        return pho_organize__out_planned(outs, rel) == 0
                       ? 0
                       : pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    }
    if (is_copy_kind(w->mode) && old && is_copy_kind(recorded_kind(old)) && old->size == p->size &&
        there && S_ISREG(st.st_mode) && !same_inode(&st, &w->src_st) &&
        (uint64_t)st.st_size == p->size && st.st_mtim.tv_sec == p->mtime_ns / 1000000000) {
        /* Size and time agree. That is enough on an ordinary run; --force-fresh
         * promises to redo everything, so there the copy is compared with its
         * source by content (an edit can keep both size and mtime). */
        char want[65], got[65];
        uint64_t n;
        bool same = !run->o->force_fresh ||
                    (pho_organize__sha256_file(p->path, want, &n, NULL) == 0 &&
                     pho_organize__sha256_file(dst, got, &n, NULL) == 0 && !strcmp(want, got));
        if (same) {
            run->r->files_unchanged++;
            return pho_organize__out_planned(outs, rel) == 0
                           ? 0
                           : pho_err_set(err, PHO_ENOMEM, "output: out of memory");
        }
    }
    return put_wanted(run, outs, rel, w, err);
}

/* Makes one source file at @rel as --link says, unless an earlier run's is already right. */
static int put_copy(struct run *run, struct pho_organize__outputs *outs, const struct source *p,
                    const char *rel, struct pho_err *err)
{
    const struct pho_output_file *old = pho_organize__out_recorded(outs, rel);
    struct want w = { .src = p->path, .mode = run->o->link };
    if (stat(p->path, &w.src_st) < 0)
        return pho_err_set(err, PHO_EIO, "output: source %s: %s", p->path, strerror(errno));
    char *dst = pho_organize__join(run->out_dir, rel);
    char *real = NULL, *target = NULL;
    if (dst && w.mode == PHO_LINK_SYMLINK) {
        /* Relative, so OUT and the library can move together. */
        real = realpath(p->path, NULL);
        target = real ? relative_to(dst, real) : NULL;
        w.target = target;
    }
    if (!dst || (w.mode == PHO_LINK_SYMLINK && !target)) {
        free(real);
        pho_free(target);
        pho_free(dst);
        return pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    }
    int rc = put_file(run, outs, p, rel, dst, old, &w, err);
    free(real);
    pho_free(target);
    pho_free(dst);
    return rc;
}

int pho_organize__out_put_data(struct run *run, struct pho_organize__outputs *outs,
                               const void *data, size_t len, const char *rel, struct pho_err *err)
{
    struct want w = { .text = data, .len = len, .mode = PHO_LINK_COPY };
    return put_wanted(run, outs, rel, &w, err);
}

int pho_organize__out_put_file(struct run *run, struct pho_organize__outputs *outs,
                               const char *path, uint64_t size, int64_t mtime_ns, const char *rel,
                               struct pho_err *err)
{
    struct source src = { path, size, mtime_ns };
    return put_copy(run, outs, &src, rel, err);
}

static int write_group(struct run *run, struct pho_organize__outputs *outs,
                       struct pho_group_plan *g, struct pho_err *err)
{
    const struct pho_organize_result *r = run->r;
    bool folders = !run->o->tag_only; /* --tag-only: the decisions alone */
    char rel[4096];
    snprintf(rel, sizeof(rel), "%s/originals", g->dir);
    char *dir = pho_organize__join(run->out_dir, rel);
    if (!dir)
        return pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    int rc = folders ? pho_organize__mkdirs(dir, err) : 0;
    pho_free(dir);
    if (rc)
        return rc;
    struct pho_organize__sidecars *sidecars;
    rc = pho_organize__sidecars_plan(&sidecars, run, g, true, err);
    if (rc == 0)
        rc = pho_catalog_begin(run->cat, err);
    if (rc) {
        pho_organize__sidecars_free(sidecars);
        return rc;
    }
    /* A file that cannot be written ends this group's writing, not the run;
     * what was written is still committed, so the catalog matches OUT. The group's files
     * are written to temporaries and put in place together (pho_organize__batch_commit). */
    int frc = 0;
    struct pho_err ferr = PHO_ERR_INIT;
    struct pho_batch stage = { 0 };
    outs->stage = &stage;
    /* Every file of every member's shot; the best shot's files also as best_. */
    for (size_t f = 0; frc == 0 && folders && f < g->nfiles; f++) {
        const struct pho_group_file *gf = &g->files[f];
        struct source src;
        /* A source sidecar that ours takes in (merged) is not copied as it is. */
        bool merged = pho_organize__sidecars_replace(sidecars, gf);
        if (gf->photo != SIZE_MAX) {
            const struct pho_photo *p = &r->photos[gf->photo];
            src = (struct source){ p->path, p->size, p->mtime_ns };
        } else {
            const struct pho_companion *c = &r->companions[gf->companion];
            src = (struct source){ c->path, c->size, c->mtime_ns };
        }
        snprintf(rel, sizeof(rel), "%s/originals/%s", g->dir, gf->name);
        frc = merged ? 0 : put_copy(run, outs, &src, rel, &ferr);
        if (frc == 0 && !merged && g->members[gf->member] == g->best) {
            snprintf(rel, sizeof(rel), "%s/best_%s", g->dir, gf->name);
            frc = put_copy(run, outs, &src, rel, &ferr);
        }
        if (f + 1 == g->nfiles || g->files[f + 1].member != gf->member)
            pho_organize__step_done(run, 1, r->photos[g->members[gf->member]].rel);
    }
    if (frc == 0)
        frc = pho_organize__sidecars_write(run, outs, g, sidecars, &ferr);
    if (!folders)
        pho_organize__step_done(run, g->count, r->photos[g->best].rel);
    /* The repaired best shot, before metadata.txt, which tells of it. */
    if (frc == 0 && folders && run->o->face_swap)
        frc = pho_organize__swap_write(run, outs, g, &ferr);
    if (frc == 0 && folders) {
        char *text = pho_organize__metadata_txt(r, g);
        snprintf(rel, sizeof(rel), "%s/metadata.txt", g->dir);
        frc = text ? pho_organize__out_put_data(run, outs, text, strlen(text), rel, &ferr)
                   : pho_err_set(&ferr, PHO_ENOMEM, "output: out of memory");
        pho_free(text);
    }
    outs->stage = NULL;
    pho_organize__sidecars_free(sidecars);
    /* What was made goes in place even when a later file failed: it is complete. */
    int src = pho_organize__batch_commit(&stage, run->out_dir, frc ? NULL : &ferr);
    if (src && !frc)
        frc = src;
    rc = pho_organize__out_record_placed(run, &stage, err);
    pho_organize__batch_discard(&stage);
    if (rc)
        return rc; /* the catalog is unusable: the run ends, the transaction is dropped */
    rc = pho_catalog_commit(run->cat, err);
    if (rc == 0 && frc) {
        pho_err_set(err, frc, "%s", ferr.msg);
        rc = frc;
    }
    return rc;
}

/* Removes what earlier runs wrote and this plan no longer contains, unless the user changed it. */
static int remove_stale(struct run *run, struct pho_organize__outputs *outs, struct pho_err *err)
{
    if (outs->nplanned)
        qsort(outs->planned, outs->nplanned, sizeof(*outs->planned), cmp_str);
    int rc = pho_catalog_begin(run->cat, err);
    for (size_t i = 0; rc == 0 && i < outs->count; i++) {
        const struct pho_output_file *f = &outs->files[i];
        const char *key = f->rel;
        if (outs->nplanned &&
            bsearch(&key, outs->planned, outs->nplanned, sizeof(*outs->planned), cmp_str))
            continue;
        char *path = pho_organize__join(run->out_dir, f->rel);
        if (!path) {
            rc = pho_err_set(err, PHO_ENOMEM, "output: out of memory");
            break;
        }
        struct stat st;
        bool gone = lstat(path, &st) < 0 && errno == ENOENT;
        if (gone || pho_organize__out_still_ours(path, f)) {
            /* unlink removes a link itself, never what it points at */
            if (!gone && unlink(path) == 0)
                run->r->files_removed++;
            rc = pho_catalog_output_forget(run->cat, f->rel, err);
            /* Empty group folders go too; rmdir refuses non-empty ones. */
            char *slash;
            while (rc == 0 && (slash = strrchr(path, '/')) && slash > path + strlen(run->out_dir)) {
                *slash = '\0';
                if (rmdir(path) < 0)
                    break;
            }
        } else {
            pho_log(PHO_LOG_WARN, "output",
                    "%s was changed after an earlier run wrote it; it is no longer part of the "
                    "result but is kept",
                    path);
        }
        pho_free(path);
    }
    if (rc == 0)
        rc = pho_catalog_commit(run->cat, err);
    return rc;
}

static void outputs_release(struct pho_organize__outputs *outs)
{
    pho_catalog_outputs_free(outs->files, outs->count);
    for (size_t i = 0; i < outs->nplanned; i++)
        pho_free(outs->planned[i]);
    pho_free(outs->planned);
}

int pho_organize__write(struct run *run, struct pho_err *err)
{
    struct pho_organize__outputs outs = { 0 };
    size_t total = 0;
    for (size_t g = 0; g < run->r->ngroups; g++)
        total += run->r->groups[g].count;
    for (size_t k = 0; run->o->people_folders && k < run->r->npeople; k++)
        total += run->r->people[k].hidden ? 0 : run->r->people[k].photos;
    pho_organize__stage_begin(run, PHO_STAGE_WRITE, total);
    /* Sidecars beside the sources first: OUT's copies of them are then made from the same
     * content on every run, so a re-run that changes nothing rewrites nothing. */
    int rc = pho_organize__source_sidecars(run, err);
    if (rc == 0)
        rc = pho_catalog_output_list(run->cat, &outs.files, &outs.count, err);
    for (size_t g = 0; rc == 0 && g < run->r->ngroups; g++) {
        if (pho_organize__cancelled(run))
            rc = PHO_EINTR;
        else
            rc = write_group(run, &outs, &run->r->groups[g], err);
        if (rc && rc != PHO_EDB && rc != PHO_ENOMEM && rc != PHO_EINTR) {
            /* This group's files could not all be written: an error entry for
             * the group, and the run goes on to the next one and the report. */
            struct pho_group_plan *gp = &run->r->groups[g];
            gp->error = rc;
            pho_strlcpy(gp->error_msg, err->msg, sizeof(gp->error_msg));
            run->r->groups_failed++;
            pho_err_clear(err);
            rc = 0;
        }
    }
    if (rc == 0 && !run->o->tag_only) {
        rc = pho_organize__people_folders(run, &outs, err);
        if (rc && rc != PHO_EDB && rc != PHO_ENOMEM && rc != PHO_EINTR) {
            /* Like a group that could not be written: said, and the run goes on. */
            pho_log(PHO_LOG_ERROR, "people", "%s", err->msg);
            pho_err_clear(err);
            rc = 0;
        }
    }
    /* A --tag-only run makes no group folders and removes none an earlier run made. */
    if (rc == 0 && !run->o->tag_only)
        rc = remove_stale(run, &outs, err);
    pho_organize__swap_close(run);
    outputs_release(&outs);
    return rc;
}

int pho_organize__write_report(struct run *run, struct pho_err *err)
{
    char stamp[32], when[40];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d_%H%M%S", &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", &tm);
    /* RFC 3339 offset (+01:00), the form every capture time in the report uses. */
    size_t wl = strlen(when);
    if (wl >= 5 && (when[wl - 5] == '+' || when[wl - 5] == '-') && wl + 1 < sizeof(when)) {
        memmove(when + wl - 1, when + wl - 2, 3);
        when[wl - 2] = ':';
    }
    char *dir = pho_organize__join(run->out_dir, "reports");
    if (!dir)
        return pho_err_set(err, PHO_ENOMEM, "report: out of memory");
    int rc = pho_organize__mkdirs(dir, err);
    char name[64];
    char *path = NULL;
    for (int n = 1; rc == 0; n++) {
        if (n == 1)
            snprintf(name, sizeof(name), "report_%s.json", stamp);
        else
            snprintf(name, sizeof(name), "report_%s_%d.json", stamp, n);
        pho_free(path);
        path = pho_organize__join(dir, name);
        struct stat st;
        if (!path || lstat(path, &st) < 0)
            break;
    }
    char *text = rc == 0 ? pho_organize__report_json(run->r, run->o, when) : NULL;
    if (rc == 0 && (!path || !text))
        rc = pho_err_set(err, PHO_ENOMEM, "report: out of memory");
    if (rc == 0)
        rc = pho_organize__write_atomic(path, text, strlen(text), NULL, NULL, err);
    char *latest = rc == 0 ? pho_organize__join(dir, "latest.json") : NULL;
    if (rc == 0)
        rc = latest ? pho_organize__symlink(name, latest, err)
                    : pho_err_set(err, PHO_ENOMEM, "report: out of memory");
    if (rc == 0)
        pho_strlcpy(run->r->report_path, path, sizeof(run->r->report_path));
    pho_free(latest);
    pho_free(text);
    pho_free(path);
    pho_free(dir);
    return rc;
}
