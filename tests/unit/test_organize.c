/* SPDX-License-Identifier: MIT */
/*
 * Two private parts of src/organize that the end-to-end tests only see
 * through their results: the face pipeline (decode workers, bounded queue,
 * batched consumers) and the best-shot rule (best.c, docs/best-shot.md).
 * The whole organizer is driven by tests/e2e.
 */
#include "core/common.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/testlib.h"
#include "organize/internal.h"
#include "organize/pipeline.h"
#include "organize/run.h"
#include "pho/catalog.h"
#include "pho/image.h"
#include "pho/organize.h"

/* ---- pipeline ------------------------------------------------------------ */

struct pipe_probe {
    size_t n;
    atomic_int *seen;      /* times each item reached the consumer */
    atomic_int queued;     /* decoded and not yet consumed */
    atomic_int max_queued; /* the most ever waiting (bounded by the queue) */
    atomic_int max_batch;
    size_t fail_every; /* decode fails for items i % fail_every == 1 (0: never) */
    atomic_int *cancel;
    size_t cancel_after;
    atomic_size_t consumed;
    atomic_int wrong; /* images that reached the consumer under another index */
};

static int probe_decode(void *ud, size_t i, struct pho_image **out)
{
    struct pipe_probe *pp = ud;
    if (pp->fail_every && i % pp->fail_every == 1)
        return -1;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_image_new(out, 4, 4, &err))
        return -1;
    (*out)->pixels[0] = (uint8_t)i;
    int q = atomic_fetch_add(&pp->queued, 1) + 1;
    int m = atomic_load(&pp->max_queued);
    while (q > m && !atomic_compare_exchange_weak(&pp->max_queued, &m, q))
        ;
    return 0;
}

static void probe_infer(void *ud, const size_t *idx, struct pho_image *const *imgs, size_t n)
{
    struct pipe_probe *pp = ud;
    int m = atomic_load(&pp->max_batch);
    while ((int)n > m && !atomic_compare_exchange_weak(&pp->max_batch, &m, (int)n))
        ;
    /* Worker threads: no cmocka asserts here, the test checks the counters after. */
    for (size_t k = 0; k < n; k++) {
        if (idx[k] >= pp->n || imgs[k]->pixels[0] != (uint8_t)idx[k]) {
            atomic_fetch_add(&pp->wrong, 1);
            continue;
        }
        atomic_fetch_add(&pp->seen[idx[k]], 1);
        atomic_fetch_sub(&pp->queued, 1);
    }
    size_t done = atomic_fetch_add(&pp->consumed, n) + n;
    if (pp->cancel && done >= pp->cancel_after)
        atomic_store(pp->cancel, 1);
}

static void run_pipe(struct pipe_probe *pp, size_t n, unsigned dec, unsigned inf, size_t batch,
                     size_t qcap, struct pipe_stats *st)
{
    memset(pp, 0, sizeof(*pp));
    pp->n = n;
    pp->seen = calloc(n ? n : 1, sizeof(*pp->seen));
    struct pipe_opts o = { .decoders = dec, .inferers = inf, .batch = batch, .queue_cap = qcap };
    pho_organize__pipe_run(n, &o, probe_decode, probe_infer, pp, st);
}

static void test_pipe_every_item_once(void **state)
{
    (void)state;
    static const struct {
        unsigned dec, inf;
        size_t batch, qcap;
    } cases[] = {
        { 1, 1, 1, 1 }, { 1, 1, 16, 34 }, { 4, 1, 8, 20 }, { 2, 3, 5, 13 }, { 3, 2, 300, 0 },
    };
    for (size_t c = 0; c < PHO_ARRAY_LEN(cases); c++) {
        struct pipe_probe pp;
        struct pipe_stats st;
        run_pipe(&pp, 500, cases[c].dec, cases[c].inf, cases[c].batch, cases[c].qcap, &st);
        for (size_t i = 0; i < 500; i++)
            if (pp.seen[i] != 1)
                fail_msg("case %zu: item %zu consumed %d times", c, i, (int)pp.seen[i]);
        size_t want_batch = PHO_MIN(cases[c].batch, (size_t)PIPE_MAX_BATCH);
        size_t cap = PHO_MAX(cases[c].qcap, want_batch);
        printf("# case %zu: %zu batches, largest %d, most queued %d (cap %zu)\n", c, st.batches,
               (int)pp.max_batch, (int)pp.max_queued, cap);
        assert_int_equal(pp.wrong, 0);
        assert_int_equal(st.items, 500);
        assert_true((size_t)pp.max_batch <= want_batch);
        assert_true(st.batches >= (500 + want_batch - 1) / want_batch);
        /* Memory stays bounded: decoded images alive at once never exceed the queue, the
         * batches consumers hold and one image per decoder waiting for room. */
        assert_true((size_t)pp.max_queued <= cap + cases[c].inf * want_batch + cases[c].dec);
        free(pp.seen);
    }
}

