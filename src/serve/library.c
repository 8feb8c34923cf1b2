/* SPDX-License-Identifier: MIT */
/*
 * What the viewer knows of an output folder (src/serve/internal.h): the latest report, read
 * again whenever a run replaced it, and the files it lists. Those files are the only ones
 * the server opens: a request names one by its path below OUT exactly as the report gives
 * it, and is refused otherwise, so no spelling of a path (.., encoded slashes, links the
 * user made) reaches anything else.
 */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/openat2.h>

#include "core/file.h"
#include "pho/text.h"
#include "serve/internal.h"

/* Reports are a few hundred bytes per photo: a library of millions stays far below. */
#define REPORT_MAX ((size_t)2 << 30)

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_files(char **files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pho_free(files[i]);
    pho_free(files);
}

struct list {
    char **v;
    size_t n, cap;
    bool oom;
};

static void add(struct list *l, const char *dir, const char *mid, const char *name)
{
    if (l->oom || !dir || !name || !*name)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        char **v = pho_reallocarray(l->v, cap, sizeof(*v));
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    size_t len = strlen(dir) + strlen(mid) + strlen(name) + 2;
    char *s = pho_malloc(len);
    if (!s) {
        l->oom = true;
        return;
    }
    snprintf(s, len, "%s/%s%s", dir, mid, name);
    l->v[l->n++] = s;
}

/* Every file of every group the report lists: originals/, best_ and the repaired best. */
static int index_report(struct serve_library *lib, const json_t *root, struct pho_err *err)
{
    struct list l = { 0 };
    size_t gi;
    const json_t *g;
    json_array_foreach(json_object_get(root, "groups"), gi, g)
    {
        const char *dir = json_string_value(json_object_get(g, "dir"));
        size_t pi;
        const json_t *p;
        json_array_foreach(json_object_get(g, "photos"), pi, p)
        {
            bool best = json_is_true(json_object_get(p, "is_best"));
            const json_t *files = json_object_get(p, "files");
            size_t fi;
            const json_t *f;
            if (!json_array_size(files)) {
                const char *name = json_string_value(json_object_get(p, "filename"));
                add(&l, dir, "originals/", name);
                if (best)
                    add(&l, dir, "best_", name);
            }
            json_array_foreach(files, fi, f)
            {
                const char *name = json_string_value(json_object_get(f, "filename"));
                add(&l, dir, "originals/", name);
                if (best)
                    add(&l, dir, "best_", name);
            }
        }
        const json_t *swap = json_object_get(g, "face_swap");
        add(&l, dir, "", json_string_value(json_object_get(swap, "file")));
    }
    /* The people's face pictures (--people-folders). */
    json_array_foreach(json_object_get(root, "people"), gi, g)
    {
        const char *pic = json_string_value(json_object_get(g, "picture"));
        const char *slash = pic ? strchr(pic, '/') : NULL;
        if (slash && !strncmp(pic, "people/", 7))
            add(&l, "people", "", slash + 1);
    }
    if (l.oom) {
        free_files(l.v, l.n);
        return pho_err_set(err, PHO_ENOMEM, "serve: out of memory");
    }
    if (l.n)
        qsort(l.v, l.n, sizeof(*l.v), cmp_str);
    free_files(lib->files, lib->nfiles);
    lib->files = l.v;
    lib->nfiles = l.n;
    const char *link =
            json_string_value(json_object_get(json_object_get(root, "settings"), "link"));
    lib->follow_links = link && !strcmp(link, "symlink");
    return 0;
}

/* Reads the report again when latest.json is another file or was changed (lock held). */
static int refresh(struct serve_library *lib, struct pho_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/reports/latest.json", lib->out);
    int fd = -1;
    struct stat st;
    int rc = pho_file__open_regular(&fd, &st, path, "serve", err);
    if (rc == PHO_ENOTFOUND)
        return pho_err_set(err, PHO_ENOTFOUND,
                           "serve: %s has no report yet: organize into it first "
                           "(photo-organizer -s PHOTOS -o %s)",
                           lib->out, lib->out);
    if (rc)
        return rc;
    int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (lib->report && st.st_dev == lib->report_dev && st.st_ino == lib->report_ino &&
        mtime == lib->report_mtime_ns) {
        close(fd);
        return 0;
    }
    char *buf = NULL;
    json_t *root = NULL;
    if ((uint64_t)st.st_size > REPORT_MAX) {
        rc = pho_err_set(err, PHO_ELIMIT, "serve: %s is too large", path);
        goto out;
    }
    size_t n = (size_t)st.st_size;
    buf = pho_malloc(n + 1);
    if (!buf) {
        rc = pho_err_set(err, PHO_ENOMEM, "serve: out of memory");
        goto out;
    }
    if (pho_file__pread_full(fd, buf, n, 0) != (ssize_t)n) {
        rc = pho_err_set(err, PHO_EIO, "serve: cannot read %s", path);
        goto out;
    }
    buf[n] = '\0';
    json_error_t je;
    root = json_loadb(buf, n, 0, &je);
    if (!root) {
        rc = pho_err_set(err, PHO_ECORRUPT, "serve: %s is not a report: %s", path, je.text);
        goto out;
    }
    rc = index_report(lib, root, err);
    if (rc == 0) {
        pho_free(lib->report);
        lib->report = buf;
        lib->report_len = n;
        lib->report_dev = st.st_dev;
        lib->report_ino = st.st_ino;
        lib->report_mtime_ns = mtime;
        buf = NULL;
    }
out:
    json_decref(root);
    pho_free(buf);
    close(fd);
    return rc;
}

