// SPDX-License-Identifier: MIT
//
// The project's one C++ file: a small C API over dlib for the face_recognition
// backend. It runs dlib's HOG frontal face detector and the 68-point ERT
// shape predictor (Debian libdlib-data) on caller-owned RGB pixels, without
// copying them, and turns every C++ exception into a status and a message.
//
// Two things are done by hand rather than through dlib's usual entry points:
//  * detection goes through evaluate_detectors(), which dlib documents as safe
//    to call from many threads on the same detectors (object_detector's own
//    operator() loads the image into the detector's scanner, so one detector
//    object could not be shared). The frontal detector holds five HOG filters
//    (front, left, right, and two tilted). evaluate_detectors() would suppress
//    overlaps only among hits of the same filter, so the five are split into
//    detectors that suppress nothing, and the hits of all five are suppressed
//    together here, strongest first, as operator() does: same boxes, same
//    order.
//  * the predictor's cascade is evaluated here with dlib's own helpers so the
//    68 points keep their sub-pixel positions: shape_predictor returns them
//    rounded to whole pixels, which on a 100 px face moves an eyelid point by
//    up to a tenth of the eye's height and makes the eye aspect ratio noisy.
#include "face/dlib_shim.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_processing/shape_predictor.h>
#include <dlib/image_transforms/interpolation.h>
#include <dlib/serialize.h>
#include <exception>
#include <fstream>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace
{

// A read-only view of interleaved RGB bytes that dlib accepts as an image
// (dlib's generic image interface), so nothing is copied. dlib::rgb_pixel is
// three unsigned chars, red first: the same bytes as struct pho_image.
struct rgb_view {
    const uint8_t *px = nullptr;
    long rows = 0, cols = 0, step = 0;
};

long num_rows(const rgb_view &v)
{
    return v.rows;
}

long num_columns(const rgb_view &v)
{
    return v.cols;
}

long width_step(const rgb_view &v)
{
    return v.step;
}

const void *image_data(const rgb_view &v)
{
    return v.px;
}

// dlib only writes into images it creates itself; a view is never an output.
[[maybe_unused]] void *image_data(rgb_view &v)
{
    return const_cast<uint8_t *>(v.px);
}

[[maybe_unused]] void set_image_size(rgb_view &, long, long)
{
    throw std::logic_error("a read-only image view cannot be resized");
}

[[maybe_unused]] void swap(rgb_view &a, rgb_view &b)
{
    std::swap(a, b);
}

} // namespace

namespace dlib
{
template <> struct image_traits<rgb_view> {
    typedef rgb_pixel pixel_type;
};
} // namespace dlib

