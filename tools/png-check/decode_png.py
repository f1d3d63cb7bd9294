#!/usr/bin/env python3
"""An independent PNG reader (standard library only: zlib, struct) used by the engine tests to check that the
PNGs our C# codec writes are ordinary PNGs. Verifies every chunk CRC with zlib.crc32, inflates IDAT, undoes
filters 0-4 and writes the 8-bit RGB pixels raw to OUT_RGB; prints a JSON line with the size and text chunks.

usage: decode_png.py IN.png OUT_RGB
"""
import json
import struct
import sys
import zlib


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def main(path, out_path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("bad signature")
    pos, idat, texts, header = 8, b"", [], None
    while True:
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(ctype + body) & 0xFFFFFFFF != crc:
            sys.exit(f"CRC mismatch in {ctype!r}")
        pos += 12 + length
        if ctype == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat += body
        elif ctype == b"tEXt":
            k, v = body.split(b"\0", 1)
            texts.append([k.decode("latin-1"), v.decode("latin-1")])
        elif ctype == b"iTXt":
            k, rest = body.split(b"\0", 1)
            flag, _method, rest = rest[0], rest[1], rest[2:]
            _lang, _tk, v = rest.split(b"\0", 2)
            texts.append([k.decode("latin-1"), (zlib.decompress(v) if flag else v).decode("utf-8")])
        elif ctype == b"IEND":
            break
    width, height, depth, color, _c, _f, interlace = header
    if (depth, color, interlace) != (8, 2, 0):
        sys.exit(f"expected 8-bit RGB non-interlaced, got depth {depth} colour {color} interlace {interlace}")
    raw = zlib.decompress(idat)
    stride, bpp = width * 3, 3
    prev = bytearray(stride)
    out = bytearray()
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = (0, a, b, (a + b) >> 1, paeth(a, b, c))[f]
            line[i] = (line[i] + pred) & 0xFF
        out += line
        prev = line
    open(out_path, "wb").write(out)
    print(json.dumps({"width": width, "height": height, "text": texts}, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
