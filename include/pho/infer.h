/* SPDX-License-Identifier: MIT */
/**
 * @file infer.h
 * A small layer over ONNX Runtime: load a model once, run it on float
 * tensors bound by position and checked by shape (re-exported models rename
 * their inputs and outputs), on the CPU or, when asked, on a CUDA device.
 *
 *     struct pho_infer_opts io = PHO_INFER_OPTS_INIT;
 *     struct pho_infer *inf = NULL;
 *     pho_infer_open(&inf, &io, &err);            // once per process
 *     struct pho_model *m = NULL;
 *     pho_model_open(&m, inf, "blazeface_full_range.onnx", &err);
 *     struct pho_tensor in = { data, { 1, 192, 192, 3 }, 4 }, out[2] = { 0 };
 *     pho_model_run(m, &in, 1, out, 2, &err);     // thread-safe
 *     ... pho_tensor_release(&out[0]); ...
 *     pho_model_close(m); pho_infer_close(inf);
 *
 * Every ONNX Runtime failure becomes a pho_err carrying ORT's own message.
 * A requested GPU that cannot be used is never a silent fallback: the layer
 * warns once (pho_log) and runs on the CPU, and pho_infer_device() says so.
 */
#ifndef PHO_INFER_H
#define PHO_INFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"
#include "pho/error.h"

PHO_BEGIN_DECLS

#define PHO_TENSOR_MAX_DIMS 6

/** A dense float32 tensor. */
struct pho_tensor {
    float *data;
    int64_t shape[PHO_TENSOR_MAX_DIMS];
    size_t ndim;
    bool owned; /**< data was allocated by the layer: free with pho_tensor_release() */
};

/** Number of elements (product of the shape). */
PHO_API size_t pho_tensor_count(const struct pho_tensor *t);

/** Frees owned data and zeroes @p t; NULL is a no-op. */
PHO_API void pho_tensor_release(struct pho_tensor *t);

struct pho_infer_opts {
    int version;
    /** Threads each model may use inside one run (0 = ONNX Runtime's default). */
    unsigned intra_threads;
    /** Run on a CUDA device if one can be used. */
    bool gpu;
    /** Which CUDA device (0-based, as nvidia-smi numbers them). */
    int gpu_device;
    /** Folder holding libonnxruntime_providers_cuda.so (NULL = next to libonnxruntime). */
    const char *provider_dir;
};

#define PHO_INFER_OPTS_INIT  \
    {                        \
        1, 0, false, 0, NULL \
    }

/** The ONNX Runtime environment and the chosen device. One per process. */
struct pho_infer;

/**
 * Starts ONNX Runtime. With opts->gpu, registers the CUDA execution provider
 * (plugin-EP API) and selects device gpu_device; if that fails the layer
 * warns and uses the CPU (the reason is kept, see pho_infer_device()).
 * Caller owns *out. @return 0; PHO_EBACKEND when ONNX Runtime itself cannot start.
 */
PHO_API int pho_infer_open(struct pho_infer **out, const struct pho_infer_opts *opts,
                           struct pho_err *err);

/** Stops ONNX Runtime; close every model first. NULL is a no-op. */
PHO_API void pho_infer_close(struct pho_infer *inf);

/** "CPU" or "CUDA:0 (NVIDIA H100 80GB HBM3)". Borrowed; valid until pho_infer_close(). */
PHO_API const char *pho_infer_device(const struct pho_infer *inf);

/** True when models run on a GPU. */
PHO_API bool pho_infer_on_gpu(const struct pho_infer *inf);

/** Why a requested GPU is not used ("" when it is, or when none was asked for). Borrowed. */
PHO_API const char *pho_infer_gpu_problem(const struct pho_infer *inf);

/** ONNX Runtime's version string. */
PHO_API const char *pho_infer_ort_version(void);

/** One loaded model (an ONNX Runtime session). pho_model_run() is thread-safe. */
struct pho_model;

