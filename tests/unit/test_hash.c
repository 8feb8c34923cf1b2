/* SPDX-License-Identifier: MIT */
/* Perceptual hashes: hand-checkable vectors, the resampler against fixture
 * numbers, text form, distance, kind names, near-duplicates among the test
 * photos, and how much shrink-on-load moves a hash. */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/testlib.h"
#include "hash/resample.h"
#include "pho/hash.h"
#include "pho/image.h"
#include "pho/scan.h"

/* A w x h RGB image filled by fn(x, y, channel). */
static struct pho_image *make_image(uint32_t w, uint32_t h, uint8_t (*fn)(uint32_t, uint32_t, int))
{
    struct pho_image *img = NULL;
    assert_int_equal(pho_image_new(&img, w, h, NULL), 0);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                img->pixels[y * img->stride + x * 3 + c] = fn(x, y, c);
    return img;
}

static uint64_t dhash_of(const struct pho_image *img)
{
    uint64_t h = 1;
    assert_int_equal(pho_hash_dhash(&h, img), 0);
    return h;
}

static uint64_t phash_of(const struct pho_image *img)
{
    uint64_t h = 1;
    assert_int_equal(pho_hash_phash(&h, img), 0);
    return h;
}

static void assert_hex(uint64_t h, const char *want)
{
    char s[17];
    pho_hash_format(s, h);
    assert_string_equal(s, want);
}

static void test_luma(void **state)
{
    (void)state;
    /* (c * 19595 + 0x8000) >> 16 etc., worked out by hand. */
    assert_int_equal(pho_resample__luma(255, 0, 0), 76);
    assert_int_equal(pho_resample__luma(0, 255, 0), 150);
    assert_int_equal(pho_resample__luma(0, 0, 255), 29);
    assert_int_equal(pho_resample__luma(255, 255, 255), 255);
    assert_int_equal(pho_resample__luma(0, 0, 0), 0);
    /* The weights sum to 65536, so any grey maps to itself. */
    for (int v = 0; v < 256; v++)
        assert_int_equal(pho_resample__luma((uint8_t)v, (uint8_t)v, (uint8_t)v), v);
    assert_int_equal(pho_resample__luma(10, 200, 30),
                     (10 * 19595 + 200 * 38470 + 30 * 7471 + 0x8000) >> 16);
}

/*
 * A 9x8 image is not resized at all, so each row's bits can be read off:
 * row 0 rises (ff), row 1 falls (00), row 2 zig-zags starting up (aa),
 * row 3 is flat (00: equal is not brighter), row 4 is one step then flat (80),
 * row 5 falls then rises (0f), row 6 rises only at the end (01), row 7 is
 * red, green, blue repeated: grey 76, 150, 29 -> up, down, up, up, down, up,
 * up, down (b6).
 */
static const uint8_t rows9x8[8][9] = {
    { 10, 20, 30, 40, 50, 60, 70, 80, 90 },
    { 90, 80, 70, 60, 50, 40, 30, 20, 10 },
    { 10, 20, 10, 20, 10, 20, 10, 20, 10 },
    { 77, 77, 77, 77, 77, 77, 77, 77, 77 },
    { 0, 255, 255, 255, 255, 255, 255, 255, 255 },
    { 50, 40, 30, 20, 10, 20, 30, 40, 50 },
    { 9, 8, 7, 6, 5, 4, 3, 2, 3 },
};

static uint8_t fill9x8(uint32_t x, uint32_t y, int c)
{
    if (y == 7)
        return (x % 3) == (uint32_t)c ? 255 : 0;
    return rows9x8[y][x];
}

static void test_dhash_by_hand(void **state)
{
    (void)state;
    struct pho_image *img = make_image(9, 8, fill9x8);
    assert_hex(dhash_of(img), "ff00aa00800f01b6");
    pho_image_free(img);
}

