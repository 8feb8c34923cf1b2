/* SPDX-License-Identifier: MIT */
/* `photo-organizer explain A B`: why two photos are, or are not, grouped. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <getopt.h>
#include <jansson.h>

#include "cli.h"
#include "pho/json.h"
#include "pho/organize.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s explain [options] PHOTO_A PHOTO_B\n"
            "\n"
            "Reads both photos as organize does and says whether the grouping rule links\n"
            "them, and why: the closest of their hashes (dHash, pHash, a centre crop of one\n"
            "against the other), the bits the rule allows for their time gap, how alike\n"
            "the pictures are, and whether one camera took them seconds apart. In a\n"
            "library, other photos can still join them through a chain of links.\n"
            "\n"
            "Options:\n"
            "      --grouping RULE    auto (default) or classic (the original tool's rule)\n"
            "  -t, --threshold N      classic: hash bits allowed (default 5)\n"
            "      --time-window S    classic: seconds allowed between captures (default 300)\n"
            "      --hash KIND        classic: dhash (default) or phash\n"
            "  -j, --json             machine-readable output\n"
            "  -h, --help             show this help\n",
            cli_prog);
}

static void print_json(const char *a, const char *b, const struct pho_group_why *w)
{
    json_t *root = json_object();
    pho_json_set_path(root, "a", a);
    pho_json_set_path(root, "b", b);
    pho_json_set_bool(root, "linked", w->reason != PHO_GROUP_NOT_LINKED);
    pho_json_set_str(root, "reason", pho_group_reason_name(w->reason));
    pho_json_set_int(root, "hash_bits", w->bits);
    pho_json_set_int(root, "allowed_bits", w->allowed_bits);
    pho_json_set_real(root, "similarity", w->score);
    pho_json_set_real(root, "needed_similarity", w->needed_score);
    pho_json_set_real(root, "time_gap", w->gap);
    pho_json_set_bool(root, "same_camera", w->same_camera);
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(root);
}

int cmd_explain(int argc, char **argv)
{
    enum { OPT_GROUPING = 256, OPT_WINDOW, OPT_HASH };
    static const struct option longopts[] = {
        { "grouping", required_argument, NULL, OPT_GROUPING },
        { "threshold", required_argument, NULL, 't' },
        { "time-window", required_argument, NULL, OPT_WINDOW },
        { "hash", required_argument, NULL, OPT_HASH },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct pho_organize_opts o = PHO_ORGANIZE_OPTS_INIT;
    bool json = false;
    unsigned set = 0;
    unsigned long long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:jh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_GROUPING:
            if (strcmp(optarg, "auto") && strcmp(optarg, "classic"))
                return cli_usage_error("explain", "--grouping takes auto or classic, got '%s'",
                                       optarg);
            o.grouping = strcmp(optarg, "auto") ? PHO_GROUP_RULE_CLASSIC : PHO_GROUP_RULE_AUTO;
            set |= PHO_SET_GROUPING;
            break;
        case 't':
            if (!cli_parse_uint("--threshold", optarg, 64, &v))
                return EXIT_USAGE;
            o.threshold = (int)v;
            set |= PHO_SET_THRESHOLD;
            break;
        case OPT_WINDOW: {
            char *end = NULL;
            double w = strtod(optarg, &end);
            if (!end || *end || !(w >= 0) || !isfinite(w))
                return cli_usage_error("explain", "--time-window takes seconds >= 0");
            o.time_window = w;
            set |= PHO_SET_WINDOW;
            break;
        }
        case OPT_HASH:
            if (pho_hash_kind_parse(&o.hash, optarg) < 0)
                return cli_usage_error("explain", "--hash takes dhash or phash, got '%s'", optarg);
            set |= PHO_SET_HASH;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("explain", "unrecognised option");
        }
    }
    if (pho_organize_select_rule(&o, &set))
        return cli_usage_error("explain", "-t, --time-window and --hash belong to --grouping "
                                          "classic");
    if (argc - optind != 2)
        return cli_usage_error("explain", "give two photos");
    const char *a = argv[optind], *b = argv[optind + 1];
    struct pho_group_why w;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_organize_explain(&w, a, b, &o, &err)) {
        cli_error("%s", err.msg);
        return EXIT_FAIL;
    }
    if (json) {
        print_json(a, b, &w);
        return EXIT_OK;
    }
    char line[256];
    bool linked = w.reason != PHO_GROUP_NOT_LINKED;
    printf("%s and %s: %s\n", cli_shown(a), cli_shown(b), linked ? "grouped" : "not grouped");
    printf("  rule:           %s\n", o.grouping == PHO_GROUP_RULE_AUTO ? "auto" : "classic");
    printf("  closest hashes: %d bits apart (allowed: %d%s)\n", w.bits, w.allowed_bits,
           isfinite(w.gap) && o.grouping == PHO_GROUP_RULE_AUTO ? ", for their time gap" : "");
    if (isfinite(w.score))
        printf("  pictures alike: %.2f (needs %.2f)\n", (double)w.score, (double)w.needed_score);
    if (isfinite(w.gap))
        printf("  taken:          %.1f s apart%s\n", w.gap, w.same_camera ? ", same camera" : "");
    else
        printf("  taken:          %s\n", "unknown for at least one (no capture time)");
    printf("  verdict:        %s\n", pho_group_why_format(line, sizeof(line), &w));
    return EXIT_OK;
}
