/* SPDX-License-Identifier: MIT */
/*
 * `photo-organizer serve -o OUT`: the review viewer (docs/viewer.md) in a browser on this
 * machine. Prints the address to open (with its access token) and serves until Ctrl-C.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <getopt.h>

#include "cli.h"
#include "pho/serve.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s serve -o OUTPUT [OPTIONS]\n"
            "\n"
            "Serves the review viewer for an output folder: its groups, best shots, faces\n"
            "and people, in your browser. Prints the address to open, which carries a\n"
            "one-time access token; stops with Ctrl-C.\n"
            "\n"
            "Options:\n"
            "  -o, --output DIR     the output folder of an organize run\n"
            "      --port N         the port (default %d, or the next free one)\n"
            "      --listen ADDR    the address to listen on (default 127.0.0.1, this machine\n"
            "                       only); any other needs --allow-remote\n"
            "      --allow-remote   allow a --listen address other machines can reach (anyone\n"
            "                       who gets the printed address can see your photos)\n"
            "      --models-dir DIR face models folder, for making the result again after a\n"
            "                       decision in the viewer (setting a best shot)\n"
            "  -h, --help           show this help\n",
            cli_prog, PHO_SERVE_PORT);
}

/* The viewer's front end: $PHO_VIEWER_DIR, the source tree's (a build not installed), or the
 * installed copy. */
static const char *assets_dir(void)
{
    const char *env = getenv("PHO_VIEWER_DIR");
    if (env && *env)
        return env;
    struct stat st;
    if (stat(PHO_SOURCE_ROOT "/viewer/index.html", &st) == 0)
        return PHO_SOURCE_ROOT "/viewer";
    return PHO_DATADIR "/photo-organizer/viewer";
}

static bool loopback(const char *addr)
{
    return !strcmp(addr, "127.0.0.1") || !strcmp(addr, "::1") || !strncmp(addr, "127.", 4);
}

int cli_serve_run(const char *output, unsigned port, bool port_exact, const char *listen,
                  const char *models_dir)
{
    struct pho_serve_opts so = PHO_SERVE_OPTS_INIT;
    so.output = output;
    so.assets = assets_dir();
    so.listen = listen;
    so.port = port;
    so.port_exact = port_exact;
    so.models_dir = models_dir;
    /* Signals are taken synchronously: blocked here (the server's threads inherit the
     * mask), then waited for. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct pho_serve *srv = NULL;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_serve_start(&srv, &so, &err) < 0) {
        cli_error("%s", err.msg);
        return err.code == PHO_EBUSY ? EXIT_BUSY : EXIT_FAIL;
    }
    printf("Viewer for %s\nOpen %s\n(Ctrl-C stops it)\n", cli_shown(output), pho_serve_url(srv));
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    pho_serve_stop(srv);
    return EXIT_OK;
}

int cmd_serve(int argc, char **argv)
{
    enum { OPT_PORT = 256, OPT_LISTEN, OPT_REMOTE, OPT_MODELS };
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "port", required_argument, NULL, OPT_PORT },
        { "listen", required_argument, NULL, OPT_LISTEN },
        { "allow-remote", no_argument, NULL, OPT_REMOTE },
        { "models-dir", required_argument, NULL, OPT_MODELS },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *output = NULL, *listen = "127.0.0.1", *models = NULL;
    unsigned long long port = 0;
    bool remote = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case OPT_PORT:
            if (!cli_parse_uint("--port", optarg, 65535, &port) || port == 0)
                return cli_usage_error("serve", "--port takes 1..65535");
            break;
        case OPT_LISTEN:
            listen = optarg;
            break;
        case OPT_REMOTE:
            remote = true;
            break;
        case OPT_MODELS:
            models = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("serve", "unrecognised option");
        }
    }
    if (optind < argc)
        return cli_usage_error("serve", "unexpected argument '%s' (the folder comes with -o)",
                               argv[optind]);
    if (!output)
        return cli_usage_error("serve", "give the output folder to review with -o");
    if (!loopback(listen)) {
        if (!remote)
            return cli_usage_error("serve",
                                   "--listen %s can be reached from other machines: add "
                                   "--allow-remote if that is what you want",
                                   listen);
        cli_warn("serving on %s: anyone on your network who gets the printed address can see "
                 "these photos",
                 listen);
    }
    return cli_serve_run(output, (unsigned)port, port != 0, listen, models);
}
