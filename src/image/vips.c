/* SPDX-License-Identifier: MIT */
/*
 * JPEG, PNG, HEIF/HEIC/AVIF, WebP, GIF and TIFF through libvips: header and
 * EXIF block for probing; vips_thumbnail for decoding, which uses JPEG DCT
 * scaling and HEIF/WebP shrink-on-load and turns the image upright.
 */
#include "core/common.h"

#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vips/vips.h>

#include "core/file.h"
#include "exif/tags.h"
#include "exif/thumb.h"
#include "image/internal.h"

static pthread_once_t vips_once = PTHREAD_ONCE_INIT;
static int vips_start_rc;
static int vips_threads = 1;

/* The first warning libvips logged since the errors were last cleared: some
 * loaders (PNG) put the reason a file is refused there, not in the error
 * buffer, and from libvips' worker threads. Process-wide like that buffer,
 * and read under the same rule (image.c): a failed load is retried alone,
 * after a clear, so the warning read then is its own. */
static char last_warning[PHO_ERR_MSG_MAX / 2];
static pthread_mutex_t warning_lock = PTHREAD_MUTEX_INITIALIZER;

static void warning_clear(void)
{
    pthread_mutex_lock(&warning_lock);
    last_warning[0] = '\0';
    pthread_mutex_unlock(&warning_lock);
}

/* libvips reports recoverable trouble through GLib's log; the library never prints. */
static void glib_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer ud)
{
    PHO_UNUSED(ud);
    if ((level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL)) && domain &&
        !strcmp(domain, "VIPS") && msg) {
        pthread_mutex_lock(&warning_lock);
        if (!last_warning[0]) /* the first: closest to the cause */
            pho_strlcpy(last_warning, msg, sizeof(last_warning));
        pthread_mutex_unlock(&warning_lock);
    }
    enum pho_log_level lv =
            (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) ? PHO_LOG_WARN : PHO_LOG_DEBUG;
    pho_log(lv, domain ? domain : "glib", "%s", msg);
}

static void vips_start_once(void)
{
    g_log_set_handler("VIPS", G_LOG_LEVEL_MASK, glib_log, NULL);
    g_log_set_handler("GLib-GObject", G_LOG_LEVEL_MASK, glib_log, NULL);
    if (VIPS_INIT("photo-organizer")) {
        vips_start_rc = -1;
        return;
    }
    /* Photos are processed one per worker thread; libvips' own cache and
     * thread pool would only add memory and contention on top of that. */
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_concurrency_set(vips_threads);
    /* Only the loaders we sniff for are ever wanted; never ImageMagick & co. */
    vips_block_untrusted_set(TRUE);
}

void pho_image_set_concurrency(int threads)
{
    vips_threads = threads > 0 ? threads : 1;
}

int pho_image__vips_start(struct pho_err *err)
{
    pthread_once(&vips_once, vips_start_once);
    if (vips_start_rc)
        return pho_err_set(err, PHO_EBACKEND, "image: libvips failed to start");
    return 0;
}

void pho_image__vips_clear_errors(void)
{
    warning_clear();
    if (pho_image__vips_start(NULL) == 0)
        vips_error_clear();
}

/* Lines that say a load failed without saying why. */
static bool says_nothing(const char *line, size_t n)
{
    static const char *const generic[] = {
        "operation is blocked",       "libpng read error", "unable to open source for input",
        "is not a known file format", "load failed",       "unable to read source",
        "unable to read file",
    };
    for (size_t i = 0; i < PHO_ARRAY_LEN(generic); i++) {
        size_t k = strlen(generic[i]);
        for (size_t j = 0; j + k <= n; j++)
            if (!strncasecmp(line + j, generic[i], k))
                return true;
    }
    return false;
}

/* "VipsJpeg: Premature end" / "TIFFFetchDirectory: Sanity check" / "/path: bad seek"
 * -> the text after a one-word prefix. */
static const char *strip_prefix(const char *line, size_t *n)
{
    const char *colon = memchr(line, ':', *n);
    bool name_like = false; /* a class, function or path, not a chunk name like "IHDR" */
    for (const char *c = line; colon && c < colon; c++)
        name_like |= (*c >= 'a' && *c <= 'z') || *c == '/' || *c == '_';
    if (colon && name_like && colon[1] == ' ' && !memchr(line, ' ', (size_t)(colon - line))) {
        *n -= (size_t)(colon + 2 - line);
        return colon + 2;
    }
    return line;
}

