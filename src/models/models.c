/* SPDX-License-Identifier: MIT */
/*
 * The model manifest (models/manifest.json, written by tools/models and
 * read here with jansson), where model files are installed, and a loader
 * that refuses a wrong file before ONNX Runtime ever parses it.
 */
#include "core/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <jansson.h>

#include "core/file.h"
#include "pho/models.h"

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static void copy_json_str(char *dst, size_t size, json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    pho_strlcpy(dst, json_is_string(v) ? json_string_value(v) : "", size);
}

static int read_shapes(json_t *arr, size_t max, size_t *n, size_t *rank,
                       int64_t (*shape)[PHO_TENSOR_MAX_DIMS])
{
    if (!json_is_array(arr) || json_array_size(arr) > max)
        return -1;
    *n = json_array_size(arr);
    for (size_t i = 0; i < *n; i++) {
        json_t *dims = json_object_get(json_array_get(arr, i), "shape");
        if (!json_is_array(dims) || json_array_size(dims) > PHO_TENSOR_MAX_DIMS)
            return -1;
        rank[i] = json_array_size(dims);
        for (size_t d = 0; d < rank[i]; d++) {
            json_t *v = json_array_get(dims, d);
            shape[i][d] = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
        }
    }
    return 0;
}

/* One value per channel, or one value for all (grey models list one). */
static void read_channels(float *dst, json_t *arr, float dflt)
{
    for (size_t k = 0; k < 3; k++) {
        json_t *v = json_array_get(arr, json_array_size(arr) == 1 ? 0 : k);
        dst[k] = json_is_number(v) ? (float)json_number_value(v) : dflt;
    }
}

/* Layout, colour order and normalisation of input 0. */
static int parse_input(struct pho_model_spec *s, json_t *in0)
{
    static const char *const layouts[] = {
        [PHO_MODEL_LAYOUT_NHWC] = "NHWC",
        [PHO_MODEL_LAYOUT_NCHW] = "NCHW",
        [PHO_MODEL_LAYOUT_NWHC] = "NWHC",
    };
    static const char *const colors[] = {
        [PHO_MODEL_COLOR_RGB] = "RGB",
        [PHO_MODEL_COLOR_BGR] = "BGR",
        [PHO_MODEL_COLOR_GRAY] = "GRAY",
    };
    const char *layout = json_string_value(json_object_get(in0, "layout"));
    const char *color = json_string_value(json_object_get(in0, "color"));
    s->layout = PHO_MODEL_LAYOUT_NONE;
    for (size_t i = 1; layout && i < PHO_ARRAY_LEN(layouts); i++)
        if (!strcmp(layout, layouts[i]))
            s->layout = (enum pho_model_layout)i;
    if (layout && s->layout == PHO_MODEL_LAYOUT_NONE)
        return -1;
    s->color = PHO_MODEL_COLOR_RGB;
    bool known = !color;
    for (size_t i = 0; color && i < PHO_ARRAY_LEN(colors); i++)
        if (!strcmp(color, colors[i])) {
            s->color = (enum pho_model_color)i;
            known = true;
        }
    if (!known)
        return -1;
    read_channels(s->mean, json_object_get(in0, "mean"), 0.0f);
    read_channels(s->scale, json_object_get(in0, "scale"), 1.0f);
    return 0;
}

/* Six landmark indices of one eye. */
static int read_six(int *dst, json_t *arr)
{
    if (json_array_size(arr) != 6)
        return -1;
    for (size_t i = 0; i < 6; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65535)
            return -1;
        dst[i] = (int)json_integer_value(v);
    }
    return 0;
}

/* A five_points value: a landmark index, or "mean of A and B". */
static int read_point(int *ab, json_t *v)
{
    if (json_is_integer(v)) {
        ab[0] = ab[1] = (int)json_integer_value(v);
    } else if (!json_is_string(v) ||
               sscanf(json_string_value(v), "mean of %d and %d", &ab[0], &ab[1]) != 2) {
        return -1;
    }
    return ab[0] >= 0 && ab[1] >= 0 && ab[0] <= 65535 && ab[1] <= 65535 ? 0 : -1;
}

