/* SPDX-License-Identifier: MIT */
/*
 * bench-serve [PHOTOS]: the viewer's server on an output folder of PHOTOS photos (default
 * 10,000) in groups of 2 to 5, made here: real 12-MP JPEGs from the test bursts, hard-linked
 * under distinct names (every name is a picture of its own to the server), and a report
 * listing them. Prints
 *   - time to first page: the page, its script and style, the report, and the first
 *     screen's 60 thumbnails (512 px) over 6 connections, as a browser loads it; cold (no
 *     picture cached) and warm (cached, revalidated by entity tag as a browser would, and
 *     fetched anew);
 *   - thumbnail throughput, cold and cached, 6 connections.
 * Target (issue 16): first page under 1 s warm, under 3 s cold, on 2 cores.
 */
#include "core/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <jansson.h>

#include "benchlib.h"
#include "pho/json.h"
#include "pho/serve.h"

#define CONNECTIONS  6
#define FIRST_SCREEN 60

static unsigned port;
static char cookie[128];

/* One GET over a fresh connection (as a browser's pool would have it open: connecting to
 * loopback costs microseconds); the status, or -1. Bytes of the body in *@got. */
static int get(const char *path, const char *extra, size_t *got)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char req[8192];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nCookie: %s\r\n%sConnection: "
                     "close\r\n\r\n",
                     path, port, cookie, extra ? extra : "");
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    char buf[65536];
    size_t total = 0;
    int status = -1;
    ssize_t r;
    while ((r = read(fd, buf, sizeof(buf))) > 0) {
        if (status < 0 && total == 0 && r > 12)
            status = atoi(buf + 9);
        total += (size_t)r;
    }
    close(fd);
    if (got)
        *got = total;
    return status;
}

struct batch {
    char **paths;
    size_t n;
    size_t next;
    int failures;
    pthread_mutex_t lock;
};

static void *worker(void *ud)
{
    struct batch *b = ud;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        size_t i = b->next++;
        pthread_mutex_unlock(&b->lock);
        if (i >= b->n)
            break;
        int st = get(b->paths[i], NULL, NULL);
        if (st != 200) {
            pthread_mutex_lock(&b->lock);
            b->failures++;
            pthread_mutex_unlock(&b->lock);
        }
    }
    return NULL;
}

/* Fetches @n paths over CONNECTIONS parallel connections; seconds. */
static double fetch_all(char **paths, size_t n, int *failures)
{
    struct batch b = { .paths = paths, .n = n };
    pthread_mutex_init(&b.lock, NULL);
    pthread_t t[CONNECTIONS];
    double t0 = bench_now();
    for (int i = 0; i < CONNECTIONS; i++)
        pthread_create(&t[i], NULL, worker, &b);
    for (int i = 0; i < CONNECTIONS; i++)
        pthread_join(t[i], NULL);
    pthread_mutex_destroy(&b.lock);
    *failures += b.failures;
    return bench_now() - t0;
}

/* The first page as a browser loads it: the page, then its script, style and report, then
 * the first screen of thumbnails. */
static double first_page(char **thumbs, int *failures)
{
    double t0 = bench_now();
    size_t got = 0;
    *failures += get("/", NULL, NULL) != 200;
    *failures += get("/assets/app.js", NULL, NULL) != 200;
    *failures += get("/assets/app.css", NULL, NULL) != 200;
    *failures += get("/api/report", NULL, &got) != 200;
    fetch_all(thumbs, FIRST_SCREEN, failures);
    return bench_now() - t0;
}

static char *thumb_url(const char *rel)
{
    char *enc = g_uri_escape_string(rel, NULL, false);
    size_t len = strlen(enc) + 32;
    char *u = malloc(len);
    snprintf(u, len, "/img?p=%s&s=512", enc);
    g_free(enc);
    return u;
}

