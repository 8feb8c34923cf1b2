/* SPDX-License-Identifier: MIT */
/*
 * `photo-organizer backends`: the five face backends, what each can do,
 * whether its models are installed (and if not, exactly what is missing),
 * the device it would use, and which one `auto` picks.
 */
#include <stdio.h>
#include <string.h>

#include <getopt.h>
#include <jansson.h>

#include "cli.h"
#include "pho/face.h"
#include "pho/infer.h"
#include "pho/json.h"

/* A probe's reason without the library's "face: " prefix (the table says it is about faces). */
static const char *problem(const struct pho_err *err)
{
    return pho_err_reason(err);
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s backends [--gpu] [--gpu-device N] [--models-dir DIR] [--json]\n"
            "\n"
            "Lists the face backends in the order 'auto' tries them (with --gpu: facenet,\n"
            "insightface, then the CPU order; without: mediapipe, face_recognition), what\n"
            "each can do, whether its models are installed, and where it would run.\n",
            cli_prog);
}

static void caps_text(char *buf, size_t size, unsigned caps)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = { { PHO_FACE_CAP_DETECT, "detect" },
                  { PHO_FACE_CAP_LANDMARKS, "landmarks" },
                  { PHO_FACE_CAP_EYES, "eyes" },
                  { PHO_FACE_CAP_SMILE, "smile" },
                  { PHO_FACE_CAP_ENCODE, "identity" } };
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < CLI_ARRAY_LEN(names); i++)
        if (caps & names[i].bit)
            n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? "," : "",
                                  names[i].name);
}

int cmd_backends(int argc, char **argv)
{
    enum { OPT_DIR = 256, OPT_GPU, OPT_GPU_DEVICE };
    static const struct option longopts[] = {
        { "models-dir", required_argument, NULL, OPT_DIR },
        { "gpu", no_argument, NULL, OPT_GPU },
        { "gpu-device", required_argument, NULL, OPT_GPU_DEVICE },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DIR:
            fo.models_dir = optarg;
            break;
        case OPT_GPU:
            fo.gpu = true;
            break;
        case OPT_GPU_DEVICE:
            if (!cli_parse_gpu_device(optarg, &fo.gpu, &fo.gpu_device))
                return EXIT_USAGE;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("backends", "unrecognised option");
        }
    }
    /* Where models would run: the GPU only if it is really usable. */
    char device[160] = "CPU";
    if (fo.gpu) {
        struct pho_infer_opts io = PHO_INFER_OPTS_INIT;
        io.gpu = true;
        io.gpu_device = fo.gpu_device;
        struct pho_infer *inf = NULL;
        struct pho_err err = PHO_ERR_INIT;
        pho_log_set_handler(NULL, NULL, PHO_LOG_ERROR); /* the probe's warning is shown below */
        if (pho_infer_open(&inf, &io, &err) == 0) {
            if (pho_infer_on_gpu(inf))
                pho_strlcpy(device, pho_infer_device(inf), sizeof(device));
            else
                snprintf(device, sizeof(device), "CPU (no usable GPU: %s)",
                         pho_infer_gpu_problem(inf));
            pho_infer_close(inf);
        }
        cli_log_init(cli_verbosity);
    }
    json_t *arr = json ? json_array() : NULL;
    const char *chosen = NULL;
    unsigned chosen_rank = 0;
    if (!json)
        printf("%-17s %-37s %-10s %s\n", "backend", "can", "models", "");
    void *it = NULL;
    const struct pho_face_backend_info *bi;
    while ((bi = pho_face_backend_iterate(&it))) {
        struct pho_err err = PHO_ERR_INIT;
        bool ok = pho_face_backend_probe(bi->name, &fo, &err) == 0;
        /* What auto would pick: the usable backend of lowest rank on this device. */
        unsigned rank = fo.gpu ? bi->gpu_rank : bi->cpu_rank;
        if (ok && rank && (!chosen || rank < chosen_rank)) {
            chosen = bi->name;
            chosen_rank = rank;
        }
        char caps[96];
        caps_text(caps, sizeof(caps), bi->caps);
        if (json) {
            json_t *jb = json_object();
            pho_json_set_str(jb, "name", bi->name);
            pho_json_set_str(jb, "description", bi->description);
            pho_json_set_str(jb, "can", caps);
            pho_json_set_bool(jb, "installed", ok);
            pho_json_set_str(jb, "problem", ok ? NULL : problem(&err));
            pho_json_set_str(jb, "device", device);
            json_array_append_new(arr, jb);
        } else {
            printf("%-17s %-37s %-10s %s\n", bi->name, caps, ok ? "installed" : "missing",
                   bi->description);
            if (!ok)
                printf("  %s\n", problem(&err));
        }
    }
    if (json) {
        json_t *root = json_object();
        pho_json_set(root, "backends", arr);
        pho_json_set_str(root, "auto", chosen);
        pho_json_set_str(root, "device", device);
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(root);
    } else {
        printf("\nauto picks: %s; models run on: %s\n",
               chosen ? chosen : "none (run 'photo-organizer models install')", device);
    }
    return EXIT_OK;
}
