// SPDX-License-Identifier: MIT
// Placeholder until the face_recognition backend's dlib bridge is implemented.
#include "face/dlib_shim.h"

#include <cstdio>

struct pho_dlib {
    int unused;
};

extern "C" struct pho_dlib *pho_dlib_open(const char *predictor_path, char *why, size_t why_size)
{
    (void)predictor_path;
    std::snprintf(why, why_size, "the dlib bridge is not implemented yet");
    return nullptr;
}

extern "C" void pho_dlib_close(struct pho_dlib *d)
{
    delete d;
}
