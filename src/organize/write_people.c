/* SPDX-License-Identifier: MIT */
/*
 * Stage: write, its people folders (--people-folders, docs/people.md).
 * OUT/people/<name>/ holds every photo a person is in, made as --link says
 * and owned like group files (docs/catalog.md); OUT/people/<name>.jpg is
 * their face, cut from the photo that shows them best. A person without a
 * name gets person_NNNN; hidden persons get no folder. Renaming a person
 * moves their folder on the next run (the old one is stale, and goes while
 * it is still as this program made it).
 */
#include "core/common.h"

#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "organize/internal.h"
#include "organize/outputs.h"
#include "organize/run.h"
#include "pho/image.h"

/* Long side of a person's face picture, pixels. */
#define FACE_SIZE 256

/* A folder name from a person's name: no '/', no control characters, not hidden, not
 * empty, short enough for NAME_MAX; "person_NNNN" without a name. Caller frees. */
static char *folder_name(const struct pho_person_summary *p)
{
    char buf[512];
    size_t n = 0;
    for (const char *c = p->name; *c && n + 1 < sizeof(buf); c++)
        buf[n++] = (unsigned char)*c < 0x20 || *c == '/' || *c == 0x7f ? '_' : *c;
    buf[n] = '\0';
    while (n && buf[n - 1] == ' ')
        buf[--n] = '\0';
    if (buf[0] == '.')
        buf[0] = '_';
    if (!n || !strcmp(buf, "_") || !strcmp(buf, "__"))
        snprintf(buf, sizeof(buf), "person_%04lld", (long long)p->id);
    bool shortened;
    /* Room for " (id)" and ".jpg" beside it. */
    return pho_organize__fit_name(buf, PHO_OUT_NAME_MAX - 32, &shortened);
}

/* A photo's name in its person's folder: its own, or name_2.ext when taken. */
static char *file_name(GHashTable *taken, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    const char *base = slash ? slash + 1 : rel;
    bool shortened;
    char *name = pho_organize__fit_name(base, PHO_OUT_NAME_MAX, &shortened);
    for (int k = 2; name && g_hash_table_contains(taken, name) && k < 100000; k++) {
        const char *dot = strrchr(base, '.');
        size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
        char alt[NAME_MAX + 1];
        snprintf(alt, sizeof(alt), "%.*s_%d%s", (int)PHO_MIN(stem, 200), base, k,
                 dot && dot != base ? dot : "");
        pho_free(name);
        name = pho_organize__fit_name(alt, PHO_OUT_NAME_MAX, &shortened);
    }
    if (name)
        g_hash_table_add(taken, g_strdup(name));
    return name;
}

/* OUT/people/<folder>.jpg: the person's face from their best photo. A photo that cannot be
 * read again is said once and the folder is made without it. */
static int put_face(struct run *run, struct pho_organize__outputs *outs,
                    struct pho_person_summary *p, const char *folder, struct pho_err *err)
{
    const struct pho_organize_result *r = run->r;
    const struct pho_face_list *fl = &r->faces[p->sample];
    const int64_t *pp = r->face_persons[p->sample];
    const struct pho_face *face = NULL;
    for (size_t i = 0; pp && i < fl->count && !face; i++)
        if (pp[i] == p->id)
            face = &fl->faces[i];
    if (!face)
        return 0;
    /* The face and some of the head around it, as a square where the photo allows. */
    float cx = (face->box[0] + face->box[2]) / 2, cy = (face->box[1] + face->box[3]) / 2;
    float hw = (face->box[2] - face->box[0]) * 0.8f, hh = (face->box[3] - face->box[1]) * 0.8f;
    float box[4] = { cx - hw, cy - hh, cx + hw, cy + hh };
    struct pho_image_opts io = PHO_IMAGE_OPTS_INIT;
    io.max_size = 1600; /* the faces stage's size: the box is as it measured it */
    io.max_pixels = run->o->max_pixels;
    struct pho_image *img = NULL;
    struct pho_err e = PHO_ERR_INIT;
    void *jpeg = NULL;
    size_t len = 0;
    int rc = pho_image_load(&img, r->photos[p->sample].path, &io, NULL, &e);
    if (rc == 0)
        rc = pho_image_jpeg(&jpeg, &len, img, box, FACE_SIZE, 90, &e);
    pho_image_free(img);
    if (rc == PHO_ENOMEM) {
        pho_free(jpeg);
        return pho_err_set(err, PHO_ENOMEM, "people: out of memory");
    }
    if (rc) {
        pho_log(PHO_LOG_WARN, "people", "%s: %s; %s has no face picture", r->photos[p->sample].rel,
                e.msg, folder);
        return 0;
    }
    char rel[4096];
    snprintf(rel, sizeof(rel), "people/%s.jpg", folder);
    rc = pho_organize__out_put_data(run, outs, jpeg, len, rel, err);
    pho_free(jpeg);
    if (rc == 0) { /* the report names it: the viewer shows it */
        pho_free(p->picture);
        if (!(p->picture = pho_strdup(rel)))
            rc = pho_err_set(err, PHO_ENOMEM, "people: out of memory");
    }
    return rc;
}

