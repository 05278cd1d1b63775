/* Serial (USB CDC / UART) framing of COMM payloads (spec §1).
 *
 * The decoder applies the firmware's own acceptance rules (zero length,
 * 16-bit length below 255, length above 512, bad start byte, bad stop byte,
 * CRC mismatch) and, like the firmware, answers every structural error by
 * dropping the first buffered byte and trying again from the next one, so a
 * stream that starts mid-frame or carries line noise resynchronises by
 * itself.  The 1000 ms reset of a half-received packet that 3.58-5.02 have
 * needs a clock and is left to the caller (vesc_serial_decoder_init()). */

#include <errno.h>
#include <string.h>

#include "crc.h"
#include "macro.h"
#include "proto/vesc-serial.h"
#include "wire.h"

#define START_SHORT 0x02
#define START_LONG 0x03
#define STOP_BYTE 0x03

/**
 * vesc_serial_encode() - frame a COMM payload
 * @payload: the payload (command byte first)
 * @len: payload length, 1..512
 * @buf: output buffer
 * @size: its size (VESC_SERIAL_MAX_FRAME always suffices)
 *
 * Payloads up to 255 bytes use the 1-byte length form (start 0x02), longer
 * ones the 2-byte form (start 0x03), as the firmware requires.
 *
 * Return: frame length (len + 5 or len + 6); -EINVAL for len 0 or > 512;
 * -ENOBUFS if @buf is too small.
 */
ssize_t vesc_serial_encode(const uint8_t *payload, size_t len, uint8_t *buf, size_t size) {
        if (len == 0 || len > VESC_SERIAL_MAX_PAYLOAD)
                return -EINVAL;

        size_t hdr = len <= 255 ? 2 : 3;
        if (size < hdr + len + 3)
                return -ENOBUFS;

        if (hdr == 2) {
                buf[0] = START_SHORT;
                buf[1] = (uint8_t) len;
        } else {
                buf[0] = START_LONG;
                be16_put(buf + 1, (uint16_t) len);
        }
        memmove(buf + hdr, payload, len);
        be16_put(buf + hdr + len, crc16(payload, len));
        buf[hdr + len + 2] = STOP_BYTE;
        return (ssize_t) (hdr + len + 3);
}

/**
 * vesc_serial_decoder_init() - reset a stream decoder
 * @d: decoder; any buffered partial frame is dropped, counters are zeroed
 */
void vesc_serial_decoder_init(VescSerialDecoder *d) {
        memset(d, 0, sizeof *d);
}

/* Look at the bytes buffered so far.  Returns 1 when buf holds a complete,
 * valid frame of *ret_size bytes at its start; 0 when *ret_size bytes are
 * needed before anything can be said; -1 when the first byte cannot start a
 * valid frame and must be dropped. */
static int check_frame(const VescSerialDecoder *d, size_t *ret_size) {
        const uint8_t *b = d->buf;
        size_t hdr, len;

        if (d->fill < 1) {
                *ret_size = 1;
                return 0;
        }
        if (b[0] == START_SHORT)
                hdr = 2;
        else if (b[0] == START_LONG)
                hdr = 3;
        else
                return -1;

        if (d->fill < hdr) {
                *ret_size = hdr;
                return 0;
        }
        if (hdr == 2) {
                len = b[1];
                if (len == 0)
                        return -1;
        } else {
                len = be16_get(b + 1);
                if (len < 255 || len > VESC_SERIAL_MAX_PAYLOAD)
                        return -1;
        }

        size_t total = hdr + len + 3;
        if (d->fill < total) {
                *ret_size = total;
                return 0;
        }
        if (b[total - 1] != STOP_BYTE || crc16(b + hdr, len) != be16_get(b + hdr + len))
                return -1;
        *ret_size = total;
        return 1;
}

static void drop_front(VescSerialDecoder *d, size_t n) {
        memmove(d->buf, d->buf + n, d->fill - n);
        d->fill -= n;
}

/**
 * vesc_serial_decoder_push() - feed stream bytes, get complete payloads out
 * @d: decoder
 * @data: received bytes
 * @len: number of bytes in @data
 * @consumed: receives how many bytes of @data were taken
 * @ret_payload: receives the payload when 1 is returned; points into @d and
 *               stays valid until the next call
 * @ret_len: receives the payload length when 1 is returned
 *
 * At most one payload is returned per call; call again with the rest of the
 * input (data + *consumed) until 0 is returned.  Bytes that cannot belong to
 * a valid frame are dropped one at a time and counted in ->dropped_bytes.
 *
 * Return: 1 a payload is complete; 0 all of @data was taken, more needed.
 */
int vesc_serial_decoder_push(VescSerialDecoder *d, const uint8_t *data, size_t len, size_t *consumed,
                             const uint8_t **ret_payload, size_t *ret_len) {
        size_t used = 0;

        if (d->pending > 0) {
                drop_front(d, d->pending);
                d->pending = 0;
        }

        for (;;) {
                size_t want;
                int r = check_frame(d, &want);
                if (r < 0) {
                        drop_front(d, 1);
                        d->dropped_bytes++;
                        continue;
                }
                if (r > 0) {
                        size_t hdr = d->buf[0] == START_SHORT ? 2 : 3;
                        d->pending = want;
                        d->frames++;
                        *ret_payload = d->buf + hdr;
                        *ret_len = want - hdr - 3;
                        *consumed = used;
                        return 1;
                }
                if (used == len) {
                        *consumed = used;
                        return 0;
                }
                /* Take only what the candidate frame needs: after a drop the
                 * buffered rest is re-examined before new input is read. */
                size_t n = MIN(want - d->fill, len - used);
                memcpy(d->buf + d->fill, data + used, n);
                d->fill += n;
                used += n;
        }
}
