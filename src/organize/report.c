/* SPDX-License-Identifier: MIT */
/*
 * The run report (JSON, schema in docs/report.md) and each group's
 * metadata.txt. Both are pure functions of the run result, so an interrupted
 * and resumed run writes the same report as an uninterrupted one (apart from
 * the "generated_at" and "run" members).
 */
#include "core/common.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "organize/internal.h"
#include "organize/run.h"
#include "pho/hash.h"
#include "pho/image.h"
#include "pho/json.h"
#include "pho/shot.h"

/* 2: people (the persons, and each face's person). */
#define REPORT_VERSION 2

static json_t *real_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? pho_json_str(s) : json_null();
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static json_t *quality_json(const struct pho_quality *q)
{
    json_t *o = json_object();
    json_object_set_new(o, "score", real_or_null(q->score));
    json_object_set_new(o, "sharpness", real_or_null(q->sharpness));
    json_object_set_new(o, "clipped_high", real_or_null(q->clipped_high));
    json_object_set_new(o, "clipped_low", real_or_null(q->clipped_low));
    json_object_set_new(o, "mean_luma", real_or_null(q->mean_luma));
    json_object_set_new(o, "noise", real_or_null(q->noise));
    json_object_set_new(o, "brisque", real_or_null(q->brisque));
    json_object_set_new(o, "megapixels", real_or_null(q->megapixels));
    return o;
}

