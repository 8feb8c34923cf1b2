/* SPDX-License-Identifier: MIT */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"

const char *pho_file__kind(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISDIR(mode))
        return "a folder";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return "not a plain file";
}

int pho_file__open_regular(int *fd_out, struct stat *st, const char *path, const char *who,
                           struct pho_err *err)
{
    *fd_out = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return pho_err_set(err, errno == ENOENT ? PHO_ENOTFOUND : PHO_EIO, "%s: cannot open: %s",
                           who, strerror(errno));
    if (fstat(fd, st) < 0) {
        int e = errno;
        close(fd);
        return pho_err_set(err, PHO_EIO, "%s: cannot stat: %s", who, strerror(e));
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return pho_err_set(err, PHO_EINVAL, "%s: not a regular file (%s)", who,
                           pho_file__kind(st->st_mode));
    }
    /* Regular files never block; clear the flag so reads behave as usual. */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    *fd_out = fd;
    return 0;
}

FILE *pho_file__fopen_regular(const char *path, const char *who, struct pho_err *err)
{
    int fd;
    struct stat st;
    if (pho_file__open_regular(&fd, &st, path, who, err) < 0)
        return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        pho_err_set(err, PHO_ENOMEM, "%s: cannot open: %s", who, strerror(errno));
        close(fd);
    }
    return f;
}

ssize_t pho_file__pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}
