/* SPDX-License-Identifier: MIT */
/*
 * Public entry points of the image module: open the file once, sniff its
 * bytes, read metadata, check the pixel limit, then hand the source to the
 * back end for its format (libvips or LibRaw).
 */
#include "core/common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "image/internal.h"

/* Enough for every signature and for the HEIF boxes that say how to turn the picture. */
#define HEAD_BYTES (64 * 1024)

int pho_image__wrap(struct pho_image **out, uint32_t w, uint32_t h, size_t stride, void *mem,
                    void (*release)(void *), struct pho_err *err)
{
    struct image_priv *p = pho_calloc(1, sizeof(*p));
    if (!p) {
        release(mem);
        return pho_err_set(err, PHO_ENOMEM, "image: out of memory");
    }
    p->pub.width = w;
    p->pub.height = h;
    p->pub.stride = stride;
    p->pub.pixels = mem;
    p->mem = mem;
    p->release = release;
    *out = &p->pub;
    return 0;
}

int pho_image_new(struct pho_image **out, uint32_t width, uint32_t height, struct pho_err *err)
{
    *out = NULL;
    if (!width || !height || (uint64_t)width * height > PHO_DEFAULT_MAX_PIXELS)
        return pho_err_set(err, PHO_EINVAL, "image: bad size %ux%u", width, height);
    void *mem = pho_calloc((size_t)width * height, 3);
    if (!mem)
        return pho_err_set(err, PHO_ENOMEM, "image: out of memory for %ux%u", width, height);
    return pho_image__wrap(out, width, height, (size_t)width * 3, mem, pho_free, err);
}

void pho_image_free(struct pho_image *img)
{
    if (!img)
        return;
    struct image_priv *p = (struct image_priv *)img;
    if (p->release)
        p->release(p->mem);
    pho_free(p);
}

int pho_image__check_pixels(const struct pho_meta *m, const struct pho_image_opts *o,
                            struct pho_err *err)
{
    uint64_t limit = (o && o->max_pixels) ? o->max_pixels : PHO_DEFAULT_MAX_PIXELS;
    uint64_t px = (uint64_t)m->width * m->height;
    if (px <= limit)
        return 0;
    /* Megapixels rounded to a whole number say "0 MP" under one million. */
    if (limit < 1000000)
        return pho_err_set(err, PHO_ELIMIT,
                           "image: %ux%u is %llu pixels, over the %llu-pixel limit "
                           "(decompression bomb?); raise it with --max-pixels",
                           m->width, m->height, (unsigned long long)px, (unsigned long long)limit);
    return pho_err_set(err, PHO_ELIMIT,
                       "image: %ux%u is %.1f megapixels, over the %.1f MP limit "
                       "(decompression bomb?); raise it with --max-pixels",
                       m->width, m->height, px / 1e6, limit / 1e6);
}

/* Describes bytes that match no image signature, for the one-line error. */
static int not_an_image(const uint8_t *head, size_t n, struct pho_err *err)
{
    size_t text = 0;
    for (size_t i = 0; i < n && i < 512; i++)
        text += isprint(head[i]) || isspace(head[i]);
    if (n && text == PHO_MIN(n, (size_t)512))
        return pho_err_set(err, PHO_EUNSUPPORTED, "image: not an image (looks like text)");
    if (n >= 4)
        return pho_err_set(err, PHO_EUNSUPPORTED,
                           "image: not a supported image format (starts with %02x %02x %02x %02x)",
                           head[0], head[1], head[2], head[3]);
    return pho_err_set(err, PHO_ECORRUPT, "image: file too short to be an image (%zu bytes)", n);
}

/*
 * A TIFF-structured file is a RAW when LibRaw finds raw sensor data in it,
 * and a plain TIFF otherwise: decided by the file's structure, never by its
 * maker tag (a TIFF from a Nikon or exported from a NEF is a TIFF that
 * libvips reads). The RAW's name comes from its suffix, else from the maker.
 */
