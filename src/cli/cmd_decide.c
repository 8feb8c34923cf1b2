/* SPDX-License-Identifier: MIT */
/*
 * `photo-organizer decide -o OUT KIND PHOTO [OTHER] | undo | list`: the user's decisions about the
 * result (docs/decisions.md), kept in OUT's catalog and applied by every later run. After a
 * change the result is made again with the last run's settings, so OUT shows it at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <getopt.h>
#include <jansson.h>

#include "cli.h"
#include "pho/catalog.h"
#include "pho/json.h"
#include "pho/organize.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s decide -o OUTPUT ACTION\n"
            "\n"
            "Your decisions about an output folder's result, kept in its catalog: no later\n"
            "run undoes them. After a change the result is made again with the last run's\n"
            "settings (its group folders, report and sidecars), as the viewer does.\n"
            "\n"
            "Actions (PHOTO: a path below the source, as the report names it):\n"
            "  best PHOTO          PHOTO is its group's best shot\n"
            "  pick PHOTO          mark PHOTO a keeper (sidecars: the best shot's rating)\n"
            "  reject PHOTO        mark PHOTO rejected: never the best unless you say so\n"
            "                      (sidecars: rating -1)\n"
            "  unflag PHOTO        neither picked nor rejected\n"
            "  move PHOTO OTHER    PHOTO goes into OTHER's group (OTHER in no group: the\n"
            "                      two make one)\n"
            "  merge PHOTO OTHER   PHOTO's group and OTHER's become one\n"
            "  split PHOTO         PHOTO and the takes after it form a group of their own\n"
            "  ungroup PHOTO       PHOTO's group is no more: its photos stand alone\n"
            "  detach PHOTO        PHOTO leaves its group\n"
            "  undo                take back the newest decision\n"
            "  list                the decisions in force\n"
            "\n"
            "Options:\n"
            "  -o, --output DIR     the output folder\n"
            "      --no-apply       record only; the next run applies it\n"
            "      --models-dir DIR face models folder for making the result again\n"
            "  -j, --json           machine-readable list\n"
            "  -h, --help           show this help\n",
            cli_prog);
}

static int list(const char *output, bool json)
{
    struct pho_decision *v = NULL;
    size_t n = 0;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_organize_decisions(&v, &n, output, &err) < 0) {
        cli_error("%s", err.msg);
        return EXIT_FAIL;
    }
    json_t *arr = json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        if (json) {
            json_t *o = json_object();
            pho_json_set_int(o, "id", v[i].id);
            pho_json_set_str(o, "kind", v[i].kind);
            pho_json_set_path(o, "photo", v[i].photo);
            if (v[i].other && *v[i].other)
                pho_json_set_path(o, "other", v[i].other);
            pho_json_set_int(o, "made_at", v[i].made_at);
            json_array_append_new(arr, o);
        } else {
            char when[32] = "";
            time_t t = (time_t)v[i].made_at;
            struct tm tm;
            if (localtime_r(&t, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
            printf("%lld  %s  %s  %s", (long long)v[i].id, when, v[i].kind, cli_shown(v[i].photo));
            if (v[i].other && *v[i].other)
                printf("  %s", cli_shown(v[i].other));
            putchar('\n');
        }
    }
    if (json) {
        json_dumpf(arr, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(arr);
    } else if (n == 0) {
        printf("no decisions\n");
    }
    pho_catalog_decisions_free(v, n);
    return EXIT_OK;
}

/* The result made again; says where @photo's group stands. */
static int apply(const char *output, const char *models_dir, const char *photo, const char *kind)
{
    struct pho_organize_result r;
    struct pho_err err = PHO_ERR_INIT;
    int rc = pho_organize_rerun(&r, output, models_dir, NULL, &err);
    if (rc < 0) {
        cli_error("the decision is kept, but the result could not be made again: %s", err.msg);
        pho_organize_result_release(&r);
        return EXIT_FAIL;
    }
    bool found = false;
    for (size_t g = 0; photo && g < r.ngroups && !found; g++)
        for (size_t k = 0; k < r.groups[g].count; k++)
            if (!strcmp(r.photos[r.groups[g].members[k]].rel, photo)) {
                found = true;
                printf("%s: %zu photos, best %s\n", r.groups[g].dir, r.groups[g].count,
                       cli_shown(r.photos[r.groups[g].best].rel));
                break;
            }
    if (photo && !found) {
        if (!strcmp(kind, "ungroup") || !strcmp(kind, "detach"))
            printf("%s is in no group now\n", cli_shown(photo));
        else
            cli_warn("%s is in no group of this result; the decision applies when it is",
                     cli_shown(photo));
    }
    printf("Result made again: %zu groups, %zu files written, %zu unchanged\n", r.ngroups,
           r.files_written, r.files_unchanged);
    pho_organize_result_release(&r);
    return EXIT_OK;
}

int cmd_decide(int argc, char **argv)
{
    enum { OPT_NO_APPLY = 256, OPT_MODELS };
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "no-apply", no_argument, NULL, OPT_NO_APPLY },
        { "models-dir", required_argument, NULL, OPT_MODELS },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *output = NULL, *models = NULL;
    bool no_apply = false, json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:jh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case OPT_NO_APPLY:
            no_apply = true;
            break;
        case OPT_MODELS:
            models = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("decide", "unrecognised option");
        }
    }
    if (!output)
        return cli_usage_error("decide", "give the output folder with -o");
    if (optind >= argc)
        return cli_usage_error("decide", "give an action: best PHOTO, undo or list (see --help)");
    const char *action = argv[optind];
    struct pho_err err = PHO_ERR_INIT;
    if (!strcmp(action, "list"))
        return optind + 1 == argc ? list(output, json)
                                  : cli_usage_error("decide", "list takes nothing more");
    if (pho_organize_decision_known(action)) {
        bool two = pho_organize_decision_relates(action);
        if (optind + (two ? 3 : 2) != argc)
            return cli_usage_error("decide", "%s takes %s (paths below the source)", action,
                                   two ? "two photos: PHOTO OTHER" : "one photo");
        const char *photo = argv[optind + 1], *other = two ? argv[optind + 2] : NULL;
        if (pho_organize_decide(output, action, photo, other, &err) < 0) {
            cli_error("%s", err.msg);
            return err.code == PHO_EBUSY    ? EXIT_BUSY
                   : err.code == PHO_EINVAL ? EXIT_USAGE
                                            : EXIT_FAIL;
        }
        return no_apply ? EXIT_OK : apply(output, models, photo, action);
    }
    if (!strcmp(action, "undo")) {
        if (optind + 1 != argc)
            return cli_usage_error("decide", "undo takes nothing more");
        struct pho_decision d;
        if (pho_organize_undo(&d, output, &err) < 0) {
            cli_error("%s", err.msg);
            return err.code == PHO_EBUSY ? EXIT_BUSY : EXIT_FAIL;
        }
        if (!d.id) {
            printf("no decision to take back\n");
            return EXIT_OK;
        }
        printf("took back decision %lld (%s %s)\n", (long long)d.id, d.kind, cli_shown(d.photo));
        pho_free(d.photo);
        pho_free(d.other);
        return no_apply ? EXIT_OK : apply(output, models, NULL, "undo");
    }
    return cli_usage_error("decide",
                           "unknown action '%s' (best, pick, reject, unflag, move, merge, split, "
                           "ungroup, detach, undo, list)",
                           action);
}
