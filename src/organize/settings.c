/* SPDX-License-Identifier: MIT */
/*
 * A run's settings, in one place: what the catalog records for each run (and
 * --resume reads back), and the report's "settings" object. Only this module
 * and organize.c know where the catalog of an output folder lives.
 */
#include "core/common.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "organize/internal.h"
#include "pho/catalog.h"
#include "pho/hash.h"
#include "pho/image.h"
#include "pho/json.h"
#include "pho/organize.h"

static const char *const face_modes[] = { "groups", "all", "none" };

char *pho_organize_settings_json(const struct pho_organize_opts *o)
{
    json_t *j = json_object();
    /* The library by its canonical path and its folder's identity, so that
     * --resume continues this library from anywhere and notices when the
     * path now names another folder. */
    char *real = o->source ? realpath(o->source, NULL) : NULL;
    struct stat st;
    pho_json_set_str(j, "source", real ? real : o->source);
    if (real && stat(real, &st) == 0) {
        pho_json_set_int(j, "source_device", (long long)st.st_dev);
        pho_json_set_int(j, "source_inode", (long long)st.st_ino);
    }
    free(real);
    pho_json_set_str(j, "grouping", o->grouping == PHO_GROUP_RULE_CLASSIC ? "classic" : "auto");
    pho_json_set_int(j, "threshold", o->threshold);
    pho_json_set_real(j, "time_window", o->time_window);
    pho_json_set_int(j, "min_group_size", (long long)o->min_group_size);
    pho_json_set_str(j, "hash", pho_hash_kind_name(o->hash));
    pho_json_set_int(j, "limit", (long long)o->limit);
    pho_json_set_bool(j, "ml_quality", o->ml_quality);
    pho_json_set_bool(j, "include_hidden", o->include_hidden);
    pho_json_set_bool(j, "follow_symlinks", o->follow_symlinks);
    pho_json_set_int(j, "max_pixels", (long long)o->max_pixels);
    pho_json_set_int(j, "threads", (long long)o->threads);
    pho_json_set_str(j, "faces", face_modes[o->faces <= PHO_FACES_NONE ? o->faces : 0]);
    pho_json_set_str(j, "face_backend", o->face_backend);
    /* Where the face models were, so that the result can be made again from here (a
     * decision in the viewer, `decide`, --resume) without being told again. */
    if (o->models_dir) {
        char *canon = realpath(o->models_dir, NULL);
        pho_json_set_str(j, "models_dir", canon ? canon : o->models_dir);
        free(canon);
    }
    pho_json_set_real(j, "min_face", o->min_face);
    pho_json_set_bool(j, "gpu", o->gpu);
    pho_json_set_int(j, "gpu_device", o->gpu_device);
    pho_json_set_str(j, "link", pho_link_mode_name(o->link));
    pho_json_set_bool(j, "xmp", o->xmp.in_output);
    pho_json_set_bool(j, "xmp_beside_sources", o->xmp.beside_sources);
    pho_json_set_str(j, "xmp_style", pho_xmp_style_name(o->xmp.style));
    pho_json_set_int(j, "xmp_rating_others", o->xmp.rating_others);
    pho_json_set_str(j, "xmp_label", pho_xmp_label_name(o->xmp.label));
    pho_json_set_bool(j, "tag_only", o->tag_only);
    pho_json_set_bool(j, "people_folders", o->people_folders);
    pho_json_set_bool(j, "face_swap", o->face_swap);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    char *out = s ? pho_strdup(s) : NULL;
    free(s);
    return out;
}

