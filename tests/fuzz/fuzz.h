/* Shared bits of the fuzz targets: the libFuzzer entry point every target
 * defines, and an assertion that survives NDEBUG (a fuzz invariant must
 * never be compiled out). */
#pragma once

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                   \
        do {                                                                               \
                if (!(cond)) {                                                             \
                        fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
                        abort();                                                           \
                }                                                                          \
        } while (0)

/* |a - b| within one unit of the wire's last digit: decoding raw/scale and
 * re-encoding with truncation toward zero may move the raw value by one. */
#define FUZZ_NEAR(a, b, scale) FUZZ_CHECK(fabs((double) (a) - (double) (b)) <= 1.5 / (scale))
