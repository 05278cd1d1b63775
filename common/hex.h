/* hex: reading hexadecimal digits (controller UUIDs, image-set ids, stored
 * bytes, frames in cansend syntax).  Some texts allow only lower-case
 * digits (what vescd writes itself), others either case (what a person or
 * another tool types); each function says which. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value of one digit 0-9, a-f or A-F: 0..15, or -EINVAL. */
int hex_digit(char c);

/* The value of one digit 0-9 or a-f: 0..15, or -EINVAL (also for A-F). */
int hex_digit_lower(char c);

/* @n bytes from the 2 * @n digits at @s, the high digit first; with
 * @lower_only, A-F are not digits.  Stops at the first non-digit (a NUL
 * included: the digit after it is never read).  Returns 0, or -EINVAL;
 * the bytes before the failing one are written, the rest untouched. */
int hex_decode(const char *s, size_t n, bool lower_only, uint8_t *ret);
