"""Decoding CSV bytes as Windows and Excel write them, per line where a file mixes encodings.

UTF-8 (with or without BOM) and UTF-16 (``Out-File``, by BOM or by its NUL bytes) are decoded as a whole. A file
with no valid UTF-8 beyond ASCII is Windows-1252 throughout (Excel's "CSV" in Western locales). A UTF-8 file with
some lines that are not valid UTF-8 (a line pasted from, or re-saved by, a Windows-1252 editor) keeps UTF-8 for
every other line: only those lines are read as Windows-1252, and their numbers are returned so they can be named.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Decoded", "decode"]


@dataclasses.dataclass(frozen=True)
class Decoded:
    """Text, the encoding it was read with (a Python codec name), and the 1-based lines read as Windows-1252."""

    text: str
    encoding: str
    cp1252_lines: tuple[int, ...] = ()


def decode(data: bytes) -> Decoded:
    """Decode a CSV file's bytes (see the module docstring); never raises."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Decoded(data.decode("utf-16", errors="replace"), "utf-16-le" if data[:1] == b"\xff" else "utf-16-be")
    head = data[:2000]
    if head.count(b"\x00") > len(head) // 4:
        little = head[1::2].count(b"\x00") >= head[0::2].count(b"\x00")
        encoding = "utf-16-le" if little else "utf-16-be"
        return Decoded(data.decode(encoding, errors="replace"), encoding)
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    try:
        return Decoded(body.decode("utf-8"), "utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError:
        pass
    lines = body.splitlines(keepends=True)
    utf8_seen = bom
    foreign: list[int] = []
    parts: list[str] = []
    for number, line in enumerate(lines, start=1):
        try:
            text = line.decode("utf-8")
            utf8_seen = utf8_seen or not line.isascii()
        except UnicodeDecodeError:
            text = line.decode("cp1252", errors="replace")
            foreign.append(number)
        parts.append(text)
    if not utf8_seen:  # nothing says UTF-8: the whole file is Windows-1252
        return Decoded(body.decode("cp1252", errors="replace"), "cp1252")
    return Decoded("".join(parts), "utf-8-sig" if bom else "utf-8", tuple(foreign))
