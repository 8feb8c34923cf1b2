/* SPDX-License-Identifier: MIT */
/* Status-code table and the caller-owned error detail. */
#include "core/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *pho_strerror(int code)
{
    switch (code) {
#define PHO_ERR_TEXT_(name, value, text) \
    case value:                          \
        return text;
        PHO_ERRORS(PHO_ERR_TEXT_)
#undef PHO_ERR_TEXT_
    }
    return "unknown error";
}

const char *pho_status_name(int code)
{
    switch (code) {
#define PHO_ERR_NAME_(name, value, text) \
    case value:                          \
        return #name;
        PHO_ERRORS(PHO_ERR_NAME_)
#undef PHO_ERR_NAME_
    }
    return "E?";
}

int pho_err_set(struct pho_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        if (n < 0)
            pho_strlcpy(err->msg, pho_strerror(code), sizeof(err->msg));
        /* Every message starts with its module's name (error.h): note where
         * the reason starts, once, so that no caller has to cut text. */
        size_t i = 0;
        while (i < 24 && ((err->msg[i] >= 'a' && err->msg[i] <= 'z') || err->msg[i] == '_' ||
                          (i > 0 && err->msg[i] >= '0' && err->msg[i] <= '9')))
            i++;
        err->cause = code;
        err->reason_at =
                (unsigned short)(i > 0 && err->msg[i] == ':' && err->msg[i + 1] == ' ' ? i + 2 : 0);
    }
    return code;
}

int pho_err_wrap(struct pho_err *err, int code, const struct pho_err *inner)
{
    if (err && inner && err != inner)
        *err = *inner;
    if (err)
        err->code = code;
    return code;
}

const char *pho_err_reason(const struct pho_err *err)
{
    if (!err)
        return "";
    return err->reason_at < sizeof(err->msg) ? err->msg + err->reason_at : err->msg;
}

void pho_err_clear(struct pho_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
        err->reason_at = 0;
        err->cause = 0;
    }
}

size_t pho_strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

void pho_assert_fail__(const char *expr, const char *file, int line)
{
    pho_log(PHO_LOG_ERROR, "assert", "%s:%d: internal invariant failed: %s", file, line, expr);
    abort();
}
