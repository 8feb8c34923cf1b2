/* SPDX-License-Identifier: MIT */
/*
 * What an XMP sidecar says of a grouped photo, and how it goes into a sidecar
 * that may already be there (docs/xmp.md). The XMP itself is read and written
 * by Exiv2 (src/exif/xmp_shim.cpp); this file holds the rules: which rating,
 * label and keywords, and whose values win.
 *
 * Our own fields (phorg:) also record what we wrote, so a later run can tell
 * a value the user changed in their tool (theirs: kept) from ours (replaced),
 * and the keywords it added from ones the user had.
 */
#include "core/common.h"

#include <stdio.h>
#include <string.h>

#include "exif/xmp_shim.h"
#include "organize/internal.h"

#define KW_ROOT     "photo-organizer"
#define KEY_RATING  "Xmp.xmp.Rating"
#define KEY_LABEL   "Xmp.xmp.Label"
#define KEY_SUBJECT "Xmp.dc.subject"
#define KEY_HIER    "Xmp.lr.hierarchicalSubject"
#define KEY_OURS    "Xmp." PHO_XMP_PREFIX "."

static const char *const styles[] = {
    [PHO_XMP_STYLE_NAME] = "name", [PHO_XMP_STYLE_NAME_EXT] = "name.ext"
};

const char *pho_xmp_style_name(enum pho_xmp_style style)
{
    return (unsigned)style < PHO_ARRAY_LEN(styles) ? styles[style] : styles[0];
}

int pho_xmp_style_parse(enum pho_xmp_style *out, const char *name)
{
    static const struct {
        const char *name;
        enum pho_xmp_style style;
    } names[] = {
        { "name", PHO_XMP_STYLE_NAME },          { "lightroom", PHO_XMP_STYLE_NAME },
        { "capture-one", PHO_XMP_STYLE_NAME },   { "captureone", PHO_XMP_STYLE_NAME },
        { "bridge", PHO_XMP_STYLE_NAME },        { "name.ext", PHO_XMP_STYLE_NAME_EXT },
        { "darktable", PHO_XMP_STYLE_NAME_EXT }, { "digikam", PHO_XMP_STYLE_NAME_EXT },
    };
    for (size_t i = 0; name && i < PHO_ARRAY_LEN(names); i++) {
        if (!strcasecmp(name, names[i].name)) {
            *out = names[i].style;
            return 0;
        }
    }
    return PHO_EINVAL;
}

static const char *const labels[] = { "none", "Red", "Yellow", "Green", "Blue", "Purple" };

const char *pho_xmp_label_name(enum pho_xmp_label label)
{
    return (unsigned)label < PHO_ARRAY_LEN(labels) ? labels[label] : labels[0];
}

int pho_xmp_label_parse(enum pho_xmp_label *out, const char *name)
{
    for (size_t i = 0; name && i < PHO_ARRAY_LEN(labels); i++) {
        if (!strcasecmp(name, labels[i])) {
            *out = (enum pho_xmp_label)i;
            return 0;
        }
    }
    return PHO_EINVAL;
}

char *pho_organize__sidecar_name(const char *name, enum pho_xmp_style style)
{
    const char *dot = strrchr(name, '.');
    size_t stem =
            style == PHO_XMP_STYLE_NAME && dot && dot != name ? (size_t)(dot - name) : strlen(name);
    size_t n = stem + sizeof(".xmp");
    char *s = pho_malloc(n);
    if (s)
        snprintf(s, n, "%.*s.xmp", (int)stem, name);
    return s;
}

