#!/usr/bin/python3
"""Self-test of the independent implementation (vescproto.py) against the
worked examples and check values of the spec (§0.3, §6, §8, §19), so the
interop tests rest on a checked second implementation.  Pure, no I/O."""
import os
import struct
import sys

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vescproto as vp  # noqa: E402


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)
    print("ok -", what)


def main():
    # §0.3 check values
    check(vp.crc16(b"123456789") == 0x31C3, "crc16('123456789') = 0x31C3")
    check(vp.crc16(b"\x04") == 0x4084, "crc16(04) = 0x4084")
    check(vp.crc16(b"\x00") == 0x0000, "crc16(00) = 0")
    # §8.4 check value
    check(vp.crc32c(b"123456789") == 0xE3069283, "crc32c('123456789') = 0xE3069283")

    # §19: ping controller 31 from 253
    e, d = vp.ping_frame(0x1F, 0xFD)
    check((e, d) == (0x0000111F, b"\xFD"), "PING 31 from 253 = 0000111F#FD")
    check(vp.decode_pong(b"\x1F\x00") == (0x1F, 0), "PONG 5.03+ decodes id + hw type")
    check(vp.decode_pong(b"\x1F") == (0x1F, None), "PONG 3.58 decodes id only")

    # §19: COMM_FW_VERSION request as a short buffer
    frames = vp.segment(b"\x00", 0x1F, 0xFD)
    check(frames == [(0x0000081F, b"\xFD\x00\x00")], "FW_VERSION request = 0000081F#FD0000")

    # §19: GET_VALUES_SELECTIVE mask 0x00008183 still a short buffer
    frames = vp.segment(b"\x32\x00\x00\x81\x83", 0x1F, 0xFD)
    check(frames == [(0x0000081F, bytes.fromhex("FD00320000 8183".replace(" ", "")))],
          "GET_VALUES_SELECTIVE request = 0000081F#FD00320000 8183")

    # §19: a 3.58 FW_VERSION reply, 19 bytes, as four frames to 253
    payload = bytes.fromhex("00033A363000" "3A0027000A5135303833 3234".replace(" ", "") + "00")
    check(len(payload) == 19, "example reply is 19 bytes")
    want = [
        (0x000005FD, bytes.fromhex("0000033A3630003A")),
        (0x000005FD, bytes.fromhex("070027000A513530")),
        (0x000005FD, bytes.fromhex("0E3833323400")),
        (0x000007FD, bytes.fromhex("1F0100137CF2")),
    ]
    got = vp.segment(payload, 0xFD, 0x1F, vp.MODE_REPLY)
    check(got == want, "segmenter reproduces the §19 FW_VERSION frames")
    rx = vp.Reassembler(0xFD)
    out = None
    for e, d in want:
        t, i = vp.split_eid(e)
        out = rx.feed(t, i, d)
    check(out == (0x1F, 1, payload), "reassembler: from 31, mode 1, payload intact")
    v = vp.decode_fw_version(out[2])
    check((v["version"], v["hw_name"], v["uuid"], v["length"]) ==
          ("3.58", "60", "3a0027000a51353038333234", 19), "FW_VERSION 3.58 layout decoded")
    check("test_build" not in v, "3.58 layout has no test-build byte")

    # reassembler strictness: a gap, a bad CRC, a wrong length
    rx = vp.Reassembler(0xFD)
    for e, d in (want[0], want[2], want[3]):
        t, i = vp.split_eid(e)
        out = rx.feed(t, i, d)
    check(out is None and rx.errors, "reassembler rejects a gap")
    rx = vp.Reassembler(0xFD)
    bad = want[:3] + [(0x000007FD, bytes.fromhex("1F0100137CF3"))]
    for e, d in bad:
        t, i = vp.split_eid(e)
        out = rx.feed(t, i, d)
    check(out is None and rx.errors, "reassembler rejects a CRC mismatch")
    rx = vp.Reassembler(0xFD)
    out = rx.feed(vp.CAN_PACKET_PROCESS_SHORT_BUFFER, 0xFC, b"\x1F\x01\x02\x01")
    check(out is None and not rx.errors, "reassembler ignores frames to other ids")

    # §8.1 frame counts: 512 bytes -> 37 + 43 + 1, 389 bytes -> 37 + 22 + 1
    big = bytes(range(256)) * 2
    fr = vp.segment(big, 74, 250)
    kinds = [vp.split_eid(e)[0] for e, _ in fr]
    check((kinds.count(5), kinds.count(6), kinds.count(7)) == (37, 43, 1), "512-byte payload: 37+43+1 frames")
    check(fr[36][1][0] == 252 and struct.unpack(">H", fr[37][1][:2])[0] == 259,
          "last short fill at 252, first long fill at 259")
    write = vp.write_new_app_data(0, b"\x55" * 384)
    check(len(write) == 389, "a 384-byte write command is 389 bytes")
    kinds = [vp.split_eid(e)[0] for e, _ in vp.segment(write, 74, 250)]
    check((kinds.count(5), kinds.count(6), kinds.count(7)) == (37, 22, 1), "389-byte payload: 37+22+1 frames")
    rx = vp.Reassembler(74)
    out = None
    for e, d in vp.segment(big, 74, 250):
        t, i = vp.split_eid(e)
        out = rx.feed(t, i, d)
    check(out == (250, 0, big), "512-byte round trip")

    # §4 example: 51 A to controller 23 (id packing)
    check(vp.eid(vp.CAN_PACKET_SET_CURRENT, 23) == 0x117, "SET_CURRENT to 23 = 0x117")
    check(vp.split_eid(0x10117) is None, "bits 16..28 set: not a VESC id")

    # §5.1 STATUS decoding
    s = vp.decode_status(vp.CAN_PACKET_STATUS, bytes.fromhex("00000FA0 0064 01F4".replace(" ", "")))
    check(s == {"erpm": 4000, "current": 10.0, "duty": 0.5}, "STATUS decodes erpm/current/duty")

    # §8.4 default ids of the preset UUIDs
    a = bytes.fromhex("3c0029000d51393236353934")
    b = bytes.fromhex("2f002b001451363336333531")
    check(vp.default_id_from_uuid(a, 3, 58) == 10 and vp.default_id_from_uuid(a, 5, 3) == 12,
          "UUID A: id 10 on 3.58, 12 on 5.03")
    check(vp.default_id_from_uuid(b, 3, 58) == 74 and vp.default_id_from_uuid(b, 5, 3) == 74,
          "UUID B: id 74 on 3.58 and 5.03")

    # §14.2 upload stream header
    img = b"\x01\x02\x03"
    check(vp.upload_stream(img) == b"\x00\x00\x00\x03" + struct.pack(">H", vp.crc16(img)) + img,
          "plain upload header = u32 size, u16 crc16")
    check(list(vp.upload_chunks(b"\xff" * 384 + b"\x00", 384)) == [(384, b"\x00")],
          "all-0xFF chunks are skipped")
    check(vp.erase_new_app(393208) == bytes.fromhex("020005FFF8"), "ERASE_NEW_APP(393208)")
    check(vp.decode_flash_ack(b"\x03\x01\x00\x00\x01\x80", 3) == (True, 384), "write ack with echo")
    check(vp.decode_flash_ack(b"\x03\x01", 3) == (True, None), "write ack without echo (3.58)")
    print("PASS")


if __name__ == "__main__":
    main()
