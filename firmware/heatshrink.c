/* heatshrink (LZSS) encoder and decoder with VESC's parameters (window
 * 2^13, look-ahead 2^5), written from the bitstream description in spec §21.
 *
 * The encoder must produce the same bytes as the reference encoder, because
 * the stream's CRC16 goes into the upload header and tests compare with
 * published vectors.  The reference choice is greedy: at each position the
 * longest match (3..32 bytes) within the last 8 KiB, where the history before
 * the first byte is 8 KiB of zeros; among equal lengths the nearest.  To make
 * that fast we keep hash chains over 3-byte prefixes (every match of 3+
 * bytes shares its first three bytes with the current position), walk them
 * nearest first, and stop as soon as a full 32-byte match appears: nothing
 * can beat it, and it is the nearest such match. */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "heatshrink.h"
#include "macro.h"

#define HS_WINDOW    (1u << HEATSHRINK_WINDOW_BITS)
#define HS_MAXLEN    (1u << HEATSHRINK_LOOKAHEAD_BITS)
#define HS_MINLEN    3u /* a 19-bit back-reference must beat 2 literals (18 bits) */
#define HS_HASH_BITS 16
#define HS_NONE      (-1)

typedef struct BitWriter {
        uint8_t *out;
        size_t len;
        uint8_t acc;   /* bits collected for the current byte */
        unsigned nacc; /* how many of them */
} BitWriter;

static void bits_put(BitWriter *w, uint32_t value, unsigned count) {
        while (count > 0) {
                count--;
                w->acc = (uint8_t) ((w->acc << 1) | ((value >> count) & 1u));
                if (++w->nacc == 8) {
                        w->out[w->len++] = w->acc;
                        w->acc = 0;
                        w->nacc = 0;
                }
        }
}

static void bits_flush(BitWriter *w) {
        /* Zero-bit padding of the last byte (spec §21.4). */
        if (w->nacc > 0) {
                w->out[w->len++] = (uint8_t) (w->acc << (8 - w->nacc));
                w->acc = 0;
                w->nacc = 0;
        }
}

static inline uint32_t hash3(const uint8_t *p) {
        uint32_t v = ((uint32_t) p[0] << 16) | ((uint32_t) p[1] << 8) | p[2];
        return (v * 2654435761u) >> (32 - HS_HASH_BITS);
}

/**
 * heatshrink_encode() - compress with VESC's heatshrink parameters
 * @in: input bytes (may be NULL when @n is 0)
 * @n: input length
 * @ret_out: on success, a malloc'd buffer with the stream (caller frees);
 *           NULL for an empty input
 * @ret_len: on success, the stream length
 *
 * Produces the reference encoder's exact output: greedy, longest then
 * nearest match of 3..32 bytes within 8 KiB, zero history, zero-bit padding.
 *
 * Return: 0, or -ENOMEM (also when the sizes would overflow).
 */
