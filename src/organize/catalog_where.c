/* SPDX-License-Identifier: MIT */
/*
 * Where an output folder's catalog lives: its own SQLite file
 * (OUT/.photo-organizer/catalog.db), or the shared PostgreSQL database it was
 * organized with (--catalog, docs/scale-out.md). The database is remembered in
 * OUT/.photo-organizer/catalog-location, so serve, decide, people and --resume
 * find it from the folder alone. The file is the user's connection string and
 * may hold a password: it is written atomically and readable by its owner only.
 */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "organize/internal.h"
#include "pho/catalog.h"

#define LOCATION_FILE "catalog-location"
#define LOCATION_MAX  4096

/* The remembered location (malloc'd), or NULL when there is none or it is unreadable. */
static char *read_location(const char *dir)
{
    char *path = pho_organize__join(dir, LOCATION_FILE);
    if (!path)
        return NULL;
    char buf[LOCATION_MAX + 1];
    ssize_t n = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        n = read(fd, buf, LOCATION_MAX);
        close(fd);
    }
    pho_free(path);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return pho_catalog_is_url(buf) ? pho_strdup(buf) : NULL;
}

char *pho_organize__catalog_where(const char *output, const char *given, bool *shared)
{
    char *dir = pho_organize__join(output, ".photo-organizer");
    char *where = NULL;
    if (!dir)
        return NULL;
    if (given && given[0])
        where = pho_strdup(given);
    else if (!(where = read_location(dir)))
        where = pho_organize__join(dir, "catalog.db");
    pho_free(dir);
    if (shared)
        *shared = where && pho_catalog_is_url(where);
    return where;
}

int pho_organize__catalog_remember(const char *output, const char *where, struct pho_err *err)
{
    char *dir = pho_organize__join(output, ".photo-organizer");
    char *path = dir ? pho_organize__join(dir, LOCATION_FILE) : NULL;
    int rc = path ? 0 : pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
    if (rc == 0 && !pho_catalog_is_url(where)) {
        /* Back to the folder's own file: forget the database. */
        if (unlink(path) != 0 && errno != ENOENT)
            rc = pho_err_set(err, PHO_EIO, "organize: cannot remove %s: %s", path, strerror(errno));
    } else if (rc == 0) {
        char *old = read_location(dir);
        bool same = old && !strcmp(old, where);
        pho_free(old);
        if (!same) {
            size_t len = strlen(where);
            char *text = pho_malloc(len + 2);
            if (!text) {
                rc = pho_err_set(err, PHO_ENOMEM, "organize: out of memory");
            } else {
                memcpy(text, where, len);
                memcpy(text + len, "\n", 2);
                rc = pho_organize__write_private(path, text, len + 1, err);
                pho_free(text);
            }
        }
    }
    pho_free(path);
    pho_free(dir);
    return rc;
}
