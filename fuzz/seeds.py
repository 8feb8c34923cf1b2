#!/usr/bin/python3
# Seeds for fuzz_probe that reach the metadata parsers the test photos alone
# reach rarely: an XMP packet, a PNG with EXIF in a compressed "Raw profile
# type exif" chunk and XMP in iTXt, an eXIf chunk after the image data, and a
# TIFF whose IFDs follow its pixels (LibRaw's whole-file walk).
# Usage: fuzz/seeds.py OUT_DIR [JPEG_WITH_EXIF]
import binascii
import os
import struct
import subprocess
import sys
import zlib

out = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
XMP = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
       b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
       b' xmp:CreateDate="2018-01-02T03:04">'
       b'<exif:DateTimeOriginal>2019-11-12T11:10:24.187+01:00</exif:DateTimeOriginal>'
       b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))


def png(extra_before, extra_after):
    raw = b''.join(b'\0' + bytes(8 * 3) for _ in range(8))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 8, 8, 8, 2, 0, 0, 0))
            + extra_before + chunk(b'IDAT', zlib.compress(raw)) + extra_after + chunk(b'IEND', b''))


def exif_of(jpeg):
    d = open(jpeg, 'rb').read()
    i = 2
    while i + 4 <= len(d) and d[i] == 0xff:
        n = struct.unpack('>H', d[i + 2:i + 4])[0]
        if d[i + 1] == 0xe1 and d[i + 4:i + 10] == b'Exif\0\0':
            return d[i + 4:i + 2 + n]
        i += 2 + n
    return None


os.makedirs(out, exist_ok=True)
open(os.path.join(out, 'seed-xmp.xml'), 'wb').write(XMP)
itxt = chunk(b'iTXt', b'XML:com.adobe.xmp\0\0\0\0\0' + XMP)
exif = exif_of(sys.argv[2]) if len(sys.argv) > 2 else None
if exif:
    exif = exif[:4096]
    hexed = binascii.hexlify(exif).decode()
    text = '\nexif\n%8d\n' % len(exif) + '\n'.join(hexed[i:i + 72] for i in range(0, len(hexed), 72)) + '\n'
    ztxt = chunk(b'zTXt', b'Raw profile type exif\0\0' + zlib.compress(text.encode()))
    open(os.path.join(out, 'seed-profile.png'), 'wb').write(png(itxt, ztxt))
    open(os.path.join(out, 'seed-exif-after-idat.png'), 'wb').write(png(b'', chunk(b'eXIf', exif[6:])))
else:
    open(os.path.join(out, 'seed-xmp.png'), 'wb').write(png(itxt, b''))
# A text chunk that claims 1 GiB in a short file (libpng would allocate it; png.c refuses).
claims = struct.pack('>I', 0x400001cb) + itxt[4:]
open(os.path.join(out, 'seed-chunk-past-end.png'), 'wb').write(png(claims, b'')[:len(itxt) + 33])
subprocess.run(['/usr/bin/python3', os.path.join(here, '..', 'tests', 'e2e', 'make-tail-exif-tiff.py'),
                os.path.join(out, 'seed-tail-exif.tif'), '16', '16'], check=True)