static uint8_t ramp_up(uint32_t x, uint32_t y, int c)
{
    (void)y;
    (void)c;
    return (uint8_t)(x * 255 / 639);
}

static uint8_t ramp_down(uint32_t x, uint32_t y, int c)
{
    return (uint8_t)(255 - ramp_up(x, y, c));
}

static uint8_t ramp_vertical(uint32_t x, uint32_t y, int c)
{
    (void)x;
    (void)c;
    return (uint8_t)(y * 255 / 479);
}

static uint8_t flat(uint32_t x, uint32_t y, int c)
{
    (void)x;
    (void)y;
    (void)c;
    return 128;
}

static void test_gradients(void **state)
{
    (void)state;
    struct pho_image *up = make_image(640, 480, ramp_up);
    struct pho_image *down = make_image(640, 480, ramp_down);
    struct pho_image *vert = make_image(640, 480, ramp_vertical);
    struct pho_image *grey = make_image(640, 480, flat);
    /* Brighter to the right everywhere: every bit set; darker: none. */
    assert_hex(dhash_of(up), "ffffffffffffffff");
    assert_hex(dhash_of(down), "0000000000000000");
    /* Rows are flat, so no right neighbour is brighter. */
    assert_hex(dhash_of(vert), "0000000000000000");
    assert_hex(dhash_of(grey), "0000000000000000");
    /* A flat image has only the DC coefficient; 63 zeros put the median at 0. */
    assert_hex(phash_of(grey), "8000000000000000");
    pho_image_free(up);
    pho_image_free(down);
    pho_image_free(vert);
    pho_image_free(grey);
}

/* Test patterns, integer arithmetic only so the NumPy model computes the same pixels. */
static uint8_t pattern_a(uint32_t x, uint32_t y, int c)
{
    return (uint8_t)(((long)x * (c + 3) * 37 + (long)y * (c + 5) * 91 + (long)(x * y) % 17 * 13) %
                     256);
}

static uint8_t pattern_rings(uint32_t x, uint32_t y, int c)
{
    long dx = (long)x - 300, dy = (long)y - 200;
    long v = ((dx * dx + dy * dy) / 700) % 256;
    if (c == 0)
        return (uint8_t)v;
    if (c == 1)
        return (uint8_t)((v + x / 5) % 256);
    return (uint8_t)((255 - v + y / 3) % 256);
}

/*
 * Expected values come from a separate NumPy model of Pillow's convert("L")
 * and LANCZOS resize (precompute_coeffs / normalize_coeffs_8bpc / the two
 * 8-bit passes) and of imagehash's dhash and phash (scipy DCT-II, median);
 * only its numbers are kept here. The cases cover reduction in both
 * directions, enlargement (7x5) and portrait/landscape.
 */
