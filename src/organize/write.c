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
#include "organize/pipeline.h"
#include "organize/run.h"
#include "pho/face.h"
#include "pho/group.h"
#include "pho/image.h"
#include "pho/parallel.h"
#include "pho/quality.h"
#include "pho/scan.h"

struct outputs {
    struct pho_output_file *files; /* recorded by earlier runs, sorted by rel */
    size_t count;
    char **planned; /* this run's files, sorted */
    size_t nplanned, cap;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const struct pho_output_file *recorded(const struct outputs *outs, const char *rel)
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

static int add_planned(struct outputs *outs, const char *rel)
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

/* Notes @rel as part of this run's result and returns its full path (caller frees). */
/* True when @path holds exactly @len bytes equal to @text. */
static bool same_content(const char *path, const char *text, size_t len)
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

/* What a file that is about to be written must equal to count as ours already. */
struct want {
    const char *src;  /* a copy of this file, or */
    const char *text; /* this text */
    size_t len;
};

/* @dst_sum: the SHA-256 of the file at @dst, or NULL when it could not be read. */
static bool holds_wanted(const char *dst, const char *dst_sum, const struct want *w)
{
    if (w->text)
        return same_content(dst, w->text, w->len);
    char src_sum[65];
    uint64_t n;
    return dst_sum && pho_organize__sha256_file(w->src, src_sum, &n, NULL) == 0 &&
           !strcmp(dst_sum, src_sum);
}

/* Writes what @w says to @dst atomically. */
static int write_wanted(const char *dst, const struct want *w, struct pho_copy_info *info,
                        struct pho_err *err)
{
    return w->text ? pho_organize__write_atomic(dst, w->text, w->len, info, err)
                   : pho_organize__copy(w->src, dst, info, err);
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
static char *claim(struct run *run, struct outputs *outs, const char *rel, const struct want *w,
                   char *used, size_t used_size, bool *same, struct pho_err *err)
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
        const struct pho_output_file *old = recorded(outs, used);
        /* The file's hash, read once: for comparing a copy with its source
         * and for telling our unchanged file from an edited one. */
        char sum[65];
        uint64_t size = 0;
        bool hashed = S_ISREG(st.st_mode) && (old || !w->text) &&
                      pho_organize__sha256_file(dst, sum, &size, NULL) == 0;
        if (S_ISREG(st.st_mode) && holds_wanted(dst, hashed ? sum : NULL, w)) {
            *same = true;
            return dst;
        }
        if (old && hashed && size == old->size && !strcmp(sum, old->sha256))
            return dst; /* ours, as written: may be replaced */
        if (n == 0) {
            /* Kept: not written by us, or changed since. No longer ours. */
            if (old && pho_catalog_output_forget(run->cat, used, err) < 0) {
                pho_free(dst);
                return NULL;
            }
            char ours[4096];
            beside_name(ours, sizeof(ours), rel, 1);
            pho_organize__kept(run->r, rel, ours);
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

/* Writes @w at @rel, or beside the user's file there (claim), unless what it
 * holds is already right; records ours in the catalog. */
static int put_wanted(struct run *run, struct outputs *outs, const char *rel, const struct want *w,
                      struct pho_err *err)
{
    char used[4096];
    bool identical;
    char *dst = claim(run, outs, rel, w, used, sizeof(used), &identical, err);
    if (!dst)
        return err && err->code ? err->code : PHO_ENOMEM;
    int rc = add_planned(outs, used) == 0 ? 0
                                          : pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    struct pho_copy_info info;
    if (rc == 0 && identical) {
        run->r->files_unchanged++;
        if (!recorded(outs, used) &&
            pho_organize__sha256_file(dst, info.sha256, &info.size, err) == 0)
            rc = pho_catalog_output_put(run->cat, used, info.size, info.sha256, err);
    } else if (rc == 0) {
        rc = write_wanted(dst, w, &info, err);
        if (rc == 0)
            rc = pho_catalog_output_put(run->cat, used, info.size, info.sha256, err);
        if (rc == 0)
            run->r->files_written++;
    }
    pho_free(dst);
    return rc;
}

/* A source file: a photo or a companion. */
struct source {
    const char *path;
    uint64_t size;
    int64_t mtime_ns;
};

/* Copies one source file unless an identical copy from an earlier run is already there. */
static int put_copy(struct run *run, struct outputs *outs, const struct source *p, const char *rel,
                    struct pho_err *err)
{
    const struct pho_output_file *old = recorded(outs, rel);
    char *dst = pho_organize__join(run->out_dir, rel);
    if (!dst)
        return pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    struct stat st;
    if (old && old->size == p->size && lstat(dst, &st) == 0 && S_ISREG(st.st_mode) &&
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
            pho_free(dst);
            run->r->files_unchanged++;
            return add_planned(outs, rel) == 0
                           ? 0
                           : pho_err_set(err, PHO_ENOMEM, "output: out of memory");
        }
    }
    pho_free(dst);
    struct want w = { .src = p->path };
    return put_wanted(run, outs, rel, &w, err);
}

static int put_text(struct run *run, struct outputs *outs, const char *text, const char *rel,
                    struct pho_err *err)
{
    struct want w = { .text = text, .len = strlen(text) };
    return put_wanted(run, outs, rel, &w, err);
}

static int write_group(struct run *run, struct outputs *outs, const struct pho_group_plan *g,
                       struct pho_err *err)
{
    const struct pho_organize_result *r = run->r;
    char rel[4096];
    snprintf(rel, sizeof(rel), "%s/originals", g->dir);
    char *dir = pho_organize__join(run->out_dir, rel);
    if (!dir)
        return pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    int rc = pho_organize__mkdirs(dir, err);
    pho_free(dir);
    if (rc)
        return rc;
    rc = pho_catalog_begin(run->cat, err);
    if (rc)
        return rc;
    /* A file that cannot be written ends this group's writing, not the run;
     * what was written is still committed, so the catalog matches OUT. */
    int frc = 0;
    struct pho_err ferr = PHO_ERR_INIT;
    /* Every file of every member's shot; the best shot's files also as best_. */
    for (size_t f = 0; frc == 0 && f < g->nfiles; f++) {
        const struct pho_group_file *gf = &g->files[f];
        struct source src;
        if (gf->photo != SIZE_MAX) {
            const struct pho_photo *p = &r->photos[gf->photo];
            src = (struct source){ p->path, p->size, p->mtime_ns };
        } else {
            const struct pho_companion *c = &r->companions[gf->companion];
            src = (struct source){ c->path, c->size, c->mtime_ns };
        }
        snprintf(rel, sizeof(rel), "%s/originals/%s", g->dir, gf->name);
        frc = put_copy(run, outs, &src, rel, &ferr);
        if (frc == 0 && g->members[gf->member] == g->best) {
            snprintf(rel, sizeof(rel), "%s/best_%s", g->dir, gf->name);
            frc = put_copy(run, outs, &src, rel, &ferr);
        }
        if (f + 1 == g->nfiles || g->files[f + 1].member != gf->member)
            pho_organize__step_done(run, 1, r->photos[g->members[gf->member]].rel);
    }
    if (frc == 0) {
        char *text = pho_organize__metadata_txt(r, g);
        snprintf(rel, sizeof(rel), "%s/metadata.txt", g->dir);
        frc = text ? put_text(run, outs, text, rel, &ferr)
                   : pho_err_set(&ferr, PHO_ENOMEM, "output: out of memory");
        pho_free(text);
    }
    rc = pho_catalog_commit(run->cat, err);
    if (rc == 0 && frc) {
        pho_err_set(err, frc, "%s", ferr.msg);
        rc = frc;
    }
    return rc;
}

/* Removes what earlier runs wrote and this plan no longer contains, unless the user changed it. */
static int remove_stale(struct run *run, struct outputs *outs, struct pho_err *err)
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
        char sum[65];
        uint64_t size;
        int src = pho_organize__sha256_file(path, sum, &size, NULL);
        if (src == PHO_ENOTFOUND || (src == 0 && size == f->size && !strcmp(sum, f->sha256))) {
            if (src == 0 && unlink(path) == 0)
                run->r->files_removed++;
            rc = pho_catalog_output_forget(run->cat, f->rel, err);
            /* Empty group folders go too; rmdir refuses non-empty ones. */
            char *slash;
            while (rc == 0 && (slash = strrchr(path, '/')) && slash > path + strlen(run->out_dir)) {
                *slash = '\0';
                if (rmdir(path) < 0)
                    break;
            }
        } else if (src == 0) {
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

static void outputs_release(struct outputs *outs)
{
    pho_catalog_outputs_free(outs->files, outs->count);
    for (size_t i = 0; i < outs->nplanned; i++)
        pho_free(outs->planned[i]);
    pho_free(outs->planned);
}

int pho_organize__write(struct run *run, struct pho_err *err)
{
    struct outputs outs = { 0 };
    size_t total = 0;
    for (size_t g = 0; g < run->r->ngroups; g++)
        total += run->r->groups[g].count;
    pho_organize__stage_begin(run, PHO_STAGE_WRITE, total);
    int rc = pho_catalog_output_list(run->cat, &outs.files, &outs.count, err);
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
    if (rc == 0)
        rc = remove_stale(run, &outs, err);
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
        rc = pho_organize__write_atomic(path, text, strlen(text), NULL, err);
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
