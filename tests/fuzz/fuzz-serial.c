/* Fuzz the serial stream decoder (vesc-serial.h).
 *
 * Input: two bytes seeding the chunk sizes, then the byte stream.  The
 * stream is decoded twice, once in a single push sequence and once cut into
 * pseudo-random chunks; both must yield the same payloads in the same order
 * (chunking must not matter).  Every payload is 1..512 bytes, and framing
 * it again gives a frame that a fresh decoder turns back into the same
 * payload without dropping a byte. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proto/vesc-serial.h"

static void check_payload(const uint8_t *p, size_t len) {
        uint8_t frame[VESC_SERIAL_MAX_FRAME];
        VescSerialDecoder d;
        const uint8_t *q;
        size_t qlen, used;

        FUZZ_CHECK(len >= 1 && len <= VESC_SERIAL_MAX_PAYLOAD);
        ssize_t n = vesc_serial_encode(p, len, frame, sizeof frame);
        FUZZ_CHECK(n == (ssize_t) (len + (len <= 255 ? 5 : 6)));
        FUZZ_CHECK(vesc_serial_encode(p, len, frame, (size_t) n - 1) == -ENOBUFS);

        vesc_serial_decoder_init(&d);
        FUZZ_CHECK(vesc_serial_decoder_push(&d, frame, (size_t) n, &used, &q, &qlen) == 1);
        FUZZ_CHECK(used == (size_t) n && qlen == len && memcmp(p, q, len) == 0);
        FUZZ_CHECK(d.dropped_bytes == 0 && d.frames == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2)
                return 0;
        uint32_t seed = (uint32_t) data[0] << 8 | data[1];
        const uint8_t *s = data + 2;
        size_t len = size - 2;

        /* Pass 1: everything at once.  Payloads are copied out back to back;
         * they can never add up to more than the input. */
        uint8_t *out = malloc(len ? len : 1);
        size_t *lens = malloc((len / 6 + 1) * sizeof *lens);
        FUZZ_CHECK(out && lens);
        size_t nout = 0, npay = 0, pos = 0;

        VescSerialDecoder d;
        vesc_serial_decoder_init(&d);
        for (;;) {
                const uint8_t *p;
                size_t plen, used;
                int r = vesc_serial_decoder_push(&d, s + pos, len - pos, &used, &p, &plen);
                FUZZ_CHECK(r == 0 || r == 1);
                FUZZ_CHECK(used <= len - pos);
                pos += used;
                if (r == 0) {
                        FUZZ_CHECK(pos == len);
                        break;
                }
                check_payload(p, plen);
                FUZZ_CHECK(nout + plen <= len && npay <= len / 6);
                memcpy(out + nout, p, plen);
                nout += plen;
                lens[npay++] = plen;
        }
        FUZZ_CHECK(d.frames == npay);

        /* Pass 2: the same stream in chunks of 1..16 bytes. */
        VescSerialDecoder e;
        vesc_serial_decoder_init(&e);
        size_t k = 0, off = 0;
        pos = 0;
        while (pos < len) {
                seed = seed * 1103515245u + 12345u;
                size_t chunk = 1 + (seed >> 16) % 16;
                if (chunk > len - pos)
                        chunk = len - pos;
                size_t cpos = 0;
                for (;;) {
                        const uint8_t *p;
                        size_t plen, used;
                        int r = vesc_serial_decoder_push(&e, s + pos + cpos, chunk - cpos, &used, &p, &plen);
                        cpos += used;
                        if (r == 0) {
                                FUZZ_CHECK(cpos == chunk);
                                break;
                        }
                        FUZZ_CHECK(k < npay && plen == lens[k] && memcmp(p, out + off, plen) == 0);
                        off += plen;
                        k++;
                }
                pos += chunk;
        }
        FUZZ_CHECK(k == npay);
        FUZZ_CHECK(e.dropped_bytes == d.dropped_bytes);

        free(out);
        free(lens);
        return 0;
}
