/* SPDX-License-Identifier: MIT */
/**
 * @file json.h
 * Typed JSON object building over jansson, for the library and the program.
 * Header-only and optional: include it only where jansson is at hand; it
 * uses nothing of libpho but the public pho_text_json_path() and pho_free().
 *
 * jansson's packing call trusts its format string: a missing key, or an "i" given a
 * size_t or a json_int_t, makes it read the wrong variadic argument, which
 * crashed `faces --identity --json` inside jansson. These setters take C
 * types, so the compiler checks every value; tests/lint.sh bans that call in
 * src/. They ignore a NULL object (an allocation that failed upstream, which
 * the dump then reports), give JSON null for a NULL string or a string
 * jansson refuses, and null for a number that is not finite.
 */
#ifndef PHO_JSON_H
#define PHO_JSON_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "pho/common.h"
#include "pho/text.h"

/* A file path or name, losslessly (pho/text.h): backslashes doubled, bytes
 * that are not UTF-8 as \xNN. JSON null for NULL. */
static inline json_t *pho_json_path(const char *s)
{
    if (!s)
        return json_null();
    char *e = pho_text_json_path(s);
    json_t *j = e ? json_string(e) : NULL;
    pho_free(e);
    return j ? j : json_null();
}

/* Text; text that is not UTF-8 (a message quoting such a name) is escaped
 * like a path rather than lost. */
static inline json_t *pho_json_str(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    return j ? j : s ? pho_json_path(s) : json_null();
}

static inline void pho_json_set_path(json_t *o, const char *key, const char *v);

static inline json_t *pho_json_real(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* Sets @key to @v, taking the reference; drops @v when @o is NULL. */
static inline void pho_json_set(json_t *o, const char *key, json_t *v)
{
    if (o && v)
        json_object_set_new(o, key, v);
    else
        json_decref(v);
}

static inline void pho_json_set_str(json_t *o, const char *key, const char *v)
{
    pho_json_set(o, key, pho_json_str(v));
}

static inline void pho_json_set_path(json_t *o, const char *key, const char *v)
{
    pho_json_set(o, key, pho_json_path(v));
}

static inline void pho_json_set_int(json_t *o, const char *key, long long v)
{
    pho_json_set(o, key, json_integer(v));
}

static inline void pho_json_set_real(json_t *o, const char *key, double v)
{
    pho_json_set(o, key, pho_json_real(v));
}

static inline void pho_json_set_bool(json_t *o, const char *key, bool v)
{
    pho_json_set(o, key, json_boolean(v));
}

/* [v0, v1, ...] of @n numbers. */
static inline json_t *pho_json_reals(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, pho_json_real(v[i]));
    return a;
}

static inline json_t *pho_json_ints(const long long *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_integer(v[i]));
    return a;
}

#endif
