/* SPDX-License-Identifier: MIT */
/*
 * bench/eyes-eval: how well a face backend tells closed eyes from open ones,
 * on ../shared/testdata/eyes (eyes_truth.csv: per photo the number of faces
 * with closed eyes, a wink counting as closed, with open eyes, and unclear).
 *
 * Prints per backend:
 *   - photo level: precision / recall of "this photo has a closed-eyed face"
 *     (a photo without one counts as a false alarm only when more of its
 *     faces were found closed than it has unclear-labelled faces);
 *   - face counts, per photo matched by number (the labels say how many faces
 *     are closed, not which): closed faces found closed / open / unknown,
 *     open faces found open / closed / unknown; unclear faces are left out
 *     by counting only up to the labelled numbers;
 *   - winks (notes say "wink"): photos where a closed face was found;
 *   - series: for every series with an all-open take, whether the organizer's
 *     best-shot rule (pho_organize__choose_best, the same code) picks an
 *     all-open take when the series is one group.
 *
 * Usage: bench-eyes-eval [--backend NAME|all] [--models-dir DIR] [--check] [--verbose]
 *                        [--min-precision P] [--min-recall R]
 *   --min-precision / --min-recall  exit 1 below these photo-level numbers or
 *            when a series with an all-open take gets a closed-eyed best shot
 *            (the regression test of tests/meson.build);
 *   --check  exit 1 unless the acceptance of the eyes issue holds for every
 *            backend evaluated: photo precision >= 0.95, recall >= 0.90, every
 *            wink found, every series with an all-open take gets one.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchlib.h"
#include "organize/internal.h"
#include "pho/face.h"
#include "pho/image.h"
#include "pho/parallel.h"
#include "pho/photo.h"
#include "pho/quality.h"

#define MAX_PHOTOS 512
#define FACE_SIZE  1600 /* what organize analyses faces at (src/organize/faces.c) */

struct label {
    char file[128];
    char series[32];
    int faces, closed, open, unclear;
    bool wink;
};

struct eval {
    struct label *l;
    size_t n;
    const char *dir;
    struct pho_face_engine *fe;
    struct pho_organize__identity id;
    struct pho_photo *photos;
    struct pho_face_list *faces;
    size_t failures;
};

/* The fields of one CSV line (double quotes allowed), at most @max. */
static int split_csv(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        char *out = p;
        fields[n++] = out;
        if (*p == '"') {
            for (p++;; p++) {
                if (!*p)
                    break;
                if (*p == '"' && p[1] == '"') {
                    *out++ = '"';
                    p++;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *out++ = *p;
                }
            }
        } else {
            while (*p && *p != ',' && *p != '\n' && *p != '\r')
                *out++ = *p++;
        }
        bool more = *p == ',';
        *out = '\0';
        if (!more)
            break;
        p++;
    }
    return n;
}

