/* SPDX-License-Identifier: MIT */
/*
 * The viewer's HTTP server (include/pho/serve.h, docs/viewer.md) on libmicrohttpd: a thread
 * pool answering the front end's few requests, every one of them checked in the same order:
 *
 *   1. Host must name this server (127.0.0.1:PORT, localhost:PORT, [::1]:PORT or the
 *      address it listens on): a page of another site that resolves its own name to
 *      127.0.0.1 (DNS rebinding) is refused.
 *   2. The access token: the printed URL carries it once (?token=), which sets an HttpOnly,
 *      SameSite=Strict cookie and redirects to the same page without it; every request
 *      after needs the cookie. Compared in constant time.
 *   3. Anything but GET and HEAD needs Origin equal to this server and the CSRF token of
 *      /api/session in X-CSRF-Token.
 *   4. Every response: a Content-Security-Policy without inline script or styles and no
 *      framing, nosniff, no referrer.
 */
#include "core/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "core/file.h"
#include "pho/json.h"
#include "pho/log.h"
#include "pho/organize.h"
#include "pho/people.h"
#include "pho/serve.h"
#include "pho/text.h"
#include "serve/internal.h"

#define TOKEN_HEX 32
#define COOKIE    "pho_session"

struct pho_serve {
    struct MHD_Daemon *d;
    char *output, *models_dir;
    struct serve_library lib;
    char *assets;
    char listen[64];
    unsigned port;
    char token[TOKEN_HEX + 1], csrf[TOKEN_HEX + 1];
    char url[160];
    char hosts[4][80]; /* the Host values that name this server */
    size_t nhosts;
    /* Held to write while a change makes the result again (OUT's folders are rewritten),
     * to read while a picture or the report is read: a picture asked for during the
     * rewrite waits for it instead of finding its folder gone. */
    pthread_rwlock_t rewrite;
    bool rewrite_init;
};

static const char *const CSP =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'";

static int random_hex(char out[TOKEN_HEX + 1])
{
    unsigned char b[TOKEN_HEX / 2];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(b); i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

static bool same_secret(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    size_t n = strlen(b);
    if (strlen(a) != n)
        return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static void secure_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
}

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *type,
                                const void *data, size_t len, const char *cache)
{
    struct MHD_Response *r =
            MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    secure_headers(r);
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", cache ? cache : "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    return send_buf(c, status, "text/plain; charset=utf-8", text, strlen(text), NULL);
}

