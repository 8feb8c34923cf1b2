/* SPDX-License-Identifier: MIT */
/*
 * The organizer pipeline: scan -> analyse (catalog first, then decode at the
 * working size, hash, measure quality; in parallel, committed to the catalog
 * chunk by chunk) -> group -> pick the best shot -> write copies, metadata.txt
 * and the report atomically. Every step is deterministic, so a run that was
 * killed and started again ends with the same output as one that was not.
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

#include "organize/internal.h"
#include "organize/pipeline.h"
#include "organize/run.h"
#include "pho/face.h"
#include "pho/group.h"
#include "pho/image.h"
#include "pho/parallel.h"
#include "pho/quality.h"
#include "pho/scan.h"

static int check_opts(const struct pho_organize_opts *o, struct pho_err *err)
{
    if (!o->source || !o->source[0])
        return pho_err_set(err, PHO_EINVAL, "organize: no source folder given (-s)");
    if (o->shard_count) {
        if (o->shard_index >= o->shard_count)
            return pho_err_set(err, PHO_EINVAL, "organize: shard %u of %u does not exist",
                               o->shard_index + 1, o->shard_count);
        if (!o->catalog || !pho_catalog_is_url(o->catalog))
            return pho_err_set(err, PHO_EINVAL,
                               "organize: a shard needs the shared catalog: --catalog "
                               "postgresql://...");
        if (o->distributed)
            return pho_err_set(err, PHO_EINVAL,
                               "organize: --shard and --distributed exclude each other");
    } else if (!o->output || !o->output[0]) {
        return pho_err_set(err, PHO_EINVAL, "organize: no output folder given (-o)");
    }
    if (o->threshold < 0 || o->threshold > 64)
        return pho_err_set(err, PHO_EINVAL, "organize: threshold must be 0..64, got %d",
                           o->threshold);
    if (!(o->time_window >= 0))
        return pho_err_set(err, PHO_EINVAL, "organize: time window must be 0 or more seconds");
    if (o->hash != PHO_HASH_DHASH && o->hash != PHO_HASH_PHASH)
        return pho_err_set(err, PHO_EINVAL, "organize: unknown hash kind");
    if (o->xmp.rating_best < -1 || o->xmp.rating_best > 5 || o->xmp.rating_others < -1 ||
        o->xmp.rating_others > 5)
        return pho_err_set(err, PHO_EINVAL, "organize: XMP ratings are -1 (rejected) to 5");
    if (o->people_folders && o->faces != PHO_FACES_ALL)
        return pho_err_set(err, PHO_EINVAL, "organize: people folders need faces = all");
    return 0;
}

/* Resolves the folders; refuses an output that is the source. */
static int resolve_folders(struct run *run, char **src_real, struct pho_err *err)
{
    const struct pho_organize_opts *o = run->o;
    struct stat st;
    if (stat(o->source, &st) < 0)
        return pho_err_set(err, errno == ENOENT ? PHO_ENOTFOUND : PHO_EIO,
                           "organize: source folder %s: %s", o->source, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return pho_err_set(err, PHO_EINVAL, "organize: source %s is not a folder", o->source);
    *src_real = realpath(o->source, NULL);
    if (!*src_real)
        return pho_err_set(err, PHO_EIO, "organize: source folder %s: %s", o->source,
                           strerror(errno));
    if (o->output && stat(o->output, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return pho_err_set(err, PHO_EINVAL, "organize: output %s exists and is not a folder",
                               o->output);
        char *out_real = realpath(o->output, NULL);
        bool same = out_real && !strcmp(out_real, *src_real);
        free(out_real);
        if (same)
            return pho_err_set(err, PHO_EINVAL,
                               "organize: the output folder must not be the source folder; "
                               "choose another -o");
    }
    return 0;
}

/* A shard's catalog: the shared one alone, no output folder. */
static int open_shard_catalog(struct run *run, struct pho_err *err)
{
    int rc = pho_catalog_open(&run->cat, run->o->catalog, err);
    if (rc == 0 && !(run->catalog_where = pho_strdup(run->o->catalog)))
        rc = pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
    return rc;
}

static int open_catalog(struct run *run, struct pho_err *err)
{
    char *dir = pho_organize__join(run->out_dir, ".photo-organizer");
    bool shared = false;
    char *db = dir ? pho_organize__catalog_where(run->out_dir, run->o->catalog, &shared) : NULL;
    int rc = db ? pho_organize__mkdirs(dir, err)
                : pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
    if (rc == 0 && run->o->catalog && run->o->catalog[0] && !shared)
        rc = pho_err_set(err, PHO_EINVAL,
                         "organize: --catalog takes a PostgreSQL database (postgresql://... or "
                         "\"host=... dbname=...\"); without it OUT keeps its own catalog");
    if (rc == 0 && run->o->distributed && !shared)
        rc = pho_err_set(err, PHO_EINVAL,
                         "organize: --distributed needs a catalog the workers share: "
                         "--catalog postgresql://...");
    if (rc == 0)
        rc = pho_catalog_open(&run->cat, db, err);
    if (rc == 0 && !(run->catalog_where = pho_strdup(db)))
        rc = pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
    /* Remembered once it opened: serve, decide and --resume then find it from OUT. */
    if (rc == 0)
        rc = pho_organize__catalog_remember(run->out_dir, db, err);
    if (rc == 0 && run->o->force_fresh)
        rc = pho_catalog_forget_photos(run->cat, err);
    if (rc == PHO_EDB && run->o->force_fresh && !shared) {
        /* Damage can also surface after a clean open. Keep the unusable file
         * (and its journal) for inspection and start a new catalog. */
        pho_catalog_close(run->cat);
        run->cat = NULL;
        char *moved = NULL;
        rc = pho_catalog_move_aside(db, &moved, err);
        if (rc == 0) {
            pho_log(PHO_LOG_WARN, "catalog", "unusable catalog moved to %s; starting a new one",
                    moved);
            rc = pho_catalog_open(&run->cat, db, err);
        }
        pho_free(moved);
    }
    pho_free(db);
    pho_free(dir);
    return rc;
}

static char *rel_of(const char *root, const char *path)
{
    size_t n = strlen(root);
    if (!strncmp(path, root, n) && path[n] == '/')
        return pho_strdup(path + n + 1);
    return pho_strdup(path);
}

static int collect(struct run *run, const struct pho_scan_list *list, const char *root,
                   struct pho_err *err)
{
    struct pho_organize_result *r = run->r;
    size_t n = list->count + list->nproblems;
    r->photos = pho_calloc(n ? n : 1, sizeof(*r->photos));
    if (!r->photos)
        return pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
    for (size_t i = 0; i < list->count; i++) {
        struct pho_photo *p = &r->photos[r->nphotos++];
        pho_photo_init(p);
        p->path = pho_strdup(list->items[i].path);
        p->rel = pho_strdup(list->items[i].rel);
        if (!p->path || !p->rel)
            return pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        p->size = list->items[i].size;
        p->mtime_ns = list->items[i].mtime * 1000000000LL + list->items[i].mtime_nsec;
    }
    /* Entries the scan could not read are part of the report's errors. */
    for (size_t i = 0; i < list->nproblems; i++) {
        struct pho_photo *p = &r->photos[r->nphotos++];
        pho_photo_init(p);
        p->path = pho_strdup(list->problems[i].path);
        p->rel = rel_of(root, list->problems[i].path);
        if (!p->path || !p->rel)
            return pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        p->error = list->problems[i].code;
        pho_strlcpy(p->error_msg, list->problems[i].msg, sizeof(p->error_msg));
    }
    return 0;
}

#define SAVED_MSG "organize: interrupted; what was analysed is saved, run again to continue"

/* Ctrl-C (PHO_EINTR) marks the result interrupted and says, in @msg, what a re-run does. */
static int interrupted(struct pho_organize_result *out, int rc, const char *msg,
                       struct pho_err *err)
{
    if (rc == PHO_EINTR) {
        out->interrupted = true;
        pho_err_set(err, rc, "%s", msg);
    }
    return rc;
}

int pho_organize_run(struct pho_organize_result *out, const struct pho_organize_opts *opts,
                     struct pho_err *err)
{
    struct run run = { .o = opts, .r = out, .lock_fd = -1 };
    struct pho_scan_list *list = NULL;
    char *src_real = NULL;
    double t0 = pho_organize__now(), t;
    memset(out, 0, sizeof(*out));
    pthread_mutex_init(&run.lock, NULL);
    run.threads = opts->threads ? opts->threads : pho_cpu_count();

    int rc = check_opts(opts, err);
    if (rc == 0)
        rc = resolve_folders(&run, &src_real, err);
    if (rc)
        goto out;
    if (!opts->dry_run && opts->shard_count) {
        rc = open_shard_catalog(&run, err);
        char *settings = rc == 0 ? pho_organize_settings_json(opts) : NULL;
        if (rc == 0)
            rc = settings ? pho_catalog_run_start(run.cat, settings, &run.run_id, err)
                          : pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        pho_free(settings);
        if (rc)
            goto out;
    } else if (!opts->dry_run) {
        rc = pho_organize__mkdirs(opts->output, err);
        if (rc)
            goto out;
        run.out_dir = realpath(opts->output, NULL);
        if (!run.out_dir) {
            rc = pho_err_set(err, PHO_EIO, "organize: output folder %s: %s", opts->output,
                             strerror(errno));
            goto out;
        }
        /* Before anything under OUT is touched: a second run must not sweep
         * the first one's temporary files or write between its groups. */
        rc = pho_organize__lock(&run.lock_fd, run.out_dir, opts->wait_lock, err);
        if (rc)
            goto out;
        pho_organize__sweep_temps(run.out_dir);
        rc = open_catalog(&run, err);
        if (rc)
            goto out;
        char *settings = pho_organize_settings_json(opts);
        rc = settings ? pho_catalog_run_start(run.cat, settings, &run.run_id, err)
                      : pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        pho_free(settings);
        if (rc)
            goto out;
    }
    if (opts->ml_quality && pho_brisque_open(&run.brisque, NULL, NULL, err) < 0) {
        /* Without the model the other quality terms still rank the shots. */
        pho_log(PHO_LOG_WARN, "quality", "%s; continuing without BRISQUE", err->msg);
        pho_err_clear(err);
    }

    /* Scan */
    t = pho_organize__now();
    pho_organize__stage_begin(&run, PHO_STAGE_SCAN, 0);
    struct pho_scan_opts so = PHO_SCAN_OPTS_INIT;
    so.exclude_dir = opts->output;
    so.limit = opts->limit;
    so.include_hidden = opts->include_hidden;
    so.follow_symlinks = opts->follow_symlinks;
    rc = pho_scan_run(&list, opts->source, &so, err);
    if (rc == 0)
        rc = collect(&run, list, opts->source, err);
    if (rc == 0)
        rc = pho_organize__shots_collect(&run, list, err);
    out->t_scan = pho_organize__now() - t;
    if (rc)
        goto out;

    /* Analyse: the catalog answers for unchanged files, the rest is computed. */
    t = pho_organize__now();
    run.todo = pho_calloc(out->nphotos ? out->nphotos : 1, sizeof(*run.todo));
    if (!run.todo) {
        rc = pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        goto out;
    }
    size_t ntodo = 0;
    pho_organize__stage_begin(&run, PHO_STAGE_ANALYSE, out->nphotos);
    for (size_t i = 0; i < out->nphotos; i++) {
        struct pho_photo *p = &out->photos[i];
        bool found = false;
        if (p->error) {
            pho_organize__report_failure(&run, p);
            pho_organize__step_done(&run, 1, p->rel);
            continue;
        }
        if (run.cat && (rc = pho_catalog_lookup(run.cat, p, &found, err)) < 0)
            goto out;
        /* Hashed from a thumbnail by an auto-rule run: the classic rule wants the pixels'. */
        if (found && p->hashed_from_thumbnail && opts->grouping == PHO_GROUP_RULE_CLASSIC &&
            p->part_of == SIZE_MAX)
            found = false;
        /* Only the metadata was read (it was the RAW of a shot): a main file needs it all. */
        if (found && p->probed && p->part_of == SIZE_MAX)
            found = false;
        if (found) {
            out->from_catalog++;
            if (p->error)
                pho_organize__report_failure(&run, p);
            pho_organize__step_done(&run, 1, p->rel);
        } else {
            run.todo[ntodo++] = i;
        }
    }
    if (opts->shard_count && ntodo > 0) {
        /* This shard's photos only: the others are other shards' work. */
        bool *mine = pho_calloc(out->nphotos, sizeof(*mine));
        rc = mine ? pho_organize__shard(mine, out, opts->shard_index, opts->shard_count, err)
                  : pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        size_t left = 0;
        for (size_t k = 0; rc == 0 && k < ntodo; k++)
            if (mine[run.todo[k]])
                run.todo[left++] = run.todo[k];
        out->shard_skipped = rc == 0 ? ntodo - left : 0;
        ntodo = rc == 0 ? left : ntodo;
        pho_free(mine);
        if (rc)
            goto out;
    }
    if (opts->distributed && !opts->dry_run && ntodo > 0) {
        rc = pho_organize__distribute(&run, "analyse", run.todo, ntodo, err);
        /* What the workers analysed counts as analysed by this run; what they gave up on is
         * analysed here. */
        size_t left = 0;
        for (size_t k = 0; rc == 0 && k < ntodo; k++) {
            struct pho_photo *p = &out->photos[run.todo[k]];
            bool found = false;
            rc = pho_catalog_lookup(run.cat, p, &found, err);
            p->from_catalog = false;
            if (found && p->error)
                pho_organize__report_failure(&run, p);
            if (found)
                out->analysed++;
            else
                run.todo[left++] = run.todo[k];
        }
        ntodo = left;
        if (rc)
            goto out;
    }
    rc = pho_organize__analyse(&run, ntodo, err);
    for (size_t i = 0; i < ntodo; i++)
        out->analysed += out->photos[run.todo[i]].analysed || out->photos[run.todo[i]].error ||
                         out->photos[run.todo[i]].probed;
    if (rc == 0) {
        /* A RAW whose rendition was taken at another time is a shot of its own. */
        ntodo = pho_organize__shots_confirm(&run, run.todo);
        for (size_t i = 0; i < ntodo; i++)
            out->photos[run.todo[i]].probed = false;
        rc = pho_organize__analyse(&run, ntodo, err);
    }
    pho_organize__shots_takeout(&run);
    for (size_t i = 0; i < out->nphotos; i++)
        out->failed += out->photos[i].error != 0;
    out->t_analyse = pho_organize__now() - t;
    rc = interrupted(out, rc, SAVED_MSG, err);
    if (rc)
        goto out;
    /* A shard's work ends here: the final run groups the whole library. */
    if (opts->shard_count) {
        if (run.cat)
            rc = pho_catalog_run_finish(run.cat, run.run_id, err);
        pho_organize__stage_begin(&run, PHO_STAGE_DONE, 0);
        goto out;
    }

    /* Group and plan, with the user's decisions */
    rc = pho_organize__decisions_load(&run, err);
    if (rc)
        goto out;
    t = pho_organize__now();
    /* Members hashed from thumbnails are measured (quality.c); one that turns out
     * unreadable leaves the groups, which are then formed again without it. */
    for (;;) {
        pho_organize__stage_begin(&run, PHO_STAGE_GROUP, 0);
        rc = pho_organize__plan(&run, err);
        out->t_group += pho_organize__now() - t;
        if (rc)
            goto out;
        t = pho_organize__now();
        size_t lost = 0;
        rc = pho_organize__quality(&run, &lost, err);
        out->t_analyse += pho_organize__now() - t;
        out->failed += lost;
        rc = interrupted(out, rc, SAVED_MSG, err);
        if (rc || lost == 0)
            break;
        t = pho_organize__now();
    }
    if (rc)
        goto out;
    for (size_t i = 0; i < out->nphotos; i++)
        out->nshots += out->photos[i].part_of == SIZE_MAX && !out->photos[i].error;

    /* Faces of the photos whose best shot depends on them, then the choice. */
    t = pho_organize__now();
    rc = pho_organize__faces(&run, err);
    out->t_faces = pho_organize__now() - t;
    rc = interrupted(out, rc, SAVED_MSG, err);
    if (rc)
        goto out;
    /* Persons, from the faces of every photo (--faces all; a dry run writes nothing): the
     * best shot then knows who is missing from a take, and names them. */
    if (!opts->dry_run) {
        t = pho_organize__now();
        rc = pho_organize__people(&run, err);
        out->t_people = pho_organize__now() - t;
        rc = interrupted(out, rc, SAVED_MSG, err);
        if (rc)
            goto out;
        run.identity.persons = out->face_persons;
        run.identity.people = out->people;
        run.identity.npeople = out->npeople;
    }
    pho_organize__decisions_flags(&run);
    for (size_t g = 0; g < out->ngroups; g++)
        pho_organize__choose_best(&out->groups[g], out->photos, out->faces, &run.identity);
    pho_organize__decisions(&run);
    rc = pho_organize__swap_plan(&run, err);
    if (rc)
        goto out;

    if (!opts->dry_run) {
        t = pho_organize__now();
        rc = pho_organize__write(&run, err);
        out->t_write = pho_organize__now() - t;
        rc = interrupted(out, rc, "organize: interrupted while writing; run again to finish", err);
        if (rc)
            goto out;
        pho_organize__stage_begin(&run, PHO_STAGE_REPORT, 0);
        out->t_total = pho_organize__now() - t0;
        rc = pho_organize__write_report(&run, err);
        if (rc == 0)
            rc = pho_catalog_run_finish(run.cat, run.run_id, err);
    }
    pho_organize__stage_begin(&run, PHO_STAGE_DONE, 0);
out:
    out->t_total = pho_organize__now() - t0;
    pho_scan_list_free(list);
    pho_catalog_decisions_free(run.decisions, run.ndecisions);
    pho_free(run.todo);
    pho_brisque_close(run.brisque);
    pho_catalog_close(run.cat);
    pho_free(run.catalog_where);
    pho_organize__unlock(run.lock_fd); /* after the catalog: its last writes are inside the lock */
    free(run.out_dir);
    free(src_real);
    pthread_mutex_destroy(&run.lock);
    return rc;
}
