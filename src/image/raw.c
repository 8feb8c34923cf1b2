/* SPDX-License-Identifier: MIT */
/*
 * Camera RAW through LibRaw. Probing takes the EXIF tags LibRaw's walk of
 * the maker's container meets, then LibRaw's own parse for what they lack.
 * Decoding refuses a RAW whose raw data cannot fit in the file, prefers the
 * embedded JPEG preview when it is at least as large as asked for (a hundred
 * times cheaper than demosaicing) and falls back to a full LibRaw develop.
 */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libraw/libraw.h>
#include <vips/vips.h>

#include "exif/tags.h"
#include "image/internal.h"
#include "image/raw_stream.h"

/* LibRaw's messages are capitalised sentences; ours are lowercase. */
static const char *lower(const char *msg)
{
    static const char *const known[][2] = {
        { "Unsupported file format or not RAW file", "unsupported format, or no image data" },
        { "Out of order call of libraw function", "out-of-order LibRaw call" },
        { "Corrupted data or unexpected EOF", "corrupt data or unexpected end of file" },
        { "Input/output error", "input/output error" },
    };
    for (size_t i = 0; i < PHO_ARRAY_LEN(known); i++)
        if (!strcmp(msg, known[i][0]))
            return known[i][1];
    return msg;
}

static int raw_code(int lr_rc)
{
    switch (lr_rc) {
    case LIBRAW_FILE_UNSUPPORTED:
    case LIBRAW_NOT_IMPLEMENTED:
        return PHO_EUNSUPPORTED;
    case LIBRAW_IO_ERROR:
        return PHO_EIO;
    case LIBRAW_UNSUFFICIENT_MEMORY:
    case LIBRAW_MEMPOOL_OVERFLOW:
        return PHO_ENOMEM;
    case LIBRAW_TOO_BIG:
        return PHO_ELIMIT;
    default:
        return PHO_ECORRUPT;
    }
}

/* LibRaw's default handler prints "data corrupted" to stderr; the library never prints. */
static void on_data_error(void *ud, const char *file, const int offset)
{
    PHO_UNUSED(ud);
    PHO_UNUSED(file);
    pho_log(PHO_LOG_DEBUG, "raw", "LibRaw: data corrupted at offset %d", offset);
}

/* LibRaw with the stream it reads through (raw_stream.h): closed together. */
struct raw {
    libraw_data_t *lr;
    struct pho_raw_stream *stream;
};

static void raw_close(struct raw *r)
{
    if (r->lr)
        libraw_close(r->lr);
    pho_image__raw_stream_free(r->stream); /* after LibRaw: it reads through it until closed */
    r->lr = NULL;
    r->stream = NULL;
}

/* A LibRaw failure as our status and reason; a spent read budget says so. */
static int raw_fail(const struct raw *r, int lr_rc, const char *what, struct pho_err *err)
{
    if (pho_image__raw_stream_spent(r->stream))
        return pho_err_set(err, PHO_ECORRUPT,
                           "%s: gave up after %llu reads: the file's structure loops or is corrupt",
                           what, pho_image__raw_stream_calls(r->stream));
    return pho_err_set(err, raw_code(lr_rc), "%s: %s", what, lower(libraw_strerror(lr_rc)));
}

static int raw_open(struct raw *r, const struct img_src *src, struct pho_exif_tags *tags,
                    struct pho_err *err)
{
    r->lr = libraw_init(0);
    r->stream = NULL;
    if (!r->lr)
        return pho_err_set(err, PHO_ENOMEM, "raw: cannot start LibRaw");
    libraw_set_dataerror_handler(r->lr, on_data_error, NULL);
    int rc = pho_image__raw_open(r->lr, &r->stream, src->path, src->data, src->len, tags);
    if (rc != LIBRAW_SUCCESS) {
        int code = pho_image__raw_stream_spent(r->stream)
                           ? raw_fail(r, rc, "raw", err)
                           : pho_err_set(err, raw_code(rc), "raw: LibRaw cannot read it (%s)",
                                         lower(libraw_strerror(rc)));
        raw_close(r);
        return code;
    }
    return 0;
}