static void test_pipe_failed_decodes_and_empty(void **state)
{
    (void)state;
    struct pipe_probe pp;
    struct pipe_stats st;
    memset(&pp, 0, sizeof(pp));
    pp.n = 100;
    pp.fail_every = 3;
    pp.seen = calloc(100, sizeof(*pp.seen));
    struct pipe_opts o = { .decoders = 2, .inferers = 2, .batch = 4, .queue_cap = 8 };
    pho_organize__pipe_run(100, &o, probe_decode, probe_infer, &pp, &st);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(pp.seen[i], i % 3 == 1 ? 0 : 1);
    assert_int_equal(st.items, 100 - 33);
    free(pp.seen);

    run_pipe(&pp, 0, 2, 2, 4, 8, &st);
    assert_int_equal(st.items, 0);
    assert_int_equal(st.batches, 0);
    free(pp.seen);
}

static void test_pipe_cancel(void **state)
{
    (void)state;
    atomic_int cancel = 0;
    struct pipe_probe pp;
    struct pipe_stats st;
    memset(&pp, 0, sizeof(pp));
    pp.n = 10000;
    pp.seen = calloc(pp.n, sizeof(*pp.seen));
    pp.cancel = &cancel;
    pp.cancel_after = 50;
    struct pipe_opts o = {
        .decoders = 2, .inferers = 1, .batch = 4, .queue_cap = 8, .cancel = &cancel
    };
    pho_organize__pipe_run(pp.n, &o, probe_decode, probe_infer, &pp, &st);
    printf("# cancelled after %zu of %zu items\n", st.items, pp.n);
    /* What was decoded is still consumed (and freed); nothing new is started. */
    assert_true(st.items >= 50 && st.items < 50 + 8 + 2 + 4);
    assert_int_equal(pp.queued, 0);
    free(pp.seen);
}

/* ---- best shot ------------------------------------------------------------ */

struct take {
    const char *rel;
    double quality;
    int64_t time;
    int faces;          /* -1: faces not analysed */
    int closed;         /* of them, eyes closed */
    int unknown;        /* of them, eyes not judged */
    float smile;        /* every face's smile */
    float ear_l, ear_r; /* every face's eye aspect ratios; 0: no eye landmarks */
};