static int raw_kind(const struct pho_meta *m, int suffix_fmt)
{
    if (pho_format_is_raw(suffix_fmt) && suffix_fmt != PHO_FORMAT_CR2)
        return suffix_fmt;
    if (!strncasecmp(m->make, "NIKON", 5))
        return PHO_FORMAT_NEF;
    if (!strncasecmp(m->make, "SONY", 4))
        return PHO_FORMAT_ARW;
    if (!strncasecmp(m->make, "PENTAX", 6) || !strncasecmp(m->make, "RICOH", 5))
        return PHO_FORMAT_PEF;
    return PHO_FORMAT_RAW;
}

static int probe_src(struct pho_meta *m, const struct img_src *src, const uint8_t *head,
                     size_t head_len, const struct pho_image_opts *o, struct pho_err *err)
{
    int fmt = pho_format_sniff(head, head_len);
    if (fmt == PHO_FORMAT_UNKNOWN)
        return not_an_image(head, head_len, err);

    /* TIFF containers carry their EXIF in the file structure itself: the
     * RAW probe's walk (LibRaw, over the whole file) collects it for plain
     * TIFFs too. */
    if (fmt == PHO_FORMAT_TIFF) {
        /* Raw sensor data inside (LibRaw's own parse decides, and is reused),
         * or a plain TIFF for libvips. A DNG says so with its DNGVersion tag. */
        struct pho_meta as_raw = *m;
        as_raw.format = PHO_FORMAT_RAW;
        if (pho_image__raw_probe(&as_raw, src, NULL) == 0 && (as_raw.flags & PHO_META_DIMENSIONS)) {
            if (as_raw.format != PHO_FORMAT_DNG)
                as_raw.format = raw_kind(&as_raw, pho_format_from_suffix(src->path));
            *m = as_raw;
            return pho_image__check_pixels(m, o, err);
        }
        /* Its metadata, read by that walk, stays with the TIFF. */
        as_raw.format = m->format;
        as_raw.flags &= ~(unsigned)PHO_META_DIMENSIONS;
        *m = as_raw;
        /* No raw data LibRaw can find. A plain TIFF, unless libvips cannot
         * read it either and its name says RAW (a cut-off or metadata-only
         * RAW): then the RAW path reports what is wrong with it. */
        int suffix_fmt = pho_format_from_suffix(src->path);
        if (pho_format_is_raw(suffix_fmt) && suffix_fmt != PHO_FORMAT_CR2) {
            struct pho_meta as_tiff = *m;
            as_tiff.format = PHO_FORMAT_TIFF;
            if (pho_image__vips_probe(&as_tiff, src, NULL) == 0) {
                *m = as_tiff;
                return pho_image__check_pixels(m, o, err);
            }
            pho_image__vips_clear_errors();
            fmt = suffix_fmt;
        }
    }
    m->format = fmt;
    int rc = pho_format_is_raw(fmt) ? pho_image__raw_probe(m, src, err)
                                    : pho_image__vips_probe(m, src, err);
    if (rc)
        return rc;
    /* Orientation precedence (docs/formats.md): a container's own transform
     * first. HEIF and AVIF files that carry irot/imir are turned upright by
     * libheif while decoding, so the EXIF Orientation the probe just read
     * (iPhones write both) must not be applied a second time. */
    if ((fmt == PHO_FORMAT_HEIC || fmt == PHO_FORMAT_HEIF || fmt == PHO_FORMAT_AVIF) &&
        pho_image__heif_transformed(head, head_len))
        m->orientation = 1;
    return pho_image__check_pixels(m, o, err);
}

/* Fills the file facts and falls back to mtime for the capture time. */
static void finish_file_meta(struct pho_meta *m, const struct stat *st)
{
    m->file_size = (uint64_t)st->st_size;
    m->mtime = st->st_mtim.tv_sec;
    m->mtime_nsec = (int32_t)st->st_mtim.tv_nsec;
    if (m->time.source == PHO_TIME_NONE) {
        pho_time_from_unix(&m->time, m->mtime, m->mtime_nsec);
        m->time.source = PHO_TIME_MTIME;
    }
}

