/* SPDX-License-Identifier: MIT */
/*
 * Pictures for the viewer (src/serve/internal.h): each listed file as an upright sRGB JPEG
 * at one of a few sizes, decoded by libpho's own loader (every format organize reads, EXIF
 * orientation applied, shrink-on-load) and kept under OUT/.photo-organizer/thumbs/, named
 * by a hash of the file's path, size, modification time and the size asked for: a changed
 * photo gets a new picture, and the hash is the HTTP entity tag.
 */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "core/file.h"
#include "pho/image.h"
#include "serve/internal.h"

#define QUALITY 85

bool pho_serve__size_ok(unsigned size)
{
    static const unsigned sizes[] = { PHO_SERVE_SIZES };
    for (size_t i = 0; i < PHO_ARRAY_LEN(sizes); i++)
        if (sizes[i] == size)
            return true;
    return false;
}

static int read_all(const char *path, void **data, size_t *len)
{
    int fd = -1;
    struct stat st;
    struct pho_err e = PHO_ERR_INIT;
    if (pho_file__open_regular(&fd, &st, path, "serve", &e))
        return -1;
    int rc = -1;
    size_t n = (size_t)st.st_size;
    void *buf = n ? pho_malloc(n) : NULL;
    if (buf && pho_file__pread_full(fd, buf, n, 0) == (ssize_t)n) {
        *data = buf;
        *len = n;
        buf = NULL;
        rc = 0;
    }
    pho_free(buf);
    close(fd);
    return rc;
}

/* Keeps @data as @path: a temporary beside it, renamed (a cache needs no fsync: a picture
 * lost in a crash is made again). Failures only cost the next request a decode. */
static void cache_put(const char *dir, const char *path, const void *data, size_t len)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%s", dir);
        char *slash = strrchr(parent, '/');
        if (!slash)
            return;
        *slash = '\0';
        if (mkdir(parent, 0755) < 0 && errno != EEXIST)
            return;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            return;
    }
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s/.pho-tmp.XXXXXX", dir) >= (int)sizeof(tmp))
        return;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return;
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) == 0 && left == 0 && rename(tmp, path) == 0)
        return;
    unlink(tmp);
}

int pho_serve__picture(struct serve_library *lib, const char *rel, unsigned size, void **data,
                       size_t *len, char etag[65], struct pho_err *err)
{
    *data = NULL;
    *len = 0;
    etag[0] = '\0';
    if (!pho_serve__size_ok(size))
        return pho_err_set(err, PHO_EINVAL, "serve: no picture of that size");
    int fd = -1;
    uint64_t fsize = 0;
    int64_t mtime = 0;
    int rc = pho_serve__open_file(lib, rel, &fd, &fsize, &mtime, err);
    if (rc)
        return rc;
    char key[PATH_MAX + 96];
    snprintf(key, sizeof(key), "%s\n%llu\n%lld\n%u", rel, (unsigned long long)fsize,
             (long long)mtime, size);
    gchar *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);
    if (!hash) {
        close(fd);
        return pho_err_set(err, PHO_ENOMEM, "serve: out of memory");
    }
    pho_strlcpy(etag, hash, 65);
    g_free(hash);
    char dir[PATH_MAX], path[PATH_MAX + 80];
    snprintf(dir, sizeof(dir), "%s/.photo-organizer/thumbs/%.2s", lib->out, etag);
    snprintf(path, sizeof(path), "%s/%s.jpg", dir, etag);
    if (read_all(path, data, len) == 0) {
        close(fd);
        return 0;
    }
    /* Decoded through the descriptor already opened (and checked) for this file. */
    char self[64];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    struct pho_image_opts io = PHO_IMAGE_OPTS_INIT;
    io.max_size = size;
    struct pho_image *img = NULL;
    rc = pho_image_load(&img, self, &io, NULL, err);
    close(fd);
    if (rc)
        return rc;
    static const float whole[4] = { 0, 0, 1, 1 };
    rc = pho_image_jpeg(data, len, img, whole, size, QUALITY, err);
    pho_image_free(img);
    if (rc == 0)
        cache_put(dir, path, *data, *len);
    return rc;
}
