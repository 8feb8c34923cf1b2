/* SPDX-License-Identifier: MIT */
/* What the benchmarks share: a clock and a library of hard-linked photos. */
#ifndef PHO_BENCH_BENCHLIB_H
#define PHO_BENCH_BENCHLIB_H

#include <stddef.h>

/* Monotonic seconds. */
double bench_now(void);

/*
 * Hard-links @files (cycling) @n times in total into @dir, 500 per subfolder,
 * under different names: a large library without the disk it would take.
 * @return 0, or -1 with errno set.
 */
int bench_link_library(const char *dir, const char **files, size_t nfiles, size_t n);

/* rm -rf @path (a folder the benchmark made); complains on stderr when it cannot. */
void bench_remove(const char *prog, const char *path);

#endif /* PHO_BENCH_BENCHLIB_H */