static const struct {
    uint32_t w, h;
    uint8_t (*fn)(uint32_t, uint32_t, int);
    uint8_t grey9x8[72];
    uint32_t sum32; /* sum of (i + 1) * pixel[i] over the 32x32 resize, mod 2^32 */
    const char *dhash, *phash;
} fixtures[] = {
    { 61,
      47,
      pattern_a,
      { 124, 125, 133, 132, 127, 125, 126, 127, 121, 136, 133, 135, 118, 135, 131, 120, 121, 133,
        129, 129, 129, 129, 117, 135, 129, 120, 126, 131, 129, 136, 127, 132, 127, 124, 118, 125,
        127, 126, 128, 122, 139, 142, 131, 132, 120, 131, 131, 120, 127, 130, 125, 130, 126, 127,
        122, 120, 120, 129, 122, 128, 130, 135, 129, 123, 133, 120, 137, 120, 127, 138, 137, 119 },
      67198491u,
      "c65309515a352eac",
      "d26b241dd5265637" },
    { 7,
      5,
      pattern_a,
      { 0,   94,  142, 104, 148, 126, 160, 161, 113, 32,  104, 139, 95,  100, 135, 128, 131, 161,
        95,  129, 151, 94,  40,  160, 111, 95,  201, 112, 154, 182, 115, 54,  190, 168, 104, 145,
        103, 131, 184, 154, 79,  172, 144, 115, 176, 100, 91,  147, 168, 95,  132, 64,  109, 254,
        108, 111, 108, 111, 135, 150, 112, 111, 153, 116, 140, 92,  65,  159, 177, 174, 115, 52 },
      66346669u,
      "d6dbc9c9c96bb998",
      "83031c8dd4f22bfb" },
    { 640,
      480,
      pattern_rings,
      { 143, 116, 100, 96, 101, 118, 148, 169, 94,  127, 101, 76,  57,  61,  86,  127, 175, 118,
        120, 83,  43,  38, 44,  59,  97,  169, 140, 118, 66,  43,  40,  46,  63,  86,  158, 149,
        120, 69,  52,  47, 53,  70,  93,  158, 143, 133, 84,  67,  62,  68,  85,  110, 167, 121,
        162, 110, 91,  86, 92,  108, 143, 159, 106, 197, 149, 120, 117, 123, 139, 170, 120, 126 },
      57534827u,
      "1e1e1e1e1e1e1e1d",
      "b525d295ca1dda34" },
    { 480,
      640,
      pattern_rings,
      { 144, 121, 106, 96,  88,  89,  98,  117, 140, 126, 105, 79,  55,  46,  46,  55,  75,  107,
        123, 88,  51,  41,  38,  41,  49,  63,  84,  131, 84,  62,  54,  49,  51,  60,  75,  96,
        152, 107, 85,  78,  73,  75,  83,  97,  119, 211, 171, 124, 112, 109, 112, 123, 144, 163,
        132, 189, 199, 183, 173, 170, 168, 156, 131, 69,  67,  96,  121, 130, 126, 114, 105, 108 },
      59712965u,
      "0f070f0f0f0fc071",
      "fe7f80e01fc03f80" },
};

static void test_resampler_fixtures(void **state)
{
    (void)state;
    for (size_t f = 0; f < PHO_ARRAY_LEN(fixtures); f++) {
        struct pho_image *img = make_image(fixtures[f].w, fixtures[f].h, fixtures[f].fn);
        uint8_t g9[72], g32[1024];
        assert_int_equal(pho_resample__grey(g9, 9, 8, img), 0);
        assert_memory_equal(g9, fixtures[f].grey9x8, sizeof(g9));
        assert_int_equal(pho_resample__grey(g32, 32, 32, img), 0);
        uint32_t sum = 0;
        for (uint32_t i = 0; i < 1024; i++)
            sum += (i + 1) * g32[i];
        assert_int_equal(sum, fixtures[f].sum32);
        assert_hex(dhash_of(img), fixtures[f].dhash);
        assert_hex(phash_of(img), fixtures[f].phash);
        pho_image_free(img);
    }
}

static void test_resampler_generic(void **state)
{
    (void)state;
    /* Same size in both directions: the image is returned as it is. */
    uint8_t in[6] = { 1, 2, 3, 250, 251, 252 }, out[6];
    assert_int_equal(pho_resample__lanczos8(out, 3, 2, in, 3, 3, 2), 0);
    assert_memory_equal(out, in, sizeof(in));
    /* A constant stays constant through both passes (weights sum to one). */
    uint8_t c[50 * 40], small[5 * 4];
    memset(c, 200, sizeof(c));
    assert_int_equal(pho_resample__lanczos8(small, 5, 4, c, 50, 50, 40), 0);
    for (size_t i = 0; i < sizeof(small); i++)
        assert_int_equal(small[i], 200);
    /* Honors the stride: a padded copy of the fixture gives the same result. */
    struct pho_image *img = make_image(61, 47, pattern_a);
    uint8_t *grey = malloc(64 * 47);
    for (uint32_t y = 0; y < 47; y++)
        for (uint32_t x = 0; x < 64; x++) {
            const uint8_t *p = img->pixels + y * img->stride + (x < 61 ? x : 0) * 3;
            grey[y * 64 + x] = x < 61 ? pho_resample__luma(p[0], p[1], p[2]) : 0xee;
        }
    uint8_t g9[72];
    assert_int_equal(pho_resample__lanczos8(g9, 9, 8, grey, 64, 61, 47), 0);
    assert_memory_equal(g9, fixtures[0].grey9x8, sizeof(g9));
    assert_int_equal(pho_resample__lanczos8(g9, 0, 8, grey, 64, 61, 47), PHO_EINVAL);
    free(grey);
    pho_image_free(img);
}

