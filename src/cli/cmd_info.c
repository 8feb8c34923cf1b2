/* SPDX-License-Identifier: MIT */
/*
 * `photo-organizer info FILE|DIR...`: what each photo says about itself, and
 * a test decode so broken files are caught. Files are examined in parallel;
 * results are printed in input order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <getopt.h>
#include <jansson.h>

#include "cli.h"
#include "pho/image.h"
#include "pho/json.h"
#include "pho/parallel.h"
#include "pho/scan.h"
#include "pho/shot.h"

/* Long side of the verification decode. Strict mode reads every coefficient
 * whatever the size; a small output keeps the rest of the work cheap. */
#define VERIFY_SIZE 256

struct info_item {
    char *path;
    struct pho_meta meta;
    struct pho_err err;
    int rc;      /* first failure: probe or decode */
    bool probed; /* meta is valid even if decoding failed */
    uint32_t dec_w, dec_h;
};

struct info_run {
    struct info_item *items;
    size_t count, cap;
    bool decode;
    struct pho_image_opts opts;
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s info [OPTIONS] FILE|FOLDER...\n"
            "\n"
            "Shows what each photo says about itself: format (from its bytes, not its\n"
            "name), pixel size, orientation, capture time and where it came from, camera,\n"
            "lens, exposure and GPS position. Folders are searched recursively. Each file\n"
            "is also decoded in full, so truncated and corrupt files are reported.\n"
            "\n"
            "Options:\n"
            "  -j, --json            print a JSON array instead of text\n"
            "      --no-decode       read headers and metadata only (faster)\n"
            "      --max-pixels N    refuse images larger than N pixels (default %u)\n"
            "      --limit N         look at no more than N photos per folder\n"
            "      --include-hidden  also look inside hidden files and folders\n"
            "  -t, --threads N       worker threads (default: one per CPU)\n"
            "  -h, --help            show this help\n"
            "\n"
            "Exit status: 0 when every file could be read, 1 when any failed (each\n"
            "failure is one line on standard error), 2 on a usage error.\n",
            cli_prog, PHO_DEFAULT_MAX_PIXELS);
}

static int add_item(struct info_run *r, const char *path)
{
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        void *p = realloc(r->items, cap * sizeof(*r->items));
        if (!p)
            return PHO_ENOMEM;
        r->items = p;
        r->cap = cap;
    }
    struct info_item *it = &r->items[r->count];
    memset(it, 0, sizeof(*it));
    it->path = strdup(path);
    if (!it->path)
        return PHO_ENOMEM;
    r->count++;
    return 0;
}

static void examine(void *ud, size_t i, unsigned worker)
{
    struct info_run *r = ud;
    struct info_item *it = &r->items[i];
    (void)worker;
    it->rc = pho_image_probe(&it->meta, it->path, &r->opts, &it->err);
    it->probed = it->rc == 0;
    /* What organize uses, info shows: a Takeout sidecar's time and place (docs/shots.md). */
    char *takeout = NULL;
    if (it->probed && pho_shot_find_takeout(&takeout, it->path) == 0) {
        struct pho_err e = PHO_ERR_INIT;
        if (pho_takeout_apply(&it->meta, takeout, &e) < 0 && !it->meta.note[0])
            snprintf(it->meta.note, sizeof(it->meta.note), "Takeout sidecar not read: %.120s",
                     e.msg);
    }
    pho_free(takeout);
    if (it->rc || !r->decode)
        return;
    /* Probing again inside load costs little next to decoding, and keeps the
     * metadata of files whose pixels turn out to be broken. */
    struct pho_image *img = NULL;
    struct pho_meta again;
    it->rc = pho_image_load(&img, it->path, &r->opts, &again, &it->err);
    if (again.note[0] && !it->meta.note[0]) /* damage found while decoding */
        pho_strlcpy(it->meta.note, again.note, sizeof(it->meta.note));
    if (img) {
        it->dec_w = img->width;
        it->dec_h = img->height;
    }
    pho_image_free(img);
}

static const char *orientation_text(int o)
{
    static const char *const names[] = {
        "",
        "normal",
        "mirrored",
        "upside down",
        "mirrored, upside down",
        "mirrored, rotated 90\xc2\xb0 counter-clockwise",
        "rotated 90\xc2\xb0 clockwise",
        "mirrored, rotated 90\xc2\xb0 clockwise",
        "rotated 90\xc2\xb0 counter-clockwise",
    };
    return o >= 1 && o <= 8 ? names[o] : "unknown";
}

static void upright(const struct pho_meta *m, uint32_t *w, uint32_t *h)
{
    bool swap = m->orientation >= 5 && m->orientation <= 8;
    *w = swap ? m->height : m->width;
    *h = swap ? m->width : m->height;
}

