/* Fuzz the strict CAN buffer reassembler (vesc-buffer.h).
 *
 * Input: a sequence of records [type][addr][dlc][dt][data...], where the
 * frame id is (type << 8) | addr, dlc is taken raw (values above 8 must be
 * refused), min(dlc, 8) data bytes follow, and dt advances the clock by
 * dt * 10 ms so that the stale-transfer timeout is reachable.  The
 * reassembler listens for id 0xFD (vescd's default in the spec examples).
 *
 * Invariants: every delivered message is at most 512 bytes; a PROCESS
 * delivery carries exactly the announced length, sender and mode, and its
 * CRC16 equals the PROCESS frame's; a SHORT delivery is the frame's payload;
 * errors are only the documented codes, and the counters add up.  Each
 * delivered message is then segmented again and must survive a second
 * reassembler unchanged (segmenter and reassembler agree). */

#include <errno.h>
#include <string.h>

#include "crc.h"
#include "fuzz.h"
#include "proto/vesc-buffer.h"
#include "proto/vesc-can.h"
#include "wire.h"

#define DEST 0xFD

static void roundtrip(const VescMessage *m) {
        VescSegmenter s;
        VescReassembler r2;
        VescMessage m2;
        struct can_frame f;
        int got = 0;
        size_t frames = 0;

        if (m->len == 0) /* cannot be sent again: the segmenter refuses it */
                return;
        FUZZ_CHECK(vesc_segmenter_init(&s, DEST, m->sender, m->mode, m->payload, m->len) == 0);
        vesc_reassembler_init(&r2, DEST, VESC_REASSEMBLER_TIMEOUT_USEC);
        while (vesc_segmenter_next(&s, &f) > 0) {
                frames++;
                FUZZ_CHECK(f.len <= CAN_MAX_DLEN);
                int k = vesc_reassembler_feed(&r2, &f, 0, &m2);
                FUZZ_CHECK(k == 0 || k == 1);
                if (k == 1) {
                        got++;
                        FUZZ_CHECK(m2.len == m->len && m2.sender == m->sender && m2.mode == m->mode);
                        FUZZ_CHECK(memcmp(m2.payload, m->payload, m->len) == 0);
                }
        }
        FUZZ_CHECK(got == 1);
        FUZZ_CHECK(frames == vesc_buffer_frame_count(m->len));
        FUZZ_CHECK(vesc_segmenter_next(&s, &f) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        VescReassembler r;
        uint64_t now = 0, delivered = 0, errors = 0;

        vesc_reassembler_init(&r, DEST, VESC_REASSEMBLER_TIMEOUT_USEC);

        size_t i = 0;
        while (i + 4 <= size) {
                struct can_frame f = {};
                uint8_t type = data[i], addr = data[i + 1], dlc = data[i + 2];
                now += (uint64_t) data[i + 3] * 10000;
                i += 4;
                size_t n = dlc < CAN_MAX_DLEN ? dlc : CAN_MAX_DLEN;
                if (n > size - i)
                        n = size - i;
                memcpy(f.data, data + i, n);
                i += n;
                f.can_id = vesc_can_id(type, addr);
                f.len = dlc;

                VescMessage m;
                int k = vesc_reassembler_feed(&r, &f, now, &m);
                FUZZ_CHECK(k == 1 || k == 0 || k == -EBADMSG || k == -EPROTO || k == -EMSGSIZE);
                FUZZ_CHECK(r.fill <= VESC_BUFFER_MAX);
                if (k != 0)
                        FUZZ_CHECK(addr == DEST && type >= CAN_PACKET_FILL_RX_BUFFER &&
                                   type <= CAN_PACKET_PROCESS_SHORT_BUFFER);
                if (k < 0) {
                        errors++;
                        /* A SHORT error leaves a transfer alone; all others end it. */
                        if (type != CAN_PACKET_PROCESS_SHORT_BUFFER)
                                FUZZ_CHECK(!r.active);
                        continue;
                }
                if (k == 0)
                        continue;

                delivered++;
                FUZZ_CHECK(m.len <= VESC_BUFFER_MAX);
                if (type == CAN_PACKET_PROCESS_RX_BUFFER) {
                        FUZZ_CHECK(dlc == 6);
                        FUZZ_CHECK(m.len == be16_get(f.data + 2));
                        FUZZ_CHECK(crc16(m.payload, m.len) == be16_get(f.data + 4));
                        FUZZ_CHECK(m.sender == f.data[0] && m.mode == f.data[1]);
                        FUZZ_CHECK(!r.active);
                } else {
                        FUZZ_CHECK(type == CAN_PACKET_PROCESS_SHORT_BUFFER);
                        FUZZ_CHECK(dlc >= 3 && dlc <= 8 && m.len == dlc - 2);
                        FUZZ_CHECK(memcmp(m.payload, f.data + 2, m.len) == 0);
                        FUZZ_CHECK(m.sender == f.data[0] && m.mode == f.data[1]);
                }
                roundtrip(&m);
        }

        const VescReassemblerStats *st = &r.stats;
        FUZZ_CHECK(st->messages == delivered);
        /* Every error return is counted; order errors and timeouts can also
         * be counted without an error return (restart at offset 0, expiry). */
        FUZZ_CHECK(st->crc_errors + st->order_errors + st->bound_errors + st->length_errors >= errors);

        (void) vesc_reassembler_expire(&r, now + VESC_REASSEMBLER_TIMEOUT_USEC + 1);
        FUZZ_CHECK(!r.active);
        return 0;
}