static size_t choose(const struct take *t, size_t n, char *why, size_t why_size)
{
    struct pho_photo *photos = calloc(n, sizeof(*photos));
    struct pho_face_list *faces = calloc(n, sizeof(*faces));
    size_t *members = calloc(n, sizeof(*members));
    bool with_faces = false;
    for (size_t i = 0; i < n; i++) {
        pho_photo_init(&photos[i]);
        photos[i].rel = (char *)t[i].rel;
        photos[i].quality.score = t[i].quality;
        photos[i].meta.time.local = t[i].time;
        members[i] = i;
        if (t[i].faces < 0)
            continue;
        with_faces = true;
        faces[i].image_w = faces[i].image_h = 1000;
        faces[i].count = (size_t)t[i].faces;
        faces[i].faces = calloc((size_t)t[i].faces + 1, sizeof(struct pho_face));
        for (int k = 0; k < t[i].faces; k++) {
            struct pho_face *f = &faces[i].faces[k];
            f->eyes_closed = k < t[i].closed ? 1 : k < t[i].closed + t[i].unknown ? -1 : 0;
            f->winking = 0;
            f->smile = t[i].smile;
            f->sharpness = 500;
            f->yaw = 0;
            /* Faces side by side, at the same place in every take. */
            f->box[0] = 0.1f + 0.2f * (float)k;
            f->box[1] = 0.3f;
            f->box[2] = f->box[0] + 0.15f;
            f->box[3] = 0.5f;
            if (t[i].ear_l > 0) {
                f->has_eyes = true;
                f->ear_l = t[i].ear_l;
                f->ear_r = t[i].ear_r;
                for (int e = 0; e < 2; e++) {
                    float(*eye)[2] = e ? f->eye_r : f->eye_l;
                    eye[0][0] = f->box[0] + 0.02f + 0.06f * (float)e; /* 30 px wide */
                    eye[3][0] = eye[0][0] + 0.03f;
                    eye[0][1] = eye[3][1] = 0.38f;
                }
            } else {
                f->ear_l = f->ear_r = NAN;
            }
        }
    }
    struct pho_group_plan g = { .members = members, .count = n };
    pho_organize__choose_best(&g, photos, with_faces ? faces : NULL, NULL);
    snprintf(why, why_size, "%s", g.why);
    for (size_t i = 0; i < n; i++)
        free(faces[i].faces);
    free(faces);
    free(members);
    free(photos);
    return g.best;
}

/* With the people known: a take missing a person of the group is worse even when a stranger
 * makes up the number of faces, and the reason names people. */
static void test_best_by_person(void **state)
{
    (void)state;
    struct pho_photo photos[3];
    struct pho_face_list faces[3] = { 0 };
    struct pho_face f[3][2] = { 0 };
    /* a: Anna and Ben, eyes open, dull; b: Anna and a stranger in Ben's place, sharpest;
     * c: Anna (eyes closed) and Ben, sharp. */
    int64_t who[3][2] = { { 1, 2 }, { 1, 3 }, { 1, 2 } };
    int64_t *persons[3] = { who[0], who[1], who[2] };
    const double quality[3] = { 0.6, 0.95, 0.9 };
    const char *rel[3] = { "a.jpg", "b.jpg", "c.jpg" };
    for (int i = 0; i < 3; i++) {
        pho_photo_init(&photos[i]);
        photos[i].rel = (char *)rel[i];
        photos[i].quality.score = quality[i];
        photos[i].meta.time.local = 100 + i;
        faces[i] = (struct pho_face_list){
            .faces = f[i], .count = 2, .image_w = 1000, .image_h = 1000
        };
        for (int k = 0; k < 2; k++) {
            f[i][k].eyes_closed = i == 2 && k == 0;
            f[i][k].smile = 0.5f;
            f[i][k].sharpness = 500;
            f[i][k].ear_l = f[i][k].ear_r = NAN;
            f[i][k].box[0] = 0.1f + 0.4f * (float)k;
            f[i][k].box[1] = 0.3f;
            f[i][k].box[2] = f[i][k].box[0] + 0.2f;
            f[i][k].box[3] = 0.5f;
        }
    }
    struct pho_person_summary people[3] = {
        { .id = 1, .name = (char *)"Anna" },
        { .id = 2, .name = (char *)"Ben" },
        { .id = 3, .name = (char *)"" },
    };
    struct pho_organize__identity id = {
        .metric = PHO_FACE_METRIC_NONE, .persons = persons, .people = people, .npeople = 3
    };
    size_t members[3] = { 0, 1, 2 };
    struct pho_group_plan g = { .members = members, .count = 3 };
    pho_organize__choose_best(&g, photos, faces, &id);
    printf("# %s\n", g.why);
    assert_int_equal(g.best, 0);
    assert_non_null(strstr(g.why, "Ben missing"));
    /* Without take a: the stranger's take beats the one with Anna's eyes closed. */
    size_t two[2] = { 1, 2 };
    g = (struct pho_group_plan){ .members = two, .count = 2 };
    pho_organize__choose_best(&g, photos, faces, &id);
    printf("# %s\n", g.why);
    assert_int_equal(g.best, 1);
    assert_non_null(strstr(g.why, "Anna's eyes closed"));
    /* Without the people, take b has all its faces: the count alone cannot see Ben missing. */
    g = (struct pho_group_plan){ .members = members, .count = 3 };
    pho_organize__choose_best(&g, photos, faces, NULL);
    assert_int_equal(g.best, 1);
}

