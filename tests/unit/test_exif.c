/* SPDX-License-Identifier: MIT */
/* Capture-time parsing, EXIF extraction from synthetic blocks (including
 * hostile ones) and from the labelled camera photos. */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/testlib.h"
#include "pho/exif.h"
#include "pho/image.h"

static int64_t civil(int y, int mo, int d, int h, int mi, int s)
{
    char buf[32];
    int64_t t = 0;
    snprintf(buf, sizeof(buf), "%04d:%02d:%02d %02d:%02d:%02d", y, mo, d, h, mi, s);
    assert_int_equal(pho_time_parse_exif(&t, buf), 0);
    return t;
}

static void test_time_parse(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(pho_time_parse_exif(&t, "1970:01:01 00:00:00"), 0);
    assert_int_equal(t, 0);
    assert_int_equal(pho_time_parse_exif(&t, "2019:11:12 11:10:24"), 0);
    assert_int_equal(t, 1573557024);
    assert_int_equal(pho_time_parse_exif(&t, "2020:02:29 12:00:00"), 0);
    /* Trailing junk after the seconds (obama2.jpg has ".60:04:00") is tolerated. */
    assert_int_equal(pho_time_parse_exif(&t, "2009:09:09 20:27:09.60:04:00"), 0);
    assert_int_equal(t, civil(2009, 9, 9, 20, 27, 9));
    assert_int_equal(pho_time_parse_exif(&t, "2009-09-09T20:27:09"), 0);

    const char *bad[] = { "0000:00:00 00:00:00", "    :  :     :  :  ", "",
                          "2019:13:01 00:00:00", "2019:02:29 00:00:00", "2019:04:31 00:00:00",
                          "2019:01:01 24:00:00", "2019:01:01 00:60:00", "19:01:01 00:00:00",
                          "2019:01:01",          "1800:01:01 00:00:00", "abcd:ef:gh ij:kl:mn" };
    for (size_t i = 0; i < PHO_ARRAY_LEN(bad); i++)
        assert_int_equal(pho_time_parse_exif(&t, bad[i]), PHO_ECORRUPT);
    assert_int_equal(pho_time_parse_exif(&t, NULL), PHO_ECORRUPT);
}

static void test_subsec_and_offset(void **state)
{
    (void)state;
    assert_int_equal(pho_time_parse_subsec("187"), 187000000);
    assert_int_equal(pho_time_parse_subsec("05"), 50000000);
    assert_int_equal(pho_time_parse_subsec("950488"), 950488000);
    assert_int_equal(pho_time_parse_subsec("1234567891234"), 123456789);
    assert_int_equal(pho_time_parse_subsec(""), -1);
    assert_int_equal(pho_time_parse_subsec("12a"), -1);
    int16_t off;
    assert_true(pho_time_parse_offset(&off, "+02:00"));
    assert_int_equal(off, 120);
    assert_true(pho_time_parse_offset(&off, "-05:30"));
    assert_int_equal(off, -330);
    assert_false(pho_time_parse_offset(&off, "02:00"));
    assert_false(pho_time_parse_offset(&off, "+25:00"));
    assert_false(pho_time_parse_offset(&off, "+02:99"));
}

static void test_time_diff_and_format(void **state)
{
    (void)state;
    struct pho_time a = { .local = civil(2019, 11, 12, 11, 10, 24),
                          .nsec = 187000000,
                          .source = PHO_TIME_ORIGINAL };
    struct pho_time b = a;
    b.local += 1;
    b.nsec = 627000000;
    assert_true(fabs(pho_time_diff(&a, &b) - 1.44) < 1e-9);
    /* With offsets on both sides, UTC is compared: 12:00+02:00 == 11:00+01:00. */
    struct pho_time c = { .local = civil(2020, 1, 1, 12, 0, 0),
                          .has_offset = true,
                          .offset_min = 120 };
    struct pho_time d = { .local = civil(2020, 1, 1, 11, 0, 0),
                          .has_offset = true,
                          .offset_min = 60 };
    assert_true(fabs(pho_time_diff(&c, &d)) < 1e-9);
    char buf[64];
    pho_time_format(buf, sizeof(buf), &a);
    assert_string_equal(buf, "2019-11-12T11:10:24.187");
    c.offset_min = -330;
    pho_time_format(buf, sizeof(buf), &c);
    assert_string_equal(buf, "2020-01-01T12:00:00-05:30");
    struct pho_time old = { .local = -86400 };
    pho_time_format(buf, sizeof(buf), &old);
    assert_string_equal(buf, "1969-12-31T00:00:00");
    assert_string_equal(pho_time_source_name(PHO_TIME_DIGITIZED), "DateTimeDigitized");
}

