#!/usr/bin/env python3
# Latency probe for /boot.ipxe (tools/bench/policy-bench.sh):
#
#   script_probe.py HOST PORT MACS CONNECTIONS SECONDS
#
# keeps CONNECTIONS keep-alive connections busy, one request in flight
# each, and times every response from its request's send.  Prints
# "COUNT P50_US P99_US MAX_US".  wrk 4.1's own latency figures with a
# request() script are not consistent with its request rate, hence this;
# the boot storm (a new connection per machine) is script_storm.c's.
import random
import selectors
import socket
import sys
import time


def request(macs):
    mac = random.choice(macs)
    return (f"GET /boot.ipxe?mac={mac}&uuid=&arch=x86_64&platform=efi HTTP/1.1\r\n"
            "Host: bsdpd\r\n\r\n").encode()


def complete(buf):
    """Whether buf holds a whole response (bsdpd sends Content-Length)."""
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def main():
    host, port, macs_file, conns, seconds = sys.argv[1:6]
    macs = [line.strip() for line in open(macs_file)]
    sel = selectors.DefaultSelector()
    lat = []
    for _ in range(int(conns)):
        s = socket.create_connection((host, int(port)))
        s.setblocking(False)
        st = {"t": time.perf_counter(), "buf": b""}
        sel.register(s, selectors.EVENT_READ, st)
        s.sendall(request(macs))
    end = time.perf_counter() + float(seconds)
    while time.perf_counter() < end:
        for key, _ in sel.select(1):
            s, st = key.fileobj, key.data
            st["buf"] += s.recv(65536)
            if complete(st["buf"]):
                lat.append(time.perf_counter() - st["t"])
                st["t"], st["buf"] = time.perf_counter(), b""
                s.sendall(request(macs))
    lat.sort()
    if not lat:
        print("0 0 0 0")
        return

    def q(f):
        return lat[min(len(lat) - 1, int(len(lat) * f))] * 1e6
    print(f"{len(lat)} {q(0.5):.0f} {q(0.99):.0f} {lat[-1] * 1e6:.0f}")


main()
