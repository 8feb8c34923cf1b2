/* SPDX-License-Identifier: MIT */
/*
 * `photo-organizer faces FILE...`: the faces one backend finds in each
 * photo (boxes, eyes open or closed with their EAR, smile, sharpness) and,
 * with --same, whether two photos show the same person. For checking a
 * backend on your own photos.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <getopt.h>
#include <jansson.h>

#include "cli.h"
#include "pho/face.h"
#include "pho/image.h"
#include "pho/json.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s faces [OPTIONS] FILE...\n"
            "\n"
            "Finds the faces in each photo and describes them: position, whether the eyes\n"
            "are open or closed (with each eye's aspect ratio), smile, sharpness.\n"
            "\n"
            "Options:\n"
            "  -b, --face-backend NAME  auto (default), mediapipe, face_recognition, facenet,\n"
            "                           insightface or yolov8\n"
            "      --models-dir DIR     face models folder\n"
            "      --min-face F         smallest face, fraction of the long side (0.02)\n"
            "      --size N             analyse the photo at N pixels on its long side (1600)\n"
            "      --gpu                run the models on a CUDA GPU\n"
            "      --gpu-device N       which GPU\n"
            "      --identity           also compare every face with every other (same person?)\n"
            "      --landmarks          also give each face's dense landmarks (468 FaceMesh\n"
            "                           points, 68 with face_recognition, 106 with insightface)\n"
            "  -j, --json               machine-readable output\n"
            "  -h, --help               show this help\n",
            cli_prog);
}

struct found {
    const char *path;
    struct pho_face_list faces;
};

/* A measurement, or null when the backend could not make it. */
static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* An (x, y) list in image pixels. */
static json_t *points(const float (*p)[2], size_t n, uint32_t w, uint32_t h)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, isfinite(p[i][0])
                                         ? pho_json_reals((const double[2]){ (double)p[i][0] * w,
                                                                             (double)p[i][1] * h },
                                                          2)
                                         : json_null());
    return a;
}

/* One face, geometry in pixels of the analysed image. */
static json_t *face_json(const struct pho_face_list *fl, size_t k, uint32_t w, uint32_t h)
{
    const struct pho_face *f = &fl->faces[k];
    const double box[4] = { (double)f->box[0] * w, (double)f->box[1] * h, (double)f->box[2] * w,
                            (double)f->box[3] * h };
    json_t *o = json_object();
    pho_json_set(o, "box", pho_json_reals(box, 4));
    pho_json_set_real(o, "score", f->score);
    pho_json_set_str(o, "eyes", pho_face_eyes_word(f));
    pho_json_set(o, "ear_left", num(f->ear_l));
    pho_json_set(o, "ear_right", num(f->ear_r));
    pho_json_set(o, "smile", num(f->smile));
    if (f->mouth_hidden)
        pho_json_set(o, "mouth_hidden", json_true());
    pho_json_set(o, "sharpness", num(f->sharpness));
    pho_json_set(o, "yaw", num(f->yaw));
    pho_json_set_int(o, "embedding_dim", (long long)f->embed_dim);
    if (f->has_pts5)
        json_object_set_new(o, "points5", points((const float(*)[2])f->pts5, 5, w, h));
    if (f->has_eyes) {
        /* The six lid points per eye that place the eye-state crop (dlib's order). */
        json_t *lids = json_object();
        json_object_set_new(lids, "left", points((const float(*)[2])f->eye_l, 6, w, h));
        json_object_set_new(lids, "right", points((const float(*)[2])f->eye_r, 6, w, h));
        json_object_set_new(o, "eyelids", lids);
    }
    if (fl->dense && fl->dense_per_face)
        json_object_set_new(o, "landmarks",
                            points((const float(*)[2])(fl->dense + k * fl->dense_per_face),
                                   fl->dense_per_face, w, h));
    return o;
}

