/* How long a classic CAN frame really occupies the wire, in bits.  The vbus
 * hub paces delivery with it and the benchmarks compute the physical limit
 * of a bus with it, so both agree on what "as fast as a real segment" means.
 * Pure: no I/O, no allocation. */
#pragma once

#include <linux/can.h>

/* Bits a classic CAN frame occupies on the wire for its actual content:
 * SOF through the end of the interframe space, stuff bits included.
 * 0 for error frames (CAN_ERR_FLAG), which are not frames on the wire. */
unsigned can_frame_wire_bits(const struct can_frame *f);

/* The same without stuff bits: the frame's fixed length for its id format
 * and data length. */
unsigned can_frame_wire_bits_nostuff(const struct can_frame *f);

/* The worst case of can_frame_wire_bits() over every frame with the same id
 * format and data length (the classic bound: one stuff bit per four bits
 * after the first of the stuffed region). */
unsigned can_frame_wire_bits_max(const struct can_frame *f);