static void test_empty_image(void **state)
{
    (void)state;
    struct pho_image empty = { 0, 0, 0, NULL };
    uint64_t h = 7;
    assert_int_equal(pho_hash_dhash(&h, &empty), PHO_EINVAL);
    assert_true(h == 0);
    assert_int_equal(pho_hash_phash(&h, &empty), PHO_EINVAL);
    assert_int_equal(pho_hash_dhash(&h, NULL), PHO_EINVAL);
    uint8_t px[3] = { 1, 2, 3 };
    struct pho_image one = { 1, 1, 3, px };
    assert_int_equal(pho_hash_dhash(&h, &one), 0);
    assert_int_equal(pho_hash_phash(&h, &one), 0);
}

static void test_format_parse(void **state)
{
    (void)state;
    static const uint64_t values[] = {
        0, 1, 0x8000000000000000u, 0xffffffffffffffffu, 0x0123456789abcdefu, 0xfedcba9876543210u
    };
    for (size_t i = 0; i < PHO_ARRAY_LEN(values); i++) {
        char s[17];
        uint64_t back = ~values[i];
        pho_hash_format(s, values[i]);
        assert_int_equal(strlen(s), 16);
        assert_int_equal(pho_hash_parse(&back, s), 0);
        assert_true(back == values[i]);
    }
    assert_hex(0x0123456789abcdefu, "0123456789abcdef");
    assert_hex(1, "0000000000000001");
    uint64_t h = 0;
    assert_int_equal(pho_hash_parse(&h, "FEDCBA9876543210"), 0);
    assert_true(h == 0xfedcba9876543210u);
    assert_int_equal(pho_hash_parse(&h, "AbCdEf0123456789"), 0);
    assert_true(h == 0xabcdef0123456789u);
    static const char *const bad[] = {
        "",
        "0123456789abcde",
        "0123456789abcdef0",
        "0x23456789abcdef",
        "0123456789abcdeg",
        " 123456789abcdef",
        "0123456789abcde ",
        "-123456789abcdef",
    };
    for (size_t i = 0; i < PHO_ARRAY_LEN(bad); i++) {
        h = 5;
        assert_int_equal(pho_hash_parse(&h, bad[i]), PHO_EINVAL);
        assert_true(h == 0);
    }
    assert_int_equal(pho_hash_parse(&h, NULL), PHO_EINVAL);
}

static void test_distance(void **state)
{
    (void)state;
    assert_int_equal(pho_hash_distance(0, 0), 0);
    assert_int_equal(pho_hash_distance(0, ~(uint64_t)0), 64);
    assert_int_equal(pho_hash_distance(0xf0, 0x0f), 8);
    assert_int_equal(pho_hash_distance(0x8000000000000001u, 1), 1);
    assert_int_equal(pho_hash_distance(0x123456789abcdef0u, 0x123456789abcdef0u), 0);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(pho_hash_kind_name(PHO_HASH_DHASH), "dhash");
    assert_string_equal(pho_hash_kind_name(PHO_HASH_PHASH), "phash");
    assert_string_equal(pho_hash_kind_name((enum pho_hash_kind)7), "unknown");
    enum pho_hash_kind k = PHO_HASH_DHASH;
    assert_int_equal(pho_hash_kind_parse(&k, "phash"), 0);
    assert_int_equal(k, PHO_HASH_PHASH);
    assert_int_equal(pho_hash_kind_parse(&k, "dhash"), 0);
    assert_int_equal(k, PHO_HASH_DHASH);
    assert_int_equal(pho_hash_kind_parse(&k, "DHASH"), PHO_EINVAL);
    assert_int_equal(pho_hash_kind_parse(&k, "ahash"), PHO_EINVAL);
    assert_int_equal(pho_hash_kind_parse(&k, ""), PHO_EINVAL);
    assert_int_equal(pho_hash_kind_parse(&k, NULL), PHO_EINVAL);
}

