"""An independent implementation of the VESC CAN protocol, for interop tests.

Written from the project's protocol reference (spec sections cited as §N),
never from the project's C code, so that vesc-sim and vescd are checked
against a second reading of the same facts.  Standard library only; the
python-can adapter imports `can` lazily.

Frames are handled as (eid, data) pairs: eid is the 29-bit extended id
without flags, data the payload bytes (len = DLC).  Transports deliver
non-VESC traffic (standard ids, error frames) as Frame objects too; the
protocol helpers ignore it.
"""
import collections
import select
import socket
import struct
import time

# ---------------------------------------------------------------- constants
# CAN_PACKET_ID (§3): explicit values, the enum is append-only upstream.
CAN_PACKET_SET_DUTY = 0
CAN_PACKET_SET_CURRENT = 1
CAN_PACKET_FILL_RX_BUFFER = 5
CAN_PACKET_FILL_RX_BUFFER_LONG = 6
CAN_PACKET_PROCESS_RX_BUFFER = 7
CAN_PACKET_PROCESS_SHORT_BUFFER = 8
CAN_PACKET_STATUS = 9
CAN_PACKET_STATUS_2 = 14
CAN_PACKET_STATUS_3 = 15
CAN_PACKET_STATUS_4 = 16
CAN_PACKET_PING = 17
CAN_PACKET_PONG = 18
CAN_PACKET_STATUS_5 = 27
CAN_PACKET_NOTIFY_BOOT = 57
CAN_PACKET_STATUS_6 = 58

STATUS_TYPES = (CAN_PACKET_STATUS, CAN_PACKET_STATUS_2, CAN_PACKET_STATUS_3,
                CAN_PACKET_STATUS_4, CAN_PACKET_STATUS_5, CAN_PACKET_STATUS_6)
BUFFER_TYPES = (CAN_PACKET_FILL_RX_BUFFER, CAN_PACKET_FILL_RX_BUFFER_LONG,
                CAN_PACKET_PROCESS_RX_BUFFER, CAN_PACKET_PROCESS_SHORT_BUFFER)

# COMM_PACKET_ID (§11)
COMM_FW_VERSION = 0
COMM_JUMP_TO_BOOTLOADER = 1
COMM_ERASE_NEW_APP = 2
COMM_WRITE_NEW_APP_DATA = 3
COMM_GET_VALUES = 4

# Buffer transport send modes (§8.2)
MODE_PROCESS_AND_REPLY = 0
MODE_REPLY = 1
MODE_PROCESS_NO_REPLY = 2

BROADCAST_ID = 255
MAX_PAYLOAD = 512            # RX_BUFFER_SIZE = PACKET_MAX_PL_LEN (§8.3)
SHORT_MAX = 6                # PROCESS_SHORT_BUFFER carries at most 6 bytes
FILL_SHORT_LAST = 255        # FILL_RX_BUFFER offsets go up to 255 (§8.1)
FILL_LONG_START = 259        # ... covering bytes up to 258

# SocketCAN can_id flags (linux/can.h); vbus uses the same layout
CAN_EFF_FLAG = 0x80000000
CAN_RTR_FLAG = 0x40000000
CAN_ERR_FLAG = 0x20000000
CAN_EFF_MASK = 0x1FFFFFFF

# Firmware update (§14)
APP_MAX_SIZE_3X_5X = 393208
NEW_APP_BUFFER_SIZE = 393216
FW_CHUNK = 384               # VESC Tool's chunk size (§14.5)


class ProtocolError(Exception):
    pass


