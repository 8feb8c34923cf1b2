/* SPDX-License-Identifier: MIT */
/**
 * @file text.h
 * File names shown to people, and bounded string copies.
 *
 * A file name may hold any byte but '/' and NUL: a newline forges a second
 * message line, ESC drives the terminal, and bytes that are not UTF-8 break
 * JSON. Everything that puts a name on a terminal or into a text file passes
 * it through here; JSON paths too (docs/report.md states the rule).
 */
#ifndef PHO_TEXT_H
#define PHO_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "pho/common.h"

PHO_BEGIN_DECLS

/** Copies at most size-1 bytes and always terminates; returns strlen(src).
 *  (strcpy, strcat, sprintf, strtok, atoi, gmtime and localtime are banned in
 *  src/; tests/lint.sh enforces it.) */
PHO_API size_t pho_strlcpy(char *dst, const char *src, size_t size);

/* For a terminal or a text file: control characters (C0, DEL and C1) and
 * bytes that are not part of valid UTF-8 become \xNN; everything else is
 * kept. Writes at most @size bytes with the NUL (cut at a whole character).
 * Returns @dst. */
PHO_API char *pho_text_shown(char *dst, size_t size, const char *src);

/* Lossless, for JSON: each backslash becomes \\ and each byte that is not
 * part of valid UTF-8 becomes \xNN; valid UTF-8 (control characters
 * included, which JSON escapes itself) is kept. Caller frees with pho_free(); NULL on OOM. */
PHO_API char *pho_text_json_path(const char *src);

/* The bytes pho_text_json_path() wrote @src for: NULL when @src is not such a text (a lone
 * backslash, a bad \x escape, an escape of a NUL byte) or on OOM. Caller frees with
 * pho_free(). */
PHO_API char *pho_text_json_path_decode(const char *src);

/* True when @s is valid UTF-8. */
PHO_API bool pho_text_is_utf8(const char *s);

PHO_END_DECLS

#endif
