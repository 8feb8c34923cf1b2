/* SPDX-License-Identifier: MIT */
/* bench/group: placeholder until grouping lands. */
#include <stdio.h>

int main(void)
{
    puts("bench-group: not implemented yet");
    return 0;
}