# ---------------------------------------------------------------- CRCs
def crc16(data, crc=0):
    """CRC-16/XMODEM (§0.3): poly 0x1021, init 0, MSB first, no final xor."""
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def crc32c(data):
    """CRC-32C (§8.4): reflected poly 0x82F63B78, init and final xor ~0."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def default_id_from_uuid(uuid, major, minor):
    """The UUID-derived default controller id of a firmware version (§8.4)."""
    cid = crc32c(uuid) & 0x7F
    if (major, minor) < (5, 3):
        reserved = ()
    elif (major, minor) < (6, 6):
        reserved = (10, 11)
    else:
        reserved = (1, 2, 3, 4, 10, 11)
    while cid in reserved:
        cid = (cid + 1) & 0x7F
    return cid


# ---------------------------------------------------------------- ids
def eid(packet_type, controller_id):
    """Pack an extended id (§2.1): bits 15..8 type, bits 7..0 id."""
    if not 0 <= packet_type <= 0xFF or not 0 <= controller_id <= 0xFF:
        raise ValueError("type/id out of range")
    return (packet_type << 8) | controller_id


def split_eid(e):
    """(type, id) of a VESC extended id, or None when bits 28..16 are set."""
    if e >> 16:
        return None
    return (e >> 8) & 0xFF, e & 0xFF


Frame = collections.namedtuple("Frame", "can_id data t")
"""One received frame: raw can_id with flags, data bytes, monotonic time."""


def frame_eid(f):
    """(type, id) of a VESC frame, or None for anything else."""
    if f.can_id & (CAN_ERR_FLAG | CAN_RTR_FLAG) or not f.can_id & CAN_EFF_FLAG:
        return None
    return split_eid(f.can_id & CAN_EFF_MASK)


# ---------------------------------------------------------------- numbers
def _i16(data, off):
    return struct.unpack_from(">h", data, off)[0]


def _i32(data, off):
    return struct.unpack_from(">i", data, off)[0]


def _u32(data, off):
    return struct.unpack_from(">I", data, off)[0]


def f16(data, off, scale):
    return _i16(data, off) / scale


def f32(data, off, scale):
    return _i32(data, off) / scale


# ---------------------------------------------------------------- status (§5.1)
def decode_status(packet_type, data):
    """Decode a STATUS..STATUS_6 frame's 8 data bytes into a dict."""
    if len(data) != 8:
        raise ProtocolError("status frame with DLC %d" % len(data))
    if packet_type == CAN_PACKET_STATUS:
        return {"erpm": _i32(data, 0), "current": f16(data, 4, 1e1), "duty": f16(data, 6, 1e3)}
    if packet_type == CAN_PACKET_STATUS_2:
        return {"amp_hours": f32(data, 0, 1e4), "amp_hours_charged": f32(data, 4, 1e4)}
    if packet_type == CAN_PACKET_STATUS_3:
        return {"watt_hours": f32(data, 0, 1e4), "watt_hours_charged": f32(data, 4, 1e4)}
    if packet_type == CAN_PACKET_STATUS_4:
        return {"temp_fet": f16(data, 0, 1e1), "temp_motor": f16(data, 2, 1e1),
                "current_in": f16(data, 4, 1e1), "pid_pos": f16(data, 6, 50)}
    if packet_type == CAN_PACKET_STATUS_5:
        return {"tachometer": _i32(data, 0), "v_in": f16(data, 4, 1e1)}
    if packet_type == CAN_PACKET_STATUS_6:
        return {"adc1": f16(data, 0, 1e3), "adc2": f16(data, 2, 1e3),
                "adc3": f16(data, 4, 1e3), "ppm": f16(data, 6, 1e3)}
    raise ProtocolError("not a status type: %d" % packet_type)


# ---------------------------------------------------------------- PING/PONG (§6)
def ping_frame(target, own_id):
    """PING to target: one data byte, the sender's own id (reply address)."""
    return eid(CAN_PACKET_PING, target), bytes([own_id])


def decode_pong(data):
    """PONG data: (id byte, hw_type or None).  3.58-5.01 send one byte (the
    responder's id), 5.02+ two (5.03+: the id the PING was addressed to,
    then HW_TYPE)."""
    if len(data) == 1:
        return data[0], None
    if len(data) == 2:
        return data[0], data[1]
    raise ProtocolError("PONG with DLC %d" % len(data))


