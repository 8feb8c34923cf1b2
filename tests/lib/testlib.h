/* SPDX-License-Identifier: MIT */
/* Helpers shared by the unit tests: test photos, temporary folders, fixtures. */
#ifndef PHO_TESTLIB_H
#define PHO_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Path of a file under the labelled test photos (PHO_TESTDATA). Skips the
 * calling test when the folder is absent. Valid until the next 8 calls. */
const char *td(const char *rel);
bool td_available(void);

/* The labelled photos: the relative paths listed in labels.csv (the first
 * column), in file order. Tests assert on these, never on totals of the whole
 * test-data tree, which grows as new sets arrive beside them. Skips the test
 * when the test photos are absent; the list is freed by t_cleanup. */
const char *const *labelled_files(size_t *count);

/* Cleanup that survives a failed assertion: a failing cmocka assertion jumps
 * out of the test, past its frees, and LeakSanitizer would then report the
 * failure a second time as leaks. t_defer registers fn(ptr) to run at the
 * test's teardown (last registered runs first); tests declared with T_TEST
 * get that teardown. Returns ptr. */
void *t_defer(void (*fn)(void *), void *ptr);
int t_cleanup(void **state);
#define T_TEST(f) cmocka_unit_test_teardown(f, t_cleanup)
/* Every test binary's main returns through this: when a test failed, the
 * process ends here without LeakSanitizer's exit-time report, which would
 * only list what the failed test's jump skipped (the failure is already
 * reported and the status is non-zero). Passing runs are leak-checked in full. */
int t_exit_status(int failed);
#define T_RUN_GROUP(tests, setup, teardown) \
    t_exit_status(cmocka_run_group_tests(tests, setup, teardown))

/* Fresh empty folder under $TMPDIR; remove with rm_rf(). Caller frees the string. */
char *make_tempdir(void);
void rm_rf(const char *path);
void write_file(const char *path, const void *data, size_t len);
/* Whole file into a malloc'd buffer with a NUL after the last byte (caller frees), or NULL. */
uint8_t *read_file(const char *path, size_t *len);

/* The shipped models: PHO_MODELS_DIR, which meson sets; else where the fixtures put them. */
const char *fixture_models_dir(void);
/* The synthetic stand-ins of user-supplied models (tools/models/make_standins.py). */
const char *fixture_standins_dir(void);

struct pho_infer;
struct pho_models;
/* For group setups, where no cmocka assertion may run: the model manifest and a default
 * inference session, 0, or -1 with the reason on stderr. */
int infer_setup(struct pho_models **manifest, struct pho_infer **inf);
void infer_teardown(struct pho_models *manifest, struct pho_infer *inf);

/* A little-endian TIFF/EXIF block built entry by entry, for fixtures. */
enum { T_BYTE = 1, T_ASCII = 2, T_SHORT = 3, T_LONG = 4, T_RATIONAL = 5, T_SRATIONAL = 10 };
enum { IFD0 = 0, IFD_EXIF = 1, IFD_GPS = 2 };

struct tiff_fixture;
struct tiff_fixture *tf_new(void);
void tf_free(struct tiff_fixture *t);
void tf_ascii(struct tiff_fixture *t, int ifd, unsigned tag, const char *s);
void tf_short(struct tiff_fixture *t, int ifd, unsigned tag, unsigned v);
void tf_byte(struct tiff_fixture *t, int ifd, unsigned tag, unsigned v);
/* n rationals given as numerator/denominator pairs. */
void tf_rational(struct tiff_fixture *t, int ifd, unsigned tag, int n, const uint32_t *nd);
void tf_srational(struct tiff_fixture *t, int ifd, unsigned tag, int32_t num, int32_t den);
/* Serialises to "II*\0..." (with "Exif\0\0" first when exif_header); caller frees. */
uint8_t *tf_build(struct tiff_fixture *t, bool exif_header, size_t *len);

#endif
