/* SPDX-License-Identifier: MIT */
/*
 * Private to src/organize: the worker loop (worker.c), run by
 * `photo-organizer worker` and by the coordinator of a distributed run
 * (distribute.c), which works on its own queue until it drains.
 */
#ifndef PHO_ORGANIZE_WORK_H
#define PHO_ORGANIZE_WORK_H

#include "core/common.h"

#include <stdatomic.h>

#include "pho/catalog.h"
#include "pho/organize.h"

struct work_loop {
    const char *where; /* the catalog */
    const char *name;  /* this worker, in the queue's claims */
    int lease_s;
    size_t batch; /* jobs per claim */
    unsigned threads;
    const char *models_dir; /* NULL: the run's */
    bool gpu_set, gpu;      /* gpu_set: this machine's choice overrides the run's */
    int gpu_device;
    const char *const *path_map; /* "FROM=TO" */
    size_t npath_map;
    int64_t until_run;  /* > 0: return once this run has no job waiting or held */
    double idle_exit_s; /* > 0: return after this long with nothing to claim */
    atomic_int *cancel;
    /* Called after each claim with the counts of until_run's jobs. */
    void (*tick)(void *ud, const int64_t counts[PHO_JOB_STATES]);
    void *ud;
    struct pho_worker_stats *stats; /* may be NULL */
};

int pho_organize__work(const struct work_loop *w, struct pho_err *err);

/* This process's name in the queue's claims: host:pid. */
void pho_organize__worker_name(char *out, size_t size);

#endif
