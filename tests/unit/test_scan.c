/* SPDX-License-Identifier: MIT */
/* Folder scanning: order, filters, symlink loops, the output folder, limits. */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/testlib.h"
#include "pho/image.h"
#include "pho/scan.h"
#include "pho/shot.h"

static const uint8_t jpeg_head[] = { 0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0 };

static void put(const char *root, const char *rel, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    /* Create parent folders as needed. */
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    write_file(path, data, len);
}

static char *tree(void)
{
    char *root = make_tempdir();
    put(root, "b.jpg", jpeg_head, sizeof(jpeg_head));
    put(root, "a/z.png", jpeg_head, sizeof(jpeg_head));
    put(root, "a/y/x.HEIC", jpeg_head, sizeof(jpeg_head));
    put(root, "a.jpg", jpeg_head, sizeof(jpeg_head));
    put(root, "notes.txt", "hello", 5);
    put(root, "clip.mp4", jpeg_head, sizeof(jpeg_head));
    put(root, "no_suffix", jpeg_head, sizeof(jpeg_head)); /* found by sniffing */
    put(root, "README", "just text", 9);                  /* sniffed, not a photo */
    put(root, ".hidden/h.jpg", jpeg_head, sizeof(jpeg_head));
    put(root, "._b.jpg", jpeg_head, sizeof(jpeg_head)); /* macOS AppleDouble junk */
    put(root, "@eaDir/t.jpg", jpeg_head, sizeof(jpeg_head));
    put(root, "out/group_0001/c.jpg", jpeg_head, sizeof(jpeg_head));
    char link[4096];
    snprintf(link, sizeof(link), "%s/a/y/loop", root);
    assert_int_equal(symlink("../..", link), 0);
    snprintf(link, sizeof(link), "%s/dangling.jpg", root);
    assert_int_equal(symlink("nowhere.jpg", link), 0);
    return root;
}

static const char *rel(const struct pho_scan_list *l, size_t i)
{
    return l->items[i].rel;
}

static void test_order_filters_and_loops(void **state)
{
    (void)state;
    char *root = tree();
    char out[4096];
    snprintf(out, sizeof(out), "%s/out", root);
    struct pho_scan_opts o = PHO_SCAN_OPTS_INIT;
    o.exclude_dir = out;
    struct pho_scan_list *l = NULL;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_scan_run(&l, root, &o, &err), 0);
    const char *want[] = { "a/y/x.HEIC", "a/z.png", "a.jpg", "b.jpg", "no_suffix" };
    if (l->count != PHO_ARRAY_LEN(want)) {
        for (size_t i = 0; i < l->count; i++)
            print_message("got %s\n", rel(l, i));
        fail_msg("found %zu photos, expected %zu", l->count, PHO_ARRAY_LEN(want));
    }
    for (size_t i = 0; i < l->count; i++)
        assert_string_equal(rel(l, i), want[i]);
    assert_int_equal(l->items[4].format_hint, PHO_FORMAT_JPEG);
    assert_int_equal(l->items[0].format_hint, PHO_FORMAT_HEIC);
    assert_int_equal(l->items[0].size, sizeof(jpeg_head));
    /* The dangling link is reported, not fatal; the loop is simply not re-entered. */
    assert_int_equal(l->nproblems, 1);
    assert_non_null(strstr(l->problems[0].path, "dangling.jpg"));
    assert_true(l->skipped >= 3);
    pho_scan_list_free(l);

    /* Same result on a second run: the order is deterministic. */
    o.include_hidden = true;
    assert_int_equal(pho_scan_run(&l, root, &o, &err), 0);
    assert_int_equal(l->count, 8);
    pho_scan_list_free(l);

    /* Without the exclusion the output folder is scanned like any other. */
    o.include_hidden = false;
    o.exclude_dir = NULL;
    o.limit = 3;
    assert_int_equal(pho_scan_run(&l, root, &o, &err), 0);
    assert_int_equal(l->count, 3);
    assert_string_equal(rel(l, 2), "a.jpg");
    pho_scan_list_free(l);
    rm_rf(root);
    free(root);
}