int cmd_faces(int argc, char **argv)
{
    enum { OPT_DIR = 256, OPT_MIN_FACE, OPT_SIZE, OPT_GPU, OPT_GPU_DEVICE, OPT_IDENTITY, OPT_LMK };
    static const struct option longopts[] = {
        { "face-backend", required_argument, NULL, 'b' },
        { "models-dir", required_argument, NULL, OPT_DIR },
        { "min-face", required_argument, NULL, OPT_MIN_FACE },
        { "size", required_argument, NULL, OPT_SIZE },
        { "gpu", no_argument, NULL, OPT_GPU },
        { "gpu-device", required_argument, NULL, OPT_GPU_DEVICE },
        { "identity", no_argument, NULL, OPT_IDENTITY },
        { "landmarks", no_argument, NULL, OPT_LMK },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    unsigned long long size = 1600;
    bool json = false, identity = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:jh", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            fo.backend = optarg;
            break;
        case OPT_DIR:
            fo.models_dir = optarg;
            break;
        case OPT_MIN_FACE:
            fo.min_face = strtof(optarg, NULL);
            if (!(fo.min_face > 0 && fo.min_face < 1))
                return cli_usage_error("faces", "--min-face takes a fraction between 0 and 1");
            break;
        case OPT_SIZE:
            if (!cli_parse_uint("--size", optarg, 20000, &size) || size < 64)
                return cli_usage_error("faces", "--size takes 64..20000");
            break;
        case OPT_GPU:
            fo.gpu = true;
            break;
        case OPT_GPU_DEVICE:
            if (!cli_parse_gpu_device(optarg, &fo.gpu, &fo.gpu_device))
                return EXIT_USAGE;
            break;
        case OPT_IDENTITY:
            identity = true;
            break;
        case OPT_LMK:
            fo.dense = true;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("faces", "unrecognised option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("faces", "give at least one photo");
    struct pho_face_engine *fe = NULL;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_face_engine_open(&fe, &fo, &err) < 0) {
        cli_error("%s", err.msg);
        return EXIT_FAIL;
    }
    if (identity && pho_face_engine_require(fe, PHO_FACE_CAP_ENCODE, "--identity", &err) < 0) {
        cli_error("%s", err.msg);
        pho_face_engine_close(fe);
        return EXIT_FAIL;
    }
    int status = EXIT_OK;
    size_t n = (size_t)(argc - optind);
    struct found *all = calloc(n, sizeof(*all));
    json_t *arr = json ? json_array() : NULL;
    if (!json)
        printf("backend %s on %s\n", pho_face_engine_backend(fe), pho_face_engine_device(fe));
    for (size_t i = 0; i < n; i++) {
        all[i].path = argv[optind + (int)i];
        struct pho_image_opts io = PHO_IMAGE_OPTS_INIT;
        io.max_size = (uint32_t)size;
        struct pho_image *img = NULL;
        if (pho_image_load(&img, all[i].path, &io, NULL, &err) < 0 ||
            pho_face_analyze(fe, img, &all[i].faces, &err) < 0) {
            cli_error("%s: %s", all[i].path, err.msg);
            status = EXIT_FAIL;
            pho_image_free(img);
            continue;
        }
        const struct pho_face_list *fl = &all[i].faces;
        if (json) {
            json_t *faces = json_array();
            for (size_t k = 0; k < fl->count; k++)
                json_array_append_new(faces, face_json(fl, k, img->width, img->height));
            json_t *jp = json_object();
            pho_json_set_path(jp, "path", all[i].path);
            pho_json_set_int(jp, "width", img->width);
            pho_json_set_int(jp, "height", img->height);
            pho_json_set(jp, "faces", faces);
            json_array_append_new(arr, jp);
        } else {
            printf("%s: %zu face%s\n", cli_shown(all[i].path), fl->count,
                   fl->count == 1 ? "" : "s");
            for (size_t k = 0; k < fl->count; k++) {
                const struct pho_face *f = &fl->faces[k];
                /* No smile score: the mouth is hidden (or no smile model). */
                char smile[16];
                if (isfinite(f->smile))
                    snprintf(smile, sizeof(smile), "%.2f", f->smile);
                else
                    snprintf(smile, sizeof(smile), "%s", f->mouth_hidden ? "hidden" : "unknown");
                printf("  %zu: box %.0f,%.0f-%.0f,%.0f (score %.2f), eyes %s (EAR %.3f / %.3f), "
                       "smile %s, sharpness %.0f\n",
                       k + 1, f->box[0] * img->width, f->box[1] * img->height,
                       f->box[2] * img->width, f->box[3] * img->height, f->score,
                       pho_face_eyes_word(f), f->ear_l, f->ear_r, smile, f->sharpness);
                if (fl->dense_per_face)
                    printf("     %zu landmarks (--json lists them)\n", fl->dense_per_face);
            }
        }
        pho_image_free(img);
    }
    if (identity) {
        enum pho_face_metric metric = pho_face_engine_metric(fe);
        float same = pho_face_engine_same_person(fe);
        json_t *pairs = json ? json_array() : NULL;
        if (!json)
            printf("identity (%s, same person when distance <= %.3f):\n",
                   pho_face_engine_embed_model(fe), same);
        for (size_t a = 0; a < n; a++)
            for (size_t fa = 0; fa < all[a].faces.count; fa++)
                for (size_t b = a; b < n; b++)
                    for (size_t fb = b == a ? fa + 1 : 0; fb < all[b].faces.count; fb++) {
                        const struct pho_face *x = &all[a].faces.faces[fa],
                                              *y = &all[b].faces.faces[fb];
                        if (!x->embed_dim || x->embed_dim != y->embed_dim)
                            continue;
                        float d = pho_face_distance(metric, x->embed, y->embed, x->embed_dim);
                        if (json) {
                            json_t *jp = json_object();
                            pho_json_set_path(jp, "a", all[a].path);
                            pho_json_set_int(jp, "a_face", (long long)fa + 1);
                            pho_json_set_path(jp, "b", all[b].path);
                            pho_json_set_int(jp, "b_face", (long long)fb + 1);
                            pho_json_set_real(jp, "distance", d);
                            pho_json_set_bool(jp, "same_person", d <= same);
                            json_array_append_new(pairs, jp);
                        } else
                            printf("  %s#%zu ~ %s#%zu: %.3f%s\n", cli_shown(all[a].path), fa + 1,
                                   cli_shown(all[b].path), fb + 1, d,
                                   d <= same ? "  same person" : "");
                    }
        if (json) {
            json_t *root = json_object();
            pho_json_set_str(root, "backend", pho_face_engine_backend(fe));
            pho_json_set(root, "photos", arr);
            pho_json_set(root, "pairs", pairs);
            arr = root;
        }
    }
    if (json) {
        json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        fputc('\n', stdout);
        json_decref(arr);
    }
    for (size_t i = 0; i < n; i++)
        pho_face_list_release(&all[i].faces);
    free(all);
    pho_face_engine_close(fe);
    return status;
}
