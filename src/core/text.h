/* SPDX-License-Identifier: MIT */
/*
 * Private to libpho and the program: file names shown to people.
 *
 * A file name may hold any byte but '/' and NUL: a newline forges a second
 * message line, ESC drives the terminal, and bytes that are not UTF-8 break
 * JSON. Everything that puts a name on a terminal or into a text file passes
 * it through here; JSON paths too (docs/report.md states the rule).
 */
#ifndef PHO_CORE_TEXT_H
#define PHO_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* For a terminal or a text file: control characters (C0, DEL and C1) and
 * bytes that are not part of valid UTF-8 become \xNN; everything else is
 * kept. Writes at most @size bytes with the NUL (cut at a whole character).
 * Returns @dst. */
char *pho_text__shown(char *dst, size_t size, const char *src);

/* Lossless, for JSON: each backslash becomes \\ and each byte that is not
 * part of valid UTF-8 becomes \xNN; valid UTF-8 (control characters
 * included, which JSON escapes itself) is kept. Caller frees; NULL on OOM. */
char *pho_text__json_path(const char *src);

/* True when @s is valid UTF-8. */
bool pho_text__is_utf8(const char *s);

#endif
