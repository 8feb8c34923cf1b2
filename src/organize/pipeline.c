/* SPDX-License-Identifier: MIT */
/*
 * Decode workers -> bounded queue -> batched inference workers (pipeline.h).
 * The queue is a mutex-guarded ring with two condition variables. A consumer
 * that finds fewer images than a full batch waits a little for more while
 * decoders are still running, so a GPU gets full batches, but never waits
 * once the decoders are done.
 */
#include "core/common.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "organize/pipeline.h"

/* How long a consumer waits to fill a batch before running a partial one. */
#define FILL_WAIT_NS (20 * 1000 * 1000L)

struct slot {
    size_t idx;
    struct pho_image *img;
};

struct pipe {
    const struct pipe_opts *o;
    pipe_decode_fn decode;
    pipe_infer_fn infer;
    void *ud;
    size_t n;
    atomic_size_t next;
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    struct slot *ring;
    size_t head, count;
    size_t qcap; /* ring size: at least one full batch */
    unsigned decoders_left;
    struct pipe_stats stats;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool stopped(const struct pipe *p)
{
    return p->o->cancel && atomic_load(p->o->cancel);
}

static void *decoder(void *arg)
{
    struct pipe *p = arg;
    double busy = 0;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n || stopped(p))
            break;
        struct pho_image *img = NULL;
        double t0 = mono();
        int rc = p->decode(p->ud, i, &img);
        busy += mono() - t0;
        if (rc || !img)
            continue;
        pthread_mutex_lock(&p->lock);
        while (p->count == p->qcap)
            pthread_cond_wait(&p->not_full, &p->lock);
        p->ring[(p->head + p->count) % p->qcap] = (struct slot){ i, img };
        p->count++;
        pthread_cond_signal(&p->not_empty);
        pthread_mutex_unlock(&p->lock);
    }
    pthread_mutex_lock(&p->lock);
    p->stats.decode += busy;
    p->decoders_left--;
    pthread_cond_broadcast(&p->not_empty);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void *consumer(void *arg)
{
    struct pipe *p = arg;
    size_t cap = PHO_MIN(PHO_MAX(p->o->batch, (size_t)1), (size_t)PIPE_MAX_BATCH);
    size_t idx[PIPE_MAX_BATCH];
    struct pho_image *imgs[PIPE_MAX_BATCH];
    double waited = 0, busy = 0;
    size_t batches = 0, items = 0;
    for (;;) {
        double t0 = mono();
        pthread_mutex_lock(&p->lock);
        while (p->count == 0 && p->decoders_left > 0)
            pthread_cond_wait(&p->not_empty, &p->lock);
        if (p->count < cap && p->decoders_left > 0) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += FILL_WAIT_NS;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            while (p->count < cap && p->decoders_left > 0 &&
                   pthread_cond_timedwait(&p->not_empty, &p->lock, &until) != ETIMEDOUT)
                ;
        }
        size_t n = 0;
        while (p->count > 0 && n < cap) {
            struct slot s = p->ring[p->head];
            p->head = (p->head + 1) % p->qcap;
            p->count--;
            idx[n] = s.idx;
            imgs[n++] = s.img;
        }
        bool done = n == 0 && p->count == 0 && p->decoders_left == 0;
        pthread_cond_broadcast(&p->not_full);
        pthread_mutex_unlock(&p->lock);
        waited += mono() - t0;
        if (done)
            break;
        if (n == 0)
            continue;
        double t1 = mono();
        p->infer(p->ud, idx, imgs, n);
        busy += mono() - t1;
        for (size_t k = 0; k < n; k++)
            pho_image_free(imgs[k]);
        batches++;
        items += n;
    }
    pthread_mutex_lock(&p->lock);
    p->stats.wait += waited;
    p->stats.infer += busy;
    p->stats.batches += batches;
    p->stats.items += items;
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

void pho_organize__pipe_run(size_t n, const struct pipe_opts *o, pipe_decode_fn decode,
                            pipe_infer_fn infer, void *ud, struct pipe_stats *stats)
{
    struct pipe p = { .o = o, .decode = decode, .infer = infer, .ud = ud, .n = n };
    memset(stats, 0, sizeof(*stats));
    if (n == 0)
        return;
    p.qcap = PHO_MAX(PHO_MAX(o->queue_cap, o->batch), (size_t)1);
    atomic_init(&p.next, 0);
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.not_empty, NULL);
    pthread_cond_init(&p.not_full, NULL);
    unsigned nd = o->decoders ? o->decoders : 1, nc = o->inferers ? o->inferers : 1;
    p.ring = pho_calloc(p.qcap, sizeof(*p.ring));
    pthread_t *threads = pho_calloc(nd + nc, sizeof(*threads));
    unsigned started = 0;
    p.decoders_left = nd;
    if (p.ring && threads) {
        for (unsigned i = 0; i < nd + nc; i++) {
            if (pthread_create(&threads[i], NULL, i < nd ? decoder : consumer, &p) != 0)
                break;
            started++;
        }
    }
    if (started < nd + nc) {
        /* Could not start every worker: stop the ones that did and run serially. */
        if (started < nd) {
            pthread_mutex_lock(&p.lock);
            p.decoders_left -= nd - started;
            pthread_mutex_unlock(&p.lock);
        }
        if (started <= nd) {
            /* No consumer: be one on this thread. */
            consumer(&p);
        }
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (!p.ring || !threads) {
        /* No memory for the machinery: the simplest correct loop. */
        for (size_t i = 0; i < n && !stopped(&p); i++) {
            struct pho_image *img = NULL;
            if (decode(ud, i, &img) == 0 && img) {
                infer(ud, &i, &img, 1);
                pho_image_free(img);
            }
        }
    }
    *stats = p.stats;
    pho_free(threads);
    pho_free(p.ring);
    pthread_cond_destroy(&p.not_empty);
    pthread_cond_destroy(&p.not_full);
    pthread_mutex_destroy(&p.lock);
}
