/* SPDX-License-Identifier: MIT */
/*
 * bench/backends: the table of docs/backends.md, measured on the labelled
 * test photos for every backend whose models are installed:
 *   - detection: recall and false faces on photos with an exact face count
 *     (count-based: found faces up to the label are hits, the rest false);
 *   - eyes: closed-eye accuracy on single-face photos labelled open /
 *     one_closed / both_closed (largest face);
 *   - identity: verification accuracy over all pairs of single-face photos
 *     with a person label, at the backend's same-person threshold;
 *   - speed: photos/s over faces/ on all cores (decode included).
 * Usage: bench-backends [--models-dir DIR] [--threads N] [BACKEND...]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchlib.h"
#include "pho/face.h"
#include "pho/image.h"
#include "pho/parallel.h"

struct label {
    char file[256];
    int faces; /* -1 unknown / inexact */
    char person[96];
    char eyes[24];
};

struct result {
    struct pho_face_list faces;
    bool ok;
};

struct job {
    struct pho_face_engine *fe;
    const struct label *labels;
    struct result *res;
    const char *root;
};

static size_t read_labels(const char *root, struct label *out, size_t max)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/labels.csv", root);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[1024];
    size_t n = 0;
    while (fgets(line, sizeof(line), f) && n < max) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!strncmp(line, "file,", 5))
            continue;
        char *field[8] = { 0 };
        int nf = 0;
        for (char *p = line; p && nf < 8; nf++) {
            field[nf] = p;
            p = strchr(p, ',');
            if (p)
                *p++ = '\0';
        }
        if (nf < 4 || strncmp(field[0], "faces/", 6) != 0)
            continue; /* the face photos only */
        size_t len = strlen(field[0]);
        if (len >= sizeof(out[n].file))
            continue;
        struct label *l = &out[n++];
        memset(l, 0, sizeof(*l));
        memcpy(l->file, field[0], len + 1);
        char *end = NULL;
        long v = strtol(field[1], &end, 10);
        l->faces = (*field[1] && !*end) ? (int)v : -1;
        if (!strchr(field[2], ';'))
            snprintf(l->person, sizeof(l->person), "%s", field[2]);
        snprintf(l->eyes, sizeof(l->eyes), "%s", field[3]);
    }
    fclose(f);
    return n;
}

static void analyse(void *ud, size_t i, unsigned worker)
{
    struct job *j = ud;
    (void)worker;
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", j->root, j->labels[i].file);
    struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
    o.max_size = 1600;
    o.allow_larger = true;
    struct pho_image *img = NULL;
    j->res[i].ok = pho_image_load(&img, path, &o, NULL, NULL) == 0 &&
                   pho_face_analyze(j->fe, img, &j->res[i].faces, NULL) == 0;
    pho_image_free(img);
}

static const struct pho_face *largest(const struct pho_face_list *fl)
{
    const struct pho_face *best = NULL;
    float area = 0;
    for (size_t i = 0; i < fl->count; i++) {
        const struct pho_face *f = &fl->faces[i];
        float a = (f->box[2] - f->box[0]) * (f->box[3] - f->box[1]);
        if (a > area) {
            area = a;
            best = f;
        }
    }
    return best;
}

