/* SPDX-License-Identifier: MIT */
/*
 * The subset of OpenCV's FileStorage YAML that the BRISQUE model and range
 * files use (opencv-data's brisque_*_live.yml): a header, nested blocks by
 * indentation, keys, numbers and number sequences. A reader, not a YAML
 * library: anything outside the subset is a clear error with its line.
 * Fuzzed by fuzz/fuzz_brisque_yaml.c.
 */
#include "core/common.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "quality/yml.h"

int pho_yml__bad(struct yml *y, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return pho_err_set(y->err, PHO_ECORRUPT, "brisque: %s:%u: %s", y->path, y->line, what);
}

void pho_yml__skip_spaces(struct yml *y)
{
    while (*y->p == ' ')
        y->p++;
}

/* Blanks, line breaks included: flow sequences may span lines. */
static void pho_yml__skip_blanks(struct yml *y)
{
    for (;;) {
        if (*y->p == ' ' || *y->p == '\r') {
            y->p++;
        } else if (*y->p == '\n') {
            y->p++;
            y->line++;
        } else {
            return;
        }
    }
}

int pho_yml__end_line(struct yml *y)
{
    pho_yml__skip_spaces(y);
    if (*y->p == '\r')
        y->p++;
    if (*y->p == '\n') {
        y->p++;
        y->line++;
        return 0;
    }
    if (*y->p == '\0')
        return 0;
    return pho_yml__bad(y, "unexpected '%c' at end of line", *y->p);
}

/* Indentation of the next non-empty line (the cursor stays at its start), -1 at the end. */
int pho_yml__peek_indent(struct yml *y)
{
    for (;;) {
        const char *q = y->p;
        while (*q == ' ')
            q++;
        if (*q == '\r')
            q++;
        if (*q == '\n') {
            y->p = q + 1;
            y->line++;
            continue;
        }
        if (*q == '\0')
            return -1;
        return (int)PHO_MIN(q - y->p, 1000);
    }
}

static bool pho_yml__is_word_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

int pho_yml__read_word(struct yml *y, char *buf, size_t size)
{
    size_t n = 0;
    if (!pho_yml__is_word_char(*y->p, true))
        return pho_yml__bad(y, "expected a name");
    while (pho_yml__is_word_char(*y->p, false)) {
        if (n + 1 >= size)
            return pho_yml__bad(y, "name too long");
        buf[n++] = *y->p++;
    }
    buf[n] = '\0';
    return 0;
}

int pho_yml__read_key(struct yml *y, char *buf, size_t size)
{
    int rc = pho_yml__read_word(y, buf, size);
    if (rc)
        return rc;
    if (*y->p != ':')
        return pho_yml__bad(y, "expected ':' after '%s'", buf);
    y->p++;
    return 0;
}

static bool pho_yml__is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A decimal number as FileStorage writes it ("1024.", "-1.25e-02"), checked
 * character by character before the locale-independent conversion. */
int pho_yml__read_num(struct yml *y, double *out)
{
    const char *s = y->p, *q = s;
    size_t digits = 0;
    if (*q == '+' || *q == '-')
        q++;
    for (; pho_yml__is_digit(*q); q++)
        digits++;
    if (*q == '.')
        for (q++; pho_yml__is_digit(*q); q++)
            digits++;
    if (!digits)
        return pho_yml__bad(y, "expected a number");
    if (*q == 'e' || *q == 'E') {
        q++;
        if (*q == '+' || *q == '-')
            q++;
        if (!pho_yml__is_digit(*q))
            return pho_yml__bad(y, "bad exponent");
        while (pho_yml__is_digit(*q))
            q++;
    }
    char tok[64];
    size_t len = (size_t)(q - s);
    if (len >= sizeof(tok))
        return pho_yml__bad(y, "number too long");
    memcpy(tok, s, len);
    tok[len] = '\0';
    char *end = NULL;
    double v = g_ascii_strtod(tok, &end);
    if (end != tok + len || !isfinite(v))
        return pho_yml__bad(y, "bad number '%s'", tok);
    *out = v;
    y->p = q;
    return 0;
}

int pho_yml__read_count(struct yml *y, size_t *out, size_t min, size_t max)
{
    double v;
    int rc = pho_yml__read_num(y, &v);
    if (rc)
        return rc;
    if (v != floor(v) || v < (double)min || v > (double)max)
        return pho_yml__bad(y, "count %g outside %zu..%zu", v, min, max);
    *out = (size_t)v;
    return 0;
}

/* "[ v, v, ... ]" holding exactly @n numbers, into floats or doubles. */
int pho_yml__read_seq(struct yml *y, float *f, double *d, size_t n)
{
    size_t i = 0;
    if (*y->p != '[')
        return pho_yml__bad(y, "expected '['");
    y->p++;
    pho_yml__skip_blanks(y);
    if (*y->p == ']')
        return n ? pho_yml__bad(y, "empty sequence, expected %zu values", n) : (y->p++, 0);
    for (;;) {
        double v;
        int rc = pho_yml__read_num(y, &v);
        if (rc)
            return rc;
        if (i >= n)
            return pho_yml__bad(y, "more than the %zu values expected", n);
        if (f) {
            if (fabs(v) > 1e30)
                return pho_yml__bad(y, "value %g out of range", v);
            f[i] = (float)v;
        } else {
            d[i] = v;
        }
        i++;
        pho_yml__skip_blanks(y);
        if (*y->p == ']') {
            y->p++;
            break;
        }
        if (*y->p != ',')
            return pho_yml__bad(y, "expected ',' or ']'");
        y->p++;
        pho_yml__skip_blanks(y);
    }
    if (i != n)
        return pho_yml__bad(y, "%zu values where %zu were expected", i, n);
    return 0;
}

int pho_yml__expect_text(struct yml *y, const char *text)
{
    size_t n = strlen(text);
    if (strncmp(y->p, text, n))
        return pho_yml__bad(y, "expected '%s'", text);
    y->p += n;
    return 0;
}

int pho_yml__read_header(struct yml *y)
{
    int rc = pho_yml__expect_text(y, "%YAML:1.0");
    if (!rc)
        rc = pho_yml__end_line(y);
    if (!rc)
        rc = pho_yml__expect_text(y, "---");
    if (!rc)
        rc = pho_yml__end_line(y);
    return rc;
}

/*
 * Enters the next line of a block mapping whose parent sits at @parent.
 * Returns 1 with the cursor on the key, 0 when the block has ended, or an error.
 * *indent is the block's indentation, fixed by its first line.
 */
int pho_yml__block_line(struct yml *y, int parent, int *indent)
{
    int ind = pho_yml__peek_indent(y);
    if (ind <= parent)
        return 0;
    if (*indent < 0)
        *indent = ind;
    if (ind != *indent)
        return pho_yml__bad(y, "unexpected indentation");
    y->p += ind;
    return 1;
}

/* Each key once; @seen holds one bit per known key. */
int pho_yml__mark_seen(struct yml *y, unsigned *seen, unsigned bit, const char *key)
{
    if (*seen & bit)
        return pho_yml__bad(y, "'%s' given twice", key);
    *seen |= bit;
    return 0;
}

/* "{ epsilon:1e-3, iterations:1000 }": training settings, read to be sure they are sound. */
