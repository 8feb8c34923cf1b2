/* SPDX-License-Identifier: MIT */
/* `photo-organizer worker`: works on a shared catalog's queue (docs/scale-out.md). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <getopt.h>

#include "cli.h"
#include "pho/catalog.h"
#include "pho/organize.h"

static atomic_int worker_cancel;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s worker --catalog DB [OPTIONS]\n"
            "\n"
            "Works on the photos a distributed run ('%s -s SOURCE -o OUTPUT --catalog DB\n"
            "--distributed') queued in the shared catalog DB: claims a batch, analyses the\n"
            "photos (hashes, quality, faces) with that run's settings, records the results,\n"
            "and claims the next, until stopped. Start as many as you like, on any machine\n"
            "that reaches the database and the photos. A worker that dies loses nothing: its\n"
            "claims expire and other workers take them over (docs/scale-out.md).\n"
            "\n"
            "Options:\n"
            "      --catalog DB        the shared catalog: postgresql://user@host/db, or\n"
            "                          \"host=... dbname=...\" (libpq's forms; a password is\n"
            "                          best kept in ~/.pgpass)\n"
            "      --path-map FROM=TO  the run's source folder FROM is TO on this machine\n"
            "                          (repeatable; default: the same path)\n"
            "      --models-dir DIR    this machine's face models folder (default: the run's)\n"
            "      --gpu               run the face models on this machine's CUDA GPU\n"
            "      --gpu-device N      which GPU (default 0)\n"
            "      --cpu               run them on the CPU, whatever the run chose\n"
            "      --threads N         photos at a time (default: one per CPU)\n"
            "      --batch N           jobs per claim (default: 8 per thread)\n"
            "      --lease SECONDS     how long a claim lasts without a heartbeat (default 60)\n"
            "      --name NAME         this worker in the queue (default: host:pid)\n"
            "      --exit-when-idle    stop once nothing has been queued for 5 seconds\n"
            "  -v, --verbose           say more\n"
            "  -q, --quiet             only errors\n"
            "  -h, --help              show this help\n"
            "\n"
            "Exit status: 0 when stopped (a signal, or idle with --exit-when-idle), 1 when\n"
            "the catalog failed, 2 on a usage error.\n",
            cli_prog, cli_prog);
}

int cmd_worker(int argc, char **argv)
{
    enum {
        OPT_CATALOG = 256,
        OPT_PATH_MAP,
        OPT_MODELS_DIR,
        OPT_GPU,
        OPT_GPU_DEVICE,
        OPT_CPU,
        OPT_THREADS,
        OPT_BATCH,
        OPT_LEASE,
        OPT_NAME,
        OPT_IDLE,
    };
    static const struct option longopts[] = {
        { "catalog", required_argument, NULL, OPT_CATALOG },
        { "path-map", required_argument, NULL, OPT_PATH_MAP },
        { "models-dir", required_argument, NULL, OPT_MODELS_DIR },
        { "gpu", no_argument, NULL, OPT_GPU },
        { "gpu-device", required_argument, NULL, OPT_GPU_DEVICE },
        { "cpu", no_argument, NULL, OPT_CPU },
        { "threads", required_argument, NULL, OPT_THREADS },
        { "batch", required_argument, NULL, OPT_BATCH },
        { "lease", required_argument, NULL, OPT_LEASE },
        { "name", required_argument, NULL, OPT_NAME },
        { "exit-when-idle", no_argument, NULL, OPT_IDLE },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct pho_worker_opts o = PHO_WORKER_OPTS_INIT;
    const char *maps[64];
    size_t nmaps = 0;
    int verbosity = 1, c;
    unsigned long long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_CATALOG:
            if (!pho_catalog_is_url(optarg))
                return cli_usage_error("worker", "--catalog takes a PostgreSQL database: "
                                                 "postgresql://user@host/db or \"host=... "
                                                 "dbname=...\"");
            o.catalog = optarg;
            break;
        case OPT_PATH_MAP:
            if (!strchr(optarg, '=') || optarg[0] != '/' || strchr(optarg, '=')[1] != '/')
                return cli_usage_error("worker", "--path-map takes /FROM=/TO, got '%s'",
                                       cli_shown(optarg));
            if (nmaps == CLI_ARRAY_LEN(maps))
                return cli_usage_error("worker", "at most %zu --path-map", CLI_ARRAY_LEN(maps));
            maps[nmaps++] = optarg;
            break;
        case OPT_MODELS_DIR:
            o.models_dir = optarg;
            break;
        case OPT_GPU:
            o.gpu_set = o.gpu = true;
            break;
        case OPT_GPU_DEVICE:
            if (!cli_parse_gpu_device(optarg, &o.gpu, &o.gpu_device))
                return EXIT_USAGE;
            o.gpu_set = true;
            break;
        case OPT_CPU:
            o.gpu_set = true;
            o.gpu = false;
            break;
        case OPT_THREADS:
            if (!cli_parse_uint("--threads", optarg, 1024, &v) || v == 0)
                return cli_usage_error("worker", "--threads takes 1..1024");
            o.threads = (unsigned)v;
            break;
        case OPT_BATCH:
            if (!cli_parse_uint("--batch", optarg, 100000, &v) || v == 0)
                return cli_usage_error("worker", "--batch takes 1..100000");
            o.batch = (size_t)v;
            break;
        case OPT_LEASE:
            if (!cli_parse_uint("--lease", optarg, 86400, &v) || v < 3)
                return cli_usage_error("worker", "--lease takes 3..86400 seconds");
            o.lease_s = (int)v;
            break;
        case OPT_NAME:
            o.name = optarg;
            break;
        case OPT_IDLE:
            o.exit_when_idle = true;
            break;
        case 'v':
            verbosity = 2;
            break;
        case 'q':
            verbosity = 0;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("worker", "unrecognised option");
        }
    }
    if (optind < argc)
        return cli_usage_error("worker", "unexpected argument '%s'", cli_shown(argv[optind]));
    if (!o.catalog)
        return cli_usage_error("worker", "give the shared catalog with --catalog");
    cli_log_init(verbosity);
    o.path_map = maps;
    o.npath_map = nmaps;
    o.cancel = &worker_cancel;
    /* The first signal finishes the photos in hand and hands the rest of the batch back; a
     * second stops at once (the lease then hands the batch back to the queue). */
    cli_stop_on_signals(&worker_cancel, false);
    struct pho_worker_stats stats;
    struct pho_err err = PHO_ERR_INIT;
    if (verbosity > 0)
        fprintf(stderr, "worker: waiting for work%s\n",
                o.exit_when_idle ? " (stops when idle)" : "; Ctrl-C stops");
    int rc = pho_worker_run(&stats, &o, &err);
    if (verbosity > 0)
        fprintf(stderr, "worker: %zu jobs done in %.1f s\n", stats.done, stats.seconds);
    if (rc < 0 && rc != PHO_EINTR) {
        cli_error("%s", err.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
