/* SPDX-License-Identifier: MIT */
/* Forwards library diagnostics to the handler the program installed. */
#include "core/common.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

struct log_state {
    pho_log_fn fn;
    void *ud;
};

/* The handler is set once at startup; readers only need a consistent pair. */
static struct log_state log_state;
static atomic_int log_max_level = -1;

void pho_log_set_handler(pho_log_fn fn, void *ud, enum pho_log_level max_level)
{
    atomic_store(&log_max_level, -1);
    log_state.fn = fn;
    log_state.ud = ud;
    atomic_store(&log_max_level, fn ? (int)max_level : -1);
}

int pho_log_enabled(enum pho_log_level level)
{
    return (int)level <= atomic_load_explicit(&log_max_level, memory_order_acquire);
}

void pho_log(enum pho_log_level level, const char *domain, const char *fmt, ...)
{
    if (!pho_log_enabled(level))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pho_log_fn fn = log_state.fn;
    if (fn)
        fn(log_state.ud, level, domain, msg);
}