/* The landmark indices of eye-contour and mesh models (ear_indices, five_points, mirrored). */
static int parse_points(struct pho_model_spec *s, json_t *e)
{
    static const char *const five[] = { "right_eye", "left_eye", "nose", "mouth_right",
                                        "mouth_left" };
    json_t *ear = json_object_get(e, "ear_indices"), *pts = json_object_get(e, "five_points");
    s->mirrored_eye = -1;
    if (ear) {
        if (read_six(s->eye_points[0], json_object_get(ear, "right_eye")) < 0 ||
            read_six(s->eye_points[1], json_object_get(ear, "left_eye")) < 0)
            return -1;
        s->has_eye_points = true;
    }
    if (pts) {
        for (size_t i = 0; i < PHO_ARRAY_LEN(five); i++)
            if (read_point(s->five_points[i], json_object_get(pts, five[i])) < 0)
                return -1;
        s->has_five_points = true;
    }
    const char *mirrored = json_string_value(json_object_get(e, "mirrored"));
    if (mirrored) {
        if (!strcmp(mirrored, "right_eye"))
            s->mirrored_eye = 0;
        else if (!strcmp(mirrored, "left_eye"))
            s->mirrored_eye = 1;
        else
            return -1;
    }
    return 0;
}

static int parse_spec(struct pho_model_spec *s, json_t *e)
{
    memset(s, 0, sizeof(*s));
    copy_json_str(s->name, sizeof(s->name), e, "name");
    copy_json_str(s->file, sizeof(s->file), e, "file");
    copy_json_str(s->role, sizeof(s->role), e, "role");
    copy_json_str(s->user_pack, sizeof(s->user_pack), e, "user_pack");
    copy_json_str(s->sha256, sizeof(s->sha256), e, "sha256");
    copy_json_str(s->how_to_get, sizeof(s->how_to_get), e, "how_to_get");
    copy_json_str(s->license, sizeof(s->license), e, "license");
    s->shipped = json_is_true(json_object_get(e, "shipped"));
    json_t *size = json_object_get(e, "size");
    s->size = json_is_integer(size) && json_integer_value(size) > 0
                      ? (uint64_t)json_integer_value(size)
                      : 0;
    if (!s->name[0] || !s->file[0] || strchr(s->file, '/'))
        return -1;
    struct pho_model_contract *c = &s->contract;
    if (read_shapes(json_object_get(e, "inputs"), 4, &c->ninputs, c->in_rank, c->in_shape) ||
        read_shapes(json_object_get(e, "outputs"), 16, &c->noutputs, c->out_rank, c->out_shape))
        return -1;
    json_t *in0 = json_array_get(json_object_get(e, "inputs"), 0);
    if (parse_input(s, in0) < 0 || parse_points(s, e) < 0)
        return -1;
    return 0;
}

/* First existing candidate for the manifest; the tools folder sits beside it. */
static int find_manifest(struct pho_models *m, const char *path)
{
    const char *env = getenv("PHO_MODELS_MANIFEST");
    const char *candidates[] = {
        path,
        env,
        PHO_DATADIR "/photo-organizer/models/manifest.json",
        PHO_SOURCE_ROOT "/models/manifest.json",
    };
    for (size_t i = 0; i < PHO_ARRAY_LEN(candidates); i++) {
        if (candidates[i] && file_exists(candidates[i])) {
            pho_strlcpy(m->manifest_path, candidates[i], sizeof(m->manifest_path));
            break;
        }
        if (i == 0 && path)
            return -1; /* an explicit path must exist */
    }
    if (!m->manifest_path[0])
        return -1;
    const char *tools[] = {
        PHO_DATADIR "/photo-organizer/tools/models",
        PHO_SOURCE_ROOT "/tools/models",
    };
    for (size_t i = 0; i < PHO_ARRAY_LEN(tools); i++) {
        char probe[4200];
        snprintf(probe, sizeof(probe), "%s/install_models.py", tools[i]);
        if (file_exists(probe)) {
            pho_strlcpy(m->tools_dir, tools[i], sizeof(m->tools_dir));
            break;
        }
    }
    return 0;
}

