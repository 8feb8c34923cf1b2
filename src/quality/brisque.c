/* SPDX-License-Identifier: MIT */
/*
 * BRISQUE (Mittal, Moorthy and Bovik, "No-Reference Image Quality Assessment
 * in the Spatial Domain", IEEE TIP 2012) scored with the support-vector
 * regressor trained on the LIVE database that OpenCV's quality module ships
 * and Debian packages in opencv-data.
 *
 * The model is an OpenCV FileStorage YAML file. It is read by a small, strict
 * parser that accepts exactly the layout OpenCV writes for an EPS_SVR with an
 * RBF kernel over 36 features, and the companion range file (a 2 x 36
 * opencv-matrix of per-feature minima and maxima); anything else is refused
 * as corrupt. Feature extraction follows cv::quality::QualityBRISQUE so that
 * scores agree with OpenCV's within a fraction of a point: grey values scaled
 * to 0..1 in float, MSCN coefficients from a 7x7 Gaussian (sigma 7/6,
 * replicated border) local mean and deviation, an asymmetric generalised
 * Gaussian fit of the MSCN image and of its four neighbour products, at full
 * size and at half size (bicubic, a = -0.75).
 */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "quality/internal.h"
#include "quality/yml.h"

#define FEATURES       36
#define MAX_SV         100000             /* LIVE has 774; anything far larger is not this model */
#define MAX_FILE_BYTES (64 * 1024 * 1024) /* the LIVE model is 0.6 MB */
#define DEBIAN_HINT    "it ships in Debian's opencv-data package: apt-get install opencv-data"