/*
 * The reason for @what: the first line of libvips' error buffer, the one
 * closest to the cause (a loader's own words, e.g. libtiff's), or rather the
 * last line of the same loader after it: libjpeg's first warning ("corrupt
 * JPEG data: 3 extraneous bytes") is logged before its fatal error, which is
 * the reason. When the first line says nothing ("libpng read error"), the
 * first warning a loader logged (libvips' PNG loader reports "IHDR: CRC
 * error" only there), else the next line that says something.
 */
int pho_image__vips_fail(struct pho_err *err, int code, const char *what)
{
    char *buf = vips_error_buffer_copy();
    char warning[sizeof(last_warning)];
    pthread_mutex_lock(&warning_lock);
    memcpy(warning, last_warning, sizeof(warning));
    pthread_mutex_unlock(&warning_lock);
    const char *all = buf ? buf : "";
    const char *msg = NULL;
    size_t n = 0;
    const char *first = NULL;
    size_t first_n = 0;
    const char *source = NULL; /* the prefix of the chosen line ("VipsJpeg: "), if any */
    size_t source_n = 0;
    for (const char *line = all; *line;) {
        size_t len = strcspn(line, "\n");
        size_t k = len;
        const char *text = strip_prefix(line, &k);
        size_t prefix_n = (size_t)(text - line);
        if (msg) {
            /* A later line of the same loader: its final word. */
            if (k && prefix_n && prefix_n == source_n && !memcmp(line, source, prefix_n) &&
                !says_nothing(text, k)) {
                msg = text;
                n = k;
            }
        } else {
            if (k && !first) {
                first = text;
                first_n = k;
            }
            if (k && !says_nothing(text, k)) {
                msg = text;
                n = k;
                source = line;
                source_n = prefix_n;
            } else if (k && first == text && warning[0]) {
                break;
            }
        }
        line += len;
        while (*line == '\n')
            line++;
    }
    if (!msg && warning[0]) {
        n = strlen(warning);
        msg = strip_prefix(warning, &n);
    }
    if (!msg) {
        msg = first ? first : "";
        n = first_n;
    }
    while (n > 0 && (msg[n - 1] == '.' || msg[n - 1] == ' '))
        n--;
    if (n == 0)
        pho_err_set(err, code, "%s", what);
    else
        pho_err_set(err, code, "%s: %c%.*s", what,
                    (msg[0] >= 'A' && msg[0] <= 'Z' && !(msg[1] >= 'A' && msg[1] <= 'Z'))
                            ? msg[0] - 'A' + 'a'
                            : msg[0],
                    (int)n - 1, msg + 1);
    g_free(buf);
    return code;
}

static VipsSource *open_source(const struct img_src *src)
{
    if (src->path) {
        /* A descriptor, not the name: libvips reads "name[options]" from file
         * names, and a photo may well be called "party[2].jpg". */
        return vips_source_new_from_descriptor(src->fd);
    }
    return vips_source_new_from_memory(src->data, src->len);
}

/*
 * The header through the loader of the format the bytes say, not libvips'
 * own guess: when a damaged TIFF fails libvips' "is it a TIFF?" test, the
 * guess falls through to a blocked loader and libtiff's reason is lost.
 */
