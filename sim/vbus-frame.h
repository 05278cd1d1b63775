/* The text form of a CAN frame that can-utils uses (cansend's argument,
 * candump -L's log lines), so vbus tools and test transcripts read and write
 * what people already know.  Pure: no I/O. */
#pragma once

#include <linux/can.h>
#include <stddef.h>

/* "123#DEADBEEF", "0000090A#01.02", "123#R", "123#R4", error frames as
 * 8 hex digits with CAN_ERR_FLAG (0x20000000) set.  3 hex digits: standard
 * id; 8: extended (CAN_EFF_FLAG added).  -EINVAL for anything else. */
int vbus_frame_parse(const char *s, struct can_frame *ret);

/* The same syntax, upper-case, no separators.  Needs at most
 * VBUS_FRAME_TEXT_MAX bytes including the NUL; -ENOBUFS if size is less. */
#define VBUS_FRAME_TEXT_MAX 28
int vbus_frame_format(const struct can_frame *f, char *buf, size_t size);
