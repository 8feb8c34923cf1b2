/* SPDX-License-Identifier: MIT */
/* Format sniffing, probing and decoding: every labelled format, orientation
 * 1-8 against the upright twin, RAW/HEIC sizes, decompression bombs and broken
 * files. */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libexif/exif-data.h>
#include <libheif/heif.h>

#include "../lib/testlib.h"
#include "pho/image.h"

static void test_sniff_signatures(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
        int fmt;
    } cases[] = {
        { "\xff\xd8\xff\xe0", 4, PHO_FORMAT_JPEG },
        { "\x89PNG\r\n\x1a\n", 8, PHO_FORMAT_PNG },
        { "GIF89a", 6, PHO_FORMAT_GIF },
        { "RIFF\0\0\0\0WEBPVP8 ", 16, PHO_FORMAT_WEBP },
        { "II*\0\x08\0\0\0", 8, PHO_FORMAT_TIFF },
        { "MM\0*\0\0\0\x08", 8, PHO_FORMAT_TIFF },
        { "II*\0\x10\0\0\0CR\x02\0", 12, PHO_FORMAT_CR2 },
        { "IIRO\x08\0\0\0", 8, PHO_FORMAT_ORF },
        { "IIU\0\x08\0\0\0", 8, PHO_FORMAT_RW2 },
        { "FUJIFILMCCD-RAW 0201", 20, PHO_FORMAT_RAF },
        { "II+\0\x08\0\0\0", 8, PHO_FORMAT_TIFF }, /* BigTIFF */
        { "MM\0+\0\x08\0\0", 8, PHO_FORMAT_TIFF },
        { "\0MRM\0\0\0\x10", 8, PHO_FORMAT_RAW },  /* Minolta MRW */
        { "FOVb\x02\0\x02\0", 8, PHO_FORMAT_RAW }, /* Sigma X3F */
        { "\0\0\0\x18"
          "ftypheic\0\0\0\0mif1heic",
          24, PHO_FORMAT_HEIC },
        { "\0\0\0\x18"
          "ftypmif1\0\0\0\0mif1miaf",
          24, PHO_FORMAT_HEIF },
        { "\0\0\0\x18"
          "ftypavif\0\0\0\0mif1miaf",
          24, PHO_FORMAT_AVIF },
        { "\0\0\0\x18"
          "ftypcrx \0\0\0\x01"
          "crx isom",
          24, PHO_FORMAT_CR3 },
        { "\0\0\0\x18"
          "ftypisom\0\0\0\0isomavc1",
          24, PHO_FORMAT_UNKNOWN },
        { "hello world", 11, PHO_FORMAT_UNKNOWN },
        { "\xff\xd8", 2, PHO_FORMAT_UNKNOWN },
    };
    for (size_t i = 0; i < PHO_ARRAY_LEN(cases); i++)
        assert_int_equal(pho_format_sniff(cases[i].bytes, cases[i].len), cases[i].fmt);
    assert_int_equal(pho_format_sniff(NULL, 0), PHO_FORMAT_UNKNOWN);
    /* A box size smaller than its header must not be trusted. */
    assert_int_equal(pho_format_sniff("\0\0\0\x04"
                                      "ftypheic\0\0\0\0",
                                      16),
                     PHO_FORMAT_UNKNOWN);
}

static void test_suffix_and_names(void **state)
{
    (void)state;
    assert_int_equal(pho_format_from_suffix("a/b/IMG_1.JPG"), PHO_FORMAT_JPEG);
    assert_int_equal(pho_format_from_suffix("x.heic"), PHO_FORMAT_HEIC);
    assert_int_equal(pho_format_from_suffix("x.NEF"), PHO_FORMAT_NEF);
    assert_int_equal(pho_format_from_suffix("dir.jpg/file"), PHO_FORMAT_UNKNOWN);
    assert_int_equal(pho_format_from_suffix("noext"), PHO_FORMAT_UNKNOWN);
    assert_int_equal(pho_format_from_suffix("x.txt"), PHO_FORMAT_UNKNOWN);
    assert_string_equal(pho_format_name(PHO_FORMAT_DNG), "DNG");
    assert_string_equal(pho_format_name(-1), "unknown");
    assert_string_equal(pho_format_name(PHO_FORMAT_COUNT_), "unknown");
    assert_true(pho_format_is_raw(PHO_FORMAT_ARW));
    assert_false(pho_format_is_raw(PHO_FORMAT_TIFF));
}