int pho_serve__library_open(struct serve_library *lib, const char *out, struct pho_err *err)
{
    memset(lib, 0, sizeof(*lib));
    lib->out_fd = -1;
    pthread_mutex_init(&lib->lock, NULL);
    char *real = realpath(out, NULL);
    if (!real)
        return pho_err_set(err, errno == ENOENT ? PHO_ENOTFOUND : PHO_EIO, "serve: %s: %s", out,
                           strerror(errno));
    lib->out = pho_strdup(real);
    free(real);
    if (!lib->out)
        return pho_err_set(err, PHO_ENOMEM, "serve: out of memory");
    lib->out_fd = open(lib->out, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (lib->out_fd < 0)
        return pho_err_set(err, PHO_EIO, "serve: %s: %s", lib->out, strerror(errno));
    pthread_mutex_lock(&lib->lock);
    int rc = refresh(lib, err);
    pthread_mutex_unlock(&lib->lock);
    return rc;
}

void pho_serve__library_close(struct serve_library *lib)
{
    if (lib->out_fd >= 0)
        close(lib->out_fd);
    free_files(lib->files, lib->nfiles);
    pho_free(lib->report);
    pho_free(lib->out);
    pthread_mutex_destroy(&lib->lock);
    memset(lib, 0, sizeof(*lib));
    lib->out_fd = -1;
}

int pho_serve__report(struct serve_library *lib, char **out, size_t *len, struct pho_err *err)
{
    *out = NULL;
    *len = 0;
    pthread_mutex_lock(&lib->lock);
    int rc = refresh(lib, err);
    if (rc == 0) {
        *out = pho_malloc(lib->report_len + 1);
        if (!*out)
            rc = pho_err_set(err, PHO_ENOMEM, "serve: out of memory");
        else
            memcpy(*out, lib->report, lib->report_len + 1), *len = lib->report_len;
    }
    pthread_mutex_unlock(&lib->lock);
    return rc;
}

char *pho_serve__moved(struct serve_library *lib, const char *rel)
{
    /* Only the shapes the report gives: GROUP/originals/NAME and GROUP/best_NAME. */
    const char *first = strchr(rel, '/'), *slash = strrchr(rel, '/');
    if (!first || first == rel || !slash[1] || strstr(rel, ".."))
        return NULL;
    char tail[PATH_MAX];
    if (slash == first && !strncmp(slash + 1, "best_", 5))
        snprintf(tail, sizeof(tail), "%s", slash);
    else if (!strncmp(first, "/originals/", 11) && first + 10 == slash)
        snprintf(tail, sizeof(tail), "/originals/%s", slash + 1);
    else
        return NULL;
    size_t tl = strlen(tail);
    const char *found = NULL;
    bool several = false;
    struct pho_err e = PHO_ERR_INIT;
    pthread_mutex_lock(&lib->lock);
    if (refresh(lib, &e) == 0) {
        for (size_t i = 0; i < lib->nfiles && !several; i++) {
            const char *f = lib->files[i];
            size_t fl = strlen(f);
            if (fl > tl && !strcmp(f + fl - tl, tail) && strcmp(f, rel)) {
                several = found != NULL;
                found = f;
            }
        }
    }
    char *out = found && !several ? pho_strdup(found) : NULL;
    pthread_mutex_unlock(&lib->lock);
    return out;
}

/* Opens @rel below OUT without leaving it: no "..", no link to outside (openat2
 * RESOLVE_BENEATH), unless the run itself made links to the photos (--link symlink). */
static int open_beneath(const struct serve_library *lib, const char *rel)
{
    struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
                            .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
    int fd = (int)syscall(SYS_openat2, lib->out_fd, rel, &how, sizeof(how));
    if (fd >= 0 || !lib->follow_links || (errno != EXDEV && errno != ELOOP && errno != ENOSYS))
        return fd;
    /* The run's own symbolic links point at the photos, outside OUT: followed, but only
     * from a path whose folders are inside OUT. */
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s", rel);
    char *slash = strrchr(parent, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    int dfd = (int)syscall(SYS_openat2, lib->out_fd, parent, &how, sizeof(how));
    if (dfd < 0)
        return -1;
    fd = openat(dfd, slash + 1, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    close(dfd);
    return fd;
}

int pho_serve__open_file(struct serve_library *lib, const char *rel, int *fd, uint64_t *size,
                         int64_t *mtime_ns, struct pho_err *err)
{
    *fd = -1;
    /* The list is the one of the report the page last fetched (pho_serve__report): a
     * picture request costs no look at the report file. */
    pthread_mutex_lock(&lib->lock);
    bool listed =
            lib->nfiles && bsearch(&rel, lib->files, lib->nfiles, sizeof(*lib->files), cmp_str);
    pthread_mutex_unlock(&lib->lock);
    if (!listed)
        return pho_err_set(err, PHO_ENOTFOUND, "serve: not a file of this library");
    /* The report writes names losslessly (pho_text_json_path): the file's own bytes. */
    char *bytes = pho_text_json_path_decode(rel);
    if (!bytes)
        return pho_err_set(err, PHO_ENOTFOUND, "serve: not a file of this library");
    int f = open_beneath(lib, bytes);
    pho_free(bytes);
    struct stat st;
    if (f < 0 || fstat(f, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (f >= 0)
            close(f);
        return pho_err_set(err, PHO_ENOTFOUND, "serve: %s cannot be opened", rel);
    }
    /* Back to blocking reads: it is a regular file (a FIFO was refused above). */
    fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK);
    *fd = f;
    *size = (uint64_t)st.st_size;
    *mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return 0;
}
