/* SPDX-License-Identifier: MIT */
/*
 * Recursive photo discovery. Directories are read with openat()/fdopendir()
 * relative to their parent's descriptor, entries sorted by name so every run
 * sees the same order, and each directory is identified by (device, inode)
 * so symlink loops and the output folder are never entered.
 */
#include "core/common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "pho/image.h"
#include "pho/scan.h"

/* Suffixes that are known not to be photos: not even sniffed. */
static const char *const ignored_suffixes[] = {
    "mp4", "mov",  "avi", "mkv", "webm", "m4v", "wmv", "flv", "mpg",  "mpeg", "3gp",
    "mts", "m2ts", "xmp", "aae", "json", "txt", "md",  "pdf", "db",   "ini",  "thm",
    "lrv", "pp3",  "dop", "xml", "html", "htm", "csv", "zip", "gz",   "tar",  "exe",
    "dll", "so",   "log", "nfo", "wav",  "mp3", "m4a", "aac", "flac", "ogg",
};

/* Non-photo suffixes kept in the list of others: what a photo's companions use
 * (docs/shots.md). Everything else that is not a photo is only counted. */
static const char *const companion_suffixes[] = { "xmp", "aae", "thm", "json", "mov", "mp4" };

struct dir_id {
    dev_t dev;
    ino_t ino;
};

struct scan {
    const struct pho_scan_opts *o;
    struct pho_scan_list *list;
    size_t cap_items, cap_problems, cap_others;
    struct dir_id *seen;
    size_t nseen, cap_seen;
    struct dir_id exclude;
    bool have_exclude;
    char *path; /* current path buffer */
    size_t path_cap;
    size_t root_len;
};

static int add_problem(struct scan *s, const char *path, int code, const char *fmt, ...)
        PHO_PRINTF(4, 5);

static int add_problem(struct scan *s, const char *path, int code, const char *fmt, ...)
{
    struct pho_scan_list *l = s->list;
    if (l->nproblems == s->cap_problems) {
        size_t cap = s->cap_problems ? s->cap_problems * 2 : 8;
        void *p = pho_reallocarray(l->problems, cap, sizeof(*l->problems));
        if (!p)
            return PHO_ENOMEM;
        l->problems = p;
        s->cap_problems = cap;
    }
    struct pho_scan_problem *pr = &l->problems[l->nproblems];
    pr->path = pho_strdup(path);
    if (!pr->path)
        return PHO_ENOMEM;
    pr->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pr->msg, sizeof(pr->msg), fmt, ap);
    va_end(ap);
    l->nproblems++;
    return 0;
}

static bool suffix_in(const char *name, const char *const *list, size_t n)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(dot + 1, list[i]) == 0)
            return true;
    return false;
}

static bool suffix_ignored(const char *name)
{
    return suffix_in(name, ignored_suffixes, PHO_ARRAY_LEN(ignored_suffixes));
}

/* For names without a photo suffix: read the first bytes and ask the sniffer. */
static int sniff_at(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return PHO_FORMAT_UNKNOWN;
    unsigned char head[32];
    ssize_t n = pread(fd, head, sizeof(head), 0);
    close(fd);
    return n > 0 ? pho_format_sniff(head, (size_t)n) : PHO_FORMAT_UNKNOWN;
}

static int push_path(struct scan *s, size_t at, const char *name, size_t *new_len)
{
    size_t nlen = strlen(name);
    size_t need = at + 1 + nlen + 1;
    if (need > s->path_cap) {
        size_t cap = PHO_MAX(need, s->path_cap * 2);
        char *p = pho_reallocarray(s->path, cap, 1);
        if (!p)
            return PHO_ENOMEM;
        s->path = p;
        s->path_cap = cap;
    }
    s->path[at] = '/';
    memcpy(s->path + at + 1, name, nlen + 1);
    *new_len = at + 1 + nlen;
    return 0;
}

