/* SPDX-License-Identifier: MIT */
/*
 * One run per output folder at a time. Two runs writing into the same OUT
 * would interleave their group folders and reports; each run holds an
 * exclusive flock() on OUT/.photo-organizer/lock for its whole length. The
 * kernel drops the lock when the process ends, however it ends, so a crashed
 * run never leaves OUT locked. The file holds the holder's PID, to name it.
 */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "organize/internal.h"

static long holder_pid(int fd)
{
    char buf[32] = { 0 };
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    char *end = NULL;
    long pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 ? pid : 0;
}

int pho_organize__lock(int *fd_out, const char *out_dir, bool wait, struct pho_err *err)
{
    *fd_out = -1;
    char *dir = pho_organize__join(out_dir, ".photo-organizer");
    char *path = dir ? pho_organize__join(dir, "lock") : NULL;
    int rc = path ? pho_organize__mkdirs(dir, err)
                  : pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
    int fd = -1;
    if (rc)
        goto out;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd < 0) {
        rc = pho_err_set(err, PHO_EIO, "organize: cannot open the lock %s: %s", path,
                         strerror(errno));
        goto out;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK) {
            rc = pho_err_set(err, PHO_EIO, "organize: cannot lock %s: %s", path, strerror(errno));
            goto out;
        }
        long pid = holder_pid(fd);
        if (!wait) {
            char who[48] = "another run";
            if (pid)
                snprintf(who, sizeof(who), "another run (PID %ld)", pid);
            rc = pho_err_set(err, PHO_EBUSY,
                             "organize: %s is organizing into %s; wait for it to end, or "
                             "pass --wait to start when it does",
                             who, out_dir);
            goto out;
        }
        pho_log(PHO_LOG_INFO, "organize", "waiting for the run (PID %ld) that holds %s", pid,
                out_dir);
        while (flock(fd, LOCK_EX) < 0) {
            if (errno != EINTR) {
                rc = pho_err_set(err, PHO_EIO, "organize: cannot lock %s: %s", path,
                                 strerror(errno));
                goto out;
            }
            rc = pho_err_set(err, PHO_EINTR, "organize: interrupted while waiting for %s", out_dir);
            goto out;
        }
    }
    /* Ours now: say who holds it. */
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        pho_log(PHO_LOG_DEBUG, "organize", "cannot record the PID in %s: %s", path,
                strerror(errno));
    *fd_out = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    pho_free(path);
    pho_free(dir);
    return rc;
}

void pho_organize__unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* closing the last descriptor releases the flock */
}

int pho_organize__open_catalog(struct pho_catalog **cat, int *lock_fd, const char *output,
                               bool lock, const char *who, const char *hint, struct pho_err *err)
{
    *cat = NULL;
    *lock_fd = -1;
    bool shared = false;
    char *db = pho_organize__catalog_where(output, NULL, &shared);
    int rc = db ? 0 : pho_err_set(err, PHO_ENOMEM, "%s: out of memory", who);
    struct stat st;
    if (rc == 0 && !shared && stat(db, &st) < 0)
        rc = pho_err_set(err, PHO_ENOTFOUND, "%s: %s has no catalog; %s", who, output, hint);
    if (rc == 0 && lock)
        rc = pho_organize__lock(lock_fd, output, false, err);
    if (rc == 0)
        rc = pho_catalog_open(cat, db, err);
    pho_free(db);
    if (rc) {
        pho_organize__unlock(*lock_fd);
        *lock_fd = -1;
    }
    return rc;
}