static void test_best_open_eyes_beat_smiles_and_quality(void **state)
{
    (void)state;
    char why[512];
    const struct take t[] = {
        { "a.jpg", 0.95, 100, 3, 1, 0, 1.0f }, /* sharpest, everyone smiling, one blink */
        { "b.jpg", 0.60, 101, 3, 0, 0, 0.1f }, /* duller, no smiles, all eyes open */
        { "c.jpg", 0.90, 102, 2, 0, 0, 0.9f }, /* one person turned away */
    };
    assert_int_equal(choose(t, 3, why, sizeof(why)), 1);
    printf("# %s\n", why);
    assert_non_null(strstr(why, "eyes"));
}

/* The relative judgement: eyes compared with the same person's in the other takes. */
static void test_best_blink_against_own_eyes(void **state)
{
    (void)state;
    char why[512];
    /* One person. Take b is "open" by the absolute threshold (0.20 > 0.135) but its
     * right eye is at 57 % of this person's own opening: a wink. Its broad smile and
     * sharper image must not win. */
    const struct take t1[] = {
        { "a.jpg", 0.60, 100, 1, 0, 0, 0.2f, 0.34f, 0.35f },
        { "b.jpg", 0.95, 101, 1, 0, 0, 1.0f, 0.33f, 0.20f },
        { "c.jpg", 0.60, 102, 1, 0, 0, 0.3f, 0.35f, 0.34f },
    };
    size_t best = choose(t1, 3, why, sizeof(why));
    printf("# %s\n", why);
    assert_true(best != 1);
    /* Naturally narrow eyes that stay as narrow in every take are not a blink: the
     * smile decides as usual. */
    const struct take t2[] = {
        { "a.jpg", 0.60, 100, 1, 0, 0, 0.2f, 0.20f, 0.19f },
        { "b.jpg", 0.60, 101, 1, 0, 0, 0.9f, 0.19f, 0.20f },
    };
    assert_int_equal(choose(t2, 2, why, sizeof(why)), 1);
    /* Two people: the second person's half-blink in take a, her eyes at 60 % of take b's. */
    const struct take t3[] = {
        { "a.jpg", 0.90, 100, 2, 0, 0, 0.9f, 0.21f, 0.21f },
        { "b.jpg", 0.50, 101, 2, 0, 0, 0.2f, 0.35f, 0.35f },
    };
    assert_int_equal(choose(t3, 2, why, sizeof(why)), 1);
    /* Tied on closed eyes, clearly wider eyes (by more than 10 %) come before a smile. */
    const struct take t4[] = {
        { "a.jpg", 0.60, 100, 1, 0, 0, 0.9f, 0.28f, 0.28f },
        { "b.jpg", 0.60, 101, 1, 0, 0, 0.2f, 0.34f, 0.34f },
    };
    assert_int_equal(choose(t4, 2, why, sizeof(why)), 1);
}

static void test_best_missing_and_unknown_faces(void **state)
{
    (void)state;
    char why[512];
    /* A missing face (0.5) is better than a closed one (1), an unjudged one (0.25) better
     * than a missing one. */
    const struct take t1[] = {
        { "a.jpg", 0.9, 100, 4, 1, 0, 0.5f },
        { "b.jpg", 0.5, 101, 3, 0, 0, 0.5f },
    };
    assert_int_equal(choose(t1, 2, why, sizeof(why)), 1);
    const struct take t2[] = {
        { "a.jpg", 0.5, 100, 3, 0, 0, 0.5f },
        { "b.jpg", 0.5, 101, 4, 0, 1, 0.5f },
    };
    assert_int_equal(choose(t2, 2, why, sizeof(why)), 1);
}

