/* SPDX-License-Identifier: MIT */
/*
 * The user's decisions (docs/decisions.md), applied after the run's own choices: the
 * catalog keeps them in order (the viewer and `decide` record them), and every run, with
 * whatever it computed, ends with the result they ask for. A decision about a photo that
 * is no longer there, or no longer in a group, waits: it applies again when it can.
 */
#include "core/common.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "organize/internal.h"
#include "organize/run.h"
#include "pho/log.h"
#include "pho/photo.h"

/* The group @photo (below the source) is a member of, and its index among the photos. */
static struct pho_group_plan *group_of(struct pho_organize_result *r, const char *photo,
                                       size_t *index)
{
    for (size_t g = 0; g < r->ngroups; g++)
        for (size_t k = 0; k < r->groups[g].count; k++) {
            size_t i = r->groups[g].members[k];
            if (!strcmp(r->photos[i].rel, photo)) {
                *index = i;
                return &r->groups[g];
            }
        }
    return NULL;
}

/* "best": this photo is its group's best shot; the rule's choice is kept in the why. */
static void apply_best(struct pho_organize_result *r, const struct pho_decision *d)
{
    size_t i = 0;
    struct pho_group_plan *g = group_of(r, d->photo, &i);
    if (!g || g->best == i)
        return;
    char rule[sizeof(g->why)];
    pho_strlcpy(rule, g->why, sizeof(rule));
    const char *slash = strrchr(r->photos[g->best].rel, '/');
    int n = snprintf(g->why, sizeof(g->why), "chosen by you (the rule chose %.200s: ",
                     slash ? slash + 1 : r->photos[g->best].rel);
    if (n > 0 && (size_t)n < sizeof(g->why) - 2) {
        pho_strlcpy(g->why + n, rule, sizeof(g->why) - (size_t)n - 1);
        size_t len = strlen(g->why);
        g->why[len] = ')';
        g->why[len + 1] = '\0';
    }
    g->best = i;
}

int pho_organize__decisions_load(struct run *run, struct pho_err *err)
{
    if (!run->cat || run->decisions)
        return 0;
    int rc = pho_catalog_decisions(run->cat, &run->decisions, &run->ndecisions, err);
    run->r->decisions = run->ndecisions;
    return rc;
}

/* The photo (below the source) called @rel, SIZE_MAX when none. */
static size_t photo_named(const struct pho_organize_result *r, const char *rel)
{
    for (size_t i = 0; i < r->nphotos; i++)
        if (!strcmp(r->photos[i].rel, rel))
            return i;
    return SIZE_MAX;
}

void pho_organize__decisions_flags(struct run *run)
{
    for (size_t i = 0; i < run->r->nphotos; i++)
        run->r->photos[i].user_flag = PHO_FLAG_NONE;
    for (size_t k = 0; k < run->ndecisions; k++) {
        const struct pho_decision *d = &run->decisions[k];
        uint8_t flag = !strcmp(d->kind, "pick")     ? PHO_FLAG_PICK
                       : !strcmp(d->kind, "reject") ? PHO_FLAG_REJECT
                                                    : UINT8_MAX;
        if (flag == UINT8_MAX && strcmp(d->kind, "unflag"))
            continue;
        size_t i = photo_named(run->r, d->photo);
        if (i != SIZE_MAX)
            run->r->photos[i].user_flag = flag == UINT8_MAX ? PHO_FLAG_NONE : flag;
    }
}

/* A pick, reject or unflag of @photo made after decision @k: a later reject takes back a
 * best shot chosen by hand. */
static bool rejected_later(const struct run *run, size_t k, const char *photo)
{
    bool rejected = false;
    for (size_t j = k + 1; j < run->ndecisions; j++)
        if (!strcmp(run->decisions[j].photo, photo)) {
            if (!strcmp(run->decisions[j].kind, "reject"))
                rejected = true;
            else if (!strcmp(run->decisions[j].kind, "pick") ||
                     !strcmp(run->decisions[j].kind, "unflag"))
                rejected = false;
        }
    return rejected;
}

