/* SPDX-License-Identifier: MIT */
/*
 * Atomic writes under the output folder: every file goes to a temporary name
 * in its final folder, is fsync'ed, renamed over the target and the folder
 * fsync'ed, so a crash leaves either the old file, the new one, or a stray
 * temporary that the next run sweeps away; never a half-written target.
 */
#include "core/common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "core/file.h"
#include "organize/internal.h"

char *pho_organize__join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la > 1 && a[la - 1] == '/')
        la--;
    char *s = pho_malloc(la + 1 + lb + 1);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

int pho_organize__mkdirs(const char *path, struct pho_err *err)
{
    char *p = pho_strdup(path);
    if (!p)
        return pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            rc = pho_err_set(err, PHO_EIO, "output: cannot create folder %s: %s", p,
                             strerror(errno));
            break;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    struct stat st;
    if (rc == 0 && (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)))
        rc = pho_err_set(err, PHO_EIO, "output: %s exists and is not a folder", p);
    pho_free(p);
    return rc;
}

static int fsync_dir_of(const char *path)
{
    char *dir = pho_strdup(path);
    if (!dir)
        return -1;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        pho_strlcpy(dir, ".", 2);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd < 0 ? -1 : fsync(fd);
    if (fd >= 0)
        close(fd);
    pho_free(dir);
    return rc;
}

/* Opens a temporary file beside @dst; *tmp_out is caller-owned. */
/* The temporary name is PHO_TMP_PREFIX, at most the first 32 bytes of the
 * target's name (for whoever looks at the folder after a crash) and a random
 * suffix: its length never depends on the target's, so a target name that
 * fits always has a temporary name that fits too. */
static int open_temp(const char *dst, char **tmp_out, struct pho_err *err)
{
    const char *slash = strrchr(dst, '/');
    size_t dir_len = slash ? (size_t)(slash - dst) + 1 : 0;
    const char *base = slash ? slash + 1 : dst;
    size_t keep = strlen(base) < 32 ? strlen(base) : 32;
    while (keep > 0 && keep < strlen(base) && ((unsigned char)base[keep] & 0xC0) == 0x80)
        keep--; /* whole UTF-8 characters */
    size_t n = dir_len + strlen(PHO_TMP_PREFIX) + keep + 8;
    char *tmp = pho_malloc(n);
    if (!tmp)
        return pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    snprintf(tmp, n, "%.*s%s%.*s.XXXXXX", (int)dir_len, dst, PHO_TMP_PREFIX, (int)keep, base);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        pho_free(tmp);
        return pho_err_set(err, PHO_EIO, "output: cannot create a file next to %s: %s", dst,
                           strerror(e));
    }
    *tmp_out = tmp;
    return fd;
}

static void hex(char out[65], GChecksum *ck)
{
    const char *s = g_checksum_get_string(ck);
    pho_strlcpy(out, s ? s : "", 65);
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* fsync, close and rename the temporary into place; removes it on failure. */
static int commit_temp(int fd, char *tmp, const char *dst, struct pho_err *err)
{
    int rc = 0;
    if (fsync(fd) < 0)
        rc = pho_err_set(err, PHO_EIO, "output: cannot flush %s: %s", dst, strerror(errno));
    if (close(fd) < 0 && rc == 0)
        rc = pho_err_set(err, PHO_EIO, "output: cannot close %s: %s", dst, strerror(errno));
    if (rc == 0 && rename(tmp, dst) < 0)
        rc = pho_err_set(err, PHO_EIO, "output: cannot rename into %s: %s", dst, strerror(errno));
    if (rc)
        unlink(tmp);
    else
        fsync_dir_of(dst);
    pho_free(tmp);
    return rc;
}

char *pho_organize__fit_name(const char *name, size_t max, bool *shortened)
{
    size_t len = strlen(name);
    *shortened = len > max;
    if (!*shortened)
        return pho_strdup(name);
    const char *dot = strrchr(name, '.');
    size_t ext = dot && dot != name && strlen(dot) <= 16 ? strlen(dot) : 0;
    char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, name, (gssize)len);
    if (!sum)
        return NULL;
    size_t keep = max - ext - 9; /* "~" and 8 hex digits */
    while (keep > 0 && ((unsigned char)name[keep] & 0xC0) == 0x80)
        keep--; /* never cut a UTF-8 character in two */
    size_t n = keep + 9 + ext + 1;
    char *s = pho_malloc(n);
    if (s)
        snprintf(s, n, "%.*s~%.8s%s", (int)keep, name, sum, name + len - ext);
    g_free(sum);
    return s;
}