static void test_best_smile_then_quality_then_time(void **state)
{
    (void)state;
    char why[512];
    /* Equal eyes: smiles decide over a small image-quality difference. */
    const struct take t1[] = {
        { "a.jpg", 0.80, 100, 2, 0, 0, 0.1f },
        { "b.jpg", 0.75, 101, 2, 0, 0, 0.9f },
    };
    assert_int_equal(choose(t1, 2, why, sizeof(why)), 1);
    /* Everything equal: the earlier capture, then the path. */
    const struct take t2[] = {
        { "b.jpg", 0.8, 101, 2, 0, 0, 0.5f },
        { "c.jpg", 0.8, 100, 2, 0, 0, 0.5f },
        { "a.jpg", 0.8, 100, 2, 0, 0, 0.5f },
    };
    assert_int_equal(choose(t2, 3, why, sizeof(why)), 2);
    /* Order of the members does not matter. */
    const struct take t3[] = {
        { "a.jpg", 0.8, 100, 2, 0, 0, 0.5f },
        { "c.jpg", 0.8, 100, 2, 0, 0, 0.5f },
        { "b.jpg", 0.8, 101, 2, 0, 0, 0.5f },
    };
    assert_int_equal(choose(t3, 3, why, sizeof(why)), 0);
}

static void test_best_without_faces(void **state)
{
    (void)state;
    char why[512];
    const struct take t[] = {
        { "a.jpg", 0.4, 100, -1, 0, 0, 0 },
        { "b.jpg", 0.7, 101, -1, 0, 0, 0 },
        { "c.jpg", 0.6, 99, -1, 0, 0, 0 },
    };
    assert_int_equal(choose(t, 3, why, sizeof(why)), 1);
    printf("# %s\n", why);
    assert_non_null(strstr(why, "image quality"));
    /* Faces analysed but none found anywhere: image quality too. */
    const struct take t2[] = {
        { "a.jpg", 0.4, 100, 0, 0, 0, 0 },
        { "b.jpg", 0.7, 101, 0, 0, 0, 0 },
    };
    assert_int_equal(choose(t2, 2, why, sizeof(why)), 1);
    assert_non_null(strstr(why, "no faces"));
}

static void free_str(void *p)
{
    pho_free(p);
}

static void rm_tree(void *p)
{
    rm_rf(p);
    free(p);
}

/* What a run records is what --resume reads back, by the output folder alone. */
static void test_settings_round_trip(void **state)
{
    (void)state;
    char *src = t_defer(rm_tree, make_tempdir());
    char *out = t_defer(rm_tree, make_tempdir());
    struct pho_organize_opts o = PHO_ORGANIZE_OPTS_INIT;
    o.source = src;
    o.output = out;
    o.threshold = 11;
    o.time_window = 42.5;
    o.min_group_size = 4;
    o.hash = PHO_HASH_PHASH;
    o.faces = PHO_FACES_ALL;
    o.face_backend = "facenet";
    o.min_face = 0.05f;
    o.xmp.in_output = true;
    o.xmp.style = PHO_XMP_STYLE_NAME_EXT;
    o.xmp.rating_others = -1;
    o.xmp.label = PHO_XMP_LABEL_PURPLE;
    o.tag_only = true;
    char *json = t_defer(free_str, pho_organize_settings_json(&o));
    assert_non_null(json);

    struct pho_organize_record rec;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_organize_last_run(&rec, out, &err), PHO_ENOTFOUND);

    /* A run's start as pho_organize_run records it. */
    char db[4096];
    snprintf(db, sizeof(db), "%s/.photo-organizer", out);
    mkdir(db, 0755);
    snprintf(db, sizeof(db), "%s/.photo-organizer/catalog.db", out);
    struct pho_catalog *cat = NULL;
    int64_t id = 0;
    assert_int_equal(pho_catalog_open(&cat, db, &err), 0);
    assert_int_equal(pho_catalog_run_start(cat, json, &id, &err), 0);
    pho_catalog_close(cat);

    assert_int_equal(pho_organize_last_run(&rec, out, &err), 0);
    assert_false(rec.finished);
    char *real = realpath(src, NULL);
    assert_string_equal(rec.source, real);
    free(real);
    assert_true(rec.source_identified);
    assert_int_equal(rec.opts.threshold, 11);
    assert_true(rec.opts.time_window == 42.5);
    assert_int_equal(rec.opts.min_group_size, 4);
    assert_int_equal(rec.opts.hash, PHO_HASH_PHASH);
    assert_int_equal(rec.opts.faces, PHO_FACES_ALL);
    assert_string_equal(rec.opts.face_backend, "facenet");
    assert_true(fabsf(rec.opts.min_face - 0.05f) < 1e-6f);
    assert_true(rec.opts.xmp.in_output);
    assert_false(rec.opts.xmp.beside_sources);
    assert_int_equal(rec.opts.xmp.style, PHO_XMP_STYLE_NAME_EXT);
    assert_int_equal(rec.opts.xmp.rating_others, -1);
    assert_int_equal(rec.opts.xmp.label, PHO_XMP_LABEL_PURPLE);
    assert_true(rec.opts.tag_only);

    /* What the user typed wins; the rest comes from the record. */
    struct pho_organize_opts now = PHO_ORGANIZE_OPTS_INIT;
    now.output = out;
    now.threshold = 3;
    pho_organize_record_apply(&now, &rec, PHO_SET_THRESHOLD);
    assert_int_equal(now.threshold, 3);
    assert_int_equal(now.min_group_size, 4);
    assert_string_equal(now.source, rec.source);
    assert_int_equal(now.hash, PHO_HASH_PHASH);
}

