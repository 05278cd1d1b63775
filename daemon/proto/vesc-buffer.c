/* Buffer transport over CAN (spec §8): a COMM payload split into
 * FILL_RX_BUFFER / FILL_RX_BUFFER_LONG frames plus a PROCESS_RX_BUFFER
 * frame, or one PROCESS_SHORT_BUFFER frame for up to 6 bytes.
 *
 * The segmenter reproduces the firmware's sender byte for byte (§8.1) so
 * that vesc-sim's replies look like a real controller's and vescd's requests
 * look like VESC Tool's.  The reassembler is deliberately stricter than any
 * firmware: the firmware's receive buffers are shared by all senders and
 * accept frames in any order (up to 6.00) or silently drop unmatched ones
 * (6.02+), whereas vescd must never act on a reply patched together from two
 * controllers' interleaved frames, so anything but the exact sequence is an
 * error that is counted and reported. */

#include <errno.h>
#include <string.h>

#include "crc.h"
#include "macro.h"
#include "proto/vesc-buffer.h"
#include "proto/vesc-can.h"
#include "wire.h"

/* FILL frames carry offsets 0..255 in one byte; the firmware's sender stops
 * using them once the offset passes 255, i.e. after the frame at 252. */
#define FILL_OFFSET_MAX 255
#define FILL_BYTES 7
#define FILL_LONG_BYTES 6
#define FILL_PART_END 259 /* 252 + 7: where FILL_LONG frames start */

/**
 * vesc_buffer_frame_count() - frames the firmware uses for a payload
 * @len: payload length in bytes (command byte included)
 *
 * Return: 1 for len <= 6 (one SHORT frame); otherwise the FILL frames, the
 * FILL_LONG frames and the PROCESS frame (512 bytes: 37 + 43 + 1 = 81).
 * 0 if len is 0 or larger than 512.
 */
size_t vesc_buffer_frame_count(size_t len) {
        if (len == 0 || len > VESC_BUFFER_MAX)
                return 0;
        if (len <= VESC_SHORT_MAX)
                return 1;

        size_t fill_part = MIN(len, (size_t) FILL_PART_END);
        size_t n = (fill_part + FILL_BYTES - 1) / FILL_BYTES;
        if (len > FILL_PART_END)
                n += (len - FILL_PART_END + FILL_LONG_BYTES - 1) / FILL_LONG_BYTES;
        return n + 1;
}

/**
 * vesc_segmenter_init() - prepare to send a payload as CAN frames
 * @s: segmenter state
 * @dest: destination controller id
 * @sender: our id, put into byte 0 of the SHORT/PROCESS frame (reply address)
 * @mode: send mode (byte 1)
 * @payload: the COMM payload; borrowed, must stay valid until the sequence ends
 * @len: payload length, 1..512
 *
 * Return: 0, or -EINVAL for len 0 or > 512.
 */
int vesc_segmenter_init(VescSegmenter *s, uint8_t dest, uint8_t sender, VescSendMode mode,
                        const uint8_t *payload, size_t len) {
        if (len == 0 || len > VESC_BUFFER_MAX)
                return -EINVAL;
        *s = (VescSegmenter){
                .payload = payload,
                .len = len,
                .dest = dest,
                .sender = sender,
                .mode = (uint8_t) mode,
        };
        return 0;
}

/**
 * vesc_segmenter_next() - produce the next frame of the sequence
 * @s: segmenter state from vesc_segmenter_init()
 * @ret: receives the frame (unused data bytes zero)
 *
 * Sequence (§8.1): one SHORT frame for up to 6 bytes; otherwise FILL frames
 * at offsets 0, 7, ... while the offset is <= 255, FILL_LONG frames in
 * steps of 6 from where those end, then PROCESS (DLC 6: sender, mode, u16
 * length, CRC16 high byte first).
 *
 * Return: 1 when a frame was written, 0 when the sequence is complete.
 */
