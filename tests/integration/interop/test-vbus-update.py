#!/usr/bin/python3
"""A full firmware update of vesc-sim's controller B (dual-mismatch, 3.58)
to the project's 5.03 test image, done entirely by the independent
implementation (vescproto.py) from the spec (§14.2-14.5): ERASE_NEW_APP,
384-byte WRITE_NEW_APP_DATA chunks each acknowledged ([3][ok], no offset
echo on 3.58, with it on 5.03's A), all-0xFF chunks skipped, JUMP_TO_BOOTLOADER; B comes back
with the 5.03 PONG layout, FW_VERSION 5.03 (25 bytes, same UUID, id by the
5.03 UUID rule), broadcasts off (configuration reset, §14.8); A untouched.
The image set's manifest is read here too (size and SHA-256 checked)."""
import hashlib
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vescproto as vp  # noqa: E402
from interop import (TIMEOUT, UUID_A, UUID_B, Env, builddir, check, fail, log,  # noqa: E402
                     require_programs, run, skip)

OWN_ID = 250
TIME_SCALE = 0.02
ACK_TIMEOUT = 3.0     # per chunk, as VESC Tool (§14.5); generous at this time scale
ATTEMPTS = 3


def load_image(hw_name):
    setdir = os.path.join(builddir(), "firmware", "imagesets", "vesc-5.03-test")
    manifest_path = os.path.join(setdir, "manifest.json")
    if not os.path.exists(manifest_path):
        skip("%s not built (make imagesets needs arm-none-eabi-gcc)" % manifest_path)
    with open(manifest_path) as f:
        manifest = json.load(f)
    entry = [h for h in manifest["hardware"] if h["hw_name"] == hw_name]
    check(len(entry) == 1, "manifest has one entry for hw %s" % hw_name)
    app = entry[0]["app"]
    with open(os.path.join(setdir, app["file"]), "rb") as f:
        image = f.read()
    check(len(image) == app["size"] == vp.APP_MAX_SIZE_3X_5X, "5.03 image is %d bytes" % len(image))
    check(hashlib.sha256(image).hexdigest() == app["sha256"], "image SHA-256 matches the manifest")
    check((app["firmware_major"], app["firmware_minor"]) == (5, 3), "manifest says 5.03")
    return image


def ack(c, payload, target, cmd, what):
    """Send payload, wait for [cmd][ok...]; retry on timeout (§14.5)."""
    for attempt in range(ATTEMPTS):
        try:
            reply = c.request(target, payload, ACK_TIMEOUT * (20 if cmd == vp.COMM_ERASE_NEW_APP else 1),
                              reply_cmd=cmd)
        except TimeoutError:
            log("%s: timeout (attempt %d)" % (what, attempt + 1))
            continue
        ok, echo = vp.decode_flash_ack(reply, cmd)
        if not ok:
            fail("%s: controller answered ok = 0" % what)
        return reply
    fail("%s: no ack after %d attempts" % (what, ATTEMPTS))