/* Every row of labels.csv with a known format is identified from its bytes. */
static void test_labelled_formats(void **state)
{
    (void)state;
    size_t len;
    uint8_t *csv = read_file(td("labels.csv"), &len);
    assert_non_null(csv);
    char *text = realloc(csv, len + 1);
    text[len] = '\0';
    int checked = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        if (!strncmp(line, "file,", 5))
            continue;
        char *fields[8] = { 0 };
        int nf = 0;
        for (char *p = line; nf < 8; nf++) {
            fields[nf] = p;
            char *c = strchr(p, ',');
            if (!c) {
                nf++;
                break;
            }
            *c = '\0';
            p = c + 1;
        }
        const char *file = fields[0], *want = nf >= 8 ? fields[7] : "";
        if (!want[0] || !strcmp(want, "TXT") || strstr(file, "corrupt/"))
            continue;
        struct pho_meta m;
        struct pho_err err = PHO_ERR_INIT;
        int rc = pho_image_probe(&m, td(file), NULL, &err);
        if (rc)
            fail_msg("%s: %s", file, err.msg);
        if (strcmp(pho_format_name(m.format), want) != 0)
            fail_msg("%s: identified as %s, labelled %s", file, pho_format_name(m.format), want);
        checked++;
    }
    free(text);
    assert_true(checked >= 110);
}

static struct pho_image *load(const char *rel, uint32_t max_size, struct pho_meta *m)
{
    struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
    o.max_size = max_size;
    struct pho_image *img = NULL;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_image_load(&img, td(rel), &o, m, &err))
        fail_msg("%s: %s", rel, err.msg);
    return img;
}

/* Mean absolute difference between a and b, with b mirrored left-right
 * (flip & 1) and/or upside down (flip & 2) first. */
static double mad(const struct pho_image *a, const struct pho_image *b, int flip)
{
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    double sum = 0;
    for (uint32_t y = 0; y < a->height; y++) {
        for (uint32_t x = 0; x < a->width; x++) {
            uint32_t by = (flip & 2) ? a->height - 1 - y : y;
            uint32_t bx = (flip & 1) ? a->width - 1 - x : x;
            for (int c = 0; c < 3; c++)
                sum += abs(a->pixels[y * a->stride + x * 3 + c] -
                           b->pixels[by * b->stride + bx * 3 + c]);
        }
    }
    return sum / (a->width * (double)a->height * 3);
}

static void test_orientation_upright(void **state)
{
    (void)state;
    const char *kinds[] = { "landscape", "portrait" };
    for (int k = 0; k < 2; k++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "orientation/%s_1.jpg", kinds[k]);
        struct pho_image *ref = load(rel, 96, NULL);
        assert_true(k == 0 ? ref->width > ref->height : ref->width < ref->height);
        for (int o = 2; o <= 8; o++) {
            struct pho_meta m;
            snprintf(rel, sizeof(rel), "orientation/%s_%d.jpg", kinds[k], o);
            struct pho_image *img = load(rel, 96, &m);
            assert_int_equal(m.orientation, o);
            if (img->width != ref->width || img->height != ref->height)
                fail_msg("%s: decoded %ux%u, upright twin is %ux%u", rel, img->width, img->height,
                         ref->width, ref->height);
            /* The twins differ by the digit drawn on them and by re-encoding (about
             * 14-16 grey levels on average), so the test is relative: upright must
             * match at least twice as well as any mirrored/turned version (36+). */
            double same = mad(img, ref, 0);
            for (int flip = 1; flip < 4; flip++) {
                double other = mad(img, ref, flip);
                if (same > 20 || other < same * 2)
                    fail_msg("%s: difference to upright twin %.1f, to its flip %d %.1f", rel, same,
                             flip, other);
            }
            pho_image_free(img);
        }
        pho_image_free(ref);
    }
}

