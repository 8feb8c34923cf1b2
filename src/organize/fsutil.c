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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <linux/fs.h>
#include <openssl/evp.h>

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

/* SHA-256 of file contents through OpenSSL's libcrypto, which uses the CPU's SHA
 * instructions (about 1.7 GB/s here, GLib's about 0.3 GB/s): hashing must not be what
 * limits writing copies. NULL on OOM. */
static EVP_MD_CTX *sha_new(void)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        c = NULL;
    }
    return c;
}

/* Finishes @c into 64 lower-case hex digits and frees it. */
static void sha_hex(char out[65], EVP_MD_CTX *c)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (EVP_DigestFinal_ex(c, md, &n) == 1 && n == 32)
        for (unsigned i = 0; i < n; i++)
            snprintf(out + 2 * i, 3, "%02x", md[i]);
    EVP_MD_CTX_free(c);
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

/* Hands a finished temporary to @stage (which then owns @tmp); false on OOM. */
static bool batch_push(struct pho_batch *stage, char *tmp, const char *dst)
{
    if (stage->n == stage->cap) {
        size_t cap = stage->cap ? stage->cap * 2 : 16;
        struct pho_batched *v = pho_reallocarray(stage->v, cap, sizeof(*v));
        if (!v)
            return false;
        stage->v = v;
        stage->cap = cap;
    }
    struct pho_batched *e = &stage->v[stage->n];
    memset(e, 0, sizeof(*e));
    e->dst = pho_strdup(dst);
    if (!e->dst)
        return false;
    e->tmp = tmp;
    stage->n++;
    return true;
}

/* Makes a link (@make: link or symlink, from @what) under a fresh temporary name beside @dst
 * (*@tmp, caller frees). @return 0, PHO_ENOMEM, or PHO_EIO with *@e = errno. */
static int link_at_temp(char **tmp, int *e, const char *dst, const char *tag,
                        int (*make)(const char *, const char *), const char *what)
{
    size_t n = strlen(dst) + 48;
    *tmp = pho_malloc(n);
    if (!*tmp)
        return PHO_ENOMEM;
    const char *slash = strrchr(dst, '/');
    int dir_len = slash ? (int)(slash - dst) + 1 : 0;
    for (int attempt = 0;; attempt++) {
        snprintf(*tmp, n, "%.*s%s%s.%d.%d", dir_len, dst, PHO_TMP_PREFIX, tag, (int)getpid(),
                 attempt);
        if (make(what, *tmp) == 0)
            return 0;
        if (errno != EEXIST || attempt > 100) {
            *e = errno;
            return PHO_EIO;
        }
    }
}

/* A link made under the temporary name *@tmp: staged (*@tmp then belongs to @stage and is set
 * to NULL), or renamed over @dst and its folder flushed; removed on failure. */
static int place_temp_link(char **tmp, const char *dst, struct pho_batch *stage,
                           struct pho_err *err)
{
    if (stage) {
        if (!batch_push(stage, *tmp, dst)) {
            unlink(*tmp);
            return pho_err_set(err, PHO_ENOMEM, "output: out of memory");
        }
        *tmp = NULL;
        return 0;
    }
    if (rename(*tmp, dst) < 0) {
        int e = errno;
        unlink(*tmp);
        return pho_err_set(err, PHO_EIO, "output: cannot rename into %s: %s", dst, strerror(e));
    }
    fsync_dir_of(dst);
    return 0;
}

/* A temporary whose data is written: with @stage, closed and staged (put in place later by
 * pho_organize__batch_commit); else fsync'ed, closed and renamed into place. Removes it on
 * failure; takes @tmp. */