static const char *type_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        { ".html", "text/html; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".mjs", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".svg", "image/svg+xml" },
        { ".png", "image/png" },
        { ".jpg", "image/jpeg" },
        { ".jpeg", "image/jpeg" },
        { ".json", "application/json" },
        { ".woff2", "font/woff2" },
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < PHO_ARRAY_LEN(types); i++)
        if (!strcasecmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

/* Sends an open regular file (taken: closed by libmicrohttpd). */
static enum MHD_Result send_fd(struct MHD_Connection *c, int fd, uint64_t size, const char *type,
                               const char *cache)
{
    struct MHD_Response *r = MHD_create_response_from_fd64(size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    secure_headers(r);
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", cache);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* A front-end file: one name of letters, digits, '.', '-' and '_' (or vendor/ and one such
 * name), never starting with a dot, from the assets folder. */
static enum MHD_Result send_asset(struct pho_serve *s, struct MHD_Connection *c, const char *name)
{
    size_t n = strlen(name), slashes = 0;
    bool ok = n > 0 && n < 128 && name[0] != '.';
    for (size_t i = 0; ok && i < n; i++) {
        char ch = name[i];
        if (ch == '/') {
            ok = ++slashes == 1 && i > 0 && name[i + 1] && name[i + 1] != '.';
            continue;
        }
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '.' || ch == '-' || ch == '_';
    }
    if (!ok)
        return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", s->assets, name);
    int fd = -1;
    struct stat st;
    struct pho_err e = PHO_ERR_INIT;
    if (pho_file__open_regular(&fd, &st, path, "serve", &e))
        return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
    return send_fd(c, fd, (uint64_t)st.st_size, type_of(name), "no-cache");
}

static bool host_ok(const struct pho_serve *s, const char *host)
{
    for (size_t i = 0; host && i < s->nhosts; i++)
        if (!strcasecmp(host, s->hosts[i]))
            return true;
    return false;
}

static bool origin_ok(const struct pho_serve *s, const char *origin)
{
    if (!origin || strncmp(origin, "http://", 7))
        return false;
    return host_ok(s, origin + 7);
}

/* The query argument "p": a path below OUT as the report writes it; NULL when missing or
 * holding a NUL byte (which a C string would silently cut). */
static const char *path_arg(struct MHD_Connection *c)
{
    const char *v = NULL;
    size_t n = 0;
    if (MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, "p", 1, &v, &n) != MHD_YES || !v ||
        strlen(v) != n)
        return NULL;
    return v;
}

static enum MHD_Result send_picture(struct pho_serve *s, struct MHD_Connection *c)
{
    const char *rel = path_arg(c);
    const char *sz = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "s");
    unsigned size = sz ? (unsigned)strtoul(sz, NULL, 10) : 512;
    if (!rel || !pho_serve__size_ok(size))
        return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
    void *data = NULL;
    size_t len = 0;
    char etag[65], quoted[70];
    struct pho_err e = PHO_ERR_INIT;
    pthread_rwlock_rdlock(&s->rewrite);
    int rc = pho_serve__picture(&s->lib, rel, size, &data, &len, etag, &e);
    /* Asked for where a decision just moved it from: served from where it is now. */
    char *moved = rc == PHO_ENOTFOUND ? pho_serve__moved(&s->lib, rel) : NULL;
    if (moved)
        rc = pho_serve__picture(&s->lib, moved, size, &data, &len, etag, &e);
    pthread_rwlock_unlock(&s->rewrite);
    const bool moved_now = moved != NULL;
    pho_free(moved);
    if (rc == PHO_ENOTFOUND)
        return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
    if (rc) {
        pho_log(PHO_LOG_WARN, "serve", "%s", e.msg);
        return send_text(c, MHD_HTTP_UNPROCESSABLE_CONTENT, "this photo cannot be shown\n");
    }
    snprintf(quoted, sizeof(quoted), "\"%s\"", etag);
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    bool same = inm && !strcmp(inm, quoted);
    struct MHD_Response *r =
            same ? MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT)
                 : MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_COPY);
    pho_free(data);
    if (!r)
        return MHD_NO;
    secure_headers(r);
    MHD_add_response_header(r, "Content-Type", "image/jpeg");
    MHD_add_response_header(r, "ETag", quoted);
    /* The URL names the file, not its content: revalidate, cheaply, by entity tag (and a
     * picture served from its new place is not kept under the old one). */
    MHD_add_response_header(r, "Cache-Control",
                            moved_now ? "no-store" : "private, max-age=300, must-revalidate");
    enum MHD_Result ret = MHD_queue_response(c, same ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_original(struct pho_serve *s, struct MHD_Connection *c)
{
    const char *rel = path_arg(c);
    int fd = -1;
    uint64_t size = 0;
    int64_t mtime = 0;
    struct pho_err e = PHO_ERR_INIT;
    if (!rel)
        return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
    pthread_rwlock_rdlock(&s->rewrite);
    int rc = pho_serve__open_file(&s->lib, rel, &fd, &size, &mtime, &e);
    char *moved = rc == PHO_ENOTFOUND ? pho_serve__moved(&s->lib, rel) : NULL;
    if (moved)
        rc = pho_serve__open_file(&s->lib, moved, &fd, &size, &mtime, &e);
    pthread_rwlock_unlock(&s->rewrite);
    pho_free(moved);
    if (rc)
        return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
    const char *type = type_of(rel);
    /* Only picture types a browser shows itself; anything else is a download. */
    if (strncmp(type, "image/", 6) || !strcmp(type, "image/svg+xml"))
        type = "application/octet-stream";
    return send_fd(c, fd, size, type, "private, no-cache");
}

/* A request's body, gathered across calls (only the small JSON of a decision). */
#define BODY_MAX 4096
struct request {
    char body[BODY_MAX + 1];
    size_t len;
    bool too_long;
};

static void request_done(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)c;
    (void)why;
    pho_free(*state);
    *state = NULL;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    enum MHD_Result ret = send_buf(c, status, "application/json", text, strlen(text), NULL);
    free(text);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    json_t *j = json_object();
    pho_json_set_str(j, "error", msg);
    return send_json(c, status, j);
}

