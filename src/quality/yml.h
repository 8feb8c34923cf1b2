/* SPDX-License-Identifier: MIT */
/* Private to src/quality: the OpenCV FileStorage YAML subset reader (yml.c). */
#ifndef PHO_QUALITY_YML_H
#define PHO_QUALITY_YML_H

#include <stdbool.h>
#include <stddef.h>

#include "pho/error.h"

/* A text being read: position, line (for messages), file name and the error. */
struct yml {
    const char *p;
    unsigned line;
    const char *path;
    struct pho_err *err;
};

/* A PHO_ECORRUPT "brisque: FILE:LINE: ..." error. */
int pho_yml__bad(struct yml *y, const char *fmt, ...) PHO_PRINTF(2, 3);
void pho_yml__skip_spaces(struct yml *y);
int pho_yml__end_line(struct yml *y);
int pho_yml__peek_indent(struct yml *y);
int pho_yml__read_word(struct yml *y, char *buf, size_t size);
int pho_yml__read_key(struct yml *y, char *buf, size_t size);
int pho_yml__read_num(struct yml *y, double *out);
int pho_yml__read_count(struct yml *y, size_t *out, size_t min, size_t max);
int pho_yml__read_seq(struct yml *y, float *f, double *d, size_t n);
int pho_yml__expect_text(struct yml *y, const char *text);
int pho_yml__read_header(struct yml *y);
int pho_yml__block_line(struct yml *y, int parent, int *indent);
int pho_yml__mark_seen(struct yml *y, unsigned *seen, unsigned bit, const char *key);

#endif
