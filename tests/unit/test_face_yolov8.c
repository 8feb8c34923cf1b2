/* SPDX-License-Identifier: MIT */
/* Placeholder until the tests of this part of src/face are written. */
#include "../lib/testlib.h"

static void test_pending(void **state)
{
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