static struct pho_meta parse(struct tiff_fixture *t, bool exif_hdr, int expect_rc)
{
    size_t len;
    uint8_t *blk = tf_build(t, exif_hdr, &len);
    struct pho_meta m;
    pho_meta_init(&m);
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_exif_parse(&m, blk, len, &err), expect_rc);
    free(blk);
    tf_free(t);
    return m;
}

static void test_parse_full_block(void **state)
{
    (void)state;
    struct tiff_fixture *t = tf_new();
    tf_ascii(t, IFD0, 0x010f, "  Canon ");
    tf_ascii(t, IFD0, 0x0110, "Canon EOS 6D");
    tf_short(t, IFD0, 0x0112, 6);
    tf_ascii(t, IFD0, 0x0132, "2020:01:02 00:00:00");
    tf_ascii(t, IFD_EXIF, 0x9003, "2019:06:06 07:29:51");
    tf_ascii(t, IFD_EXIF, 0x9291, "25");
    tf_ascii(t, IFD_EXIF, 0x9011, "+09:00");
    uint32_t et[] = { 1, 250 }, fn[] = { 28, 10 }, fl[] = { 50, 1 };
    tf_rational(t, IFD_EXIF, 0x829a, 1, et);
    tf_rational(t, IFD_EXIF, 0x829d, 1, fn);
    tf_rational(t, IFD_EXIF, 0x920a, 1, fl);
    tf_short(t, IFD_EXIF, 0x8827, 400);
    tf_srational(t, IFD_EXIF, 0x9204, -2, 3);
    tf_ascii(t, IFD_EXIF, 0xa431, "032021001234");
    tf_ascii(t, IFD_EXIF, 0xa433, "Canon");
    tf_ascii(t, IFD_EXIF, 0xa434, "EF24-105mm f/4L IS USM");
    uint32_t lat[] = { 43, 1, 28, 1, 3000, 100 }, lon[] = { 11, 1, 53, 1, 0, 1 }, alt[] = { 25, 2 };
    tf_ascii(t, IFD_GPS, 0x0001, "S");
    tf_rational(t, IFD_GPS, 0x0002, 3, lat);
    tf_ascii(t, IFD_GPS, 0x0003, "W");
    tf_rational(t, IFD_GPS, 0x0004, 3, lon);
    tf_byte(t, IFD_GPS, 0x0005, 1);
    tf_rational(t, IFD_GPS, 0x0006, 1, alt);

    struct pho_meta m = parse(t, true, 0);
    assert_string_equal(m.make, "Canon");
    assert_string_equal(m.model, "Canon EOS 6D");
    assert_string_equal(m.lens, "Canon EF24-105mm f/4L IS USM");
    assert_string_equal(m.serial, "032021001234");
    assert_int_equal(m.orientation, 6);
    assert_int_equal(m.time.source, PHO_TIME_ORIGINAL);
    assert_int_equal(m.time.local, civil(2019, 6, 6, 7, 29, 51));
    assert_int_equal(m.time.nsec, 250000000);
    assert_true(m.time.has_offset);
    assert_int_equal(m.time.offset_min, 540);
    assert_true(fabs(m.exposure_time - 0.004) < 1e-12);
    assert_true(fabs(m.fnumber - 2.8) < 1e-12);
    assert_int_equal(m.iso, 400);
    assert_true(fabs(m.exposure_bias + 2.0 / 3) < 1e-12);
    assert_true(fabs(m.focal_length - 50) < 1e-12);
    assert_true(m.flags & PHO_META_GPS);
    assert_true(fabs(m.gps_lat + (43 + 28 / 60.0 + 30 / 3600.0)) < 1e-9);
    assert_true(fabs(m.gps_lon + (11 + 53 / 60.0)) < 1e-9);
    assert_true(fabs(m.gps_alt + 12.5) < 1e-9);
    assert_string_equal(m.note, "");
}