static void test_real_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        uint32_t w, h; /* upright, full resolution */
    } cases[] = {
        { "formats/heic/IMG_5195.HEIC", 2566, 3313 },
        { "formats/heic/iphone_7.heic", 3024, 4032 }, /* EXIF 6, no irot: turned upright */
        { "formats/heic/samplefilehub.heif", 640, 426 },
        /* DNG: the DefaultCropSize, as every raw converter shows it (the CFA is 1888x1182). */
        { "formats/raw/colorchart_canon_kiss_x4.dng", 1734, 1156 },
        { "formats/raw/canon_eos_6d_lossy.dng", 1224, 816 },
        { "formats/png/obama2_32bit_rgba.png", 626, 1200 },
        { "faces/groups/curie_portrait_orientation6.jpg", 0, 0 },
    };
    for (size_t i = 0; i < PHO_ARRAY_LEN(cases); i++) {
        struct pho_meta m;
        struct pho_image *img = load(cases[i].file, 0, &m);
        if (cases[i].w && (img->width != cases[i].w || img->height != cases[i].h))
            fail_msg("%s: %ux%u, expected %ux%u", cases[i].file, img->width, img->height,
                     cases[i].w, cases[i].h);
        assert_int_equal(img->stride, (size_t)img->width * 3);
        pho_image_free(img);
    }
    /* The Curie portrait with Orientation=6 comes out like the untagged one. */
    struct pho_image *a = load("faces/groups/curie_portrait.jpg", 80, NULL);
    struct pho_image *b = load("faces/groups/curie_portrait_orientation6.jpg", 80, NULL);
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    pho_image_free(a);
    pho_image_free(b);
}

static void test_shrink_on_load_and_colour(void **state)
{
    (void)state;
    struct pho_meta m;
    struct pho_image *img = load("bursts/IMG_20191112_111022.jpg", 256, &m);
    assert_int_equal(img->width, 256);
    assert_int_equal(img->height, 192);
    assert_int_equal(m.width, 4032);
    pho_image_free(img);
    /* allow_larger: the 1/8-scale decode as it comes, no resampling. */
    struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
    o.max_size = 256;
    o.allow_larger = true;
    assert_int_equal(pho_image_load(&img, td("bursts/IMG_20191112_111022.jpg"), &o, NULL, NULL), 0);
    assert_int_equal(img->width, 504);
    assert_int_equal(img->height, 378);
    pho_image_free(img);
    /* Smaller than asked: never upscaled. */
    img = load("exif/cameras/WWL_(Polaroid)_ION230.jpg", 1600, NULL);
    assert_int_equal(img->width, 75);
    pho_image_free(img);
    /* Greyscale becomes three equal channels. */
    img = load("faces/groups/solvay_1927.jpg", 128, NULL);
    for (size_t i = 0; i < img->width; i++) {
        const uint8_t *p = img->pixels + (img->height / 2) * img->stride + i * 3;
        assert_true(abs(p[0] - p[1]) <= 1 && abs(p[1] - p[2]) <= 1);
    }
    pho_image_free(img);
    /* RAW previews serve small sizes; the full develop serves large ones. */
    img = load("formats/raw/canon_eos_6d_lossy.dng", 200, NULL);
    assert_int_equal(img->width, 200);
    pho_image_free(img);
    img = load("formats/raw/colorchart_canon_kiss_x4.dng", 400, NULL);
    assert_int_equal(img->width, 400);
    pho_image_free(img);
}