static json_t *faces_json(const struct pho_photo *p, const struct pho_face_list *fl,
                          const int64_t *persons, const char *embed_model)
{
    json_t *arr = json_array();
    /* Pixel boxes in the photo as displayed (upright, full size). */
    bool swap = p->meta.orientation >= 5 && p->meta.orientation <= 8;
    double w = swap ? p->meta.height : p->meta.width, h = swap ? p->meta.width : p->meta.height;
    for (size_t i = 0; i < fl->count; i++) {
        const struct pho_face *f = &fl->faces[i];
        json_t *o = json_object();
        const double box[4] = { f->box[0], f->box[1], f->box[2], f->box[3] };
        const long long box_px[4] = { lround(f->box[0] * w), lround(f->box[1] * h),
                                      lround(f->box[2] * w), lround(f->box[3] * h) };
        json_object_set_new(o, "box", pho_json_reals(box, 4));
        json_object_set_new(o, "box_px", pho_json_ints(box_px, 4));
        json_object_set_new(o, "score", real_or_null(f->score));
        json_object_set_new(o, "eyes", json_string(pho_face_eyes_word(f)));
        json_object_set_new(o, "ear_left", real_or_null(f->ear_l));
        json_object_set_new(o, "ear_right", real_or_null(f->ear_r));
        json_object_set_new(o, "smile", real_or_null(f->smile));
        json_object_set_new(o, "mouth_hidden", json_boolean(f->mouth_hidden));
        json_object_set_new(o, "sharpness", real_or_null(f->sharpness));
        json_object_set_new(o, "yaw", real_or_null(f->yaw));
        json_object_set_new(o, "person",
                            persons && persons[i] > 0 ? json_integer(persons[i]) : json_null());
        if (f->embed_dim) {
            char ref[4200];
            snprintf(ref, sizeof(ref), "%s:%s#%zu", embed_model, p->rel, i);
            json_object_set_new(o, "embedding", json_string(ref));
        } else {
            json_object_set_new(o, "embedding", json_null());
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

/* A person's name ("" when unnamed), or NULL when @id is not one of this run's persons. */
static const char *person_name(const struct pho_organize_result *r, int64_t id)
{
    for (size_t k = 0; k < r->npeople; k++)
        if (r->people[k].id == id)
            return r->people[k].name;
    return NULL;
}

/* The persons of the library (docs/people.md); null when faces of every photo were not
 * analysed. */
static json_t *people_json(const struct pho_organize_result *r)
{
    if (!r->face_persons)
        return json_null();
    json_t *arr = json_array();
    for (size_t k = 0; k < r->npeople; k++) {
        const struct pho_person_summary *p = &r->people[k];
        json_t *o = json_object();
        pho_json_set_int(o, "id", p->id);
        pho_json_set_str(o, "name", p->name[0] ? p->name : NULL);
        pho_json_set_bool(o, "hidden", p->hidden);
        pho_json_set_int(o, "faces", (long long)p->faces);
        pho_json_set_int(o, "photos", (long long)p->photos);
        pho_json_set_path(o, "sample", r->photos[p->sample].rel);
        if (p->picture)
            pho_json_set_path(o, "picture", p->picture);
        json_array_append_new(arr, o);
    }
    return arr;
}

/* How a member joined its group (the auto rule); null for the group's first photo. */
/* A group's face swap (--enable-face-swap): the repaired file and each closed-eyed face of
 * the best shot, with where its eyes came from and the checks' measures. */
json_t *pho_organize__swap_json(const struct pho_organize_result *r, const struct pho_group_plan *g)
{
    json_t *o = json_object();
    if (g->swap.file[0])
        pho_json_set_path(o, "file", g->swap.file);
    else
        pho_json_set(o, "file", json_null());
    pho_json_set_int(o, "faces_fixed", (long long)g->swap.nfixed);
    json_t *faces = json_array();
    for (size_t i = 0; i < g->swap.nfaces; i++) {
        const struct pho_swap_fix *s = &g->swap.faces[i];
        json_t *jf = json_object();
        if (s->face != SIZE_MAX)
            pho_json_set_int(jf, "face", (long long)s->face + 1);
        pho_json_set(
                jf, "box",
                pho_json_reals((const double[4]){ s->box[0], s->box[1], s->box[2], s->box[3] }, 4));
        pho_json_set_bool(jf, "fixed", s->fixed);
        if (s->donor != SIZE_MAX) {
            pho_json_set_path(jf, "from", r->photos[s->donor].rel);
            pho_json_set_int(jf, "from_face", (long long)s->donor_face + 1);
        } else {
            pho_json_set(jf, "from", json_null());
        }
        json_object_set_new(jf, "ear_before", real_or_null(s->ear_before));
        json_object_set_new(jf, "ear_after", real_or_null(s->ear_after));
        json_object_set_new(jf, "identity_distance", real_or_null(s->distance));
        json_object_set_new(jf, "identity_distance_after", real_or_null(s->distance_after));
        json_object_set_new(jf, "seam", real_or_null(s->seam));
        json_object_set_new(jf, "match", real_or_null(s->match));
        pho_json_set_str(jf, "why", s->why);
        json_array_append_new(faces, jf);
    }
    pho_json_set(o, "faces", faces);
    return o;
}

static json_t *link_json(const struct pho_organize_result *r, const struct pho_group_why *w)
{
    if (w->via == SIZE_MAX)
        return json_null();
    json_t *j = json_object();
    pho_json_set_path(j, "via", r->photos[w->via].rel);
    pho_json_set_str(j, "reason", pho_group_reason_name(w->reason));
    pho_json_set_int(j, "hash_bits", w->bits);
    pho_json_set_int(j, "allowed_bits", w->allowed_bits);
    pho_json_set_real(j, "similarity", w->score);
    pho_json_set_real(j, "needed_similarity", w->needed_score);
    pho_json_set_real(j, "time_gap", w->gap);
    pho_json_set_bool(j, "same_camera", w->same_camera);
    return j;
}

/* The shot a photo file belongs to, its companions and what it is an edit of
 * (docs/shots.md); members only where there is something to say. */
static void shot_json(json_t *o, const struct pho_organize_result *r, size_t i)
{
    const struct pho_photo *p = &r->photos[i];
    if (p->part_of != SIZE_MAX) {
        pho_json_set_path(o, "shot_of", r->photos[p->part_of].rel);
        pho_json_set_str(o, "shot_role", pho_shot_role_name(p->shot_role));
    } else if (r->shot_next && r->shot_next[i] != SIZE_MAX) {
        json_t *files = json_array();
        for (size_t f = r->shot_next[i]; f != SIZE_MAX; f = r->shot_next[f]) {
            json_t *jf = json_object();
            pho_json_set_path(jf, "path", r->photos[f].rel);
            pho_json_set_str(jf, "role", pho_shot_role_name(r->photos[f].shot_role));
            json_array_append_new(files, jf);
        }
        json_object_set_new(o, "shot_files", files);
    }
    size_t nc;
    const struct pho_companion *c = pho_organize_companions(r, i, &nc);
    if (nc) {
        json_t *arr = json_array();
        for (size_t k = 0; k < nc; k++) {
            json_t *jc = json_object();
            pho_json_set_path(jc, "path", c[k].rel);
            pho_json_set_str(jc, "kind", pho_companion_kind_name(c[k].kind));
            json_array_append_new(arr, jc);
        }
        json_object_set_new(o, "companions", arr);
    }
    if (p->edit_of != SIZE_MAX) {
        pho_json_set_path(o, "edit_of", r->photos[p->edit_of].rel);
        pho_json_set_str(o, "edit_kind", pho_edit_kind_name(p->edit_kind));
    }
}

static json_t *photo_json(const struct pho_organize_result *r, size_t i, long group, bool best,
                          const struct pho_face_list *fl, const char *embed_model)
{
    const struct pho_photo *p = &r->photos[i];
    const int64_t *persons = r->face_persons ? r->face_persons[i] : NULL;
    const struct pho_meta *m = &p->meta;
    json_t *o = json_object();
    char buf[64];
    pho_json_set_path(o, "path", p->rel);
    pho_json_set_path(o, "filename", base_name(p->rel));
    json_object_set_new(o, "filesize", json_integer((json_int_t)p->size));
    shot_json(o, r, i);
    if (p->error) {
        pho_json_set_str(o, "error", p->error_msg);
        json_object_set_new(o, "group", json_null());
        return o;
    }
    json_object_set_new(o, "format", json_string(pho_format_name(m->format)));
    json_object_set_new(o, "width", json_integer(m->width));
    json_object_set_new(o, "height", json_integer(m->height));
    json_object_set_new(o, "orientation", json_integer(m->orientation));
    pho_time_format(buf, sizeof(buf), &m->time);
    json_object_set_new(o, "captured", m->time.source ? json_string(buf) : json_null());
    json_object_set_new(o, "time_source", json_string(pho_time_source_name(m->time.source)));
    json_object_set_new(o, "make", str_or_null(m->make));
    json_object_set_new(o, "model", str_or_null(m->model));
    json_object_set_new(o, "lens", str_or_null(m->lens));
    json_object_set_new(o, "exposure_time",
                        (m->flags & PHO_META_EXPOSURE_TIME) ? json_real(m->exposure_time)
                                                            : json_null());
    json_object_set_new(o, "fnumber",
                        (m->flags & PHO_META_FNUMBER) ? json_real(m->fnumber) : json_null());
    json_object_set_new(o, "iso", (m->flags & PHO_META_ISO) ? json_integer(m->iso) : json_null());
    json_object_set_new(o, "exposure_bias",
                        (m->flags & PHO_META_EXPOSURE_BIAS) ? json_real(m->exposure_bias)
                                                            : json_null());
    json_object_set_new(o, "focal_length",
                        (m->flags & PHO_META_FOCAL_LENGTH) ? json_real(m->focal_length)
                                                           : json_null());
    if (m->flags & PHO_META_GPS) {
        json_t *g = json_object();
        pho_json_set_real(g, "lat", m->gps_lat);
        pho_json_set_real(g, "lon", m->gps_lon);
        if (m->flags & PHO_META_GPS_ALT)
            json_object_set_new(g, "alt", json_real(m->gps_alt));
        if (m->flags & PHO_META_GPS_TAKEOUT)
            pho_json_set_str(g, "source", "Takeout");
        json_object_set_new(o, "gps", g);
    } else {
        json_object_set_new(o, "gps", json_null());
    }
    if (m->note[0])
        pho_json_set_str(o, "note", m->note);
    pho_hash_format(buf, p->dhash);
    json_object_set_new(o, "dhash", json_string(buf));
    pho_hash_format(buf, p->phash);
    json_object_set_new(o, "phash", json_string(buf));
    if (p->part_of != SIZE_MAX) { /* a RAW beside its rendition: metadata only */
        json_object_set_new(o, "group", group >= 0 ? json_integer(group) : json_null());
        json_object_set_new(o, "is_best", json_boolean(best));
        return o;
    }
    json_object_set_new(o, "hashed_from",
                        json_string(p->hashed_from_thumbnail ? "thumbnail" : "pixels"));
    /* Known only for what a group needed: an ungrouped photo's quality shows as unknown even
     * when an earlier run measured it, so the report depends on the photos alone. */
    struct pho_quality unknown;
    pho_organize__quality_unknown(&unknown);
    json_object_set_new(
            o, "quality",
            quality_json(p->hashed_from_thumbnail && group < 0 ? &unknown : &p->quality));
    json_object_set_new(o, "faces",
                        fl && fl->image_w ? faces_json(p, fl, persons, embed_model) : json_null());
    json_object_set_new(o, "group", group >= 0 ? json_integer(group) : json_null());
    json_object_set_new(o, "is_best", json_boolean(best));
    return o;
}

char *pho_organize__report_json(const struct pho_organize_result *r,
                                const struct pho_organize_opts *o, const char *generated_at)
{
    long *group_of = pho_calloc(r->nphotos ? r->nphotos : 1, sizeof(*group_of));
    bool *is_best = pho_calloc(r->nphotos ? r->nphotos : 1, sizeof(*is_best));
    if (!group_of || !is_best) {
        pho_free(group_of);
        pho_free(is_best);
        return NULL;
    }
    for (size_t i = 0; i < r->nphotos; i++)
        group_of[i] = -1;
    size_t grouped = 0;
    for (size_t g = 0; g < r->ngroups; g++) {
        for (size_t k = 0; k < r->groups[g].count; k++)
            group_of[r->groups[g].members[k]] = (long)g + 1;
        is_best[r->groups[g].best] = true;
        grouped += r->groups[g].count;
    }
    /* The other files of a shot share its group and its crown. */
    for (size_t i = 0; i < r->nphotos; i++) {
        size_t m = r->photos[i].part_of;
        if (m != SIZE_MAX) {
            group_of[i] = group_of[m];
            is_best[i] = is_best[m];
        }
    }

    json_t *root = json_object();
    json_object_set_new(root, "schema", json_string("photo-organizer/report"));
    json_object_set_new(root, "version", json_integer(REPORT_VERSION));
    json_object_set_new(root, "generated_at", json_string(generated_at));
    json_t *tool = json_object();
    pho_json_set_str(tool, "name", "photo-organizer");
    pho_json_set_str(tool, "version", PHO_VERSION);
    json_object_set_new(root, "tool", tool);
    json_object_set_new(root, "settings", pho_organize__settings_report(o));

    json_t *counts = json_object();
    pho_json_set_int(counts, "photos", (long long)r->nphotos);
    pho_json_set_int(counts, "analysed", (long long)(r->nphotos - r->failed));
    pho_json_set_int(counts, "failed", (long long)r->failed);
    pho_json_set_int(counts, "groups", (long long)r->ngroups);
    pho_json_set_int(counts, "grouped_photos", (long long)grouped);
    pho_json_set_int(counts, "ungrouped_photos", (long long)(r->nshots - grouped));
    pho_json_set_int(counts, "shots", (long long)r->nshots);
    pho_json_set_int(counts, "companions", (long long)r->ncompanions);
    json_object_set_new(root, "counts", counts);
    json_t *faces = json_object();
    pho_json_set_str(faces, "backend", r->face_backend[0] ? r->face_backend : NULL);
    pho_json_set_str(faces, "embedding_model", r->embed_model[0] ? r->embed_model : NULL);
    pho_json_set_int(faces, "photos", (long long)(r->faces_analysed + r->faces_from_catalog));
    json_object_set_new(root, "faces", faces);
    json_t *run = json_object();
    pho_json_set_int(run, "computed", (long long)r->analysed);
    pho_json_set_int(run, "from_catalog", (long long)r->from_catalog);
    pho_json_set_int(run, "files_written", (long long)r->files_written);
    pho_json_set_int(run, "files_unchanged", (long long)r->files_unchanged);
    pho_json_set_int(run, "files_removed", (long long)r->files_removed);
    json_t *made = json_object();
    pho_json_set_int(made, "reflink", (long long)r->files_reflinked);
    pho_json_set_int(made, "hardlink", (long long)r->files_hardlinked);
    pho_json_set_int(made, "symlink", (long long)r->files_symlinked);
    json_object_set_new(run, "files_linked", made);
    json_t *side = json_object();
    pho_json_set_int(side, "written", (long long)r->sidecars_written);
    pho_json_set_int(side, "merged", (long long)r->sidecars_merged);
    pho_json_set_int(side, "backed_up", (long long)r->sidecars_backed_up);
    pho_json_set_int(side, "unchanged", (long long)r->sidecars_unchanged);
    pho_json_set_int(side, "left_alone", (long long)r->nsidecar_issues);
    json_object_set_new(run, "sidecars", side);
    pho_json_set_int(run, "decisions", (long long)r->decisions);
    if (o->face_swap) {
        json_t *sw = json_object();
        pho_json_set_int(sw, "groups_with_closed_eyes", (long long)r->swap_groups);
        pho_json_set_int(sw, "repaired", (long long)r->swap_written);
        pho_json_set_int(sw, "faces_fixed", (long long)r->swap_faces_fixed);
        json_object_set_new(run, "face_swap", sw);
    }
    pho_json_set_bool(run, "interrupted", r->interrupted);
    json_object_set_new(run, "faces_computed", json_integer((json_int_t)r->faces_analysed));
    json_object_set_new(run, "faces_from_catalog", json_integer((json_int_t)r->faces_from_catalog));
    json_object_set_new(run, "face_device", json_string(r->face_device));
    json_t *pipe = json_object();
    pho_json_set_int(pipe, "batch_size", (long long)r->face_batch_size);
    pho_json_set_int(pipe, "batches", (long long)r->face_batches);
    pho_json_set_real(pipe, "decode_s", r->t_face_decode);
    pho_json_set_real(pipe, "queue_wait_s", r->t_face_wait);
    pho_json_set_real(pipe, "inference_s", r->t_face_infer);
    json_object_set_new(run, "face_pipeline", pipe);
    json_t *timings = json_object();
    pho_json_set_real(timings, "scan_s", r->t_scan);
    pho_json_set_real(timings, "analyse_s", r->t_analyse);
    pho_json_set_real(timings, "group_s", r->t_group);
    pho_json_set_real(timings, "faces_s", r->t_faces);
    pho_json_set_real(timings, "write_s", r->t_write);
    pho_json_set_real(timings, "total_s", r->t_total);
    json_t *stages = json_object();
    pho_json_set_real(stages, "detect", r->face_stats.detect);
    pho_json_set_real(stages, "landmarks", r->face_stats.landmarks);
    pho_json_set_real(stages, "smile", r->face_stats.smile);
    pho_json_set_real(stages, "embed", r->face_stats.embed);
    pho_json_set(timings, "face_stages_s", stages);
    json_object_set_new(run, "timings", timings);
    json_object_set_new(root, "run", run);

    json_t *groups = json_array();
    char buf[64];
    for (size_t g = 0; g < r->ngroups; g++) {
        const struct pho_group_plan *gp = &r->groups[g];
        const struct pho_photo *best = &r->photos[gp->best];
        json_t *jg = json_object();
        json_object_set_new(jg, "group_index", json_integer((json_int_t)g + 1));
        json_object_set_new(jg, "dir", json_string(gp->dir));
        json_object_set_new(jg, "photo_count", json_integer((json_int_t)gp->count));
        const char *best_name = NULL;
        for (size_t k = 0; k < gp->count; k++)
            if (gp->members[k] == gp->best)
                best_name = gp->names[k];
        json_t *jb = json_object();
        pho_json_set_path(jb, "id", best->rel);
        pho_json_set_path(jb, "filename", best_name ? best_name : "");
        json_object_set_new(jg, "best_photo", jb);
        pho_json_set_str(jg, "why", gp->why);
        if (gp->swap.nfaces)
            json_object_set_new(jg, "face_swap", pho_organize__swap_json(r, gp));
        if (gp->error) {
            json_t *je = json_object();
            pho_json_set_str(je, "code", pho_status_name(gp->error));
            pho_json_set_str(je, "reason", gp->error_msg);
            json_object_set_new(jg, "error", je);
        }
        json_t *members = json_array();
        for (size_t k = 0; k < gp->count; k++) {
            const struct pho_photo *p = &r->photos[gp->members[k]];
            pho_hash_format(buf, o->hash == PHO_HASH_PHASH ? p->phash : p->dhash);
            json_t *jm = json_object();
            pho_json_set_path(jm, "id", p->rel);
            pho_json_set_path(jm, "filename", gp->names[k]);
            const char *slash = strrchr(p->rel, '/');
            const char *base = slash ? slash + 1 : p->rel;
            if (strcmp(base, gp->names[k]) != 0) /* renamed: a clash, or too long for OUT */
                pho_json_set_path(jm, "original_name", base);
            json_object_set_new(jm, "is_best", json_boolean(gp->members[k] == gp->best));
            json_object_set_new(jm, "flag",
                                p->user_flag == PHO_FLAG_PICK     ? json_string("pick")
                                : p->user_flag == PHO_FLAG_REJECT ? json_string("reject")
                                                                  : json_null());
            json_object_set_new(jm, "hash", json_string(buf));
            json_object_set_new(jm, "score", real_or_null(p->quality.score));
            if (gp->links)
                json_object_set_new(jm, "linked", link_json(r, &gp->links[k]));
            /* Every file the shot put in the group's folder, and where from. */
            json_t *files = json_array();
            for (size_t f = 0; f < gp->nfiles; f++) {
                const struct pho_group_file *gf = &gp->files[f];
                if (gf->member != k)
                    continue;
                json_t *jf = json_object();
                pho_json_set_path(jf, "filename", gf->name);
                if (gf->photo != SIZE_MAX) {
                    pho_json_set_path(jf, "source", r->photos[gf->photo].rel);
                    pho_json_set_str(jf, "role",
                                     pho_shot_role_name(r->photos[gf->photo].shot_role));
                } else {
                    pho_json_set_path(jf, "source", r->companions[gf->companion].rel);
                    pho_json_set_str(jf, "role",
                                     pho_companion_kind_name(r->companions[gf->companion].kind));
                }
                json_array_append_new(files, jf);
            }
            json_object_set_new(jm, "files", files);
            if (p->edit_of != SIZE_MAX) {
                pho_json_set_path(jm, "edit_of", r->photos[p->edit_of].rel);
                pho_json_set_str(jm, "edit_kind", pho_edit_kind_name(p->edit_kind));
            }
            json_array_append_new(members, jm);
        }
        json_object_set_new(jg, "photos", members);
        json_array_append_new(groups, jg);
    }
    json_object_set_new(root, "groups", groups);

    json_t *photos = json_array();
    json_t *errors = json_array();
    for (size_t i = 0; i < r->nphotos; i++) {
        const struct pho_photo *p = &r->photos[i];
        json_array_append_new(photos, photo_json(r, i, group_of[i], is_best[i],
                                                 r->faces ? &r->faces[i] : NULL, r->embed_model));
        if (p->error) {
            json_t *je = json_object();
            pho_json_set_path(je, "path", p->rel);
            pho_json_set_str(je, "code", pho_status_name(p->error));
            pho_json_set_str(je, "reason", p->error_msg);
            json_array_append_new(errors, je);
        }
    }
    for (size_t g = 0; g < r->ngroups; g++) {
        const struct pho_group_plan *gp = &r->groups[g];
        if (!gp->error)
            continue;
        json_t *je = json_object();
        pho_json_set_path(je, "path", gp->dir);
        pho_json_set_str(je, "code", pho_status_name(gp->error));
        pho_json_set_str(je, "reason", gp->error_msg);
        json_array_append_new(errors, je);
    }
    json_object_set_new(root, "photos", photos);
    json_object_set_new(root, "errors", errors);
    json_object_set_new(root, "people", people_json(r));
    /* Only when there are some: reports of ordinary runs stay as they were. */
    if (r->nkept) {
        json_t *kept = json_array();
        for (size_t i = 0; i < r->nkept; i++) {
            json_t *jk = json_object();
            pho_json_set_path(jk, "path", r->kept[i].path);
            pho_json_set_path(jk, "ours", r->kept[i].ours);
            json_array_append_new(kept, jk);
        }
        json_object_set_new(root, "user_files_kept", kept);
    }
    if (r->nsidecar_issues) {
        json_t *left = json_array();
        for (size_t i = 0; i < r->nsidecar_issues; i++) {
            json_t *je = json_object();
            pho_json_set_path(je, "path", r->sidecar_issues[i].path);
            pho_json_set_str(je, "in", r->sidecar_issues[i].in_output ? "output" : "source");
            pho_json_set_str(je, "why", r->sidecar_issues[i].why);
            json_array_append_new(left, je);
        }
        json_object_set_new(root, "sidecars_left_alone", left);
    }

    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(root);
    pho_free(group_of);
    pho_free(is_best);
    if (!text)
        return NULL;
    /* jansson allocates with malloc; hand back a pho_malloc'd copy with a final newline. */
    size_t n = strlen(text);
    char *out = pho_malloc(n + 2);
    if (out) {
        memcpy(out, text, n);
        out[n] = '\n';
        out[n + 1] = '\0';
    }
    free(text);
    return out;
}

/* ---- metadata.txt ------------------------------------------------------ */

struct text {
    char *s;
    size_t len, cap;
    bool oom;
};

static void add(struct text *t, const char *fmt, ...) PHO_PRINTF(2, 3);

static void add(struct text *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = PHO_MAX(t->cap * 2, t->len + (size_t)n + 256);
        char *s = pho_reallocarray(t->s, cap, 1);
        if (!s) {
            t->oom = true;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static void rule(struct text *t, char c)
{
    char line[82];
    memset(line, c, 80);
    line[80] = '\n';
    line[81] = '\0';
    add(t, "%s", line);
}

char *pho_organize__metadata_txt(const struct pho_organize_result *r,
                                 const struct pho_group_plan *g)
{
    struct text t = { 0 };
    char buf[64];
    /* Names and camera strings are escaped: a newline in a file name must
     * not forge a line of this file, nor ESC drive the terminal it is shown on. */
    char s1[4 * PATH_MAX + 1], s2[4 * PATH_MAX + 1];
    add(&t, "Photo Group - %zu images\n", g->count);
    rule(&t, '=');
    add(&t, "\nBest photo: %s\nWhy: %s\n", pho_text_shown(s1, sizeof(s1), r->photos[g->best].rel),
        pho_text_shown(s2, sizeof(s2), g->why));
    /* Which face of the best shot had its eyes from which take (--enable-face-swap). */
    if (g->swap.file[0])
        add(&t, "Repaired: %s\n", pho_text_shown(s1, sizeof(s1), g->swap.file));
    for (size_t i = 0; i < g->swap.nfaces; i++) {
        const struct pho_swap_fix *sf = &g->swap.faces[i];
        if (sf->fixed)
            add(&t, "  face %zu: eyes from %s face %zu (EAR %.3f -> %.3f, seam %.2f)\n",
                sf->face + 1, pho_text_shown(s1, sizeof(s1), r->photos[sf->donor].rel),
                sf->donor_face + 1, sf->ear_before, sf->ear_after, sf->seam);
        else
            add(&t, "  face %zu: not repaired: %s\n", sf->face + 1,
                pho_text_shown(s2, sizeof(s2), sf->why));
    }
    add(&t, "\n");
    for (size_t k = 0; k < g->count; k++) {
        const struct pho_photo *p = &r->photos[g->members[k]];
        const struct pho_meta *m = &p->meta;
        add(&t, "Photo %zu: %s%s\n", k + 1, pho_text_shown(s1, sizeof(s1), g->names[k]),
            g->members[k] == g->best ? "  [BEST]" : "");
        rule(&t, '-');
        add(&t, "source: %s\n", pho_text_shown(s1, sizeof(s1), p->rel));
        if (p->user_flag != PHO_FLAG_NONE)
            add(&t, "flag: %s by you\n", p->user_flag == PHO_FLAG_PICK ? "picked" : "rejected");
        for (size_t f = 0; f < g->nfiles; f++) {
            const struct pho_group_file *gf = &g->files[f];
            if (gf->member != k || gf->photo == g->members[k])
                continue;
            const char *role = gf->photo != SIZE_MAX
                                       ? pho_shot_role_name(r->photos[gf->photo].shot_role)
                                       : pho_companion_kind_name(r->companions[gf->companion].kind);
            add(&t, "with: %s (%s)\n", pho_text_shown(s1, sizeof(s1), gf->name), role);
        }
        if (p->edit_of != SIZE_MAX)
            add(&t, "%s of: %s\n", pho_edit_kind_name(p->edit_kind),
                pho_text_shown(s1, sizeof(s1), r->photos[p->edit_of].rel));
        if (g->links && g->links[k].via != SIZE_MAX) {
            char why[256];
            add(&t, "joined: %s, with %s\n", pho_group_why_format(why, sizeof(why), &g->links[k]),
                pho_text_shown(s1, sizeof(s1), r->photos[g->links[k].via].rel));
        }
        add(&t, "filesize: %llu\n", (unsigned long long)p->size);
        add(&t, "format: %s\n", pho_format_name(m->format));
        add(&t, "dimensions: %ux%u\n", m->width, m->height);
        add(&t, "orientation: %d\n", m->orientation);
        pho_time_format(buf, sizeof(buf), &m->time);
        add(&t, "captured: %s (%s)\n", m->time.source ? buf : "unknown",
            pho_time_source_name(m->time.source));
        if (m->make[0] || m->model[0])
            add(&t, "camera: %s%s%s\n", pho_text_shown(s1, sizeof(s1), m->make),
                m->make[0] && m->model[0] ? " " : "", pho_text_shown(s2, sizeof(s2), m->model));
        if (m->lens[0])
            add(&t, "lens: %s\n", pho_text_shown(s1, sizeof(s1), m->lens));
        if (m->flags & PHO_META_EXPOSURE_TIME)
            add(&t, "exposure_time: %.6g s\n", m->exposure_time);
        if (m->flags & PHO_META_FNUMBER)
            add(&t, "f_number: %.2g\n", m->fnumber);
        if (m->flags & PHO_META_ISO)
            add(&t, "iso: %u\n", m->iso);
        if (m->flags & PHO_META_GPS)
            add(&t, "gps: %.6f, %.6f%s\n", m->gps_lat, m->gps_lon,
                (m->flags & PHO_META_GPS_TAKEOUT) ? " (Takeout)" : "");
        pho_hash_format(buf, p->dhash);
        add(&t, "dhash: %s\n", buf);
        pho_hash_format(buf, p->phash);
        add(&t, "phash: %s\n", buf);
        const struct pho_quality *q = &p->quality;
        add(&t, "quality_score: %.4f\n", q->score);
        add(&t, "sharpness: %.1f\n", q->sharpness);
        add(&t, "exposure: mean %.1f, clipped %.2f%% high / %.2f%% low\n", q->mean_luma,
            q->clipped_high * 100, q->clipped_low * 100);
        add(&t, "noise: %.2f\n", q->noise);
        if (isfinite(q->brisque))
            add(&t, "brisque: %.2f\n", q->brisque);
        const struct pho_face_list *fl = r->faces ? &r->faces[g->members[k]] : NULL;
        if (fl && fl->image_w) {
            int open = 0, closed = 0, unknown = 0;
            for (size_t i = 0; i < fl->count; i++) {
                open += fl->faces[i].eyes_closed == 0;
                closed += fl->faces[i].eyes_closed == 1;
                unknown += fl->faces[i].eyes_closed < 0;
            }
            add(&t, "faces: %zu (eyes open %d, closed %d, unknown %d)\n", fl->count, open, closed,
                unknown);
            const int64_t *pp = r->face_persons ? r->face_persons[g->members[k]] : NULL;
            for (size_t i = 0; i < fl->count; i++) {
                const struct pho_face *f = &fl->faces[i];
                char who[160] = "";
                const char *name = pp && pp[i] > 0 ? person_name(r, pp[i]) : NULL;
                if (name && name[0])
                    snprintf(who, sizeof(who), ", %s (person %lld)",
                             pho_text_shown(s1, sizeof(s1), name), (long long)pp[i]);
                else if (name)
                    snprintf(who, sizeof(who), ", person %lld", (long long)pp[i]);
                add(&t,
                    "  face %zu: eyes %s (EAR %.3f / %.3f), smile %.2f, sharpness %.0f, "
                    "box %.3f,%.3f-%.3f,%.3f%s\n",
                    i + 1, pho_face_eyes_word(f), f->ear_l, f->ear_r, f->smile, f->sharpness,
                    f->box[0], f->box[1], f->box[2], f->box[3], who);
            }
        } else if (r->faces) {
            add(&t, "faces: not analysed\n");
        }
        add(&t, "\n");
    }
    if (t.oom) {
        pho_free(t.s);
        return NULL;
    }
    return t.s;
}