void pho_organize__decisions(struct run *run)
{
    for (size_t k = 0; k < run->ndecisions; k++) {
        const struct pho_decision *d = &run->decisions[k];
        if (!strcmp(d->kind, "best")) {
            if (!rejected_later(run, k, d->photo))
                apply_best(run->r, d);
        } else if (!pho_organize_decision_known(d->kind)) {
            pho_log(PHO_LOG_WARN, "decisions",
                    "decision %lld is of a kind this version does "
                    "not know (%s); left alone",
                    (long long)d->id, d->kind);
        }
    }
}

bool pho_organize_decision_known(const char *kind)
{
    static const char *const kinds[] = { "best",  "pick",  "reject",  "unflag", "move",
                                         "merge", "split", "ungroup", "detach" };
    for (size_t i = 0; kind && i < PHO_ARRAY_LEN(kinds); i++)
        if (!strcmp(kind, kinds[i]))
            return true;
    return false;
}

bool pho_organize_decision_relates(const char *kind)
{
    return kind && (!strcmp(kind, "move") || !strcmp(kind, "merge"));
}

int pho_organize_decide(const char *output, const char *kind, const char *photo, const char *other,
                        struct pho_err *err)
{
    if (!pho_organize_decision_known(kind))
        return pho_err_set(err, PHO_EINVAL,
                           "decisions: '%s' is not a decision (best, pick, reject, unflag, "
                           "move, merge, split, ungroup, detach)",
                           kind ? kind : "");
    bool relates = pho_organize_decision_relates(kind);
    if (!photo || !*photo || (relates && (!other || !*other)))
        return pho_err_set(err, PHO_EINVAL, "decisions: '%s' needs %s", kind,
                           relates ? "two photos" : "a photo");
    if (relates && !strcmp(photo, other))
        return pho_err_set(err, PHO_EINVAL, "decisions: '%s' needs two different photos", kind);
    struct pho_catalog *cat = NULL;
    int fd = -1;
    int rc = pho_organize__open_catalog(&cat, &fd, output, true, "decisions",
                                        "organize into it first", err);
    if (rc == 0)
        rc = pho_catalog_decision_add(cat, kind, photo, relates ? other : "", NULL, err);
    pho_catalog_close(cat);
    pho_organize__unlock(fd);
    return rc;
}

int pho_organize_undo(struct pho_decision *undone, const char *output, struct pho_err *err)
{
    memset(undone, 0, sizeof(*undone));
    struct pho_catalog *cat = NULL;
    int fd = -1;
    int rc = pho_organize__open_catalog(&cat, &fd, output, true, "decisions",
                                        "organize into it first", err);
    if (rc == 0)
        rc = pho_catalog_decision_undo(cat, undone, err);
    pho_catalog_close(cat);
    pho_organize__unlock(fd);
    return rc;
}

int pho_organize_decisions(struct pho_decision **out, size_t *count, const char *output,
                           struct pho_err *err)
{
    *out = NULL;
    *count = 0;
    struct pho_catalog *cat = NULL;
    int fd = -1;
    int rc = pho_organize__open_catalog(&cat, &fd, output, false, "decisions",
                                        "organize into it first", err);
    if (rc == 0)
        rc = pho_catalog_decisions(cat, out, count, err);
    pho_catalog_close(cat);
    return rc;
}

int pho_organize_rerun(struct pho_organize_result *out, const char *output, const char *models_dir,
                       atomic_int *cancel, struct pho_err *err)
{
    memset(out, 0, sizeof(*out));
    static pthread_mutex_t rerun_lock = PTHREAD_MUTEX_INITIALIZER;
    struct pho_organize_record *rec = pho_calloc(1, sizeof(*rec));
    if (!rec)
        return pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
    int rc = pho_organize_last_run(rec, output, err);
    if (rc == 0) {
        struct pho_organize_opts o = PHO_ORGANIZE_OPTS_INIT;
        pho_organize_record_apply(&o, rec, 0);
        o.output = output;
        if (models_dir) /* else the folder that run was given, if any */
            o.models_dir = models_dir;
        o.cancel = cancel;
        o.wait_lock = true;
        /* One re-run at a time in this process (the viewer's connection threads). */
        pthread_mutex_lock(&rerun_lock);
        rc = pho_organize_run(out, &o, err);
        pthread_mutex_unlock(&rerun_lock);
    }
    pho_free(rec);
    return rc;
}
