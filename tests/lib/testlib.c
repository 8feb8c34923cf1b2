/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE 1
#include "testlib.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pho/infer.h"
#include "pho/models.h"

bool td_available(void)
{
    const char *root = getenv("PHO_TESTDATA");
    struct stat st;
    return root && stat(root, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *td(const char *rel)
{
    static char bufs[8][4096];
    static int next;
    if (!td_available())
        skip();
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof(bufs[0]), "%s/%s", getenv("PHO_TESTDATA"), rel);
    return b;
}

enum { T_DEFER_MAX = 256 };
static struct {
    void (*fn)(void *);
    void *ptr;
} t_deferred[T_DEFER_MAX];
static size_t t_ndeferred;

void *t_defer(void (*fn)(void *), void *ptr)
{
    if (t_ndeferred == T_DEFER_MAX)
        abort(); /* a test that defers this much is wrong */
    t_deferred[t_ndeferred].fn = fn;
    t_deferred[t_ndeferred].ptr = ptr;
    t_ndeferred++;
    return ptr;
}

int t_cleanup(void **state)
{
    (void)state;
    while (t_ndeferred > 0) {
        t_ndeferred--;
        t_deferred[t_ndeferred].fn(t_deferred[t_ndeferred].ptr);
    }
    return 0;
}

int t_exit_status(int failed)
{
    if (failed) {
        fflush(stdout);
        fflush(stderr);
        _exit(1);
    }
    return 0;
}

static void free_strv(void *p)
{
    char **v = p;
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

const char *const *labelled_files(size_t *count)
{
    size_t n = 0, cap = 0;
    char **v = NULL;
    size_t len = 0;
    char *text = (char *)read_file(td("labels.csv"), &len);
    if (!text)
        fail_msg("cannot read %s", td("labels.csv"));
    t_defer(free, text);
    char *save = NULL;
    bool header = true;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line[strcspn(line, ",\r")] = '\0';
        if (header || !*line) {
            header = false;
            continue;
        }
        if (n + 2 > cap) {
            cap = cap ? cap * 2 : 128;
            char **nv = realloc(v, cap * sizeof(*v));
            if (!nv)
                abort();
            v = nv;
        }
        v[n++] = strdup(line);
        v[n] = NULL;
    }
    if (!v)
        fail_msg("labels.csv lists no file");
    t_defer(free_strv, v);
    *count = n;
    return (const char *const *)v;
}

char *make_tempdir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *path = NULL;
    if (asprintf(&path, "%s/pho-test-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
        abort();
    if (!mkdtemp(path))
        abort();
    return path;
}

void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char *child = NULL;
            if (asprintf(&child, "%s/%s", path, de->d_name) < 0)
                abort();
            rm_rf(child);
            free(child);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    /* One extra byte, always NUL: text files can be used as strings. */
    uint8_t *b = malloc(n > 0 ? (size_t)n + 1 : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b)
        b[n > 0 ? n : 0] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

const char *fixture_models_dir(void)
{
    const char *md = getenv("PHO_MODELS_DIR");
    return md && *md ? md : PHO_SOURCE_ROOT "/.cache/models";
}

const char *fixture_standins_dir(void)
{
    static char dir[4096];
    const char *root = getenv("PHO_SOURCE_ROOT");
    if (!dir[0])
        snprintf(dir, sizeof(dir), "%s/.cache/standins", root && *root ? root : PHO_SOURCE_ROOT);
    return dir;
}

int infer_setup(struct pho_models **manifest, struct pho_infer **inf)
{
    struct pho_err err = PHO_ERR_INIT;
    if (pho_models_load(manifest, NULL, &err) || pho_infer_open(inf, NULL, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    return 0;
}

void infer_teardown(struct pho_models *manifest, struct pho_infer *inf)
{
    pho_infer_close(inf);
    pho_models_free(manifest);
}

/* ---- TIFF fixture builder ---- */

struct tf_entry {
    unsigned tag, type;
    uint32_t count;
    uint8_t *data;
    size_t size;
};

struct tiff_fixture {
    struct tf_entry e[3][64];
    int n[3];
};

struct tiff_fixture *tf_new(void)
{
    return calloc(1, sizeof(struct tiff_fixture));
}

void tf_free(struct tiff_fixture *t)
{
    if (!t)
        return;
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < t->n[i]; k++)
            free(t->e[i][k].data);
    free(t);
}

static void add(struct tiff_fixture *t, int ifd, unsigned tag, unsigned type, uint32_t count,
                const void *data, size_t size)
{
    struct tf_entry *e = &t->e[ifd][t->n[ifd]++];
    e->tag = tag;
    e->type = type;
    e->count = count;
    e->data = malloc(size ? size : 1);
    memcpy(e->data, data, size);
    e->size = size;
}

void tf_ascii(struct tiff_fixture *t, int ifd, unsigned tag, const char *s)
{
    add(t, ifd, tag, T_ASCII, (uint32_t)strlen(s) + 1, s, strlen(s) + 1);
}

void tf_short(struct tiff_fixture *t, int ifd, unsigned tag, unsigned v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    add(t, ifd, tag, T_SHORT, 1, b, 2);
}

void tf_byte(struct tiff_fixture *t, int ifd, unsigned tag, unsigned v)
{
    uint8_t b = (uint8_t)v;
    add(t, ifd, tag, T_BYTE, 1, &b, 1);
}

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void tf_rational(struct tiff_fixture *t, int ifd, unsigned tag, int n, const uint32_t *nd)
{
    uint8_t b[8 * 8];
    for (int i = 0; i < 2 * n; i++)
        le32(b + 4 * i, nd[i]);
    add(t, ifd, tag, T_RATIONAL, (uint32_t)n, b, 8u * (size_t)n);
}

void tf_srational(struct tiff_fixture *t, int ifd, unsigned tag, int32_t num, int32_t den)
{
    uint8_t b[8];
    le32(b, (uint32_t)num);
    le32(b + 4, (uint32_t)den);
    add(t, ifd, tag, T_SRATIONAL, 1, b, 8);
}

static int cmp_entry(const void *a, const void *b)
{
    return (int)((const struct tf_entry *)a)->tag - (int)((const struct tf_entry *)b)->tag;
}

uint8_t *tf_build(struct tiff_fixture *t, bool exif_header, size_t *len)
{
    /* IFD0 gets pointer entries to the EXIF (0x8769) and GPS (0x8825) IFDs when used. */
    size_t cap = 65536, off = 8;
    uint8_t *b = calloc(1, cap);
    memcpy(b, "II*\0", 4);
    le32(b + 4, 8);
    int order[3] = { IFD0, IFD_EXIF, IFD_GPS };
    size_t ifd_off[3] = { 0 };
    size_t ptr_pos[3] = { 0 };
    for (int oi = 0; oi < 3; oi++) {
        int i = order[oi];
        if (i != IFD0 && t->n[i] == 0)
            continue;
        int nptr = 0;
        struct tf_entry ents[70];
        memcpy(ents, t->e[i], sizeof(struct tf_entry) * (size_t)t->n[i]);
        int n = t->n[i];
        static uint8_t zero[4];
        if (i == IFD0) {
            if (t->n[IFD_EXIF]) {
                ents[n++] = (struct tf_entry){ 0x8769, T_LONG, 1, zero, 4 };
                nptr++;
            }
            if (t->n[IFD_GPS]) {
                ents[n++] = (struct tf_entry){ 0x8825, T_LONG, 1, zero, 4 };
                nptr++;
            }
        }
        qsort(ents, (size_t)n, sizeof(ents[0]), cmp_entry);
        ifd_off[i] = off;
        b[off] = (uint8_t)n;
        b[off + 1] = 0;
        size_t data_off = off + 2 + 12 * (size_t)n + 4;
        for (int k = 0; k < n; k++) {
            uint8_t *p = b + off + 2 + 12 * k;
            p[0] = (uint8_t)ents[k].tag;
            p[1] = (uint8_t)(ents[k].tag >> 8);
            p[2] = (uint8_t)ents[k].type;
            p[3] = 0;
            le32(p + 4, ents[k].count);
            if (ents[k].tag == 0x8769)
                ptr_pos[IFD_EXIF] = (size_t)(p + 8 - b);
            if (ents[k].tag == 0x8825)
                ptr_pos[IFD_GPS] = (size_t)(p + 8 - b);
            if (ents[k].size <= 4) {
                memcpy(p + 8, ents[k].data, ents[k].size);
            } else {
                le32(p + 8, (uint32_t)data_off);
                memcpy(b + data_off, ents[k].data, ents[k].size);
                data_off += (ents[k].size + 1) & ~(size_t)1;
            }
        }
        off = data_off;
    }
    for (int i = IFD_EXIF; i <= IFD_GPS; i++)
        if (ptr_pos[i])
            le32(b + ptr_pos[i], (uint32_t)ifd_off[i]);
    if (!exif_header) {
        *len = off;
        return b;
    }
    uint8_t *e = malloc(off + 6);
    memcpy(e, "Exif\0\0", 6);
    memcpy(e + 6, b, off);
    free(b);
    *len = off + 6;
    return e;
}