static void test_buffer_matches_file(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = read_file(td("orientation/portrait_6.jpg"), &len);
    struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
    o.max_size = 64;
    struct pho_image *a = NULL, *b = NULL;
    struct pho_meta ma, mb;
    assert_int_equal(pho_image_load_buffer(&a, data, len, &o, &ma, NULL), 0);
    b = load("orientation/portrait_6.jpg", 64, &mb);
    assert_int_equal(ma.orientation, mb.orientation);
    assert_true(mad(a, b, 0) < 0.5);
    pho_image_free(a);
    pho_image_free(b);
    free(data);
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A PNG's IHDR chunk (25 bytes) for an 8-bit RGB image of @w x @h at @at. */
static void put_ihdr(uint8_t *at, uint32_t w, uint32_t h)
{
    be32(at, 13);
    memcpy(at + 4, "IHDR", 4);
    be32(at + 8, w);
    be32(at + 12, h);
    at[16] = 8; /* depth */
    at[17] = 2; /* RGB */
    at[18] = at[19] = at[20] = 0;
    be32(at + 21, crc32_of(at + 4, 17));
}

static void test_decompression_bomb_refused(void **state)
{
    (void)state;
    /* A 57-byte PNG that claims 100000 x 100000 pixels (30 GB decoded). */
    static const uint8_t empty_zlib[] = { 0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01 };
    uint8_t png[8 + 25 + 12 + sizeof(empty_zlib) + 12] = { 0x89, 'P',  'N',  'G',
                                                           '\r', '\n', 0x1a, '\n' };
    uint8_t *ihdr = png + 8;
    put_ihdr(ihdr, 100000, 100000);
    uint8_t *idat = ihdr + 25;
    be32(idat, sizeof(empty_zlib));
    memcpy(idat + 4, "IDAT", 4);
    memcpy(idat + 8, empty_zlib, sizeof(empty_zlib));
    be32(idat + 8 + sizeof(empty_zlib), crc32_of(idat + 4, 4 + sizeof(empty_zlib)));
    uint8_t *iend = idat + 12 + sizeof(empty_zlib);
    memcpy(iend + 4, "IEND", 4);
    be32(iend + 8, crc32_of(iend + 4, 4));
    struct pho_meta m;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_image *img = NULL;
    assert_int_equal(pho_image_load_buffer(&img, png, sizeof(png), NULL, &m, &err), PHO_ELIMIT);
    assert_null(img);
    assert_non_null(strstr(err.msg, "limit"));
    /* The limit is the caller's to set. */
    struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
    o.max_pixels = 1000;
    assert_int_equal(pho_image_probe(&m, td("exif/cameras/Canon_40D.jpg"), &o, &err), PHO_ELIMIT);
}

/* A chunk before the image data that claims more than the file holds: refused at once, not
 * after libpng has allocated and cleared the claimed gigabyte (a fuzzer found one that took
 * 16 s to probe). */
static void test_png_chunk_past_end(void **state)
{
    (void)state;
    uint8_t png[8 + 25 + 64] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    uint8_t *ihdr = png + 8;
    put_ihdr(ihdr, 8, 8);
    uint8_t *itxt = ihdr + 25;
    be32(itxt, 0x400001cbu); /* 1 GiB of XMP, in a 97-byte file */
    memcpy(itxt + 4, "iTXtXML:com.adobe.xmp", 21);
    struct pho_meta m;
    struct pho_err err = PHO_ERR_INIT;
    struct pho_image *img = NULL;
    assert_int_equal(pho_image_probe_buffer(&m, png, sizeof(png), NULL, &err), PHO_ECORRUPT);
    assert_non_null(strstr(err.msg, "iTXt"));
    assert_int_equal(pho_image_load_buffer(&img, png, sizeof(png), NULL, &m, &err), PHO_ECORRUPT);
    assert_null(img);
    /* A chunk that fits passes the check (the file then lacks its image data, which the
     * decoder reports in its own words). */
    be32(itxt, 64 - 12);
    be32(itxt + 8 + 52, crc32_of(itxt + 4, 4 + 52));
    pho_err_clear(&err);
    pho_image_probe_buffer(&m, png, sizeof(png), NULL, &err);
    assert_null(strstr(err.msg, "runs past"));
}

static void test_broken_files(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int code;     /* from a lenient load */
        bool damaged; /* readable, with recoverable damage that strict mode describes */
    } cases[] = {
        { "corrupt/empty.jpg", PHO_ECORRUPT, false },
        { "corrupt/not_an_image.jpg", PHO_EUNSUPPORTED, false },
        { "corrupt/libvips_truncated.jpg", PHO_ECORRUPT, false },
        { "corrupt/truncated_DSCN0012.jpg", PHO_ECORRUPT, false },
        { "corrupt/photoview_bad_rst_marker.jpg", 0, true },
        { "formats/raw/canon_eos_350d_metadata_only.cr2", PHO_EUNSUPPORTED, false },
        { "formats/raw/sony_zv-e10_first100KB.arw", PHO_EUNSUPPORTED, false },
    };
    for (size_t i = 0; i < PHO_ARRAY_LEN(cases); i++) {
        struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
        o.max_size = 128;
        struct pho_image *img = NULL;
        struct pho_err err = PHO_ERR_INIT;
        int rc = pho_image_load(&img, td(cases[i].file), &o, NULL, &err);
        if (rc != cases[i].code)
            fail_msg("%s: got %s (%s), expected %s", cases[i].file, pho_status_name(rc), err.msg,
                     pho_status_name(cases[i].code));
        if (rc) {
            assert_null(img);
            assert_true(strlen(err.msg) > 10 && !strchr(err.msg, '\n'));
        }
        pho_image_free(img);
        if (cases[i].damaged) {
            /* Readable for every caller; strict mode only describes the damage. */
            struct pho_meta m;
            o.strict = true;
            rc = pho_image_load(&img, td(cases[i].file), &o, &m, &err);
            assert_int_equal(rc, 0);
            assert_non_null(img);
            if (strncmp(m.note, "damaged data, recovered: ", 25) != 0)
                fail_msg("%s: note '%s'", cases[i].file, m.note);
            pho_image_free(img);
        }
    }
    struct pho_err err = PHO_ERR_INIT;
    struct pho_meta m;
    assert_int_equal(pho_image_probe(&m, "/nonexistent/x.jpg", NULL, &err), PHO_ENOTFOUND);
    assert_int_equal(pho_image_probe(&m, "/", NULL, &err), PHO_EINVAL);
}