int pho_models_load(struct pho_models **out, const char *path, struct pho_err *err)
{
    *out = NULL;
    struct pho_models *m = pho_calloc(1, sizeof(*m));
    if (!m)
        return pho_err_set(err, PHO_ENOMEM, "models: out of memory");
    int rc = 0;
    json_t *root = NULL;
    if (find_manifest(m, path) < 0) {
        rc = pho_err_set(err, PHO_ENOTFOUND,
                         "models: the model manifest (models/manifest.json) was not found%s%s",
                         path ? " at " : "", path ? path : "; set PHO_MODELS_MANIFEST");
        goto out;
    }
    json_error_t jerr;
    root = json_load_file(m->manifest_path, 0, &jerr);
    json_t *models = root ? json_object_get(root, "models") : NULL;
    if (!root || json_integer_value(json_object_get(root, "version")) != 1 ||
        !json_is_array(models)) {
        rc = pho_err_set(err, PHO_ECORRUPT, "models: %s is not a version-1 model manifest%s%s",
                         m->manifest_path, root ? "" : ": ", root ? "" : jerr.text);
        goto out;
    }
    m->count = json_array_size(models);
    m->specs = pho_calloc(m->count ? m->count : 1, sizeof(*m->specs));
    if (!m->specs) {
        rc = pho_err_set(err, PHO_ENOMEM, "models: out of memory");
        goto out;
    }
    for (size_t i = 0; i < m->count; i++) {
        if (parse_spec(&m->specs[i], json_array_get(models, i)) < 0) {
            rc = pho_err_set(err, PHO_ECORRUPT, "models: entry %zu of %s is malformed", i,
                             m->manifest_path);
            goto out;
        }
    }
out:
    json_decref(root);
    if (rc)
        pho_models_free(m);
    else
        *out = m;
    return rc;
}

void pho_models_free(struct pho_models *m)
{
    if (!m)
        return;
    pho_free(m->specs);
    pho_free(m);
}

const struct pho_model_spec *pho_models_find(const struct pho_models *m, const char *name)
{
    for (size_t i = 0; i < m->count; i++)
        if (!strcmp(m->specs[i].name, name))
            return &m->specs[i];
    return NULL;
}

void pho_models_default_dir(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        snprintf(buf, size, "%s/photo-organizer/models", xdg);
    else
        snprintf(buf, size, "%s/.local/share/photo-organizer/models",
                 home && home[0] ? home : "/tmp");
}

/*
 * A user-supplied model's how-to with the manifest's MODELS_DIR placeholder
 * replaced by the folder actually searched, so the advice can be followed as
 * printed.
 */
static const char *how_to_get(const struct pho_model_spec *s, const char *dir, char *buf,
                              size_t size)
{
    const char *at = strstr(s->how_to_get, "MODELS_DIR");
    if (!s->how_to_get[0])
        return "see docs/backends.md";
    if (!at)
        return s->how_to_get;
    int n = snprintf(buf, size, "%.*s%s%s", (int)(at - s->how_to_get), s->how_to_get, dir,
                     at + strlen("MODELS_DIR"));
    return n > 0 && (size_t)n < size ? buf : s->how_to_get;
}