static uint8_t orientation_from_flip(int flip)
{
    switch (flip) {
    case 3:
        return 3;
    case 5:
        return 8;
    case 6:
        return 6;
    default:
        return 1;
    }
}

static void copy_str(char *dst, size_t size, const char *src)
{
    if (!dst[0] && src && src[0])
        pho_strlcpy(dst, src, size);
}

static double dms(const float v[3])
{
    return v[0] + v[1] / 60.0 + v[2] / 3600.0;
}

/*
 * A RAW is whole when the bytes from its raw data's offset to the end of the
 * file can hold the picture. Metadata-only samples, cut-off downloads and
 * stripped files declare a sensor of millions of pixels with a few bytes (or
 * none) behind the offset; LibRaw would "decode" them from whatever memory
 * it was given. No RAW compression gets below about one bit per pixel (lossy
 * DNG and Canon's CRAW are the smallest), so one eighth of a bit per pixel
 * is a floor no real file comes near.
 */
static int check_whole(const struct raw *r, const char *what, struct pho_err *err)
{
    struct pho_raw_extent x;
    pho_image__raw_extent(r->lr, &x);
    if (x.file_size < 0)
        return 0;
    const libraw_image_sizes_t *sz = &r->lr->sizes;
    unsigned long long pixels = (unsigned long long)sz->raw_width * sz->raw_height;
    long long left = x.data_offset < x.file_size ? x.file_size - x.data_offset : 0;
    /* A few KiB of slack: some writers round the stated length up. */
    if (x.data_size && x.data_offset + (long long)x.data_size > x.file_size + 4096)
        return pho_err_set(err, PHO_ECORRUPT,
                           "%s: truncated: its raw data runs to byte %llu, the file ends at %lld",
                           what, (unsigned long long)x.data_offset + x.data_size, x.file_size);
    if ((unsigned long long)left < pixels / 64)
        return pho_err_set(
                err, PHO_ECORRUPT,
                "%s: truncated or metadata only: %lld bytes of raw data for %ux%u pixels", what,
                left, sz->raw_width, sz->raw_height);
    return 0;
}

/* Whether the embedded preview lies wholly inside the file. */
static bool preview_inside(const struct raw *r)
{
    struct pho_raw_extent x;
    pho_image__raw_extent(r->lr, &x);
    return x.file_size < 0 || (x.thumb_offset > 0 &&
                               x.thumb_offset + (long long)r->lr->thumbnail.tlength <= x.file_size);
}

