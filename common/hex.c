/* Reading hexadecimal digits (see hex.h). */

#include <errno.h>

#include "hex.h"

int hex_digit_lower(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -EINVAL;
}

int hex_digit(char c) {
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return hex_digit_lower(c);
}

int hex_decode(const char *s, size_t n, bool lower_only, uint8_t *ret) {
        int (*digit)(char) = lower_only ? hex_digit_lower : hex_digit;

        for (size_t i = 0; i < n; i++) {
                int hi = digit(s[2 * i]), lo;

                if (hi < 0)
                        return -EINVAL;
                lo = digit(s[2 * i + 1]);
                if (lo < 0)
                        return -EINVAL;
                ret[i] = (uint8_t) (hi << 4 | lo);
        }
        return 0;
}
