/* SPDX-License-Identifier: MIT */
/* A synthetic library of 12-MP camera JPEGs with known bursts (camlib.c). */
#ifndef PHO_BENCH_CAMLIB_H
#define PHO_BENCH_CAMLIB_H

#include <stddef.h>

/*
 * Writes @n photos into @dir (made if missing): copies of the camera JPEGs
 * @bases, in turn, each with its own EXIF thumbnail and capture time; a
 * share @grouped of them in bursts of three shots of one scene a second
 * apart, the rest lone shots of scenes of their own. *in_bursts: how many
 * photos are in bursts. Needs libvips started. 0 or -1.
 */
int bench_camera_library(const char *dir, const char **bases, size_t nbases, size_t n,
                         double grouped, size_t *in_bursts);

#endif