/* Fills @rec from the recorded JSON; marks in rec->present what it holds. */
static void parse_record(struct pho_organize_record *rec, json_t *j)
{
    struct pho_organize_opts *o = &rec->opts;
    json_t *v;
    if (json_is_string(v = json_object_get(j, "source"))) {
        pho_strlcpy(rec->source, json_string_value(v), sizeof(rec->source));
        o->source = rec->source;
        rec->present |= PHO_SET_SOURCE;
    }
    json_t *dev = json_object_get(j, "source_device"), *ino = json_object_get(j, "source_inode");
    if (json_is_integer(dev) && json_is_integer(ino) && rec->source[0] == '/') {
        rec->source_identified = true;
        rec->source_device = (unsigned long long)json_integer_value(dev);
        rec->source_inode = (unsigned long long)json_integer_value(ino);
    }
    /* Runs before the auto rule existed used the original tool's rule. */
    v = json_object_get(j, "grouping");
    o->grouping = json_is_string(v) && !strcmp(json_string_value(v), "auto")
                          ? PHO_GROUP_RULE_AUTO
                          : PHO_GROUP_RULE_CLASSIC;
    rec->present |= PHO_SET_GROUPING;
    if (json_is_integer(v = json_object_get(j, "threshold"))) {
        o->threshold = (int)json_integer_value(v);
        rec->present |= PHO_SET_THRESHOLD;
    }
    if (json_is_number(v = json_object_get(j, "time_window"))) {
        o->time_window = json_number_value(v);
        rec->present |= PHO_SET_WINDOW;
    }
    if (json_is_integer(v = json_object_get(j, "min_group_size"))) {
        o->min_group_size = (size_t)json_integer_value(v);
        rec->present |= PHO_SET_MIN;
    }
    if (json_is_string(v = json_object_get(j, "hash")) &&
        pho_hash_kind_parse(&o->hash, json_string_value(v)) == 0)
        rec->present |= PHO_SET_HASH;
    if (json_is_integer(v = json_object_get(j, "limit"))) {
        o->limit = (size_t)json_integer_value(v);
        rec->present |= PHO_SET_LIMIT;
    }
    if (json_is_boolean(v = json_object_get(j, "ml_quality"))) {
        o->ml_quality = json_is_true(v);
        rec->present |= PHO_SET_ML;
    }
    if (json_is_boolean(v = json_object_get(j, "include_hidden"))) {
        o->include_hidden = json_is_true(v);
        rec->present |= PHO_SET_HIDDEN;
    }
    if (json_is_boolean(v = json_object_get(j, "follow_symlinks"))) {
        o->follow_symlinks = json_is_true(v);
        rec->present |= PHO_SET_FOLLOW;
    }
    if (json_is_integer(v = json_object_get(j, "max_pixels"))) {
        o->max_pixels = (uint64_t)json_integer_value(v);
        rec->present |= PHO_SET_PIXELS;
    }
    if (json_is_integer(v = json_object_get(j, "threads"))) {
        o->threads = (unsigned)json_integer_value(v);
        rec->present |= PHO_SET_THREADS;
    }
    /* Runs from before --link made copies. */
    if (!json_is_string(v = json_object_get(j, "link")) ||
        pho_link_mode_parse(&o->link, json_string_value(v)) < 0)
        o->link = PHO_LINK_COPY;
    rec->present |= PHO_SET_LINK;
    if (json_is_boolean(v = json_object_get(j, "xmp"))) {
        o->xmp.in_output = json_is_true(v);
        rec->present |= PHO_SET_XMP;
    }
    if (json_is_boolean(v = json_object_get(j, "xmp_beside_sources"))) {
        o->xmp.beside_sources = json_is_true(v);
        rec->present |= PHO_SET_XMP_SOURCES;
    }
    if (json_is_string(v = json_object_get(j, "xmp_style")) &&
        pho_xmp_style_parse(&o->xmp.style, json_string_value(v)) == 0)
        rec->present |= PHO_SET_XMP_STYLE;
    if (json_is_integer(v = json_object_get(j, "xmp_rating_others"))) {
        o->xmp.rating_others = (int)json_integer_value(v);
        rec->present |= PHO_SET_XMP_RATING;
    }
    if (json_is_string(v = json_object_get(j, "xmp_label")) &&
        pho_xmp_label_parse(&o->xmp.label, json_string_value(v)) == 0)
        rec->present |= PHO_SET_XMP_LABEL;
    if (json_is_boolean(v = json_object_get(j, "tag_only"))) {
        o->tag_only = json_is_true(v);
        rec->present |= PHO_SET_TAG_ONLY;
    }
    if (json_is_boolean(v = json_object_get(j, "people_folders"))) {
        o->people_folders = json_is_true(v);
        rec->present |= PHO_SET_PEOPLE_FOLDERS;
    }
    if (json_is_boolean(v = json_object_get(j, "face_swap"))) {
        o->face_swap = json_is_true(v);
        rec->present |= PHO_SET_FACE_SWAP;
    }
    if (json_is_string(v = json_object_get(j, "faces"))) {
        const char *m = json_string_value(v);
        o->faces = !strcmp(m, "all")    ? PHO_FACES_ALL
                   : !strcmp(m, "none") ? PHO_FACES_NONE
                                        : PHO_FACES_GROUPS;
        rec->present |= PHO_SET_FACES;
    }
    if (json_is_string(v = json_object_get(j, "models_dir"))) {
        pho_strlcpy(rec->models_dir, json_string_value(v), sizeof(rec->models_dir));
        o->models_dir = rec->models_dir;
    }
    if (json_is_string(v = json_object_get(j, "face_backend"))) {
        pho_strlcpy(rec->face_backend, json_string_value(v), sizeof(rec->face_backend));
        o->face_backend = rec->face_backend;
        rec->present |= PHO_SET_BACKEND;
    }
    if (json_is_number(v = json_object_get(j, "min_face"))) {
        o->min_face = (float)json_number_value(v);
        rec->present |= PHO_SET_MIN_FACE;
    }
    if (json_is_boolean(v = json_object_get(j, "gpu"))) {
        o->gpu = json_is_true(v);
        json_t *d = json_object_get(j, "gpu_device");
        o->gpu_device = json_is_integer(d) ? (int)json_integer_value(d) : 0;
        rec->present |= PHO_SET_GPU;
    }
}

