// SPDX-License-Identifier: MIT
// Nearest neighbours for clustering (see ann.h): exact below PHO_ANN_EXACT_MAX, else hnswlib.
#include "people/ann.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
// hnswlib's hand-written SSE paths prefetch through the index one element past the end of a
// neighbour list (a read past the allocation that AddressSanitizer reports): they are left
// out, and the distance below is ours.
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>
#include <mutex>
#include <new>
#include <thread>
#include <utility>
#include <vector>

namespace
{

// Squared Euclidean distance in eight independent lanes, which the compiler turns into
// vector instructions without reordering any sum.
float l2_lanes(const void *pa, const void *pb, const void *param)
{
    const float *a = static_cast<const float *>(pa), *b = static_cast<const float *>(pb);
    size_t dim = *static_cast<const size_t *>(param);
    float lane[8] = { 0 };
    size_t i = 0;
    for (; i + 8 <= dim; i += 8)
        for (size_t j = 0; j < 8; j++) {
            float d = a[i + j] - b[i + j];
            lane[j] += d * d;
        }
    for (; i < dim; i++) {
        float d = a[i] - b[i];
        lane[0] += d * d;
    }
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
           ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

class Space final : public hnswlib::SpaceInterface<float>
{
  public:
    explicit Space(size_t dim) : dim_(dim)
    {
    }
    size_t get_data_size() override
    {
        return dim_ * sizeof(float);
    }
    hnswlib::DISTFUNC<float> get_dist_func() override
    {
        return l2_lanes;
    }
    void *get_dist_func_param() override
    {
        return &dim_;
    }

  private:
    size_t dim_;
};

float l2sq(const float *a, const float *b, size_t dim)
{
    return l2_lanes(a, b, &dim);
}

// Runs body(i) for i in [0, n) on @threads threads; the first exception a worker meets
// stops the others and is thrown again here.
template <class Body> void parallel(size_t n, unsigned threads, Body &&body)
{
    std::atomic<size_t> next(0);
    std::exception_ptr failed;
    std::mutex lock;
    auto work = [&] {
        try {
            for (size_t i; (i = next++) < n;)
                body(i);
        } catch (...) {
            std::lock_guard<std::mutex> hold(lock);
            if (!failed)
                failed = std::current_exception();
            next = n;
        }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; t++)
        pool.emplace_back(work);
    work();
    for (auto &t : pool)
        t.join();
    if (failed)
        std::rethrow_exception(failed);
}

void fill(uint32_t *nbr, float *d2, size_t i, size_t k,
          std::vector<std::pair<float, uint32_t>> &cand)
{
    size_t m = std::min(k, cand.size());
    std::partial_sort(cand.begin(), cand.begin() + m, cand.end());
    for (size_t j = 0; j < k; j++) {
        nbr[i * k + j] = j < m ? cand[j].second : UINT32_MAX;
        d2[i * k + j] = j < m ? cand[j].first : 0.f;
    }
}

void exact(uint32_t *nbr, float *d2, const float *x, size_t n, size_t dim, size_t k,
           unsigned threads)
{
    parallel(n, threads, [&](size_t i) {
        std::vector<std::pair<float, uint32_t>> cand;
        cand.reserve(n);
        for (size_t j = 0; j < n; j++)
            if (j != i)
                cand.emplace_back(l2sq(x + i * dim, x + j * dim, dim), (uint32_t)j);
        fill(nbr, d2, i, k, cand);
    });
}

void graph(uint32_t *nbr, float *d2, const float *x, size_t n, size_t dim, size_t k,
           unsigned threads)
{
    // M 16, efConstruction 100: measured on 100k synthetic 192-d embeddings (docs/people.md).
    Space space(dim);
    hnswlib::HierarchicalNSW<float> index(&space, n, 16, 100, 1);
    parallel(n, threads, [&](size_t i) { index.addPoint(x + i * dim, i); });
    index.setEf(std::max<size_t>(100, 2 * (k + 1)));
    parallel(n, threads, [&](size_t i) {
        auto found = index.searchKnn(x + i * dim, k + 1);
        std::vector<std::pair<float, uint32_t>> cand;
        for (; !found.empty(); found.pop())
            if (found.top().second != i)
                cand.emplace_back(found.top().first, (uint32_t)found.top().second);
        fill(nbr, d2, i, k, cand);
    });
}

} // namespace

extern "C" int pho_ann__knn(uint32_t *nbr, float *d2, const float *x, size_t n, size_t dim,
                            size_t k, unsigned threads, char *why, size_t why_size)
{
    if (threads == 0)
        threads = 1;
    try {
        if (n <= PHO_ANN_EXACT_MAX)
            exact(nbr, d2, x, n, dim, k, threads);
        else
            graph(nbr, d2, x, n, dim, k, threads);
    } catch (const std::bad_alloc &) {
        return PHO_ANN_NOMEM;
    } catch (const std::exception &e) {
        if (why && why_size) {
            std::strncpy(why, e.what(), why_size - 1);
            why[why_size - 1] = '\0';
        }
        return PHO_ANN_FAIL;
    }
    return PHO_ANN_OK;
}