static void test_single_file_and_missing_root(void **state)
{
    (void)state;
    char *root = make_tempdir();
    put(root, "only.txt", "x", 1);
    char path[4096];
    snprintf(path, sizeof(path), "%s/only.txt", root);
    struct pho_scan_list *l = NULL;
    struct pho_err err = PHO_ERR_INIT;
    /* Named explicitly, a file is taken whatever its suffix: the decoder will judge it. */
    assert_int_equal(pho_scan_run(&l, path, NULL, &err), 0);
    assert_int_equal(l->count, 1);
    assert_string_equal(l->items[0].rel, "only.txt");
    pho_scan_list_free(l);
    snprintf(path, sizeof(path), "%s/missing", root);
    assert_int_equal(pho_scan_run(&l, path, NULL, &err), PHO_ENOTFOUND);
    assert_null(l);
    assert_non_null(strstr(err.msg, "missing"));
    pho_scan_list_free(NULL);
    rm_rf(root);
    free(root);
}

static void test_symlinked_folder_visited_once(void **state)
{
    (void)state;
    char *root = make_tempdir();
    put(root, "real/p.jpg", jpeg_head, sizeof(jpeg_head));
    char link[4096], target[4096];
    snprintf(link, sizeof(link), "%s/alias", root);
    snprintf(target, sizeof(target), "%s/real", root);
    assert_int_equal(symlink(target, link), 0);
    struct pho_scan_list *l = NULL;
    assert_int_equal(pho_scan_run(&l, root, NULL, NULL), 0);
    /* "alias" sorts first and is followed; "real" is then the same folder. */
    assert_int_equal(l->count, 1);
    assert_string_equal(l->items[0].rel, "alias/p.jpg");
    pho_scan_list_free(l);
    struct pho_scan_opts o = PHO_SCAN_OPTS_INIT;
    o.follow_symlinks = false;
    assert_int_equal(pho_scan_run(&l, root, &o, NULL), 0);
    assert_int_equal(l->count, 1);
    assert_string_equal(l->items[0].rel, "real/p.jpg");
    pho_scan_list_free(l);
    rm_rf(root);
    free(root);
}

static void free_scan_list(void *l)
{
    pho_scan_list_free(l);
}

static void test_testdata_tree(void **state)
{
    (void)state;
    struct pho_scan_list *l = NULL;
    struct pho_err err = PHO_ERR_INIT;
    size_t nlab = 0;
    const char *const *lab = labelled_files(&nlab);
    assert_int_equal(pho_scan_run(&l, td(""), NULL, &err), 0);
    t_defer(free_scan_list, l);
    /* Each path once. */
    for (size_t i = 1; i < l->count; i++)
        assert_true(strcmp(l->items[i - 1].path, l->items[i].path) != 0);
    /* Every labelled picture is found; empty.jpg and the text file named .jpg
     * have a photo suffix, so they are listed too (and fail later). Other sets
     * beside them may add files: only the labelled ones are asserted. */
    for (size_t k = 0; k < nlab; k++) {
        size_t hits = 0;
        for (size_t i = 0; i < l->count; i++)
            hits += strcmp(l->items[i].rel, lab[k]) == 0;
        if (hits != 1)
            fail_msg("%s: listed %zu times by the scan, want once", lab[k], hits);
    }
    assert_true(l->count >= nlab);
}

/* Index of the item or other named @rel, SIZE_MAX when absent. */
static size_t find_rel(const struct pho_scan_item *items, size_t n, const char *rel)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(items[i].rel, rel))
            return i;
    return SIZE_MAX;
}