/* One person's folder: every photo they are in, then their face. */
static int put_person(struct run *run, struct pho_organize__outputs *outs,
                      struct pho_person_summary *p, const char *folder, struct pho_err *err)
{
    const struct pho_organize_result *r = run->r;
    char rel[4096];
    snprintf(rel, sizeof(rel), "people/%s", folder);
    char *dir = pho_organize__join(run->out_dir, rel);
    int rc = dir ? pho_organize__mkdirs(dir, err)
                 : pho_err_set(err, PHO_ENOMEM, "people: out of memory");
    pho_free(dir);
    GHashTable *taken = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (size_t i = 0; rc == 0 && i < r->nphotos; i++) {
        const int64_t *pp = r->face_persons[i];
        bool in = false;
        for (size_t j = 0; pp && j < r->faces[i].count && !in; j++)
            in = pp[j] == p->id;
        if (!in)
            continue;
        char *name = file_name(taken, r->photos[i].rel);
        if (!name) {
            rc = pho_err_set(err, PHO_ENOMEM, "people: out of memory");
            break;
        }
        snprintf(rel, sizeof(rel), "people/%s/%s", folder, name);
        pho_free(name);
        rc = pho_organize__out_put_file(run, outs, r->photos[i].path, r->photos[i].size,
                                        r->photos[i].mtime_ns, rel, err);
        pho_organize__step_done(run, 1, r->photos[i].rel);
    }
    g_hash_table_destroy(taken);
    if (rc == 0)
        rc = put_face(run, outs, p, folder, err);
    return rc;
}

int pho_organize__people_folders(struct run *run, struct pho_organize__outputs *outs,
                                 struct pho_err *err)
{
    const struct pho_organize_result *r = run->r;
    if (!run->o->people_folders || !r->face_persons)
        return 0;
    /* Two persons of one name: the second and later get " (id)". */
    GHashTable *used = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int rc = pho_catalog_begin(run->cat, err);
    struct pho_batch stage = { 0 };
    outs->stage = &stage;
    int frc = 0;
    struct pho_err ferr = PHO_ERR_INIT;
    for (size_t k = 0; rc == 0 && frc == 0 && k < r->npeople; k++) {
        struct pho_person_summary *p = &r->people[k];
        if (p->hidden)
            continue;
        char *folder = folder_name(p);
        if (folder && g_hash_table_contains(used, folder)) {
            char alt[NAME_MAX + 1];
            snprintf(alt, sizeof(alt), "%s (%lld)", folder, (long long)p->id);
            pho_free(folder);
            folder = pho_strdup(alt);
        }
        if (!folder) {
            frc = pho_err_set(&ferr, PHO_ENOMEM, "people: out of memory");
            break;
        }
        g_hash_table_add(used, g_strdup(folder));
        frc = put_person(run, outs, p, folder, &ferr);
        pho_free(folder);
    }
    outs->stage = NULL;
    g_hash_table_destroy(used);
    /* As for a group: what was made goes in place, then the catalog records it. */
    if (rc == 0) {
        int src = pho_organize__batch_commit(&stage, run->out_dir, frc ? NULL : &ferr);
        frc = frc ? frc : src;
        rc = pho_organize__out_record_placed(run, &stage, err);
    }
    pho_organize__batch_discard(&stage);
    if (rc == 0)
        rc = pho_catalog_commit(run->cat, err);
    if (rc == 0 && frc)
        rc = pho_err_set(err, frc, "%s", ferr.msg);
    return rc;
}