/* What LibRaw's own parse adds where the EXIF tags said nothing. */
static void fill_from_libraw(struct pho_meta *m, const libraw_data_t *lr)
{
    copy_str(m->make, sizeof(m->make), lr->idata.make);
    copy_str(m->model, sizeof(m->model), lr->idata.model);
    copy_str(m->lens, sizeof(m->lens), lr->lens.Lens);
    const libraw_imgother_t *o = &lr->other;
    if (!(m->flags & PHO_META_EXPOSURE_TIME) && o->shutter > 0 && o->shutter < 1e5) {
        m->exposure_time = o->shutter;
        m->flags |= PHO_META_EXPOSURE_TIME;
    }
    if (!(m->flags & PHO_META_FNUMBER) && o->aperture >= 0.3f && o->aperture <= 1024) {
        m->fnumber = o->aperture;
        m->flags |= PHO_META_FNUMBER;
    }
    if (!(m->flags & PHO_META_ISO) && o->iso_speed >= 1 && o->iso_speed < 1e7) {
        m->iso = (uint32_t)lrintf(o->iso_speed);
        m->flags |= PHO_META_ISO;
    }
    if (!(m->flags & PHO_META_FOCAL_LENGTH) && o->focal_len > 0 && o->focal_len < 1e5) {
        m->focal_length = o->focal_len;
        m->flags |= PHO_META_FOCAL_LENGTH;
    }
    if (o->timestamp > 0 && m->time.source == PHO_TIME_NONE) {
        /* A maker's own date (no EXIF IFD at all): LibRaw turned the camera's
         * wall clock into time_t with mktime(); undo it. */
        struct pho_time t;
        pho_time_from_unix(&t, (int64_t)o->timestamp, 0);
        memset(&m->time, 0, sizeof(m->time));
        m->time.local = t.local;
        m->time.source = PHO_TIME_ORIGINAL;
    }
    const libraw_gps_info_t *g = &o->parsed_gps;
    if (!(m->flags & PHO_META_GPS) && g->gpsparsed) {
        double lat = dms(g->latitude), lon = dms(g->longitude);
        if (isfinite(lat) && isfinite(lon) && lat <= 90 && lon <= 180 && (lat != 0 || lon != 0)) {
            m->gps_lat = g->latref == 'S' ? -lat : lat;
            m->gps_lon = g->longref == 'W' ? -lon : lon;
            m->flags |= PHO_META_GPS;
            if (isfinite(g->altitude) && g->altitude != 0) {
                m->gps_alt = g->altref == 1 ? -g->altitude : g->altitude;
                m->flags |= PHO_META_GPS_ALT;
            }
        }
    }
}

int pho_image__raw_probe(struct pho_meta *m, const struct img_src *src, struct pho_err *err)
{
    /* The EXIF tags come from LibRaw's walk of the whole container: the
     * camera's own strings (Make "Canon", Model "Canon EOS M50"), sub-seconds
     * and offsets, wherever in the file the IFDs lie. */
    struct pho_exif_tags tags;
    pho_exif_tags_init(&tags);
    struct raw r;
    int rc = raw_open(&r, src, &tags, err);
    pho_exif_tags_apply(m, &tags);
    if (rc) {
        /* Metadata-only or cut-off RAWs: what the EXIF says is still worth
         * showing; decoding will fail with LibRaw's reason. */
        if (m->flags & PHO_META_EXIF)
            return 0;
        return rc;
    }

    const libraw_data_t *lr = r.lr;
    m->width = lr->sizes.width;
    m->height = lr->sizes.height;
    if (m->width && m->height)
        m->flags |= PHO_META_DIMENSIONS;
    if (m->orientation_tag == 0)
        m->orientation = orientation_from_flip(lr->sizes.flip);
    if (lr->idata.dng_version && m->format != PHO_FORMAT_DNG)
        m->format = PHO_FORMAT_DNG;
    fill_from_libraw(m, lr);
    raw_close(&r);
    return 0;
}

static void release_raw(void *mem)
{
    libraw_dcraw_clear_mem(mem);
}

/* An 8-bit RGB bitmap from LibRaw, as a VipsImage that shares its memory. */
static VipsImage *bitmap_image(const libraw_processed_image_t *p)
{
    if (p->type != LIBRAW_IMAGE_BITMAP || p->bits != 8 || (p->colors != 3 && p->colors != 1))
        return NULL;
    VipsImage *img = vips_image_new_from_memory(p->data, p->data_size, p->width, p->height,
                                                p->colors, VIPS_FORMAT_UCHAR);
    if (img)
        img->Type = p->colors == 3 ? VIPS_INTERPRETATION_sRGB : VIPS_INTERPRETATION_B_W;
    return img;
}

