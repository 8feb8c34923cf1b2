/* SPDX-License-Identifier: MIT */
#include "benchlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int bench_link_library(const char *dir, const char **files, size_t nfiles, size_t n)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char sub[4400], path[4500];
        snprintf(sub, sizeof(sub), "%s/d%03zu", dir, i / 500);
        if (mkdir(sub, 0755) < 0 && errno != EEXIST)
            return -1;
        snprintf(path, sizeof(path), "%s/IMG_%06zu.jpg", sub, i);
        if (link(files[i % nfiles], path) < 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

void bench_remove(const char *prog, const char *path)
{
    char cmd[4400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "%s: could not remove %s\n", prog, path);
}