/* The result made again after a change, and the answer to the page: 409 while a run
 * holds the folder. */
static enum MHD_Result changed(struct pho_serve *s, struct MHD_Connection *c, int rc,
                               struct pho_err *e)
{
    if (rc == 0) {
        struct pho_organize_result r;
        pthread_rwlock_wrlock(&s->rewrite);
        rc = pho_organize_rerun(&r, s->output, s->models_dir, NULL, e);
        pthread_rwlock_unlock(&s->rewrite);
        pho_organize_result_release(&r);
    }
    if (rc == PHO_EBUSY)
        return send_error(c, MHD_HTTP_CONFLICT, e->msg);
    if (rc == PHO_EINVAL || rc == PHO_ENOTFOUND)
        return send_error(c, MHD_HTTP_BAD_REQUEST, e->msg);
    if (rc) {
        pho_log(PHO_LOG_WARN, "serve", "%s", e->msg);
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, e->msg);
    }
    json_t *ok = json_object();
    pho_json_set_bool(ok, "ok", true);
    return send_json(c, MHD_HTTP_OK, ok);
}

/* A path from the page's JSON (the report's escapes for bytes that are not UTF-8), or NULL
 * when absent; *@bad when it cannot be one. */
static char *json_path_arg(json_t *j, const char *key, bool *bad)
{
    const char *v = json_string_value(json_object_get(j, key));
    if (!v)
        return NULL;
    char *p = pho_text_json_path_decode(v);
    if (!p || !*p)
        *bad = true;
    return p;
}

/* POST /api/decide {"kind", "photo"[, "other"]} or {"kind": "undo"}: recorded in the
 * catalog, then the result made again, as `decide` does (docs/decisions.md). */
static enum MHD_Result decide(struct pho_serve *s, struct MHD_Connection *c,
                              const struct request *rq)
{
    if (rq->too_long)
        return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "the request is too long");
    json_error_t je;
    json_t *j = json_loadb(rq->body, rq->len, 0, &je);
    const char *kind = json_string_value(json_object_get(j, "kind"));
    bool bad = false;
    char *photo = json_path_arg(j, "photo", &bad), *other = json_path_arg(j, "other", &bad);
    struct pho_err e = PHO_ERR_INIT;
    int rc;
    if (kind && !strcmp(kind, "undo")) {
        struct pho_decision d;
        rc = pho_organize_undo(&d, s->output, &e);
        pho_free(d.photo);
        pho_free(d.other);
    } else if (!bad && pho_organize_decision_known(kind) && photo) {
        rc = pho_organize_decide(s->output, kind, photo, other, &e);
    } else {
        rc = pho_err_set(&e, PHO_EINVAL,
                         "a decision is {kind, photo[, other]} or {kind: undo} "
                         "(docs/decisions.md)");
    }
    pho_free(photo);
    pho_free(other);
    json_decref(j);
    return changed(s, c, rc, &e);
}

/* POST /api/people {"action": "name"|"hide"|"unhide"|"merge", "id", "name"|"other"}: what
 * `people` does (docs/people.md), then the result made again (folders and report name
 * people). */