struct pho_brisque {
    size_t sv_count;
    float *sv; /* sv_count rows of FEATURES, already in the scaled -1..1 space */
    double *alpha;
    double rho;
    double gamma;
    float lo[FEATURES], hi[FEATURES]; /* feature ranges the SVR was trained on */
    /* Shape-parameter grid of the generalised Gaussian fit and the moment
     * ratio of each entry, tabulated once so a fit is a table walk. */
    size_t grid_n;
    double *grid_shape;
    double *grid_ratio;
};

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
        int rc = pho_yml__read_seq(y, m->sv + i * FEATURES, NULL, FEATURES);
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
            if (n != FEATURES)
                return pho_yml__bad(y, "var_count %zu, but BRISQUE has %d features", n, FEATURES);
        } else if (!strcmp(key, "sv_total")) {
            if ((rc = pho_yml__mark_seen(y, &seen, S_TOTAL, key)) ||
                (rc = pho_yml__read_count(y, &m->sv_count, 1, MAX_SV)))
                return rc;
        } else if (!strcmp(key, "support_vectors")) {
            if (!(seen & S_TOTAL) || !(seen & S_VARS))
                return pho_yml__bad(y, "support_vectors before sv_total and var_count");
            if ((rc = pho_yml__mark_seen(y, &seen, S_SV, key)) || (rc = pho_yml__end_line(y)))
                return rc;
            m->sv = pho_reallocarray(NULL, m->sv_count, FEATURES * sizeof(*m->sv));
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
    double data[2 * FEATURES];
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
            if (n != (rows ? 2u : FEATURES))
                return pho_yml__bad(y, "range has %zu %s, expected %d", n, key,
                                    rows ? 2 : FEATURES);
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
    for (size_t i = 0; i < FEATURES; i++) {
        m->lo[i] = (float)data[i];
        m->hi[i] = (float)data[FEATURES + i];
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

/* ---- features ---------------------------------------------------------- */

static size_t clampi(ptrdiff_t i, size_t n)
{
    return i < 0 ? 0 : i >= (ptrdiff_t)n ? n - 1 : (size_t)i;
}

/* Normalised 7-tap Gaussian, sigma 7/6: the window BRISQUE's authors chose. */
static void gauss_kernel(float k[7])
{
    const double sigma = 7.0 / 6.0;
    double w[7], sum = 0;
    for (int i = 0; i < 7; i++) {
        double d = i - 3;
        w[i] = exp(-d * d / (2 * sigma * sigma));
        sum += w[i];
    }
    for (int i = 0; i < 7; i++)
        k[i] = (float)(w[i] / sum);
}

static float blur7_clamped(const float *s, size_t x, size_t w, const float k[7])
{
    float acc = 0;
    for (int i = 0; i < 7; i++)
        acc += k[i] * s[clampi((ptrdiff_t)x + i - 3, w)];
    return acc;
}

/* Separable 7x7 Gaussian with replicated borders; @dst may equal @src. */
static void blur7(const float *src, float *dst, float *tmp, size_t w, size_t h, const float k[7])
{
    size_t lo = PHO_MIN((size_t)3, w), hi = PHO_MAX(lo, w > 3 ? w - 3 : 0);
    for (size_t y = 0; y < h; y++) {
        const float *s = src + y * w;
        float *t = tmp + y * w;
        for (size_t x = 0; x < lo; x++)
            t[x] = blur7_clamped(s, x, w, k);
        for (size_t x = lo; x < hi; x++)
            t[x] = k[0] * s[x - 3] + k[1] * s[x - 2] + k[2] * s[x - 1] + k[3] * s[x] +
                   k[4] * s[x + 1] + k[5] * s[x + 2] + k[6] * s[x + 3];
        for (size_t x = hi; x < w; x++)
            t[x] = blur7_clamped(s, x, w, k);
    }
    for (size_t y = 0; y < h; y++) {
        const float *r[7];
        for (int i = 0; i < 7; i++)
            r[i] = tmp + clampi((ptrdiff_t)y + i - 3, h) * w;
        float *d = dst + y * w;
        for (size_t x = 0; x < w; x++)
            d[x] = k[3] * r[3][x] + k[4] * (r[4][x] + r[2][x]) + k[5] * (r[5][x] + r[1][x]) +
                   k[6] * (r[6][x] + r[0][x]);
    }
}

/* Keys' cubic convolution weights (a = -0.75) for a sample at fraction t past
 * the second of four taps; the last weight closes the sum to 1. */
static void cubic_weights(float t, float c[4])
{
    const float a = -0.75f;
    float d0 = t + 1, d1 = t, d2 = 1 - t;
    c[0] = ((a * d0 - 5 * a) * d0 + 8 * a) * d0 - 4 * a;
    c[1] = ((a + 2) * d1 - (a + 3)) * d1 * d1 + 1;
    c[2] = ((a + 2) * d2 - (a + 3)) * d2 * d2 + 1;
    c[3] = 1.f - c[0] - c[1] - c[2];
}

/* Bicubic resize with pixel-centre alignment and clamped taps, no
 * antialiasing: what OpenCV's INTER_CUBIC does. @tmp holds dw x sh floats. */
static void resize_cubic(const float *src, size_t sw, size_t sh, float *dst, size_t dw, size_t dh,
                         float *tmp)
{
    double sx_scale = 1.0 / ((double)dw / (double)sw);
    double sy_scale = 1.0 / ((double)dh / (double)sh);
    for (size_t x = 0; x < dw; x++) {
        float f = (float)(((double)x + 0.5) * sx_scale - 0.5);
        float fl = floorf(f);
        ptrdiff_t sx = (ptrdiff_t)fl;
        float c[4];
        cubic_weights(f - fl, c);
        size_t i0 = clampi(sx - 1, sw), i1 = clampi(sx, sw), i2 = clampi(sx + 1, sw),
               i3 = clampi(sx + 2, sw);
        for (size_t y = 0; y < sh; y++) {
            const float *s = src + y * sw;
            tmp[y * dw + x] = s[i0] * c[0] + s[i1] * c[1] + s[i2] * c[2] + s[i3] * c[3];
        }
    }
    for (size_t y = 0; y < dh; y++) {
        float f = (float)(((double)y + 0.5) * sy_scale - 0.5);
        float fl = floorf(f);
        ptrdiff_t sy = (ptrdiff_t)fl;
        float c[4];
        cubic_weights(f - fl, c);
        const float *r0 = tmp + clampi(sy - 1, sh) * dw, *r1 = tmp + clampi(sy, sh) * dw,
                    *r2 = tmp + clampi(sy + 1, sh) * dw, *r3 = tmp + clampi(sy + 2, sh) * dw;
        float *d = dst + y * dw;
        for (size_t x = 0; x < dw; x++)
            d[x] = c[0] * r0[x] + c[1] * r1[x] + c[2] * r2[x] + c[3] * r3[x];
    }
}

/* Sums an asymmetric generalised Gaussian fit needs. Zeros count only in n. */
struct aggd_sums {
    double pos_sq, neg_sq, abs_sum;
    size_t pos, neg, n;
};

#define LANES 8

/* Adds @n values. Eight independent float lanes per row keep the loop
 * branch-free and vectorisable; rows are short enough for float partial sums. */
static void aggd_add(struct aggd_sums *s, const float *v, size_t n)
{
    float ps[LANES] = { 0 }, ns[LANES] = { 0 }, as[LANES] = { 0 };
    uint32_t pc[LANES] = { 0 }, nc[LANES] = { 0 };
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        for (int k = 0; k < LANES; k++) {
            float x = v[i + (size_t)k], sq = x * x;
            ps[k] += x > 0 ? sq : 0.f;
            ns[k] += x < 0 ? sq : 0.f;
            as[k] += fabsf(x);
            pc[k] += x > 0;
            nc[k] += x < 0;
        }
    }
    for (int k = 0; i < n; i++, k++) {
        float x = v[i], sq = x * x;
        ps[k] += x > 0 ? sq : 0.f;
        ns[k] += x < 0 ? sq : 0.f;
        as[k] += fabsf(x);
        pc[k] += x > 0;
        nc[k] += x < 0;
    }
    for (int k = 0; k < LANES; k++) {
        s->pos_sq += (double)ps[k];
        s->neg_sq += (double)ns[k];
        s->abs_sum += (double)as[k];
        s->pos += pc[k];
        s->neg += nc[k];
    }
}

struct aggd {
    double shape, left, right; /* left/right: standard deviations of each side */
};

/* Moment-matching fit; false when one side is empty (a flat image). */
static bool aggd_fit(const struct pho_brisque *m, const struct aggd_sums *s, struct aggd *out)
{
    if (!s->pos || !s->neg || !s->n)
        return false;
    double l = sqrt(s->neg_sq / (double)s->neg), r = sqrt(s->pos_sq / (double)s->pos);
    double g = l / r, n = (double)s->n;
    double mean_abs = s->abs_sum / n;
    double rhat = mean_abs * mean_abs / ((s->neg_sq + s->pos_sq) / n);
    double target = rhat * (g * g * g + 1) * (g + 1) / ((g * g + 1) * (g * g + 1));
    if (!isfinite(target) || !(l > 0) || !(r > 0))
        return false;
    /* First grid point after which the mismatch grows; the ratio rises with
     * the shape, so this is the closest one. */
    double prev_diff = 1e10, best = 0;
    for (size_t i = 0; i < m->grid_n; i++) {
        double diff = fabs(m->grid_ratio[i] - target);
        if (diff > prev_diff)
            break;
        prev_diff = diff;
        best = m->grid_shape[i];
    }
    out->shape = best;
    out->left = l;
    out->right = r;
    return true;
}

/*
 * The 18 features of one scale: shape and variance of the MSCN image, then
 * shape, mean, left and right variance of its products with the right,
 * lower, lower-right and upper-right neighbours. @img is overwritten.
 */
static bool scale_features(const struct pho_brisque *m, float *img, size_t w, size_t h, float *mu,
                           float *var, float *tmp, float *feat)
{
    float k[7];
    gauss_kernel(k);
    blur7(img, mu, tmp, w, h, k);
    for (size_t i = 0; i < w * h; i++)
        var[i] = img[i] * img[i];
    blur7(var, var, tmp, w, h, k);

    const float floor_sigma = (float)(1.0 / 255);
    struct aggd_sums mscn = { 0 };
    for (size_t i = 0; i < w * h; i++) {
        float v = var[i] - mu[i] * mu[i];
        /* Rounding can make a flat window's variance slightly negative;
         * OpenCV then gets NaN, which its sums and counts skip, as they skip 0. */
        img[i] = v >= 0 ? (img[i] - mu[i]) / (sqrtf(v) + floor_sigma) : 0.f;
    }
    aggd_add(&mscn, img, w * h);
    mscn.n = w * h;

    /* Neighbour products, one row at a time into @tmp. */
    static const int shifts[4][2] = { { 0, 1 }, { 1, 0 }, { 1, 1 }, { -1, 1 } };
    struct aggd_sums pair[4] = { { 0 } };
    for (int s = 0; s < 4; s++) {
        int dy = shifts[s][0], dx = shifts[s][1];
        size_t y0 = dy < 0 ? 1 : 0, y1 = dy > 0 ? h - 1 : h, x1 = w - (size_t)dx;
        for (size_t y = y0; y < y1; y++) {
            const float *a = img + y * w, *b = img + (size_t)((ptrdiff_t)y + dy) * w + dx;
            for (size_t x = 0; x < x1; x++)
                tmp[x] = a[x] * b[x];
            aggd_add(&pair[s], tmp, x1);
        }
        /* Products that fall off the image are zeros OpenCV still counts. */
        pair[s].n = w * h;
    }

    struct aggd f;
    if (!aggd_fit(m, &mscn, &f))
        return false;
    feat[0] = (float)f.shape;
    feat[1] = (float)((f.left * f.left + f.right * f.right) / 2);
    for (int s = 0; s < 4; s++) {
        if (!aggd_fit(m, &pair[s], &f))
            return false;
        double g = f.shape;
        double mean = (f.right - f.left) * (tgamma(2 / g) / tgamma(1 / g)) *
                      (sqrt(tgamma(1 / g)) / sqrt(tgamma(3 / g)));
        float *o = feat + 2 + 4 * s;
        o[0] = (float)g;
        o[1] = (float)mean;
        o[2] = (float)(f.left * f.left);
        o[3] = (float)(f.right * f.right);
    }
    return true;
}

/* RBF support-vector regression on features scaled to -1..1 as in training. */
static double predict(const struct pho_brisque *m, const float *feat)
{
    float x[FEATURES];
    for (size_t i = 0; i < FEATURES; i++)
        x[i] = -1.f + 2.f * (feat[i] - m->lo[i]) / (m->hi[i] - m->lo[i]);
    double sum = -m->rho;
    for (size_t j = 0; j < m->sv_count; j++) {
        const float *sv = m->sv + j * FEATURES;
        double d2 = 0;
        for (size_t i = 0; i < FEATURES; i++) {
            double t = (double)(sv[i] - x[i]); /* float difference, as OpenCV */
            d2 += t * t;
        }
        sum += (double)expf((float)(-m->gamma * d2)) * m->alpha[j];
    }
    /* OpenCV hands the prediction back as a float. */
    return (double)(float)sum;
}

int pho_quality__brisque_grey(double *out, const struct pho_brisque *m, const struct pho_grey *g,
                              struct pho_err *err)
{
    float *buf = NULL;
    float feat[FEATURES];
    size_t w = g->w, h = g->h, n = w * h;
    *out = NAN;
    if (w < PHO_BRISQUE_MIN_SIDE || h < PHO_BRISQUE_MIN_SIDE)
        return pho_err_set(err, PHO_EINVAL, "brisque: %zux%zu is too small (needs %d px a side)", w,
                           h, PHO_BRISQUE_MIN_SIDE);
    size_t w2 = w / 2, h2 = h / 2;
    /* img, mean, variance and scratch at full size, then the half-size image. */
    buf = pho_reallocarray(NULL, 4 * n + w2 * h2, sizeof(float));
    if (!buf)
        return pho_err_set(err, PHO_ENOMEM, "brisque: out of memory for %zux%zu", w, h);
    float *img = buf, *mu = buf + n, *var = buf + 2 * n, *tmp = buf + 3 * n, *half = buf + 4 * n;

    const float to_unit = (float)(1.0 / 255);
    for (size_t i = 0; i < n; i++)
        img[i] = (float)g->px[i] * to_unit;
    /* The half scale comes from the grey image, before the MSCN pass overwrites it. */
    resize_cubic(img, w, h, half, w2, h2, tmp);
    if (scale_features(m, img, w, h, mu, var, tmp, feat) &&
        scale_features(m, half, w2, h2, mu, var, tmp, feat + FEATURES / 2)) {
        double s = predict(m, feat);
        *out = s < 0 ? 0 : s > 100 ? 100 : s;
    } else {
        /* No texture to fit (flat or smoothly shaded): the worst score, as
         * OpenCV gives for such images. */
        *out = 100;
    }
    pho_free(buf);
    return 0;
}

int pho_brisque_score(double *out, const struct pho_brisque *model, const struct pho_image *img,
                      struct pho_err *err)
{
    struct pho_grey g = { 0 };
    if (!out || !model)
        return pho_err_set(err, PHO_EINVAL, "brisque: no model or output");
    *out = NAN;
    int rc = pho_quality__grey(&g, img, err);
    if (!rc)
        rc = pho_quality__brisque_grey(out, model, &g, err);
    pho_free(g.px);
    return rc;
}
