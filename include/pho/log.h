/* SPDX-License-Identifier: MIT */
/**
 * @file log.h
 * Diagnostics from inside the library. libpho never prints: it hands each
 * message to a handler the program installs (the CLI writes to stderr).
 * Without a handler messages are dropped.
 */
#ifndef PHO_LOG_H
#define PHO_LOG_H

#include "pho/common.h"

PHO_BEGIN_DECLS

enum pho_log_level {
    PHO_LOG_ERROR = 0,
    PHO_LOG_WARN = 1,
    PHO_LOG_INFO = 2,
    PHO_LOG_DEBUG = 3,
    PHO_LOG_TRACE = 4,
};

/**
 * Receives one message. @p domain is the module ("image", "scan"). Called
 * from whichever thread logged; the handler must be thread-safe.
 */
typedef void (*pho_log_fn)(void *ud, enum pho_log_level level, const char *domain, const char *msg);

/** Installs @p fn (NULL removes it) and the most verbose level passed to it. */
PHO_API void pho_log_set_handler(pho_log_fn fn, void *ud, enum pho_log_level max_level);

/** True when a message at @p level would reach the handler. */
PHO_API int pho_log_enabled(enum pho_log_level level);

/** Formats and forwards a message; cheap when the level is disabled. */
PHO_API void pho_log(enum pho_log_level level, const char *domain, const char *fmt, ...)
        PHO_PRINTF(3, 4);

PHO_END_DECLS

#endif /* PHO_LOG_H */