static void test_truncated_buffers_never_crash(void **state)
{
    (void)state;
    const char *files[] = { "exif/cameras/Canon_40D.jpg", "faces/portraits/tom_hanks_1.png",
                            "formats/heic/samplefilehub.heif" };
    for (size_t f = 0; f < PHO_ARRAY_LEN(files); f++) {
        size_t len;
        uint8_t *data = read_file(td(files[f]), &len);
        assert_non_null(data);
        size_t step = len / 40 + 1;
        for (size_t n = 0; n < len; n += step) {
            struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
            o.max_size = 32;
            struct pho_image *img = NULL;
            struct pho_err err = PHO_ERR_INIT;
            uint8_t *cut = malloc(n ? n : 1);
            memcpy(cut, data, n);
            int rc = pho_image_load_buffer(&img, cut, n, &o, NULL, &err);
            assert_true(rc == 0 ? img != NULL : img == NULL && err.msg[0]);
            pho_image_free(img);
            free(cut);
        }
        free(data);
    }
}

static void test_image_new(void **state)
{
    (void)state;
    struct pho_image *img = NULL;
    assert_int_equal(pho_image_new(&img, 3, 2, NULL), 0);
    assert_int_equal(img->stride, 9);
    assert_int_equal(img->pixels[17], 0);
    pho_image_free(img);
    assert_int_equal(pho_image_new(&img, 0, 2, NULL), PHO_EINVAL);
    assert_null(img);
    pho_image_free(NULL);
}

/* ---- fixtures made here: container rotation and camera TIFFs --------------------- */

static void free_image(void *img)
{
    pho_image_free(img);
}

/* Removes a fixture file and the temporary folder it was made in. */
static void unlink_free(void *path)
{
    unlink(path);
    char *slash = strrchr(path, '/');
    if (slash) {
        *slash = '\0';
        rmdir(path);
    }
    free(path);
}

/* A 64x48 picture, red on the left half and blue on the right, encoded as
 * HEIF (HEVC) or AVIF with an irot rotating it 90 degrees clockwise for
 * display (what libheif writes for image_orientation 6), plus an EXIF block
 * saying Orientation 6 too, as iPhones write both. NULL when no encoder. */
static char *rotated_heif(enum heif_compression_format codec, const char *suffix)
{
    struct heif_encoder *enc = NULL;
    struct heif_context *ctx = heif_context_alloc();
    if (heif_context_get_encoder_for_format(ctx, codec, &enc).code != heif_error_Ok) {
        heif_context_free(ctx);
        return NULL;
    }
    heif_encoder_set_lossy_quality(enc, 90);
    struct heif_image *im = NULL;
    assert_int_equal(
            heif_image_create(64, 48, heif_colorspace_RGB, heif_chroma_interleaved_RGB, &im).code,
            heif_error_Ok);
    assert_int_equal(heif_image_add_plane(im, heif_channel_interleaved, 64, 48, 8).code,
                     heif_error_Ok);
    int stride = 0;
    uint8_t *px = heif_image_get_plane(im, heif_channel_interleaved, &stride);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *p = px + y * stride + 3 * x;
            p[0] = x < 32 ? 230 : 20;
            p[1] = 20;
            p[2] = x < 32 ? 20 : 230;
        }
    struct heif_encoding_options *eo = heif_encoding_options_alloc();
    eo->image_orientation = heif_orientation_rotate_90_cw;
    struct heif_image_handle *h = NULL;
    assert_int_equal(heif_context_encode_image(ctx, im, enc, eo, &h).code, heif_error_Ok);
    struct tiff_fixture *t = tf_new();
    tf_short(t, IFD0, 0x0112, 6);
    size_t len = 0;
    uint8_t *exif = tf_build(t, false, &len);
    assert_int_equal(heif_context_add_exif_metadata(ctx, h, exif, (int)len).code, heif_error_Ok);
    char *dir = make_tempdir();
    char *path = NULL;
    assert_true(asprintf(&path, "%s/rotated.%s", dir, suffix) > 0);
    assert_int_equal(heif_context_write_to_file(ctx, path).code, heif_error_Ok);
    free(exif);
    tf_free(t);
    heif_encoding_options_free(eo);
    heif_image_handle_release(h);
    heif_image_release(im);
    heif_encoder_release(enc);
    heif_context_free(ctx);
    free(dir); /* removed with the file (unlink_free) */
    return path;
}

