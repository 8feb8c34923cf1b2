/* SPDX-License-Identifier: MIT */
/* Errors, logging, allocation fault injection and the parallel-for. */
#include "core/common.h"

#include <stdatomic.h>
#include <string.h>

#include "../lib/testlib.h"
#include "pho/parallel.h"
#include "pho/text.h"

static void test_strerror_covers_every_code(void **state)
{
    (void)state;
    int codes[] = { PHO_OK,           PHO_ENOMEM,    PHO_EINVAL, PHO_EIO,      PHO_ECORRUPT,
                    PHO_EUNSUPPORTED, PHO_ENOTFOUND, PHO_ELIMIT, PHO_EBACKEND, PHO_EMODEL,
                    PHO_EINFER,       PHO_EDB,       PHO_EEXIST, PHO_EINTR };
    for (size_t i = 0; i < PHO_ARRAY_LEN(codes); i++) {
        assert_string_not_equal(pho_strerror(codes[i]), "unknown error");
        assert_string_not_equal(pho_status_name(codes[i]), "E?");
    }
    assert_string_equal(pho_strerror(-9999), "unknown error");
    assert_string_equal(pho_status_name(PHO_ECORRUPT), "ECORRUPT");
}

static void test_err_set_returns_code_and_truncates(void **state)
{
    (void)state;
    struct pho_err err = PHO_ERR_INIT;
    char big[PHO_ERR_MSG_MAX * 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(pho_err_set(&err, PHO_EIO, "scan: %s", big), PHO_EIO);
    assert_int_equal(err.code, PHO_EIO);
    assert_int_equal(strlen(err.msg), PHO_ERR_MSG_MAX - 1);
    assert_memory_equal(err.msg, "scan: xxx", 9);
    /* A NULL detail pointer is allowed everywhere. */
    assert_int_equal(pho_err_set(NULL, PHO_EINVAL, "x"), PHO_EINVAL);
    pho_err_clear(&err);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.msg, "");
    pho_err_clear(NULL);
}

struct log_capture {
    int calls;
    enum pho_log_level level;
    char domain[32], msg[128];
};

static void capture(void *ud, enum pho_log_level level, const char *domain, const char *msg)
{
    struct log_capture *c = ud;
    c->calls++;
    c->level = level;
    pho_strlcpy(c->domain, domain, sizeof(c->domain));
    pho_strlcpy(c->msg, msg, sizeof(c->msg));
}

/* Callers decide on codes and show reasons; nobody cuts message text. */
static void test_err_reason_and_wrap(void **state)
{
    (void)state;
    struct pho_err e = PHO_ERR_INIT;
    assert_string_equal(pho_err_reason(&e), "");
    pho_err_set(&e, PHO_EMODEL, "models: x.onnx is not installed");
    assert_string_equal(pho_err_reason(&e), "x.onnx is not installed");
    assert_int_equal(e.cause, PHO_EMODEL);
    struct pho_err w = PHO_ERR_INIT;
    assert_int_equal(pho_err_wrap(&w, PHO_EBACKEND, &e), PHO_EBACKEND);
    assert_int_equal(w.code, PHO_EBACKEND);
    assert_int_equal(w.cause, PHO_EMODEL);
    assert_string_equal(pho_err_reason(&w), "x.onnx is not installed");
    pho_err_set(&e, PHO_EIO, "no module prefix here");
    assert_string_equal(pho_err_reason(&e), "no module prefix here");
    pho_err_set(&e, PHO_EIO, "Capitalised: not a module");
    assert_string_equal(pho_err_reason(&e), "Capitalised: not a module");
    pho_err_clear(&e);
    assert_int_equal(e.cause, 0);
    assert_string_equal(pho_err_reason(NULL), "");
}

static void test_log_levels_and_handler(void **state)
{
    (void)state;
    struct log_capture c = { 0 };
    pho_log(PHO_LOG_ERROR, "x", "dropped without a handler");
    pho_log_set_handler(capture, &c, PHO_LOG_WARN);
    pho_log(PHO_LOG_DEBUG, "image", "too verbose %d", 1);
    assert_int_equal(c.calls, 0);
    pho_log(PHO_LOG_WARN, "image", "kept %d", 42);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.level, PHO_LOG_WARN);
    assert_string_equal(c.domain, "image");
    assert_string_equal(c.msg, "kept 42");
    assert_true(pho_log_enabled(PHO_LOG_ERROR));
    assert_false(pho_log_enabled(PHO_LOG_INFO));
    pho_log_set_handler(NULL, NULL, PHO_LOG_TRACE);
    assert_false(pho_log_enabled(PHO_LOG_ERROR));
}