# ---------------------------------------------------------------- buffers (§8)
def segment(payload, target, sender, mode=MODE_PROCESS_AND_REPLY):
    """Split a COMM payload into buffer-transport frames, in the order the
    firmware sends them: short buffer if <= 6 bytes, else FILL (7 bytes,
    u8 offset, offsets <= 255), FILL_LONG (6 bytes, u16 offset) from where
    those end, then PROCESS with length and CRC16."""
    payload = bytes(payload)
    n = len(payload)
    if n == 0 or n > MAX_PAYLOAD:
        raise ValueError("payload length %d" % n)
    if n <= SHORT_MAX:
        return [(eid(CAN_PACKET_PROCESS_SHORT_BUFFER, target), bytes([sender, mode]) + payload)]
    frames = []
    off = 0
    while off < n and off <= FILL_SHORT_LAST:
        frames.append((eid(CAN_PACKET_FILL_RX_BUFFER, target), bytes([off]) + payload[off:off + 7]))
        off += 7
    while off < n:
        frames.append((eid(CAN_PACKET_FILL_RX_BUFFER_LONG, target),
                       struct.pack(">H", off) + payload[off:off + 6]))
        off += 6
    frames.append((eid(CAN_PACKET_PROCESS_RX_BUFFER, target),
                   bytes([sender, mode]) + struct.pack(">HH", n, crc16(payload))))
    return frames


class Reassembler:
    """Strict receiver of buffer transfers addressed to one id: fill frames
    must arrive in order without gaps; PROCESS checks length and CRC.
    feed() returns (sender, mode, payload) when a transfer completes, None
    otherwise; errors are counted in .errors (and the transfer dropped)."""

    def __init__(self, own_id):
        self.own_id = own_id
        self.buf = bytearray()
        self.errors = []

    def reset(self):
        self.buf = bytearray()

    def _error(self, why):
        self.errors.append(why)
        self.reset()
        return None

    def feed(self, packet_type, dest, data):
        if dest != self.own_id or packet_type not in BUFFER_TYPES:
            return None
        if packet_type == CAN_PACKET_PROCESS_SHORT_BUFFER:
            if len(data) < 3:
                return self._error("short buffer with DLC %d" % len(data))
            self.reset()
            return data[0], data[1], bytes(data[2:])
        if packet_type == CAN_PACKET_FILL_RX_BUFFER:
            if len(data) < 2:
                return self._error("fill with DLC %d" % len(data))
            off, chunk = data[0], data[1:]
        elif packet_type == CAN_PACKET_FILL_RX_BUFFER_LONG:
            if len(data) < 3:
                return self._error("long fill with DLC %d" % len(data))
            off, chunk = struct.unpack_from(">H", data)[0], data[2:]
        else:
            if len(data) != 6:
                return self._error("PROCESS with DLC %d" % len(data))
            sender, mode = data[0], data[1]
            length, crc = struct.unpack_from(">HH", data, 2)
            payload = bytes(self.buf)
            self.reset()
            if length != len(payload) or length == 0:
                return self._error("PROCESS length %d, have %d bytes" % (length, len(payload)))
            if crc16(payload) != crc:
                return self._error("CRC mismatch: got %04x want %04x" % (crc16(payload), crc))
            return sender, mode, payload
        if off == 0:
            self.reset()
        if off != len(self.buf):
            return self._error("fill at offset %d, expected %d" % (off, len(self.buf)))
        if off + len(chunk) > MAX_PAYLOAD:
            return self._error("fill past %d bytes" % MAX_PAYLOAD)
        self.buf += chunk
        return None


# ---------------------------------------------------------------- COMM (§12)
class Reader:
    """Bounded big-endian reader over a reply payload."""

    def __init__(self, data):
        self.data = bytes(data)
        self.pos = 0

    def left(self):
        return len(self.data) - self.pos

    def take(self, n):
        if self.left() < n:
            raise ProtocolError("payload too short at byte %d" % self.pos)
        v = self.data[self.pos:self.pos + n]
        self.pos += n
        return v

    def u8(self):
        return self.take(1)[0]

    def fmt(self, f):
        return struct.unpack(f, self.take(struct.calcsize(f)))[0]

    def string(self):
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise ProtocolError("unterminated string")
        s = self.data[self.pos:end].decode("ascii", errors="replace")
        self.pos = end + 1
        return s