/* The sidecar merge: ours written, the user's kept, ours taken out again. */
static void test_sidecar_merge(void **state)
{
    (void)state;
    struct pho_organize__decision best = {
        .group = "group_0007",
        .role = "best",
        .best = "IMG_1.JPG",
        .reason = "eyes open",
        .group_size = 3,
        .rating = 5,
        .label = PHO_XMP_LABEL_GREEN,
    };
    char *text = NULL, *again = NULL, *gone = NULL, *mine = NULL;
    size_t len, len2, len3, len4;
    unsigned flags;
    struct pho_err err = PHO_ERR_INIT;
    /* New: rating, label, both keyword forms, our fields. */
    assert_int_equal(pho_organize__sidecar_merge(&text, &len, &flags, NULL, 0, &best, &err), 0);
    assert_int_equal(flags, 0);
    assert_non_null(strstr(text, "<xmp:Rating>5</xmp:Rating>"));
    assert_non_null(strstr(text, "<xmp:Label>Green</xmp:Label>"));
    assert_non_null(strstr(text, "photo-organizer|group_0007"));
    assert_non_null(strstr(text, "photo-organizer|best"));
    assert_non_null(strstr(text, "<rdf:li>group_0007</rdf:li>"));
    assert_non_null(strstr(text, "<phorg:Reason>eyes open</phorg:Reason>"));
    /* Merging the same decision again changes nothing. */
    assert_int_equal(pho_organize__sidecar_merge(&again, &len2, &flags, text, len, &best, &err), 0);
    assert_int_equal(len2, len);
    assert_memory_equal(again, text, len);
    assert_int_equal(flags, 0);
    /* Taken out again: nothing of ours is left. */
    assert_int_equal(pho_organize__sidecar_merge(&gone, &len3, &flags, text, len, NULL, &err), 0);
    assert_null(strstr(gone, "phorg:"));
    assert_null(strstr(gone, "photo-organizer"));
    assert_null(strstr(gone, "xmp:Rating"));

    /* The user's sidecar: rating 2 and the keyword "best" are theirs and stay. */
    static const char user[] =
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
            "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description "
            "rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" "
            "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmp:Rating=\"2\"><dc:subject><rdf:Bag>"
            "<rdf:li>best</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>";
    assert_int_equal(
            pho_organize__sidecar_merge(&mine, &len4, &flags, user, strlen(user), &best, &err), 0);
    assert_int_equal(flags,
                     PHO_SIDECAR_MERGED | PHO_SIDECAR_NEEDS_BACKUP | PHO_SIDECAR_KEPT_RATING);
    assert_non_null(strstr(mine, "<xmp:Rating>2</xmp:Rating>"));
    assert_non_null(strstr(mine, "<rdf:li>best</rdf:li>"));
    char *stripped = NULL;
    size_t len5;
    assert_int_equal(pho_organize__sidecar_merge(&stripped, &len5, &flags, mine, len4, NULL, &err),
                     0);
    assert_non_null(strstr(stripped, "<rdf:li>best</rdf:li>")); /* theirs, not ours */
    assert_non_null(strstr(stripped, "<xmp:Rating>2</xmp:Rating>"));
    assert_null(strstr(stripped, "photo-organizer"));

    /* Not XMP: refused, with the reason. */
    char *bad = NULL;
    assert_int_equal(pho_organize__sidecar_merge(&bad, &len5, &flags, "<<", 2, &best, &err),
                     PHO_ECORRUPT);
    assert_null(bad);
    assert_int_equal(pho_organize__sidecar_merge(&bad, &len5, &flags, "<a/>", 4, &best, &err),
                     PHO_ECORRUPT);

    char *n1 = pho_organize__sidecar_name("IMG_1.CR2", PHO_XMP_STYLE_NAME);
    char *n2 = pho_organize__sidecar_name("IMG_1.CR2", PHO_XMP_STYLE_NAME_EXT);
    assert_string_equal(n1, "IMG_1.xmp");
    assert_string_equal(n2, "IMG_1.CR2.xmp");
    pho_free(n1);
    pho_free(n2);
    pho_free(text);
    pho_free(again);
    pho_free(gone);
    pho_free(mine);
    pho_free(stripped);
}