static int decode_preview(struct pho_image **out, struct raw *r, const struct pho_meta *m,
                          const struct pho_image_opts *o, const char *what, struct pho_err *err)
{
    libraw_data_t *lr = r->lr;
    int lrc = libraw_unpack_thumb(lr);
    if (lrc != LIBRAW_SUCCESS)
        return pho_image__raw_stream_spent(r->stream) ? raw_fail(r, lrc, what, err) : PHO_ENOTFOUND;
    const libraw_thumbnail_t *t = &lr->thumbnail;
    if (PHO_MAX(t->twidth, t->theight) < o->max_size)
        return PHO_ENOTFOUND;
    VipsImage *img = NULL;
    libraw_processed_image_t *bmp = NULL;
    if (t->tformat == LIBRAW_THUMBNAIL_JPEG && t->thumb && t->tlength) {
        /* The preview's own orientation tag (if any) is ignored: the RAW's counts. */
        if (vips_thumbnail_buffer(t->thumb, t->tlength, &img, (int)o->max_size, "height",
                                  (int)o->max_size, "size", VIPS_SIZE_DOWN, "no_rotate", TRUE,
                                  "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL))
            img = NULL;
    } else if (t->tformat == LIBRAW_THUMBNAIL_BITMAP) {
        int erc = 0;
        bmp = libraw_dcraw_make_mem_thumb(lr, &erc);
        img = bmp ? bitmap_image(bmp) : NULL;
    }
    if (!img) {
        vips_error_clear();
        if (bmp)
            libraw_dcraw_clear_mem(bmp);
        return PHO_ENOTFOUND;
    }
    int rc = pho_image__vips_finish(out, img, o->max_size, m->orientation, what, err);
    if (bmp)
        libraw_dcraw_clear_mem(bmp);
    return rc;
}

int pho_image__raw_decode(struct pho_image **out, const struct img_src *src,
                          const struct pho_meta *m, const struct pho_image_opts *o,
                          struct pho_err *err)
{
    int rc = pho_image__vips_start(err);
    if (rc)
        return rc;
    char what[64];
    snprintf(what, sizeof(what), "raw: cannot decode %s", pho_format_name(m->format));
    struct raw r;
    rc = raw_open(&r, src, NULL, err);
    if (rc) {
        char why[PHO_ERR_MSG_MAX];
        pho_strlcpy(why, pho_err_reason(err), sizeof(why)); /* without "raw: " */
        return pho_err_set(err, rc, "%s: %s", what, why);
    }
    rc = check_whole(&r, what, err);
    if (rc)
        goto out;

    if (o->max_size && preview_inside(&r)) {
        rc = decode_preview(out, &r, m, o, what, err);
        if (rc != PHO_ENOTFOUND)
            goto out;
        /* LibRaw allows unpack() only on a fresh open. */
        raw_close(&r);
        rc = raw_open(&r, src, NULL, err);
        if (rc)
            return rc;
    }
    libraw_data_t *lr = r.lr;

    lr->params.output_bps = 8;
    lr->params.use_camera_wb = 1;
    lr->params.output_color = 1; /* sRGB */
    lr->params.user_flip = 0;    /* orientation is applied below, like every other format */
    uint32_t shortest = PHO_MIN(m->width, m->height);
    if (o->max_size && shortest && o->max_size * 2 <= PHO_MAX(m->width, m->height))
        lr->params.half_size = 1; /* demosaic at half resolution: 4x less work */
    int lrc = libraw_unpack(lr);
    if (lrc == LIBRAW_SUCCESS)
        lrc = libraw_dcraw_process(lr);
    if (lrc != LIBRAW_SUCCESS) {
        rc = raw_fail(&r, lrc, what, err);
        goto out;
    }
    int erc = 0;
    libraw_processed_image_t *p = libraw_dcraw_make_mem_image(lr, &erc);
    if (!p) {
        rc = pho_err_set(err, raw_code(erc), "%s: %s", what, lower(libraw_strerror(erc)));
        goto out;
    }
    VipsImage *img = bitmap_image(p);
    if (!img) {
        libraw_dcraw_clear_mem(p);
        rc = pho_err_set(err, PHO_EUNSUPPORTED, "%s: unexpected LibRaw output", what);
        goto out;
    }
    rc = pho_image__vips_finish(out, img, o->max_size, m->orientation, what, err);
    release_raw(p);
out:
    raw_close(&r);
    return rc;
}
