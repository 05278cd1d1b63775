/* Exact wire length of a classic CAN frame (ISO 11898-1 data and remote
 * frames), computed from the frame's content.
 *
 * The frame is laid out bit by bit as the controller sends it:
 *
 *   standard: SOF | ID[10:0] | RTR | IDE=0 | r0 | DLC[3:0] | data | CRC[14:0]
 *   extended: SOF | ID[28:18] | SRR=1 | IDE=1 | ID[17:0] | RTR | r1 | r0 |
 *             DLC[3:0] | data | CRC[14:0]
 *
 * followed by a fixed trailer that is never stuffed: CRC delimiter (1),
 * ACK slot (1), ACK delimiter (1), end of frame (7) and the intermission
 * (3) that must pass before the next frame may start: 13 bits.
 *
 * Without stuffing that is 1+11+1+1+1+4+15 + 8n + 13 = 47 + 8n bits for a
 * standard frame and 1+11+1+1+18+1+1+1+4+15 + 8n + 13 = 67 + 8n bits for an
 * extended one (n = data bytes, 0 for remote frames).  The CRC is CRC-15
 * (polynomial 0x4599, initial value 0) over the unstuffed bits SOF…data.
 * The transmitter inserts a complementary stuff bit after every five equal
 * consecutive bits from SOF to the last CRC bit; stuff bits take part in the
 * following run, and one may follow the last CRC bit itself.  So the stuffed
 * length depends on the id, the data and the CRC they produce, which is why
 * it is computed here rather than estimated. */

#include <stdbool.h>
#include <stdint.h>

#include "canbits.h"

/* Longest stuffed region: extended header (39) + 64 data + 15 CRC bits. */
#define CANBITS_MAX_REGION 118

#define CANBITS_TRAILER_BITS 13 /* CRC delimiter, ACK slot+delimiter, EOF, IFS */
#define CANBITS_CRC_BITS 15
#define CANBITS_CRC_POLY 0x4599

typedef struct BitSeq {
        uint8_t bit[CANBITS_MAX_REGION];
        unsigned n;
} BitSeq;

static void put_bits(BitSeq *s, uint32_t value, unsigned width) {
        for (unsigned i = width; i > 0; i--)
                s->bit[s->n++] = (value >> (i - 1)) & 1;
}

static unsigned frame_data_len(const struct can_frame *f) {
        if (f->can_id & CAN_RTR_FLAG)
                return 0;
        return f->can_dlc > CAN_MAX_DLEN ? CAN_MAX_DLEN : f->can_dlc;
}

static unsigned frame_dlc_field(const struct can_frame *f) {
        /* struct can_frame carries the length, 0…8; a remote frame sends
         * the requested length in its DLC field. */
        return f->can_dlc > CAN_MAX_DLEN ? CAN_MAX_DLEN : f->can_dlc;
}

/* Lay out SOF…CRC of the frame, unstuffed. */
static void frame_region(const struct can_frame *f, BitSeq *s) {
        bool eff = f->can_id & CAN_EFF_FLAG;
        bool rtr = f->can_id & CAN_RTR_FLAG;
        unsigned len = frame_data_len(f);

        s->n = 0;
        put_bits(s, 0, 1); /* SOF, dominant */
        if (eff) {
                uint32_t id = f->can_id & CAN_EFF_MASK;

                put_bits(s, id >> 18, 11);
                put_bits(s, 1, 1); /* SRR, recessive */
                put_bits(s, 1, 1); /* IDE, recessive: extended */
                put_bits(s, id & 0x3FFFF, 18);
                put_bits(s, rtr, 1);
                put_bits(s, 0, 2); /* r1, r0 */
        } else {
                put_bits(s, f->can_id & CAN_SFF_MASK, 11);
                put_bits(s, rtr, 1);
                put_bits(s, 0, 2); /* IDE dominant: standard; r0 */
        }
        put_bits(s, frame_dlc_field(f), 4);
        for (unsigned i = 0; i < len; i++)
                put_bits(s, f->data[i], 8);

        uint16_t crc = 0;
        for (unsigned i = 0; i < s->n; i++) {
                bool next = s->bit[i] ^ ((crc >> 14) & 1);

                crc = (crc << 1) & 0x7FFF;
                if (next)
                        crc ^= CANBITS_CRC_POLY;
        }
        put_bits(s, crc, CANBITS_CRC_BITS);
}

/**
 * can_frame_wire_bits_nostuff() - wire length of a frame without stuff bits
 * @f: the frame (classic CAN; can_dlc above 8 counts as 8)
 *
 * Return: 47 + 8n for standard, 67 + 8n for extended frames (n data bytes,
 * 0 for remote frames), trailer and intermission included; 0 for error
 * frames.
 */
unsigned can_frame_wire_bits_nostuff(const struct can_frame *f) {
        if (f->can_id & CAN_ERR_FLAG)
                return 0;
        return (f->can_id & CAN_EFF_FLAG ? 67 : 47) + 8 * frame_data_len(f);
}

/**
 * can_frame_wire_bits() - exact wire length of a frame, stuffing included
 * @f: the frame (classic CAN; can_dlc above 8 counts as 8)
 *
 * Lays the frame out bit by bit, computes its CRC-15 and counts the stuff
 * bits its content needs.
 *
 * Return: the number of bit times from SOF to the end of the intermission;
 * 0 for error frames (CAN_ERR_FLAG).
 */
unsigned can_frame_wire_bits(const struct can_frame *f) {
        BitSeq s;
        unsigned stuffed = 0, run = 0;
        int last = -1;

        if (f->can_id & CAN_ERR_FLAG)
                return 0;

        frame_region(f, &s);
        for (unsigned i = 0; i < s.n; i++) {
                if (s.bit[i] == last)
                        run++;
                else {
                        last = s.bit[i];
                        run = 1;
                }
                if (run == 5) {
                        /* The stuff bit is the complement and starts the
                         * next run. */
                        stuffed++;
                        last = !last;
                        run = 1;
                }
        }
        return s.n + stuffed + CANBITS_TRAILER_BITS;
}

/**
 * can_frame_wire_bits_max() - worst-case wire length for a frame's shape
 * @f: the frame; only its id format, RTR flag and length matter
 *
 * The stuffed region has g bits (34 + 8n standard, 54 + 8n extended); at
 * most one stuff bit follows the first five bits and then one per four
 * bits, so at most floor((g - 1) / 4) stuff bits.
 *
 * Return: the bound in bits; 0 for error frames.
 */
unsigned can_frame_wire_bits_max(const struct can_frame *f) {
        unsigned n = can_frame_wire_bits_nostuff(f);

        if (n == 0)
                return 0;
        return n + (n - CANBITS_TRAILER_BITS - 1) / 4;
}
