/* SPDX-License-Identifier: MIT */
/**
 * @file error.h
 * Status codes and the caller-owned error detail used by every libpho call.
 *
 * Functions return 0 (PHO_OK) or a negative PHO_E* code. When they take a
 * `struct pho_err *err` (which may be NULL) they also write a lowercase,
 * human-readable message into it that starts with the module name:
 *
 *     struct pho_err err = PHO_ERR_INIT;
 *     if (pho_meta_read(&meta, path, &err) < 0)
 *         fprintf(stderr, "%s: %s\n", path, err.msg);
 *
 * The struct lives on the caller's stack: no thread-local state, no
 * allocation, safe to use from any number of worker threads.
 */
#ifndef PHO_ERROR_H
#define PHO_ERROR_H

#include <stddef.h>

#include "pho/common.h"

PHO_BEGIN_DECLS

/* X(name, value, description) */
#define PHO_ERRORS(X)                                    \
    X(OK, 0, "success")                                  \
    X(ENOMEM, -1, "out of memory")                       \
    X(EINVAL, -2, "invalid argument")                    \
    X(EIO, -3, "input/output error")                     \
    X(ECORRUPT, -4, "corrupt or truncated data")         \
    X(EUNSUPPORTED, -5, "unsupported format or feature") \
    X(ENOTFOUND, -6, "not found")                        \
    X(ELIMIT, -7, "limit exceeded")                      \
    X(EBACKEND, -8, "backend unavailable")               \
    X(EMODEL, -9, "model missing or invalid")            \
    X(EINFER, -10, "inference failed")                   \
    X(EDB, -11, "catalog error")                         \
    X(EEXIST, -12, "already exists")                     \
    X(EINTR, -13, "interrupted")                         \
    X(EBUSY, -14, "in use by another run")

enum pho_status {
#define PHO_ERR_ENUM_(name, value, text) PHO_##name = value,
    PHO_ERRORS(PHO_ERR_ENUM_)
#undef PHO_ERR_ENUM_
};

/** Size of the message buffer in struct pho_err, terminating NUL included. */
#define PHO_ERR_MSG_MAX 1024

/** Error detail filled by a failing call. `code` mirrors the return value. */
struct pho_err {
    int code;
    char msg[PHO_ERR_MSG_MAX];
    /** Where the reason starts in msg, past the leading module name ("face: "):
     *  set by pho_err_set(), read through pho_err_reason(). */
    unsigned short reason_at;
    /** The status of the underlying failure: code itself, or what a wrapper
     *  (pho_err_wrap) kept of it, e.g. PHO_EMODEL under PHO_EBACKEND. */
    int cause;
};

#define PHO_ERR_INIT   \
    {                  \
        0, { 0 }, 0, 0 \
    }

/**
 * Static description of a status code ("corrupt or truncated data").
 * @return a string that is never NULL; unknown codes give "unknown error".
 */
PHO_API const char *pho_strerror(int code);

/** Symbolic name of a status code ("ECORRUPT"), or "E?" when unknown. */
PHO_API const char *pho_status_name(int code);

/**
 * Records a failure in @p err (when not NULL) and returns @p code, so a
 * failure site reads `return pho_err_set(err, PHO_EIO, "scan: %s", why);`.
 * The message is truncated to fit; it never allocates.
 */
PHO_API int pho_err_set(struct pho_err *err, int code, const char *fmt, ...) PHO_PRINTF(3, 4);

/**
 * The message without its leading module name: "the mediapipe backend needs
 * ..." for "face: the mediapipe backend needs ...", for a caller whose own
 * message already names the module. Never NULL ("" for a NULL @p err).
 */
PHO_API const char *pho_err_reason(const struct pho_err *err);

/**
 * Records in @p err a failure of status @p code whose reason is @p inner
 * (message copied, inner's cause kept), and returns @p code: for a module
 * whose contract names one status but whose callers may decide on the cause.
 */
PHO_API int pho_err_wrap(struct pho_err *err, int code, const struct pho_err *inner);

/** Resets @p err to "no error". NULL is a no-op. */
PHO_API void pho_err_clear(struct pho_err *err);

PHO_END_DECLS

#endif /* PHO_ERROR_H */
