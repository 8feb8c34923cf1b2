/* SPDX-License-Identifier: MIT */
/*
 * Shot assembly: which files of a scan are one capture, which sidecars go
 * with which photo, which photos are edits of which (docs/shots.md). Names
 * are compared without regard to ASCII case, within one folder. Two sorted
 * views of the photos answer every question: by (folder, name) for sidecars
 * that name a whole file, by (folder, stem) for those that name a stem.
 */
#include "core/common.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pho/image.h"
#include "pho/shot.h"

/* Takeout shortens a JSON's name to fit this many characters (".json" included);
 * a name at least this long may have lost the end of its photo's name. */
#define TAKEOUT_NAME_CUT 46

struct entry {
    size_t index;    /* in the scan's items */
    const char *dir; /* the path up to its last '/' (not included) */
    size_t dir_len;
    char *lname;     /* base name, ASCII lower-case; owned */
    size_t stem_len; /* length of lname before its last '.' (all of it when none) */
    int format;
};

/* by_name and by_stem hold item indices; they are sorted as entry pointers (the
 * comparators then need no context) and turned into indices after. */
struct views {
    struct entry *e;
    size_t n;
    size_t *by_name, *by_stem;
};

static void entry_init(struct entry *e, const struct pho_scan_item *it)
{
    const char *slash = strrchr(it->path, '/');
    const char *base = slash ? slash + 1 : it->path;
    e->dir = it->path;
    e->dir_len = slash ? (size_t)(slash - it->path) : 0;
    e->lname = pho_strdup(base);
    if (e->lname) {
        for (char *c = e->lname; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        const char *dot = strrchr(e->lname, '.');
        e->stem_len = dot && dot != e->lname ? (size_t)(dot - e->lname) : strlen(e->lname);
    }
    e->format = it->format_hint;
}

static int cmp_dir(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, PHO_MIN(alen, blen));
    return c ? c : (alen > blen) - (alen < blen);
}

static int cmp_index(const struct entry *a, const struct entry *b)
{
    return (a->index > b->index) - (a->index < b->index);
}

static int cmp_by_name(const void *pa, const void *pb)
{
    const struct entry *a = *(const struct entry *const *)pa, *b = *(const struct entry *const *)pb;
    int c = cmp_dir(a->dir, a->dir_len, b->dir, b->dir_len);
    if (c == 0)
        c = strcmp(a->lname, b->lname);
    return c ? c : cmp_index(a, b);
}

static int cmp_by_stem(const void *pa, const void *pb)
{
    const struct entry *a = *(const struct entry *const *)pa, *b = *(const struct entry *const *)pb;
    int c = cmp_dir(a->dir, a->dir_len, b->dir, b->dir_len);
    if (c == 0)
        c = cmp_dir(a->lname, a->stem_len, b->lname, b->stem_len);
    if (c == 0)
        c = strcmp(a->lname, b->lname);
    return c ? c : cmp_index(a, b);
}

/* Sorts @n item indices by @cmp, through a scratch array of entry pointers. */
static int sort_view(size_t *view, struct entry *e, size_t n,
                     int (*cmp)(const void *, const void *))
{
    struct entry **ptr = pho_reallocarray(NULL, n ? n : 1, sizeof(*ptr));
    if (!ptr)
        return PHO_ENOMEM;
    for (size_t i = 0; i < n; i++)
        ptr[i] = &e[i];
    qsort(ptr, n, sizeof(*ptr), cmp);
    for (size_t i = 0; i < n; i++)
        view[i] = ptr[i]->index;
    pho_free(ptr);
    return 0;
}

/* First position in @view (by_name, or by_stem when @stem) whose (folder, name or stem) is
 * not below (@dir, @key). */
