"""Reading a PNG with the standard library alone (zlib): its size and its pixels, to check that
a screenshot is what it should be. 8-bit RGB and RGBA, not interlaced: what browsers write."""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {2: 3, 6: 4}  # colour type: RGB, RGBA


def chunks(data: bytes):
    """(type, body) of each chunk, checking each one's CRC."""
    assert data[:8] == SIGNATURE, "not a PNG file"
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in chunk {kind!r}"
        yield kind.decode("ascii"), body
        at += 12 + length


def read(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, channels, rows of pixel bytes) of a PNG."""
    header = None
    compressed = bytearray()
    for kind, body in chunks(data):
        if kind == "IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == "IDAT":
            compressed += body
        elif kind == "IEND":
            break
    assert header is not None, "no IHDR chunk"
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in CHANNELS and interlace == 0, f"unexpected PNG kind {header}"
    channels = CHANNELS[colour]
    raw = zlib.decompress(bytes(compressed))
    stride = width * channels
    assert len(raw) == height * (stride + 1), "the pixel data does not fit the size"
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        rows.append(previous := _unfilter(raw[start], raw[start + 1:start + 1 + stride],
                                          previous, channels))
    return width, height, channels, rows


def _unfilter(kind: int, line: bytes, up: bytes, bpp: int) -> bytes:
    if kind == 0:
        return line
    if kind == 2:
        return bytes((a + b) & 0xFF for a, b in zip(line, up))
    out = bytearray(line)
    if kind == 1:
        for i in range(bpp, len(out)):
            out[i] = (out[i] + out[i - bpp]) & 0xFF
    elif kind == 3:
        for i in range(len(out)):
            left = out[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + ((left + up[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(len(out)):
            a = out[i - bpp] if i >= bpp else 0
            b = up[i]
            c = up[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            out[i] = (out[i] + predictor) & 0xFF
    else:
        raise AssertionError(f"unknown PNG filter {kind}")
    return bytes(out)


def pixels(rows: list[bytes], channels: int) -> list[tuple[int, ...]]:
    """Every pixel as a tuple of its channels."""
    return [tuple(row[i:i + channels]) for row in rows for i in range(0, len(row), channels)]
