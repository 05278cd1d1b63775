/* The receive side of the CAN buffer transport as each firmware generation
 * implements it (spec §8.3): not vescd's strict reassembler, but the
 * firmware's own loose buffers, shared by every sender, with the global
 * reply address that PROCESS frames overwrite (spec §8.3, version rules).
 *
 *   - up to 6.00: one 512-byte buffer; FILL frames are copied to their
 *     absolute offset without bookkeeping, stale bytes stay; LONG frames with
 *     offset < 512 are copied whole (may run up to 5 bytes past the end);
 *   - 6.02: three buffers; a FILL matches the first buffer whose fill
 *     position equals its offset; an unmatched frame goes into buffer 0 at
 *     its offset and advances buffer 0's position;
 *   - 6.05+: the same, but unmatched frames are dropped, except offset 0
 *     takes over buffer 0.
 * PROCESS (both generations): length > 512 is not executed; multi-buffer:
 * the buffer whose position equals the length is selected and released
 * before the CRC check, none matching resets all; CRC mismatch = silent drop.
 *
 * Pure: no I/O, no allocation, no clock. */
#pragma once

#include <linux/can.h>
#include <stdbool.h>
#include <stdint.h>

#include "simfw.h"

#define SIM_RX_BUFFERS 3
#define SIM_RX_SIZE 512
/* Room for the ≤ 5-byte overrun of the old generations (spec §8.3). */
#define SIM_RX_ALLOC (SIM_RX_SIZE + 8)

typedef struct SimRxStats {
        uint64_t messages;      /* delivered to command processing */
        uint64_t crc_drops;
        uint64_t length_drops;  /* PROCESS length > 512 */
        uint64_t unmatched;     /* multi-buffer: FILL or PROCESS matching no buffer */
} SimRxStats;

typedef struct SimRx {
        SimRxGen gen;
        unsigned fw_code;       /* major*100+minor: reply-address rules */
        uint8_t buf[SIM_RX_BUFFERS][SIM_RX_ALLOC];
        uint16_t pos[SIM_RX_BUFFERS];
        uint8_t reply_id;       /* the global "rx_buffer_last_id" */
        uint8_t reply_mode;     /* 6.05+: mode replies are sent with (1, or 0 after mode 3) */
        SimRxStats stats;
} SimRx;

typedef struct SimRxMessage {
        uint8_t sender;         /* byte 0 of the PROCESS frame */
        uint8_t mode;           /* byte 1 */
        uint16_t len;
        const uint8_t *payload; /* into the SimRx, valid until the next feed */
} SimRxMessage;

/* RAM state at power-on for firmware major.minor. */
void sim_rx_init(SimRx *rx, unsigned major, unsigned minor);

/* Feed one VESC frame of type 5..8 already known to be addressed to us
 * (type and data from the id and payload).  Returns 1 with *ret filled when
 * a command is to be processed, 0 otherwise. */
int sim_rx_feed(SimRx *rx, uint8_t type, const uint8_t *data, uint8_t dlc, SimRxMessage *ret);