/* The scan's table selectors of a JPEG pointed at Huffman table 3, which it never defines:
 * the header reads, the pixels do not. */
static void break_pixels(uint8_t *j, size_t len)
{
    size_t at = 2;
    while (at + 4 <= len && j[at] == 0xff && j[at + 1] != 0xda)
        at += 2 + ((size_t)j[at + 2] << 8 | j[at + 3]);
    assert_true(at + 5 < len && j[at + 1] == 0xda);
    unsigned ns = j[at + 4];
    for (unsigned c = 0; c < ns; c++)
        j[at + 6 + 2 * c] = 0x33;
}

/*
 * Photos hashed from their EXIF thumbnails have never been decoded. A group
 * member whose pixels turn out unreadable when its quality is measured
 * becomes a failed photo like any other, and the groups are formed again
 * without it; the members left have their quality measured.
 */
static void test_thumbnail_hashed_member_unreadable(void **state)
{
    (void)state;
    static const char *const shots[] = { "IMG_20191112_111022.jpg", "IMG_20191112_111024.jpg",
                                         "IMG_20191112_111035.jpg" };
    char *src = t_defer(rm_tree, make_tempdir());
    char *out = t_defer(rm_tree, make_tempdir());
    char path[4200], rel[64];
    for (size_t k = 0; k < PHO_ARRAY_LEN(shots); k++) {
        snprintf(rel, sizeof(rel), "bursts/%s", shots[k]);
        size_t len = 0;
        uint8_t *data = read_file(td(rel), &len);
        assert_non_null(data);
        if (k == 1)
            break_pixels(data, len);
        snprintf(path, sizeof(path), "%s/%s", src, shots[k]);
        write_file(path, data, len);
        free(data);
    }
    /* The broken one: its thumbnail reads, its pixels do not. */
    snprintf(path, sizeof(path), "%s/%s", src, shots[1]);
    struct pho_image_opts io = PHO_IMAGE_OPTS_INIT;
    io.max_size = 480;
    io.thumbnail_ok = true;
    struct pho_image *img = NULL;
    assert_int_equal(pho_image_load(&img, path, &io, NULL, NULL), 0);
    assert_true(img->from_thumbnail);
    pho_image_free(img);
    io.thumbnail_ok = false;
    assert_true(pho_image_load(&img, path, &io, NULL, NULL) < 0);

    struct pho_organize_opts o = PHO_ORGANIZE_OPTS_INIT;
    o.source = src;
    o.output = out;
    o.dry_run = true;
    o.faces = PHO_FACES_NONE;
    o.threads = 2;
    struct pho_organize_result r;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_organize_run(&r, &o, &err), 0);
    assert_int_equal(r.nphotos, 3);
    assert_int_equal(r.failed, 1);
    assert_int_equal(r.ngroups, 1);
    assert_int_equal(r.groups[0].count, 2);
    for (size_t i = 0; i < r.nphotos; i++) {
        const struct pho_photo *p = &r.photos[i];
        bool broken = strstr(p->rel, "111024") != NULL;
        assert_int_equal(p->error != 0, broken);
        if (!broken) {
            assert_true(p->hashed_from_thumbnail);
            assert_true(isfinite(p->quality.score));
        }
    }
    for (size_t k = 0; k < r.groups[0].count; k++)
        assert_null(strstr(r.photos[r.groups[0].members[k]].rel, "111024"));
    pho_organize_result_release(&r);
}

