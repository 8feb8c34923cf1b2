// SPDX-License-Identifier: MIT
// The pixel work of a face repair with OpenCV (see cv_shim.h).
#include "swap/cv_shim.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <new>
#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>
#include <vector>

namespace
{

int fail(char *why, size_t n, const char *msg)
{
    if (why && n)
        std::snprintf(why, n, "%s", msg);
    return PHO_SWAP__FAIL;
}

// Gradient magnitude of an RGB image's grey (Sobel, 3x3).
cv::Mat gradient(const cv::Mat &rgb)
{
    cv::Mat grey, gx, gy, mag;
    cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
    grey.convertTo(grey, CV_32F);
    cv::Sobel(grey, gx, CV_32F, 1, 0, 3);
    cv::Sobel(grey, gy, CV_32F, 0, 1, 3);
    cv::magnitude(gx, gy, mag);
    return mag;
}

int transplant(cv::Mat &dst, const cv::Mat &src, pho_swap__transplant *t, char *why, size_t n)
{
    std::vector<cv::Point2f> a, b;
    for (int i = 0; i < t->npts; i++) {
        a.emplace_back(t->src_pts[i][0], t->src_pts[i][1]);
        b.emplace_back(t->dst_pts[i][0], t->dst_pts[i][1]);
    }
    // Least median of squares: a landmark that moved with the expression (a mouth corner
    // in a smile) does not pull the fit.
    cv::Mat m = cv::estimateAffinePartial2D(a, b, cv::noArray(), cv::LMEDS);
    if (m.empty())
        return fail(why, n, "no transform maps the other take's face onto this one");
    m.convertTo(m, CV_64F);
    double m00 = m.at<double>(0, 0), m10 = m.at<double>(1, 0);
    t->scale = (float)std::sqrt(m00 * m00 + m10 * m10);
    t->rotation = (float)std::atan2(m10, m00);
    double err = 0;
    for (size_t i = 0; i < a.size(); i++) {
        double x = m.at<double>(0, 0) * a[i].x + m.at<double>(0, 1) * a[i].y + m.at<double>(0, 2);
        double y = m.at<double>(1, 0) * a[i].x + m.at<double>(1, 1) * a[i].y + m.at<double>(1, 2);
        err += std::hypot(x - b[i].x, y - b[i].y);
    }
    t->residual = a.empty() ? 0.f : (float)(err / (double)a.size());

    // The region to work in: the mask's bounding box with room for the colour ring and for
    // Poisson's fixed border; a face that close to the frame's edge is refused.
    std::vector<std::vector<cv::Point>> polys;
    cv::Rect box;
    int off = 0;
    for (int p = 0; p < t->npoly; p++) {
        std::vector<cv::Point> poly;
        for (int i = 0; i < t->poly_len[p]; i++)
            poly.emplace_back((int)std::lround(t->poly[off + i][0]),
                              (int)std::lround(t->poly[off + i][1]));
        off += t->poly_len[p];
        cv::Rect r = cv::boundingRect(poly);
        box = p ? (box | r) : r;
        polys.push_back(std::move(poly));
    }
    int margin = (int)std::ceil(t->ring) + 4;
    cv::Rect roi(box.x - margin, box.y - margin, box.width + 2 * margin, box.height + 2 * margin);
    if (polys.empty() || box.width < 2 || box.height < 2)
        return fail(why, n, "the region to replace is empty");
    if (roi.x < 0 || roi.y < 0 || roi.x + roi.width > dst.cols || roi.y + roi.height > dst.rows)
        return fail(why, n, "the face is too close to the edge of the photo");
    for (auto &poly : polys)
        for (auto &pt : poly)
            pt -= roi.tl();
    cv::Mat mask = cv::Mat::zeros(roi.size(), CV_8U);
    cv::fillPoly(mask, polys, cv::Scalar(255), cv::LINE_8);

    // The donor in the target's frame, inside the region only.
    cv::Mat mr = m.clone();
    mr.at<double>(0, 2) -= roi.x;
    mr.at<double>(1, 2) -= roi.y;
    cv::Mat warped;
    cv::warpAffine(src, warped, mr, roi.size(), cv::INTER_CUBIC, cv::BORDER_REFLECT);

    // Exposure and white balance: the donor's skin just around the region made as bright,
    // channel by channel, as the target's there.
    int rk = std::max(3, 2 * (int)std::lround(t->ring) + 1);
    cv::Mat grown, ring;
    cv::dilate(mask, grown, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(rk, rk)));
    cv::subtract(grown, mask, ring);
    cv::Mat before = dst(roi).clone();
    cv::Scalar mt = cv::mean(before, ring), ms = cv::mean(warped, ring);
    cv::Scalar gain;
    for (int c = 0; c < 3; c++) {
        double g = ms[c] > 1.0 ? mt[c] / ms[c] : 1.0;
        gain[c] = std::min(2.0, std::max(0.5, g));
        t->gain[c] = (float)gain[c];
    }
    // Pasting stands for what the original tool did: no colour matching either.
    if (t->blend == PHO_SWAP__POISSON)
        cv::multiply(warped, gain, warped);

