/* SPDX-License-Identifier: MIT */
/*
 * For harnesses of readers that take a path: the input bytes as an anonymous
 * in-memory file (memfd), reachable as /proc/self/fd/N. Nothing is written to
 * any folder, and the file is a regular file, as the readers require.
 */
#ifndef PHO_FUZZ_MEMFILE_H
#define PHO_FUZZ_MEMFILE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

struct memfile {
    int fd;
    char path[32];
};

/* 0, or -1 when the memfd cannot be made (the harness then skips the input). */
static inline int memfile_open(struct memfile *m, const uint8_t *data, size_t size)
{
    m->fd = memfd_create("fuzz-input", MFD_CLOEXEC);
    if (m->fd < 0)
        return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(m->fd, data + off, size - off);
        if (n <= 0) {
            close(m->fd);
            return -1;
        }
        off += (size_t)n;
    }
    snprintf(m->path, sizeof(m->path), "/proc/self/fd/%d", m->fd);
    return 0;
}

static inline void memfile_close(struct memfile *m)
{
    close(m->fd);
}

#endif