/* Appends to @items (a photo, or with @other a possible companion). */
static int add_entry(struct scan *s, const struct stat *st, int format, bool other)
{
    struct pho_scan_list *l = s->list;
    struct pho_scan_item **items = other ? &l->others : &l->items;
    size_t *count = other ? &l->nothers : &l->count;
    size_t *cap_items = other ? &s->cap_others : &s->cap_items;
    if (*count == *cap_items) {
        size_t cap = *cap_items ? *cap_items * 2 : 64;
        void *p = pho_reallocarray(*items, cap, sizeof(**items));
        if (!p)
            return PHO_ENOMEM;
        *items = p;
        *cap_items = cap;
    }
    struct pho_scan_item *it = &(*items)[*count];
    it->path = pho_strdup(s->path);
    if (!it->path)
        return PHO_ENOMEM;
    it->rel = s->root_len == SIZE_MAX ? it->path
                                      : it->path + PHO_MIN(s->root_len + 1, strlen(it->path));
    it->size = (uint64_t)st->st_size;
    it->mtime = st->st_mtim.tv_sec;
    it->mtime_nsec = (int32_t)st->st_mtim.tv_nsec;
    it->format_hint = format;
    (*count)++;
    return 0;
}

static int add_item(struct scan *s, const struct stat *st, int format)
{
    return add_entry(s, st, format, false);
}

static size_t dir_hash(dev_t dev, ino_t ino)
{
    uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15u) ^ ((uint64_t)ino * 0xc2b2ae3d27d4eb4fu);
    return (size_t)(h ^ (h >> 29));
}

/* Records a directory as visited (open-addressing set keyed by device and inode);
 * *fresh is false when it was seen before: a symlink loop or a second link. */
static int mark_dir(struct scan *s, const struct stat *st, bool *fresh)
{
    if ((s->nseen + 1) * 2 > s->cap_seen) {
        size_t cap = s->cap_seen ? s->cap_seen * 2 : 64;
        struct dir_id *tab = pho_calloc(cap, sizeof(*tab));
        if (!tab)
            return PHO_ENOMEM;
        for (size_t i = 0; i < s->cap_seen; i++) {
            if (!s->seen[i].ino)
                continue;
            size_t j = dir_hash(s->seen[i].dev, s->seen[i].ino) & (cap - 1);
            while (tab[j].ino)
                j = (j + 1) & (cap - 1);
            tab[j] = s->seen[i];
        }
        pho_free(s->seen);
        s->seen = tab;
        s->cap_seen = cap;
    }
    /* Inode 0 marks an empty slot; real directories never have it. */
    size_t j = dir_hash(st->st_dev, st->st_ino) & (s->cap_seen - 1);
    while (s->seen[j].ino) {
        if (s->seen[j].dev == st->st_dev && s->seen[j].ino == st->st_ino) {
            *fresh = false;
            return 0;
        }
        j = (j + 1) & (s->cap_seen - 1);
    }
    s->seen[j] = (struct dir_id){ st->st_dev, st->st_ino ? st->st_ino : 1 };
    s->nseen++;
    *fresh = true;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool limit_reached(const struct scan *s)
{
    return s->o->limit && s->list->count >= s->o->limit;
}

static int walk(struct scan *s, int dirfd, size_t path_len, int depth);

static int visit(struct scan *s, int dirfd, const char *name, size_t path_len, int depth)
{
    size_t len;
    int rc = push_path(s, path_len, name, &len);
    if (rc)
        return rc;
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return add_problem(s, s->path, PHO_EIO, "scan: cannot stat: %s", strerror(errno));
    bool link = S_ISLNK(st.st_mode);
    if (link && fstatat(dirfd, name, &st, 0) < 0)
        return add_problem(s, s->path, PHO_ENOTFOUND, "scan: broken symbolic link");

    if (S_ISDIR(st.st_mode)) {
        if (link && !s->o->follow_symlinks)
            return 0;
        if (s->have_exclude && st.st_dev == s->exclude.dev && st.st_ino == s->exclude.ino)
            return 0;
        bool fresh;
        rc = mark_dir(s, &st, &fresh);
        if (rc || !fresh)
            return rc;
        if (depth > 256)
            return add_problem(s, s->path, PHO_ELIMIT, "scan: directories nested too deep");
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return add_problem(s, s->path, PHO_EIO, "scan: cannot open folder: %s",
                               strerror(errno));
        return walk(s, fd, len, depth + 1);
    }
    if (!S_ISREG(st.st_mode)) /* a FIFO, socket or device: said, never opened */
        return add_problem(s, s->path, PHO_EINVAL, "scan: not a regular file (%s)",
                           pho_file__kind(st.st_mode));
    int fmt = pho_format_from_suffix(name);
    if (fmt == PHO_FORMAT_UNKNOWN) {
        if (suffix_ignored(name) || st.st_size == 0 ||
            (fmt = sniff_at(dirfd, name)) == PHO_FORMAT_UNKNOWN) {
            s->list->skipped++;
            if (suffix_in(name, companion_suffixes, PHO_ARRAY_LEN(companion_suffixes)))
                return add_entry(s, &st, PHO_FORMAT_UNKNOWN, true);
            return 0;
        }
    }
    return add_item(s, &st, fmt);
}

/* Takes ownership of dirfd. */
static int walk(struct scan *s, int dirfd, size_t path_len, int depth)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        int e = errno;
        close(dirfd);
        s->path[path_len] = '\0';
        return add_problem(s, s->path, PHO_EIO, "scan: cannot read folder: %s", strerror(e));
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        if (!strcmp(nm, ".") || !strcmp(nm, ".."))
            continue;
        if (!s->o->include_hidden && (nm[0] == '.' || !strcmp(nm, "@eaDir")))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **p = pho_reallocarray(names, cap, sizeof(*names));
            if (!p) {
                rc = PHO_ENOMEM;
                goto out;
            }
            names = p;
        }
        if (!(names[n] = pho_strdup(nm))) {
            rc = PHO_ENOMEM;
            goto out;
        }
        n++;
    }
    if (errno) {
        s->path[path_len] = '\0';
        rc = add_problem(s, s->path, PHO_EIO, "scan: error listing folder: %s", strerror(errno));
        if (rc)
            goto out;
    }
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n && !rc && !limit_reached(s); i++)
        rc = visit(s, dirfd, names[i], path_len, depth);
