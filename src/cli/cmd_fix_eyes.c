/* SPDX-License-Identifier: MIT */
/*
 * `photo-organizer fix-eyes TARGET DONOR... -o FILE`: the take a user prefers, with each
 * blinking face given the same person's open eyes from the other takes they name
 * (docs/face-swap.md). TARGET and the donors are only read; FILE is a new JPEG, written
 * atomically, never over an existing file without --force.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <getopt.h>
#include <jansson.h>

#include "cli.h"
#include "pho/face.h"
#include "pho/image.h"
#include "pho/json.h"
#include "pho/swap.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s fix-eyes [OPTIONS] TARGET DONOR... -o FILE\n"
            "\n"
            "Repairs closed eyes in TARGET: each face whose eyes are closed gets the same\n"
            "person's open eyes from one of the DONOR takes (the same scene, seconds apart),\n"
            "aligned on the face's landmarks, matched in colour and blended without a seam.\n"
            "Every repair is checked on the result (eyes open, still the same person, no\n"
            "visible seam) and refused otherwise. TARGET and the donors are never changed;\n"
            "FILE is a new JPEG with TARGET's metadata (made upright) and quality.\n"
            "\n"
            "Options:\n"
            "  -o, --output FILE        where the repaired photo goes (required)\n"
            "      --force              replace FILE if it exists\n"
            "  -n, --dry-run            analyse and check, but write nothing\n"
            "  -b, --face-backend NAME  auto (default), mediapipe, face_recognition, facenet\n"
            "                           or insightface (yolov8 cannot tell people apart)\n"
            "      --models-dir DIR     face models folder\n"
            "      --gpu                run the models on a CUDA GPU\n"
            "      --gpu-device N       which GPU\n"
            "      --quality N          JPEG quality 1-100 (default: TARGET's own, else 92)\n"
            "      --max-seam X         refuse repairs whose seam measure is above X (%.2f)\n"
            "      --blend HOW          poisson (default) or paste: the aligned eyes put in\n"
            "                           without blending, to see what the seam check refuses\n"
            "  -j, --json               machine-readable output\n"
            "  -h, --help               show this help\n"
            "\n"
            "Exit status: 0 when FILE was written (or would be, with --dry-run), 1 when no\n"
            "face could be repaired (each one's reason is printed), 2 on a usage error.\n",
            cli_prog, (double)PHO_SWAP_MAX_SEAM);
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* Writes @len bytes as @path: a temporary beside it, synced, then renamed into place
 * (without @force never over a file that exists, even one made meanwhile). */