/* ---- the test photos ---------------------------------------------------------- */

struct hashes {
    uint64_t d, p;
};

static struct hashes hash_file(const char *rel, uint32_t max_size)
{
    struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
    o.max_size = max_size;
    o.allow_larger = max_size != 0;
    struct pho_image *img = NULL;
    struct pho_err err = PHO_ERR_INIT;
    if (pho_image_load(&img, td(rel), &o, NULL, &err) != 0)
        fail_msg("%s: %s", rel, err.msg);
    struct hashes h = { dhash_of(img), phash_of(img) };
    pho_image_free(img);
    return h;
}

static int worst_within(const char *const *files, size_t n, bool phash)
{
    int worst = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            struct hashes a = hash_file(files[i], 480), b = hash_file(files[j], 480);
            int d = phash ? pho_hash_distance(a.p, b.p) : pho_hash_distance(a.d, b.d);
            worst = PHO_MAX(worst, d);
        }
    return worst;
}

static void test_near_duplicates(void **state)
{
    (void)state;
    static const char *const obama[] = { "bursts/obama-240p.jpg", "bursts/obama-480p.jpg",
                                         "bursts/obama-720p.jpg", "bursts/obama-1080p.jpg" };
    static const char *const iphone[] = { "bursts/iphone_hdr_NO.jpg", "bursts/iphone_hdr_YES.jpg" };
    static const char *const take14[] = { "bursts/group4_take1.jpg", "bursts/group4_take4.jpg",
                                          "bursts/group4_take5.jpg" };
    static const char *const take23[] = { "bursts/group4_take2.jpg", "bursts/group4_take3.jpg" };
    static const char *const nokia[] = { "bursts/IMG_20191112_111022.jpg",
                                         "bursts/IMG_20191112_111024.jpg" };
    static const char *const rgba[] = { "faces/portraits/obama2.jpg",
                                        "formats/png/obama2_32bit_rgba.png" };
    /* Re-encodings at four sizes of one frame agree on every bit. */
    assert_int_equal(worst_within(obama, 4, false), 0);
    assert_int_equal(worst_within(obama, 4, true), 0);
    assert_int_equal(worst_within(rgba, 2, false), 0);
    /* Real bursts: within the default threshold of 5. */
    int d_iphone = worst_within(iphone, 2, false), d_take14 = worst_within(take14, 3, false);
    int d_take23 = worst_within(take23, 2, false), d_nokia = worst_within(nokia, 2, false);
    print_message("# dhash distance within bursts: iphone hdr %d, takes 1/4/5 %d, takes 2/3 %d, "
                  "nokia 022/024 %d\n",
                  d_iphone, d_take14, d_take23, d_nokia);
    assert_in_range(d_iphone, 0, 5);
    assert_in_range(d_take14, 0, 5);
    assert_in_range(d_take23, 0, 5);
    assert_in_range(d_nokia, 0, 5);

    /* Unrelated photos are far apart: every pair among these differs in > 16 bits. */
    static const char *const unrelated[] = {
        "bursts/group4_take1.jpg",     "bursts/iphone_hdr_NO.jpg",
        "bursts/obama-480p.jpg",       "faces/groups/dogs_no_people.jpg",
        "exif/gps_walk/DSCN0010.jpg",  "exif/misc/ladybug.jpg",
        "faces/portraits/biden.jpg",   "faces/groups/solvay_1927.jpg",
        "orientation/landscape_1.jpg",
    };
    struct hashes h[PHO_ARRAY_LEN(unrelated)];
    for (size_t i = 0; i < PHO_ARRAY_LEN(unrelated); i++)
        h[i] = hash_file(unrelated[i], 480);
    int closest_d = 64, closest_p = 64;
    for (size_t i = 0; i < PHO_ARRAY_LEN(unrelated); i++)
        for (size_t j = i + 1; j < PHO_ARRAY_LEN(unrelated); j++) {
            closest_d = PHO_MIN(closest_d, pho_hash_distance(h[i].d, h[j].d));
            closest_p = PHO_MIN(closest_p, pho_hash_distance(h[i].p, h[j].p));
        }
    print_message("# closest unrelated pair: dhash %d, phash %d bits\n", closest_d, closest_p);
    assert_true(closest_d > 16);
    assert_true(closest_p > 16);
}

