/* SPDX-License-Identifier: MIT */
/*
 * Which devices can run our models: the CPU always; CUDA devices when the
 * NVIDIA driver is present (asked through its NVML library, loaded at run
 * time so nothing links against the driver) AND ONNX Runtime's CUDA provider
 * loads. When there is none, the exact reason is reported.
 */
#include "core/common.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "infer/internal.h"

/* The few NVML entry points we use; NVML's ABI is stable C. */
typedef int (*nvml_init_fn)(void);
typedef int (*nvml_count_fn)(unsigned *);
typedef int (*nvml_handle_fn)(unsigned, void **);
typedef int (*nvml_name_fn)(void *, char *, unsigned);
struct nvml_memory {
    unsigned long long total, free, used;
};
typedef int (*nvml_mem_fn)(void *, struct nvml_memory *);

struct nvml {
    void *lib;
    nvml_init_fn init, shutdown;
    nvml_count_fn count;
    nvml_handle_fn handle;
    nvml_name_fn name;
    nvml_mem_fn memory;
};

static bool nvml_open(struct nvml *n, char *why, size_t why_size)
{
    memset(n, 0, sizeof(*n));
    n->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!n->lib) {
        snprintf(why, why_size,
                 "no NVIDIA driver found (libnvidia-ml.so.1 cannot be loaded); a GPU needs the "
                 "NVIDIA driver, the CUDA 13 runtime and cuDNN 9 (see docs/gpu.md)");
        return false;
    }
    n->init = (nvml_init_fn)dlsym(n->lib, "nvmlInit_v2");
    n->shutdown = (nvml_init_fn)dlsym(n->lib, "nvmlShutdown");
    n->count = (nvml_count_fn)dlsym(n->lib, "nvmlDeviceGetCount_v2");
    n->handle = (nvml_handle_fn)dlsym(n->lib, "nvmlDeviceGetHandleByIndex_v2");
    n->name = (nvml_name_fn)dlsym(n->lib, "nvmlDeviceGetName");
    n->memory = (nvml_mem_fn)dlsym(n->lib, "nvmlDeviceGetMemoryInfo");
    if (!n->init || !n->shutdown || !n->count || !n->handle || !n->name || !n->memory ||
        n->init() != 0) {
        snprintf(why, why_size,
                 "the NVIDIA driver's NVML library does not respond (driver not loaded?)");
        dlclose(n->lib);
        n->lib = NULL;
        return false;
    }
    return true;
}

static void nvml_close(struct nvml *n)
{
    if (n->lib) {
        n->shutdown();
        dlclose(n->lib);
    }
}

int pho_infer__nvml_count(char *why, size_t why_size)
{
    struct nvml n;
    if (!nvml_open(&n, why, why_size))
        return 0;
    unsigned count = 0;
    if (n.count(&count) != 0)
        count = 0;
    if (count == 0)
        snprintf(why, why_size, "the NVIDIA driver is loaded but reports no GPU");
    nvml_close(&n);
    return (int)count;
}

bool pho_infer__nvml_device(int index, char *name, size_t name_size, uint64_t *memory)
{
    struct nvml n;
    char why[160];
    if (!nvml_open(&n, why, sizeof(why)))
        return false;
    void *dev = NULL;
    struct nvml_memory mem = { 0 };
    bool ok = n.handle((unsigned)index, &dev) == 0 && n.name(dev, name, (unsigned)name_size) == 0;
    if (ok && n.memory(dev, &mem) == 0)
        *memory = mem.total;
    nvml_close(&n);
    return ok;
}

static void cpu_name(char *buf, size_t size)
{
    snprintf(buf, size, "CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "model name", 10)) {
            char *colon = strchr(line, ':');
            if (colon) {
                colon += 2;
                colon[strcspn(colon, "\n")] = '\0';
                snprintf(buf, size, "CPU (%s)", colon);
            }
            break;
        }
    }
    fclose(f);
}

int pho_infer_list_devices(struct pho_device_info **out, size_t *count, const char *provider_dir,
                           struct pho_err *why_no_gpu, struct pho_err *err)
{
    *out = NULL;
    *count = 0;
    pho_err_clear(why_no_gpu);
    char why_none[PHO_ERR_MSG_MAX] = "";
    OrtEnv *env = NULL;
    int rc = pho_infer__env(&env, err);
    if (rc)
        return rc;
    const OrtEpDevice **gpus = NULL;
    size_t ngpu = 0;
    const OrtApi *api = pho_infer__api();
    pho_infer__cuda_devices(env, provider_dir, &gpus, &ngpu, why_none, sizeof(why_none));
    if (ngpu == 0)
        pho_err_set(why_no_gpu, PHO_EBACKEND, "infer: %s",
                    why_none[0] ? why_none : "no CUDA device found");
    struct pho_device_info *d = pho_calloc(1 + ngpu, sizeof(*d));
    if (!d) {
        pho_free(gpus);
        api->ReleaseEnv(env);
        return pho_err_set(err, PHO_ENOMEM, "infer: out of memory");
    }
    cpu_name(d[0].name, sizeof(d[0].name));
    pho_strlcpy(d[0].kind, "cpu", sizeof(d[0].kind));
    d[0].index = -1;
    d[0].memory = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < ngpu; i++) {
        struct pho_device_info *g = &d[1 + i];
        pho_strlcpy(g->kind, "cuda", sizeof(g->kind));
        g->index = (int)i;
        if (!pho_infer__nvml_device((int)i, g->name, sizeof(g->name), &g->memory))
            snprintf(g->name, sizeof(g->name), "%s GPU",
                     api->HardwareDevice_Vendor(api->EpDevice_Device(gpus[i])));
    }
    pho_free(gpus);
    api->ReleaseEnv(env);
    *out = d;
    *count = 1 + ngpu;
    return 0;
}