static void test_time_fallbacks(void **state)
{
    (void)state;
    struct tiff_fixture *t = tf_new();
    tf_ascii(t, IFD0, 0x0132, "2008:07:31 10:05:49");
    tf_ascii(t, IFD_EXIF, 0x9003, "0000:00:00 00:00:00");
    struct pho_meta m = parse(t, false, 0);
    assert_int_equal(m.time.source, PHO_TIME_DATETIME);
    assert_int_equal(m.time.local, civil(2008, 7, 31, 10, 5, 49));
    assert_non_null(strstr(m.note, "DateTimeOriginal"));

    t = tf_new();
    tf_ascii(t, IFD_EXIF, 0x9004, "2011:07:19 11:36:38");
    tf_ascii(t, IFD0, 0x0132, "2012:01:01 00:00:00");
    m = parse(t, false, 0);
    assert_int_equal(m.time.source, PHO_TIME_DIGITIZED);
    assert_int_equal(m.time.local, civil(2011, 7, 19, 11, 36, 38));
}

/* XMP dates: attribute or element form, any prefix, precedence, damage. */
static void test_xmp_dates(void **state)
{
    (void)state;
    static const char element[] =
            "<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>"
            "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
            "xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
            "<rdf:Description rdf:about='' xmlns:xmp='http://ns.adobe.com/xap/1.0/' "
            "xmlns:e='http://ns.adobe.com/exif/1.0/' xmp:CreateDate='2018-01-02T03:04:05'>"
            "<e:DateTimeOriginal>2019-11-12T11:10:24.187+01:00</e:DateTimeOriginal>"
            "</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>";
    struct pho_meta m;
    pho_meta_init(&m);
    assert_int_equal(pho_xmp_parse(&m, element, strlen(element), NULL), 0);
    /* exif:DateTimeOriginal beats xmp:CreateDate, whatever the prefix is called. */
    assert_int_equal(m.time.source, PHO_TIME_XMP);
    assert_int_equal(m.time.local, civil(2019, 11, 12, 11, 10, 24));
    assert_int_equal(m.time.nsec, 187000000);
    assert_true(m.time.has_offset);
    assert_int_equal(m.time.offset_min, 60);

    static const char minutes[] =
            "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
            "xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
            "xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmp:CreateDate='2019-05-04T07:00+02:00'/>"
            "</rdf:RDF></x:xmpmeta>";
    pho_meta_init(&m);
    assert_int_equal(pho_xmp_parse(&m, minutes, strlen(minutes), NULL), 0);
    assert_int_equal(m.time.local, civil(2019, 5, 4, 7, 0, 0));
    assert_int_equal(m.time.offset_min, 120);

    /* An EXIF DateTimeOriginal already read is better; an EXIF DateTime is not. */
    pho_meta_init(&m);
    m.time.source = PHO_TIME_ORIGINAL;
    m.time.local = 1;
    assert_int_equal(pho_xmp_parse(&m, element, strlen(element), NULL), 0);
    assert_int_equal(m.time.local, 1);
    pho_meta_init(&m);
    m.time.source = PHO_TIME_DATETIME;
    assert_int_equal(pho_xmp_parse(&m, element, strlen(element), NULL), 0);
    assert_int_equal(m.time.source, PHO_TIME_XMP);

    /* Broken and hostile packets: an error code, no date, nothing printed. */
    static const char *const bad[] = {
        "<x:xmpmeta><rdf:RDF><broken",
        "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>",
        "not xml at all",
    };
    for (size_t i = 0; i < PHO_ARRAY_LEN(bad); i++) {
        pho_meta_init(&m);
        struct pho_err err = PHO_ERR_INIT;
        pho_xmp_parse(&m, bad[i], strlen(bad[i]), &err);
        assert_int_equal(m.time.source, PHO_TIME_NONE);
    }
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_xmp_parse(&m, bad[0], strlen(bad[0]), &err), PHO_ECORRUPT);
}

