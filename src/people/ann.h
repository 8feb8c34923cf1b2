/* SPDX-License-Identifier: MIT */
/*
 * Private to src/people: the k nearest neighbours of every vector of a set,
 * the one question clustering asks. Small sets are answered exactly (every
 * pair); large ones through hnswlib's HNSW graph (ann.cpp, the only user of
 * the library), built and searched on @threads threads. hnswlib was chosen
 * over FAISS by measurement (docs/people.md).
 *
 * No C++ exception crosses this boundary and nothing is printed.
 */
#ifndef PHO_PEOPLE_ANN_H
#define PHO_PEOPLE_ANN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Above this many vectors the graph answers; at or below, every pair is compared. */
#define PHO_ANN_EXACT_MAX 4096

enum { PHO_ANN_OK = 0, PHO_ANN_NOMEM = 1, PHO_ANN_FAIL = 2 };

/* For each of the @n vectors of @x (@dim floats each, row after row): its @k nearest
 * other vectors in @nbr[i * k ...] (UINT32_MAX where fewer exist), nearest first, and their
 * squared Euclidean distances in @d2. */
int pho_ann__knn(uint32_t *nbr, float *d2, const float *x, size_t n, size_t dim, size_t k,
                 unsigned threads, char *why, size_t why_size);

#ifdef __cplusplus
}
#endif

#endif