def wait_back(c):
    """B is silent while its bootloader runs, then restarts; poll by PING."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        pong = c.ping(74, 0.1)
        if pong is not None:
            return pong
        if time.monotonic() > deadline:
            fail("B did not answer a PING after the jump")


def main():
    require_programs("sim/vesc-sim")
    image = load_image("60")
    with Env() as env:
        c = vp.Client(vp.VbusTransport(env.start_sim("dual-mismatch", time_scale=TIME_SCALE)), OWN_ID)
        deadline = time.monotonic() + TIMEOUT
        while c.ping(74, 0.2) is None:
            if time.monotonic() > deadline:
                fail("no PONG from 74 after joining the hub")
        c.keep_frames = False  # ~60 000 frames follow; keep memory flat
        before = c.fw_version(74)
        check((before["version"], before["uuid"]) == ("3.58", UUID_B), "B runs 3.58 before the update")

        stream = vp.upload_stream(image)
        check(len(stream) <= vp.NEW_APP_BUFFER_SIZE, "upload stream fits the new-app buffer")
        chunks = list(vp.upload_chunks(stream))
        check(len(chunks) >= 2, "the image has at least two non-erased chunks")

        # 5.00+ echo the offset in the write ack (§14.3): stage (never jump)
        # one chunk on A, at a non-zero offset so the echo means something
        ack(c, vp.erase_new_app(len(image)), 12, vp.COMM_ERASE_NEW_APP, "ERASE_NEW_APP on A")
        off, piece = chunks[-1]
        check(off > 0, "last non-erased chunk at offset %d" % off)
        reply = ack(c, vp.write_new_app_data(off, piece), 12, vp.COMM_WRITE_NEW_APP_DATA, "write on A")
        check(reply == bytes([vp.COMM_WRITE_NEW_APP_DATA, 1]) + off.to_bytes(4, "big"),
              "5.03 write ack = [3][1][u32 offset echo %d]: %s" % (off, reply.hex()))

        # First an incomplete upload (one chunk left out): the bootloader's
        # CRC16 check refuses it and the old firmware keeps running (§14.4).
        ack(c, vp.erase_new_app(len(image)), 74, vp.COMM_ERASE_NEW_APP, "ERASE_NEW_APP")
        for off, piece in chunks[:-1]:
            ack(c, vp.write_new_app_data(off, piece), 74, vp.COMM_WRITE_NEW_APP_DATA, "write at %d" % off)
        c.command_no_reply(74, vp.jump_to_bootloader())
        wait_back(c)
        v = c.fw_version(74)
        check((v["version"], v["uuid"]) == ("3.58", UUID_B),
              "an upload missing a chunk is refused by the bootloader: B still runs 3.58")

        t0 = time.monotonic()
        reply = ack(c, vp.erase_new_app(len(image)), 74, vp.COMM_ERASE_NEW_APP, "ERASE_NEW_APP")
        check(reply == bytes([vp.COMM_ERASE_NEW_APP, 1]), "erase ack = [2][1]")
        log("writing %d of %d chunks (the rest are erased flash)" % (len(chunks), -(-len(stream) // vp.FW_CHUNK)))
        for off, piece in chunks:
            reply = ack(c, vp.write_new_app_data(off, piece), 74, vp.COMM_WRITE_NEW_APP_DATA,
                        "write at %d" % off)
            if reply != bytes([vp.COMM_WRITE_NEW_APP_DATA, 1]):
                fail("3.58 write ack must be [3][1] without offset echo, got %s" % reply.hex())
        check(True, "every chunk acknowledged with [3][1] (3.58: no offset echo)")
        log("staged in %.1f s" % (time.monotonic() - t0))

        c.command_no_reply(74, vp.jump_to_bootloader())
        pong = wait_back(c)
        log("B back after %.2f s" % (time.monotonic() - t0))
        check(pong == bytes([74, 0]), "B answers with the 5.03 PONG layout [74, 0]")
        after = c.fw_version(74)
        log("B:", after)
        check((after["length"], after["version"], after["hw_name"], after["uuid"], after["test_build"]) ==
              (25, "5.03", "60", UUID_B, 0), "B reports FW_VERSION 5.03 (25 bytes), hw 60, same UUID")
        check(vp.default_id_from_uuid(bytes.fromhex(UUID_B), 5, 3) == 74, "74 is B's 5.03 default id")
        a = c.fw_version(12)
        check((a["version"], a["uuid"]) == ("5.03", UUID_A), "A still runs 5.03")
        vals = c.get_values(74)
        check(vals["length"] == 73 and vals["controller_id"] == 74, "B's GET_VALUES now has the 73-byte layout")

        # configuration reset: STATUS broadcasts are off now (§14.8, §5.2);
        # every frame from here on was sent after the restart
        c.keep_frames = True
        c.frames = []
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            c.poll(end - time.monotonic())
        status_b = [f for f in c.frames if vp.frame_eid(f) and vp.frame_eid(f)[0] in vp.STATUS_TYPES
                    and vp.frame_eid(f)[1] == 74]
        check(not status_b, "B no longer broadcasts STATUS (configuration reset)")
        check(not c.rx.errors, "no malformed buffer transfers (%s)" % c.rx.errors)


if __name__ == "__main__":
    run(main)
