/* SPDX-License-Identifier: MIT */
/* Private to src/infer: the ONNX Runtime API table and helpers shared by ort.c and devices.c. */
#ifndef PHO_INFER_INTERNAL_H
#define PHO_INFER_INTERNAL_H

#include "core/common.h"

#include <onnxruntime_c_api.h>

#include "pho/infer.h"

/* The API table for the headers we were built with; NULL if the library is older. */
const OrtApi *pho_infer__api(void);

/* Turns an OrtStatus into a pho_err ("<what>: <ORT message>") and releases it. */
int pho_infer__fail(OrtStatus *st, struct pho_err *err, int code, const char *what);

/* Path of libonnxruntime_providers_cuda.so: in @dir, or beside libonnxruntime. Caller frees. */
char *pho_infer__cuda_provider_path(const char *dir);

/* An ORT environment whose log goes to pho_log. Shared and refcounted by ORT. */
int pho_infer__env(OrtEnv **out, struct pho_err *err);

/* Registers the CUDA provider with @env and returns its GPU devices, in order. */
int pho_infer__cuda_devices(OrtEnv *env, const char *provider_dir, const OrtEpDevice ***devs,
                            size_t *n, char *why, size_t why_size);

/* Name and memory of CUDA device @index through the driver's NVML; false when unavailable. */
bool pho_infer__nvml_device(int index, char *name, size_t name_size, uint64_t *memory);

/* Number of CUDA devices the driver reports (0 without a driver). */
int pho_infer__nvml_count(char *why, size_t why_size);

#endif /* PHO_INFER_INTERNAL_H */