/**
 * Loads the ONNX file at @p path. Caller owns *out.
 * @return 0; PHO_ENOTFOUND (no such file); PHO_EMODEL (not a valid model,
 * inputs/outputs not float32, or ORT refused it: ORT's message included).
 */
PHO_API int pho_model_open(struct pho_model **out, struct pho_infer *inf, const char *path,
                           struct pho_err *err);

/** Frees the model; NULL is a no-op. */
PHO_API void pho_model_close(struct pho_model *m);

PHO_API size_t pho_model_input_count(const struct pho_model *m);
PHO_API size_t pho_model_output_count(const struct pho_model *m);

/**
 * Declared shape of input/output @p index; dynamic dimensions are -1.
 * @return the rank, or 0 for a bad index.
 */
PHO_API size_t pho_model_input_shape(const struct pho_model *m, size_t index,
                                     int64_t shape[PHO_TENSOR_MAX_DIMS]);
PHO_API size_t pho_model_output_shape(const struct pho_model *m, size_t index,
                                      int64_t shape[PHO_TENSOR_MAX_DIMS]);

/** Names as stored in the file (informational; binding is by position). Borrowed. */
PHO_API const char *pho_model_input_name(const struct pho_model *m, size_t index);
PHO_API const char *pho_model_output_name(const struct pho_model *m, size_t index);

/**
 * Expected layout of a model: ranks and fixed dimensions of each input and
 * output (-1 = any). Used to check user-supplied files at load.
 */
struct pho_model_contract {
    size_t ninputs, noutputs;
    size_t in_rank[4], out_rank[16];
    int64_t in_shape[4][PHO_TENSOR_MAX_DIMS];
    int64_t out_shape[16][PHO_TENSOR_MAX_DIMS];
};

/**
 * Checks that @p m matches @p c: counts, ranks, and each dimension that both
 * declare fixed. @return 0, or PHO_EMODEL with a message naming the first
 * mismatch ("input 0 is [1,3,640,640], expected [1,3,?,?]").
 */
PHO_API int pho_model_check(const struct pho_model *m, const struct pho_model_contract *c,
                            struct pho_err *err);

/**
 * Runs the model. @p in holds one tensor per model input, in the model's
 * input order; each must match the declared rank and fixed dimensions.
 * @p out receives up to @p nout outputs in the model's output order (owned by
 * the caller: pho_tensor_release()). Thread-safe.
 * @return 0; PHO_EINVAL (shape mismatch: message says which); PHO_EINFER (ORT failed).
 */
PHO_API int pho_model_run(struct pho_model *m, const struct pho_tensor *in, size_t nin,
                          struct pho_tensor *out, size_t nout, struct pho_err *err);

/** Per-model counters since pho_model_open(). */
struct pho_model_stats {
    uint64_t runs;
    uint64_t items; /**< sum of batch sizes (first dimension of input 0) */
    double seconds; /**< total time inside ONNX Runtime's Run */
};

PHO_API void pho_model_stats(const struct pho_model *m, struct pho_model_stats *out);

/** What `photo-organizer devices` lists. */
struct pho_device_info {
    char name[128];  /**< "CPU (Intel Xeon ...)" or "NVIDIA H100 80GB HBM3" */
    char kind[8];    /**< "cpu" or "cuda" */
    int index;       /**< CUDA device number, -1 for the CPU */
    uint64_t memory; /**< bytes (total device memory; system memory for the CPU) */
};

/**
 * Lists the CPU and every CUDA device that ONNX Runtime could use. When there
 * is no GPU, @p why_no_gpu (may be NULL) gets the exact reason as an error
 * (PHO_EBACKEND: no driver, CUDA provider not installed, provider failed to
 * load, with ORT's message); otherwise it is cleared. Caller owns *out
 * (pho_free()). @return 0 or PHO_ENOMEM / PHO_EBACKEND (in @p err).
 */
PHO_API int pho_infer_list_devices(struct pho_device_info **out, size_t *count,
                                   const char *provider_dir, struct pho_err *why_no_gpu,
                                   struct pho_err *err);

PHO_END_DECLS

#endif /* PHO_INFER_H */
