/* SPDX-License-Identifier: MIT */
/*
 * Private to src/serve: what the viewer's server knows of an output folder (library.c:
 * its report and the files the report lists, the only ones served) and the pictures it
 * makes of them (thumbs.c: upright sRGB JPEGs, cached under OUT/.photo-organizer/thumbs).
 */
#ifndef PHO_SERVE_INTERNAL_H
#define PHO_SERVE_INTERNAL_H

#include "core/common.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

/* Sizes a picture is made at (long side, pixels); others are refused. */
#define PHO_SERVE_SIZES 256, 512, 1024, 2048

struct serve_library {
    char *out;         /* canonical output folder */
    int out_fd;        /* open on it (O_PATH) */
    bool follow_links; /* the run made symbolic links (--link symlink): they lead out of OUT */
    pthread_mutex_t lock;
    /* The report as served, and what it was read from. */
    char *report;
    size_t report_len;
    dev_t report_dev;
    ino_t report_ino;
    int64_t report_mtime_ns;
    /* The report's files below OUT, sorted: what may be served. */
    char **files;
    size_t nfiles;
};

int pho_serve__library_open(struct serve_library *lib, const char *out, struct pho_err *err);
void pho_serve__library_close(struct serve_library *lib);

/* The latest report (read again when it changed): a copy in *@out (pho_free). */
int pho_serve__report(struct serve_library *lib, char **out, size_t *len, struct pho_err *err);

/* Opens @rel for reading when the report last read lists it: PHO_ENOTFOUND otherwise (and for
 * anything that leaves OUT through a link the run did not make). *@fd, *@size, *@mtime_ns. */
int pho_serve__open_file(struct serve_library *lib, const char *rel, int *fd, uint64_t *size,
                         int64_t *mtime_ns, struct pho_err *err);

/* Where a photo listed at @rel before a change is now, when @rel is gone: the one file of
 * the latest report (read again if it changed) with the same name in the same kind of place
 * (a group's originals/, a best_ copy). NULL when none or several; the caller frees it. A
 * page that was still loading pictures when a decision moved them gets them all the same. */
char *pho_serve__moved(struct serve_library *lib, const char *rel);

/* A JPEG of @rel no larger than @size on its long side: from the cache, or made and cached.
 * *@data is the caller's (pho_free); @etag gets the cache key (64 hex digits). */
int pho_serve__picture(struct serve_library *lib, const char *rel, unsigned size, void **data,
                       size_t *len, char etag[65], struct pho_err *err);

/* Whether @size is one the server makes. */
bool pho_serve__size_ok(unsigned size);

#endif