static void test_hostile_values_are_dropped(void **state)
{
    (void)state;
    /* Latitude 48 deg 15 min 595404 sec (buggy_panorama.jpg) is 213 degrees. */
    struct tiff_fixture *t = tf_new();
    uint32_t lat[] = { 48, 1, 15, 1, 595404032, 1000 }, lon[] = { 11, 1, 0, 1, 0, 1 };
    tf_short(t, IFD0, 0x0112, 9);
    tf_rational(t, IFD_GPS, 0x0002, 3, lat);
    tf_rational(t, IFD_GPS, 0x0004, 3, lon);
    uint32_t zero_den[] = { 1, 0 }, huge_f[] = { 100000, 1 };
    tf_rational(t, IFD_EXIF, 0x829a, 1, zero_den);
    tf_rational(t, IFD_EXIF, 0x829d, 1, huge_f);
    struct pho_meta m = parse(t, true, 0);
    assert_false(m.flags & PHO_META_GPS);
    assert_false(m.flags & PHO_META_EXPOSURE_TIME);
    assert_false(m.flags & PHO_META_FNUMBER);
    assert_int_equal(m.orientation, 1);
    assert_int_equal(m.orientation_tag, 9);
    assert_true(m.note[0]);

    /* Null Island is what phones write without a fix. */
    t = tf_new();
    uint32_t z[] = { 0, 1, 0, 1, 0, 1 };
    tf_rational(t, IFD_GPS, 0x0002, 3, z);
    tf_rational(t, IFD_GPS, 0x0004, 3, z);
    m = parse(t, true, 0);
    assert_false(m.flags & PHO_META_GPS);
    assert_non_null(strstr(m.note, "0,0"));

    /* A wrong type (SHORT where ASCII belongs) is ignored, not misread. */
    t = tf_new();
    tf_short(t, IFD0, 0x010f, 77);
    tf_ascii(t, IFD0, 0x0112, "six");
    m = parse(t, true, 0);
    assert_string_equal(m.make, "");
    assert_int_equal(m.orientation, 1);
}

static void test_garbage_blocks(void **state)
{
    (void)state;
    struct pho_meta m;
    pho_meta_init(&m);
    uint8_t junk[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(junk); i++) {
        x = x * 1103515245 + 12345;
        junk[i] = (uint8_t)(x >> 16);
    }
    assert_int_equal(pho_exif_parse(&m, junk, sizeof(junk), NULL), PHO_ECORRUPT);
    assert_int_equal(pho_exif_parse(&m, "II", 2, NULL), PHO_ECORRUPT);
    assert_int_equal(pho_exif_parse(&m, NULL, 0, NULL), PHO_ECORRUPT);
    /* TIFF header whose IFD offset points far outside the block. */
    uint8_t bad[16] = { 'I', 'I', 42, 0, 0xff, 0xff, 0xff, 0x7f };
    assert_int_equal(pho_exif_parse(&m, bad, sizeof(bad), NULL), PHO_ECORRUPT);
    /* An IFD claiming 65535 entries in a short block. */
    uint8_t many[32] = { 'I', 'I', 42, 0, 8, 0, 0, 0, 0xff, 0xff };
    pho_exif_parse(&m, many, sizeof(many), NULL);
    /* Every truncation of a valid block parses or fails cleanly. */
    struct tiff_fixture *t = tf_new();
    tf_ascii(t, IFD0, 0x010f, "Maker");
    tf_ascii(t, IFD_EXIF, 0x9003, "2019:06:06 07:29:51");
    uint32_t lat[] = { 1, 1, 2, 1, 3, 1 };
    tf_rational(t, IFD_GPS, 0x0002, 3, lat);
    size_t len;
    uint8_t *blk = tf_build(t, true, &len);
    for (size_t n = 0; n <= len; n++) {
        pho_meta_init(&m);
        pho_exif_parse(&m, blk, n, NULL);
    }
    free(blk);
    tf_free(t);
}

