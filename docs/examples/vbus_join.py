#!/usr/bin/python3
"""Join a vbus hub (vesc-sim --vbus PATH), send a VESC PING to controller 12
from id 253 and print every frame on the bus in candump style.

Standard library only: a vbus member is a Unix SOCK_SEQPACKET connection
that sends and receives exactly one 16-byte Linux struct can_frame per
message (docs/vbus.md).

    python3 vbus_join.py PATH [--count N] [--timeout S] [--no-ping]
"""

import argparse
import socket
import struct
import sys
import time

# struct can_frame: u32 can_id (host order, flags included), u8 can_dlc,
# 3 padding bytes, 8 data bytes.
CAN_FRAME = struct.Struct("=IB3x8s")
CAN_EFF_FLAG = 0x80000000
CAN_RTR_FLAG = 0x40000000
CAN_ERR_FLAG = 0x20000000
CAN_EFF_MASK = 0x1FFFFFFF

CAN_PACKET_PING = 17  # spec §6.1: data = the sender's own id


def pack(can_id, data=b""):
    return CAN_FRAME.pack(can_id, len(data), bytes(data).ljust(8, b"\0"))


def unpack(msg):
    can_id, dlc, data = CAN_FRAME.unpack(msg)
    return can_id, data[:min(dlc, 8)], dlc


def text(can_id, data, dlc):
    if can_id & CAN_ERR_FLAG:
        ident = "%08X" % (can_id & ~(CAN_EFF_FLAG | CAN_RTR_FLAG))
    elif can_id & CAN_EFF_FLAG:
        ident = "%08X" % (can_id & CAN_EFF_MASK)
    else:
        ident = "%03X" % (can_id & 0x7FF)
    if can_id & CAN_RTR_FLAG:
        return ident + "#R" + (str(dlc) if dlc else "")
    return ident + "#" + data.hex().upper()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--count", type=int, default=0, help="stop after N frames")
    ap.add_argument("--timeout", type=float, default=0, help="stop after S seconds")
    ap.add_argument("--no-ping", action="store_true", help="only listen")
    ap.add_argument("--target", type=int, default=12, help="controller id to ping")
    ap.add_argument("--own-id", type=int, default=253, help="our CAN id")
    args = ap.parse_args()

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.connect(args.path)
    if not args.no_ping:
        ping = CAN_EFF_FLAG | (CAN_PACKET_PING << 8) | args.target
        sock.send(pack(ping, [args.own_id]))

    deadline = time.monotonic() + args.timeout if args.timeout > 0 else None
    seen = 0
    while args.count == 0 or seen < args.count:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
        try:
            msg = sock.recv(64)
        except socket.timeout:
            break
        if not msg:
            print("hub closed the connection", file=sys.stderr)
            break
        if len(msg) != CAN_FRAME.size:
            continue
        print("(%.6f) vbus %s" % (time.time(), text(*unpack(msg))), flush=True)
        seen += 1
    return 0 if args.count == 0 or seen >= args.count else 1


if __name__ == "__main__":
    sys.exit(main())
