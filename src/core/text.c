/* SPDX-License-Identifier: MIT */
#include "core/common.h"

#include <stdio.h>
#include <string.h>

#include "pho/text.h"

/* Length of the valid UTF-8 sequence at @s (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    unsigned cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0; /* overlong, out of range, or a surrogate */
    return n;
}

bool pho_text_is_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = utf8_len(p);
        if (!n)
            return false;
        p += n;
    }
    return true;
}

/* Appends @n bytes if they fit whole (with room for the NUL). */
static bool put(char *dst, size_t size, size_t *len, const char *s, size_t n)
{
    if (*len + n + 1 > size)
        return false;
    memcpy(dst + *len, s, n);
    *len += n;
    dst[*len] = '\0';
    return true;
}

char *pho_text_shown(char *dst, size_t size, const char *src)
{
    size_t len = 0;
    if (!size)
        return dst;
    dst[0] = '\0';
    const unsigned char *p = (const unsigned char *)(src ? src : "");
    while (*p) {
        size_t n = utf8_len(p);
        /* C1 controls are U+0080..U+009F: 0xC2 0x80..0x9F. */
        bool control = n == 1 ? (*p < 0x20 || *p == 0x7F) : (n == 2 && p[0] == 0xC2 && p[1] < 0xA0);
        bool ok;
        if (n && !control) {
            ok = put(dst, size, &len, (const char *)p, n);
        } else {
            size_t bytes = n ? n : 1;
            char esc[16] = "";
            for (size_t i = 0; i < bytes; i++)
                snprintf(esc + 4 * i, sizeof(esc) - 4 * i, "\\x%02x", p[i]);
            ok = put(dst, size, &len, esc, 4 * bytes);
            n = bytes;
        }
        if (!ok)
            break;
        p += n;
    }
    return dst;
}

char *pho_text_json_path(const char *src)
{
    size_t cap = 4 * strlen(src) + 1;
    char *out = pho_malloc(cap);
    if (!out)
        return NULL;
    size_t len = 0;
    const unsigned char *p = (const unsigned char *)src;
    while (*p) {
        size_t n = utf8_len(p);
        if (*p == '\\') {
            out[len++] = '\\';
            out[len++] = '\\';
            p++;
        } else if (n) {
            memcpy(out + len, p, n);
            len += n;
            p += n;
        } else {
            snprintf(out + len, cap - len, "\\x%02x", *p);
            len += 4;
            p++;
        }
    }
    out[len] = '\0';
    return out;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *pho_text_json_path_decode(const char *src)
{
    char *out = pho_malloc(strlen(src) + 1);
    if (!out)
        return NULL;
    size_t len = 0;
    for (const char *p = src; *p;) {
        if (*p != '\\') {
            out[len++] = *p++;
            continue;
        }
        if (p[1] == '\\') {
            out[len++] = '\\';
            p += 2;
            continue;
        }
        int hi = p[1] == 'x' ? hex_digit(p[2]) : -1, lo = hi >= 0 ? hex_digit(p[3]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            pho_free(out);
            return NULL;
        }
        out[len++] = (char)(hi * 16 + lo);
        p += 4;
    }
    out[len] = '\0';
    return out;
}
