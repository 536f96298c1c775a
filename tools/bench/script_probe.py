#!/usr/bin/env python3
# Latency probe for /boot.ipxe (tools/bench/policy-bench.sh).  Two ways to
# load the server, both timing every response:
#
#   script_probe.py closed HOST PORT MACS CONNECTIONS SECONDS
#       CONNECTIONS keep-alive connections, one request in flight each:
#       a response's latency is from its request's send.
#   script_probe.py open HOST PORT MACS RATE COUNT
#       a boot storm: COUNT machines, each on a connection of its own as
#       a booting iPXE opens one, arriving at RATE per second on a fixed
#       schedule.  Latency runs from the arrival time on the schedule, so
#       a server (or a probe) that falls behind is charged for the wait
#       (no coordinated omission).
#
# Prints "COUNT P50_US P99_US MAX_US ERRORS".  wrk 4.1's own latency
# figures with a request() script are not consistent with its request
# rate, hence this.
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


def closed(host, port, macs, conns, seconds):
    sel = selectors.DefaultSelector()
    lat = []
    for _ in range(conns):
        s = socket.create_connection((host, port))
        s.setblocking(False)
        st = {"t": time.perf_counter(), "buf": b""}
        sel.register(s, selectors.EVENT_READ, st)
        s.sendall(request(macs))
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for key, _ in sel.select(1):
            s, st = key.fileobj, key.data
            st["buf"] += s.recv(65536)
            if complete(st["buf"]):
                lat.append(time.perf_counter() - st["t"])
                st["t"], st["buf"] = time.perf_counter(), b""
                s.sendall(request(macs))
    return lat, 0


def open_loop(host, port, macs, rate, count):
    sel = selectors.DefaultSelector()
    lat, errors, done, started = [], 0, 0, 0
    t0 = time.perf_counter() + 0.05
    deadline = t0 + count / rate + 30  # bounded: a lost reply ends the run
    while done < count and time.perf_counter() < deadline:
        now = time.perf_counter()
        while started < count and t0 + started / rate <= now:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((host, port))
            st = {"due": t0 + started / rate, "buf": b"", "sent": False}
            sel.register(s, selectors.EVENT_WRITE, st)
            started += 1
        wait = max(0.0, t0 + started / rate - time.perf_counter()) if started < count else 1
        for key, ev in sel.select(min(wait, 1)):
            s, st = key.fileobj, key.data
            try:
                if not st["sent"]:
                    s.sendall(request(macs))
                    st["sent"] = True
                    sel.modify(s, selectors.EVENT_READ, st)
                    continue
                chunk = s.recv(65536)
            except OSError:
                chunk = b""
            st["buf"] += chunk
            if complete(st["buf"]) or not chunk:
                if chunk and st["buf"].startswith(b"HTTP/1.1 200"):
                    lat.append(time.perf_counter() - st["due"])
                else:
                    errors += 1
                sel.unregister(s)
                s.close()
                done += 1
    return lat, errors + (count - done)


def main():
    mode, host, port, macs_file, a, b = sys.argv[1:7]
    macs = [line.strip() for line in open(macs_file)]
    if mode == "closed":
        lat, errors = closed(host, int(port), macs, int(a), float(b))
    else:
        lat, errors = open_loop(host, int(port), macs, float(a), int(b))
    lat.sort()
    if not lat:
        print(f"0 0 0 0 {errors}")
        return

    def q(f):
        return lat[min(len(lat) - 1, int(len(lat) * f))] * 1e6
    print(f"{len(lat)} {q(0.5):.0f} {q(0.99):.0f} {lat[-1] * 1e6:.0f} {errors}")


main()
