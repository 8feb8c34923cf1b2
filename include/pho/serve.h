/* SPDX-License-Identifier: MIT */
/**
 * @file serve.h
 * The review viewer's web server (docs/viewer.md): an output folder's groups,
 * best shots, faces and people, served to a browser on this machine over
 * libmicrohttpd.
 *
 * Safe by construction: it binds to loopback unless told otherwise; every
 * request needs the per-run access token (in the printed URL once, then a
 * cookie); the Host header must name the server (no DNS rebinding); state
 * changes need the same Origin and a CSRF token; every response forbids
 * framing, sniffing and inline script. Only files the run's report lists are
 * served, by their path below OUT as the report gives it: nothing else of
 * OUT, and nothing outside it, can be named.
 *
 *     struct pho_serve_opts so = PHO_SERVE_OPTS_INIT;
 *     so.output = "/photos-organized";
 *     struct pho_serve *srv = NULL;
 *     if (pho_serve_start(&srv, &so, &err) == 0) {
 *         puts(pho_serve_url(srv));   // open this
 *         ...wait for a signal...
 *         pho_serve_stop(srv);
 *     }
 */
#ifndef PHO_SERVE_H
#define PHO_SERVE_H

#include <stdbool.h>

#include "pho/common.h"
#include "pho/error.h"

PHO_BEGIN_DECLS

/** The first port tried; when taken, the next ones up to this + PHO_SERVE_PORT_TRIES - 1. */
#define PHO_SERVE_PORT       8888
#define PHO_SERVE_PORT_TRIES 32

struct pho_serve_opts {
    int version;
    const char *output; /**< the output folder of an organize run */
    const char *assets; /**< the viewer's front-end files (index.html, app.js, ...) */
    /** Address to listen on: "127.0.0.1" (default), "::1", or another the caller allowed. */
    const char *listen;
    unsigned port;    /**< 0: PHO_SERVE_PORT */
    bool port_exact;  /**< only @ref port, no next free one */
    unsigned threads; /**< connection threads (default 4) */
    /** Face models folder for making the result again after a decision (NULL: default). */
    const char *models_dir;
};

#define PHO_SERVE_OPTS_INIT \
    {                       \
        .version = 1        \
    }

struct pho_serve;

/**
 * Starts serving @p opts->output in background threads. @return 0; PHO_ENOTFOUND (no
 * report in OUT: organize it first), PHO_EBUSY (no free port), PHO_EINVAL, PHO_EIO.
 */
PHO_API int pho_serve_start(struct pho_serve **out, const struct pho_serve_opts *opts,
                            struct pho_err *err);

/** The address to open, with the access token ("http://127.0.0.1:8888/?token=..."). */
PHO_API const char *pho_serve_url(const struct pho_serve *s);

/** The port it listens on. */
PHO_API unsigned pho_serve_port(const struct pho_serve *s);

/** Stops serving and frees @p s; NULL is a no-op. */
PHO_API void pho_serve_stop(struct pho_serve *s);

PHO_END_DECLS

#endif /* PHO_SERVE_H */
