/* SPDX-License-Identifier: MIT */
/*
 * A one-line progress bar on a terminal: stage, done/total, rate and ETA,
 * redrawn at most ten times a second. Messages printed while it is shown
 * clear the line first, so the bar never garbles them.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static bool bar_enabled;
static bool bar_shown;
static double last_draw;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void cli_progress_enable(bool on)
{
    bar_enabled = on && isatty(STDERR_FILENO);
}

/* Callers hold the CLI's output lock. */
void cli_progress_clear(void)
{
    if (bar_shown) {
        fputs("\r\033[K", stderr);
        bar_shown = false;
    }
}

/* Columns of the terminal now (it may have been resized); 80 when unknown. */
static int term_columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

void cli_progress_draw(const char *stage, size_t done, size_t total, double elapsed, bool force)
{
    if (!bar_enabled)
        return;
    double t = mono();
    if (!force && t - last_draw < 0.1)
        return;
    last_draw = t;
    /* The line must stay shorter than the terminal: a line that wraps can no
     * longer be erased with \r, and every redraw would add a line. The bar
     * shrinks first, then the text is cut. */
    int cols = term_columns();
    char line[160];
    if (total) {
        int width = cols >= 80 ? 30 : cols >= 60 ? 10 : 0;
        int fill = (int)((double)done / total * width);
        char bar[32];
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '.', (size_t)(width - fill));
        bar[width] = '\0';
        double rate = elapsed > 0 ? done / elapsed : 0;
        double eta = rate > 0 ? (total - done) / rate : 0;
        snprintf(line, sizeof(line), "%-8s%s%s%s %zu/%zu  %.1f/s  ETA %d:%02d", stage,
                 width ? " [" : "", bar, width ? "]" : "", done, total, rate, (int)eta / 60,
                 (int)eta % 60);
    } else {
        snprintf(line, sizeof(line), "%-8s ...", stage);
    }
    size_t max = cols > 1 ? (size_t)cols - 1 : 0;
    if (strlen(line) > max)
        line[max < sizeof(line) ? max : sizeof(line) - 1] = '\0';
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    bar_shown = true;
}
