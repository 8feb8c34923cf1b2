/* SPDX-License-Identifier: MIT */
/* `photo-organizer devices`: where face models can run, or exactly why there is no GPU. */
#include <stdio.h>
#include <string.h>

#include <getopt.h>
#include <jansson.h>

#include "cli.h"
#include "pho/infer.h"
#include "pho/json.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s devices [--json]\n"
            "\n"
            "Lists the devices the face models can run on: the CPU, and each CUDA GPU\n"
            "that ONNX Runtime can use (name and memory). When there is no usable GPU it\n"
            "says exactly why (no driver, CUDA provider not installed, provider failed).\n"
            "\n"
            "Options:\n"
            "  -j, --json   machine-readable output\n"
            "  -h, --help   show this help\n",
            cli_prog);
}

int cmd_devices(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
        if (c == 'j') {
            json = true;
        } else if (c == 'h') {
            usage(stdout);
            return EXIT_OK;
        } else {
            return cli_usage_error("devices", "unrecognised option");
        }
    }
    if (optind < argc)
        return cli_usage_error("devices", "unexpected argument '%s'", argv[optind]);
    struct pho_device_info *devs = NULL;
    size_t n = 0;
    struct pho_err why_no_gpu = PHO_ERR_INIT, err = PHO_ERR_INIT;
    if (pho_infer_list_devices(&devs, &n, NULL, &why_no_gpu, &err) < 0) {
        cli_error("%s", err.msg);
        return EXIT_FAIL;
    }
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *jd = json_object();
            pho_json_set_str(jd, "kind", devs[i].kind);
            pho_json_set_str(jd, "name", devs[i].name);
            pho_json_set_int(jd, "index", devs[i].index);
            pho_json_set_int(jd, "memory", (long long)devs[i].memory);
            json_array_append_new(arr, jd);
        }
        json_t *root = json_object();
        pho_json_set_str(root, "onnxruntime", pho_infer_ort_version());
        pho_json_set(root, "devices", arr);
        pho_json_set_str(root, "no_gpu_reason", n > 1 ? NULL : pho_err_reason(&why_no_gpu));
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(root);
    } else {
        printf("ONNX Runtime %s\n", pho_infer_ort_version());
        for (size_t i = 0; i < n; i++) {
            if (devs[i].index < 0)
                printf("  cpu       %s, %.1f GiB memory\n", devs[i].name,
                       devs[i].memory / 1073741824.0);
            else
                printf("  cuda:%-4d %s, %.1f GiB memory  (use --gpu --gpu-device %d)\n",
                       devs[i].index, devs[i].name, devs[i].memory / 1073741824.0, devs[i].index);
        }
        if (n == 1)
            printf("No GPU: %s\n", pho_err_reason(&why_no_gpu));
    }
    pho_free(devs);
    return EXIT_OK;
}