int pho_organize__record_parse(struct pho_organize_record *rec, const char *text,
                               struct pho_err *err)
{
    memset(rec, 0, sizeof(*rec));
    json_t *j = json_loads(text, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return pho_err_set(err, PHO_ECORRUPT,
                           "organize: the settings recorded in the catalog are unreadable");
    }
    parse_record(rec, j);
    json_decref(j);
    return 0;
}

int pho_organize_last_run(struct pho_organize_record *rec, const char *output, struct pho_err *err)
{
    memset(rec, 0, sizeof(*rec));
    bool shared = false;
    char *db = pho_organize__catalog_where(output, NULL, &shared);
    struct pho_catalog *cat = NULL;
    char *text = NULL;
    bool finished = false;
    int rc = 0;
    if (!db) {
        rc = pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
        goto out;
    }
    if (!shared && access(db, F_OK) != 0) {
        rc = pho_err_set(err, PHO_ENOTFOUND, "organize: %s has no earlier run (no %s)", output, db);
        goto out;
    }
    rc = pho_catalog_open(&cat, db, err);
    if (rc == 0)
        rc = pho_catalog_last_run(cat, &text, &finished, err);
    if (rc)
        goto out;
    if (!text) {
        rc = pho_err_set(err, PHO_ENOTFOUND, "organize: %s has no earlier run", output);
        goto out;
    }
    rc = pho_organize__record_parse(rec, text, err);
    rec->finished = finished;
out:
    pho_free(text);
    pho_catalog_close(cat);
    pho_free(db);
    return rc;
}

int pho_organize_select_rule(struct pho_organize_opts *o, unsigned *given)
{
    const unsigned classic = PHO_SET_THRESHOLD | PHO_SET_WINDOW | PHO_SET_HASH;
    if (*given & classic) {
        if ((*given & PHO_SET_GROUPING) && o->grouping == PHO_GROUP_RULE_AUTO)
            return PHO_EINVAL;
        o->grouping = PHO_GROUP_RULE_CLASSIC;
        *given |= PHO_SET_GROUPING;
    }
    if (o->grouping == PHO_GROUP_RULE_CLASSIC && !(*given & PHO_SET_MIN))
        o->min_group_size = 3;
    return 0;
}

void pho_organize_record_apply(struct pho_organize_opts *o, const struct pho_organize_record *rec,
                               unsigned given)
{
    const struct pho_organize_opts *r = &rec->opts;
    unsigned take = rec->present & ~given;
    if (!o->models_dir && rec->models_dir[0])
        o->models_dir = rec->models_dir;
    if (take & PHO_SET_SOURCE)
        o->source = r->source;
    if (take & PHO_SET_GROUPING)
        o->grouping = r->grouping;
    if (take & PHO_SET_THRESHOLD)
        o->threshold = r->threshold;
    if (take & PHO_SET_WINDOW)
        o->time_window = r->time_window;
    if (take & PHO_SET_MIN)
        o->min_group_size = r->min_group_size;
    if (take & PHO_SET_HASH)
        o->hash = r->hash;
    if (take & PHO_SET_LIMIT)
        o->limit = r->limit;
    if (take & PHO_SET_ML)
        o->ml_quality = r->ml_quality;
    if (take & PHO_SET_HIDDEN)
        o->include_hidden = r->include_hidden;
    if (take & PHO_SET_FOLLOW)
        o->follow_symlinks = r->follow_symlinks;
    if (take & PHO_SET_PIXELS)
        o->max_pixels = r->max_pixels;
    if (take & PHO_SET_THREADS)
        o->threads = r->threads;
    if (take & PHO_SET_FACES)
        o->faces = r->faces;
    if (take & PHO_SET_BACKEND)
        o->face_backend = r->face_backend;
    if (take & PHO_SET_MIN_FACE)
        o->min_face = r->min_face;
    if (take & PHO_SET_LINK)
        o->link = r->link;
    if (take & PHO_SET_XMP)
        o->xmp.in_output = r->xmp.in_output;
    if (take & PHO_SET_XMP_SOURCES)
        o->xmp.beside_sources = r->xmp.beside_sources;
    if (take & PHO_SET_XMP_STYLE)
        o->xmp.style = r->xmp.style;
    if (take & PHO_SET_XMP_RATING)
        o->xmp.rating_others = r->xmp.rating_others;
    if (take & PHO_SET_XMP_LABEL)
        o->xmp.label = r->xmp.label;
    if (take & PHO_SET_TAG_ONLY)
        o->tag_only = r->tag_only;
    if (take & PHO_SET_PEOPLE_FOLDERS)
        o->people_folders = r->people_folders;
    if (take & PHO_SET_FACE_SWAP)
        o->face_swap = r->face_swap;
    if (take & PHO_SET_GPU) {
        o->gpu = r->gpu;
        o->gpu_device = r->gpu_device;
    }
}