/* Every convention of docs/shots.md, from names alone. */
static void test_shots_and_companions(void **state)
{
    (void)state;
    char *root = make_tempdir();
    static const char *const photos[] = {
        "IMG_0001.DNG",     "IMG_0001.JPG",
        "img_0002.cr2",     "IMG_0002.HEIC",
        "IMG_0003.CR2",     "IMG_1234.HEIC",
        "IMG_E1234.HEIC",   "beach.jpg",
        "beach-edited.jpg", "beach(1).jpg",
        "cat (2).jpg",      "cat.jpg",
        "sub/IMG_0001.JPG", "Screenshot_2019-05-01-12-00-00-123_com.example.longname.jpg",
        "PXL_0042.jpg",     "solo.png",
        "solo.jpg",
    };
    static const char *const others[] = {
        "IMG_0001.xmp",     /* Lightroom: the shot's */
        "IMG_0001.DNG.xmp", /* darktable: the RAW's */
        "IMG_0003.CR2.xmp", /* a RAW alone */
        "IMG_1234.AAE",
        "IMG_O1234.AAE",
        "IMG_1234.MOV",
        "IMG_E1234.MOV",
        "beach.jpg.json",    /* Takeout */
        "beach.jpg(1).json", /* Takeout's name for beach(1).jpg */
        "PXL_0042.jpg.supplemental-metadata.json",
        "Screenshot_2019-05-01-12-00-00-123_com.example.l.json", /* cut to 51 */
        "IMG_0003.THM",
        "IMG_0003.MOV", /* a RAW's namesake video is not a Live Photo */
        "orphan.xmp",
        "nothing.jpg.json",
        "IMG_0002.HEIC.xmp",
    };
    for (size_t i = 0; i < PHO_ARRAY_LEN(photos); i++)
        put(root, photos[i], jpeg_head, sizeof(jpeg_head));
    for (size_t i = 0; i < PHO_ARRAY_LEN(others); i++)
        put(root, others[i], "x", 1);
    struct pho_scan_list *l = NULL;
    struct pho_err err = PHO_ERR_INIT;
    assert_int_equal(pho_scan_run(&l, root, NULL, &err), 0);
    assert_int_equal(l->count, PHO_ARRAY_LEN(photos));
    assert_int_equal(l->nothers, PHO_ARRAY_LEN(others));
    struct pho_shot_map *m = NULL;
    assert_int_equal(pho_shot_assemble(&m, l, &err), 0);
#define IT(name) find_rel(l->items, l->count, name)
#define OT(name) find_rel(l->others, l->nothers, name)
    /* RAW + JPEG, RAW + HEIC (any case): the rendition is analysed. */
    assert_int_equal(m->part_of[IT("IMG_0001.DNG")], IT("IMG_0001.JPG"));
    assert_int_equal(m->role[IT("IMG_0001.DNG")], PHO_SHOT_RAW);
    assert_int_equal(m->part_of[IT("IMG_0001.JPG")], SIZE_MAX);
    assert_int_equal(m->part_of[IT("img_0002.cr2")], IT("IMG_0002.HEIC"));
    /* Another folder's namesake and a lone RAW stay on their own; so do a PNG and a JPEG. */
    assert_int_equal(m->part_of[IT("sub/IMG_0001.JPG")], SIZE_MAX);
    assert_int_equal(m->part_of[IT("IMG_0003.CR2")], SIZE_MAX);
    assert_int_equal(m->part_of[IT("solo.png")], SIZE_MAX);
    assert_int_equal(m->part_of[IT("solo.jpg")], SIZE_MAX);
    /* Sidecars. */
    assert_int_equal(m->owner[OT("IMG_0001.xmp")], IT("IMG_0001.JPG"));
    assert_int_equal(m->kind[OT("IMG_0001.xmp")], PHO_COMPANION_XMP);
    assert_int_equal(m->owner[OT("IMG_0001.DNG.xmp")], IT("IMG_0001.DNG"));
    assert_int_equal(m->kind[OT("IMG_0001.DNG.xmp")], PHO_COMPANION_XMP_FULL);
    assert_int_equal(m->owner[OT("IMG_0003.CR2.xmp")], IT("IMG_0003.CR2"));
    assert_int_equal(m->owner[OT("IMG_0002.HEIC.xmp")], IT("IMG_0002.HEIC"));
    assert_int_equal(m->owner[OT("IMG_1234.AAE")], IT("IMG_1234.HEIC"));
    assert_int_equal(m->owner[OT("IMG_O1234.AAE")], IT("IMG_1234.HEIC"));
    assert_int_equal(m->kind[OT("IMG_O1234.AAE")], PHO_COMPANION_AAE);
    assert_int_equal(m->owner[OT("IMG_1234.MOV")], IT("IMG_1234.HEIC"));
    assert_int_equal(m->kind[OT("IMG_1234.MOV")], PHO_COMPANION_VIDEO);
    assert_int_equal(m->owner[OT("IMG_E1234.MOV")], IT("IMG_E1234.HEIC"));
    assert_int_equal(m->owner[OT("IMG_0003.THM")], IT("IMG_0003.CR2"));
    assert_int_equal(m->owner[OT("IMG_0003.MOV")], SIZE_MAX);
    assert_int_equal(m->owner[OT("beach.jpg.json")], IT("beach.jpg"));
    assert_int_equal(m->kind[OT("beach.jpg.json")], PHO_COMPANION_TAKEOUT);
    assert_int_equal(m->owner[OT("beach.jpg(1).json")], IT("beach(1).jpg"));
    assert_int_equal(m->owner[OT("PXL_0042.jpg.supplemental-metadata.json")], IT("PXL_0042.jpg"));
    assert_int_equal(m->owner[OT("Screenshot_2019-05-01-12-00-00-123_com.example.l.json")],
                     IT("Screenshot_2019-05-01-12-00-00-123_com.example.longname.jpg"));
    assert_int_equal(m->owner[OT("orphan.xmp")], SIZE_MAX);
    assert_int_equal(m->owner[OT("nothing.jpg.json")], SIZE_MAX);
    /* Edits and copies know their original. */
    assert_int_equal(m->edit_of[IT("IMG_E1234.HEIC")], IT("IMG_1234.HEIC"));
    assert_int_equal(m->edit_kind[IT("IMG_E1234.HEIC")], PHO_EDIT_IOS);
    assert_int_equal(m->edit_of[IT("beach-edited.jpg")], IT("beach.jpg"));
    assert_int_equal(m->edit_kind[IT("beach-edited.jpg")], PHO_EDIT_EDITED);
    assert_int_equal(m->edit_of[IT("beach(1).jpg")], IT("beach.jpg"));
    assert_int_equal(m->edit_kind[IT("beach(1).jpg")], PHO_EDIT_DUPLICATE);
    assert_int_equal(m->edit_of[IT("cat (2).jpg")], IT("cat.jpg"));
    assert_int_equal(m->edit_of[IT("beach.jpg")], SIZE_MAX);
    assert_int_equal(m->edit_of[IT("IMG_1234.HEIC")], SIZE_MAX);
#undef IT
#undef OT
    /* The one-file question info asks. */
    assert_int_equal(pho_shot_companion_kind("IMG_1.JPG", "img_1.jpg.json"), PHO_COMPANION_TAKEOUT);
    assert_int_equal(pho_shot_companion_kind("IMG_1.JPG", "IMG_1.xmp"), PHO_COMPANION_XMP);
    assert_int_equal(pho_shot_companion_kind("IMG_1.JPG", "IMG_2.xmp"), PHO_COMPANION_NONE);
    pho_shot_map_free(m);
    pho_shot_map_free(NULL);
    pho_scan_list_free(l);
    rm_rf(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_filters_and_loops),
        cmocka_unit_test(test_shots_and_companions),
        cmocka_unit_test(test_single_file_and_missing_root),
        cmocka_unit_test(test_symlinked_folder_visited_once),
        T_TEST(test_testdata_tree),
    };
    return T_RUN_GROUP(tests, NULL, NULL);
}
