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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_filters_and_loops),
        cmocka_unit_test(test_single_file_and_missing_root),
        cmocka_unit_test(test_symlinked_folder_visited_once),
        T_TEST(test_testdata_tree),
    };
    return T_RUN_GROUP(tests, NULL, NULL);
}