/* The report's "settings": the names of the original tool's report first. */
json_t *pho_organize__settings_report(const struct pho_organize_opts *o)
{
    json_t *s = json_object();
    /* Names shared with the original tool's report come first. */
    json_object_set_new(s, "source_type", json_string("local"));
    /* The library by its canonical path, as the catalog records it for --resume. */
    char *real = realpath(o->source, NULL);
    pho_json_set_path(s, "source", real ? real : o->source);
    free(real);
    pho_json_set_path(s, "output", o->output);
    json_object_set_new(s, "similarity_threshold", json_integer(o->threshold));
    json_object_set_new(s, "grouping",
                        json_string(o->grouping == PHO_GROUP_RULE_CLASSIC ? "classic" : "auto"));
    json_object_set_new(s, "time_window", json_real(o->time_window));
    json_object_set_new(s, "use_time_window", json_boolean(o->time_window > 0));
    json_object_set_new(s, "min_group_size",
                        json_integer((json_int_t)PHO_MAX(o->min_group_size, 2)));
    json_object_set_new(s, "limit", json_integer((json_int_t)o->limit));
    json_object_set_new(s, "threads", json_integer(o->threads));
    json_object_set_new(s, "enable_ml_quality", json_boolean(o->ml_quality));
    json_object_set_new(s, "hash", json_string(pho_hash_kind_name(o->hash)));
    json_object_set_new(s, "dry_run", json_boolean(o->dry_run));
    json_object_set_new(
            s, "max_pixels",
            json_integer((json_int_t)(o->max_pixels ? o->max_pixels : PHO_DEFAULT_MAX_PIXELS)));
    json_object_set_new(s, "include_hidden", json_boolean(o->include_hidden));
    json_object_set_new(s, "follow_symlinks", json_boolean(o->follow_symlinks));
    static const char *const modes[] = { "groups", "all", "none" };
    json_object_set_new(s, "faces", json_string(modes[o->faces <= PHO_FACES_NONE ? o->faces : 0]));
    json_object_set_new(s, "face_backend", json_string(o->face_backend ? o->face_backend : "auto"));
    json_object_set_new(s, "gpu", json_boolean(o->gpu));
    json_object_set_new(s, "gpu_device", json_integer(o->gpu_device));
    json_object_set_new(s, "min_face", json_real(o->min_face > 0 ? o->min_face : 0.02));
    json_object_set_new(s, "link", json_string(pho_link_mode_name(o->link)));
    json_object_set_new(s, "tag_only", json_boolean(o->tag_only));
    json_object_set_new(s, "people_folders", json_boolean(o->people_folders));
    json_object_set_new(s, "face_swap", json_boolean(o->face_swap));
    json_object_set_new(s, "xmp", json_boolean(o->xmp.in_output));
    json_object_set_new(s, "xmp_beside_sources", json_boolean(o->xmp.beside_sources));
    json_object_set_new(s, "xmp_style", json_string(pho_xmp_style_name(o->xmp.style)));
    json_object_set_new(s, "xmp_rating_best", json_integer(o->xmp.rating_best));
    json_object_set_new(s, "xmp_rating_others", json_integer(o->xmp.rating_others));
    json_object_set_new(s, "xmp_label", json_string(pho_xmp_label_name(o->xmp.label)));
    return s;
}

static const char *const link_modes[] = {
    [PHO_LINK_AUTO] = "auto",       [PHO_LINK_COPY] = "copy",
    [PHO_LINK_REFLINK] = "reflink", [PHO_LINK_HARDLINK] = "hardlink",
    [PHO_LINK_SYMLINK] = "symlink",
};

const char *pho_link_mode_name(enum pho_link_mode mode)
{
    return (unsigned)mode < PHO_ARRAY_LEN(link_modes) ? link_modes[mode] : "auto";
}

int pho_link_mode_parse(enum pho_link_mode *out, const char *name)
{
    for (size_t i = 0; name && i < PHO_ARRAY_LEN(link_modes); i++) {
        if (!strcmp(name, link_modes[i])) {
            *out = (enum pho_link_mode)i;
            return 0;
        }
    }
    return PHO_EINVAL;
}
