#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the hostile NBImageInfo.plist seeds of tests/corpus/fuzz_nbimage/
(and, with --depth N, a deep binary plist anywhere: `--depth 100000 -o
deep.plist` makes the ~800 KB file that crashed libplist 2.2).

  deep-binary  a dict whose "Name" holds 40 nested arrays (limit: 32)
  deep-xml     the same in XML
  ref-cycle    an array whose only element is itself
  dag-blowup   24 levels of a 2-element array holding the level below twice:
               25 objects, 2^25 visits for a tree walker
"""
import argparse
import struct


def bplist(objects, top=0):
    """objects: list of encoded object bodies (bytes); refs are 1 byte wide
    when fewer than 256 objects, else 4."""
    out = bytearray(b"bplist00")
    offsets = []
    for body in objects:
        offsets.append(len(out))
        out += body
    table = len(out)
    osize = 4
    for off in offsets:
        out += struct.pack(">I", off)
    out += bytes(6) + bytes([osize, refsize(len(objects))])
    out += struct.pack(">QQQ", len(objects), top, table)
    return bytes(out)


def refsize(n):
    return 1 if n < 256 else 4


def ref(i, n):
    return struct.pack(">B" if refsize(n) == 1 else ">I", i)


def array(refs, n):
    head = bytes([0xA0 | len(refs)]) if len(refs) < 15 else \
        bytes([0xAF, 0x12]) + struct.pack(">I", len(refs))
    return head + b"".join(ref(r, n) for r in refs)


def deep_binary(depth):
    # 0: dict {1: "Name" -> 2: array -> 3: array ... -> depth+1: empty array}
    n = depth + 2
    objs = [bytes([0xD1]) + ref(1, n) + ref(2, n), bytes([0x54]) + b"Name"]
    for level in range(depth):
        last = level == depth - 1
        objs.append(array([] if last else [3 + level], n))
    return bplist(objs)


def ref_cycle():
    return bplist([array([0], 1)])


def dag_blowup(levels):
    n = levels + 1
    objs = [array([i + 1, i + 1], n) for i in range(levels)]
    objs.append(bytes([0x10, 0x01]))      # the integer 1 at the bottom
    return bplist(objs)


def deep_xml(depth):
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n'
            b"<dict><key>Name</key>" + b"<array>" * depth + b"</array>" * depth +
            b"</dict></plist>\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int)
    ap.add_argument("-o", "--output")
    ap.add_argument("--dir", default="tests/corpus/fuzz_nbimage")
    a = ap.parse_args()
    if a.depth:
        with open(a.output, "wb") as f:
            f.write(deep_binary(a.depth))
        return
    seeds = {"deep-binary": deep_binary(40), "deep-xml": deep_xml(40),
             "ref-cycle": ref_cycle(), "dag-blowup": dag_blowup(24)}
    for name, data in seeds.items():
        with open(f"{a.dir}/{name}", "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
