"""Exchange's ByteQuantifiedSize text, the one formatter every lab object uses for sizes.

Exchange prints a size as ``{0:G4} {unit} ({bytes:N0} bytes)``: the value in the largest 1,024-based unit not
above it, with four significant digits and no trailing zeros (``4.243 GB``, ``152.1 MB``, ``35.1 GB``, ``99 GB``),
then the exact byte count with thousands separators. ``Unlimited`` quotas print as ``Unlimited``.
"""

from __future__ import annotations

import decimal
import functools
import re
from typing import Any

__all__ = ["UNITS", "byte_quantified", "format_size", "parse_size"]

UNITS = ("B", "KB", "MB", "GB", "TB", "PB", "EB")
_FACTORS = {unit: 1024**power for power, unit in enumerate(UNITS)}
_INPUT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGTPE]?B)?\s*", re.IGNORECASE)
_SHOWN = re.compile(r"\(([\d,]+) bytes\)")


def _g4(value: decimal.Decimal) -> str:
    """.NET's ``G4`` of a value below 1,024: four significant digits, trailing zeros dropped."""
    if value == 0:
        return "0"
    digits = value.adjusted() + 1  # digits before the decimal point
    rounded = value.quantize(decimal.Decimal(1).scaleb(digits - 4), rounding=decimal.ROUND_HALF_UP)
    text = format(rounded, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_size(size: int | None) -> str:
    """``4,555,456,537`` -> ``4.243 GB (4,555,456,537 bytes)``; ``0`` -> ``0 B (0 bytes)``."""
    return _format(int(size or 0))


@functools.lru_cache(maxsize=4096)  # quotas and limits repeat on every object
def _format(size: int) -> str:
    unit = 0
    while unit < len(UNITS) - 1 and size >= _FACTORS[UNITS[unit + 1]]:
        unit += 1
    value = decimal.Decimal(size) / decimal.Decimal(_FACTORS[UNITS[unit]])
    return f"{_g4(value)} {UNITS[unit]} ({size:,} bytes)"


def parse_size(text: Any) -> int | None:
    """The byte count of a ByteQuantifiedSize text (``... (1,234 bytes)``) or an input like ``50MB`` / ``1.5 GB``;
    None for ``Unlimited`` and anything else."""
    if isinstance(text, bool) or text is None:
        return None
    if isinstance(text, int):
        return text
    shown = _SHOWN.search(str(text))
    if shown:
        return int(shown.group(1).replace(",", ""))
    match = _INPUT.fullmatch(str(text))
    if match is None:
        return None
    unit = (match.group(2) or "B").upper()
    return int(decimal.Decimal(match.group(1)) * _FACTORS[unit])


def byte_quantified(value: Any) -> Any:
    """A size as Exchange shows it: ``50MB`` / ``52428800`` -> ``50 MB (52,428,800 bytes)``; ``Unlimited`` and
    anything that is not a size are returned unchanged."""
    size = parse_size(value)
    return value if size is None else format_size(size)
