/* SPDX-License-Identifier: MIT */
/* Unit tests: faces into persons (src/people, docs/people.md). */
#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/testlib.h"
#include "pho/people.h"

#define DIM 8

/* A unit vector near axis @axis (a person), moved by @jitter along axis @along. */
static void near_axis(float *v, int axis, float jitter, int along)
{
    memset(v, 0, DIM * sizeof(*v));
    v[axis] = 1.f;
    v[along] += jitter;
    float s = 0;
    for (int i = 0; i < DIM; i++)
        s += v[i] * v[i];
    for (int i = 0; i < DIM; i++)
        v[i] /= sqrtf(s);
}

static struct pho_people_opts opts(void)
{
    struct pho_people_opts o = PHO_PEOPLE_OPTS_INIT;
    o.dim = DIM;
    o.metric = PHO_FACE_METRIC_COSINE;
    o.same = 0.3f;
    return o;
}

/* Two people of three faces each and a stranger: two persons, the stranger in none. */
static void test_people_found(void **state)
{
    (void)state;
    float e[7][DIM];
    struct pho_people_face f[7] = { 0 };
    for (int i = 0; i < 7; i++) {
        near_axis(e[i], i < 3 ? 0 : i < 6 ? 1 : 2, 0.1f * (float)(i % 3), 5);
        f[i] = (struct pho_people_face){ .embed = e[i], .eligible = true, .photo = (uint64_t)i };
    }
    int64_t out[7];
    size_t created;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_people_opts o = opts();
    assert_int_equal(pho_people_cluster(out, &created, f, 7, &o, 10, &err), 0);
    assert_int_equal(created, 2);
    assert_int_equal(out[0], 10);
    assert_true(out[1] == 10 && out[2] == 10);
    assert_true(out[3] == 11 && out[4] == 11 && out[5] == 11);
    assert_int_equal(out[6], 0);
    /* Three faces needed: the same faces found nobody new when only two are alike. */
    o.min_faces = 4;
    assert_int_equal(pho_people_cluster(out, &created, f, 7, &o, 10, &err), 0);
    assert_int_equal(created, 0);
    assert_int_equal(out[0], 0);
}

/* Faces of one photo are two people, however alike; a refusal and a pin are kept. */
static void test_people_constraints(void **state)
{
    (void)state;
    float e[4][DIM];
    struct pho_people_face f[4] = { 0 };
    for (int i = 0; i < 4; i++) {
        near_axis(e[i], 0, 0.05f * (float)i, 5);
        f[i] = (struct pho_people_face){ .embed = e[i], .eligible = true, .photo = 1 };
    }
    int64_t out[4];
    size_t created;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_people_opts o = opts();
    assert_int_equal(pho_people_cluster(out, &created, f, 4, &o, 1, &err), 0);
    assert_int_equal(created, 0); /* one photo: nobody is founded from it */
    /* Photos apart: one person. Face 3 refuses it; face 2 is pinned to person 7. */
    for (int i = 0; i < 4; i++)
        f[i].photo = (uint64_t)i;
    int64_t no = 1;
    f[3].not_persons = &no;
    f[3].nnot = 1;
    f[2].person = 7;
    f[2].pinned = true;
    assert_int_equal(pho_people_cluster(out, &created, f, 4, &o, 1, &err), 0);
    assert_int_equal(out[2], 7);
    assert_true(out[0] == 7 || out[0] == 1);
    assert_int_not_equal(out[3], 1);
    /* Faces 0 and 1 follow face 2 (their close neighbour) into person 7. */
    assert_int_equal(out[0], 7);
    assert_int_equal(out[1], 7);
    assert_int_equal(out[3], 7);
}

/* A face that is not clear enough founds nobody but joins a person its neighbours are in. */
static void test_people_ineligible_join(void **state)
{
    (void)state;
    float e[3][DIM];
    struct pho_people_face f[3] = { 0 };
    for (int i = 0; i < 3; i++) {
        near_axis(e[i], 0, 0.05f * (float)i, 5);
        f[i] = (struct pho_people_face){ .embed = e[i], .eligible = i < 2, .photo = (uint64_t)i };
    }
    int64_t out[3];
    size_t created;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_people_opts o = opts();
    assert_int_equal(pho_people_cluster(out, &created, f, 3, &o, 1, &err), 0);
    assert_int_equal(created, 1);
    assert_int_equal(out[2], 1);
    f[0].eligible = false;
    assert_int_equal(pho_people_cluster(out, &created, f, 3, &o, 1, &err), 0);
    assert_int_equal(created, 0);
    assert_int_equal(out[2], 0);
}

/* Over PHO_ANN_EXACT_MAX faces the graph answers: still exactly the people there are. */
static void test_people_graph(void **state)
{
    (void)state;
    enum { N = 5000, PEOPLE = 50 };
    float *e = t_defer(free, malloc(N * DIM * sizeof(float)));
    struct pho_people_face *f = t_defer(free, calloc(N, sizeof(*f)));
    int64_t *out = t_defer(free, malloc(N * sizeof(int64_t)));
    /* Person p: a pseudo-random direction; its faces spread a little around it. */
    for (int i = 0; i < N; i++) {
        int p = i % PEOPLE;
        float *v = e + i * DIM;
        uint32_t h = 2654435761u * (uint32_t)(p + 1);
        for (int d = 0; d < DIM; d++) {
            h = h * 1664525u + 1013904223u;
            v[d] = (float)(h >> 8) / 8388608.f - 1.f + 0.02f * sinf((float)(i * (d + 3)));
        }
        float s = 0;
        for (int d = 0; d < DIM; d++)
            s += v[d] * v[d];
        for (int d = 0; d < DIM; d++)
            v[d] /= sqrtf(s);
        f[i] = (struct pho_people_face){ .embed = v, .eligible = true, .photo = (uint64_t)i };
    }
    size_t created;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_people_opts o = opts();
    o.same = 0.01f;
    o.threads = 2;
    assert_int_equal(pho_people_cluster(out, &created, f, N, &o, 1, &err), 0);
    size_t wrong = 0, alone = 0;
    for (int i = PEOPLE; i < N; i++) {
        alone += out[i] == 0;
        wrong += out[i] && out[i] != out[i % PEOPLE];
    }
    assert_int_equal(wrong, 0);
    assert_true(alone < N / 100);
    assert_true(created >= PEOPLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_people_found),
        T_TEST(test_people_constraints),
        T_TEST(test_people_ineligible_join),
        T_TEST(test_people_graph),
    };
    return T_RUN_GROUP(tests, NULL, NULL);
}