static void test_alloc_fault_injection(void **state)
{
    (void)state;
    pho_alloc_fail_at(2);
    void *a = pho_malloc(16);
    void *b = pho_malloc(16);
    void *c = pho_malloc(16);
    assert_non_null(a);
    assert_null(b);
    assert_non_null(c);
    pho_free(a);
    pho_free(c);
    pho_alloc_fail_at(0);
    /* Overflowing n * size is refused, not wrapped. */
    assert_null(pho_reallocarray(NULL, SIZE_MAX / 2, 4));
    char *s = pho_strdup("abc");
    assert_string_equal(s, "abc");
    pho_free(s);
    pho_free(NULL);
}

static void test_strlcpy(void **state)
{
    (void)state;
    char buf[4];
    assert_int_equal(pho_strlcpy(buf, "hello", sizeof(buf)), 5);
    assert_string_equal(buf, "hel");
    assert_int_equal(pho_strlcpy(buf, "", sizeof(buf)), 0);
    assert_string_equal(buf, "");
}

struct par {
    atomic_int hits[10000];
    atomic_int max_worker;
};

static void count_hit(void *ud, size_t i, unsigned worker)
{
    struct par *p = ud;
    atomic_fetch_add(&p->hits[i], 1);
    int w = (int)worker;
    int cur = atomic_load(&p->max_worker);
    while (w > cur && !atomic_compare_exchange_weak(&p->max_worker, &cur, w))
        ;
}

static void test_parallel_for_visits_each_index_once(void **state)
{
    (void)state;
    static struct par p;
    unsigned thread_counts[] = { 0, 1, 3, 64 };
    for (size_t t = 0; t < PHO_ARRAY_LEN(thread_counts); t++) {
        memset(&p, 0, sizeof(p));
        pho_parallel_for(10000, thread_counts[t], count_hit, &p);
        for (size_t i = 0; i < 10000; i++)
            assert_int_equal(atomic_load(&p.hits[i]), 1);
        if (thread_counts[t])
            assert_true(atomic_load(&p.max_worker) < (int)thread_counts[t]);
    }
    memset(&p, 0, sizeof(p));
    pho_parallel_for(0, 4, count_hit, &p);
    assert_int_equal(atomic_load(&p.hits[0]), 0);
    assert_true(pho_cpu_count() >= 1);
}

/* Paths travel losslessly through JSON (backslashes doubled, bytes that are not UTF-8 as
 * \xNN) and come back as the same bytes; anything else is refused. */
static void test_json_path_round_trip(void **state)
{
    (void)state;
    const char *names[] = { "plain.jpg", "caf\xc3\xa9/\xff\xfe.jpg", "back\\slash\\x41.jpg",
                            "<script>.jpg", "" };
    for (size_t i = 0; i < PHO_ARRAY_LEN(names); i++) {
        char *e = pho_text_json_path(names[i]);
        assert_non_null(e);
        char *d = pho_text_json_path_decode(e);
        assert_non_null(d);
        assert_string_equal(d, names[i]);
        pho_free(d);
        pho_free(e);
    }
    const char *bad[] = { "lone\\", "bad\\xzz", "short\\x4", "nul\\x00", "what\\n" };
    for (size_t i = 0; i < PHO_ARRAY_LEN(bad); i++)
        assert_null(pho_text_json_path_decode(bad[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_covers_every_code),
        cmocka_unit_test(test_err_set_returns_code_and_truncates),
        cmocka_unit_test(test_err_reason_and_wrap),
        cmocka_unit_test(test_log_levels_and_handler),
        cmocka_unit_test(test_alloc_fault_injection),
        cmocka_unit_test(test_strlcpy),
        cmocka_unit_test(test_json_path_round_trip),
        cmocka_unit_test(test_parallel_for_visits_each_index_once),
    };
    return T_RUN_GROUP(tests, NULL, NULL);
}
