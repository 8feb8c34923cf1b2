/* SPDX-License-Identifier: MIT */
/* `photo-organizer people`: who is in the library, and the user's decisions about them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <getopt.h>
#include <jansson.h>

#include "cli.h"
#include "pho/json.h"
#include "pho/people.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s people -o OUTPUT [--json] ACTION\n"
            "\n"
            "The people found in a library organized with --faces all (docs/people.md).\n"
            "Every change is yours to keep: later runs, --force-fresh included, never\n"
            "undo it.\n"
            "\n"
            "Actions:\n"
            "  list                 every person: id, name, faces, photos, the photo that\n"
            "                       shows them best (hidden ones marked)\n"
            "  show ID              a person and each of their faces (PHOTO#N)\n"
            "  name ID NAME         name a person (any text; \"\" takes the name away)\n"
            "  merge ID OTHER       OTHER is the same person as ID: one person from now on\n"
            "  move PHOTO#N ID      face N of PHOTO (as the report numbers them, from 0)\n"
            "                       is person ID\n"
            "  not PHOTO#N ID       that face is not person ID: it leaves and never returns\n"
            "  hide ID, unhide ID   leave a person out of lists and people folders, or not\n"
            "\n"
            "Options:\n"
            "  -o, --output DIR     the output folder organize wrote\n"
            "  -j, --json           machine-readable output\n"
            "  -h, --help           show this help\n"
            "\n"
            "PHOTO is the photo's path below SOURCE, as the report gives it.\n",
            cli_prog);
}

static bool parse_id(const char *s, int64_t *id)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v <= 0)
        return cli_usage_error("people", "'%s' is not a person id (see 'people list')", s), false;
    *id = v;
    return true;
}

/* "dir/IMG_1.JPG#2" -> rel and face number. */
static bool parse_face(const char *s, char **rel, uint32_t *face)
{
    const char *hash = strrchr(s, '#');
    char *end = NULL;
    unsigned long v = hash ? strtoul(hash + 1, &end, 10) : 0;
    if (!hash || hash == s || !hash[1] || *end || v > UINT32_MAX) {
        cli_usage_error("people", "'%s' is not a face: give PHOTO#N (N from 0)", s);
        return false;
    }
    *rel = strndup(s, (size_t)(hash - s));
    *face = (uint32_t)v;
    return *rel != NULL;
}

static json_t *info_json(const struct pho_person_info *p)
{
    json_t *o = json_object();
    pho_json_set_int(o, "id", p->id);
    pho_json_set_str(o, "name", p->name[0] ? p->name : NULL);
    pho_json_set_bool(o, "hidden", p->hidden);
    pho_json_set_int(o, "faces", (long long)p->faces);
    pho_json_set_int(o, "photos", (long long)p->photos);
    pho_json_set_path(o, "sample", p->sample);
    return o;
}

static void print_json(json_t *root)
{
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(root);
}

static int list(struct pho_people_book *book, bool json, struct pho_err *err)
{
    struct pho_person_info *v = NULL;
    size_t n = 0;
    int rc = pho_people_list(&v, &n, book, err);
    if (rc)
        return rc;
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, info_json(&v[i]));
        json_t *root = json_object();
        pho_json_set_str(root, "model", pho_people_model(book));
        pho_json_set(root, "people", arr);
        print_json(root);
    } else {
        printf("%zu people (faces recognised with %s)\n", n, pho_people_model(book));
        for (size_t i = 0; i < n; i++)
            printf("%6lld  %-28s %4zu face%s %4zu photo%s  %s%s\n", (long long)v[i].id,
                   v[i].name[0] ? cli_shown(v[i].name) : "(no name)", v[i].faces,
                   v[i].faces == 1 ? " " : "s", v[i].photos, v[i].photos == 1 ? " " : "s",
                   cli_shown(v[i].sample), v[i].hidden ? "  [hidden]" : "");
    }
    pho_people_infos_free(v, n);
    return 0;
}