int main(int argc, char **argv)
{
    size_t nphotos = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    if (nphotos < FIRST_SCREEN * 10) {
        fprintf(stderr, "bench-serve: at least %d photos\n", FIRST_SCREEN * 10);
        return 2;
    }
    const char *td = getenv("PHO_TESTDATA");
    char srcs[3][4096];
    snprintf(srcs[0], sizeof(srcs[0]), "%s/bursts/IMG_20191112_111022.jpg",
             td ? td : PHO_SOURCE_ROOT "/../shared/testdata");
    snprintf(srcs[1], sizeof(srcs[1]), "%s/bursts/IMG_20191112_111024.jpg",
             td ? td : PHO_SOURCE_ROOT "/../shared/testdata");
    snprintf(srcs[2], sizeof(srcs[2]), "%s/bursts/IMG_20191112_111035.jpg",
             td ? td : PHO_SOURCE_ROOT "/../shared/testdata");
    char out[] = "/tmp/pho-bench-serve-XXXXXX";
    if (!mkdtemp(out)) {
        perror("mkdtemp");
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/reports", out);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/.photo-organizer", out);
    mkdir(path, 0755);

    /* Groups of 2..5, their files hard links of the three 12-MP Nokia shots. */
    json_t *root = json_object(), *groups = json_array();
    char **rels = calloc(nphotos, sizeof(*rels));
    size_t made = 0, ng = 0;
    double t0 = bench_now();
    while (made < nphotos) {
        size_t size = PHO_MIN(nphotos - made, 2 + ng % 4);
        char dir[32];
        snprintf(dir, sizeof(dir), "group_%04zu", ++ng);
        snprintf(path, sizeof(path), "%s/%s", out, dir);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/%s/originals", out, dir);
        mkdir(path, 0755);
        json_t *g = json_object(), *photos = json_array();
        pho_json_set_str(g, "dir", dir);
        pho_json_set_int(g, "photo_count", (long long)size);
        pho_json_set_str(g, "why", "a benchmark group");
        for (size_t k = 0; k < size; k++, made++) {
            char name[64];
            snprintf(name, sizeof(name), "IMG_%06zu.jpg", made);
            snprintf(path, sizeof(path), "%s/%s/originals/%s", out, dir, name);
            if (link(srcs[made % 3], path) < 0) {
                fprintf(stderr, "bench-serve: %s: %s\n", path, strerror(errno));
                return 1;
            }
            json_t *p = json_object();
            pho_json_set_str(p, "id", name);
            pho_json_set_str(p, "filename", name);
            pho_json_set_bool(p, "is_best", k == 0);
            json_array_append_new(photos, p);
            char rel[128];
            snprintf(rel, sizeof(rel), "%s/originals/%s", dir, name);
            rels[made] = strdup(rel);
        }
        pho_json_set(g, "photos", photos);
        json_array_append_new(groups, g);
    }
    pho_json_set(root, "groups", groups);
    /* Each photo as a report describes it (metadata, quality, two faces): the size a real
     * report has, which the page downloads and parses first. */
    json_t *photos = json_array();
    for (size_t i = 0; i < nphotos; i++) {
        const char *slash = strrchr(rels[i], '/');
        json_t *p = json_object(), *q = json_object(), *faces = json_array();
        pho_json_set_str(p, "path", slash + 1);
        pho_json_set_str(p, "filename", slash + 1);
        pho_json_set_int(p, "filesize", 3456789);
        pho_json_set_str(p, "format", "JPEG");
        pho_json_set_int(p, "width", 4032);
        pho_json_set_int(p, "height", 3024);
        pho_json_set_int(p, "orientation", 1);
        pho_json_set_str(p, "captured", "2019-11-12T11:10:22.187+01:00");
        pho_json_set_str(p, "time_source", "DateTimeOriginal");
        pho_json_set_str(p, "make", "HMD Global");
        pho_json_set_str(p, "model", "Nokia 7.1");
        pho_json_set_real(p, "exposure_time", 0.02);
        pho_json_set_real(p, "fnumber", 1.8);
        pho_json_set_int(p, "iso", 200);
        pho_json_set_str(p, "dhash", "3333313159193139");
        pho_json_set_str(p, "phash", "bab4a4c3c3ce23c5");
        pho_json_set_real(q, "score", 0.61);
        pho_json_set_real(q, "sharpness", 512.3);
        pho_json_set_real(q, "brisque", 21.7);
        pho_json_set_real(q, "megapixels", 12.19);
        pho_json_set(p, "quality", q);
        for (int f = 0; f < 2; f++) {
            json_t *jf = json_object();
            const double box[4] = { 0.2 + 0.3 * f, 0.3, 0.3 + 0.3 * f, 0.45 };
            pho_json_set(jf, "box", pho_json_reals(box, 4));
            pho_json_set_str(jf, "eyes", "open");
            pho_json_set_real(jf, "ear_left", 0.31);
            pho_json_set_real(jf, "ear_right", 0.3);
            pho_json_set_real(jf, "smile", 0.4);
            pho_json_set_real(jf, "sharpness", 300);
            json_array_append_new(faces, jf);
        }
        pho_json_set(p, "faces", faces);
        pho_json_set_int(p, "group", 1);
        json_array_append_new(photos, p);
    }
    pho_json_set(root, "photos", photos);
    json_t *counts = json_object();
    pho_json_set_int(counts, "photos", (long long)nphotos);
    pho_json_set_int(counts, "grouped_photos", (long long)nphotos);
    pho_json_set(root, "counts", counts);
    snprintf(path, sizeof(path), "%s/reports/latest.json", out);
    json_dump_file(root, path, JSON_COMPACT);
    json_decref(root);
    struct stat st;
    stat(path, &st);
    printf("bench-serve: %zu photos in %zu groups (12-MP JPEGs, hard links), report %.1f MB, "
           "made in %.1f s\n",
           nphotos, ng, st.st_size / 1e6, bench_now() - t0);

    struct pho_serve_opts so = PHO_SERVE_OPTS_INIT;
    so.output = out;
    so.assets = PHO_SOURCE_ROOT "/viewer";
    so.port = 18990;
    struct pho_serve *srv = NULL;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_serve_start(&srv, &so, &err)) {
        fprintf(stderr, "bench-serve: %s\n", err.msg);
        return 1;
    }
    port = pho_serve_port(srv);
    const char *url = pho_serve_url(srv);
    snprintf(cookie, sizeof(cookie), "pho_session=%s", strstr(url, "token=") + 6);

    /* The first screen: the best shots of the first 60 groups, as the grid shows them. */
    char **first = calloc(FIRST_SCREEN, sizeof(*first));
    for (size_t i = 0, g = 0; i < nphotos && g < FIRST_SCREEN; g++) {
        first[g] = thumb_url(rels[i]);
        i += 2 + g % 4;
    }
    int failures = 0;
    double cold = first_page(first, &failures);
    double warm = first_page(first, &failures);
    printf("time to first page (page, script, style, report, %d thumbnails, %d connections): "
           "cold %.2f s, warm %.2f s\n",
           FIRST_SCREEN, CONNECTIONS, cold, warm);

    /* Throughput over photos not yet seen, then the same again from the cache. */
    /* The last photos: none of the first screen's (60 groups of at most 5). */
    size_t nt = PHO_MIN(nphotos - FIRST_SCREEN * 5, (size_t)600);
    char **more = calloc(nt, sizeof(*more));
    for (size_t i = 0; i < nt; i++)
        more[i] = thumb_url(rels[nphotos - 1 - i]);
    double tc = fetch_all(more, nt, &failures);
    double tw = fetch_all(more, nt, &failures);
    printf("thumbnails (512 px from 12-MP JPEGs, %d connections): cold %.0f/s (%.1f ms each), "
           "cached %.0f/s\n",
           CONNECTIONS, nt / tc, 1000.0 * tc / nt * CONNECTIONS, nt / tw);
    double tr = bench_now();
    size_t got = 0;
    get("/api/report", NULL, &got);
    printf("report alone: %.0f ms (%.1f MB)\n", 1000.0 * (bench_now() - tr), got / 1e6);
    if (failures)
        printf("FAILED requests: %d\n", failures);
    pho_serve_stop(srv);
    for (size_t i = 0; i < FIRST_SCREEN; i++)
        free(first[i]);
    for (size_t i = 0; i < nt; i++)
        free(more[i]);
    for (size_t i = 0; i < nphotos; i++)
        free(rels[i]);
    free(first);
    free(more);
    free(rels);
    bench_remove("bench-serve", out);
    return failures ? 1 : 0;
}