static int commit_temp(int fd, char *tmp, const char *dst, struct pho_batch *stage,
                       struct pho_err *err)
{
    int rc = 0;
    if (stage) {
        /* Start writing the data now, without waiting: the disk works while the next files
         * are made, and the batch's one syncfs has little left to wait for. */
        sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        if (close(fd) < 0)
            rc = pho_err_set(err, PHO_EIO, "output: cannot close %s: %s", dst, strerror(errno));
        else if (!batch_push(stage, tmp, dst))
            rc = pho_err_set(err, PHO_ENOMEM, "output: out of memory");
        if (rc) {
            unlink(tmp);
            pho_free(tmp);
        }
        return rc;
    }
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

static int hash_fd(int fd, struct pho_copy_info *info, const char *path, struct pho_err *err);

/* Copies @size bytes of @in to @out inside the kernel (copy_file_range: no trip through
 * user memory; a clone where the filesystem makes one, as cp does). 1: the kernel cannot
 * copy between these two files (another filesystem, an old kernel) and nothing was copied;
 * -1 with errno set. */
static int kernel_copy(int in, int out, uint64_t size)
{
    uint64_t done = 0;
    while (done < size) {
        size_t want = size - done > (1u << 30) ? (1u << 30) : (size_t)(size - done);
        ssize_t n = copy_file_range(in, NULL, out, NULL, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return done == 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                                 errno == EOPNOTSUPP)
                           ? 1
                           : -1;
        if (n == 0)
            break; /* the source got shorter */
        done += (uint64_t)n;
    }
    return 0;
}

/* The same by read and write, hashing what is written into @info. */
static int user_copy(int in, int out, struct pho_copy_info *info, const char *src, const char *dst,
                     struct pho_err *err)
{
    EVP_MD_CTX *ck = sha_new();
    char *buf = pho_malloc(1 << 20);
    int rc = buf && ck ? 0 : pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    uint64_t total = 0;
    while (rc == 0) {
        ssize_t r = read(in, buf, 1 << 20);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = pho_err_set(err, PHO_EIO, "output: read error in %s: %s", src, strerror(errno));
        if (r <= 0)
            break;
        EVP_DigestUpdate(ck, buf, (size_t)r);
        if (write_all(out, buf, (size_t)r) < 0)
            rc = pho_err_set(err, PHO_EIO, "output: cannot write %s: %s", dst, strerror(errno));
        total += (uint64_t)r;
    }
    if (rc == 0 && info) {
        info->size = total;
        sha_hex(info->sha256, ck);
        ck = NULL;
    }
    EVP_MD_CTX_free(ck);
    pho_free(buf);
    return rc;
}

int pho_organize__copy(const char *src, const char *dst, struct pho_copy_info *info,
                       struct pho_batch *stage, struct pho_err *err)
{
    char *tmp = NULL;
    int in = -1;
    struct stat st;
    int rc = pho_file__open_regular(&in, &st, src, "output: source", err);
    if (rc)
        return rc;
    int out = open_temp(dst, &tmp, err);
    if (out < 0) {
        close(in);
        return out;
    }
    int k = kernel_copy(in, out, (uint64_t)st.st_size);
    if (k < 0)
        rc = pho_err_set(err, PHO_EIO, "output: cannot copy %s into %s: %s", src, dst,
                         strerror(errno));
    else if (k == 1)
        rc = user_copy(in, out, info, src, dst, err);
    else if (info)
        rc = hash_fd(out, info, dst, err); /* the bytes as written, read back from memory */
    close(in);
    if (rc) {
        close(out);
        unlink(tmp);
        pho_free(tmp);
        return rc;
    }
    /* Keep what cp -p keeps: permission bits (never set-id) and the times. */
    fchmod(out, st.st_mode & 0777);
    struct timespec times[2] = { st.st_atim, st.st_mtim };
    futimens(out, times);
    return commit_temp(out, tmp, dst, stage, err);
}

/* Hashes @fd from its start into @info (size and SHA-256). */
static int hash_fd(int fd, struct pho_copy_info *info, const char *path, struct pho_err *err)
{
    char *buf = pho_malloc(1 << 20);
    EVP_MD_CTX *ck = sha_new();
    if (!buf || !ck) {
        pho_free(buf);
        EVP_MD_CTX_free(ck);
        return pho_err_set(err, PHO_ENOMEM, "output: out of memory");
    }
    uint64_t total = 0, off = 0;
    int rc = 0;
    for (;;) {
        ssize_t r = pho_file__pread_full(fd, buf, 1 << 20, off);
        if (r < 0) {
            rc = pho_err_set(err, PHO_EIO, "output: read error in %s: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        EVP_DigestUpdate(ck, buf, (size_t)r);
        total += (uint64_t)r;
        off += (uint64_t)r;
    }
    if (rc == 0) {
        info->size = total;
        sha_hex(info->sha256, ck);
    } else {
        EVP_MD_CTX_free(ck);
    }
    pho_free(buf);
    return rc;
}

int pho_organize__reflink(const char *src, const char *dst, struct pho_copy_info *info,
                          struct pho_batch *stage, struct pho_err *err)
{
    int in = -1;
    struct stat st;
    int rc = pho_file__open_regular(&in, &st, src, "output: source", err);
    if (rc)
        return rc;
    char *tmp = NULL;
    int out = open_temp(dst, &tmp, err);
    if (out < 0) {
        close(in);
        return out;
    }
    if (ioctl(out, FICLONE, in) < 0) {
        int e = errno;
        close(out);
        unlink(tmp);
        pho_free(tmp);
        close(in);
        /* What a filesystem without clones answers (and EXDEV across filesystems). */
        bool unsupported = e == EOPNOTSUPP || e == ENOTTY || e == EXDEV || e == EINVAL ||
                           e == ENOSYS || e == EPERM;
        return pho_err_set(err, unsupported ? PHO_EUNSUPPORTED : PHO_EIO,
                           "output: cannot reflink %s into %s: %s%s", src, dst, strerror(e),
                           unsupported ? " (this filesystem cannot clone files, or the source "
                                         "is on another one; use --link auto or copy)"
                                       : "");
    }
    fchmod(out, st.st_mode & 0777);
    struct timespec times[2] = { st.st_atim, st.st_mtim };
    futimens(out, times);
    /* The catalog keeps the content's hash, as for a copy: read from the source, whose
     * blocks the clone shares. */
    rc = info ? hash_fd(in, info, src, err) : 0;
    close(in);
    if (rc) {
        close(out);
        unlink(tmp);
        pho_free(tmp);
        return rc;
    }
    return commit_temp(out, tmp, dst, stage, err);
}

/* "hardlink:<device>:<inode>" of @st: what a hard link is, whatever its content. */
static void link_identity(char *out, size_t size, const struct stat *st)
{
    snprintf(out, size, "hardlink:%llu:%llu", (unsigned long long)st->st_dev,
             (unsigned long long)st->st_ino);
}

static void sha_of_string(char out[65], const char *s)
{
    EVP_MD_CTX *c = sha_new();
    out[0] = '\0';
    if (c) {
        EVP_DigestUpdate(c, s, strlen(s));
        sha_hex(out, c);
    }
}

int pho_organize__hardlink(const char *src, const char *dst, struct pho_copy_info *info,
                           struct pho_batch *stage, struct pho_err *err)
{
    struct stat st;
    if (lstat(src, &st) < 0 || !S_ISREG(st.st_mode))
        return pho_err_set(err, PHO_EIO, "output: source %s is not a regular file", src);
    char *tmp = NULL;
    int e = 0;
    int rc = link_at_temp(&tmp, &e, dst, "hard", link, src);
    if (rc == PHO_EIO)
        rc = pho_err_set(err, e == EXDEV ? PHO_EUNSUPPORTED : PHO_EIO,
                         "output: cannot hard-link %s as %s: %s%s", src, dst, strerror(e),
                         e == EXDEV ? " (hard links need the source and the output folder "
                                      "on one filesystem; use --link copy or auto)"
                                    : "");
    else if (rc)
        rc = pho_err_set(err, rc, "output: out of memory");
    if (rc)
        goto out;
    rc = place_temp_link(&tmp, dst, stage, err);
    if (rc)
        goto out;
    if (info) {
        char id[96];
        link_identity(id, sizeof(id), &st);
        info->size = (uint64_t)st.st_size;
        sha_of_string(info->sha256, id);
    }
out:
    pho_free(tmp);
    return rc;
}

static int make_symlink(const char *target, const char *link, struct pho_batch *stage,
                        struct pho_err *err);

/* "symlink:<target>": what a symbolic link is. */
static void symlink_fingerprint(char out[65], const char *target)
{
    size_t n = strlen(target) + 16;
    char *s = pho_malloc(n);
    if (!s) {
        out[0] = '\0';
        return;
    }
    snprintf(s, n, "symlink:%s", target);
    sha_of_string(out, s);
    pho_free(s);
}

int pho_organize__symlink_to(const char *target, const char *dst, struct pho_copy_info *info,
                             struct pho_batch *stage, struct pho_err *err)
{
    int rc = make_symlink(target, dst, stage, err);
    if (rc == 0 && info) {
        info->size = strlen(target);
        symlink_fingerprint(info->sha256, target);
    }
    return rc;
}

int pho_organize__fingerprint(const char *path, int kind, char out[65], uint64_t *size,
                              struct pho_err *err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return pho_err_set(err, errno == ENOENT ? PHO_ENOTFOUND : PHO_EIO, "output: %s: %s", path,
                           strerror(errno));
    if (kind == PHO_LINK_SYMLINK) {
        if (!S_ISLNK(st.st_mode))
            return pho_err_set(err, PHO_EINVAL, "output: %s is not a symbolic link", path);
        char target[4096];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
            return pho_err_set(err, PHO_EIO, "output: %s: %s", path, strerror(errno));
        target[n] = '\0';
        symlink_fingerprint(out, target);
        if (size)
            *size = (uint64_t)n;
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return pho_err_set(err, PHO_EINVAL, "output: %s is not a regular file", path);
    if (kind == PHO_LINK_HARDLINK) {
        char id[96];
        link_identity(id, sizeof(id), &st);
        sha_of_string(out, id);
        if (size)
            *size = (uint64_t)st.st_size;
        return 0;
    }
    return pho_organize__sha256_file(path, out, size, err);
}

static int write_atomic_mode(const char *dst, const void *data, size_t len, mode_t mode,
                             struct pho_copy_info *info, struct pho_batch *stage,
                             struct pho_err *err);

int pho_organize__write_atomic(const char *dst, const void *data, size_t len,
                               struct pho_copy_info *info, struct pho_batch *stage,
                               struct pho_err *err)
{
    return write_atomic_mode(dst, data, len, 0644, info, stage, err);
}

int pho_organize__write_private(const char *dst, const void *data, size_t len, struct pho_err *err)
{
    return write_atomic_mode(dst, data, len, 0600, NULL, NULL, err);
}

static int write_atomic_mode(const char *dst, const void *data, size_t len, mode_t mode,
                             struct pho_copy_info *info, struct pho_batch *stage,
                             struct pho_err *err)
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
    fchmod(fd, mode);
    int rc = commit_temp(fd, tmp, dst, stage, err);
    if (rc == 0 && info) {
        EVP_MD_CTX *ck = sha_new();
        if (!ck)
            return pho_err_set(err, PHO_ENOMEM, "output: out of memory");
        EVP_DigestUpdate(ck, data, len);
        info->size = len;
        sha_hex(info->sha256, ck);
    }
    return rc;
}

static int make_symlink(const char *target, const char *link, struct pho_batch *stage,
                        struct pho_err *err)
{
    char *tmp = NULL;
    int e = 0;
    int rc = link_at_temp(&tmp, &e, link, "link", symlink, target);
    if (rc == PHO_EIO)
        rc = pho_err_set(err, PHO_EIO, "output: cannot create link %s: %s", link, strerror(e));
    else if (rc)
        rc = pho_err_set(err, rc, "output: out of memory");
    if (rc)
        goto out;
    rc = place_temp_link(&tmp, link, stage, err);
out:
    pho_free(tmp);
    return rc;
}

int pho_organize__symlink(const char *target, const char *link, struct pho_err *err)
{
    return make_symlink(target, link, NULL, err);
}

void pho_organize__batch_discard(struct pho_batch *stage)
{
    for (size_t i = 0; i < stage->n; i++) {
        if (stage->v[i].tmp)
            unlink(stage->v[i].tmp);
        pho_free(stage->v[i].tmp);
        pho_free(stage->v[i].dst);
        pho_free(stage->v[i].rel);
    }
    pho_free(stage->v);
    memset(stage, 0, sizeof(*stage));
}

int pho_organize__batch_commit(struct pho_batch *stage, const char *out_dir, struct pho_err *err)
{
    if (stage->n == 0)
        return 0;
    /* Every staged file's data on disk first, in one pass over the filesystem: a rename
     * that survives a power loss never names an empty or partial file. */
    int fd = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || syncfs(fd) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return pho_err_set(err, PHO_EIO, "output: cannot flush %s: %s", out_dir, strerror(e));
    }
    close(fd);
    int rc = 0;
    for (size_t i = 0; i < stage->n && rc == 0; i++) {
        struct pho_batched *e = &stage->v[i];
        if (rename(e->tmp, e->dst) < 0) {
            rc = pho_err_set(err, PHO_EIO, "output: cannot rename into %s: %s", e->dst,
                             strerror(errno));
            break;
        }
        pho_free(e->tmp);
        e->tmp = NULL;
        e->placed = true;
    }
    /* Then each folder that gained names, once. */
    for (size_t i = 0; i < stage->n; i++) {
        if (!stage->v[i].placed)
            continue;
        const char *slash = strrchr(stage->v[i].dst, '/');
        size_t len = slash ? (size_t)(slash - stage->v[i].dst) : 0;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            const char *sj = strrchr(stage->v[j].dst, '/');
            seen = stage->v[j].placed && sj && (size_t)(sj - stage->v[j].dst) == len &&
                   !strncmp(stage->v[j].dst, stage->v[i].dst, len);
        }
        if (!seen)
            fsync_dir_of(stage->v[i].dst);
    }
    return rc;
}

int pho_organize__sha256_file(const char *path, char out[65], uint64_t *size, struct pho_err *err)
{
    int fd;
    struct stat st;
    int rc = pho_file__open_regular(&fd, &st, path, "output", err);
    if (rc)
        return rc;
    struct pho_copy_info info;
    rc = hash_fd(fd, &info, path, err);
    close(fd);
    if (rc == 0) {
        pho_strlcpy(out, info.sha256, 65);
        if (size)
            *size = info.size;
    }
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