    // How alike the two faces are just around the region once aligned: the normalised
    // cross-correlation of their grey levels over the ring. Skin, brows and lid creases in
    // the same places correlate; a donor turned another way (hair, the face's edge where
    // the target has cheek) or misaligned does not.
    {
        cv::Mat ga, gb;
        cv::cvtColor(warped, ga, cv::COLOR_RGB2GRAY);
        cv::cvtColor(before, gb, cv::COLOR_RGB2GRAY);
        ga.convertTo(ga, CV_32F);
        gb.convertTo(gb, CV_32F);
        cv::Scalar ma, sa, mb, sb;
        cv::meanStdDev(ga, ma, sa, ring);
        cv::meanStdDev(gb, mb, sb, ring);
        cv::Mat prod = (ga - ma[0]).mul(gb - mb[0]);
        double cov = cv::mean(prod, ring)[0];
        t->match = sa[0] > 1e-3 && sb[0] > 1e-3 ? (float)(cov / (sa[0] * sb[0])) : 0.f;
    }

    cv::Mat after;
    if (t->blend == PHO_SWAP__POISSON) {
        // seamlessClone centres the mask's bounding box on p: p is that box's own centre,
        // so the pixels stay where the transform put them.
        cv::Rect mb = cv::boundingRect(mask);
        cv::Point p(mb.x + mb.width / 2, mb.y + mb.height / 2);
        cv::seamlessClone(warped, before, mask, p, after, cv::NORMAL_CLONE);
    } else {
        after = before.clone();
        warped.copyTo(after, mask);
    }

    // The seam: edges along the mask's border after the repair against before it.
    cv::Mat inner, outer, border;
    cv::Mat k3 = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(3, 3));
    cv::erode(mask, inner, k3);
    cv::dilate(mask, outer, k3);
    cv::subtract(outer, inner, border);
    double g_after = cv::mean(gradient(after), border)[0];
    double g_before = cv::mean(gradient(before), border)[0];
    t->seam = (float)(g_after / std::max(g_before, 8.0));

    after.copyTo(dst(roi));
    return PHO_SWAP__OK;
}

} // namespace

extern "C" int pho_swap__cv_transplant(struct pho_swap__px *dst, const struct pho_swap__px *src,
                                       struct pho_swap__transplant *t, char *why, size_t why_size)
{
    try {
        cv::Mat d(dst->h, dst->w, CV_8UC3, dst->px, dst->stride);
        cv::Mat s(src->h, src->w, CV_8UC3, src->px, src->stride);
        return transplant(d, s, t, why, why_size);
    } catch (const std::bad_alloc &) {
        return PHO_SWAP__NOMEM;
    } catch (const std::exception &e) {
        return fail(why, why_size, e.what());
    } catch (...) {
        return fail(why, why_size, "OpenCV failed");
    }
}
