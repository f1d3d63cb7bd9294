#!/usr/bin/env python3
"""Writes the small reader fixtures in ZImage.Engine.Tests/Fixtures/png/ with the standard library only, so the C#
reader is tested against PNGs it did not write. Pixel values follow formulas the tests recompute:
  value(x, y, channel) = (x * 37 + y * 11 + channel * 71) % 256, alpha = (x * 13 + y * 29) % 256,
  palette entry i = (i * 3 % 256, i * 5 % 256, i * 7 % 256), index(x, y) = (x + 2 * y) % 16.
Row y uses filter y % 5, so every filter type is exercised.

usage: make_fixtures.py OUT_DIR
"""
import os
import struct
import sys
import zlib

W, H = 7, 6


def chunk(ctype, body):
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body) & 0xFFFFFFFF)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filtered(rows, bpp):
    out, prev = bytearray(), bytearray(len(rows[0]))
    for y, row in enumerate(rows):
        f = y % 5
        out.append(f)
        for i, v in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            out.append((v - (0, a, b, (a + b) >> 1, paeth(a, b, c))[f]) & 0xFF)
        prev = row
    return bytes(out)


def value(x, y, ch):
    return (x * 37 + y * 11 + ch * 71) % 256


def alpha(x, y):
    return (x * 13 + y * 29) % 256


def png(color, rows, bpp, extra=b"", depth=8, interlace=0):
    ihdr = struct.pack(">IIBBBBB", W, H, depth, color, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra
            + chunk(b"IDAT", zlib.compress(filtered(rows, bpp), 9)) + chunk(b"IEND", b""))


def main(out):
    os.makedirs(out, exist_ok=True)
    rgb = [bytearray(v for x in range(W) for v in (value(x, y, 0), value(x, y, 1), value(x, y, 2))) for y in range(H)]
    rgba = [bytearray(v for x in range(W) for v in (value(x, y, 0), value(x, y, 1), value(x, y, 2), alpha(x, y))) for y in range(H)]
    gray = [bytearray(value(x, y, 0) for x in range(W)) for y in range(H)]
    gray_alpha = [bytearray(v for x in range(W) for v in (value(x, y, 0), alpha(x, y))) for y in range(H)]
    indexed = [bytearray((x + 2 * y) % 16 for x in range(W)) for y in range(H)]
    palette = bytes(v for i in range(16) for v in (i * 3 % 256, i * 5 % 256, i * 7 % 256))

    a1111 = ("a castle on a hill, 雪\nNegative prompt: blurry\n"
             "Steps: 20, Sampler: DPM++ 2M, CFG scale: 7, Seed: 1234, Size: 7x6, Model: sdxl")
    text = (chunk(b"tEXt", b"Software\0make_fixtures.py")
            + chunk(b"iTXt", b"parameters\0\0\0\0\0" + a1111.encode("utf-8"))
            + chunk(b"zTXt", b"Comment\0\0" + zlib.compress("zipped latin-1: caf\xe9".encode("latin-1")))
            + chunk(b"iTXt", b"Title\0\1\0en\0Title\0" + zlib.compress("compressed UTF-8: 猫".encode("utf-8"))))

    files = {
        "rgb-text.png": png(2, rgb, 3, text),
        "rgba.png": png(6, rgba, 4),
        "gray.png": png(0, gray, 1),
        "gray-alpha.png": png(4, gray_alpha, 2),
        "palette.png": png(3, indexed, 1, chunk(b"PLTE", palette)),
        "rgb-16bit.png": png(2, [bytearray(2 * len(r)) for r in rgb], 6, depth=16),
        "rgb-interlaced.png": png(2, rgb, 3, interlace=1),
    }
    for name, content in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(content)
        print(name, len(content), "bytes")


if __name__ == "__main__":
    main(sys.argv[1])