static int read_labels(struct eval *e, const char *csv)
{
    FILE *f = fopen(csv, "r");
    if (!f)
        return -1;
    char line[8192];
    e->l = calloc(MAX_PHOTOS, sizeof(*e->l));
    if (!e->l || !fgets(line, sizeof(line), f)) {
        fclose(f);
        return -1;
    }
    while (e->n < MAX_PHOTOS && fgets(line, sizeof(line), f)) {
        char *fld[12];
        if (split_csv(line, fld, 12) < 7)
            continue;
        struct label *l = &e->l[e->n];
        snprintf(l->file, sizeof(l->file), "%s", fld[0]);
        snprintf(l->series, sizeof(l->series), "%s", fld[1]);
        l->faces = atoi(fld[2]);
        l->closed = atoi(fld[3]);
        l->open = atoi(fld[4]);
        l->unclear = atoi(fld[5]);
        for (char *c = fld[6]; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        l->wink = strstr(fld[6], "wink") != NULL;
        if (l->file[0])
            e->n++;
    }
    fclose(f);
    return 0;
}

static void analyse_one(void *ud, size_t i, unsigned worker)
{
    (void)worker;
    struct eval *e = ud;
    struct pho_photo *p = &e->photos[i];
    struct pho_image_opts io = PHO_IMAGE_OPTS_INIT;
    io.max_size = FACE_SIZE;
    io.allow_larger = true;
    struct pho_image *img = NULL;
    int rc = pho_image_load(&img, p->path, &io, &p->meta, NULL);
    if (rc == 0) {
        double mp = (double)p->meta.width * p->meta.height / 1e6;
        if (pho_quality_measure(&p->quality, img, mp, NULL, NULL) == 0)
            p->analysed = true;
        rc = pho_face_analyze(e->fe, img, &e->faces[i], NULL);
    }
    if (rc)
        __atomic_fetch_add(&e->failures, 1, __ATOMIC_RELAXED);
    pho_image_free(img);
}

/* Found calls of faces, per label, as the columns of the confusion table. */
enum { CALL_CLOSED, CALL_WINK, CALL_OPEN, CALL_UNKNOWN, CALLS };
static const char *const call_names[CALLS] = { "closed", "wink", "open", "unknown" };

struct score {
    int tp, fp, fn, tn;
    int closed_as[CALLS]; /* labelled closed faces (a wink included) found as each call */
    int open_as[CALLS];   /* labelled open faces found as each call */
    int winks, winks_found;
    int series, series_ok;
    double precision, recall;
};

/* Takes up to @want faces from @have, in the order of @order; returns what is left of @want. */
static int take(int *have, int *to, int want, const int *order, int norder)
{
    for (int k = 0; k < norder && want > 0; k++) {
        int c = order[k], n = have[c] < want ? have[c] : want;
        have[c] -= n;
        to[c] += n;
        want -= n;
    }
    return want;
}

/*
 * Matched by number (the labels say how many faces are closed, not which):
 * the labelled closed faces take the found shut ones first (both eyes, then
 * winks), then open ones; the labelled open faces take the found open ones
 * first; a labelled face nothing is left for was not found or not judged
 * (unknown). Unclear faces take nothing.
 */
static void count_faces(struct score *s, const struct label *l, const struct pho_face_list *fl)
{
    int have[CALLS] = { 0 };
    for (size_t k = 0; k < fl->count; k++) {
        const struct pho_face *f = &fl->faces[k];
        have[f->eyes_closed < 0 ? CALL_UNKNOWN
             : f->eyes_closed   ? (f->winking == 1 ? CALL_WINK : CALL_CLOSED)
                                : CALL_OPEN]++;
    }
    static const int for_closed[] = { CALL_CLOSED, CALL_WINK, CALL_OPEN };
    static const int for_open[] = { CALL_OPEN, CALL_WINK, CALL_CLOSED };
    s->closed_as[CALL_UNKNOWN] += take(have, s->closed_as, l->closed, for_closed, 3);
    s->open_as[CALL_UNKNOWN] += take(have, s->open_as, l->open, for_open, 3);
}

/* Whether the label of photo @i says all its judged faces are open. */
static bool all_open(const struct label *l)
{
    return l->closed == 0 && l->open > 0;
}

static void score_series(struct score *s, struct eval *e, bool verbose)
{
    for (size_t i = 0; i < e->n; i++) {
        const char *ser = e->l[i].series;
        if (!ser[0])
            continue;
        bool first = true, any_open = false;
        size_t members[64], m = 0;
        for (size_t j = 0; j < e->n && m < 64; j++) {
            if (strcmp(e->l[j].series, ser))
                continue;
            if (j < i)
                first = false;
            members[m++] = j;
            any_open |= all_open(&e->l[j]);
        }
        if (!first || m < 2 || !any_open)
            continue;
        struct pho_group_plan g;
        memset(&g, 0, sizeof(g));
        g.members = members;
        g.count = m;
        pho_organize__choose_best(&g, e->photos, e->faces, &e->id);
        bool ok = all_open(&e->l[g.best]);
        s->series++;
        s->series_ok += ok;
        if (verbose || !ok)
            printf("    series %-4s %zu takes: best %s (%s)%s\n", ser, m, e->l[g.best].file,
                   ok ? "all open" : "CLOSED", ok ? "" : "  <- a closed-eyed best shot");
    }
}

static void evaluate(struct eval *e, const char *backend, const char *models_dir, struct score *s,
                     bool verbose)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < e->n; i++) {
        const struct label *l = &e->l[i];
        const struct pho_face_list *fl = &e->faces[i];
        int closed = 0;
        for (size_t k = 0; k < fl->count; k++)
            closed += fl->faces[k].eyes_closed == 1;
        bool truth = l->closed > 0;
        /* A photo without a closed-eyed face is a false alarm only when more faces were
         * found closed than it has unclear ones (those are not held against the tool). */
        bool found = truth ? closed > 0 : closed > l->unclear;
        s->tp += found && truth;
        s->fp += found && !truth;
        s->fn += !found && truth;
        s->tn += !found && !truth;
        count_faces(s, l, fl);
        if (l->wink) {
            s->winks++;
            s->winks_found += found;
        }
        if (verbose || found != truth) {
            printf("    %-14s label %d closed / %d open / %d unclear; found", l->file, l->closed,
                   l->open, l->unclear);
            for (size_t k = 0; k < fl->count; k++)
                printf(" %s(%.2f,%.2f)", pho_face_eyes_word(&fl->faces[k]), fl->faces[k].ear_l,
                       fl->faces[k].ear_r);
            printf("%s\n", found == truth ? "" : found ? "  <- false closed" : "  <- missed");
        }
    }
    score_series(s, e, verbose);
    s->precision = s->tp + s->fp ? (double)s->tp / (s->tp + s->fp) : 1;
    s->recall = s->tp + s->fn ? (double)s->tp / (s->tp + s->fn) : 1;
    (void)models_dir;
    printf("%-17s photos %zu (%zu failed)  has-closed: precision %.3f recall %.3f "
           "(tp %d fp %d fn %d tn %d)\n",
           backend, e->n, e->failures, s->precision, s->recall, s->tp, s->fp, s->fn, s->tn);
    printf("%-17s faces (labels by number, unclear ones left out):   found", "");
    for (int c = 0; c < CALLS; c++)
        printf(" %7s", call_names[c]);
    printf("\n%-17s   labelled closed (a wink counts)                    ", "");
    for (int c = 0; c < CALLS; c++)
        printf(" %7d", s->closed_as[c]);
    printf("\n%-17s   labelled open                                      ", "");
    for (int c = 0; c < CALLS; c++)
        printf(" %7d", s->open_as[c]);
    printf("\n");
    printf("%-17s winks found %d/%d; series with an all-open take given one: %d/%d\n", "",
           s->winks_found, s->winks, s->series_ok, s->series);
}