void pho_organize__decision(struct pho_organize__decision *d, const struct pho_organize_result *r,
                            const struct pho_group_plan *g, size_t m, const struct pho_xmp_opts *x)
{
    bool best = g->members[m] == g->best;
    /* An edit (IMG_E1234, -edited) of a photo: its own role, whether or not it looks alike. */
    bool edit = r->photos[g->members[m]].edit_of != SIZE_MAX;
    const char *best_name = "";
    for (size_t k = 0; k < g->count; k++)
        if (g->members[k] == g->best)
            best_name = g->names[k];
    *d = (struct pho_organize__decision){
        .group = g->dir,
        .role = best   ? "best"
                : edit ? "edit"
                       : "member",
        .best = best_name,
        .reason = g->why,
        .group_size = g->count,
        .rating = best ? x->rating_best : x->rating_others,
        .label = best ? x->label : PHO_XMP_LABEL_NONE,
    };
    /* The user's flags (docs/decisions.md): a pick is a keeper as the best shot is; a
     * reject is rated -1, what Lightroom, darktable and digiKam read as rejected. */
    uint8_t flag = r->photos[g->members[m]].user_flag;
    if (flag == PHO_FLAG_PICK) {
        d->rating = x->rating_best;
        d->label = x->label;
    } else if (flag == PHO_FLAG_REJECT) {
        d->rating = -1;
        d->label = PHO_XMP_LABEL_NONE;
    }
}

/* A list of strings being edited (owned copies). */
struct strv {
    char **v;
    size_t n;
};

static bool strv_has(const struct strv *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], x))
            return true;
    return false;
}

static int strv_add(struct strv *s, const char *x)
{
    char **v = pho_reallocarray(s->v, s->n + 1, sizeof(*v));
    if (!v)
        return PHO_ENOMEM;
    s->v = v;
    if (!(v[s->n] = pho_strdup(x)))
        return PHO_ENOMEM;
    s->n++;
    return 0;
}

/* Removes the items @drop says to. */
static void strv_filter(struct strv *s, bool (*drop)(const char *, const void *), const void *ud)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (drop(s->v[i], ud))
            pho_free(s->v[i]);
        else
            s->v[k++] = s->v[i];
    }
    s->n = k;
}

static void strv_clear(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        pho_free(s->v[i]);
    pho_free(s->v);
    *s = (struct strv){ 0 };
}

/* A property's values as our own copies (Exiv2's are freed at once). */
static int get(struct strv *out, const struct pho_xmp_doc *doc, const char *key)
{
    char **items;
    size_t n;
    *out = (struct strv){ 0 };
    if (pho_xmp__doc_get(&items, &n, doc, key) != PHO_XMP_OK)
        return PHO_ENOMEM;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = strv_add(out, items[i]);
    pho_xmp__strv_free(items, n);
    return rc;
}

static bool in_list(const char *x, const void *ud)
{
    return strv_has(ud, x);
}

static bool ours_hier(const char *x, const void *ud)
{
    (void)ud;
    return !strcmp(x, KW_ROOT) || !strncmp(x, KW_ROOT "|", sizeof(KW_ROOT));
}

static int set_bag(struct pho_xmp_doc *doc, const char *key, const struct strv *s)
{
    return pho_xmp__doc_set_bag(doc, key, (const char *const *)s->v, s->n) == PHO_XMP_OK
                   ? 0
                   : PHO_ENOMEM;
}

static int set_text(struct pho_xmp_doc *doc, const char *key, const char *value)
{
    return pho_xmp__doc_set_text(doc, key, value) == PHO_XMP_OK ? 0 : PHO_ENOMEM;
}

/*
 * A value we set in xmp: (rating, label) is replaced when absent or still what we wrote
 * last time (recorded as phorg:<name>); one the user set or changed stays. @ours NULL:
 * ours goes (the photo left its group). Sets *kept when the user's stays.
 */