struct camera {
    const char *file, *make, *model, *dto;
    bool gps;
    enum pho_time_source src; /* PHO_TIME_NONE means DateTimeOriginal */
};

static void test_real_cameras(void **state)
{
    (void)state;
    static const struct camera cams[] = {
        { "exif/cameras/Canon_40D.jpg", "Canon", "Canon EOS 40D", "2008-05-30T15:56:01", false },
        { "exif/cameras/Canon_DIGITAL_IXUS_400.jpg", "Canon", "Canon DIGITAL IXUS 400",
          "2004-08-27T13:52:55", false },
        { "exif/cameras/Canon_PowerShot_S40.jpg", "Canon", "Canon PowerShot S40",
          "2003-12-14T12:01:44", false },
        { "exif/cameras/Fujifilm_FinePix6900ZOOM.jpg", "FUJIFILM", "FinePix6900ZOOM",
          "2001-02-19T06:40:05", false },
        { "exif/cameras/Fujifilm_FinePix_E500.jpg", "FUJIFILM", "FinePix E500",
          "2006-08-17T09:24:48", false },
        { "exif/cameras/Kodak_CX7530.jpg", "EASTMAN KODAK COMPANY",
          "KODAK CX7530 ZOOM DIGITAL CAMERA", "2005-08-13T09:47:23", true },
        { "exif/cameras/Konica_Minolta_DiMAGE_Z3.jpg", "KONICA MINOLTA", "DiMAGE Z3",
          "2005-03-10T15:10:48", false },
        { "exif/cameras/Nikon_COOLPIX_P1.jpg", "NIKON", "COOLPIX P1", "2008-03-07T09:55:46",
          false },
        { "exif/cameras/Nikon_D70.jpg", "NIKON CORPORATION", "NIKON D70", "2008-03-15T09:52:01",
          false },
        { "exif/cameras/Olympus_C8080WZ.jpg", "OLYMPUS CORPORATION", "C8080WZ",
          "2006-10-22T15:44:29", false },
        { "exif/cameras/Panasonic_DMC-FZ30.jpg", "Panasonic", "DMC-FZ30", "2008-07-16T11:33:20",
          false },
        { "exif/cameras/Pentax_K10D.jpg", "PENTAX Corporation", "PENTAX K10D",
          "2008-05-04T16:47:24", false },
        { "exif/cameras/Ricoh_Caplio_RR330.jpg", NULL, "RR330", "2004-08-31T19:52:58", false },
        { "exif/cameras/Samsung_Digimax_i50_MP3.jpg", "Samsung Techwin", "Digimax i50 MP3",
          "2006-08-15T17:50:57", false },
        { "exif/cameras/Sony_HDR-HC3.jpg", "SONY", "HDR-HC3", "2007-06-15T04:42:32", false },
        { "exif/cameras/WWL_(Polaroid)_ION230.jpg", "WWL", "ION230", "2026-11-24T14:41:16", false },
        { "exif/misc/ladybug.jpg", "Canon", "Canon EOS 50D", "2011-07-10T19:34:28", true },
        { "exif/misc/ship.jpg", "Xiaomi", "Mi A1", "2019-05-12T17:13:53", true },
        { "exif/misc/photoshop.jpg", "HUAWEI", "ELE-L29", "2020-01-01T17:28:23", true },
        { "exif/misc/digikam.jpg", "HUAWEI", "ELE-L29", "2020-10-17T17:48:24", true },
        { "formats/heic/IMG_5195.HEIC", "Apple", "iPhone 11 Pro Max", "2021-04-11T15:47:53", true },
        { "formats/heic/iphone_7.heic", "Apple", "iPhone 7", "2018-09-10T12:16:13", true },
        { "formats/png/this-is-a-jpeg.png", "Apple", "iPhone SE", "2018-01-11T13:09:38", true },
        { "formats/raw/canon_eos_6d_lossy.dng", "Canon", "Canon EOS 6D", "2019-06-06T07:29:51",
          false },
        { "formats/raw/canon_eos_350d_metadata_only.cr2", "Canon", "Canon EOS 350D DIGITAL",
          "2005-08-03T18:59:18", false },
        { "formats/raw/nikon_d70_metadata_only.nef", "NIKON CORPORATION", "NIKON D70",
          "2004-06-09T16:02:35", false },
        /* Cut at 100 KB: LibRaw finds no raw data, but its walk of the TIFF
         * structure still reaches the EXIF sub-IFD, beyond the first 64 KiB. */
        { "formats/raw/sony_zv-e10_first100KB.arw", "SONY", "ZV-E10",
          "2021-07-24T14:23:06.583-07:00", false },
        { "bursts/IMG_20191112_111022.jpg", "HMD Global", "Nokia 7.1", "2019-11-12T11:10:24",
          true },
    };
    for (size_t i = 0; i < PHO_ARRAY_LEN(cams); i++) {
        struct pho_meta m;
        struct pho_err err = PHO_ERR_INIT;
        int rc = pho_image_probe(&m, td(cams[i].file), NULL, &err);
        if (rc)
            fail_msg("%s: %s", cams[i].file, err.msg);
        if (cams[i].make && !strstr(m.make, cams[i].make))
            fail_msg("%s: make '%s', expected '%s'", cams[i].file, m.make, cams[i].make);
        if (!strstr(m.model, cams[i].model))
            fail_msg("%s: model '%s', expected '%s'", cams[i].file, m.model, cams[i].model);
        char buf[64];
        pho_time_format(buf, sizeof(buf), &m.time);
        enum pho_time_source want = cams[i].src ? cams[i].src : PHO_TIME_ORIGINAL;
        if (m.time.source != want || strncmp(buf, cams[i].dto, strlen(cams[i].dto)) != 0)
            fail_msg("%s: captured %s (%s), expected %s %s", cams[i].file, buf,
                     pho_time_source_name(m.time.source), pho_time_source_name(want), cams[i].dto);
        if (cams[i].gps != !!(m.flags & PHO_META_GPS))
            fail_msg("%s: gps %s, expected %s", cams[i].file,
                     (m.flags & PHO_META_GPS) ? "yes" : "no", cams[i].gps ? "yes" : "no");
    }
}