int heatshrink_encode(const uint8_t *in, size_t n, uint8_t **ret_out, size_t *ret_len) {
        if (n == 0) {
                *ret_out = NULL;
                *ret_len = 0;
                return 0;
        }
        if (n > (size_t) INT32_MAX - HS_WINDOW)
                return -ENOMEM;

        /* buf = 8 KiB of zero history followed by the input, so a position
         * and its candidates live in one array and distances are plain
         * differences. */
        size_t total = HS_WINDOW + n;
        _cleanup_free_ uint8_t *buf = malloc(total);
        _cleanup_free_ int32_t *prev = malloc(total * sizeof(int32_t));
        _cleanup_free_ int32_t *head = malloc(sizeof(int32_t) << HS_HASH_BITS);
        /* Worst case: every byte a 9-bit literal, plus padding. */
        _cleanup_free_ uint8_t *out = malloc(n + n / 8 + 2);
        if (!buf || !prev || !head || !out)
                return -ENOMEM;

        memset(buf, 0, HS_WINDOW);
        memcpy(buf + HS_WINDOW, in, n);
        for (size_t i = 0; i < ((size_t) 1 << HS_HASH_BITS); i++)
                head[i] = HS_NONE;

        BitWriter w = { .out = out };
        size_t inserted = 0; /* positions [0, inserted) are in the chains */

        /* Insert every position p with p + 3 <= total that lies before pos. */
#define INSERT_UP_TO(limit)                                                     \
        do {                                                                    \
                for (; inserted < (limit) && inserted + HS_MINLEN <= total;     \
                     inserted++) {                                              \
                        uint32_t h_ = hash3(buf + inserted);                    \
                        prev[inserted] = head[h_];                              \
                        head[h_] = (int32_t) inserted;                          \
                }                                                               \
        } while (0)

        size_t pos = HS_WINDOW;
        while (pos < total) {
                size_t remaining = total - pos;
                size_t maxlen = MIN(remaining, (size_t) HS_MAXLEN);
                size_t best_len = 0, best_pos = 0;

                INSERT_UP_TO(pos);

                if (maxlen >= HS_MINLEN) {
                        const uint8_t *needle = buf + pos;
                        size_t lowest = pos - HS_WINDOW;
                        for (int32_t c = head[hash3(needle)]; c != HS_NONE && (size_t) c >= lowest;
                             c = prev[c]) {
                                const uint8_t *cand = buf + c;
                                /* Quick reject: it must beat the best so far
                                 * at the byte that would make it longer. */
                                if (best_len > 0 && cand[best_len] != needle[best_len])
                                        continue;
                                size_t len = 0;
                                while (len < maxlen && cand[len] == needle[len])
                                        len++;
                                if (len > best_len) {
                                        best_len = len;
                                        best_pos = (size_t) c;
                                        if (len == maxlen)
                                                break;
                                }
                        }
                }

                if (best_len >= HS_MINLEN) {
                        bits_put(&w, 0, 1);
                        bits_put(&w, (uint32_t) (pos - best_pos - 1), HEATSHRINK_WINDOW_BITS);
                        bits_put(&w, (uint32_t) (best_len - 1), HEATSHRINK_LOOKAHEAD_BITS);
                        pos += best_len;
                } else {
                        bits_put(&w, 1, 1);
                        bits_put(&w, buf[pos], 8);
                        pos++;
                }
        }
#undef INSERT_UP_TO
        bits_flush(&w);

        *ret_len = w.len;
        *ret_out = TAKE_PTR(out);
        return 0;
}

typedef struct BitReader {
        const uint8_t *in;
        size_t n;
        size_t bitpos;
} BitReader;

/* Read count bits MSB first; false when fewer than count bits remain. */
static bool bits_get(BitReader *r, unsigned count, uint32_t *ret) {
        if (r->n * 8 - r->bitpos < count)
                return false;
        uint32_t v = 0;
        for (unsigned i = 0; i < count; i++, r->bitpos++)
                v = (v << 1) | ((r->in[r->bitpos / 8] >> (7 - r->bitpos % 8)) & 1u);
        *ret = v;
        return true;
}

/**
 * heatshrink_decode() - decompress a VESC heatshrink stream
 * @in: the stream
 * @n: stream length
 * @out: output buffer
 * @outcap: its capacity
 *
 * Decodes until the input runs out, as the bootloader does: a trailing
 * partial token (the zero padding) is ignored.  Back-references before the
 * first output byte read the zero history.
 *
 * Return: the decoded length, or -ENOBUFS when the stream decodes to more
 * than @outcap bytes (then @out holds the first @outcap bytes).
 */
ssize_t heatshrink_decode(const uint8_t *in, size_t n, uint8_t *out, size_t outcap) {
        BitReader r = { .in = in, .n = n };
        size_t len = 0;

        for (;;) {
                uint32_t tag, v, dist, count;

                if (!bits_get(&r, 1, &tag))
                        break;
                if (tag) {
                        if (!bits_get(&r, 8, &v))
                                break;
                        if (len >= outcap)
                                return -ENOBUFS;
                        out[len++] = (uint8_t) v;
                        continue;
                }
                if (!bits_get(&r, HEATSHRINK_WINDOW_BITS, &dist) ||
                    !bits_get(&r, HEATSHRINK_LOOKAHEAD_BITS, &count))
                        break;
                dist += 1;
                count += 1;
                for (uint32_t i = 0; i < count; i++) {
                        if (len >= outcap)
                                return -ENOBUFS;
                        /* Before the first byte lies the zero history. */
                        out[len] = len >= dist ? out[len - dist] : 0;
                        len++;
                }
        }
        return (ssize_t) len;
}
