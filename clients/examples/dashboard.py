#!/usr/bin/python3
"""Minimal vescd dashboard: print the greeting, watch every controller's telemetry
and print one line per sample with the local wall-clock time and units; a line
whenever a controller goes offline or comes back, or the board changes.  Python
standard library only (socket + json).

    dashboard.py [--socket PATH] [--rate HZ] [--count N] [--fields a,b,...]

--count stops after N samples (0 = run until interrupted).  The protocol is
described in docs/json-protocol.md.
"""

import argparse
import json
import socket
import sys
import time

DEFAULT_SOCKET = "/run/vescd/vescd.sock"


class Connection:
    """One newline-delimited JSON-RPC 2.0 connection to vescd."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.connect(path)
        except FileNotFoundError:
            sys.exit("dashboard: %s does not exist: is vescd running? (systemctl status vescd; "
                     "or give its JSON socket with --socket PATH)" % path)
        except ConnectionRefusedError:
            sys.exit("dashboard: nothing answers on %s: vescd is not running (systemctl start vescd)" % path)
        except PermissionError:
            sys.exit("dashboard: permission denied on %s: ask for vescd's group, or use the read-only "
                     "TCP listener" % path)
        self.reader = self.sock.makefile("r", encoding="utf-8", newline="\n")
        self.next_id = 1
        self.backlog = []  # notifications that arrived while waiting for a reply

    def receive(self):
        """Next message from vescd (a dict), or None when the daemon hung up."""
        if self.backlog:
            return self.backlog.pop(0)
        line = self.reader.readline()
        if not line:
            return None
        return json.loads(line)

    def call(self, method, **params):
        """Send a request and wait for its response; raise on an error response."""
        request_id = self.next_id
        self.next_id += 1
        request = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            line = self.reader.readline()
            if not line:
                raise ConnectionError("vescd closed the connection")
            msg = json.loads(line)
            if msg.get("id") != request_id:
                self.backlog.append(msg)
                continue
            if "error" in msg:
                err = msg["error"]
                raise RuntimeError("%s: %s (%d) %s" % (method, err["message"], err["code"],
                                                       err.get("data", {}).get("detail", "")))
            return msg["result"]


# name -> (label, scale, format, unit)
UNITS = {
    "erpm": ("erpm", 1, "%.0f", ""),
    "duty_cycle": ("duty", 100, "%.1f", "%"),
    "current_motor": ("motor", 1, "%.2f", " A"),
    "current_in": ("battery", 1, "%.2f", " A"),
    "voltage_in": ("voltage", 1, "%.2f", " V"),
    "temp_fet": ("fet", 1, "%.1f", " °C"),
    "temp_motor": ("motor_temp", 1, "%.1f", " °C"),
    "amp_hours": ("used", 1, "%.3f", " Ah"),
    "watt_hours": ("used", 1, "%.2f", " Wh"),
    "tachometer": ("tacho", 1, "%d", " steps"),
}


def wall(usec=None):
    """Local wall-clock time with milliseconds (vescd's wall_time_usec if given)."""
    t = usec / 1e6 if usec else time.time()
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) + ".%03d" % (int(t * 1000) % 1000)


def show(name, value):
    label, scale, fmt, unit = UNITS.get(name, (name, 1, "%s", ""))
    try:
        text = fmt % (value * scale)
    except TypeError:
        text = str(value)
    return "%s=%s%s" % (label, text, unit)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", default=DEFAULT_SOCKET)
    parser.add_argument("--rate", type=float, default=5.0, help="samples per second per controller")
    parser.add_argument("--count", type=int, default=0, help="stop after N samples (0: never)")
    parser.add_argument("--fields", default="erpm,duty_cycle,current_motor,current_in,voltage_in,temp_fet")
    args = parser.parse_args()

    conn = Connection(args.socket)
    hello = conn.receive()
    if not hello or hello.get("method") != "hello":
        sys.exit("unexpected greeting: %r" % (hello,))
    p = hello["params"]
    print("vescd %s, protocol %s%s" % (p["version"], p["protocol"], ", admin" if p.get("admin") else ""))

    online = {}
    for ctl in conn.call("controllers.list")["controllers"]:
        online[ctl["uuid"]] = ctl.get("online")
        print("controller %s id %s: hw %s firmware %s, %s" % (ctl["uuid"], ctl["id"], ctl["hw_name"],
                                                           ctl["firmware_version"],
                                                           "online" if ctl.get("online") else "OFFLINE"))
    board = conn.call("board.get")
    for reason in board.get("mismatch_reasons", []) if board.get("mismatch") else []:
        print("mismatch: " + reason)

    fields = [f for f in args.fields.split(",") if f]
    conn.call("telemetry.watch", rate_hz=args.rate, fields=fields)

    samples = 0
    while args.count == 0 or samples < args.count:
        msg = conn.receive()
        if msg is None:
            sys.exit("dashboard: vescd closed the connection (stopped or restarted?)")
        method, s = msg.get("method"), msg.get("params", {})
        if method == "controller.changed" and online.get(s.get("uuid")) != s.get("online"):
            online[s.get("uuid")] = s.get("online")
            print("%s %s id %s %s" % (wall(), s.get("uuid"), s.get("id"), "online" if s.get("online") else "OFFLINE"),
                  flush=True)
        elif method == "board.changed":
            state = s.get("board_state") or ("mismatch" if s.get("mismatch") else "consistent")
            print("%s board %s%s" % (wall(), state, "".join("; " + r for r in s.get("board_state_reasons", []))),
                  flush=True)
        elif method == "telemetry":
            values = " ".join(show(k, s["values"][k]) for k in fields if k in s["values"])
            print("%s %s id %d %s" % (wall(s.get("wall_time_usec")), s["uuid"], s["id"], values), flush=True)
            samples += 1


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