static void print_text(const struct info_item *it)
{
    const struct pho_meta *m = &it->meta;
    char buf[64];
    printf("%s\n", cli_shown(it->path));
    printf("  format:       %s, %llu bytes\n", pho_format_name(m->format),
           (unsigned long long)m->file_size);
    if (m->flags & PHO_META_DIMENSIONS) {
        uint32_t w, h;
        upright(m, &w, &h);
        printf("  pixels:       %ux%u (%.1f MP)", m->width, m->height,
               m->width * (double)m->height / 1e6);
        if (w != m->width)
            printf(", %ux%u upright", w, h);
        printf("\n");
    }
    printf("  orientation:  %d (%s)\n", m->orientation, orientation_text(m->orientation));
    pho_time_format(buf, sizeof(buf), &m->time);
    printf("  captured:     %s (%s)\n", m->time.source ? buf : "unknown",
           pho_time_source_name(m->time.source));
    if (m->make[0] || m->model[0]) {
        /* Many models repeat the maker ("Canon Canon EOS 40D"): say it once. */
        bool repeats = m->make[0] && !strncasecmp(m->model, m->make, strlen(m->make));
        printf("  camera:       %s%s%s\n", repeats ? "" : cli_shown(m->make),
               (!repeats && m->make[0] && m->model[0]) ? " " : "", cli_shown(m->model));
    }
    if (m->lens[0])
        printf("  lens:         %s\n", cli_shown(m->lens));
    if (m->flags & (PHO_META_EXPOSURE_TIME | PHO_META_FNUMBER | PHO_META_ISO |
                    PHO_META_EXPOSURE_BIAS | PHO_META_FOCAL_LENGTH)) {
        const char *sep = "";
        printf("  exposure:     ");
        if (m->flags & PHO_META_EXPOSURE_TIME) {
            cli_format_exposure(buf, sizeof(buf), m->exposure_time);
            printf("%s s", buf);
            sep = ", ";
        }
        if (m->flags & PHO_META_FNUMBER) {
            printf("%sf/%.1f", sep, m->fnumber);
            sep = ", ";
        }
        if (m->flags & PHO_META_ISO) {
            printf("%sISO %u", sep, m->iso);
            sep = ", ";
        }
        if (m->flags & PHO_META_EXPOSURE_BIAS) {
            printf("%s%+.2g EV", sep, m->exposure_bias);
            sep = ", ";
        }
        if (m->flags & PHO_META_FOCAL_LENGTH)
            printf("%s%.3g mm", sep, m->focal_length);
        printf("\n");
    }
    if (m->flags & PHO_META_GPS) {
        printf("  gps:          %.6f, %.6f", m->gps_lat, m->gps_lon);
        if (m->flags & PHO_META_GPS_ALT)
            printf(" (altitude %.1f m)", m->gps_alt);
        if (m->flags & PHO_META_GPS_TAKEOUT)
            printf(" (Takeout)");
        printf("\n");
    }
    if (m->note[0])
        printf("  note:         %s\n", cli_shown(m->note));
}

static json_t *item_json(const struct info_item *it)
{
    const struct pho_meta *m = &it->meta;
    json_t *o = json_object();
    pho_json_set_path(o, "path", it->path);
    if (it->rc) {
        pho_json_set_str(o, "error", it->err.msg);
        json_object_set_new(o, "code", json_string(pho_status_name(it->rc)));
        if (!it->probed) {
            if (m->format)
                json_object_set_new(o, "format", json_string(pho_format_name(m->format)));
            return o;
        }
    }
    char buf[64];
    uint32_t w, h;
    upright(m, &w, &h);
    json_object_set_new(o, "format", json_string(pho_format_name(m->format)));
    json_object_set_new(o, "file_size", json_integer((json_int_t)m->file_size));
    json_object_set_new(o, "width", json_integer(m->width));
    json_object_set_new(o, "height", json_integer(m->height));
    json_object_set_new(o, "upright_width", json_integer(w));
    json_object_set_new(o, "upright_height", json_integer(h));
    json_object_set_new(o, "orientation", json_integer(m->orientation));
    if (m->orientation_tag)
        json_object_set_new(o, "orientation_tag", json_integer(m->orientation_tag));
    pho_time_format(buf, sizeof(buf), &m->time);
    json_object_set_new(o, "captured", m->time.source ? json_string(buf) : json_null());
    json_object_set_new(o, "time_source", json_string(pho_time_source_name(m->time.source)));
    pho_json_set(o, "make", m->make[0] ? pho_json_str(m->make) : json_null());
    pho_json_set(o, "model", m->model[0] ? pho_json_str(m->model) : json_null());
    pho_json_set(o, "lens", m->lens[0] ? pho_json_str(m->lens) : json_null());
    if (m->flags & PHO_META_EXPOSURE_TIME) {
        json_object_set_new(o, "exposure_time", json_real(m->exposure_time));
        cli_format_exposure(buf, sizeof(buf), m->exposure_time);
        json_object_set_new(o, "exposure", json_string(buf));
    }
    if (m->flags & PHO_META_FNUMBER)
        json_object_set_new(o, "fnumber", json_real(m->fnumber));
    if (m->flags & PHO_META_ISO)
        json_object_set_new(o, "iso", json_integer(m->iso));
    if (m->flags & PHO_META_EXPOSURE_BIAS)
        json_object_set_new(o, "exposure_bias", json_real(m->exposure_bias));
    if (m->flags & PHO_META_FOCAL_LENGTH)
        json_object_set_new(o, "focal_length", json_real(m->focal_length));
    if (m->flags & PHO_META_GPS) {
        json_t *g = json_object();
        json_object_set_new(g, "lat", json_real(m->gps_lat));
        json_object_set_new(g, "lon", json_real(m->gps_lon));
        if (m->flags & PHO_META_GPS_ALT)
            json_object_set_new(g, "alt", json_real(m->gps_alt));
        if (m->flags & PHO_META_GPS_TAKEOUT)
            json_object_set_new(g, "source", json_string("Takeout"));
        json_object_set_new(o, "gps", g);
    } else {
        json_object_set_new(o, "gps", json_null());
    }
    if (it->dec_w) {
        json_t *d = json_object();
        pho_json_set_int(d, "width", it->dec_w);
        pho_json_set_int(d, "height", it->dec_h);
        json_object_set_new(o, "decoded", d);
    }
    if (m->note[0])
        json_object_set_new(o, "note", json_string(m->note));
    return o;
}

