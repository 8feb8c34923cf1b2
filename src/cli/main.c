/* SPDX-License-Identifier: MIT */
/*
 * photo-organizer: the command-line program. Dispatches to one command per
 * file (cmd_*.c); the library (libpho) does the work and never prints.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_command commands[] = {
    { "organize", cmd_organize, "group bursts and near-duplicates, pick the best shots (default)" },
    { "info", cmd_info, "show format, size, orientation, capture time, camera, exposure, GPS" },
    { "explain", cmd_explain, "say why two photos are, or are not, grouped" },
    { "faces", cmd_faces, "show the faces found in photos (eyes, smile, identity)" },
    { "people", cmd_people, "list, name, merge and correct the people found in a library" },
    { "fix-eyes", cmd_fix_eyes, "repair closed eyes in a photo from other takes of the scene" },
    { "serve", cmd_serve, "review groups, best shots and people in your browser" },
    { "worker", cmd_worker, "work on a shared catalog's queue for distributed runs" },
    { "decide", cmd_decide, "set a best shot by hand (kept by every later run), undo, list" },
    { "backends", cmd_backends, "list the face backends, their models and devices" },
    { "models", cmd_models, "list, install or verify the face models" },
    { "devices", cmd_devices, "list the CPU and CUDA GPUs the face models can run on" },
};

static void print_help(FILE *f)
{
    fprintf(f,
            "Usage: %s [organize] -s SOURCE -o OUTPUT [OPTIONS]\n"
            "       %s COMMAND [OPTIONS] [ARGS]\n"
            "\n"
            "Brings order to large photo libraries: groups bursts and near-duplicates,\n"
            "picks the best shot of each group and never touches the originals.\n"
            "\n"
            "Commands:\n",
            cli_prog, cli_prog);
    for (size_t i = 0; i < CLI_ARRAY_LEN(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n"
            "Global options:\n"
            "  -h, --help     show this help (or 'COMMAND --help' for a command)\n"
            "  -V, --version  show the version\n"
            "\n"
            "'%s organize --help' lists the organizer's options.\n"
            "See photo-organizer(1) for details.\n",
            cli_prog);
}

int main(int argc, char **argv)
{
    cli_log_init(1);
    if (argc < 2) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        print_help(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("photo-organizer %s\n", PHO_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < CLI_ARRAY_LEN(commands); i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    /* Like the original tool: options straight away mean "organize". */
    if (cmd[0] == '-')
        return cmd_organize(argc, argv);
    return cli_usage_error(NULL, "unknown command '%s'", cmd);
}