def decode_fw_version(payload):
    """COMM_FW_VERSION reply (command byte included) -> dict.  Fields are
    read only while bytes remain (§12.1: each version appends)."""
    r = Reader(payload)
    if r.u8() != COMM_FW_VERSION:
        raise ProtocolError("not a FW_VERSION reply")
    v = {"length": len(payload), "major": r.u8(), "minor": r.u8(), "hw_name": r.string(),
         "uuid": r.take(12).hex(), "pairing_done": r.u8()}
    v["version"] = "%d.%02d" % (v["major"], v["minor"])
    optional = [("test_build", "B"), ("hw_type", "B"), ("custom_configs", "B"),
                ("phase_filters", "B"), ("qml_hw", "B"), ("qml_app", "B"), ("nrf_flags", "B")]
    for name, f in optional:
        if r.left() < 1:
            break
        v[name] = r.fmt(">" + f)
    if "nrf_flags" in v and r.left() > 0:
        v["fw_name"] = r.string()
        if r.left() >= 4:
            v["hw_conf_crc"] = r.fmt(">I")
    return v


GET_VALUES_FIELDS = [
    # name, struct format, scale (None = integer) -- §12.2, in wire order
    ("temp_fet", ">h", 1e1), ("temp_motor", ">h", 1e1),
    ("current_motor", ">i", 1e2), ("current_in", ">i", 1e2),
    ("id", ">i", 1e2), ("iq", ">i", 1e2),
    ("duty", ">h", 1e3), ("erpm", ">i", 1.0), ("v_in", ">h", 1e1),
    ("amp_hours", ">i", 1e4), ("amp_hours_charged", ">i", 1e4),
    ("watt_hours", ">i", 1e4), ("watt_hours_charged", ">i", 1e4),
    ("tachometer", ">i", None), ("tachometer_abs", ">i", None),
    ("fault", ">B", None), ("pid_pos", ">i", 1e6), ("controller_id", ">B", None),
    ("temp_mos1", ">h", 1e1), ("temp_mos2", ">h", 1e1), ("temp_mos3", ">h", 1e1),
    ("vd", ">i", 1e3), ("vq", ">i", 1e3),      # 3.60+
    ("status", ">B", None),                     # 5.03+
]


def decode_get_values(payload):
    """COMM_GET_VALUES reply (command byte included) -> dict, with
    'length' = bytes after the command byte (64, 72 or 73)."""
    r = Reader(payload)
    if r.u8() != COMM_GET_VALUES:
        raise ProtocolError("not a GET_VALUES reply")
    v = {"length": len(payload) - 1}
    for name, f, scale in GET_VALUES_FIELDS:
        if r.left() < struct.calcsize(f):
            break
        raw = r.fmt(f)
        v[name] = raw if scale is None else raw / scale
    return v


def erase_new_app(size):
    return struct.pack(">BI", COMM_ERASE_NEW_APP, size)


def write_new_app_data(offset, data):
    return struct.pack(">BI", COMM_WRITE_NEW_APP_DATA, offset) + bytes(data)


def jump_to_bootloader():
    return bytes([COMM_JUMP_TO_BOOTLOADER])


def decode_flash_ack(payload, cmd):
    """[cmd][ok] (+ u32 offset echo for writes on 5.00+) -> (ok, echo)."""
    if len(payload) < 2 or payload[0] != cmd:
        raise ProtocolError("not an ack of command %d: %s" % (cmd, payload.hex()))
    echo = _u32(payload, 2) if len(payload) >= 6 else None
    return payload[1] != 0, echo


def upload_stream(image):
    """Plain upload stream (§14.2): u32 size, u16 CRC16 of the image, image."""
    return struct.pack(">IH", len(image), crc16(image)) + bytes(image)


