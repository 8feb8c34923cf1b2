/* SPDX-License-Identifier: MIT */
/*
 * Private to libpho: opening a file to read it, without ever blocking.
 *
 * open() on a FIFO waits for a writer, forever; on some devices it has side
 * effects. Every file the library reads (photos, outputs it compares, models)
 * is opened here: with O_NONBLOCK, then checked on the opened descriptor with
 * fstat (no window between a check and the open), and only a regular file is
 * kept, in blocking mode again.
 */
#ifndef PHO_CORE_FILE_H
#define PHO_CORE_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pho/error.h"

/* What kind of file @mode is ("a FIFO", "a socket", "a device", "a folder"). */
const char *pho_file__kind(mode_t mode);

/* Opens @path read-only if it is a regular file: *@fd and *@st are set and 0
 * is returned; otherwise PHO_ENOTFOUND (missing), PHO_EINVAL ("@who: not a
 * regular file (a FIFO)") or PHO_EIO, with @who starting the message. */
int pho_file__open_regular(int *fd, struct stat *st, const char *path, const char *who,
                           struct pho_err *err);

/* Reads @n bytes at @off of @fd, retrying short reads and EINTR: the count
 * read (less than @n only at the end of the file), or -1 with errno set. */
ssize_t pho_file__pread_full(int fd, void *buf, size_t n, uint64_t off);

/* The same, as a stdio stream ("rb"); NULL with @err filled. */
FILE *pho_file__fopen_regular(const char *path, const char *who, struct pho_err *err);

#endif
