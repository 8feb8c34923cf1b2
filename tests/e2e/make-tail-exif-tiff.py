#!/usr/bin/python3
# Test fixture: an RGB TIFF of W x H whose IFD0, EXIF and GPS directories all
# come after the pixel data, as editors write them when they append metadata.
# Usage: make-tail-exif-tiff.py OUT W H
import struct
import sys

out, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pixels = bytes([90, 120, 200]) * (w * h)
SHORT, LONG, ASCII, RATIONAL = 3, 4, 2, 5


def ifd(entries, at):
    """entries: [(tag, type, count, payload bytes)] -> (bytes of the IFD and its data, size)."""
    entries = sorted(entries)
    head = struct.pack('<H', len(entries))
    data_at = at + 2 + 12 * len(entries) + 4
    data = b''
    for tag, typ, count, payload in entries:
        if len(payload) <= 4:
            head += struct.pack('<HHI', tag, typ, count) + payload.ljust(4, b'\0')
        else:
            head += struct.pack('<HHII', tag, typ, count, data_at + len(data))
            data += payload + (b'\0' if len(payload) % 2 else b'')
    return head + struct.pack('<I', 0) + data


def asc(s):
    b = s.encode() + b'\0'
    return (ASCII, len(b), b)


def rat(*vals):
    return (RATIONAL, len(vals), b''.join(struct.pack('<II', n, d) for n, d in vals))


pix_at = 8
ifd0_at = pix_at + len(pixels)
# The sub-directories go after IFD0; their offsets are fixed up in two passes.
gps_entries = [(1, ASCII, 2, b'N\0'), (2,) + rat((48, 1), (30, 1), (0, 1)),
               (3, ASCII, 2, b'W\0'), (4,) + rat((2, 1), (15, 1), (0, 1))]
exif_entries = [(0x829a,) + rat((1, 250)), (0x829d,) + rat((56, 10)), (0x8827, SHORT, 1, struct.pack('<H', 200)),
                (0x9003,) + asc('2012:03:04 05:06:07'), (0x9011,) + asc('+02:00'), (0x9291,) + asc('25')]
base = [(256, LONG, 1, struct.pack('<I', w)), (257, LONG, 1, struct.pack('<I', h)),
        (258, SHORT, 3, struct.pack('<HHH', 8, 8, 8)), (259, SHORT, 1, struct.pack('<H', 1)),
        (262, SHORT, 1, struct.pack('<H', 2)), (273, LONG, 1, struct.pack('<I', pix_at)),
        (277, SHORT, 1, struct.pack('<H', 3)), (278, LONG, 1, struct.pack('<I', h)),
        (279, LONG, 1, struct.pack('<I', len(pixels))),
        (0x010f,) + asc('NIKON'), (0x0110,) + asc('D7000'), (0x0132,) + asc('2024:01:01 00:00:00')]
exif_at = gps_at = 0
for _ in range(2):
    ifd0 = ifd(base + [(0x8769, LONG, 1, struct.pack('<I', exif_at)), (0x8825, LONG, 1, struct.pack('<I', gps_at))], ifd0_at)
    exif_at = ifd0_at + len(ifd0)
    exif = ifd(exif_entries, exif_at)
    gps_at = exif_at + len(exif)
gps = ifd(gps_entries, gps_at)
with open(out, 'wb') as f:
    f.write(b'II*\0' + struct.pack('<I', ifd0_at) + pixels + ifd0 + exif + gps)