int cmd_info(int argc, char **argv)
{
    enum { OPT_NO_DECODE = 256, OPT_MAX_PIXELS, OPT_LIMIT, OPT_HIDDEN };
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'j' },
        { "no-decode", no_argument, NULL, OPT_NO_DECODE },
        { "max-pixels", required_argument, NULL, OPT_MAX_PIXELS },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "include-hidden", no_argument, NULL, OPT_HIDDEN },
        { "threads", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct info_run run = { .decode = true, .opts = PHO_IMAGE_OPTS_INIT };
    struct pho_scan_opts so = PHO_SCAN_OPTS_INIT;
    bool json = false;
    unsigned long long v, threads = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jt:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case OPT_NO_DECODE:
            run.decode = false;
            break;
        case OPT_MAX_PIXELS:
            if (!cli_parse_uint("--max-pixels", optarg, UINT64_MAX, &v) || v == 0)
                return cli_usage_error("info", "--max-pixels must be at least 1");
            run.opts.max_pixels = v;
            break;
        case OPT_LIMIT:
            if (!cli_parse_uint("--limit", optarg, SIZE_MAX, &v))
                return EXIT_USAGE;
            so.limit = (size_t)v;
            break;
        case OPT_HIDDEN:
            so.include_hidden = true;
            break;
        case 't':
            if (!cli_parse_uint("--threads", optarg, 1024, &threads))
                return EXIT_USAGE;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("info", "unrecognised option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("info", "give at least one file or folder");
    run.opts.max_size = VERIFY_SIZE;
    /* info is a diagnosis: recoverable damage is described (a note), though
     * the photo is readable, as it is for organize. */
    run.opts.strict = true;

    int status = EXIT_OK;
    for (int i = optind; i < argc; i++) {
        struct pho_scan_list *list = NULL;
        struct pho_err err = PHO_ERR_INIT;
        if (pho_scan_run(&list, argv[i], &so, &err) < 0) {
            cli_error("%s", err.msg);
            status = EXIT_FAIL;
            continue;
        }
        for (size_t k = 0; k < list->nproblems; k++) {
            cli_error("%s: %s", list->problems[k].path, list->problems[k].msg);
            status = EXIT_FAIL;
        }
        for (size_t k = 0; k < list->count; k++) {
            if (add_item(&run, list->items[k].path) < 0) {
                cli_error("out of memory");
                pho_scan_list_free(list);
                return EXIT_FAIL;
            }
        }
        pho_scan_list_free(list);
    }

    pho_parallel_for(run.count, (unsigned)threads, examine, &run);

    json_t *arr = json ? json_array() : NULL;
    for (size_t i = 0; i < run.count; i++) {
        struct info_item *it = &run.items[i];
        if (it->rc) {
            cli_error("%s: %s", it->path, it->err.msg);
            status = EXIT_FAIL;
        }
        if (json)
            json_array_append_new(arr, item_json(it));
        else if (it->probed)
            print_text(it);
        free(it->path);
    }
    if (json) {
        json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        fputc('\n', stdout);
        json_decref(arr);
    }
    free(run.items);
    return status;
}
