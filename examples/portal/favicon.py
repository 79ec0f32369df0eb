"""The demo's favicon, drawn here (nothing downloaded): a 32×32 icon, an ID card on the blue
of the site header, as an ICO file holding one PNG image."""

from __future__ import annotations

import functools
import struct
import zlib

SIZE = 32
BLUE = (31, 78, 140, 255)
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)


def _pixel(x: int, y: int) -> tuple[int, int, int, int]:
    # A rounded square (corner radius 6) ...
    cx, cy = min(max(x, 6), SIZE - 7), min(max(y, 6), SIZE - 7)
    if (x - cx) ** 2 + (y - cy) ** 2 > 36:
        return CLEAR
    # ... holding a white card with a photo (a circle) and two lines of text.
    if not (5 <= x <= 26 and 9 <= y <= 22):
        return BLUE
    if (x - 10.5) ** 2 + (y - 15.5) ** 2 <= 9 or (15 <= x <= 23 and y in (13, 14, 17, 18)):
        return BLUE
    return WHITE


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + b"".join(bytes(_pixel(x, y)) for x in range(SIZE)) for y in range(SIZE))
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


@functools.cache
def favicon_ico() -> bytes:
    """The icon as an ICO file (one 32×32 PNG image in it)."""
    png = _png()
    directory = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(png), 6 + 16)
    return directory + entry + png