static int put_ours(struct pho_xmp_doc *doc, const char *key, const char *mine, const char *ours,
                    bool *kept)
{
    struct strv cur, prev;
    int rc = get(&cur, doc, key);
    if (rc == 0)
        rc = get(&prev, doc, mine);
    else
        prev = (struct strv){ 0 };
    bool replace =
            rc == 0 && (cur.n == 0 || (prev.n == 1 && cur.n == 1 && !strcmp(cur.v[0], prev.v[0])));
    *kept = rc == 0 && !replace && ours && strcmp(cur.v[0], ours) != 0;
    if (rc == 0 && replace && (ours || cur.n))
        rc = set_text(doc, key, ours);
    if (rc == 0)
        rc = set_text(doc, mine, replace ? ours : NULL);
    strv_clear(&cur);
    strv_clear(&prev);
    return rc;
}

static int merge(struct pho_xmp_doc *doc, const struct pho_organize__decision *d, unsigned *flags)
{
    struct strv subject = { 0 }, hier = { 0 }, added = { 0 }, ours_kw = { 0 };
    int rc = get(&ours_kw, doc, KEY_OURS "Keywords");
    if (rc == 0)
        rc = get(&subject, doc, KEY_SUBJECT);
    if (rc == 0)
        rc = get(&hier, doc, KEY_HIER);
    /* Take out the keywords an earlier run added; the user's stay. */
    strv_filter(&subject, in_list, &ours_kw);
    strv_filter(&hier, ours_hier, NULL);
    char rating[16] = "", group_kw[64], size[32];
    bool kept = false;
    if (d)
        snprintf(rating, sizeof(rating), "%d", d->rating);
    if (rc == 0)
        rc = put_ours(doc, KEY_RATING, KEY_OURS "Rating", d ? rating : NULL, &kept);
    if (kept)
        *flags |= PHO_SIDECAR_KEPT_RATING;
    kept = false;
    if (rc == 0)
        rc = put_ours(doc, KEY_LABEL, KEY_OURS "Label",
                      d && d->label != PHO_XMP_LABEL_NONE ? pho_xmp_label_name(d->label) : NULL,
                      &kept);
    if (kept)
        *flags |= PHO_SIDECAR_KEPT_LABEL;
    if (rc == 0 && d) {
        /* Lightroom's form: the hierarchy in lr:hierarchicalSubject, every level of it as a
         * plain keyword in dc:subject (what darktable, digiKam and Capture One also read). */
        snprintf(group_kw, sizeof(group_kw), KW_ROOT "|%s", d->group);
        const char *flat[] = { KW_ROOT, d->group, !strcmp(d->role, "best") ? "best" : NULL };
        for (size_t i = 0; rc == 0 && i < PHO_ARRAY_LEN(flat); i++)
            if (flat[i] && !strv_has(&subject, flat[i]))
                rc = strv_add(&subject, flat[i]) || strv_add(&added, flat[i]) ? PHO_ENOMEM : 0;
        if (rc == 0)
            rc = strv_add(&hier, group_kw);
        if (rc == 0 && !strcmp(d->role, "best"))
            rc = strv_add(&hier, KW_ROOT "|best");
    }
    if (rc == 0)
        rc = set_bag(doc, KEY_SUBJECT, &subject);
    if (rc == 0)
        rc = set_bag(doc, KEY_HIER, &hier);
    if (rc == 0)
        rc = set_bag(doc, KEY_OURS "Keywords", &added);
    if (rc == 0 && d) {
        snprintf(size, sizeof(size), "%zu", d->group_size);
        const char *fields[][2] = {
            { KEY_OURS "Group", d->group }, { KEY_OURS "Role", d->role },
            { KEY_OURS "Best", d->best },   { KEY_OURS "Reason", d->reason },
            { KEY_OURS "GroupSize", size }, { KEY_OURS "Version", PHO_VERSION },
        };
        for (size_t i = 0; rc == 0 && i < PHO_ARRAY_LEN(fields); i++)
            rc = set_text(doc, fields[i][0], fields[i][1][0] ? fields[i][1] : NULL);
    } else if (rc == 0) {
        static const char *const fields[] = { "Group",  "Role",      "Best",
                                              "Reason", "GroupSize", "Version" };
        char key[64];
        for (size_t i = 0; rc == 0 && i < PHO_ARRAY_LEN(fields); i++) {
            snprintf(key, sizeof(key), KEY_OURS "%s", fields[i]);
            rc = set_text(doc, key, NULL);
        }
    }
    strv_clear(&subject);
    strv_clear(&hier);
    strv_clear(&added);
    strv_clear(&ours_kw);
    return rc;
}

