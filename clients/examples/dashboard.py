#!/usr/bin/python3
"""Minimal vescd dashboard: print the greeting, watch every controller's telemetry
and print one line per sample.  Python standard library only (socket + json).

    dashboard.py [--socket PATH] [--rate HZ] [--count N] [--fields a,b,...]

--count stops after N samples (0 = run until interrupted).  The protocol is
described in docs/json-protocol.md.
"""

import argparse
import json
import socket
import sys

DEFAULT_SOCKET = "/run/vescd/vescd.sock"


class Connection:
    """One newline-delimited JSON-RPC 2.0 connection to vescd."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", default=DEFAULT_SOCKET)
    parser.add_argument("--rate", type=float, default=5.0, help="samples per second per controller")
    parser.add_argument("--count", type=int, default=0, help="stop after N samples (0: never)")
    parser.add_argument("--fields", default="erpm,duty_cycle,current_motor,voltage_in,temp_fet")
    args = parser.parse_args()

    conn = Connection(args.socket)
    hello = conn.receive()
    if not hello or hello.get("method") != "hello":
        sys.exit("unexpected greeting: %r" % (hello,))
    p = hello["params"]
    print("vescd %s, protocol %s%s" % (p["version"], p["protocol"], ", admin" if p.get("admin") else ""))

    for ctl in conn.call("controllers.list")["controllers"]:
        print("controller %s id %s: %s firmware %s" % (ctl["uuid"], ctl["id"], ctl["hw_name"],
                                                       ctl["firmware_version"]))
    board = conn.call("board.get")
    if board.get("mismatch"):
        for reason in board.get("mismatch_reasons", []):
            print("mismatch: " + reason)

    fields = [f for f in args.fields.split(",") if f]
    conn.call("telemetry.watch", rate_hz=args.rate, fields=fields)

    samples = 0
    while args.count == 0 or samples < args.count:
        msg = conn.receive()
        if msg is None:
            sys.exit("vescd closed the connection")
        if msg.get("method") != "telemetry":
            continue
        s = msg["params"]
        values = " ".join("%s=%s" % (k, s["values"][k]) for k in fields if k in s["values"])
        print("%.3f %s id %d %s" % (s["time_usec"] / 1e6, s["uuid"], s["id"], values), flush=True)
        samples += 1


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
