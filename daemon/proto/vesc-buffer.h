/* The multi-frame buffer transport over CAN (spec §8): a segmenter that
 * emits exactly the firmware's frame sequence, and vescd's strict
 * reassembler.  (vesc-sim models each firmware generation's own, looser,
 * receive buffers itself; see sim/.)
 *
 * Pure: no I/O, no allocation, time passed in as CLOCK_MONOTONIC µs. */
#pragma once

#include <linux/can.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/vesc-can.h" /* frame ids, VESC_ID_BROADCAST */

#define VESC_BUFFER_MAX 512          /* RX_BUFFER_SIZE = PACKET_MAX_PL_LEN */
#define VESC_SHORT_MAX 6             /* payloads up to this size go in one SHORT frame */

typedef enum VescSendMode {
        VESC_MODE_PROCESS_REPLY = 0,  /* process, reply over CAN with mode 1 */
        VESC_MODE_REPLY = 1,          /* a reply: pass up to the host */
        VESC_MODE_PROCESS_NOREPLY = 2,
        VESC_MODE_PROCESS_REPLY_LOCAL = 3, /* 6.05+ */
} VescSendMode;

/* Number of frames the firmware uses for a payload of len bytes (1 for a
 * short buffer; fills + 1 PROCESS otherwise).  0 if len is 0 or > 512. */
size_t vesc_buffer_frame_count(size_t len);

typedef struct VescSegmenter {
        const uint8_t *payload; /* borrowed; must stay valid until done */
        size_t len;
        size_t pos;
        uint8_t dest, sender, mode;
        bool done;
} VescSegmenter;

/* Returns -EINVAL for len == 0 or len > 512. */
int vesc_segmenter_init(VescSegmenter *s, uint8_t dest, uint8_t sender, VescSendMode mode,
                        const uint8_t *payload, size_t len);
/* Writes the next frame into *ret.  Returns 1 when a frame was produced,
 * 0 when the sequence is complete. */
int vesc_segmenter_next(VescSegmenter *s, struct can_frame *ret);

/* A complete buffered message as delivered by the reassembler. */
typedef struct VescMessage {
        uint8_t sender;          /* byte 0 of the PROCESS frame */
        uint8_t mode;            /* byte 1 */
        uint16_t len;
        const uint8_t *payload;  /* points into the reassembler; valid until the next feed */
} VescMessage;

typedef struct VescReassemblerStats {
        uint64_t messages;
        uint64_t crc_errors;
        uint64_t order_errors;   /* gap, duplicate, out-of-order offset */
        uint64_t bound_errors;   /* offset/length beyond 512, bad DLC */
        uint64_t length_errors;  /* PROCESS length != bytes received */
        uint64_t timeouts;       /* stale transfer dropped */
} VescReassemblerStats;

/* Strict reassembler for frames addressed to one destination id (vescd's
 * own).  FILL offsets must arrive in order without gaps or duplicates
 * starting at 0; PROCESS must announce exactly the received length and the
 * right CRC; a transfer idle longer than timeout_usec is dropped.  Two
 * senders interleaving fills corrupt the transfer and it is rejected. */
typedef struct VescReassembler {
        uint8_t dest;
        uint64_t timeout_usec;
        bool active;
        size_t fill;             /* bytes received so far (next expected offset) */
        uint64_t last_usec;
        uint8_t buf[VESC_BUFFER_MAX];
        VescReassemblerStats stats;
        /* A SHORT frame is delivered from here so that it does not disturb a
         * long transfer in progress in buf (added by proto). */
        uint8_t short_buf[VESC_SHORT_MAX];
} VescReassembler;

#define VESC_REASSEMBLER_TIMEOUT_USEC (500 * 1000)

void vesc_reassembler_init(VescReassembler *r, uint8_t dest, uint64_t timeout_usec);
void vesc_reassembler_reset(VescReassembler *r);

/* Feed one frame.  Frames not of types 5..8 or not addressed to r->dest
 * return 0 and are ignored.  Returns:
 *   1         a message is complete in *ret (SHORT or PROCESS)
 *   0         frame consumed (or ignored), nothing complete
 *  -EBADMSG   CRC mismatch at PROCESS, or malformed frame (DLC)
 *  -EPROTO    order error (gap, duplicate, unexpected offset, PROCESS with
 *             a length different from what was received)
 *  -EMSGSIZE  bounds: offset/length beyond 512
 * After an error the partial transfer is discarded. */
int vesc_reassembler_feed(VescReassembler *r, const struct can_frame *f, uint64_t now_usec, VescMessage *ret);

/* Drop a transfer idle for longer than the timeout.  Returns 1 if one was dropped. */
int vesc_reassembler_expire(VescReassembler *r, uint64_t now_usec);