/*
 * The original hashed full-resolution decodes; we hash the JPEG DCT-scaled
 * working decode (long side 480..959). Over all decodable test photos the
 * two must agree closely, far inside the grouping threshold.
 */
static void test_shrink_on_load_effect(void **state)
{
    (void)state;
    const char *csv = td("labels.csv");
    size_t len = 0;
    char *text = (char *)read_file(csv, &len);
    assert_non_null(text);
    int hist_d[65] = { 0 }, hist_p[65] = { 0 };
    int n = 0, max_d = 0, max_p = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *comma = strchr(line, ',');
        if (!comma || !strncmp(line, "file,", 5))
            continue;
        *comma = '\0';
        struct pho_image_opts small = PHO_IMAGE_OPTS_INIT, full = PHO_IMAGE_OPTS_INIT;
        small.max_size = 480;
        small.allow_larger = true;
        struct pho_image *a = NULL, *b = NULL;
        if (pho_image_load(&a, td(line), &small, NULL, NULL) == 0 &&
            pho_image_load(&b, td(line), &full, NULL, NULL) == 0) {
            int dd = pho_hash_distance(dhash_of(a), dhash_of(b));
            int dp = pho_hash_distance(phash_of(a), phash_of(b));
            /* The NEF stub decodes to noise, whose pHash is arbitrary. */
            if (!strstr(line, "metadata_only")) {
                hist_d[dd]++;
                hist_p[dp]++;
                max_d = PHO_MAX(max_d, dd);
                max_p = PHO_MAX(max_p, dp);
                n++;
            }
        }
        pho_image_free(a);
        pho_image_free(b);
    }
    free(text);
    print_message("# shrink-on-load vs full decode over %d photos: dhash 0:%d 1:%d 2:%d 3+:%d "
                  "(max %d); phash 0:%d 1:%d 2:%d 3+:%d (max %d)\n",
                  n, hist_d[0], hist_d[1], hist_d[2], n - hist_d[0] - hist_d[1] - hist_d[2], max_d,
                  hist_p[0], hist_p[1], hist_p[2], n - hist_p[0] - hist_p[1] - hist_p[2], max_p);
    assert_true(n >= 100);
    assert_true(max_d <= 2);
    assert_true(hist_d[0] >= n * 9 / 10);
    assert_true(max_p <= 4);
}

/* Pearson correlation of two signature thumbnails. */
static double thumb_correlation(const uint8_t *a, const uint8_t *b)
{
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0, n = PHO_HASH_THUMB * PHO_HASH_THUMB;
    for (int i = 0; i < PHO_HASH_THUMB * PHO_HASH_THUMB; i++) {
        sa += a[i];
        sb += b[i];
        saa += (double)a[i] * a[i];
        sbb += (double)b[i] * b[i];
        sab += (double)a[i] * b[i];
    }
    double va = saa - sa * sa / n, vb = sbb - sb * sb / n;
    return va > 0 && vb > 0 ? (sab - sa * sb / n) / sqrt(va * vb) : 1;
}