static void check_rotated(const char *path)
{
    struct pho_meta m;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_image_probe(&m, path, NULL, &err), 0);
    /* The container turns it upright; EXIF's 6 must not turn it again. */
    assert_int_equal(m.orientation, 1);
    uint32_t uw = m.orientation >= 5 ? m.height : m.width,
             uh = m.orientation >= 5 ? m.width : m.height;
    if (!(uw == 48 && uh == 64))
        fail_msg("%s: upright %ux%u, want portrait 48x64", path, uw, uh);
    struct pho_image *img = NULL;
    assert_int_equal(pho_image_load(&img, path, NULL, NULL, &err), 0);
    t_defer(free_image, img);
    assert_int_equal(img->width, 48);
    assert_int_equal(img->height, 64);
    /* Turned 90 degrees clockwise: the red left half is now the top half. */
    const uint8_t *top = img->pixels + 4 * img->stride + 3 * 24;
    const uint8_t *bottom = img->pixels + 60 * img->stride + 3 * 24;
    if (!(top[0] > 150 && top[2] < 100 && bottom[2] > 150 && bottom[0] < 100))
        fail_msg("%s: top %u,%u,%u bottom %u,%u,%u: not turned upright exactly once", path, top[0],
                 top[1], top[2], bottom[0], bottom[1], bottom[2]);
}