def upload_chunks(stream, chunk=FW_CHUNK):
    """(offset, bytes) chunks of the stream; all-0xFF chunks are skipped since
    the erased buffer already holds them (§14.5 step 6)."""
    for off in range(0, len(stream), chunk):
        piece = stream[off:off + chunk]
        if piece.count(0xFF) != len(piece):
            yield off, piece


# ---------------------------------------------------------------- transports
_CAN_FRAME = struct.Struct("=IB3x8s")


def pack_can_frame(can_id, data):
    return _CAN_FRAME.pack(can_id, len(data), bytes(data).ljust(8, b"\0"))


def unpack_can_frame(raw):
    can_id, dlc, data = _CAN_FRAME.unpack(raw)
    return can_id, data[:min(dlc, 8)]


class VbusTransport:
    """A member of a vbus hub: AF_UNIX SOCK_SEQPACKET, one 16-byte struct
    can_frame per message (docs/vbus.md)."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(path)

    def send(self, e, data):
        self.sock.send(pack_can_frame(CAN_EFF_FLAG | e, data))

    def recv(self, timeout):
        """The next frame, or None after timeout seconds."""
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not r:
            return None
        raw = self.sock.recv(64)
        if len(raw) == 0:
            raise ConnectionError("vbus hub closed the connection")
        if len(raw) != 16:
            raise ProtocolError("vbus message of %d bytes" % len(raw))
        can_id, data = unpack_can_frame(raw)
        return Frame(can_id, data, time.monotonic())

    def close(self):
        self.sock.close()


class PythonCanTransport:
    """Kernel SocketCAN through python-can."""

    def __init__(self, channel):
        import can  # Debian's python3-can
        self.can = can
        self.bus = can.interface.Bus(channel=channel, interface="socketcan")

    def send(self, e, data):
        self.bus.send(self.can.Message(arbitration_id=e, is_extended_id=True, data=bytes(data)))

    def recv(self, timeout):
        m = self.bus.recv(timeout=max(0.0, timeout))
        if m is None:
            return None
        can_id = m.arbitration_id
        if m.is_extended_id:
            can_id |= CAN_EFF_FLAG
        if m.is_remote_frame:
            can_id |= CAN_RTR_FLAG
        if m.is_error_frame:
            can_id |= CAN_ERR_FLAG
        return Frame(can_id, bytes(m.data), time.monotonic())

    def close(self):
        self.bus.shutdown()


# ---------------------------------------------------------------- client
class Client:
    """A requester on the bus with its own CAN id.  Every frame received is
    appended to .frames (so tests can inspect what else was on the bus);
    at most one buffered request is outstanding at a time (§8.3)."""

    def __init__(self, transport, own_id):
        if not 0 <= own_id <= 254:
            raise ValueError("own id must be 0..254")
        self.t = transport
        self.own_id = own_id
        self.rx = Reassembler(own_id)
        self.frames = []
        self.pongs = []          # (target frame id low byte, data, t)
        self.keep_frames = True

    def send(self, e, data):
        self.t.send(e, data)

    def poll(self, timeout):
        """Receive one frame (or none within timeout); returns the frame."""
        f = self.t.recv(timeout)
        if f is None:
            return None
        if self.keep_frames:
            self.frames.append(f)
        et = frame_eid(f)
        if et and et[0] == CAN_PACKET_PONG and et[1] == self.own_id:
            self.pongs.append((f.data, f.t))
        return f

    def wait_for(self, predicate, timeout):
        """Poll frames until predicate(frame) is true; the frame or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            f = self.poll(left)
            if f is not None and predicate(f):
                return f

    def ping(self, target, timeout):
        """PING target; the PONG's data, or None on timeout."""
        before = len(self.pongs)
        self.send(*ping_frame(target, self.own_id))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll(deadline - time.monotonic())
            for data, _ in self.pongs[before:]:
                if len(data) == 1 and data[0] == target:
                    return data
                if len(data) == 2 and data[0] == target:
                    return data
        return None

    def scan(self, per_id_timeout, ids=range(0, 255), grace=1.0):
        """PING each id one at a time (never 255, §6.2).  A late PONG still
        counts: its first byte names the responder on every version.
        Returns {id: pong data}."""
        found = {}
        for target in ids:
            if target == BROADCAST_ID:
                raise ValueError("never scan by broadcast")
            self.send(*ping_frame(target, self.own_id))
            deadline = time.monotonic() + per_id_timeout
            while time.monotonic() < deadline:
                self.poll(deadline - time.monotonic())
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            self.poll(deadline - time.monotonic())
        for data, _ in self.pongs:
            found[data[0]] = bytes(data)
        return found

    def request(self, target, payload, timeout, reply_cmd=None):
        """Send a COMM payload to target (mode 0) and wait for the reply
        whose first byte is reply_cmd (default: the request's command byte)
        from target.  Returns the reply payload; raises TimeoutError."""
        if reply_cmd is None:
            reply_cmd = payload[0]
        self.rx.reset()
        for e, data in segment(payload, target, self.own_id, MODE_PROCESS_AND_REPLY):
            self.send(e, data)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply to command %d from id %d" % (payload[0], target))
            f = self.poll(left)
            if f is None:
                continue
            et = frame_eid(f)
            if et is None:
                continue
            done = self.rx.feed(et[0], et[1], f.data)
            if done is None:
                continue
            sender, mode, reply = done
            if sender == target and mode == MODE_REPLY and reply[:1] == bytes([reply_cmd]):
                return reply

    def command_no_reply(self, target, payload):
        """Send a COMM payload with mode 2 (process, no reply)."""
        for e, data in segment(payload, target, self.own_id, MODE_PROCESS_NO_REPLY):
            self.send(e, data)

    def fw_version(self, target, timeout=2.0):
        return decode_fw_version(self.request(target, bytes([COMM_FW_VERSION]), timeout))

    def get_values(self, target, timeout=2.0):
        return decode_get_values(self.request(target, bytes([COMM_GET_VALUES]), timeout))


