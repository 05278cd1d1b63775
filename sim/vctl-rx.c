/* Per-generation CAN receive buffers of the VESC firmware (spec §8.3).  See
 * vctl-rx.h for the rules; this file only implements them, including the
 * awkward parts (stale bytes, overruns, interleaved senders corrupting each
 * other, the shared reply address). */
#include <string.h>

#include "crc.h"
#include "vctl-rx.h"
#include "wire.h"

/* CAN packet types handled here (spec §3). */
enum {
        RX_FILL = 5,
        RX_FILL_LONG = 6,
        RX_PROCESS = 7,
        RX_PROCESS_SHORT = 8,
};

/**
 * sim_rx_init() - receive buffers as after a reset
 * @rx: state to initialise
 * @major: firmware major
 * @minor: firmware minor
 */
void sim_rx_init(SimRx *rx, unsigned major, unsigned minor) {
        memset(rx, 0, sizeof *rx);
        rx->gen = sim_fw_rx_gen(major, minor);
        rx->fw_code = sim_fw_code(major, minor);
        rx->reply_mode = 1;
}

/* The first buffer whose position is @pos, or -1. */
static int buffer_at(const SimRx *rx, size_t pos) {
        for (int i = 0; i < SIM_RX_BUFFERS; i++)
                if (rx->pos[i] == pos)
                        return i;
        return -1;
}

static void fill_multi(SimRx *rx, uint16_t offset, const uint8_t *d, size_t n) {
        int match;

        /* 6.02+ never write past the end (spec §8.3). */
        if ((size_t) offset + n > SIM_RX_SIZE)
                return;

        match = buffer_at(rx, offset);

        if (match < 0) {
                rx->stats.unmatched++;
                if (rx->gen == SIM_RX_MULTI_602) {
                        /* 6.02: write into buffer 0 at the frame's offset and
                         * advance buffer 0's position by the frame length. */
                        memcpy(rx->buf[0] + offset, d, n);
                        rx->pos[0] = (uint16_t) (rx->pos[0] + n);
                        return;
                }
                if (offset != 0)
                        return;
                /* 6.05+: a new transfer (offset 0) takes over buffer 0. */
                match = 0;
                rx->pos[0] = 0;
        }

        memcpy(rx->buf[match] + offset, d, n);
        rx->pos[match] = (uint16_t) (offset + n);
}

static void fill(SimRx *rx, uint16_t offset, const uint8_t *d, size_t n) {
        if (rx->gen == SIM_RX_SINGLE) {
                /* No bookkeeping: absolute offset, whatever was there before
                 * stays where no frame lands.  LONG frames are checked only for
                 * offset < 512 and may run a few bytes past the end. */
                if (offset >= SIM_RX_SIZE)
                        return;
                memcpy(rx->buf[0] + offset, d, n);
                return;
        }
        fill_multi(rx, offset, d, n);
}

static void update_reply_address(SimRx *rx, uint8_t sender, uint8_t mode) {
        /* Up to 5.03 every PROCESS frame overwrites the reply address; from
         * 6.00 only mode 0 frames (and mode 3 from 6.05).  6.05+ also keep the
         * mode replies go out with, set by every PROCESS frame. */
        if (rx->fw_code < 600)
                rx->reply_id = sender;
        else if (mode == 0 || (mode == 3 && rx->fw_code >= 605))
                rx->reply_id = sender;

        if (rx->fw_code >= 605)
                rx->reply_mode = mode == 3 ? 0 : 1;
}

static int process(SimRx *rx, const uint8_t *data, uint8_t dlc, SimRxMessage *ret) {
        uint8_t sender, mode;
        uint16_t len, crc;
        int sel = 0;

        if (dlc < 6)
                return 0;
        sender = data[0];
        mode = data[1];
        len = be16_get(data + 2);
        crc = be16_get(data + 4);

        /* Before any check: even a rejected PROCESS frame moves the reply address. */
        update_reply_address(rx, sender, mode);

        if (len > SIM_RX_SIZE) {
                rx->stats.length_drops++;
                return 0;
        }

        if (rx->gen != SIM_RX_SINGLE) {
                sel = buffer_at(rx, len);
                if (sel < 0) {
                        rx->stats.unmatched++;
                        memset(rx->pos, 0, sizeof rx->pos);
                        return 0;
                }
                /* Released before the CRC is checked: freed either way. */
                rx->pos[sel] = 0;
        }

        if (len == 0 || crc16(rx->buf[sel], len) != crc) {
                rx->stats.crc_drops++;
                return 0;
        }

        rx->stats.messages++;
        *ret = (SimRxMessage) { .sender = sender, .mode = mode, .len = len, .payload = rx->buf[sel] };
        return 1;
}

/**
 * sim_rx_feed() - feed one buffer-transport frame addressed to us
 * @rx: receive state
 * @type: CAN packet type (5 FILL, 6 FILL_LONG, 7 PROCESS, 8 PROCESS_SHORT)
 * @data: frame data
 * @dlc: data length (0..8)
 * @ret: the command to process, when 1 is returned
 *
 * Returns 1 when a command is complete and passes the firmware's checks,
 * 0 otherwise (consumed, ignored or silently dropped).  *ret->payload
 * points into @rx and is valid until the next call.
 */
int sim_rx_feed(SimRx *rx, uint8_t type, const uint8_t *data, uint8_t dlc, SimRxMessage *ret) {
        if (dlc > 8)
                dlc = 8;

        switch (type) {
        case RX_FILL:
                if (dlc < 2)
                        return 0;
                fill(rx, data[0], data + 1, (size_t) dlc - 1);
                return 0;

        case RX_FILL_LONG:
                if (dlc < 3)
                        return 0;
                fill(rx, be16_get(data), data + 2, (size_t) dlc - 2);
                return 0;

        case RX_PROCESS:
                return process(rx, data, dlc, ret);

        case RX_PROCESS_SHORT:
                if (dlc < 2)
                        return 0;
                update_reply_address(rx, data[0], data[1]);
                if (dlc < 3)
                        return 0;
                rx->stats.messages++;
                *ret = (SimRxMessage) { .sender = data[0], .mode = data[1], .len = (uint16_t) (dlc - 2),
                                        .payload = data + 2 };
                return 1;

        default:
                return 0;
        }
}
