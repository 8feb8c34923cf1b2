/* SPDX-License-Identifier: MIT */
/*
 * The BRISQUE model: OpenCV's LIVE support-vector regressor (Debian's
 * opencv-data) read from its FileStorage YAML by a strict reader (yml.c) that
 * accepts exactly the layout OpenCV writes for an EPS_SVR with an RBF kernel
 * over 36 features, and the companion range file (a 2 x 36 opencv-matrix of
 * per-feature minima and maxima); anything else is refused as corrupt. The
 * generalised Gaussian shape grid the feature fit walks is tabulated here,
 * once per open.
 */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quality/internal.h"
#include "quality/yml.h"

#define MAX_SV         100000             /* LIVE has 774; anything far larger is not this model */
#define MAX_FILE_BYTES (64 * 1024 * 1024) /* the LIVE model is 0.6 MB */
#define DEBIAN_HINT    "it ships in Debian's opencv-data package: apt-get install opencv-data"

/* ---- reading the files ------------------------------------------------- */

static int read_text(char **out, const char *path, const char *what, struct pho_err *err)
{
    char *buf = NULL;
    int rc = 0;
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* never wait on a FIFO */
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return pho_err_set(err, PHO_ENOTFOUND, "brisque: %s file %s not found (%s)", what, path,
                               DEBIAN_HINT);
        return pho_err_set(err, PHO_EIO, "brisque: cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = pho_err_set(err, PHO_EIO, "brisque: %s is not a readable file", path);
        goto out;
    }
    if (st.st_size > MAX_FILE_BYTES) {
        rc = pho_err_set(err, PHO_ECORRUPT, "brisque: %s is too large for a %s file (%lld bytes)",
                         path, what, (long long)st.st_size);
        goto out;
    }
    size_t cap = (size_t)st.st_size, len = 0;
    buf = pho_malloc(cap + 1);
    if (!buf) {
        rc = pho_err_set(err, PHO_ENOMEM, "brisque: out of memory reading %s", path);
        goto out;
    }
    while (len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = pho_err_set(err, PHO_EIO, "brisque: cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    /* The parser walks to the terminating NUL; an embedded one means binary garbage. */
    if (strlen(buf) != len) {
        rc = pho_err_set(err, PHO_ECORRUPT, "brisque: %s is not a text file", path);
        goto out;
    }
    *out = buf;
    buf = NULL;
out:
    pho_free(buf);
    close(fd);
    return rc;
}

static int read_term_criteria(struct yml *y)
{
    if (*y->p != '{')
        return pho_yml__bad(y, "expected '{'");
    y->p++;
    for (;;) {
        char key[32];
        double v;
        pho_yml__skip_spaces(y);
        int rc = pho_yml__read_key(y, key, sizeof(key));
        if (rc)
            return rc;
        if (strcmp(key, "epsilon") && strcmp(key, "iterations"))
            return pho_yml__bad(y, "unexpected key '%s' in term_criteria", key);
        pho_yml__skip_spaces(y);
        if ((rc = pho_yml__read_num(y, &v)))
            return rc;
        pho_yml__skip_spaces(y);
        if (*y->p == '}') {
            y->p++;
            return 0;
        }
        if (*y->p != ',')
            return pho_yml__bad(y, "expected ',' or '}'");
        y->p++;
    }
}

static int read_kernel(struct yml *y, int parent, struct pho_brisque *m)
{
    enum { K_TYPE = 1, K_GAMMA = 2 };
    unsigned seen = 0;
    int indent = -1, more;
    while ((more = pho_yml__block_line(y, parent, &indent)) == 1) {
        char key[32], word[32];
        int rc = pho_yml__read_key(y, key, sizeof(key));
        if (rc)
            return rc;
        pho_yml__skip_spaces(y);
        if (!strcmp(key, "type")) {
            if ((rc = pho_yml__mark_seen(y, &seen, K_TYPE, key)) ||
                (rc = pho_yml__read_word(y, word, sizeof(word))))
                return rc;
            if (strcmp(word, "RBF"))
                return pho_yml__bad(y, "kernel %s is not supported (BRISQUE uses RBF)", word);
        } else if (!strcmp(key, "gamma")) {
            if ((rc = pho_yml__mark_seen(y, &seen, K_GAMMA, key)) ||
                (rc = pho_yml__read_num(y, &m->gamma)))
                return rc;
            if (!(m->gamma > 0))
                return pho_yml__bad(y, "kernel gamma must be positive");
        } else {
            return pho_yml__bad(y, "unexpected key '%s' in kernel", key);
        }
        if ((rc = pho_yml__end_line(y)))
            return rc;
    }
    if (more < 0)
        return more;
    if (seen != (K_TYPE | K_GAMMA))
        return pho_yml__bad(y, "kernel needs both type and gamma");
    return 0;
}

static int read_support_vectors(struct yml *y, int parent, struct pho_brisque *m)
{
    int indent = -1;
    for (size_t i = 0; i < m->sv_count; i++) {
        int more = pho_yml__block_line(y, parent, &indent);
        if (more <= 0)
            return more ? more
                        : pho_yml__bad(y, "%zu support vectors where sv_total says %zu", i,
                                       m->sv_count);
        if (*y->p != '-' || y->p[1] != ' ')
            return pho_yml__bad(y, "expected '- [' for a support vector");
        y->p++;
        pho_yml__skip_spaces(y);
        int rc = pho_yml__read_seq(y, m->sv + i * PHO_BRISQUE_FEATURES, NULL, PHO_BRISQUE_FEATURES);
        if (!rc)
            rc = pho_yml__end_line(y);
        if (rc)
            return rc;
    }
    if (pho_yml__peek_indent(y) > parent)
        return pho_yml__bad(y, "more support vectors than sv_total says");
    return 0;
}

/* One regression function: sv_count (all vectors), rho and one alpha per vector. */
static int read_decision_functions(struct yml *y, int parent, struct pho_brisque *m)
{
    enum { D_COUNT = 1, D_RHO = 2, D_ALPHA = 4 };
    unsigned seen = 0;
    int item = -1, indent = -1, more;
    if ((more = pho_yml__block_line(y, parent, &item)) <= 0)
        return more ? more : pho_yml__bad(y, "no decision function");
    if (*y->p != '-')
        return pho_yml__bad(y, "expected '-' for a decision function");
    y->p++;
    int rc = pho_yml__end_line(y);
    if (rc)
        return rc;
    while ((more = pho_yml__block_line(y, item, &indent)) == 1) {
        char key[32];
        size_t count = 0;
        if ((rc = pho_yml__read_key(y, key, sizeof(key))))
            return rc;
        pho_yml__skip_spaces(y);
        if (!strcmp(key, "sv_count")) {
            if ((rc = pho_yml__mark_seen(y, &seen, D_COUNT, key)) ||
                (rc = pho_yml__read_count(y, &count, 1, MAX_SV)))
                return rc;
            if (count != m->sv_count)
                return pho_yml__bad(y, "sv_count %zu differs from sv_total %zu", count,
                                    m->sv_count);
        } else if (!strcmp(key, "rho")) {
            if ((rc = pho_yml__mark_seen(y, &seen, D_RHO, key)) ||
                (rc = pho_yml__read_num(y, &m->rho)))
                return rc;
        } else if (!strcmp(key, "alpha")) {
            if (!(seen & D_COUNT))
                return pho_yml__bad(y, "alpha before sv_count");
            if ((rc = pho_yml__mark_seen(y, &seen, D_ALPHA, key)) ||
                (rc = pho_yml__read_seq(y, NULL, m->alpha, m->sv_count)))
                return rc;
        } else {
            /* "index" only appears in classifiers. */
            return pho_yml__bad(y, "unexpected key '%s' in decision function", key);
        }
        if ((rc = pho_yml__end_line(y)))
            return rc;
    }
    if (more < 0)
        return more;
    if (seen != (D_COUNT | D_RHO | D_ALPHA))
        return pho_yml__bad(y, "decision function needs sv_count, rho and alpha");
    if (pho_yml__peek_indent(y) > parent)
        return pho_yml__bad(y, "more than one decision function: not a regression model");
    return 0;
}

static int read_model(struct yml *y, struct pho_brisque *m)
{
    enum {
        S_FORMAT = 1 << 0,
        S_TYPE = 1 << 1,
        S_KERNEL = 1 << 2,
        S_C = 1 << 3,
        S_P = 1 << 4,
        S_NU = 1 << 5,
        S_TERM = 1 << 6,
        S_VARS = 1 << 7,
        S_TOTAL = 1 << 8,
        S_SV = 1 << 9,
        S_DF = 1 << 10,
        S_REQUIRED = S_TYPE | S_KERNEL | S_VARS | S_TOTAL | S_SV | S_DF,
    };
    unsigned seen = 0;
    char key[32], word[32];
    int rc = pho_yml__read_header(y);
    if (rc)
        return rc;
    if (pho_yml__peek_indent(y) != 0 || (rc = pho_yml__read_key(y, key, sizeof(key))))
        return rc ? rc : pho_yml__bad(y, "expected opencv_ml_svm");
    if (strcmp(key, "opencv_ml_svm"))
        return pho_yml__bad(y, "expected opencv_ml_svm, found '%s'", key);
    if ((rc = pho_yml__end_line(y)))
        return rc;

    int indent = -1, more;
    while ((more = pho_yml__block_line(y, 0, &indent)) == 1) {
        double v;
        size_t n = 0;
        if ((rc = pho_yml__read_key(y, key, sizeof(key))))
            return rc;
        pho_yml__skip_spaces(y);
        if (!strcmp(key, "format")) {
            if ((rc = pho_yml__mark_seen(y, &seen, S_FORMAT, key)) ||
                (rc = pho_yml__read_count(y, &n, 0, 100)))
                return rc;
            if (n != 3)
                return pho_yml__bad(y, "model format %zu is not supported (expected 3)", n);
        } else if (!strcmp(key, "svmType")) {
            if ((rc = pho_yml__mark_seen(y, &seen, S_TYPE, key)) ||
                (rc = pho_yml__read_word(y, word, sizeof(word))))
                return rc;
            if (strcmp(word, "EPS_SVR"))
                return pho_yml__bad(y, "svmType %s is not a regression model (expected EPS_SVR)",
                                    word);
        } else if (!strcmp(key, "kernel")) {
            if ((rc = pho_yml__mark_seen(y, &seen, S_KERNEL, key)) || (rc = pho_yml__end_line(y)) ||
                (rc = read_kernel(y, indent, m)))
                return rc;
            continue;
        } else if (!strcmp(key, "C") || !strcmp(key, "p") || !strcmp(key, "nu")) {
            /* Training settings: not needed to predict, but must be numbers. */
            unsigned bit = key[0] == 'C' ? S_C : key[0] == 'p' ? S_P : S_NU;
            if ((rc = pho_yml__mark_seen(y, &seen, bit, key)) || (rc = pho_yml__read_num(y, &v)))
                return rc;
        } else if (!strcmp(key, "term_criteria")) {
            if ((rc = pho_yml__mark_seen(y, &seen, S_TERM, key)) || (rc = read_term_criteria(y)))
                return rc;
        } else if (!strcmp(key, "var_count")) {
            if ((rc = pho_yml__mark_seen(y, &seen, S_VARS, key)) ||
                (rc = pho_yml__read_count(y, &n, 1, 1000)))
                return rc;
            if (n != PHO_BRISQUE_FEATURES)
                return pho_yml__bad(y, "var_count %zu, but BRISQUE has %d features", n,
                                    PHO_BRISQUE_FEATURES);
        } else if (!strcmp(key, "sv_total")) {
            if ((rc = pho_yml__mark_seen(y, &seen, S_TOTAL, key)) ||
                (rc = pho_yml__read_count(y, &m->sv_count, 1, MAX_SV)))
                return rc;
        } else if (!strcmp(key, "support_vectors")) {
            if (!(seen & S_TOTAL) || !(seen & S_VARS))
                return pho_yml__bad(y, "support_vectors before sv_total and var_count");
            if ((rc = pho_yml__mark_seen(y, &seen, S_SV, key)) || (rc = pho_yml__end_line(y)))
                return rc;
            m->sv = pho_reallocarray(NULL, m->sv_count, PHO_BRISQUE_FEATURES * sizeof(*m->sv));
            m->alpha = pho_reallocarray(NULL, m->sv_count, sizeof(*m->alpha));
            if (!m->sv || !m->alpha)
                return pho_err_set(y->err, PHO_ENOMEM, "brisque: out of memory for %zu vectors",
                                   m->sv_count);
            if ((rc = read_support_vectors(y, indent, m)))
                return rc;
            continue;
        } else if (!strcmp(key, "decision_functions")) {
            if (!(seen & S_SV))
                return pho_yml__bad(y, "decision_functions before support_vectors");
            if ((rc = pho_yml__mark_seen(y, &seen, S_DF, key)) || (rc = pho_yml__end_line(y)) ||
                (rc = read_decision_functions(y, indent, m)))
                return rc;
            continue;
        } else {
            return pho_yml__bad(y, "unexpected key '%s'", key);
        }
        if ((rc = pho_yml__end_line(y)))
            return rc;
    }
    if (more < 0)
        return more;
    if (pho_yml__peek_indent(y) >= 0)
        return pho_yml__bad(y, "unexpected content after the model");
    if ((seen & S_REQUIRED) != S_REQUIRED)
        return pho_yml__bad(y, "incomplete model (needs svmType, kernel, var_count, sv_total, "
                               "support_vectors and decision_functions)");
    return 0;
}

static int read_range(struct yml *y, struct pho_brisque *m)
{
    enum { R_ROWS = 1, R_COLS = 2, R_DT = 4, R_DATA = 8 };
    unsigned seen = 0;
    char key[32], word[8];
    double data[2 * PHO_BRISQUE_FEATURES];
    int rc = pho_yml__read_header(y);
    if (rc)
        return rc;
    if (pho_yml__peek_indent(y) != 0 || (rc = pho_yml__read_key(y, key, sizeof(key))))
        return rc ? rc : pho_yml__bad(y, "expected range");
    if (strcmp(key, "range"))
        return pho_yml__bad(y, "expected range, found '%s'", key);
    pho_yml__skip_spaces(y);
    if ((rc = pho_yml__expect_text(y, "!!opencv-matrix")) || (rc = pho_yml__end_line(y)))
        return rc;
    int indent = -1, more;
    while ((more = pho_yml__block_line(y, 0, &indent)) == 1) {
        size_t n = 0;
        if ((rc = pho_yml__read_key(y, key, sizeof(key))))
            return rc;
        pho_yml__skip_spaces(y);
        if (!strcmp(key, "rows") || !strcmp(key, "cols")) {
            bool rows = key[0] == 'r';
            if ((rc = pho_yml__mark_seen(y, &seen, rows ? R_ROWS : R_COLS, key)) ||
                (rc = pho_yml__read_count(y, &n, 1, 1000)))
                return rc;
            if (n != (rows ? 2u : PHO_BRISQUE_FEATURES))
                return pho_yml__bad(y, "range has %zu %s, expected %d", n, key,
                                    rows ? 2 : PHO_BRISQUE_FEATURES);
        } else if (!strcmp(key, "dt")) {
            if ((rc = pho_yml__mark_seen(y, &seen, R_DT, key)) ||
                (rc = pho_yml__read_word(y, word, sizeof(word))))
                return rc;
            if (strcmp(word, "f") && strcmp(word, "d"))
                return pho_yml__bad(y, "range element type '%s' is not a float type", word);
        } else if (!strcmp(key, "data")) {
            if ((seen & (R_ROWS | R_COLS)) != (R_ROWS | R_COLS))
                return pho_yml__bad(y, "data before rows and cols");
            if ((rc = pho_yml__mark_seen(y, &seen, R_DATA, key)) ||
                (rc = pho_yml__read_seq(y, NULL, data, PHO_ARRAY_LEN(data))))
                return rc;
        } else {
            return pho_yml__bad(y, "unexpected key '%s' in range", key);
        }
        if ((rc = pho_yml__end_line(y)))
            return rc;
    }
    if (more < 0)
        return more;
    if (pho_yml__peek_indent(y) >= 0)
        return pho_yml__bad(y, "unexpected content after the range matrix");
    if (seen != (R_ROWS | R_COLS | R_DT | R_DATA))
        return pho_yml__bad(y, "range needs rows, cols, dt and data");
    for (size_t i = 0; i < PHO_BRISQUE_FEATURES; i++) {
        m->lo[i] = (float)data[i];
        m->hi[i] = (float)data[PHO_BRISQUE_FEATURES + i];
        /* Scaling divides by hi - lo. */
        if (!(m->hi[i] > m->lo[i]) || !isfinite(m->hi[i] - m->lo[i]))
            return pho_yml__bad(y, "feature %zu has an empty range", i);
    }
    return 0;
}

/* ---- model lifetime ---------------------------------------------------- */

/* Ratio E[|x|]^2 / E[x^2] of a generalised Gaussian of shape g. */
static double ggd_ratio(double g)
{
    double t = tgamma(2 / g);
    return t * t / (tgamma(1 / g) * tgamma(3 / g));
}

/* The same shape grid as OpenCV (0.2 up to 10 by repeated 0.001 steps, as a
 * double accumulates them) so both pick the same shape. */
static int build_grid(struct pho_brisque *m, struct pho_err *err)
{
    size_t n = 0;
    for (double g = 0.2; g < 10; g += 0.001)
        n++;
    m->grid_shape = pho_reallocarray(NULL, n, sizeof(double));
    m->grid_ratio = pho_reallocarray(NULL, n, sizeof(double));
    if (!m->grid_shape || !m->grid_ratio)
        return pho_err_set(err, PHO_ENOMEM, "brisque: out of memory");
    size_t i = 0;
    for (double g = 0.2; g < 10 && i < n; g += 0.001, i++) {
        m->grid_shape[i] = g;
        m->grid_ratio[i] = ggd_ratio(g);
    }
    m->grid_n = i;
    return 0;
}

int pho_brisque_open(struct pho_brisque **out, const char *model_path, const char *range_path,
                     struct pho_err *err)
{
    struct pho_brisque *m = NULL;
    char *text = NULL;
    int rc;
    if (!out)
        return pho_err_set(err, PHO_EINVAL, "brisque: no output pointer");
    *out = NULL;
    if (!model_path)
        model_path = PHO_BRISQUE_MODEL_DEFAULT;
    if (!range_path)
        range_path = PHO_BRISQUE_RANGE_DEFAULT;

    m = pho_calloc(1, sizeof(*m));
    if (!m) {
        rc = pho_err_set(err, PHO_ENOMEM, "brisque: out of memory");
        goto out;
    }
    /* The small range file first: a broken installation fails fast. */
    if ((rc = read_text(&text, range_path, "range", err)))
        goto out;
    struct yml y = { text, 1, range_path, err };
    if ((rc = read_range(&y, m)))
        goto out;
    pho_free(text);
    text = NULL;

    if ((rc = read_text(&text, model_path, "model", err)))
        goto out;
    y = (struct yml){ text, 1, model_path, err };
    if ((rc = read_model(&y, m)))
        goto out;
    if ((rc = build_grid(m, err)))
        goto out;
    *out = m;
    m = NULL;
out:
    pho_free(text);
    pho_brisque_close(m);
    return rc;
}

void pho_brisque_close(struct pho_brisque *model)
{
    if (!model)
        return;
    pho_free(model->sv);
    pho_free(model->alpha);
    pho_free(model->grid_shape);
    pho_free(model->grid_ratio);
    pho_free(model);
}
