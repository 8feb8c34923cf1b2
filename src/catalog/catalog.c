/* SPDX-License-Identifier: MIT */
/* Placeholder until this module is implemented. */
#include "core/common.h"