out:
    for (size_t i = 0; i < n; i++)
        pho_free(names[i]);
    pho_free(names);
    closedir(d);
    return rc;
}

void pho_scan_list_free(struct pho_scan_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        pho_free(list->items[i].path);
    for (size_t i = 0; i < list->nproblems; i++)
        pho_free(list->problems[i].path);
    for (size_t i = 0; i < list->nothers; i++)
        pho_free(list->others[i].path);
    pho_free(list->others);
    pho_free(list->items);
    pho_free(list->problems);
    pho_free(list);
}

int pho_scan_run(struct pho_scan_list **out, const char *root, const struct pho_scan_opts *opts,
                 struct pho_err *err)
{
    static const struct pho_scan_opts defaults = PHO_SCAN_OPTS_INIT;
    struct scan s = { .o = opts ? opts : &defaults };
    int rc = 0;
    *out = NULL;

    s.list = pho_calloc(1, sizeof(*s.list));
    size_t root_len = strlen(root);
    while (root_len > 1 && root[root_len - 1] == '/')
        root_len--;
    s.path_cap = root_len + 256;
    s.path = pho_malloc(s.path_cap);
    if (!s.list || !s.path) {
        rc = pho_err_set(err, PHO_ENOMEM, "scan: out of memory");
        goto out;
    }
    memcpy(s.path, root, root_len);
    s.path[root_len] = '\0';
    s.root_len = root_len;

    struct stat st;
    if (s.o->exclude_dir && stat(s.o->exclude_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        s.exclude = (struct dir_id){ st.st_dev, st.st_ino };
        s.have_exclude = true;
    }
    if (stat(s.path, &st) < 0) {
        rc = pho_err_set(err, errno == ENOENT ? PHO_ENOTFOUND : PHO_EIO, "scan: %s: %s", root,
                         strerror(errno));
        goto out;
    }
    if (S_ISREG(st.st_mode)) {
        /* A single file: the caller asked for it by name, so no suffix filter. */
        const char *slash = strrchr(s.path, '/');
        s.root_len = slash ? (size_t)(slash - s.path) : SIZE_MAX;
        rc = add_item(&s, &st, pho_format_from_suffix(s.path));
    } else if (S_ISDIR(st.st_mode)) {
        bool fresh;
        rc = mark_dir(&s, &st, &fresh);
        if (rc == 0) {
            int fd = open(s.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0)
                rc = pho_err_set(err, PHO_EIO, "scan: cannot open %s: %s", root, strerror(errno));
            else
                rc = walk(&s, fd, root_len, 0);
        }
    } else {
        rc = pho_err_set(err, PHO_EINVAL, "scan: %s is neither a file nor a folder (%s)", root,
                         pho_file__kind(st.st_mode));
    }
    if (rc == PHO_ENOMEM)
        pho_err_set(err, rc, "scan: out of memory");
out:
    pho_free(s.path);
    pho_free(s.seen);
    if (rc) {
        pho_scan_list_free(s.list);
        return rc;
    }
    *out = s.list;
    return 0;
}