int vesc_segmenter_next(VescSegmenter *s, struct can_frame *ret) {
        if (s->done)
                return 0;

        memset(ret, 0, sizeof *ret);
        if (s->len <= VESC_SHORT_MAX) {
                ret->can_id = vesc_can_id(CAN_PACKET_PROCESS_SHORT_BUFFER, s->dest);
                ret->len = (uint8_t) (2 + s->len);
                ret->data[0] = s->sender;
                ret->data[1] = s->mode;
                memcpy(ret->data + 2, s->payload, s->len);
                s->done = true;
                return 1;
        }

        if (s->pos < s->len && s->pos <= FILL_OFFSET_MAX) {
                size_t n = MIN((size_t) FILL_BYTES, s->len - s->pos);
                ret->can_id = vesc_can_id(CAN_PACKET_FILL_RX_BUFFER, s->dest);
                ret->len = (uint8_t) (1 + n);
                ret->data[0] = (uint8_t) s->pos;
                memcpy(ret->data + 1, s->payload + s->pos, n);
                s->pos += n;
                return 1;
        }

        if (s->pos < s->len) {
                size_t n = MIN((size_t) FILL_LONG_BYTES, s->len - s->pos);
                ret->can_id = vesc_can_id(CAN_PACKET_FILL_RX_BUFFER_LONG, s->dest);
                ret->len = (uint8_t) (2 + n);
                be16_put(ret->data, (uint16_t) s->pos);
                memcpy(ret->data + 2, s->payload + s->pos, n);
                s->pos += n;
                return 1;
        }

        ret->can_id = vesc_can_id(CAN_PACKET_PROCESS_RX_BUFFER, s->dest);
        ret->len = 6;
        ret->data[0] = s->sender;
        ret->data[1] = s->mode;
        be16_put(ret->data + 2, (uint16_t) s->len);
        be16_put(ret->data + 4, crc16(s->payload, s->len));
        s->done = true;
        return 1;
}

/**
 * vesc_reassembler_init() - set up a reassembler for one destination id
 * @r: reassembler
 * @dest: the id whose buffer frames to collect (vescd's own)
 * @timeout_usec: a transfer idle for longer is dropped
 *                (VESC_REASSEMBLER_TIMEOUT_USEC is a sensible default)
 */
void vesc_reassembler_init(VescReassembler *r, uint8_t dest, uint64_t timeout_usec) {
        memset(r, 0, sizeof *r);
        r->dest = dest;
        r->timeout_usec = timeout_usec;
}

/**
 * vesc_reassembler_reset() - drop any partial transfer; statistics are kept
 * @r: reassembler
 */
void vesc_reassembler_reset(VescReassembler *r) {
        r->active = false;
        r->fill = 0;
}

/**
 * vesc_reassembler_expire() - drop a transfer that has gone stale
 * @r: reassembler
 * @now_usec: current CLOCK_MONOTONIC time in µs
 *
 * Return: 1 if a partial transfer was dropped (counted in stats.timeouts),
 * 0 otherwise.
 */
int vesc_reassembler_expire(VescReassembler *r, uint64_t now_usec) {
        if (!r->active || now_usec < r->last_usec || now_usec - r->last_usec <= r->timeout_usec)
                return 0;
        r->stats.timeouts++;
        vesc_reassembler_reset(r);
        return 1;
}

static int fail(VescReassembler *r, uint64_t *counter, int error) {
        (*counter)++;
        vesc_reassembler_reset(r);
        return error;
}

static int feed_fill(VescReassembler *r, size_t offset, const uint8_t *data, size_t n, uint64_t now_usec) {
        if (offset + n > VESC_BUFFER_MAX)
                return fail(r, &r->stats.bound_errors, -EMSGSIZE);

        if (offset == 0) {
                /* A new transfer always starts at 0.  One already in progress
                 * was abandoned (lost PROCESS frame) or is being interleaved
                 * with another sender's; either way it is dead: count it and
                 * start over, so a good reply right after a lost one is kept. */
                if (r->active)
                        r->stats.order_errors++;
                r->active = true;
                r->fill = 0;
        } else if (!r->active || offset != r->fill)
                return fail(r, &r->stats.order_errors, -EPROTO);

        memcpy(r->buf + offset, data, n);
        r->fill = offset + n;
        r->last_usec = now_usec;
        return 0;
}