static int run_backend(struct eval *e, const char *backend, const char *models_dir, struct score *s,
                       bool verbose)
{
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.backend = backend;
    fo.models_dir = models_dir;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_face_engine_open(&e->fe, &fo, &err)) {
        printf("%-17s not available: %s\n", backend, err.msg);
        return 1;
    }
    e->id.metric = pho_face_engine_metric(e->fe);
    e->id.same = pho_face_engine_same_person(e->fe);
    e->photos = calloc(e->n, sizeof(*e->photos));
    e->faces = calloc(e->n, sizeof(*e->faces));
    e->failures = 0;
    char path[4096];
    for (size_t i = 0; i < e->n; i++) {
        pho_photo_init(&e->photos[i]);
        snprintf(path, sizeof(path), "%s/%s", e->dir, e->l[i].file);
        e->photos[i].path = strdup(path);
        e->photos[i].rel = strdup(e->l[i].file);
    }
    double t0 = bench_now();
    pho_parallel_for(e->n, pho_cpu_count(), analyse_one, e);
    double dt = bench_now() - t0;
    evaluate(e, backend, models_dir, s, verbose);
    size_t nfaces = 0;
    for (size_t i = 0; i < e->n; i++)
        nfaces += e->faces[i].count;
    printf("%-17s %.1f s for %zu photos, %zu faces (%u threads)\n", "", dt, e->n, nfaces,
           pho_cpu_count());
    for (size_t i = 0; i < e->n; i++) {
        pho_face_list_release(&e->faces[i]);
        pho_photo_release(&e->photos[i]);
    }
    free(e->faces);
    free(e->photos);
    pho_face_engine_close(e->fe);
    e->fe = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    const char *backend = "mediapipe";
    const char *models_dir = getenv("PHO_MODELS_DIR");
    bool check = false, verbose = false;
    double min_p = -1, min_r = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc)
            backend = argv[++i];
        else if (!strcmp(argv[i], "--models-dir") && i + 1 < argc)
            models_dir = argv[++i];
        else if (!strcmp(argv[i], "--min-precision") && i + 1 < argc)
            min_p = atof(argv[++i]);
        else if (!strcmp(argv[i], "--min-recall") && i + 1 < argc)
            min_r = atof(argv[++i]);
        else if (!strcmp(argv[i], "--check"))
            check = true;
        else if (!strcmp(argv[i], "--verbose"))
            verbose = true;
        else {
            fprintf(stderr,
                    "usage: bench-eyes-eval [--backend NAME|all] [--models-dir DIR] [--check] "
                    "[--verbose] [--min-precision P] [--min-recall R]\n");
            return 2;
        }
    }
    const char *td = getenv("PHO_TESTDATA");
    char dir[4096], csv[4200];
    snprintf(dir, sizeof(dir), "%s/eyes", td ? td : "../shared/testdata");
    snprintf(csv, sizeof(csv), "%s/eyes_truth.csv", dir);
    struct eval e = { .dir = dir };
    if (read_labels(&e, csv) || e.n == 0) {
        printf("1..0 # SKIP no labelled eye photos at %s\n", csv);
        return check ? 77 : 0;
    }
    int bad = 0, ran = 0;
    void *it = NULL;
    const struct pho_face_backend_info *info = NULL;
    while (!strcmp(backend, "all") ? (info = pho_face_backend_iterate(&it)) != NULL : ran == 0) {
        const char *name = !strcmp(backend, "all") ? info->name : backend;
        struct score s;
        ran++;
        if (run_backend(&e, name, models_dir, &s, verbose)) {
            bad |= strcmp(backend, "all") != 0;
            continue;
        }
        if ((min_p >= 0 || min_r >= 0) &&
            (s.precision < min_p || s.recall < min_r || s.series_ok < s.series)) {
            printf("%-17s below the floor: precision >= %.2f, recall >= %.2f, every series\n", name,
                   min_p, min_r);
            bad = 1;
        }
        if (check && (s.precision < 0.95 || s.recall < 0.90 || s.winks_found < s.winks ||
                      s.series_ok < s.series)) {
            printf("%-17s FAILS the acceptance: precision >= 0.95, recall >= 0.90, every wink, "
                   "every series\n",
                   name);
            bad = 1;
        }
    }
    free(e.l);
    return bad;
}