/*
 * The organizer hashes a JPEG from its EXIF thumbnail when that can stand
 * in for it (pho_image_opts.thumbnail_ok). Over every JPEG of the test
 * photos whose thumbnail is taken, the hashes must agree with the working
 * decode's as closely as shrink-on-load's do, and the verification
 * thumbnail must show the same picture; the thumbnails refused must
 * include the stale ones (edited copies that kept the original's EXIF).
 */
static void test_thumbnail_effect(void **state)
{
    (void)state;
    struct pho_scan_list *list = NULL;
    assert_int_equal(pho_scan_run(&list, getenv("PHO_TESTDATA") ? td(".") : td(""), NULL, NULL), 0);
    int hist_d[65] = { 0 }, n = 0, jpegs = 0, max_d = 0, max_p = 0, max_c = 0;
    double worst_corr = 1;
    const char *worst = "";
    for (size_t i = 0; i < list->count; i++) {
        const char *path = list->items[i].path;
        struct pho_image_opts work = PHO_IMAGE_OPTS_INIT, thumb;
        work.max_size = 480;
        work.allow_larger = true;
        thumb = work;
        thumb.thumbnail_ok = true;
        struct pho_image *a = NULL, *b = NULL;
        struct pho_meta m;
        if (pho_image_load(&a, path, &thumb, &m, NULL) == 0 && m.format == PHO_FORMAT_JPEG)
            jpegs++;
        if (a && a->from_thumbnail && pho_image_load(&b, path, &work, NULL, NULL) == 0) {
            assert_false(b->from_thumbnail);
            struct pho_hash_sig sa, sb;
            assert_int_equal(pho_hash_signature(&sa, a), 0);
            assert_int_equal(pho_hash_signature(&sb, b), 0);
            int dd = pho_hash_distance(dhash_of(a), dhash_of(b));
            int dp = pho_hash_distance(phash_of(a), phash_of(b));
            int dc = pho_hash_distance(sa.crop_dhash[0], sb.crop_dhash[0]);
            double corr = thumb_correlation(sa.thumb, sb.thumb);
            hist_d[dd]++;
            max_d = PHO_MAX(max_d, dd);
            max_p = PHO_MAX(max_p, dp);
            max_c = PHO_MAX(max_c, dc);
            if (corr < worst_corr) {
                worst_corr = corr;
                worst = path;
            }
            n++;
        }
        pho_image_free(a);
        pho_image_free(b);
    }
    print_message("# EXIF thumbnail vs working decode: %d of %d JPEGs hashed from the thumbnail; "
                  "dhash 0:%d 1:%d 2:%d 3+:%d (max %d), phash max %d, 90%% crop dhash max %d, "
                  "verification thumbnails correlate >= %.3f (%s)\n",
                  n, jpegs, hist_d[0], hist_d[1], hist_d[2], n - hist_d[0] - hist_d[1] - hist_d[2],
                  max_d, max_p, max_c, worst_corr, worst);
    pho_scan_list_free(list);
    assert_true(n >= 50);
}