static void test_heif_container_rotation_wins(void **state)
{
    (void)state;
    char *heic = rotated_heif(heif_compression_HEVC, "heic");
    if (!heic)
        skip(); /* no HEVC encoder in this libheif */
    t_defer(unlink_free, heic);
    check_rotated(heic);
    char *avif = rotated_heif(heif_compression_AV1, "avif");
    if (avif) {
        t_defer(unlink_free, avif);
        check_rotated(avif);
    }
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A plain, uncompressed 32x24 RGB TIFF (little-endian) with a Make tag. */
static size_t camera_tiff(uint8_t *out, size_t cap, const char *make)
{
    enum { W = 32, H = 24, N = 11 };
    size_t make_len = strlen(make) + 1;
    size_t make_off = 8 + 2 + N * 12 + 4, bps_off = make_off + make_len, pix_off = bps_off + 6;
    size_t total = pix_off + W * H * 3;
    assert_true(total <= cap);
    memset(out, 0, total);
    memcpy(out, "II*\0", 4);
    put32(out + 4, 8);
    put16(out + 8, N);
    const uint32_t e[N][4] = {
        { 256, 3, 1, W },
        { 257, 3, 1, H },
        { 258, 3, 3, (uint32_t)bps_off },
        { 259, 3, 1, 1 },
        { 262, 3, 1, 2 },
        { 271, 2, (uint32_t)make_len, (uint32_t)make_off },
        { 273, 4, 1, (uint32_t)pix_off },
        { 277, 3, 1, 3 },
        { 278, 3, 1, H },
        { 279, 4, 1, W * H * 3 },
        { 284, 3, 1, 1 },
    };
    for (int i = 0; i < N; i++) {
        uint8_t *d = out + 10 + 12 * i;
        put16(d, e[i][0]);
        put16(d + 2, e[i][1]);
        put32(d + 4, e[i][2]);
        if (e[i][1] == 3 && e[i][2] == 1)
            put16(d + 8, e[i][3]);
        else
            put32(d + 8, e[i][3]);
    }
    memcpy(out + make_off, make, make_len);
    for (int k = 0; k < 3; k++)
        put16(out + bps_off + 2 * k, 8);
    for (size_t k = 0; k < W * H * 3; k++)
        out[pix_off + k] = (uint8_t)(k * 7);
    return total;
}

/* Plain RGB TIFFs whose Make names a maker of RAW cameras (as a camera or an
 * editor exporting a NEF writes them) are TIFFs all the same, and readable. */
static void test_camera_tiffs_are_tiffs(void **state)
{
    (void)state;
    static const char *const makes[] = { "NIKON CORPORATION", "SONY", "PENTAX",
                                         "RICOH IMAGING COMPANY, LTD." };
    char *dir = make_tempdir();
    static uint8_t buf[8192];
    for (size_t i = 0; i < PHO_ARRAY_LEN(makes); i++) {
        size_t len = camera_tiff(buf, sizeof(buf), makes[i]);
        char path[4096];
        snprintf(path, sizeof(path), "%s/camera_%zu.tif", dir, i);
        write_file(path, buf, len);
        struct pho_meta m;
        struct pho_err err = PHO_ERR_INIT;
        assert_int_equal(pho_image_probe(&m, path, NULL, &err), 0);
        if (m.format != PHO_FORMAT_TIFF)
            fail_msg("Make %s: %s, want TIFF", makes[i], pho_format_name(m.format));
        assert_int_equal(m.width, 32);
        assert_int_equal(m.height, 24);
        assert_string_equal(m.make, makes[i]);
        struct pho_image *pi = NULL;
        if (pho_image_load(&pi, path, NULL, NULL, &err) < 0)
            fail_msg("Make %s: %s", makes[i], err.msg);
        pho_image_free(pi);
    }
    rm_rf(dir);
    free(dir);
}

/* ---- EXIF thumbnails standing in for the decode (pho_image_opts.thumbnail_ok) ---- */

static void free_mem(void *p)
{
    free(p);
}

/* @jpeg with its EXIF block passed through @edit (libexif) and written back. Caller frees. */
static uint8_t *exif_edited(const uint8_t *jpeg, size_t len, size_t *out_len,
                            void (*edit)(ExifData *, void *), void *ud)
{
    size_t at = 2, s = 0, e = 0;
    while (at + 4 <= len && jpeg[at] == 0xff && jpeg[at + 1] != 0xda) {
        size_t seg = (size_t)jpeg[at + 2] << 8 | jpeg[at + 3];
        if (jpeg[at + 1] == 0xe1 && !memcmp(jpeg + at + 4, "Exif", 4)) {
            s = at;
            e = at + 2 + seg;
            break;
        }
        at += 2 + seg;
    }
    assert_true(e > s);
    ExifData *d = exif_data_new_from_data(jpeg + s + 4, (unsigned)(e - s - 4));
    assert_non_null(d);
    edit(d, ud);
    unsigned char *app1 = NULL;
    unsigned int alen = 0;
    exif_data_save_data(d, &app1, &alen);
    exif_data_unref(d);
    assert_non_null(app1);
    assert_true(alen + 2 <= 0xffff);
    uint8_t *out = malloc(len - (e - s) + alen + 4);
    assert_non_null(out);
    memcpy(out, jpeg, s);
    uint8_t hdr[4] = { 0xff, 0xe1, (uint8_t)((alen + 2) >> 8), (uint8_t)(alen + 2) };
    memcpy(out + s, hdr, 4);
    memcpy(out + s + 4, app1, alen);
    memcpy(out + s + 4 + alen, jpeg + e, len - e);
    *out_len = len - (e - s) + alen + 4;
    free(app1);
    return out;
}

/* Sets a SHORT tag of @ifd, adding it when missing. */
static void set_short(ExifData *d, ExifIfd ifd, ExifTag tag, unsigned v)
{
    ExifEntry *e = exif_content_get_entry(d->ifd[ifd], tag);
    if (!e) {
        e = exif_entry_new();
        exif_content_add_entry(d->ifd[ifd], e);
        exif_entry_initialize(e, tag);
        exif_entry_unref(e);
    }
    if (e->format == EXIF_FORMAT_LONG)
        exif_set_long(e->data, exif_data_get_byte_order(d), v);
    else
        exif_set_short(e->data, exif_data_get_byte_order(d), (ExifShort)v);
}

static void pixel_size(ExifData *d, void *ud)
{
    const unsigned *wh = ud;
    set_short(d, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_X_DIMENSION, wh[0]);
    set_short(d, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_Y_DIMENSION, wh[1]);
}

static void orientation_6(ExifData *d, void *ud)
{
    (void)ud;
    set_short(d, EXIF_IFD_0, EXIF_TAG_ORIENTATION, 6);
}

static struct pho_image *load_small(const uint8_t *data, size_t len, bool strict, int *rc)
{
    struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
    o.max_size = 480;
    o.allow_larger = true;
    o.thumbnail_ok = true;
    o.strict = strict;
    struct pho_image *img = NULL;
    *rc = pho_image_load_buffer(&img, data, len, &o, NULL, NULL);
    return img;
}

static void test_exif_thumbnail_stand_in(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *jpeg = t_defer(free_mem, read_file(td("bursts/IMG_20191112_111022.jpg"), &len));
    assert_non_null(jpeg);
    int rc;
    /* The phone's 320 x 240 thumbnail of its 4032 x 3024 frame stands in; from a file too. */
    struct pho_image *img = load_small(jpeg, len, false, &rc);
    assert_int_equal(rc, 0);
    assert_true(img->from_thumbnail);
    assert_int_equal(img->width, 320);
    assert_int_equal(img->height, 240);
    pho_image_free(img);
    struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
    o.max_size = 480;
    o.thumbnail_ok = true;
    assert_int_equal(pho_image_load(&img, td("bursts/IMG_20191112_111022.jpg"), &o, NULL, NULL), 0);
    assert_true(img->from_thumbnail);
    pho_image_free(img);
    /* Not asked for, or a strict check wanted: the pixels themselves. */
    o.thumbnail_ok = false;
    assert_int_equal(pho_image_load(&img, td("bursts/IMG_20191112_111022.jpg"), &o, NULL, NULL), 0);
    assert_false(img->from_thumbnail);
    pho_image_free(img);
    img = load_small(jpeg, len, true, &rc);
    assert_int_equal(rc, 0);
    assert_false(img->from_thumbnail);
    pho_image_free(img);

    /* Cut off: the thumbnail at the start is intact, the photo is not, and says so. */
    img = load_small(jpeg, len * 6 / 10, false, &rc);
    assert_int_equal(rc, PHO_ECORRUPT);
    assert_null(img);

    /* Data after the End Of Image marker (a motion photo's video): decoded instead. */
    uint8_t *longer = t_defer(free_mem, malloc(len + 100));
    memcpy(longer, jpeg, len);
    memset(longer + len, 0x42, 100);
    img = load_small(longer, len + 100, false, &rc);
    assert_int_equal(rc, 0);
    assert_false(img->from_thumbnail);
    pho_image_free(img);

    /* EXIF written for another size (an edited copy kept the original's metadata): the
     * thumbnail may show another picture. The right size, either way round, is trusted. */
    unsigned stale[2] = { 2000, 1500 }, right[2] = { 4032, 3024 }, turned[2] = { 3024, 4032 };
    size_t elen = 0;
    uint8_t *edited = t_defer(free_mem, exif_edited(jpeg, len, &elen, pixel_size, stale));
    img = load_small(edited, elen, false, &rc);
    assert_int_equal(rc, 0);
    assert_false(img->from_thumbnail);
    pho_image_free(img);
    edited = t_defer(free_mem, exif_edited(jpeg, len, &elen, pixel_size, right));
    img = load_small(edited, elen, false, &rc);
    assert_true(rc == 0 && img->from_thumbnail);
    pho_image_free(img);
    edited = t_defer(free_mem, exif_edited(jpeg, len, &elen, pixel_size, turned));
    img = load_small(edited, elen, false, &rc);
    assert_true(rc == 0 && img->from_thumbnail);
    pho_image_free(img);

    /* The orientation applies to the thumbnail as to the photo. */
    edited = t_defer(free_mem, exif_edited(jpeg, len, &elen, orientation_6, NULL));
    img = load_small(edited, elen, false, &rc);
    assert_int_equal(rc, 0);
    assert_true(img->from_thumbnail);
    assert_int_equal(img->width, 240);
    assert_int_equal(img->height, 320);
    pho_image_free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff_signatures),
        cmocka_unit_test(test_suffix_and_names),
        cmocka_unit_test(test_labelled_formats),
        cmocka_unit_test(test_orientation_upright),
        cmocka_unit_test(test_real_sizes),
        cmocka_unit_test(test_shrink_on_load_and_colour),
        cmocka_unit_test(test_buffer_matches_file),
        cmocka_unit_test(test_decompression_bomb_refused),
        cmocka_unit_test(test_png_chunk_past_end),
        cmocka_unit_test(test_broken_files),
        cmocka_unit_test(test_truncated_buffers_never_crash),
        cmocka_unit_test(test_image_new),
        T_TEST(test_heif_container_rotation_wins),
        T_TEST(test_camera_tiffs_are_tiffs),
        T_TEST(test_exif_thumbnail_stand_in),
    };
    return T_RUN_GROUP(tests, NULL, NULL);
}
