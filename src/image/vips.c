/* SPDX-License-Identifier: MIT */
/*
 * JPEG, PNG, HEIF/HEIC/AVIF, WebP, GIF and TIFF through libvips: header and
 * EXIF block for probing; vips_thumbnail for decoding, which uses JPEG DCT
 * scaling and HEIF/WebP shrink-on-load and turns the image upright.
 */
#include "core/common.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <vips/vips.h>

#include "image/internal.h"

static pthread_once_t vips_once = PTHREAD_ONCE_INIT;
static int vips_start_rc;
static int vips_threads = 1;

/* libvips reports recoverable trouble through GLib's log; the library never prints. */
static void glib_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer ud)
{
    PHO_UNUSED(ud);
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
    if (pho_image__vips_start(NULL) == 0)
        vips_error_clear();
}

int pho_image__vips_fail(struct pho_err *err, int code, const char *what)
{
    char *buf = vips_error_buffer_copy();
    const char *msg = buf ? buf : "";
    /* libvips prefixes each line with its class ("VipsJpeg: "); keep the text. */
    const char *colon = strstr(msg, ": ");
    if (colon && !memchr(msg, '\n', (size_t)(colon - msg)) &&
        !memchr(msg, ' ', (size_t)(colon - msg)))
        msg = colon + 2;
    size_t n = strcspn(msg, "\n");
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

int pho_image__vips_probe(struct pho_meta *m, const struct img_src *src, struct pho_err *err)
{
    int rc = pho_image__vips_start(err);
    if (rc)
        return rc;
    VipsSource *source = open_source(src);
    if (!source)
        return pho_image__vips_fail(err, PHO_EIO, "image: cannot read");
    VipsImage *img = vips_image_new_from_source(source, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
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
    g_object_unref(img);
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

int pho_image__vips_decode(struct pho_image **out, const struct img_src *src,
                           const struct pho_meta *m, const struct pho_image_opts *o,
                           struct pho_err *err)
{
    int rc = pho_image__vips_start(err);
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

    /* libvips is lazy: decoding errors surface inside finish, under the same label. */
    uint32_t fit = o->max_size;
    if (fit && o->allow_larger &&
        (uint32_t)PHO_MAX(vips_image_get_width(img), vips_image_get_height(img)) < 2 * fit)
        fit = 0;
    return pho_image__vips_finish(out, img, fit, m->orientation, what, err);
}
