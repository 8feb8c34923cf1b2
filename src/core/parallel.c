/* SPDX-License-Identifier: MIT */
/* pthread-based parallel-for with an atomic work counter. */
#include "core/common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "pho/parallel.h"

struct job {
    size_t n;
    atomic_size_t next;
    pho_parallel_fn fn;
    void *ud;
};

struct worker {
    struct job *job;
    unsigned id;
    pthread_t thread;
};

static void *run_worker(void *arg)
{
    struct worker *w = arg;
    struct job *j = w->job;
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (i >= j->n)
            break;
        j->fn(j->ud, i, w->id);
    }
    return NULL;
}

unsigned pho_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

void pho_parallel_for(size_t n, unsigned threads, pho_parallel_fn fn, void *ud)
{
    if (threads == 0)
        threads = pho_cpu_count();
    if (threads > n)
        threads = n ? (unsigned)n : 1;
    struct job job = { .n = n, .fn = fn, .ud = ud };
    atomic_init(&job.next, 0);
    struct worker self = { .job = &job, .id = 0 };
    struct worker *ws = threads > 1 ? pho_calloc(threads, sizeof(*ws)) : NULL;
    unsigned started = 1;
    if (ws) {
        for (; started < threads; started++) {
            ws[started].job = &job;
            ws[started].id = started;
            if (pthread_create(&ws[started].thread, NULL, run_worker, &ws[started]))
                break;
        }
    }
    /* Worker 0 is the calling thread; the others share the same counter. */
    run_worker(&self);
    for (unsigned i = 1; ws && i < started; i++)
        pthread_join(ws[i].thread, NULL);
    pho_free(ws);
}
