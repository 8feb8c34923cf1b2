/* SPDX-License-Identifier: MIT */
/* Shared by the photo-organizer command implementations (src/cli only). */
#ifndef PHO_CLI_H
#define PHO_CLI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The program uses the library's public API only (include/pho). */
#include "pho/common.h"
#include "pho/error.h"
#include "pho/log.h"
#include "pho/text.h"

#define CLI_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Exit codes: 0 ok, 1 some file or step failed, 2 usage error. */
/* 3: another run holds the output folder (organize --wait waits instead). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_BUSY = 3 };

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

extern const char *cli_prog;
extern int cli_verbosity; /* 0 quiet, 1 normal, 2 verbose, 3 debug */

void cli_log_init(int verbosity);
void cli_error(const char *fmt, ...) PHO_PRINTF(1, 2);
void cli_warn(const char *fmt, ...) PHO_PRINTF(1, 2);
int cli_usage_error(const char *cmd, const char *fmt, ...) PHO_PRINTF(2, 3);

/* SIGINT and SIGTERM (and SIGHUP with @hangup) set *@flag: the library stops at its next
 * safe point; a second signal stops the program at once. */
void cli_stop_on_signals(atomic_int *flag, bool hangup);

/* Strict number parsing for options; false (and a message) when invalid. */
bool cli_parse_uint(const char *opt, const char *s, unsigned long long max,
                    unsigned long long *out);

/* --gpu-device N: sets *device and turns the GPU on; false (and a message) when invalid. */
bool cli_parse_gpu_device(const char *s, bool *gpu, int *device);

/* @s fit for a terminal or a text line: control characters and bytes that
 * are not UTF-8 as \xNN (pho/text.h). Valid until the 4th next call in
 * this thread. */
const char *cli_shown(const char *s);

/* "1/250", "0.5", "2" for an exposure time in seconds. */
void cli_format_exposure(char *buf, size_t size, double seconds);

/* Progress bar on stderr when it is a terminal (progress.c). */
void cli_progress_enable(bool on);
void cli_progress_draw(const char *stage, size_t done, size_t total, double elapsed, bool force);
void cli_progress_clear(void);
/* Thread-safe redraw (takes the output lock). */
void cli_progress_update(const char *stage, size_t done, size_t total, double elapsed, bool force);
/* Runs fn with the output lock held and the progress bar cleared. */
void cli_locked_print(void (*fn)(void *ud), void *ud);

int cmd_info(int argc, char **argv);
int cmd_organize(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_faces(int argc, char **argv);
int cmd_backends(int argc, char **argv);
int cmd_people(int argc, char **argv);
int cmd_fix_eyes(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_decide(int argc, char **argv);
int cmd_worker(int argc, char **argv);
/* Serves the viewer for @output until a signal (cmd_serve.c; also organize --web-viewer). */
int cli_serve_run(const char *output, unsigned port, bool port_exact, const char *listen,
                  const char *models_dir);

#endif /* PHO_CLI_H */