static void test_real_odd_cases(void **state)
{
    (void)state;
    struct pho_meta m;
    struct pho_err err = PHO_ERR_INIT;

    /* GIMP re-save: only ModifyDate remains. */
    assert_int_equal(
            pho_image_probe(&m, td("exif/cameras/Canon_40D_photoshop_import.jpg"), NULL, &err), 0);
    assert_int_equal(m.time.source, PHO_TIME_DATETIME);
    assert_string_equal(m.make, "");

    assert_int_equal(pho_image_probe(&m, td("exif/misc/buggy_panorama.jpg"), NULL, &err), 0);
    assert_false(m.flags & PHO_META_GPS);
    assert_non_null(strstr(m.note, "latitude"));
    assert_true(m.time.has_offset);
    assert_int_equal(m.time.offset_min, 120);

    assert_int_equal(pho_image_probe(&m, td("exif/misc/image-2011.jpg"), NULL, &err), 0);
    assert_false(m.flags & PHO_META_GPS);
    assert_true(m.time.source != PHO_TIME_ORIGINAL);

    assert_int_equal(pho_image_probe(&m, td("exif/misc/digikam.jpg"), NULL, &err), 0);
    assert_int_equal(m.orientation_tag, 0);
    assert_int_equal(m.orientation, 1);

    assert_int_equal(pho_image_probe(&m, td("exif/misc/out-of-range-500.jpg"), NULL, &err), 0);
    assert_int_equal(m.orientation, 3);
    assert_int_equal(m.width, 500);
    assert_int_equal(m.height, 375);

    assert_int_equal(pho_image_probe(&m, td("exif/misc/no-exif-data.jpg"), NULL, &err), 0);
    assert_int_equal(m.time.source, PHO_TIME_MTIME);
    assert_false(m.flags & PHO_META_EXIF);

    /* Sub-second and offset tags. */
    assert_int_equal(pho_image_probe(&m, td("bursts/iphone_hdr_NO.jpg"), NULL, &err), 0);
    struct pho_time no = m.time;
    assert_int_equal(pho_image_probe(&m, td("bursts/iphone_hdr_YES.jpg"), NULL, &err), 0);
    assert_int_equal(no.local, m.time.local);
    assert_int_equal(no.nsec, 16000000);
    assert_int_equal(m.time.nsec, 550000000);
    assert_int_equal(pho_image_probe(&m, td("formats/heic/IMG_5195.HEIC"), NULL, &err), 0);
    assert_true(m.time.has_offset);
    assert_int_equal(m.time.offset_min, -300);
    /* Apple's content identifier (maker note 0x0011; ExifTool 12.57 calls it MediaGroupUUID). */
    assert_string_equal(m.content_id, "570F1469-09C7-4E50-9875-05F21D5BD166");
    assert_int_equal(pho_image_probe(&m, td("formats/heic/iphone_7.heic"), NULL, &err), 0);
    assert_string_equal(m.content_id, ""); /* an Apple maker note without one */
    assert_int_equal(pho_image_probe(&m, td("exif/cameras/Canon_40D.jpg"), NULL, &err), 0);
    assert_string_equal(m.content_id, "");

    /* The GPS walk: every shot has a position in Arezzo and its own time. */
    static const char *const walk[] = { "DSCN0010", "DSCN0012", "DSCN0021", "DSCN0025", "DSCN0027",
                                        "DSCN0029", "DSCN0038", "DSCN0040", "DSCN0042" };
    int64_t prev = 0;
    for (size_t i = 0; i < PHO_ARRAY_LEN(walk); i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "exif/gps_walk/%s.jpg", walk[i]);
        assert_int_equal(pho_image_probe(&m, td(rel), NULL, &err), 0);
        assert_true(m.flags & PHO_META_GPS);
        assert_true(fabs(m.gps_lat - 43.46) < 0.05);
        assert_true(fabs(m.gps_lon - 11.88) < 0.05);
        assert_int_equal(m.time.source, PHO_TIME_ORIGINAL);
        assert_true(m.time.local > prev);
        prev = m.time.local;
    }
}