int pho_organize__copy(const char *src, const char *dst, struct pho_copy_info *info,
                       struct pho_err *err)
{
    char *tmp = NULL;
    GChecksum *ck = NULL;
    char *buf = NULL;
    int rc = 0, out = -1, in = -1;
    struct stat st;
    int orc = pho_file__open_regular(&in, &st, src, "output: source", err);
    if (orc)
        return orc;
    out = open_temp(dst, &tmp, err);
    if (out < 0) {
        rc = out;
        out = -1;
        goto out;
    }
    ck = g_checksum_new(G_CHECKSUM_SHA256);
    buf = pho_malloc(1 << 20);
    if (!buf) {
        rc = pho_err_set(err, PHO_ENOMEM, "output: out of memory");
        goto out;
    }
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(in, buf, 1 << 20);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = pho_err_set(err, PHO_EIO, "output: read error in %s: %s", src, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        g_checksum_update(ck, (const guchar *)buf, r);
        if (write_all(out, buf, (size_t)r) < 0) {
            rc = pho_err_set(err, PHO_EIO, "output: cannot write %s: %s", dst, strerror(errno));
            goto out;
        }
        total += (uint64_t)r;
    }
    /* Keep what cp -p keeps: permission bits (never set-id) and the times. */
    fchmod(out, st.st_mode & 0777);
    struct timespec times[2] = { st.st_atim, st.st_mtim };
    futimens(out, times);
    rc = commit_temp(out, tmp, dst, err);
    out = -1;
    tmp = NULL;
    if (rc == 0 && info) {
        info->size = total;
        hex(info->sha256, ck);
    }
out:
    if (out >= 0) {
        close(out);
        unlink(tmp);
    }
    pho_free(tmp);
    pho_free(buf);
    if (ck)
        g_checksum_free(ck);
    close(in);
    return rc;
}

int pho_organize__write_atomic(const char *dst, const void *data, size_t len,
                               struct pho_copy_info *info, struct pho_err *err)
{
    char *tmp = NULL;
    int fd = open_temp(dst, &tmp, err);
    if (fd < 0)
        return fd;
    if (write_all(fd, data, len) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        pho_free(tmp);
        return pho_err_set(err, PHO_EIO, "output: cannot write %s: %s", dst, strerror(e));
    }
    fchmod(fd, 0644);
    int rc = commit_temp(fd, tmp, dst, err);
    if (rc == 0 && info) {
        GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
        g_checksum_update(ck, data, (gssize)len);
        info->size = len;
        hex(info->sha256, ck);
        g_checksum_free(ck);
    }
    return rc;
}

int pho_organize__symlink(const char *target, const char *link, struct pho_err *err)
{
    size_t n = strlen(link) + 32;
    char *tmp = pho_malloc(n);
    if (!tmp)
        return pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    const char *slash = strrchr(link, '/');
    int dir_len = slash ? (int)(slash - link) + 1 : 0;
    int rc = 0;
    for (int attempt = 0;; attempt++) {
        snprintf(tmp, n, "%.*s%slink.%d.%d", dir_len, link, PHO_TMP_PREFIX, (int)getpid(), attempt);
        if (symlink(target, tmp) == 0)
            break;
        if (errno != EEXIST || attempt > 100) {
            rc = pho_err_set(err, PHO_EIO, "output: cannot create link %s: %s", link,
                             strerror(errno));
            goto out;
        }
    }
    if (rename(tmp, link) < 0) {
        rc = pho_err_set(err, PHO_EIO, "output: cannot replace %s: %s", link, strerror(errno));
        unlink(tmp);
        goto out;
    }
    fsync_dir_of(link);
out:
    pho_free(tmp);
    return rc;
}

int pho_organize__sha256_file(const char *path, char out[65], uint64_t *size, struct pho_err *err)
{
    int fd;
    struct stat st;
    int orc = pho_file__open_regular(&fd, &st, path, "output", err);
    if (orc)
        return orc;
    char *buf = pho_malloc(1 << 20);
    if (!buf) {
        close(fd);
        return pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    }
    GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
    uint64_t total = 0;
    int rc = 0;
    for (;;) {
        ssize_t r = read(fd, buf, 1 << 20);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = pho_err_set(err, PHO_EIO, "output: read error in %s: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        g_checksum_update(ck, (const guchar *)buf, r);
        total += (uint64_t)r;
    }
    if (rc == 0) {
        hex(out, ck);
        if (size)
            *size = total;
    }
    g_checksum_free(ck);
    pho_free(buf);
    close(fd);
    return rc;
}

static void sweep_dir(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *p = pho_organize__join(dir, de->d_name);
        if (!p)
            break;
        if (!strncmp(de->d_name, PHO_TMP_PREFIX, strlen(PHO_TMP_PREFIX))) {
            unlink(p);
        } else if (depth < 2 && de->d_type == DT_DIR &&
                   (!strncmp(de->d_name, "group_", 6) || !strcmp(de->d_name, "originals") ||
                    !strcmp(de->d_name, "reports"))) {
            sweep_dir(p, depth + 1);
        }
        pho_free(p);
    }
    closedir(d);
}

void pho_organize__sweep_temps(const char *dir)
{
    sweep_dir(dir, 0);
}