static void measure(const char *backend, const char *models_dir, unsigned threads, const char *root,
                    const struct label *labels, size_t n)
{
    struct pho_face_opts fo = PHO_FACE_OPTS_INIT;
    fo.backend = backend;
    fo.models_dir = models_dir;
    fo.threads = 1;
    struct pho_face_engine *fe = NULL;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_face_engine_open(&fe, &fo, &err)) {
        printf("| %s | not measured: %s |\n", backend, err.msg);
        return;
    }
    struct result *res = calloc(n, sizeof(*res));
    struct job job = { fe, labels, res, root };
    pho_parallel_for(n, threads, analyse, &job); /* warm-up, results discarded */
    for (size_t i = 0; i < n; i++)
        pho_face_list_release(&res[i].faces);
    double t0 = bench_now();
    pho_parallel_for(n, threads, analyse, &job);
    double wall = bench_now() - t0;

    int labelled = 0, hits = 0, false_faces = 0;
    int eyes_n = 0, eyes_ok = 0, eyes_unknown = 0;
    for (size_t i = 0; i < n; i++) {
        const struct label *l = &labels[i];
        const struct pho_face_list *fl = &res[i].faces;
        if (l->faces >= 0 && res[i].ok) {
            labelled += l->faces;
            hits += (int)fl->count < l->faces ? (int)fl->count : l->faces;
            false_faces += (int)fl->count > l->faces ? (int)fl->count - l->faces : 0;
        }
        bool closed_label = !strcmp(l->eyes, "both_closed") || !strcmp(l->eyes, "one_closed");
        if (l->faces == 1 && (closed_label || !strcmp(l->eyes, "open"))) {
            const struct pho_face *f = largest(fl);
            eyes_n++;
            if (!f || f->eyes_closed < 0)
                eyes_unknown++;
            else
                eyes_ok += (f->eyes_closed == 1) == closed_label;
        }
    }
    int pairs = 0, correct = 0, same_pairs = 0;
    float thr = pho_face_engine_same_person(fe);
    enum pho_face_metric metric = pho_face_engine_metric(fe);
    for (size_t a = 0; a < n; a++) {
        for (size_t b = a + 1; b < n; b++) {
            if (labels[a].faces != 1 || labels[b].faces != 1 || !labels[a].person[0] ||
                !labels[b].person[0])
                continue;
            const struct pho_face *fa = largest(&res[a].faces), *fb = largest(&res[b].faces);
            bool same = !strcmp(labels[a].person, labels[b].person);
            if (!fa || !fb || !fa->embed_dim || fa->embed_dim != fb->embed_dim)
                continue;
            float d = pho_face_distance(metric, fa->embed, fb->embed, fa->embed_dim);
            pairs++;
            same_pairs += same;
            correct += (d <= thr) == same;
        }
    }
    char ident[96] = "no embeddings";
    if (pairs)
        snprintf(ident, sizeof(ident), "%.1f%% of %d pairs (%d same) at %.3f",
                 100.0 * correct / pairs, pairs, same_pairs, thr);
    printf("| %s | %.1f%% (%d of %d) | %d | %.0f%% of %d (%d not judged) | %s | %.1f |\n", backend,
           labelled ? 100.0 * hits / labelled : 0, hits, labelled, false_faces,
           eyes_n ? 100.0 * eyes_ok / eyes_n : 0, eyes_n, eyes_unknown, ident, n / wall);
    for (size_t i = 0; i < n; i++)
        pho_face_list_release(&res[i].faces);
    free(res);
    pho_face_engine_close(fe);
}

int main(int argc, char **argv)
{
    const char *models_dir = NULL;
    unsigned threads = pho_cpu_count();
    const char *names[8];
    int nn = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts("usage: bench-backends [--models-dir DIR] [--threads N] [BACKEND...]\n"
                 "detection, eyes, identity and speed of each backend on the labelled photos "
                 "of $PHO_TESTDATA, as the table of docs/backends.md");
            return 0;
        }
        if (!strcmp(argv[i], "--models-dir") && i + 1 < argc)
            models_dir = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (nn < 8)
            names[nn++] = argv[i];
    }
    if (nn == 0) {
        void *it = NULL;
        const struct pho_face_backend_info *bi;
        while ((bi = pho_face_backend_iterate(&it)) && nn < 8)
            names[nn++] = bi->name;
    }
    const char *td = getenv("PHO_TESTDATA");
    const char *root = td ? td : "../shared/testdata";
    static struct label labels[256];
    size_t n = read_labels(root, labels, 256);
    if (!n) {
        fprintf(stderr, "bench-backends: no labels under %s (set PHO_TESTDATA)\n", root);
        return 1;
    }
    printf("bench-backends: %zu labelled face photos, %u threads, CPU, decode at 1600 px\n\n", n,
           threads);
    printf("| backend | detection recall | false faces | eyes-closed accuracy | identity "
           "verification | photos/s |\n");
    printf("|---|---|---|---|---|---|\n");
    for (int i = 0; i < nn; i++)
        measure(names[i], models_dir, threads, root, labels, n);
    return 0;
}
