"""Where each table and key of a TOML text starts, so every problem in mailflow.toml can name its line.

``tomllib`` gives no line numbers for values; ``LineIndex`` scans the text itself: table headers (``[onprem]``,
``[[online.inbound_connector]]``, counted per path) and ``Key =`` lines inside them, skipping the lines of a
multi-line array value.
"""

from __future__ import annotations

import re

__all__ = ["LineIndex"]


class LineIndex:
    """Where each table and key of a TOML text starts (1-based lines)."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.tables: dict[tuple[str, int], int] = {}
        self.keys: dict[tuple[str, int], dict[str, int]] = {("", 0): {}}
        counts: dict[str, int] = {}
        current = ("", 0)
        depth = 0  # open brackets of a multi-line array value
        for number, line in enumerate(self.lines, start=1):
            if depth == 0:
                header = self._HEADER.match(line)
                if header:
                    path = ".".join(p.strip().strip('"').strip("'") for p in header.group(2).split("."))
                    index = counts.get(path, 0) if header.group(1) == "[[" else 0
                    counts[path] = index + 1
                    current = (path, index)
                    self.tables.setdefault(current, number)
                    self.keys.setdefault(current, {})
                    continue
                key = self._KEY.match(line)
                if key:
                    name = next(g for g in key.groups() if g)
                    self.keys[current].setdefault(name.lower(), number)
            depth = max(0, depth + self._bracket_delta(line))

    @staticmethod
    def _bracket_delta(line: str) -> int:
        delta, quote = 0, ""
        for ch in line:
            if quote:
                if ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            elif ch == "[":
                delta += 1
            elif ch == "]":
                delta -= 1
        return delta

    def table(self, path: str, index: int = 0) -> int:
        return self.tables.get((path, index), 1)

    def key(self, path: str, index: int, key: str) -> int:
        return self.keys.get((path, index), {}).get(key.lower(), self.table(path, index))

    def value(self, path: str, index: int, key: str, value: str) -> int:
        """The line of one element of a (possibly multi-line) list value."""
        start = self.key(path, index, key)
        for number in range(start, min(start + 200, len(self.lines) + 1)):
            if f'"{value}"' in self.lines[number - 1] or f"'{value}'" in self.lines[number - 1]:
                return number
        return start
