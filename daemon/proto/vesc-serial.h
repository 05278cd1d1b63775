/* Serial/USB framing of COMM payloads (spec §1): 0x02 len / 0x03 len16,
 * payload, CRC16, 0x03.  An encoder, and a streaming decoder that drops one
 * byte and retries on any structural error, exactly as the firmware does.
 * Pure: no I/O, no allocation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VESC_SERIAL_MAX_PAYLOAD 512
#define VESC_SERIAL_MAX_FRAME (VESC_SERIAL_MAX_PAYLOAD + 6)

/* Frame payload[0..len) into buf.  Returns the frame length, -EINVAL for
 * len 0 or > 512, -ENOBUFS if buf is too small. */
ssize_t vesc_serial_encode(const uint8_t *payload, size_t len, uint8_t *buf, size_t size);

typedef struct VescSerialDecoder {
        uint8_t buf[VESC_SERIAL_MAX_FRAME + 2];
        size_t fill;
        uint64_t dropped_bytes;  /* garbage skipped while resynchronising */
        uint64_t frames;
        /* Length of the frame delivered by the previous call, still at the
         * start of buf; removed at the next call (added by proto). */
        size_t pending;
} VescSerialDecoder;

void vesc_serial_decoder_init(VescSerialDecoder *d);

/* Push bytes in; may be called with any split of the stream.  *consumed
 * receives how many of data were taken.  Returns 1 with *ret_payload /
 * *ret_len pointing into the decoder (valid until the next call) when a frame
 * is complete (call again with the rest of data), 0 when more input is needed. */
int vesc_serial_decoder_push(VescSerialDecoder *d, const uint8_t *data, size_t len, size_t *consumed,
                             const uint8_t **ret_payload, size_t *ret_len);
