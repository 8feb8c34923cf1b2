/* SPDX-License-Identifier: MIT */
/* Placeholder until the catalog module is implemented. */
#include "../lib/testlib.h"

static void test_pending(void **state)
{
    (void)state;
    /* replaced by the module's tests */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