/**
 * vesc_reassembler_feed() - feed one received frame
 * @r: reassembler
 * @f: the frame
 * @now_usec: receive time, CLOCK_MONOTONIC µs
 * @ret: receives the message when 1 is returned; its payload points into @r
 *       and stays valid until the next call
 *
 * Frames that are not buffer frames (types 5..8) addressed to r->dest are
 * ignored.  A SHORT frame is delivered at once and leaves a long transfer in
 * progress untouched (short replies from other controllers may legitimately
 * arrive meanwhile).  FILL offsets must follow each other without gap or
 * repetition from 0; a FILL at offset 0 always starts a new transfer (an
 * abandoned one is counted as an order error).  PROCESS must carry DLC 6,
 * the exact number of bytes received and their CRC16.  A transfer idle for
 * longer than the timeout is dropped before the frame is looked at.
 *
 * Return: 1 message complete; 0 consumed or ignored; -EBADMSG CRC mismatch
 * or malformed frame (DLC); -EPROTO order or length error; -EMSGSIZE offset
 * or length beyond 512.  After an error the partial transfer is discarded.
 */
int vesc_reassembler_feed(VescReassembler *r, const struct can_frame *f, uint64_t now_usec, VescMessage *ret) {
        uint8_t type, addr;
        if (vesc_can_id_unpack(f->can_id, &type, &addr) < 0 || addr != r->dest)
                return 0;
        if (type < CAN_PACKET_FILL_RX_BUFFER || type > CAN_PACKET_PROCESS_SHORT_BUFFER)
                return 0;

        (void) vesc_reassembler_expire(r, now_usec);

        const uint8_t *d = f->data;
        size_t dlc = f->len;
        if (dlc > CAN_MAX_DLEN)
                return fail(r, &r->stats.bound_errors, -EBADMSG);

        switch (type) {
        case CAN_PACKET_PROCESS_SHORT_BUFFER:
                /* An empty command is not a command; don't deliver it.  The
                 * transfer in progress is not affected. */
                if (dlc < 3) {
                        r->stats.bound_errors++;
                        return -EBADMSG;
                }
                memcpy(r->short_buf, d + 2, dlc - 2);
                *ret = (VescMessage){ .sender = d[0], .mode = d[1], .len = (uint16_t) (dlc - 2),
                                      .payload = r->short_buf };
                r->stats.messages++;
                return 1;

        case CAN_PACKET_FILL_RX_BUFFER:
                if (dlc < 2)
                        return fail(r, &r->stats.bound_errors, -EBADMSG);
                return feed_fill(r, d[0], d + 1, dlc - 1, now_usec);

        case CAN_PACKET_FILL_RX_BUFFER_LONG:
                if (dlc < 3)
                        return fail(r, &r->stats.bound_errors, -EBADMSG);
                return feed_fill(r, be16_get(d), d + 2, dlc - 2, now_usec);

        case CAN_PACKET_PROCESS_RX_BUFFER: {
                if (dlc != 6)
                        return fail(r, &r->stats.bound_errors, -EBADMSG);
                size_t len = be16_get(d + 2);
                if (len > VESC_BUFFER_MAX)
                        return fail(r, &r->stats.bound_errors, -EMSGSIZE);
                if (!r->active || len != r->fill)
                        return fail(r, &r->stats.length_errors, -EPROTO);
                if (crc16(r->buf, len) != be16_get(d + 4))
                        return fail(r, &r->stats.crc_errors, -EBADMSG);

                /* buf keeps its bytes until the next FILL, which can only
                 * come with the next call. */
                vesc_reassembler_reset(r);
                *ret = (VescMessage){ .sender = d[0], .mode = d[1], .len = (uint16_t) len, .payload = r->buf };
                r->stats.messages++;
                return 1;
        }
        }
        return 0;
}