/* Whether @doc has any property of ours (phorg:), and any of someone else's: what is left
 * once ours are taken out of a second copy (@old parsed again). */
static int whose(const struct pho_xmp_doc *doc, const char *old, size_t old_len, bool *ours,
                 bool *theirs)
{
    static const char *const keys[] = { "Group", "Rating", "Label", "Keywords", "Role" };
    *ours = false;
    for (size_t i = 0; !*ours && i < PHO_ARRAY_LEN(keys); i++) {
        char key[64], **items;
        size_t n = 0;
        snprintf(key, sizeof(key), KEY_OURS "%s", keys[i]);
        if (pho_xmp__doc_get(&items, &n, doc, key) == PHO_XMP_OK)
            pho_xmp__strv_free(items, n);
        *ours = n > 0;
    }
    *theirs = !pho_xmp__doc_empty(doc);
    if (!*ours || !*theirs)
        return 0;
    struct pho_xmp_doc *rest = NULL;
    unsigned flags = 0;
    int rc = pho_xmp__doc_parse(&rest, old, old_len, NULL, 0) == PHO_XMP_OK ? 0 : PHO_ENOMEM;
    if (rc == 0)
        rc = merge(rest, NULL, &flags);
    if (rc == 0)
        *theirs = !pho_xmp__doc_empty(rest);
    pho_xmp__doc_free(rest);
    return rc;
}

int pho_organize__sidecar_merge(char **out, size_t *out_len, unsigned *flags, const char *old,
                                size_t old_len, const struct pho_organize__decision *d,
                                struct pho_err *err)
{
    *out = NULL;
    *out_len = 0;
    *flags = 0;
    char why[256] = "";
    struct pho_xmp_doc *doc = NULL;
    int src = pho_xmp__doc_parse(&doc, old, old_len, why, sizeof(why));
    if (src == PHO_XMP_NOMEM)
        return pho_err_set(err, PHO_ENOMEM, "xmp: out of memory");
    if (src != PHO_XMP_OK)
        return pho_err_set(err, PHO_ECORRUPT, "not valid XMP (%s)", why);
    bool ours, theirs;
    int rc = whose(doc, old, old_len, &ours, &theirs);
    if (rc) {
        pho_xmp__doc_free(doc);
        return pho_err_set(err, PHO_ENOMEM, "xmp: out of memory");
    }
    if (theirs)
        *flags |= PHO_SIDECAR_MERGED;
    if (theirs && !ours)
        *flags |= PHO_SIDECAR_NEEDS_BACKUP;
    rc = merge(doc, d, flags);
    char *text = NULL;
    size_t len = 0;
    if (rc == 0) {
        src = pho_xmp__doc_serialize(&text, &len, doc, why, sizeof(why));
        if (src == PHO_XMP_NOMEM)
            rc = PHO_ENOMEM;
        else if (src != PHO_XMP_OK)
            rc = pho_err_set(err, PHO_ECORRUPT, "XMP could not be written (%s)", why);
    }
    if (rc == PHO_ENOMEM)
        pho_err_set(err, PHO_ENOMEM, "xmp: out of memory");
    if (rc == 0 && !(*out = pho_malloc(len + 1)))
        rc = pho_err_set(err, PHO_ENOMEM, "xmp: out of memory");
    if (rc == 0) {
        memcpy(*out, text, len + 1);
        *out_len = len;
    }
    pho_xmp__text_free(text);
    pho_xmp__doc_free(doc);
    return rc;
}