static int open_file(int *fd_out, struct stat *st, const char *path, struct pho_err *err)
{
    int fd;
    int rc = pho_file__open_regular(&fd, st, path, "image", err);
    if (rc)
        return rc;
    if (st->st_size == 0) {
        close(fd);
        return pho_err_set(err, PHO_ECORRUPT, "image: empty file (0 bytes)");
    }
    *fd_out = fd;
    return 0;
}

static int read_head(int fd, uint8_t *head, size_t cap, size_t *got, struct pho_err *err)
{
    ssize_t n = pho_file__pread_full(fd, head, cap, 0);
    if (n < 0)
        return pho_err_set(err, PHO_EIO, "image: read error: %s", strerror(errno));
    *got = (size_t)n;
    return 0;
}

/*
 * libvips keeps one error buffer for the whole process, so when photos are
 * decoded on several threads a failure can read another photo's message.
 * Decodes therefore share a read lock; a failure is decoded once more under
 * the write lock, alone, so its message is its own and the same on every run.
 * Failures are rare; the retry costs one extra decode of a broken file.
 */
static pthread_rwlock_t diag_lock = PTHREAD_RWLOCK_INITIALIZER;

static int decode_once(struct pho_image **out, const struct img_src *src, const struct pho_meta *m,
                       const struct pho_image_opts *o, struct pho_err *err)
{
    if (pho_format_is_raw(m->format))
        return pho_image__raw_decode(out, src, m, o, err);
    return pho_image__vips_decode(out, src, m, o, err);
}

static bool worth_retrying(int rc)
{
    return rc != 0 && rc != PHO_ENOMEM && rc != PHO_ELIMIT && rc != PHO_EINVAL;
}

static int decode_checked(struct pho_image **out, const struct img_src *src,
                          const struct pho_meta *m, const struct pho_image_opts *o,
                          struct pho_err *err)
{
    pthread_rwlock_rdlock(&diag_lock);
    int rc = decode_once(out, src, m, o, err);
    pthread_rwlock_unlock(&diag_lock);
    if (worth_retrying(rc)) {
        pthread_rwlock_wrlock(&diag_lock);
        pho_image__vips_clear_errors();
        rc = decode_once(out, src, m, o, err);
        pthread_rwlock_unlock(&diag_lock);
    }
    return rc;
}

/*
 * Whether a photo is readable is decided here, once, for every caller: it
 * is when its pixels decode, recoverable damage tolerated (a bad restart
 * marker costs a few rows, not the photo). `info` and `organize` therefore
 * agree. o->strict asks in addition whether there was such damage: a
 * second, strict decode, whose complaint becomes the note of @m.
 */
static int decode(struct pho_image **out, const struct img_src *src, struct pho_meta *m,
                  const struct pho_image_opts *o, struct pho_err *err)
{
    struct pho_image_opts tolerant = *o;
    tolerant.strict = false;
    tolerant.thumbnail_ok = o->thumbnail_ok && !o->strict; /* strict asks about the pixels */
    int rc = decode_checked(out, src, m, &tolerant, err);
    if (rc == 0 && o->strict && !pho_format_is_raw(m->format)) {
        struct pho_image *check = NULL;
        struct pho_err why = PHO_ERR_INIT;
        if (decode_checked(&check, src, m, o, &why) < 0 && why.code != PHO_ENOMEM && !m->note[0]) {
            /* "image: cannot decode JPEG: corrupt JPEG data: ..." -> the decoder's words */
            const char *what =
                    strstr(why.msg, ": corrupt") ? strstr(why.msg, ": corrupt") + 2 : why.msg;
            static const char lead[] = "damaged data, recovered: ";
            pho_strlcpy(m->note, lead, sizeof(m->note));
            pho_strlcpy(m->note + sizeof(lead) - 1, what, sizeof(m->note) - (sizeof(lead) - 1));
        }
        pho_image_free(check);
    }
    return rc;
}

