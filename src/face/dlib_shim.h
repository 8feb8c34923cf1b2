/* SPDX-License-Identifier: MIT */
/*
 * Private to src/face: the C face of dlib (HOG frontal face detector and the
 * 68-point shape predictor). dlib is C++; dlib_shim.cpp is the one C++ file
 * of the project and exports only these functions.
 */
#ifndef PHO_FACE_DLIB_SHIM_H
#define PHO_FACE_DLIB_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pho_dlib;

/* Loads the detector and the predictor file; NULL on failure with a message in @why. */
struct pho_dlib *pho_dlib_open(const char *predictor_path, char *why, size_t why_size);
void pho_dlib_close(struct pho_dlib *d);

#ifdef __cplusplus
}
#endif

#endif /* PHO_FACE_DLIB_SHIM_H */