static enum MHD_Result people(struct pho_serve *s, struct MHD_Connection *c,
                              const struct request *rq)
{
    if (rq->too_long)
        return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "the request is too long");
    json_error_t je;
    json_t *j = json_loadb(rq->body, rq->len, 0, &je);
    const char *action = json_string_value(json_object_get(j, "action"));
    json_int_t id = json_integer_value(json_object_get(j, "id"));
    json_int_t other = json_integer_value(json_object_get(j, "other"));
    const char *name = json_string_value(json_object_get(j, "name"));
    struct pho_err e = PHO_ERR_INIT;
    struct pho_people_book *book = NULL;
    int rc = id > 0 && action ? 0
                              : pho_err_set(&e, PHO_EINVAL,
                                            "a change to people is {action, id, name|other}");
    if (rc == 0)
        rc = pho_people_open(&book, s->output, true, &e);
    if (rc == 0) {
        if (!strcmp(action, "name") && name)
            rc = pho_people_name(book, id, name, &e);
        else if (!strcmp(action, "hide") || !strcmp(action, "unhide"))
            rc = pho_people_hide(book, id, !strcmp(action, "hide"), &e);
        else if (!strcmp(action, "merge") && other > 0)
            rc = pho_people_merge(book, id, other, &e);
        else
            rc = pho_err_set(&e, PHO_EINVAL, "people: no such change (name, hide, unhide, merge)");
    }
    pho_people_close(book);
    json_decref(j);
    return changed(s, c, rc, &e);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)version;
    struct pho_serve *s = cls;
    /* First call per request: headers only. */
    if (!*state) {
        *state = pho_calloc(1, sizeof(struct request));
        return *state ? MHD_YES : MHD_NO;
    }
    struct request *rq = *state;
    if (*upload_size) {
        if (rq->len + *upload_size > BODY_MAX)
            rq->too_long = true;
        else
            memcpy(rq->body + rq->len, upload, *upload_size), rq->len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (!host_ok(s, host))
        return send_text(c, MHD_HTTP_MISDIRECTED_REQUEST,
                         "this server answers only to its own address\n");
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    const char *token = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    if (get && token && !strcmp(url, "/")) {
        if (!same_secret(token, s->token))
            return send_text(c, MHD_HTTP_FORBIDDEN,
                             "this access token is not the one printed "
                             "by photo-organizer serve\n");
        /* The token becomes a cookie, and leaves the address bar and the history. */
        struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        char cookie[128];
        snprintf(cookie, sizeof(cookie), COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/", s->token);
        secure_headers(r);
        MHD_add_response_header(r, "Set-Cookie", cookie);
        MHD_add_response_header(r, "Location", "/");
        MHD_add_response_header(r, "Cache-Control", "no-store");
        enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SEE_OTHER, r);
        MHD_destroy_response(r);
        return ret;
    }
    const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE);
    if (!same_secret(cookie, s->token))
        return send_text(c, MHD_HTTP_FORBIDDEN,
                         "open the address photo-organizer serve printed: it holds the access "
                         "token\n");
    if (!get) {
        const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
        const char *csrf = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token");
        if (!origin_ok(s, origin) || !same_secret(csrf, s->csrf))
            return send_text(c, MHD_HTTP_FORBIDDEN, "refused: not from this viewer's page\n");
        if (!strcmp(method, "POST") && !strcmp(url, "/api/decide"))
            return decide(s, c, rq);
        if (!strcmp(method, "POST") && !strcmp(url, "/api/people"))
            return people(s, c, rq);
        return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "no such action\n");
    }
    if (!strcmp(url, "/"))
        return send_asset(s, c, "index.html");
    if (!strncmp(url, "/assets/", 8))
        return send_asset(s, c, url + 8);
    if (!strcmp(url, "/api/session")) {
        char body[128];
        snprintf(body, sizeof(body), "{\"csrf\":\"%s\"}", s->csrf);
        return send_buf(c, MHD_HTTP_OK, "application/json", body, strlen(body), NULL);
    }
    if (!strcmp(url, "/api/report")) {
        char *data = NULL;
        size_t len = 0;
        struct pho_err e = PHO_ERR_INIT;
        pthread_rwlock_rdlock(&s->rewrite);
        int rc = pho_serve__report(&s->lib, &data, &len, &e);
        pthread_rwlock_unlock(&s->rewrite);
        if (rc) {
            pho_log(PHO_LOG_WARN, "serve", "%s", e.msg);
            return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "the report cannot be read\n");
        }
        enum MHD_Result ret = send_buf(c, MHD_HTTP_OK, "application/json", data, len, "no-cache");
        pho_free(data);
        return ret;
    }
    if (!strcmp(url, "/img"))
        return send_picture(s, c);
    if (!strcmp(url, "/file"))
        return send_original(s, c);
    return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    pho_log(PHO_LOG_DEBUG, "serve", "%s", msg);
}

static struct MHD_Daemon *listen_on(struct pho_serve *s, unsigned port, bool v6,
                                    const struct sockaddr *sa, unsigned threads)
{
    (void)port;
    return MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0), 0, NULL,
            NULL, handle, s, MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_THREAD_POOL_SIZE, threads,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
            MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, MHD_OPTION_NOTIFY_COMPLETED, request_done,
            NULL, MHD_OPTION_END);
}