/* The signature: a crop's hash finds the cropped copy; thumbnail and colours are sane. */
static void test_signature(void **state)
{
    (void)state;
    static const char *const files[] = { "bursts/group4_take1.jpg", "faces/portraits/obama.jpg",
                                         "bursts/IMG_20191112_111022.jpg" };
    for (size_t f = 0; f < PHO_ARRAY_LEN(files); f++) {
        struct pho_image_opts o = PHO_IMAGE_OPTS_INIT;
        o.max_size = 480;
        o.allow_larger = true;
        struct pho_image *img = NULL;
        struct pho_err err = PHO_ERR_INIT;
        if (pho_image_load(&img, td(files[f]), &o, NULL, &err) != 0)
            fail_msg("%s: %s", files[f], err.msg);
        struct pho_hash_sig sig;
        assert_int_equal(pho_hash_signature(&sig, img), 0);
        static const double side[PHO_HASH_CROPS] = { 0.9, 0.8 };
        for (int k = 0; k < PHO_HASH_CROPS; k++) {
            /* The copy a user would make: the centre crop, hashed as a photo of its own. */
            uint32_t w = (uint32_t)lround(img->width * side[k]);
            uint32_t h = (uint32_t)lround(img->height * side[k]);
            struct pho_image crop = *img;
            crop.width = w;
            crop.height = h;
            crop.pixels = img->pixels + (size_t)((img->height - h) / 2) * img->stride +
                          (size_t)((img->width - w) / 2) * 3;
            int dd = pho_hash_distance(sig.crop_dhash[k], dhash_of(&crop));
            int dp = pho_hash_distance(sig.crop_phash[k], phash_of(&crop));
            print_message("# %s crop %.0f%%: dhash %d bits, phash %d bits from the copy's\n",
                          files[f], side[k] * 100, dd, dp);
            /* The auto rule links copies within 7 bits of either hash: keep a margin. */
            assert_true(PHO_MIN(dd, dp) <= 3 && PHO_MAX(dd, dp) <= 6);
        }
        /* Mirrored and turned copies are found by the turned hashes. */
        struct pho_image *turned = NULL;
        assert_int_equal(pho_image_new(&turned, img->width, img->height, NULL), 0);
        for (uint32_t y = 0; y < img->height; y++)
            for (uint32_t x = 0; x < img->width; x++)
                memcpy(turned->pixels + y * turned->stride + x * 3,
                       img->pixels + y * img->stride + (img->width - 1 - x) * 3, 3);
        int dm = pho_hash_distance(sig.turned_dhash[0], dhash_of(turned));
        pho_image_free(turned);
        assert_int_equal(pho_image_new(&turned, img->height, img->width, NULL), 0);
        for (uint32_t y = 0; y < img->width; y++) /* clockwise: new (x, y) = old (y, H-1-x) */
            for (uint32_t x = 0; x < img->height; x++)
                memcpy(turned->pixels + y * turned->stride + x * 3,
                       img->pixels + (img->height - 1 - x) * img->stride + y * 3, 3);
        int dr = pho_hash_distance(sig.turned_dhash[1], dhash_of(turned));
        pho_image_free(turned);
        print_message("# %s mirrored: %d bits, turned: %d bits\n", files[f], dm, dr);
        assert_true(dm <= 5 && dr <= 5); /* the rule takes turned copies within 6 bits */
        unsigned total = 0, lo = 255, hi = 0;
        for (int i = 0; i < 64; i++)
            total += sig.colour[i];
        for (size_t i = 0; i < sizeof(sig.thumb); i++) {
            lo = PHO_MIN(lo, sig.thumb[i]);
            hi = PHO_MAX(hi, sig.thumb[i]);
        }
        assert_true(total >= 255 - 32 && total <= 255 + 32); /* shares in 1/255, rounded */
        assert_true(hi - lo > 50);                           /* a photo, not a flat square */
        pho_image_free(img);
    }
    struct pho_hash_sig sig;
    assert_int_equal(pho_hash_signature(&sig, NULL), PHO_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature),          cmocka_unit_test(test_luma),
        cmocka_unit_test(test_dhash_by_hand),      cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_resampler_fixtures), cmocka_unit_test(test_resampler_generic),
        cmocka_unit_test(test_empty_image),        cmocka_unit_test(test_format_parse),
        cmocka_unit_test(test_distance),           cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_near_duplicates),    cmocka_unit_test(test_shrink_on_load_effect),
        cmocka_unit_test(test_thumbnail_effect),
    };
    return T_RUN_GROUP(tests, NULL, NULL);
}