static int write_file(const char *path, const void *data, size_t len, bool force)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.pho-tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -1;
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        p += w;
        left -= (size_t)w;
    }
    if (fchmod(fd, 0644) || fsync(fd))
        goto fail;
    if (close(fd)) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (force ? rename(tmp, path) : renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE))
        goto fail;
    /* The folder's entry, durable too. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = e;
    return -1;
}

/* Whether @a and @b name the same file. */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int cmd_fix_eyes(int argc, char **argv)
{
    enum { OPT_DIR = 256, OPT_GPU, OPT_GPU_DEVICE, OPT_QUALITY, OPT_SEAM, OPT_FORCE, OPT_BLEND };
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "force", no_argument, NULL, OPT_FORCE },
        { "dry-run", no_argument, NULL, 'n' },
        { "face-backend", required_argument, NULL, 'b' },
        { "models-dir", required_argument, NULL, OPT_DIR },
        { "gpu", no_argument, NULL, OPT_GPU },
        { "gpu-device", required_argument, NULL, OPT_GPU_DEVICE },
        { "quality", required_argument, NULL, OPT_QUALITY },
        { "max-seam", required_argument, NULL, OPT_SEAM },
        { "blend", required_argument, NULL, OPT_BLEND },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    struct pho_swap_opts so = PHO_SWAP_OPTS_INIT;
    const char *output = NULL;
    bool json = false, dry = false, force = false;
    unsigned long long quality = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:nb:jh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case OPT_FORCE:
            force = true;
            break;
        case 'n':
            dry = true;
            break;
        case 'b':
            fo.backend = optarg;
            break;
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
        case OPT_QUALITY:
            if (!cli_parse_uint("--quality", optarg, 100, &quality) || quality == 0)
                return cli_usage_error("fix-eyes", "--quality takes 1..100");
            break;
        case OPT_SEAM: {
            char *end = NULL;
            so.max_seam = strtof(optarg, &end);
            if (!end || *end || !(so.max_seam > 0 && so.max_seam < 100))
                return cli_usage_error("fix-eyes", "--max-seam takes a number above 0");
            break;
        }
        case OPT_BLEND:
            if (!strcmp(optarg, "poisson"))
                so.blend = PHO_SWAP_BLEND_POISSON;
            else if (!strcmp(optarg, "paste"))
                so.blend = PHO_SWAP_BLEND_PASTE;
            else
                return cli_usage_error("fix-eyes", "--blend takes poisson or paste, got '%s'",
                                       optarg);
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("fix-eyes", "unrecognised option");
        }
    }
    if (argc - optind < 2)
        return cli_usage_error("fix-eyes", "give the photo to repair and at least one other "
                                           "take to take open eyes from");
    if (!output && !dry)
        return cli_usage_error("fix-eyes", "give the file to write with -o");
    const char *target = argv[optind];
    size_t nd = (size_t)(argc - optind - 1);
    char *const *donor_paths = argv + optind + 1;
    /* The photos are only ever read: FILE may be none of them. */
    for (int i = optind; output && i < argc; i++)
        if (!strcmp(argv[i], output) || same_file(argv[i], output))
            return cli_usage_error("fix-eyes",
                                   "-o %s would replace one of the photos; the "
                                   "photos are never changed: choose a new file",
                                   output);
    if (output && !force && !dry && access(output, F_OK) == 0)
        return cli_usage_error("fix-eyes", "%s exists; choose a new file or add --force", output);

    struct pho_err err = PHO_ERR_INIT;
    struct pho_face_engine *fe = NULL;
    struct pho_image *timg = NULL, **dimg = calloc(nd, sizeof(*dimg));
    double *dt = calloc(nd, sizeof(*dt));
    struct pho_image_carry *carry = NULL;
    struct pho_swap_result res = { 0 };
    void *jpeg = NULL;
    size_t jlen = 0;
    int status = EXIT_FAIL;
    if (!dimg || !dt) {
        cli_error("out of memory");
        goto out;
    }
    struct pho_image_opts io = PHO_IMAGE_OPTS_INIT;
    struct pho_meta tm, dm;
    if (pho_image_load(&timg, target, &io, &tm, &err) < 0 ||
        pho_image_carry_read(&carry, target, &err) < 0) {
        cli_error("%s: %s", target, err.msg);
        goto out;
    }
    for (size_t d = 0; d < nd; d++) {
        if (pho_image_load(&dimg[d], donor_paths[d], &io, &dm, &err) < 0) {
            cli_error("%s: %s", donor_paths[d], err.msg);
            goto out;
        }
        bool timed = tm.time.source != PHO_TIME_NONE && tm.time.source != PHO_TIME_MTIME &&
                     dm.time.source != PHO_TIME_NONE && dm.time.source != PHO_TIME_MTIME;
        dt[d] = timed ? pho_time_diff(&tm.time, &dm.time) : NAN;
    }
    if (pho_face_engine_open(&fe, &fo, &err) < 0 ||
        pho_face_engine_require(fe, PHO_FACE_CAP_ENCODE, "fix-eyes", &err) < 0 ||
        pho_swap_fix_eyes(&res, fe, timg, (const struct pho_image *const *)dimg, dt, nd, &so,
                          &err) < 0) {
        cli_error("%s", err.msg);
        goto out;
    }
    if (res.image && !dry &&
        pho_image_jpeg_carrying(&jpeg, &jlen, res.image, carry, (int)quality, &err) < 0) {
        cli_error("%s", err.msg);
        goto out;
    }
    if (jpeg && write_file(output, jpeg, jlen, force)) {
        cli_error("%s: cannot write: %s", output, strerror(errno));
        goto out;
    }
    status = res.nfixed ? EXIT_OK : EXIT_FAIL;

    uint32_t W = timg->width, H = timg->height;
    if (json) {
        json_t *root = json_object(), *faces = json_array();
        pho_json_set_path(root, "target", target);
        pho_json_set_str(root, "backend", pho_face_engine_backend(fe));
        pho_json_set_real(root, "same_person", res.same);
        pho_json_set_real(root, "max_seam", so.max_seam);
        pho_json_set_int(root, "closed", (long long)res.nfaces);
        pho_json_set_int(root, "fixed", (long long)res.nfixed);
        if (jpeg)
            pho_json_set_path(root, "output", output);
        else
            pho_json_set(root, "output", json_null());
        pho_json_set_int(root, "quality",
                         quality                          ? (int)quality
                         : pho_image_carry_quality(carry) ? pho_image_carry_quality(carry)
                                                          : 92);
        unsigned kept = pho_image_carry_kept(carry);
        pho_json_set_bool(root, "exif_kept", kept & 1);
        pho_json_set_bool(root, "icc_kept", (kept & 2) != 0);
        for (size_t i = 0; i < res.nfaces; i++) {
            const struct pho_swap_face *s = &res.faces[i];
            json_t *o = json_object();
            pho_json_set_int(o, "face", (long long)s->face + 1);
            const double box[4] = { (double)s->box[0] * W, (double)s->box[1] * H,
                                    (double)s->box[2] * W, (double)s->box[3] * H };
            pho_json_set(o, "box", pho_json_reals(box, 4));
            pho_json_set_bool(o, "fixed", s->status == 0);
            pho_json_set_str(o, "why", s->why);
            if (s->donor != SIZE_MAX) {
                pho_json_set_path(o, "donor", donor_paths[s->donor]);
                pho_json_set_int(o, "donor_face", (long long)s->donor_face + 1);
            } else {
                pho_json_set(o, "donor", json_null());
            }
            pho_json_set(o, "ear_before", num(s->ear_before));
            pho_json_set(o, "ear_after", num(s->ear_after));
            pho_json_set(o, "distance", num(s->distance));
            pho_json_set(o, "distance_after", num(s->distance_after));
            pho_json_set(o, "seam", num(s->seam));
            pho_json_set(o, "match", num(s->match));
            pho_json_set(o, "yaw_difference", num(s->yaw_diff));
            pho_json_set(o, "scale", num(s->scale));
            pho_json_set(o, "residual_px", num(s->residual));
            pho_json_set_int(o, "tries", s->tries);
            json_array_append_new(faces, o);
        }
        pho_json_set(root, "faces", faces);
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        fputc('\n', stdout);
        json_decref(root);
    } else {
        if (res.nfaces == 0)
            printf("%s: no closed eyes found; nothing to repair\n", cli_shown(target));
        for (size_t i = 0; i < res.nfaces; i++) {
            const struct pho_swap_face *s = &res.faces[i];
            printf("face %zu at %.0f,%.0f: ", s->face + 1, s->box[0] * W, s->box[1] * H);
            if (s->status == 0)
                printf("eyes from %s (face %zu): EAR %.3f -> %.3f, identity %.3f -> %.3f "
                       "(same person <= %.3f), seam %.2f\n",
                       cli_shown(donor_paths[s->donor]), s->donor_face + 1, s->ear_before,
                       s->ear_after, s->distance, s->distance_after, res.same, s->seam);
            else
                printf("not repaired: %s\n", s->why);
        }
        if (jpeg)
            printf("wrote %s (%zu of %zu face%s repaired)\n", cli_shown(output), res.nfixed,
                   res.nfaces, res.nfaces == 1 ? "" : "s");
        else if (res.nfixed && dry)
            printf("dry run: %s not written (%zu of %zu face%s would be repaired)\n",
                   output ? cli_shown(output) : "nothing", res.nfixed, res.nfaces,
                   res.nfaces == 1 ? "" : "s");
    }
out:
    pho_swap_result_release(&res);
    pho_free(jpeg);
    pho_image_carry_free(carry);
    pho_image_free(timg);
    for (size_t d = 0; dimg && d < nd; d++)
        pho_image_free(dimg[d]);
    free(dimg);
    free(dt);
    pho_face_engine_close(fe);
    return status;
}