int pho_models_locate(char *path, size_t size, const struct pho_model_spec *s,
                      const char *models_dir, struct pho_err *err)
{
    char def[4096];
    if (!models_dir) {
        pho_models_default_dir(def, sizeof(def));
        models_dir = def;
    }
    const char *home = getenv("HOME");
    char cand[3][4400];
    int n = 0;
    snprintf(cand[n++], sizeof(cand[0]), "%s/%s", models_dir, s->file);
    if (s->user_pack[0]) {
        snprintf(cand[n++], sizeof(cand[0]), "%s/%s/%s", models_dir, s->user_pack, s->file);
        if (home)
            snprintf(cand[n++], sizeof(cand[0]), "%s/.insightface/models/%s/%s", home, s->user_pack,
                     s->file);
    }
    for (int i = 0; i < n; i++) {
        if (file_exists(cand[i])) {
            pho_strlcpy(path, cand[i], size);
            return 0;
        }
    }
    if (s->shipped) {
        bool custom = models_dir != def;
        return pho_err_set(err, PHO_EMODEL,
                           "models: %s (%s) is not installed: expected %s; run "
                           "'photo-organizer models install%s%s'",
                           s->file, s->name, cand[0], custom ? " --models-dir " : "",
                           custom ? models_dir : "");
    }
    char how[PHO_ERR_MSG_MAX];
    return pho_err_set(err, PHO_EMODEL, "models: %s (%s) not found in %s%s%s; %s", s->file, s->name,
                       models_dir, s->user_pack[0] ? ", " : "",
                       s->user_pack[0] ? "its pack folder or ~/.insightface/models" : "",
                       how_to_get(s, models_dir, how, sizeof(how)));
}

int pho_models_verify(const struct pho_model_spec *s, const char *path, struct pho_err *err)
{
    char dir[4096], how[PHO_ERR_MSG_MAX];
    pho_strlcpy(dir, path, sizeof(dir));
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        pho_strlcpy(dir, ".", sizeof(dir));
    struct stat st;
    if (stat(path, &st) < 0)
        return pho_err_set(err, PHO_EMODEL, "models: %s: %s", path, strerror(errno));
    if (s->size && (uint64_t)st.st_size != s->size)
        return pho_err_set(err, PHO_EMODEL,
                           "models: %s is %lld bytes, expected %llu (truncated or a different "
                           "version); %s",
                           path, (long long)st.st_size, (unsigned long long)s->size,
                           s->shipped ? "run 'photo-organizer models install'"
                                      : how_to_get(s, dir, how, sizeof(how)));
    if (!s->sha256[0])
        return 0;
    struct pho_err ferr = PHO_ERR_INIT;
    FILE *f = pho_file__fopen_regular(path, "models", &ferr);
    if (!f)
        return pho_err_set(err, PHO_EMODEL, "models: %s: %s", path, pho_err_reason(&ferr));
    GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
    unsigned char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
        g_checksum_update(ck, buf, (gssize)got);
    bool read_err = ferror(f);
    fclose(f);
    int rc = 0;
    if (read_err)
        rc = pho_err_set(err, PHO_EMODEL, "models: read error in %s", path);
    else if (g_ascii_strcasecmp(g_checksum_get_string(ck), s->sha256) != 0)
        rc = pho_err_set(err, PHO_EMODEL,
                         "models: %s has the wrong checksum (sha256 %.12s..., expected %.12s...); "
                         "%s",
                         path, g_checksum_get_string(ck), s->sha256,
                         s->shipped ? "run 'photo-organizer models install' to rebuild it"
                                    : "it is not the official file");
    g_checksum_free(ck);
    return rc;
}

int pho_models_open(struct pho_model **out, struct pho_infer *inf, const struct pho_models *m,
                    const char *name, const char *models_dir, enum pho_models_trust trust,
                    struct pho_err *err)
{
    *out = NULL;
    const struct pho_model_spec *s = pho_models_find(m, name);
    if (!s)
        return pho_err_set(err, PHO_EMODEL, "models: no model called '%s' in %s", name,
                           m->manifest_path);
    char path[4200];
    int rc = pho_models_locate(path, sizeof(path), s, models_dir, err);
    if (rc == 0 && trust == PHO_MODELS_VERIFY)
        rc = pho_models_verify(s, path, err);
    if (rc == 0)
        rc = pho_model_open(out, inf, path, err);
    if (rc == 0 && (rc = pho_model_check(*out, &s->contract, err)) < 0) {
        pho_model_close(*out);
        *out = NULL;
    }
    return rc;
}
