/* Shared helpers for the protocol unit tests: byte-array comparison with a
 * readable hex dump on failure, CAN frame construction, double comparison.
 *
 * The tests' expected bytes are written by hand from the spec (see the
 * comments next to each vector); nothing here computes an expectation with
 * the code under test. */
#pragma once

#include <linux/can.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
/* cmocka needs these before its header. */
#include <setjmp.h>
#include <cmocka.h>

static inline void tu_hexdump(const char *what, const uint8_t *p, size_t n) {
        fprintf(stderr, "  %s (%zu bytes):", what, n);
        for (size_t i = 0; i < n; i++)
                fprintf(stderr, "%s%02X", i % 16 == 0 ? "\n    " : " ", p[i]);
        fprintf(stderr, "\n");
}

/* Compare two byte strings; on mismatch print both and the first differing
 * index, then fail the test with the caller's label. */
#define assert_bytes(label, got, got_len, exp, exp_len) \
        tu_assert_bytes((label), (const uint8_t *) (got), (size_t) (got_len), \
                        (const uint8_t *) (exp), (size_t) (exp_len), __FILE__, __LINE__)

static inline void tu_assert_bytes(const char *label, const uint8_t *got, size_t got_len,
                                   const uint8_t *exp, size_t exp_len, const char *file, int line) {
        if (got_len == exp_len && (exp_len == 0 || memcmp(got, exp, exp_len) == 0))
                return;
        size_t i = 0;
        while (i < got_len && i < exp_len && got[i] == exp[i])
                i++;
        fprintf(stderr, "%s:%d: %s: byte mismatch (first difference at index %zu)\n", file, line, label, i);
        tu_hexdump("expected", exp, exp_len);
        tu_hexdump("got", got, got_len);
        _fail(file, line);
}

/* Doubles decoded from fixed point are raw/scale; allow for the last bit. */
#define assert_double(label, got, exp) \
        tu_assert_double((label), (double) (got), (double) (exp), __FILE__, __LINE__)

static inline void tu_assert_double(const char *label, double got, double exp, const char *file, int line) {
        double tol = 1e-9 * fmax(1.0, fabs(exp));
        if (fabs(got - exp) <= tol)
                return;
        fprintf(stderr, "%s:%d: %s: expected %.12g, got %.12g\n", file, line, label, exp, got);
        _fail(file, line);
}

#define assert_int(label, got, exp) \
        tu_assert_int((label), (long long) (got), (long long) (exp), __FILE__, __LINE__)

static inline void tu_assert_int(const char *label, long long got, long long exp, const char *file, int line) {
        if (got == exp)
                return;
        fprintf(stderr, "%s:%d: %s: expected %lld (0x%llX), got %lld (0x%llX)\n", file, line, label,
                exp, (unsigned long long) exp, got, (unsigned long long) got);
        _fail(file, line);
}

/* A frame with an explicit id (CAN_EFF_FLAG included by the caller) and data. */
static inline struct can_frame tu_frame(canid_t id, const uint8_t *data, unsigned dlc) {
        struct can_frame f;
        memset(&f, 0, sizeof f);
        f.can_id = id;
        f.can_dlc = (uint8_t) dlc;
        if (data && dlc)
                memcpy(f.data, data, dlc <= 8 ? dlc : 8);
        return f;
}

/* Check id, DLC and data of a frame against a hand-written expectation.
 * Unused data bytes must be zero (the project's frame convention). */
#define assert_frame(label, f, exp_id, exp_data, exp_dlc) \
        tu_assert_frame((label), (f), (exp_id), (const uint8_t *) (exp_data), (exp_dlc), __FILE__, __LINE__)

static inline void tu_assert_frame(const char *label, const struct can_frame *f, canid_t exp_id,
                                   const uint8_t *exp_data, unsigned exp_dlc, const char *file, int line) {
        if (f->can_id != exp_id) {
                fprintf(stderr, "%s:%d: %s: id expected 0x%08X, got 0x%08X\n", file, line, label,
                        (unsigned) exp_id, (unsigned) f->can_id);
                _fail(file, line);
        }
        tu_assert_bytes(label, f->data, f->can_dlc, exp_data, exp_dlc, file, line);
        for (unsigned i = f->can_dlc; i < 8 && f->can_dlc <= 8; i++)
                if (f->data[i] != 0) {
                        fprintf(stderr, "%s:%d: %s: unused data byte %u is 0x%02X, not 0\n", file, line,
                                label, i, f->data[i]);
                        _fail(file, line);
                }
}