static VipsImage *load_header(VipsSource *s, int format)
{
    static const char *const loaders[PHO_FORMAT_COUNT_] = {
        [PHO_FORMAT_JPEG] = "jpegload_source", [PHO_FORMAT_PNG] = "pngload_source",
        [PHO_FORMAT_TIFF] = "tiffload_source", [PHO_FORMAT_WEBP] = "webpload_source",
        [PHO_FORMAT_GIF] = "gifload_source",   [PHO_FORMAT_HEIC] = "heifload_source",
        [PHO_FORMAT_HEIF] = "heifload_source", [PHO_FORMAT_AVIF] = "heifload_source",
    };
    const char *loader = format > 0 && format < PHO_FORMAT_COUNT_ ? loaders[format] : NULL;
    VipsImage *img = NULL;
    if (!loader)
        return vips_image_new_from_source(s, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    return vips_call(loader, s, &img, "access", VIPS_ACCESS_SEQUENTIAL, NULL) ? NULL : img;
}

int pho_image__vips_probe(struct pho_meta *m, const struct img_src *src, struct pho_err *err)
{
    int rc = pho_image__vips_start(err);
    if (rc == 0 && m->format == PHO_FORMAT_PNG)
        rc = pho_image__png_check(src, err);
    if (rc)
        return rc;
    VipsSource *source = open_source(src);
    if (!source)
        return pho_image__vips_fail(err, PHO_EIO, "image: cannot read");
    VipsImage *img = load_header(source, m->format);
    g_object_unref(source);
    if (!img)
        return pho_image__vips_fail(err, PHO_ECORRUPT, "image: cannot read header");

    m->width = (uint32_t)vips_image_get_width(img);
    m->height = (uint32_t)vips_image_get_page_height(img);
    m->flags |= PHO_META_DIMENSIONS;

    const void *exif = NULL;
    size_t exif_len = 0;
    if (vips_image_get_typeof(img, VIPS_META_EXIF_NAME) &&
        vips_image_get_blob(img, VIPS_META_EXIF_NAME, &exif, &exif_len) == 0 && exif_len) {
        /* A damaged EXIF block is not a damaged photo: keep what the header gave. */
        pho_exif_parse(m, exif, exif_len, NULL);
    }
    const void *xmp = NULL;
    size_t xmp_len = 0;
    if (m->format == PHO_FORMAT_PNG) {
        /* libvips stops at the image data; EXIF often follows it. */
        rc = pho_image__png_meta(m, src);
    } else if ((m->format == PHO_FORMAT_HEIC || m->format == PHO_FORMAT_HEIF ||
                m->format == PHO_FORMAT_AVIF) &&
               pho_exif_time_rank(m->time.source) > pho_exif_time_rank(PHO_TIME_XMP)) {
        /* Reading the XMP item opens the file again: only when its date could count. */
        pho_image__heif_xmp(m, src);
    } else if (vips_image_get_typeof(img, VIPS_META_XMP_NAME) &&
               vips_image_get_blob(img, VIPS_META_XMP_NAME, &xmp, &xmp_len) == 0 && xmp_len) {
        /* The XMP date counts only where the EXIF has none as good. */
        pho_xmp_parse(m, xmp, xmp_len, NULL);
    }
    g_object_unref(img);
    if (rc)
        return pho_err_set(err, rc, "image: out of memory");
    return 0;
}

static void release_gmem(void *mem)
{
    g_free(mem);
}

/* Swap helper: unref the old image and keep the new one. */
static void take(VipsImage **cur, VipsImage *next)
{
    g_object_unref(*cur);
    *cur = next;
}

int pho_image__vips_finish(struct pho_image **out, void *in_, uint32_t max_size, int orientation,
                           const char *what, struct pho_err *err)
{
    VipsImage *img = in_;
    VipsImage *t = NULL;
    int rc = 0;

    if (max_size) {
        int w = vips_image_get_width(img), h = vips_image_get_height(img);
        int longest = PHO_MAX(w, h);
        if (longest > (int)max_size) {
            if (vips_resize(img, &t, (double)max_size / longest, NULL)) {
                rc = pho_image__vips_fail(err, PHO_ECORRUPT, what);
                goto out;
            }
            take(&img, t);
        }
    }
    if (orientation > 1 && orientation <= 8) {
        /* Sequential loaders cannot be read backwards, which a 180-degree turn
         * or a flip needs: decode (the already shrunk image) into memory first. */
        if (!(t = vips_image_copy_memory(img))) {
            rc = pho_image__vips_fail(err, PHO_ECORRUPT, what);
            goto out;
        }
        take(&img, t);
        vips_image_set_int(img, VIPS_META_ORIENTATION, orientation);
        if (vips_autorot(img, &t, NULL)) {
            rc = pho_image__vips_fail(err, PHO_ECORRUPT, what);
            goto out;
        }
        take(&img, t);
    }
    if (vips_image_hasalpha(img)) {
        double white[3] = { 255, 255, 255 };
        VipsArrayDouble *bg = vips_array_double_new(white, 3);
        int frc = vips_flatten(img, &t, "background", bg, NULL);
        vips_area_unref(VIPS_AREA(bg));
        if (frc) {
            rc = pho_image__vips_fail(err, PHO_ECORRUPT, what);
            goto out;
        }
        take(&img, t);
    }
    if (vips_image_get_interpretation(img) != VIPS_INTERPRETATION_sRGB ||
        vips_image_get_bands(img) != 3) {
        if (vips_colourspace(img, &t, VIPS_INTERPRETATION_sRGB, NULL)) {
            rc = pho_image__vips_fail(err, PHO_EUNSUPPORTED, what);
            goto out;
        }
        take(&img, t);
    }
    if (vips_image_get_bands(img) > 3) {
        if (vips_extract_band(img, &t, 0, "n", 3, NULL)) {
            rc = pho_image__vips_fail(err, PHO_ECORRUPT, what);
            goto out;
        }
        take(&img, t);
    }
    if (vips_image_get_format(img) != VIPS_FORMAT_UCHAR) {
        if (vips_cast(img, &t, VIPS_FORMAT_UCHAR, "shift",
                      vips_image_get_format(img) == VIPS_FORMAT_USHORT, NULL)) {
            rc = pho_image__vips_fail(err, PHO_ECORRUPT, what);
            goto out;
        }
        take(&img, t);
    }
    if (vips_image_get_bands(img) != 3) {
        rc = pho_err_set(err, PHO_EUNSUPPORTED, "%s: %d colour bands after conversion", what,
                         vips_image_get_bands(img));
        goto out;
    }
    size_t size = 0;
    void *mem = vips_image_write_to_memory(img, &size);
    if (!mem) {
        rc = pho_image__vips_fail(err, PHO_ECORRUPT, what);
        goto out;
    }
    uint32_t w = (uint32_t)vips_image_get_width(img), h = (uint32_t)vips_image_get_height(img);
    PHO_ASSERT(size == (size_t)w * h * 3);
    rc = pho_image__wrap(out, w, h, (size_t)w * 3, mem, release_gmem, err);
out:
    g_object_unref(img);
    return rc;
}

/*
 * The EXIF thumbnail of a JPEG whose header @main has been read, when it can
 * stand in for the photo (pho_image_opts.thumbnail_ok says when). 0 with
 * *out set, or nonzero: decode the photo itself. Nothing here is an error
 * of the photo's: a broken thumbnail just means the full decode.
 */
/*
 * True when the JPEG's last two bytes are its End Of Image marker. Inside
 * entropy-coded data 0xFF is always followed by 0x00 or a restart marker, so
 * a file cut anywhere in its pixels cannot end that way: the stand-in never
 * passes off a truncated photo (whose thumbnail sits intact at the start) as
 * readable. Files with data after the marker (motion photos, maker trailers)
 * are decoded instead.
 */
static bool ends_with_eoi(const struct img_src *src)
{
    uint8_t tail[2];
    if (src->path) {
        struct stat st;
        if (fstat(src->fd, &st) || st.st_size < 4 ||
            pho_file__pread_full(src->fd, tail, 2, st.st_size - 2) != 2)
            return false;
    } else {
        if (src->len < 4)
            return false;
        memcpy(tail, src->data + src->len - 2, 2);
    }
    return tail[0] == 0xff && tail[1] == 0xd9;
}

static int thumb_stand_in(struct pho_image **out, VipsImage *main, const struct img_src *src,
                          const struct pho_meta *m, const struct pho_image_opts *o)
{
    if (!ends_with_eoi(src))
        return PHO_ENOTFOUND;
    const void *exif = NULL;
    size_t exif_len = 0;
    if (!vips_image_get_typeof(main, VIPS_META_EXIF_NAME) ||
        vips_image_get_blob(main, VIPS_META_EXIF_NAME, &exif, &exif_len) || !exif_len)
        return PHO_ENOTFOUND;
    struct pho_exif_thumb t;
    int rc = pho_exif__thumb(&t, exif, exif_len);
    if (rc)
        goto out;
    uint32_t W = m->width, H = m->height;
    rc = PHO_ENOTFOUND;
    /* Metadata written for another size came from another picture (or an older crop). */
    if (t.pixel_w && t.pixel_h && !(t.pixel_w == W && t.pixel_h == H) &&
        !(t.pixel_w == H && t.pixel_h == W))
        goto out;
    VipsImage *img = NULL;
    if (vips_jpegload_buffer(t.jpeg, t.len, &img, "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL) ||
        !img) {
        pho_image__vips_clear_errors();
        goto out;
    }
    uint32_t tw = (uint32_t)vips_image_get_width(img), th = (uint32_t)vips_image_get_height(img);
    /* Same shape: letterboxed thumbnails (black bars) and crops differ by far more than the
     * rounding of a 160 x 107 thumbnail of a 3:2 frame (0.3 %). */
    double shape = ((double)tw * H) / ((double)th * W);
    if (PHO_MAX(tw, th) < PHO_IMAGE_THUMB_MIN || !W || !H || fabs(shape - 1) > 0.02) {
        g_object_unref(img);
        goto out;
    }
    uint32_t fit = o->max_size;
    if (fit && (PHO_MAX(tw, th) <= fit || (o->allow_larger && PHO_MAX(tw, th) < 2 * fit)))
        fit = 0;
    /* finish() decodes into memory before it returns, while t.jpeg is still alive. */
    if (pho_image__vips_finish(out, img, fit, m->orientation, "image: EXIF thumbnail", NULL)) {
        pho_image__vips_clear_errors();
        goto out;
    }
    (*out)->from_thumbnail = true;
    rc = 0;
out:
    pho_exif__thumb_release(&t);
    return rc;
}

int pho_image__vips_decode(struct pho_image **out, const struct img_src *src,
                           const struct pho_meta *m, const struct pho_image_opts *o,
                           struct pho_err *err)
{
    int rc = pho_image__vips_start(err);
    if (rc == 0 && m->format == PHO_FORMAT_PNG)
        rc = pho_image__png_check(src, err);
    if (rc)
        return rc;
    VipsSource *source = open_source(src);
    if (!source)
        return pho_image__vips_fail(err, PHO_EIO, "image: cannot read");

    /* Truncation is always an error; strict mode fails on any decoder warning too. */
    const char *fail_on = o->strict ? "warning" : "truncated";
    VipsImage *img = NULL;
    char what[64];
    snprintf(what, sizeof(what), "image: cannot decode %s", pho_format_name(m->format));
    if (o->max_size && m->format == PHO_FORMAT_JPEG) {
        /* DCT scaling by the largest power of two that still leaves at least
         * max_size pixels. vips_thumbnail would stop one step earlier (it keeps
         * a factor of two for the final resize), which doubles the decode cost
         * at hashing sizes; the Lanczos resize in finish() is sharp enough. */
        uint32_t longest = PHO_MAX(m->width, m->height);
        int shrink = 1;
        /* Strict mode decodes every coefficient: scaled IDCTs skip some damage. */
        while (!o->strict && shrink < 8 && longest / (uint32_t)(shrink * 2) >= o->max_size)
            shrink *= 2;
        /* Through the generic loader: it is the path that honours fail_on. */
        img = vips_image_new_from_source(
                source, "", "shrink", shrink, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                o->strict ? VIPS_FAIL_ON_WARNING : VIPS_FAIL_ON_TRUNCATED, NULL);
    } else if (o->max_size) {
        /* Shrinks while loading. Orientation is ours to apply (from libexif), the
         * same way for every format; thumbnail_source takes loader options as a string. */
        char loader_opts[32];
        snprintf(loader_opts, sizeof(loader_opts), "fail_on=%s", fail_on);
        if (vips_thumbnail_source(source, &img, (int)o->max_size, "height", (int)o->max_size,
                                  "size", VIPS_SIZE_DOWN, "no_rotate", TRUE, "option_string",
                                  loader_opts, NULL))
            img = NULL;
    } else {
        /* Random access: a full-size image may need rotating, which reads out of order. */
        img = vips_image_new_from_source(source, "", "fail_on",
                                         o->strict ? VIPS_FAIL_ON_WARNING : VIPS_FAIL_ON_TRUNCATED,
                                         NULL);
    }
    g_object_unref(source);
    if (!img)
        return pho_image__vips_fail(err, PHO_ECORRUPT, what);
    if (o->thumbnail_ok && !o->strict && m->format == PHO_FORMAT_JPEG &&
        thumb_stand_in(out, img, src, m, o) == 0) {
        /* The photo's own pixels were never decoded (libvips is lazy). */
        g_object_unref(img);
        return 0;
    }

    /* libvips is lazy: decoding errors surface inside finish, under the same label. */
    uint32_t fit = o->max_size;
    if (fit && o->allow_larger &&
        (uint32_t)PHO_MAX(vips_image_get_width(img), vips_image_get_height(img)) < 2 * fit)
        fit = 0;
    return pho_image__vips_finish(out, img, fit, m->orientation, what, err);
}

int pho_image_jpeg(void **out, size_t *len, const struct pho_image *img, const float box[4],
                   uint32_t max_size, int quality, struct pho_err *err)
{
    *out = NULL;
    *len = 0;
    int rc = pho_image__vips_start(err);
    if (rc)
        return rc;
    /* The box (fractions of the image), inside the image and at least a pixel. */
    double x0 = PHO_MAX(0.0, box[0]) * img->width, y0 = PHO_MAX(0.0, box[1]) * img->height;
    double x1 = PHO_MIN(1.0, box[2]) * img->width, y1 = PHO_MIN(1.0, box[3]) * img->height;
    int left = (int)x0, top = (int)y0;
    int w = PHO_MAX(1, (int)(x1 - left)), h = PHO_MAX(1, (int)(y1 - top));
    if (left >= (int)img->width || top >= (int)img->height)
        return pho_err_set(err, PHO_EINVAL, "image: the region is outside the image");
    w = PHO_MIN(w, (int)img->width - left);
    h = PHO_MIN(h, (int)img->height - top);
    VipsImage *whole = vips_image_new_from_memory(img->pixels, img->stride * img->height,
                                                  (int)(img->stride / 3), (int)img->height, 3,
                                                  VIPS_FORMAT_UCHAR);
    VipsImage *part = NULL, *small = NULL;
    void *buf = NULL;
    size_t n = 0;
    if (!whole || vips_extract_area(whole, &part, left, top, w, h, NULL) ||
        vips_thumbnail_image(part, &small, (int)max_size, "size", VIPS_SIZE_DOWN, NULL) ||
        vips_jpegsave_buffer(small, &buf, &n, "Q", quality, "strip", TRUE, NULL))
        rc = pho_image__vips_fail(err, PHO_EIO, "image: cannot write a JPEG");
    if (small)
        g_object_unref(small);
    if (part)
        g_object_unref(part);
    if (whole)
        g_object_unref(whole);
    if (rc == 0) {
        *out = pho_malloc(n ? n : 1);
        if (!*out)
            rc = pho_err_set(err, PHO_ENOMEM, "image: out of memory");
        else
            memcpy(*out, buf, n), *len = n;
    }
    g_free(buf);
    return rc;
}

int pho_image_fit(struct pho_image **out, const struct pho_image *img, uint32_t max_size,
                  struct pho_err *err)
{
    *out = NULL;
    int rc = pho_image__vips_start(err);
    if (rc)
        return rc;
    uint32_t longest = PHO_MAX(img->width, img->height);
    VipsImage *whole = vips_image_new_from_memory(img->pixels, img->stride * img->height,
                                                  (int)(img->stride / 3), (int)img->height, 3,
                                                  VIPS_FORMAT_UCHAR);
    VipsImage *part = NULL;
    if (!whole || vips_extract_area(whole, &part, 0, 0, (int)img->width, (int)img->height, NULL)) {
        rc = pho_image__vips_fail(err, PHO_ENOMEM, "image: cannot resize");
    } else {
        /* finish() resizes (Lanczos) when max_size is smaller, and decodes into memory. */
        g_object_ref(part);
        rc = pho_image__vips_finish(out, part, max_size && longest > max_size ? max_size : 0, 1,
                                    "image: cannot resize", err);
    }
    if (part)
        g_object_unref(part);
    if (whole)
        g_object_unref(whole);
    return rc;
}