static int probe_locked(struct pho_meta *m, const struct img_src *src, const uint8_t *head,
                        size_t head_len, const struct pho_image_opts *o, struct pho_err *err)
{
    struct pho_meta start = *m;
    pthread_rwlock_rdlock(&diag_lock);
    int rc = probe_src(m, src, head, head_len, o, err);
    pthread_rwlock_unlock(&diag_lock);
    if (worth_retrying(rc)) {
        *m = start;
        pthread_rwlock_wrlock(&diag_lock);
        pho_image__vips_clear_errors();
        rc = probe_src(m, src, head, head_len, o, err);
        pthread_rwlock_unlock(&diag_lock);
    }
    return rc;
}

/* Shared by probe and load: open, sniff, probe. Leaves *fd open on success. */
static int probe_path(struct pho_meta *m, struct img_src *src, const char *path,
                      const struct pho_image_opts *o, struct pho_err *err)
{
    struct stat st;
    int fd = -1;
    uint8_t *head = NULL;
    pho_meta_init(m);
    int rc = open_file(&fd, &st, path, err);
    if (rc)
        return rc;
    head = pho_malloc(HEAD_BYTES);
    if (!head) {
        rc = pho_err_set(err, PHO_ENOMEM, "image: out of memory");
        goto out;
    }
    size_t n = 0;
    rc = read_head(fd, head, HEAD_BYTES, &n, err);
    if (rc)
        goto out;
    src->path = path;
    src->fd = fd;
    rc = probe_locked(m, src, head, n, o, err);
    finish_file_meta(m, &st);
out:
    pho_free(head);
    if (rc) {
        close(fd);
        src->fd = -1;
    }
    return rc;
}

int pho_image_probe(struct pho_meta *out, const char *path, const struct pho_image_opts *opts,
                    struct pho_err *err)
{
    struct img_src src = { .fd = -1 };
    int rc = probe_path(out, &src, path, opts, err);
    if (src.fd >= 0)
        close(src.fd);
    return rc;
}

int pho_image_probe_buffer(struct pho_meta *out, const void *data, size_t len,
                           const struct pho_image_opts *opts, struct pho_err *err)
{
    pho_meta_init(out);
    if (!data || len == 0)
        return pho_err_set(err, PHO_ECORRUPT, "image: empty buffer");
    struct img_src src = { .fd = -1, .data = data, .len = len };
    return probe_locked(out, &src, data, PHO_MIN(len, (size_t)HEAD_BYTES), opts, err);
}

int pho_image_load(struct pho_image **out, const char *path, const struct pho_image_opts *opts,
                   struct pho_meta *meta, struct pho_err *err)
{
    static const struct pho_image_opts defaults = PHO_IMAGE_OPTS_INIT;
    const struct pho_image_opts *o = opts ? opts : &defaults;
    struct pho_meta local;
    struct pho_meta *m = meta ? meta : &local;
    struct img_src src = { .fd = -1 };
    *out = NULL;
    int rc = probe_path(m, &src, path, o, err);
    if (rc == 0)
        rc = decode(out, &src, m, o, err);
    if (src.fd >= 0)
        close(src.fd);
    return rc;
}

int pho_image_load_buffer(struct pho_image **out, const void *data, size_t len,
                          const struct pho_image_opts *opts, struct pho_meta *meta,
                          struct pho_err *err)
{
    static const struct pho_image_opts defaults = PHO_IMAGE_OPTS_INIT;
    const struct pho_image_opts *o = opts ? opts : &defaults;
    struct pho_meta local;
    struct pho_meta *m = meta ? meta : &local;
    *out = NULL;
    int rc = pho_image_probe_buffer(m, data, len, o, err);
    if (rc)
        return rc;
    struct img_src src = { .fd = -1, .data = data, .len = len };
    return decode(out, &src, m, o, err);
}