/* Google Takeout's JSON: its time and place fill what the photo lacks, never more. */
static void test_takeout(void **state)
{
    (void)state;
    char *dir = make_tempdir();
    char path[4096];
    snprintf(path, sizeof(path), "%s/IMG_1.jpg.json", dir);
    static const char json[] =
            "{\"title\": \"IMG_1.jpg\", \"photoTakenTime\": {\"timestamp\": \"1562848200\", "
            "\"formatted\": \"Jul 11, 2019\"}, \"geoData\": {\"latitude\": 48.8584, "
            "\"longitude\": 2.2945, \"altitude\": 35.0}}";
    write_file(path, json, strlen(json));
    struct pho_err err = PHO_ERR_INIT;
    struct pho_meta m;
    char buf[64];

    /* Nothing of its own (or only a file time, or IFD0 DateTime): Takeout's, in UTC. */
    static const enum pho_time_source weaker[] = { PHO_TIME_NONE, PHO_TIME_MTIME,
                                                   PHO_TIME_DATETIME };
    for (size_t i = 0; i < PHO_ARRAY_LEN(weaker); i++) {
        pho_meta_init(&m);
        m.time.source = weaker[i];
        m.time.local = 1;
        assert_int_equal(pho_takeout_apply(&m, path, &err), 0);
        assert_int_equal(m.time.source, PHO_TIME_TAKEOUT);
        pho_time_format(buf, sizeof(buf), &m.time);
        assert_string_equal(buf, "2019-07-11T12:30:00+00:00");
        assert_true(m.flags & PHO_META_GPS);
        assert_true(m.flags & PHO_META_GPS_TAKEOUT);
        assert_float_equal(m.gps_lat, 48.8584, 1e-9);
        assert_float_equal(m.gps_alt, 35.0, 1e-9);
    }
    assert_string_equal(pho_time_source_name(PHO_TIME_TAKEOUT), "Takeout");

    /* The photo's own capture time and position win. */
    static const enum pho_time_source better[] = { PHO_TIME_ORIGINAL, PHO_TIME_DIGITIZED,
                                                   PHO_TIME_XMP };
    for (size_t i = 0; i < PHO_ARRAY_LEN(better); i++) {
        pho_meta_init(&m);
        m.time.source = better[i];
        m.time.local = 7;
        m.flags = PHO_META_GPS;
        m.gps_lat = 1;
        assert_int_equal(pho_takeout_apply(&m, path, &err), 0);
        assert_int_equal(m.time.source, better[i]);
        assert_int_equal(m.time.local, 7);
        assert_float_equal(m.gps_lat, 1, 0);
        assert_false(m.flags & PHO_META_GPS_TAKEOUT);
    }

    /* 0, 0 is "unknown"; a timestamp of 0 likewise; numbers as numbers are read too. */
    static const char unknown[] = "{\"photoTakenTime\": {\"timestamp\": 0}, \"geoData\": "
                                  "{\"latitude\": 0.0, \"longitude\": 0.0}, \"geoDataExif\": "
                                  "{\"latitude\": -33.5, \"longitude\": 151.25}}";
    write_file(path, unknown, strlen(unknown));
    pho_meta_init(&m);
    assert_int_equal(pho_takeout_apply(&m, path, &err), 0);
    assert_int_equal(m.time.source, PHO_TIME_NONE);
    assert_float_equal(m.gps_lat, -33.5, 1e-9); /* geoDataExif when geoData is empty */
    assert_false(m.flags & PHO_META_GPS_ALT);

    /* Not Takeout's: said, nothing taken. */
    static const char *const bad[] = { "[1, 2]", "{\"photoTakenTime\": ", "" };
    for (size_t i = 0; i < PHO_ARRAY_LEN(bad); i++) {
        write_file(path, bad[i], strlen(bad[i]));
        pho_meta_init(&m);
        assert_int_equal(pho_takeout_apply(&m, path, &err), PHO_ECORRUPT);
        assert_int_equal(m.time.source, PHO_TIME_NONE);
    }
    snprintf(path, sizeof(path), "%s/missing.json", dir);
    assert_int_equal(pho_takeout_apply(&m, path, &err), PHO_ENOTFOUND);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_subsec_and_offset),
        cmocka_unit_test(test_time_diff_and_format),
        cmocka_unit_test(test_parse_full_block),
        cmocka_unit_test(test_time_fallbacks),
        cmocka_unit_test(test_xmp_dates),
        cmocka_unit_test(test_takeout),
        cmocka_unit_test(test_hostile_values_are_dropped),
        cmocka_unit_test(test_garbage_blocks),
        cmocka_unit_test(test_real_cameras),
        cmocka_unit_test(test_real_odd_cases),
    };
    return T_RUN_GROUP(tests, NULL, NULL);
}