int pho_serve_start(struct pho_serve **out, const struct pho_serve_opts *opts, struct pho_err *err)
{
    *out = NULL;
    if (!opts || !opts->output || !opts->assets)
        return pho_err_set(err, PHO_EINVAL, "serve: no output folder or viewer files");
    struct pho_serve *s = pho_calloc(1, sizeof(*s));
    if (!s)
        return pho_err_set(err, PHO_ENOMEM, "serve: out of memory");
    /* Writers first: a stream of picture requests must not hold a change off. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    s->rewrite_init = pthread_rwlock_init(&s->rewrite, &ra) == 0;
    pthread_rwlockattr_destroy(&ra);
    if (!s->rewrite_init) {
        pho_free(s);
        return pho_err_set(err, PHO_ENOMEM, "serve: no lock for the output folder");
    }
    int rc = pho_serve__library_open(&s->lib, opts->output, err);
    if (rc)
        goto fail;
    s->assets = pho_strdup(opts->assets);
    s->output = pho_strdup(s->lib.out);
    s->models_dir = opts->models_dir ? pho_strdup(opts->models_dir) : NULL;
    if (!s->assets || !s->output || (opts->models_dir && !s->models_dir)) {
        rc = pho_err_set(err, PHO_ENOMEM, "serve: out of memory");
        goto fail;
    }
    if (random_hex(s->token) || random_hex(s->csrf)) {
        rc = pho_err_set(err, PHO_EIO, "serve: no randomness for the access token");
        goto fail;
    }
    pho_strlcpy(s->listen, opts->listen ? opts->listen : "127.0.0.1", sizeof(s->listen));
    struct sockaddr_in a4 = { .sin_family = AF_INET };
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
    bool v6 = strchr(s->listen, ':') != NULL;
    if (v6 ? inet_pton(AF_INET6, s->listen, &a6.sin6_addr) != 1
           : inet_pton(AF_INET, s->listen, &a4.sin_addr) != 1) {
        rc = pho_err_set(err, PHO_EINVAL, "serve: '%s' is not an IP address to listen on",
                         s->listen);
        goto fail;
    }
    unsigned first = opts->port ? opts->port : PHO_SERVE_PORT;
    unsigned tries = opts->port_exact ? 1 : PHO_SERVE_PORT_TRIES;
    unsigned threads = opts->threads ? opts->threads : 4;
    for (unsigned k = 0; k < tries && !s->d && first + k <= 65535; k++) {
        a4.sin_port = a6.sin6_port = htons((uint16_t)(first + k));
        s->d = listen_on(s, first + k, v6,
                         v6 ? (const struct sockaddr *)&a6 : (const struct sockaddr *)&a4, threads);
        if (s->d)
            s->port = first + k;
    }
    if (!s->d) {
        rc = pho_err_set(err, PHO_EBUSY,
                         opts->port_exact ? "serve: cannot listen on %s port %u (in use?)"
                                          : "serve: cannot listen on %s ports %u and up (in use?)",
                         s->listen, first);
        goto fail;
    }
    const char *shown = v6 ? "[%s]:%u" : "%s:%u";
    snprintf(s->hosts[s->nhosts++], sizeof(s->hosts[0]), shown, s->listen, s->port);
    if (!strcmp(s->listen, "127.0.0.1") || !strcmp(s->listen, "::1")) {
        snprintf(s->hosts[s->nhosts++], sizeof(s->hosts[0]), "localhost:%u", s->port);
        snprintf(s->hosts[s->nhosts++], sizeof(s->hosts[0]), "%s:%u", v6 ? "127.0.0.1" : "[::1]",
                 s->port);
    }
    snprintf(s->url, sizeof(s->url), "http://%s/?token=%s", s->hosts[0], s->token);
    *out = s;
    return 0;
fail:
    pho_serve_stop(s);
    return rc;
}

const char *pho_serve_url(const struct pho_serve *s)
{
    return s->url;
}

unsigned pho_serve_port(const struct pho_serve *s)
{
    return s->port;
}

void pho_serve_stop(struct pho_serve *s)
{
    if (!s)
        return;
    if (s->d)
        MHD_stop_daemon(s->d);
    pho_serve__library_close(&s->lib);
    if (s->rewrite_init)
        pthread_rwlock_destroy(&s->rewrite);
    pho_free(s->assets);
    pho_free(s->output);
    pho_free(s->models_dir);
    pho_free(s);
}