/* --shard I/N: every photo in exactly one shard, a folder's burst never cut, folders
 * whole unless an hour-long gap splits them, shards of about equal size. */
static void test_shards(void **state)
{
    PHO_UNUSED(state);
    enum { N = 600 };
    struct pho_organize_result r;
    memset(&r, 0, sizeof(r));
    r.photos = calloc(N, sizeof(*r.photos));
    r.nphotos = N;
    static char rels[N][64];
    for (int i = 0; i < N; i++) {
        /* 6 folders of 100; folder 5 has two sessions a day apart; a burst every 10. */
        int folder = i / 100, k = i % 100;
        snprintf(rels[i], sizeof(rels[i]), "f%d/IMG_%04d.JPG", folder, k);
        pho_photo_init(&r.photos[i]);
        r.photos[i].rel = rels[i];
        int64_t t = 1700000000LL + folder * 100000 + k * 60 + (folder == 5 && k >= 50 ? 86400 : 0);
        r.photos[i].mtime_ns = t * 1000000000LL;
    }
    struct pho_err err = PHO_ERR_INIT;
    bool in[4][N];
    int owner[N];
    for (int i = 0; i < N; i++)
        owner[i] = -1;
    for (unsigned s = 0; s < 4; s++) {
        assert_int_equal(pho_organize__shard(in[s], &r, s, 4, &err), 0);
        int n = 0;
        for (int i = 0; i < N; i++)
            if (in[s][i]) {
                assert_int_equal(owner[i], -1);
                owner[i] = (int)s;
                n++;
            }
        /* Whole folders of 100 (or halves of folder 5) dealt out: 100..250 each. */
        assert_true(n >= 100 && n <= 250);
    }
    for (int i = 0; i < N; i++) {
        assert_true(owner[i] >= 0);
        int folder = i / 100, k = i % 100;
        int first = folder * 100 + (folder == 5 && k >= 50 ? 50 : 0);
        assert_int_equal(owner[i], owner[first]); /* its unit is whole */
    }
    /* The same answer every time, whatever the order of the scan. */
    bool again[N];
    assert_int_equal(pho_organize__shard(again, &r, 2, 4, &err), 0);
    assert_memory_equal(again, in[2], sizeof(again));
    free(r.photos);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shards),
        cmocka_unit_test(test_pipe_every_item_once),
        cmocka_unit_test(test_pipe_failed_decodes_and_empty),
        cmocka_unit_test(test_pipe_cancel),
        cmocka_unit_test(test_best_open_eyes_beat_smiles_and_quality),
        cmocka_unit_test(test_best_blink_against_own_eyes),
        cmocka_unit_test(test_best_missing_and_unknown_faces),
        cmocka_unit_test(test_best_smile_then_quality_then_time),
        cmocka_unit_test(test_best_without_faces),
        cmocka_unit_test(test_best_by_person),
        T_TEST(test_settings_round_trip),
        T_TEST(test_sidecar_merge),
        T_TEST(test_thumbnail_hashed_member_unreadable),
    };
    return T_RUN_GROUP(tests, NULL, NULL);
}
