/* SPDX-License-Identifier: MIT */
/*
 * First include of every libpho source file: feature macros that must come
 * before any system header, the public error/log API, and the allocation
 * helpers. Keeping it first makes the POSIX level identical everywhere.
 */
#ifndef PHO_CORE_COMMON_H
#define PHO_CORE_COMMON_H

#ifndef _GNU_SOURCE
#    define _GNU_SOURCE 1
#endif
#ifndef _FILE_OFFSET_BITS
#    define _FILE_OFFSET_BITS 64
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "pho/error.h"
#include "pho/log.h"
#include "pho/text.h"

#define PHO_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PHO_MIN(a, b)    ((a) < (b) ? (a) : (b))
#define PHO_MAX(a, b)    ((a) > (b) ? (a) : (b))
#define PHO_UNUSED(x)    ((void)(x))

/* Internal invariants only, never input validation; on in every build we ship tests for. */
#define PHO_ASSERT(cond)                                  \
    do {                                                  \
        if (!(cond))                                      \
            pho_assert_fail__(#cond, __FILE__, __LINE__); \
    } while (0)

void pho_assert_fail__(const char *expr, const char *file, int line) __attribute__((noreturn));

#define PHO_LOG_DEBUG(domain, ...)                       \
    do {                                                 \
        if (pho_log_enabled(PHO_LOG_DEBUG))              \
            pho_log(PHO_LOG_DEBUG, domain, __VA_ARGS__); \
    } while (0)

#endif /* PHO_CORE_COMMON_H */
