/* SPDX-License-Identifier: MIT */
/*
 * Private to src/organize: a two-stage pipeline. Decode workers turn item
 * indices into images and push them into a bounded queue; inference workers
 * take up to `batch` images at a time. Neither side waits for the other more
 * than it must, and memory stays bounded by the queue's capacity.
 */
#ifndef PHO_ORGANIZE_PIPELINE_H
#define PHO_ORGANIZE_PIPELINE_H

#include "core/common.h"

#include <stdatomic.h>

#include "pho/image.h"

/* Decodes item @i; 0 with *out set, or non-zero to skip the item (already reported). */
typedef int (*pipe_decode_fn)(void *ud, size_t i, struct pho_image **out);

/* Processes a batch (indices and images, @n >= 1); the pipeline frees the images after. */
typedef void (*pipe_infer_fn)(void *ud, const size_t *idx, struct pho_image *const *imgs, size_t n);

/* Largest batch a consumer takes (its scratch lives on its stack). */
#define PIPE_MAX_BATCH 256

struct pipe_opts {
    unsigned decoders;  /* threads decoding (>= 1) */
    unsigned inferers;  /* threads consuming batches (>= 1) */
    size_t batch;       /* most images per batch (>= 1) */
    size_t queue_cap;   /* most decoded images waiting (>= batch) */
    atomic_int *cancel; /* non-zero: stop taking new items */
};

struct pipe_stats {
    double decode; /* seconds decoding, summed over decode workers */
    double wait;   /* seconds inference workers waited for images */
    double infer;  /* seconds inside the inference callback */
    size_t batches, items;
};

/* Runs items 0..n-1 through both stages; returns when all are done (or cancelled). */
void pho_organize__pipe_run(size_t n, const struct pipe_opts *o, pipe_decode_fn decode,
                            pipe_infer_fn infer, void *ud, struct pipe_stats *stats);

#endif /* PHO_ORGANIZE_PIPELINE_H */