namespace
{

typedef dlib::frontal_face_detector hog_detector;

// The 68-point model as stored by dlib's shape_predictor serialisation
// (version 1): mean shape, cascade of tree forests, and per level the pixel
// positions each tree compares, relative to an anchor landmark.
struct ert_model {
    dlib::matrix<float, 0, 1> initial_shape;
    std::vector<std::vector<dlib::impl::regression_tree>> forests;
    std::vector<std::vector<unsigned long>> anchor_idx;
    std::vector<std::vector<dlib::vector<float, 2>>> deltas;
};

const unsigned long n_parts = 68;

void fail(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void fail(char *why, size_t size, const char *fmt, ...)
{
    if (!why || !size)
        return;
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(why, size, fmt, ap);
    va_end(ap);
}

// Reads the predictor file and checks every index the cascade will follow, so
// a damaged file fails here rather than reading out of bounds later.
void load_ert(ert_model &m, const char *path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot open the file");
    int version = 0;
    dlib::deserialize(version, in);
    if (version != 1)
        throw std::runtime_error("unknown shape predictor version " + std::to_string(version));
    dlib::deserialize(m.initial_shape, in);
    dlib::deserialize(m.forests, in);
    dlib::deserialize(m.anchor_idx, in);
    dlib::deserialize(m.deltas, in);

    const unsigned long dims = m.initial_shape.size();
    if (dims != 2 * n_parts)
        throw std::runtime_error("it has " + std::to_string(dims / 2) + " points, not 68");
    if (m.forests.empty() || m.anchor_idx.size() != m.forests.size() ||
        m.deltas.size() != m.forests.size())
        throw std::runtime_error("its cascade is inconsistent");
    for (size_t level = 0; level < m.forests.size(); level++) {
        const size_t feats = m.deltas[level].size();
        if (m.anchor_idx[level].size() != feats)
            throw std::runtime_error("its feature pixels are inconsistent");
        for (unsigned long a : m.anchor_idx[level])
            if (a >= n_parts)
                throw std::runtime_error("a feature pixel is anchored to a missing point");
        for (const dlib::impl::regression_tree &t : m.forests[level]) {
            if (t.leaf_values.size() != t.splits.size() + 1)
                throw std::runtime_error("a regression tree is not complete");
            for (const dlib::impl::split_feature &s : t.splits)
                if (s.idx1 >= feats || s.idx2 >= feats)
                    throw std::runtime_error("a regression tree reads a missing feature");
            for (const dlib::matrix<float, 0, 1> &leaf : t.leaf_values)
                if ((unsigned long)leaf.size() != dims)
                    throw std::runtime_error("a regression tree leaf has the wrong size");
        }
    }
}

rgb_view view_of(const pho_dlib_image *img)
{
    if (!img || !img->pixels || img->width == 0 || img->height == 0 ||
        img->stride < (size_t)img->width * 3)
        throw std::invalid_argument("empty or malformed image");
    rgb_view v;
    v.px = img->pixels;
    v.rows = (long)img->height;
    v.cols = (long)img->width;
    v.step = (long)img->stride;
    return v;
}

} // namespace

struct pho_dlib {
    std::string path;
    unsigned refs = 0;
    pho_dlib *next = nullptr;
    std::vector<hog_detector> detectors;
    dlib::test_box_overlap overlap;
    ert_model ert;
};

// Handles open in this process, one per predictor path, shared by reference count.
static std::mutex cache_lock;
static pho_dlib *cache = nullptr;

extern "C" struct pho_dlib *pho_dlib_open(const char *predictor_path, char *why, size_t why_size)
{
    try {
        if (!predictor_path || !*predictor_path) {
            fail(why, why_size, "no shape predictor file given");
            return nullptr;
        }
        std::lock_guard<std::mutex> hold(cache_lock);
        for (pho_dlib *d = cache; d; d = d->next) {
            if (d->path == predictor_path) {
                d->refs++;
                return d;
            }
        }
        std::unique_ptr<pho_dlib> d(new pho_dlib);
        d->path = predictor_path;
        try {
            load_ert(d->ert, predictor_path);
        } catch (const std::exception &e) {
            fail(why, why_size, "cannot load the 68-point shape predictor %s: %s", predictor_path,
                 e.what());
            return nullptr;
        }
        hog_detector whole = dlib::get_frontal_face_detector();
        // A tester that finds no overlap: evaluate_detectors() then hands back
        // every window above threshold, and suppression is done in detect().
        const dlib::test_box_overlap never(1, 1);
        for (unsigned long i = 0; i < whole.num_detectors(); i++)
            d->detectors.emplace_back(whole.get_scanner(), never, whole.get_w(i));
        d->overlap = whole.get_overlap_tester();
        d->refs = 1;
        d->next = cache;
        cache = d.release();
        return cache;
    } catch (const std::bad_alloc &) {
        fail(why, why_size, "out of memory loading dlib's models");
    } catch (const std::exception &e) {
        fail(why, why_size, "cannot load dlib's face detector: %s", e.what());
    } catch (...) {
        fail(why, why_size, "cannot load dlib's models: unknown error");
    }
    return nullptr;
}

extern "C" void pho_dlib_close(struct pho_dlib *d)
{
    if (!d)
        return;
    try {
        std::lock_guard<std::mutex> hold(cache_lock);
        if (--d->refs)
            return;
        for (pho_dlib **p = &cache; *p; p = &(*p)->next) {
            if (*p == d) {
                *p = d->next;
                break;
            }
        }
    } catch (...) {
        // Locking failed (it does not in practice): keep the models rather than race.
        return;
    }
    delete d;
}

extern "C" int pho_dlib_detect(const struct pho_dlib *d, const struct pho_dlib_image *img,
                               unsigned upsample, struct pho_dlib_box *out, size_t cap,
                               size_t *found, char *why, size_t why_size)
{
    *found = 0;
    try {
        // Each doubling quadruples the memory and the time; three is already 64x.
        if (upsample > 3) {
            fail(why, why_size, "cannot upsample %u times (at most 3)", upsample);
            return -1;
        }
        const rgb_view v = view_of(img);
        std::vector<dlib::rect_detection> dets;
        dlib::pyramid_down<2> pyr;
        if (upsample == 0) {
            dlib::evaluate_detectors(d->detectors, v, dets);
        } else {
            dlib::array2d<dlib::rgb_pixel> big;
            dlib::pyramid_up(v, big, pyr);
            for (unsigned i = 1; i < upsample; i++)
                dlib::pyramid_up(big, pyr);
            dlib::evaluate_detectors(d->detectors, big, dets);
        }
        // Greedy suppression across all five filters, strongest first, as
        // object_detector::operator() does (dets come sorted).
        std::vector<dlib::rect_detection> kept;
        for (const dlib::rect_detection &c : dets) {
            bool hit = false;
            for (size_t k = 0; k < kept.size() && !hit; k++)
                hit = d->overlap(kept[k].rect, c.rect);
            if (!hit)
                kept.push_back(c);
        }
        dets.swap(kept);
        *found = dets.size();
        for (size_t i = 0; i < dets.size() && i < cap; i++) {
            const dlib::rectangle &r = dets[i].rect;
            // dlib's rectangles are inclusive pixel indices; map the outer edges
            // of the box back through the upsampling.
            dlib::dpoint tl(r.left() - 0.5, r.top() - 0.5), br(r.right() + 0.5, r.bottom() + 0.5);
            if (upsample) {
                tl = pyr.point_down(tl, upsample);
                br = pyr.point_down(br, upsample);
            }
            out[i].x0 = (float)(tl.x() + 0.5);
            out[i].y0 = (float)(tl.y() + 0.5);
            out[i].x1 = (float)(br.x() + 0.5);
            out[i].y1 = (float)(br.y() + 0.5);
            out[i].confidence = (float)dets[i].detection_confidence;
        }
        return 0;
    } catch (const std::bad_alloc &) {
        fail(why, why_size, "out of memory in dlib's face detector");
    } catch (const std::exception &e) {
        fail(why, why_size, "dlib's face detector failed: %s", e.what());
    } catch (...) {
        fail(why, why_size, "dlib's face detector failed: unknown error");
    }
    *found = 0;
    return -1;
}

extern "C" int pho_dlib_landmarks(const struct pho_dlib *d, const struct pho_dlib_image *img,
                                  const float box[4], float pts[68][2], char *why, size_t why_size)
{
    try {
        const rgb_view v = view_of(img);
        if (!(box[2] - box[0] >= 2 && box[3] - box[1] >= 2) || !std::isfinite(box[0]) ||
            !std::isfinite(box[1]) || !std::isfinite(box[2]) || !std::isfinite(box[3])) {
            fail(why, why_size, "face box too small for landmarks");
            return -1;
        }
        // The model was trained on dlib detector rectangles: inclusive pixel
        // indices, which is what the detector hands out.
        const dlib::rectangle rect(std::lround(box[0]), std::lround(box[1]),
                                   std::lround(box[2]) - 1, std::lround(box[3]) - 1);
        const ert_model &m = d->ert;
        dlib::matrix<float, 0, 1> shape = m.initial_shape;
        std::vector<float> feats;
        for (size_t level = 0; level < m.forests.size(); level++) {
            dlib::impl::extract_feature_pixel_values(v, rect, shape, m.initial_shape,
                                                     m.anchor_idx[level], m.deltas[level], feats);
            unsigned long leaf;
            for (const dlib::impl::regression_tree &t : m.forests[level])
                shape += t(feats, leaf);
        }
        const dlib::point_transform_affine to_img = dlib::impl::unnormalizing_tform(rect);
        for (unsigned long i = 0; i < n_parts; i++) {
            const dlib::dpoint p = to_img(dlib::dpoint(shape(2 * i), shape(2 * i + 1)));
            pts[i][0] = (float)(p.x() + 0.5);
            pts[i][1] = (float)(p.y() + 0.5);
        }
        return 0;
    } catch (const std::bad_alloc &) {
        fail(why, why_size, "out of memory in dlib's shape predictor");
    } catch (const std::exception &e) {
        fail(why, why_size, "dlib's shape predictor failed: %s", e.what());
    } catch (...) {
        fail(why, why_size, "dlib's shape predictor failed: unknown error");
    }
    return -1;
}