static size_t lower_bound(const struct views *v, bool stem, const char *dir, size_t dir_len,
                          const char *key, size_t key_len)
{
    const size_t *view = stem ? v->by_stem : v->by_name;
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct entry *e = &v->e[view[mid]];
        int c = cmp_dir(e->dir, e->dir_len, dir, dir_len);
        if (c == 0)
            c = cmp_dir(e->lname, stem ? e->stem_len : strlen(e->lname), key, key_len);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool same_dir(const struct entry *e, const char *dir, size_t dir_len)
{
    return e->dir_len == dir_len && memcmp(e->dir, dir, dir_len) == 0;
}

/* The photo named exactly @name in @dir, SIZE_MAX when none. */
static size_t find_name(const struct views *v, const char *dir, size_t dir_len, const char *name,
                        size_t name_len)
{
    size_t at = lower_bound(v, false, dir, dir_len, name, name_len);
    if (at < v->n) {
        const struct entry *e = &v->e[v->by_name[at]];
        if (same_dir(e, dir, dir_len) && strlen(e->lname) == name_len &&
            memcmp(e->lname, name, name_len) == 0)
            return v->by_name[at];
    }
    return SIZE_MAX;
}

/* The first photo (by name) in @dir whose name starts with @prefix, SIZE_MAX when none. */
static size_t find_prefix(const struct views *v, const char *dir, size_t dir_len,
                          const char *prefix, size_t len)
{
    size_t at = lower_bound(v, false, dir, dir_len, prefix, len);
    if (at < v->n) {
        const struct entry *e = &v->e[v->by_name[at]];
        if (same_dir(e, dir, dir_len) && strncmp(e->lname, prefix, len) == 0)
            return v->by_name[at];
    }
    return SIZE_MAX;
}

/* Position in by_stem of the first photo of stem @stem in @dir (v->n when none). */
static size_t find_stem(const struct views *v, const char *dir, size_t dir_len, const char *stem,
                        size_t stem_len)
{
    size_t lo = lower_bound(v, true, dir, dir_len, stem, stem_len);
    if (lo < v->n) {
        const struct entry *e = &v->e[v->by_stem[lo]];
        if (same_dir(e, dir, dir_len) && e->stem_len == stem_len &&
            memcmp(e->lname, stem, stem_len) == 0)
            return lo;
    }
    return v->n;
}

static bool same_stem(const struct entry *a, const struct entry *b)
{
    return a->dir_len == b->dir_len && memcmp(a->dir, b->dir, a->dir_len) == 0 &&
           a->stem_len == b->stem_len && memcmp(a->lname, b->lname, a->stem_len) == 0;
}

bool pho_shot_is_rendition(int format)
{
    return format == PHO_FORMAT_JPEG || format == PHO_FORMAT_HEIC || format == PHO_FORMAT_HEIF;
}

/* The main file of the shot of stem @stem in @dir: a rendition when there is one. */
static size_t stem_main(const struct views *v, const struct pho_shot_map *m, const char *dir,
                        size_t dir_len, const char *stem, size_t stem_len)
{
    size_t at = find_stem(v, dir, dir_len, stem, stem_len);
    size_t first = SIZE_MAX;
    for (size_t k = at; k < v->n && same_stem(&v->e[v->by_stem[k]], &v->e[v->by_stem[at]]); k++) {
        size_t i = v->by_stem[k];
        if (m->part_of[i] != SIZE_MAX)
            continue;
        if (pho_shot_is_rendition(v->e[i].format))
            return i;
        if (first == SIZE_MAX)
            first = i;
    }
    return first;
}

/* RAW + rendition of one stem: the first JPEG (else HEIF) is analysed, the first RAW and
 * any further rendition go with it. Other files of the stem stay photos of their own. */
static void pair_stem(const struct views *v, struct pho_shot_map *m, size_t from, size_t to)
{
    size_t main = SIZE_MAX, raw = SIZE_MAX;
    for (size_t k = from; k < to; k++) {
        size_t i = v->by_stem[k];
        int f = v->e[i].format;
        if (pho_format_is_raw(f) && raw == SIZE_MAX)
            raw = i;
        if (f == PHO_FORMAT_JPEG && (main == SIZE_MAX || v->e[main].format != PHO_FORMAT_JPEG))
            main = i;
        else if (pho_shot_is_rendition(f) && main == SIZE_MAX)
            main = i;
    }
    if (main == SIZE_MAX || raw == SIZE_MAX)
        return;
    m->part_of[raw] = main;
    m->role[raw] = PHO_SHOT_RAW;
    for (size_t k = from; k < to; k++) {
        size_t i = v->by_stem[k];
        if (i != main && pho_shot_is_rendition(v->e[i].format)) {
            m->part_of[i] = main;
            m->role[i] = PHO_SHOT_RENDITION2;
        }
    }
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* "img_e1234" -> "img_1234" (@letter 'e': iOS edits; 'o': the original's AAE). Writes the
 * original stem to @out; false when @stem is not of that form. */
static bool ios_original(const char *stem, size_t len, char letter, char *out, size_t size)
{
    for (size_t i = 1; i + 2 < len; i++) {
        if (stem[i] == '_' && stem[i + 1] == letter && all_digits(stem + i + 2, len - i - 2)) {
            if (len >= size)
                return false;
            memcpy(out, stem, i + 1);
            memcpy(out + i + 1, stem + i + 2, len - i - 2);
            out[len - 1] = '\0';
            return true;
        }
    }
    return false;
}

/* "name(2)" or "name (2)": the length of "name", 0 when @stem does not end that way. */
static size_t dup_base(const char *stem, size_t len, unsigned *n)
{
    if (len < 4 || stem[len - 1] != ')')
        return 0;
    size_t open = len - 2;
    while (open > 0 && isdigit((unsigned char)stem[open]))
        open--;
    if (stem[open] != '(' || open == len - 2 || open == 0)
        return 0;
    *n = (unsigned)strtoul(stem + open + 1, NULL, 10);
    size_t base = open;
    if (base > 1 && stem[base - 1] == ' ')
        base--;
    return base;
}

/* Which photo @i is an edit or copy of (a shot's main file), SIZE_MAX when none. */
static size_t edit_original(const struct views *v, const struct pho_shot_map *m, size_t i,
                            uint8_t *kind)
{
    const struct entry *e = &v->e[i];
    char stem[1024];
    size_t len = e->stem_len;
    if (len >= sizeof(stem))
        return SIZE_MAX;
    static const char edited[] = "-edited";
    size_t el = sizeof(edited) - 1;
    unsigned n = 0;
    size_t base;
    if (ios_original(e->lname, len, 'e', stem, sizeof(stem))) {
        *kind = PHO_EDIT_IOS;
        len -= 1;
    } else if (len > el && memcmp(e->lname + len - el, edited, el) == 0) {
        *kind = PHO_EDIT_EDITED;
        len -= el;
        memcpy(stem, e->lname, len);
    } else if ((base = dup_base(e->lname, len, &n)) > 0) {
        *kind = PHO_EDIT_DUPLICATE;
        len = base;
        memcpy(stem, e->lname, len);
    } else {
        return SIZE_MAX;
    }
    size_t o = stem_main(v, m, e->dir, e->dir_len, stem, len);
    return o == i ? SIZE_MAX : o;
}

/* Takeout: "name.ext.json", "name.ext.supplemental-metadata.json" (either cut short to
 * fit TAKEOUT_NAME_CUT characters), "name.ext(1).json" for "name(1).ext", "name.json". */
static size_t takeout_owner(const struct views *v, const struct entry *j)
{
    char core[1024];
    size_t len = strlen(j->lname) - 5; /* ".json" */
    if (len == 0 || len >= sizeof(core))
        return SIZE_MAX;
    memcpy(core, j->lname, len);
    core[len] = '\0';
    unsigned dup = 0;
    size_t base = dup_base(core, len, &dup);
    if (base && core[base] == '(') /* "(1)" right after the photo's name, no space */
        core[len = base] = '\0';
    else
        dup = 0;
    /* ".supplemental-metadata", whole or cut short (at least ".s"). */
    static const char supp[] = "supplemental-metadata";
    char *dot = strrchr(core, '.');
    if (dot && dot[1] && strncmp(dot + 1, supp, strlen(dot + 1)) == 0 && dot > core &&
        strlen(dot + 1) <= sizeof(supp) - 1 && strchr(core, '.') != dot) {
        *dot = '\0';
        len = (size_t)(dot - core);
    }
    if (dup) {
        /* "name.ext" + (n) -> "name(n).ext" */
        char *d = strrchr(core, '.');
        size_t stem = d ? (size_t)(d - core) : len;
        char name[1100];
        snprintf(name, sizeof(name), "%.*s(%u)%s", (int)stem, core, dup, core + stem);
        return find_name(v, j->dir, j->dir_len, name, strlen(name));
    }
    size_t o = find_name(v, j->dir, j->dir_len, core, len);
    if (o == SIZE_MAX && strlen(j->lname) >= TAKEOUT_NAME_CUT && len >= 8)
        o = find_prefix(v, j->dir, j->dir_len, core, len);
    return o;
}

static void match_companion(const struct views *v, struct pho_shot_map *m, size_t k,
                            const struct pho_scan_item *it)
{
    struct entry j;
    entry_init(&j, it);
    if (!j.lname)
        return;
    const char *ext = j.lname + j.stem_len;
    size_t o = SIZE_MAX;
    enum pho_companion_kind kind = PHO_COMPANION_NONE;
    char stem[1024];
    if (!strcmp(ext, ".xmp")) {
        o = find_name(v, j.dir, j.dir_len, j.lname, j.stem_len);
        kind = PHO_COMPANION_XMP_FULL;
        if (o == SIZE_MAX) {
            const char *dot = memchr(j.lname, '.', j.stem_len);
            kind = PHO_COMPANION_XMP;
            /* "name.xmp"; never "name.ext.xmp" whose photo is missing */
            if (!dot)
                o = stem_main(v, m, j.dir, j.dir_len, j.lname, j.stem_len);
        }
    } else if (!strcmp(ext, ".aae")) {
        kind = PHO_COMPANION_AAE;
        if (ios_original(j.lname, j.stem_len, 'o', stem, sizeof(stem)))
            o = stem_main(v, m, j.dir, j.dir_len, stem, j.stem_len - 1);
        else
            o = stem_main(v, m, j.dir, j.dir_len, j.lname, j.stem_len);
    } else if (!strcmp(ext, ".thm")) {
        kind = PHO_COMPANION_THM;
        o = stem_main(v, m, j.dir, j.dir_len, j.lname, j.stem_len);
    } else if (!strcmp(ext, ".mov") || !strcmp(ext, ".mp4")) {
        kind = PHO_COMPANION_VIDEO;
        o = stem_main(v, m, j.dir, j.dir_len, j.lname, j.stem_len);
        /* A Live Photo's still is a JPEG or HEIF; a RAW's namesake video is not its motion. */
        if (o != SIZE_MAX && !pho_shot_is_rendition(v->e[o].format))
            o = SIZE_MAX;
    } else if (!strcmp(ext, ".json")) {
        kind = PHO_COMPANION_TAKEOUT;
        o = takeout_owner(v, &j);
    }
    if (o != SIZE_MAX) {
        m->owner[k] = o;
        m->kind[k] = (uint8_t)kind;
    }
    pho_free(j.lname);
}

void pho_shot_map_free(struct pho_shot_map *map)
{
    if (!map)
        return;
    pho_free(map->part_of);
    pho_free(map->role);
    pho_free(map->edit_of);
    pho_free(map->edit_kind);
    pho_free(map->owner);
    pho_free(map->kind);
    pho_free(map);
}

int pho_shot_assemble(struct pho_shot_map **out, const struct pho_scan_list *list,
                      struct pho_err *err)
{
    size_t n = list->count, no = list->nothers;
    struct pho_shot_map *m = pho_calloc(1, sizeof(*m));
    struct views v = { .n = n };
    int rc = 0;
    *out = NULL;
    if (m) {
        m->nitems = n;
        m->nothers = no;
        m->part_of = pho_reallocarray(NULL, n ? n : 1, sizeof(*m->part_of));
        m->role = pho_calloc(n ? n : 1, 1);
        m->edit_of = pho_reallocarray(NULL, n ? n : 1, sizeof(*m->edit_of));
        m->edit_kind = pho_calloc(n ? n : 1, 1);
        m->owner = pho_reallocarray(NULL, no ? no : 1, sizeof(*m->owner));
        m->kind = pho_calloc(no ? no : 1, 1);
    }
    v.e = pho_calloc(n ? n : 1, sizeof(*v.e));
    v.by_name = pho_reallocarray(NULL, n ? n : 1, sizeof(size_t));
    v.by_stem = pho_reallocarray(NULL, n ? n : 1, sizeof(size_t));
    if (!m || !m->part_of || !m->role || !m->edit_of || !m->edit_kind || !m->owner || !m->kind ||
        !v.e || !v.by_name || !v.by_stem) {
        rc = PHO_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        entry_init(&v.e[i], &list->items[i]);
        if (!v.e[i].lname) {
            rc = PHO_ENOMEM;
            goto out;
        }
        v.e[i].index = i;
        m->part_of[i] = m->edit_of[i] = SIZE_MAX;
    }
    for (size_t k = 0; k < no; k++)
        m->owner[k] = SIZE_MAX;
    if (sort_view(v.by_name, v.e, n, cmp_by_name) || sort_view(v.by_stem, v.e, n, cmp_by_stem)) {
        rc = PHO_ENOMEM;
        goto out;
    }

    for (size_t k = 0; k < n;) {
        size_t end = k + 1;
        while (end < n && same_stem(&v.e[v.by_stem[k]], &v.e[v.by_stem[end]]))
            end++;
        if (end - k > 1)
            pair_stem(&v, m, k, end);
        k = end;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t kind = PHO_EDIT_NONE;
        size_t o = m->part_of[i] == SIZE_MAX ? edit_original(&v, m, i, &kind) : SIZE_MAX;
        if (o != SIZE_MAX) {
            m->edit_of[i] = o;
            m->edit_kind[i] = kind;
        }
    }
    /* An original that is itself an edit: point at the first photo of the chain. */
    for (size_t i = 0; i < n; i++)
        for (int hop = 0; hop < 8 && m->edit_of[i] != SIZE_MAX &&
                          m->edit_of[m->edit_of[i]] != SIZE_MAX && m->edit_of[m->edit_of[i]] != i;
             hop++)
            m->edit_of[i] = m->edit_of[m->edit_of[i]];
    for (size_t k = 0; k < no; k++)
        match_companion(&v, m, k, &list->others[k]);
out:
    for (size_t i = 0; v.e && i < n; i++)
        pho_free(v.e[i].lname);
    pho_free(v.e);
    pho_free(v.by_name);
    pho_free(v.by_stem);
    if (rc) {
        pho_shot_map_free(m);
        return pho_err_set(err, rc, "shots: out of memory");
    }
    *out = m;
    return 0;
}

enum pho_companion_kind pho_shot_companion_kind(const char *photo, const char *name)
{
    struct pho_scan_item it = { .path = (char *)photo };
    it.format_hint = pho_format_from_suffix(photo);
    struct pho_scan_list list = { .items = &it, .count = 1 };
    struct pho_scan_item other = { .path = (char *)name };
    list.others = &other;
    list.nothers = 1;
    struct pho_shot_map *m = NULL;
    if (pho_shot_assemble(&m, &list, NULL) < 0)
        return PHO_COMPANION_NONE;
    enum pho_companion_kind kind =
            m->owner[0] == 0 ? (enum pho_companion_kind)m->kind[0] : PHO_COMPANION_NONE;
    pho_shot_map_free(m);
    return kind;
}

const char *pho_shot_role_name(enum pho_shot_role role)
{
    switch (role) {
    case PHO_SHOT_MAIN:
        return "main";
    case PHO_SHOT_RAW:
        return "raw";
    case PHO_SHOT_RENDITION2:
        return "rendition";
    }
    return "unknown";
}

const char *pho_companion_kind_name(enum pho_companion_kind kind)
{
    static const char *const names[] = {
        [PHO_COMPANION_NONE] = "none",        [PHO_COMPANION_XMP] = "xmp",
        [PHO_COMPANION_XMP_FULL] = "xmp",     [PHO_COMPANION_AAE] = "aae",
        [PHO_COMPANION_THM] = "thm",          [PHO_COMPANION_TAKEOUT] = "takeout",
        [PHO_COMPANION_VIDEO] = "live-video",
    };
    return (unsigned)kind < PHO_ARRAY_LEN(names) ? names[kind] : "unknown";
}

const char *pho_edit_kind_name(enum pho_edit_kind kind)
{
    static const char *const names[] = {
        [PHO_EDIT_NONE] = "none",
        [PHO_EDIT_IOS] = "ios-edit",
        [PHO_EDIT_EDITED] = "edited",
        [PHO_EDIT_DUPLICATE] = "duplicate",
    };
    return (unsigned)kind < PHO_ARRAY_LEN(names) ? names[kind] : "unknown";
}

/* @path, when it names a regular file: a copy (caller frees), else NULL. */
static char *if_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? pho_strdup(path) : NULL;
}

int pho_shot_find_takeout(char **out, const char *photo_path)
{
    *out = NULL;
    const char *slash = strrchr(photo_path, '/');
    const char *base = slash ? slash + 1 : photo_path;
    size_t dir_len = slash ? (size_t)(slash - photo_path) : 0;
    size_t size = strlen(photo_path) + 64;
    char *cand = pho_malloc(size);
    if (!cand)
        return PHO_ENOMEM;
    /* The usual forms first: no listing needed. */
    static const char *const tails[] = { ".json", ".supplemental-metadata.json" };
    for (size_t i = 0; i < PHO_ARRAY_LEN(tails) && !*out; i++) {
        snprintf(cand, size, "%s%s", photo_path, tails[i]);
        *out = if_file(cand);
    }
    /* "name(1).jpg" -> "name.jpg(1).json" */
    unsigned n = 0;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    size_t b = dup_base(base, stem, &n);
    if (!*out && b && base[b] == '(') {
        snprintf(cand, size, "%.*s%.*s%s(%u).json", (int)(base - photo_path), photo_path, (int)b,
                 base, base + stem, n);
        *out = if_file(cand);
    }
    pho_free(cand);
    if (*out)
        return 0;
    /* Shortened names: only a long photo name can have one; ask the matcher about each JSON. */
    if (strlen(base) + 5 < TAKEOUT_NAME_CUT)
        return PHO_ENOTFOUND;
    char *dir = dir_len ? pho_malloc(dir_len + 1) : pho_strdup(".");
    if (!dir)
        return PHO_ENOMEM;
    if (dir_len) {
        memcpy(dir, photo_path, dir_len);
        dir[dir_len] = '\0';
    }
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = PHO_ENOTFOUND;
    while (d && rc == PHO_ENOTFOUND && (de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcasecmp(de->d_name + len - 5, ".json") != 0 ||
            pho_shot_companion_kind(base, de->d_name) != PHO_COMPANION_TAKEOUT)
            continue;
        size_t need = dir_len + len + 2;
        *out = pho_malloc(need);
        if (!*out) {
            rc = PHO_ENOMEM;
            break;
        }
        snprintf(*out, need, "%s/%s", dir, de->d_name);
        rc = 0;
    }
    if (d)
        closedir(d);
    pho_free(dir);
    return rc;
}
