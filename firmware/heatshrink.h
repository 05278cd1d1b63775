/* heatshrink (LZSS) with VESC's parameters, window 2^13, look-ahead 2^5,
 * implemented from the bitstream description in spec §21: MSB-first bits,
 * tag 1 = literal (8 bits), tag 0 = back-reference (13 bits distance-1,
 * 5 bits length-1), history starts as 8 KiB of zeros, no end marker.
 * Pure; the encoder allocates its output. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HEATSHRINK_WINDOW_BITS 13
#define HEATSHRINK_LOOKAHEAD_BITS 5

/* Compress in[0..n) into a malloc'd buffer (*ret_out, *ret_len).  Output is
 * byte-identical to the reference encoder (greedy, longest then nearest match,
 * matches of 3+ bytes, zero-bit padding).  0 or -ENOMEM. */
int heatshrink_encode(const uint8_t *in, size_t n, uint8_t **ret_out, size_t *ret_len);

/* Decode in[0..n) into out.  Stops when the input runs out (leftover bits
 * that do not form a whole token are ignored), as the bootloader does.
 * Returns the decoded length, or -ENOBUFS if the stream decodes to more
 * than outcap bytes (out then holds the first outcap bytes). */
ssize_t heatshrink_decode(const uint8_t *in, size_t n, uint8_t *out, size_t outcap);
