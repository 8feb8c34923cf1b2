/* SPDX-License-Identifier: MIT */
/* Diagnostics and small parsing helpers shared by the commands. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pho/text.h"

const char *cli_prog = "photo-organizer";
int cli_verbosity = 1;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void cli_progress_update(const char *stage, size_t done, size_t total, double elapsed, bool force)
{
    pthread_mutex_lock(&log_lock);
    cli_progress_draw(stage, done, total, elapsed, force);
    pthread_mutex_unlock(&log_lock);
}

void cli_locked_print(void (*fn)(void *ud), void *ud)
{
    pthread_mutex_lock(&log_lock);
    cli_progress_clear();
    fn(ud);
    pthread_mutex_unlock(&log_lock);
}

static void log_to_stderr(void *ud, enum pho_log_level level, const char *domain, const char *msg)
{
    static const char *const names[] = { "error", "warning", "info", "debug", "trace" };
    (void)ud;
    char shown[4096];
    pho_text_shown(shown, sizeof(shown), msg); /* a file name must not forge lines */
    pthread_mutex_lock(&log_lock);
    cli_progress_clear();
    fprintf(stderr, "%s: %s: %s%s%s\n", cli_prog, names[level], domain ? domain : "",
            domain ? ": " : "", shown);
    pthread_mutex_unlock(&log_lock);
}

static atomic_int *stop_flag;

/* A second signal stops at once; what the first asked for is safe either way. */
static void on_stop_signal(int sig)
{
    if (atomic_exchange(stop_flag, 1))
        signal(sig, SIG_DFL);
}

void cli_stop_on_signals(atomic_int *flag, bool hangup)
{
    stop_flag = flag;
    struct sigaction sa = { .sa_handler = on_stop_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (hangup)
        sigaction(SIGHUP, &sa, NULL);
}

void cli_log_init(int verbosity)
{
    cli_verbosity = verbosity;
    enum pho_log_level max = verbosity <= 0   ? PHO_LOG_ERROR
                             : verbosity == 1 ? PHO_LOG_WARN
                             : verbosity == 2 ? PHO_LOG_INFO
                                              : PHO_LOG_DEBUG;
    pho_log_set_handler(log_to_stderr, NULL, max);
}

static void vreport(const char *kind, const char *fmt, va_list ap)
{
    char msg[2048], shown[8192];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* One message, one line: names with a newline or ESC are shown escaped. */
    pho_text_shown(shown, sizeof(shown), msg);
    pthread_mutex_lock(&log_lock);
    cli_progress_clear();
    fprintf(stderr, "%s: %s%s\n", cli_prog, kind, shown);
    pthread_mutex_unlock(&log_lock);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("", fmt, ap);
    va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
    if (cli_verbosity <= 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vreport("warning: ", fmt, ap);
    va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("", fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s%s%s --help' for more information.\n", cli_prog, cmd ? " " : "",
            cmd ? cmd : "");
    return EXIT_USAGE;
}

bool cli_parse_uint(const char *opt, const char *s, unsigned long long max, unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    if (!s || !*s || *s == '-') {
        cli_error("%s needs a non-negative whole number, got '%s'", opt, s ? s : "");
        return false;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max) {
        cli_error("%s needs a whole number from 0 to %llu, got '%s'", opt, max, s);
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_gpu_device(const char *s, bool *gpu, int *device)
{
    unsigned long long v;
    if (!cli_parse_uint("--gpu-device", s, 64, &v))
        return false;
    *gpu = true;
    *device = (int)v;
    return true;
}

const char *cli_shown(const char *s)
{
    static _Thread_local char ring[4][4096 * 4 + 1];
    static _Thread_local unsigned next;
    char *b = ring[next++ % 4];
    return pho_text_shown(b, sizeof(ring[0]), s);
}

void cli_format_exposure(char *buf, size_t size, double t)
{
    if (t > 0 && t < 0.5) {
        double inv = 1.0 / t;
        snprintf(buf, size, "1/%.0f", inv);
    } else {
        snprintf(buf, size, "%.3g", t);
    }
}
