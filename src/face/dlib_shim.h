/* SPDX-License-Identifier: MIT */
/*
 * Private to src/face: the C face of dlib (HOG frontal face detector and the
 * 68-point shape predictor). dlib is C++; dlib_shim.cpp is its one user
 * and exports only these functions. No C++ exception crosses
 * this boundary: failures come back as a status and a message in @why.
 *
 * Coordinates are pixels of the image given, with the origin at the top-left
 * corner of the first pixel (pixel i spans [i, i+1)), so a box is
 * x0, y0, x1, y1 with x1 - x0 its width.
 *
 * Thread safety: after pho_dlib_open() the object is read-only; detect and
 * landmarks may run on it from any number of threads at once.
 */
#ifndef PHO_FACE_DLIB_SHIM_H
#define PHO_FACE_DLIB_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pho_dlib;

/* 8-bit RGB, 3 interleaved channels, rows @stride bytes apart (struct pho_image's layout). */
struct pho_dlib_image {
    const uint8_t *pixels;
    uint32_t width, height;
    size_t stride;
};

struct pho_dlib_box {
    float x0, y0, x1, y1;
    /* dlib's detection_confidence: SVM margin above the detector's threshold (>= 0). */
    float confidence;
};

/* The smallest face the HOG detector finds, in pixels of the image it scans (its 80x80 window). */
#define PHO_DLIB_WINDOW 80

/*
 * Loads the frontal face detector and the 68-point predictor at
 * @predictor_path. Both are shared by every open handle of the same path in
 * the process (the file is 100 MB and takes about half a second to load);
 * each open needs one pho_dlib_close(). NULL on failure with a message in
 * @why.
 */
struct pho_dlib *pho_dlib_open(const char *predictor_path, char *why, size_t why_size);
void pho_dlib_close(struct pho_dlib *d);

/*
 * Runs the detector over @img enlarged @upsample times by 2 (dlib's
 * pyramid_up, like face_recognition's number_of_times_to_upsample). Writes
 * the first min(found, cap) detections to @out, most confident first, in
 * pixels of @img; *found receives how many there were.
 * @return 0, or -1 with a message in @why.
 */
int pho_dlib_detect(const struct pho_dlib *d, const struct pho_dlib_image *img, unsigned upsample,
                    struct pho_dlib_box *out, size_t cap, size_t *found, char *why,
                    size_t why_size);

/*
 * The 68 landmarks (iBUG 300-W order: jaw 0-16, brows 17-26, nose 27-35,
 * image-left eye 36-41, image-right eye 42-47, mouth 48-67) of the face in
 * @box (pixels of @img). @return 0, or -1 with a message in @why.
 */
int pho_dlib_landmarks(const struct pho_dlib *d, const struct pho_dlib_image *img,
                       const float box[4], float pts[68][2], char *why, size_t why_size);

#ifdef __cplusplus
}
#endif

#endif /* PHO_FACE_DLIB_SHIM_H */
