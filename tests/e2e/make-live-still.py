#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A Live Photo's still, for the tests: IN.jpg's pixels with an EXIF block that says
Make "Apple", a DateTimeOriginal, and an Apple maker note holding a content
identifier (tag 0x0011, offsets from the maker note's start, as iPhones write it).
ExifTool of Debian 12 cannot write that tag, hence this script.

Usage: make-live-still.py IN.jpg OUT.jpg CONTENT_ID "YYYY:MM:DD HH:MM:SS"
"""
import struct
import sys


def ifd(entries, base, tail):
    """An IFD at offset `base`: entries (tag, type, count, bytes), values over four
    bytes placed after it. Returns the IFD and its data area."""
    head = struct.pack(">H", len(entries))
    data = b""
    data_at = base + 2 + 12 * len(entries) + 4
    for tag, typ, count, value in entries:
        if len(value) <= 4:
            head += struct.pack(">HHI", tag, typ, count) + value.ljust(4, b"\0")
        else:
            head += struct.pack(">HHII", tag, typ, count, data_at + len(data))
            data += value + (b"\0" if len(value) % 2 else b"")
    return head + struct.pack(">I", tail) + data


def maker_note(content_id):
    cid = content_id.encode() + b"\0"
    prefix = b"Apple iOS\0" + b"\0\x01" + b"MM"
    entries = [(0x0001, 9, 1, struct.pack(">i", 12)), (0x0011, 2, len(cid), cid)]
    return prefix + ifd(entries, len(prefix), 0)


def exif(content_id, when):
    make = b"Apple\0"
    date = when.encode() + b"\0"
    note = maker_note(content_id)
    ifd0_len = 2 + 12 * 2 + 4 + len(make) + (len(make) % 2)
    exif_at = 8 + ifd0_len
    ifd0 = ifd([(0x010F, 2, len(make), make), (0x8769, 4, 1, struct.pack(">I", exif_at))], 8, 0)
    assert len(ifd0) == ifd0_len
    sub = ifd([(0x9003, 2, len(date), date), (0x927C, 7, len(note), note)], exif_at, 0)
    return b"Exif\0\0" + b"MM\0\x2a" + struct.pack(">I", 8) + ifd0 + sub


def main():
    src, dst, content_id, when = sys.argv[1:5]
    data = open(src, "rb").read()
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    # Keep every segment but APP1 (EXIF/XMP): ours replaces the EXIF.
    out, at = bytearray(data[:2]), 2
    while at + 4 <= len(data) and data[at] == 0xFF and data[at + 1] not in (0xDA, 0xD9):
        seg_len = struct.unpack(">H", data[at + 2:at + 4])[0]
        if data[at + 1] != 0xE1:
            out += data[at:at + 2 + seg_len]
        at += 2 + seg_len
    block = exif(content_id, when)
    app1 = b"\xff\xe1" + struct.pack(">H", len(block) + 2) + block
    out[2:2] = app1
    out += data[at:]
    open(dst, "wb").write(bytes(out))


if __name__ == "__main__":
    main()