class BackgroundReader:
    """Keeps receiving into client.frames on a thread (a vbus member that
    does not read loses frames), while the test talks D-Bus or JSON.
    Use as a context manager; do not call client methods meanwhile."""

    def __init__(self, client):
        import threading
        self.client = client
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error = None

    def _run(self):
        try:
            while not self.stopping.is_set():
                self.client.poll(0.05)
        except Exception as e:  # reported by stop()
            self.error = e

    def __enter__(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.thread.join()
        if self.error:
            raise self.error

    def __exit__(self, *exc):
        self.stop()
        return False


def trace_requests(frames, requester):
    """Walk a frame trace and return (requests, replies, errors) of the node
    with id `requester`: requests = [(t, target, mode, payload)] it sent
    (reassembled per target), replies = [(t, replier, mode, payload)]
    addressed to it.  Frames sent by `requester` are recognised by byte 0
    of their PROCESS frames; FILL frames to a target are attributed to the
    next PROCESS frame to that target (the only way on a shared bus)."""
    requests, replies = [], []
    errors = []
    to_req = Reassembler(requester)
    pending = {}   # target -> Reassembler collecting fills to it
    for f in frames:
        et = frame_eid(f)
        if et is None or et[0] not in BUFFER_TYPES:
            continue
        t, dest = et
        if dest == requester:
            done = to_req.feed(t, dest, f.data)
            if done:
                replies.append((f.t, done[0], done[1], done[2]))
            continue
        r = pending.setdefault(dest, Reassembler(dest))
        had = len(r.errors)
        done = r.feed(t, dest, f.data)
        if done and done[0] == requester:
            requests.append((f.t, dest, done[1], done[2]))
        elif len(r.errors) > had and f.data[:1] == bytes([requester]):
            errors.append("request to %d: %s" % (dest, r.errors[-1]))
    errors.extend("reply: " + e for e in to_req.errors)
    return requests, replies, errors