static int show(struct pho_people_book *book, int64_t id, bool json, struct pho_err *err)
{
    struct pho_person_info p;
    struct pho_person_face *f = NULL;
    size_t n = 0;
    int rc = pho_people_get(&p, book, id, err);
    if (rc == 0)
        rc = pho_people_faces(&f, &n, book, p.id, err);
    if (rc == 0 && json) {
        json_t *o = info_json(&p), *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *jf = json_object();
            pho_json_set_path(jf, "photo", f[i].rel);
            pho_json_set_int(jf, "face", f[i].face);
            pho_json_set_bool(jf, "pinned", f[i].pinned);
            json_array_append_new(arr, jf);
        }
        pho_json_set(o, "faces_in", arr);
        print_json(o);
    } else if (rc == 0) {
        printf("%lld  %s%s: %zu faces in %zu photos\n", (long long)p.id,
               p.name[0] ? cli_shown(p.name) : "(no name)", p.hidden ? " [hidden]" : "", p.faces,
               p.photos);
        for (size_t i = 0; i < n; i++)
            printf("  %s#%u%s\n", cli_shown(f[i].rel), f[i].face,
                   f[i].pinned ? "  (placed by you)" : "");
    }
    if (rc == 0) {
        pho_free(p.name);
        pho_free(p.sample);
    }
    pho_catalog_person_faces_free(f, n);
    return rc;
}

int cmd_people(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *output = NULL;
    bool json = false;
    int c;
    optind = 1;
    /* "+": options stop at the action, so a name may start with '-'. */
    while ((c = getopt_long(argc, argv, "+o:jh", longopts, NULL)) != -1) {
        if (c == 'o') {
            output = optarg;
        } else if (c == 'j') {
            json = true;
        } else if (c == 'h') {
            usage(stdout);
            return EXIT_OK;
        } else {
            return cli_usage_error("people", "unrecognised option");
        }
    }
    if (!output)
        return cli_usage_error("people", "give the output folder with -o");
    if (optind >= argc)
        return cli_usage_error("people", "give an action: list, show, name, merge, move, not, "
                                         "hide or unhide");
    const char *action = argv[optind];
    char **args = argv + optind + 1;
    int nargs = argc - optind - 1;
    static const struct {
        const char *name;
        int args;
        bool change;
    } actions[] = {
        { "list", 0, false }, { "show", 1, false }, { "name", 2, true }, { "merge", 2, true },
        { "move", 2, true },  { "not", 2, true },   { "hide", 1, true }, { "unhide", 1, true },
    };
    size_t a = 0;
    while (a < CLI_ARRAY_LEN(actions) && strcmp(actions[a].name, action))
        a++;
    if (a == CLI_ARRAY_LEN(actions))
        return cli_usage_error("people", "unknown action '%s'", action);
    if (nargs != actions[a].args)
        return cli_usage_error("people", "%s takes %d argument%s, got %d", action, actions[a].args,
                               actions[a].args == 1 ? "" : "s", nargs);
    int64_t id = 0, other = 0;
    char *rel = NULL;
    uint32_t face = 0;
    bool face_first = !strcmp(action, "move") || !strcmp(action, "not");
    if (face_first && (!parse_face(args[0], &rel, &face) || !parse_id(args[1], &id))) {
        free(rel);
        return EXIT_USAGE;
    }
    if (!face_first && nargs >= 1 && !parse_id(args[0], &id))
        return EXIT_USAGE;
    if (!strcmp(action, "merge") && !parse_id(args[1], &other))
        return EXIT_USAGE;

    struct pho_err err = PHO_ERR_INIT;
    struct pho_people_book *book = NULL;
    int rc = pho_people_open(&book, output, actions[a].change, &err);
    if (rc == 0) {
        if (!strcmp(action, "list"))
            rc = list(book, json, &err);
        else if (!strcmp(action, "show"))
            rc = show(book, id, json, &err);
        else if (!strcmp(action, "name"))
            rc = pho_people_name(book, id, args[1], &err);
        else if (!strcmp(action, "merge"))
            rc = pho_people_merge(book, id, other, &err);
        else if (!strcmp(action, "move"))
            rc = pho_people_move(book, rel, face, id, &err);
        else if (!strcmp(action, "not"))
            rc = pho_people_refuse(book, rel, face, id, &err);
        else
            rc = pho_people_hide(book, id, !strcmp(action, "hide"), &err);
    }
    pho_people_close(book);
    free(rel);
    if (rc) {
        cli_error("%s", err.msg);
        return rc == PHO_EBUSY ? EXIT_BUSY : EXIT_FAIL;
    }
    if (actions[a].change && !json)
        printf("%s: done; the next run keeps it\n", action);
    return EXIT_OK;
}
