/* SPDX-License-Identifier: MIT */
/*
 * Capture-time arithmetic. EXIF dates are wall-clock readings without a zone,
 * so they are kept as "seconds of that wall clock" and only converted to UTC
 * when an OffsetTime tag says how.
 */
#include "core/common.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pho/exif.h"

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int read_digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v;
}

int pho_time_parse_exif(int64_t *out_local, const char *s)
{
    static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (!s)
        return PHO_ECORRUPT;
    while (*s == ' ')
        s++;
    const char *p = s;
    int y = read_digits(&p, 4);
    if (y < 0 || (*p != ':' && *p != '-'))
        return PHO_ECORRUPT;
    p++;
    int mo = read_digits(&p, 2);
    if (mo < 0 || (*p != ':' && *p != '-'))
        return PHO_ECORRUPT;
    p++;
    int d = read_digits(&p, 2);
    if (d < 0 || (*p != ' ' && *p != 'T'))
        return PHO_ECORRUPT;
    p++;
    int h = read_digits(&p, 2);
    if (h < 0 || *p != ':')
        return PHO_ECORRUPT;
    p++;
    int mi = read_digits(&p, 2);
    if (mi < 0 || *p != ':')
        return PHO_ECORRUPT;
    p++;
    int se = read_digits(&p, 2);
    if (se < 0)
        return PHO_ECORRUPT;
    /* Year 0 and 1900-01-01-style placeholders are what cameras write for "unset". */
    if (y < 1826 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 60)
        return PHO_ECORRUPT;
    unsigned maxd = mdays[mo - 1] + (mo == 2 && is_leap(y));
    if ((unsigned)d > maxd)
        return PHO_ECORRUPT;
    if (se == 60)
        se = 59;
    *out_local = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

int32_t pho_time_parse_subsec(const char *s)
{
    if (!s)
        return -1;
    while (*s == ' ')
        s++;
    int32_t ns = 0, scale = 100000000;
    int n = 0;
    for (; isdigit((unsigned char)*s); s++, n++) {
        if (n < 9) {
            ns += (*s - '0') * scale;
            scale /= 10;
        }
    }
    while (*s == ' ')
        s++;
    if (n == 0 || *s)
        return -1;
    return ns;
}

bool pho_time_parse_offset(int16_t *out_min, const char *s)
{
    if (!s)
        return false;
    while (*s == ' ')
        s++;
    if (*s != '+' && *s != '-')
        return false;
    int sign = *s == '-' ? -1 : 1;
    const char *p = s + 1;
    int h = read_digits(&p, 2);
    if (h < 0 || *p != ':')
        return false;
    p++;
    int m = read_digits(&p, 2);
    if (m < 0 || h > 14 || m > 59)
        return false;
    *out_min = (int16_t)(sign * (h * 60 + m));
    return true;
}

double pho_time_diff(const struct pho_time *a, const struct pho_time *b)
{
    int64_t sa = a->local, sb = b->local;
    if (a->has_offset && b->has_offset) {
        sa -= (int64_t)a->offset_min * 60;
        sb -= (int64_t)b->offset_min * 60;
    }
    return (double)(sb - sa) + (b->nsec - a->nsec) / 1e9;
}

int pho_time_format(char *buf, size_t size, const struct pho_time *t)
{
    int64_t days = t->local >= 0 ? t->local / 86400 : -((-t->local + 86399) / 86400);
    int64_t secs = t->local - days * 86400;
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    char frac[16] = "";
    if (t->nsec > 0) {
        /* As many digits as the camera gave, but at least milliseconds. */
        snprintf(frac, sizeof(frac), ".%09d", (int)t->nsec);
        size_t n = strlen(frac);
        while (n > 4 && frac[n - 1] == '0')
            frac[--n] = '\0';
    }
    char zone[8] = "";
    if (t->has_offset) {
        int off = t->offset_min < 0 ? -t->offset_min : t->offset_min;
        snprintf(zone, sizeof(zone), "%c%02d:%02d", t->offset_min < 0 ? '-' : '+', off / 60,
                 off % 60);
    }
    return snprintf(buf, size, "%04d-%02u-%02uT%02d:%02d:%02d%s%s", y, m, d, (int)(secs / 3600),
                    (int)(secs / 60 % 60), (int)(secs % 60), frac, zone);
}

const char *pho_time_source_name(enum pho_time_source src)
{
    switch (src) {
    case PHO_TIME_ORIGINAL:
        return "DateTimeOriginal";
    case PHO_TIME_DIGITIZED:
        return "DateTimeDigitized";
    case PHO_TIME_DATETIME:
        return "DateTime";
    case PHO_TIME_MTIME:
        return "file mtime";
    case PHO_TIME_XMP:
        return "XMP";
    case PHO_TIME_TAKEOUT:
        return "Takeout";
    case PHO_TIME_NONE:
        break;
    }
    return "none";
}

void pho_time_from_unix(struct pho_time *out, int64_t unix_sec, int32_t nsec)
{
    time_t tt = (time_t)unix_sec;
    struct tm tm;
    memset(out, 0, sizeof(*out));
    if (!localtime_r(&tt, &tm)) {
        out->local = unix_sec;
        out->has_offset = true;
        out->nsec = nsec;
        return;
    }
    out->local = days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) *
                         86400 +
                 tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    out->nsec = nsec;
    out->offset_min = (int16_t)(tm.tm_gmtoff / 60);
    out->has_offset = true;
}
