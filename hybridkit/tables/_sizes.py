"""Sizes as Exchange and Excel write them: the one size parser.

Exchange sends a ``ByteQuantifiedSize`` as text, ``"4.243 GB (4,555,456,537 bytes)"`` (``Get-MailboxStatistics``'
``TotalItemSize``, a move's ``BytesTransferred``); the exact byte count in parentheses wins. Without it
(``"744.1 MB"``, ``"0 B"``) the unit is read with Exchange's 1024-based units. Plain numbers are bytes, or MB/GB
when the column name says so. Quotas may be ``Unlimited`` (an ``Unlimited<ByteQuantifiedSize>``): no size.

* ``parse_size(cell, unit)``: a cell of an export (an empty cell is 0 bytes; not a size: None).
* ``as_bytes(value)``: a value as Exchange sent it (text, a number, None, ``Unlimited``): bytes or None.
* ``byte_quantity(value)``: the exact byte count of a whole ``ByteQuantifiedSize`` text, else None.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["as_bytes", "byte_quantity", "is_unlimited", "parse_size", "unit_of_column"]

_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4, "pb": 1024**5}
_BYTES_IN_PARENS = re.compile(r"\(\s*([0-9][0-9,.\s\u00a0\u202f']*)\s*bytes?\s*\)", re.IGNORECASE)
_BYTE_QUANTITY = re.compile(r"\s*[0-9][0-9.,\s\u00a0\u202f']*\s*[kmgtp]?b\s*\(\s*([0-9][0-9,.\s\u00a0\u202f']*)\s*bytes?\s*\)\s*",
                            re.IGNORECASE)
_WITH_UNIT = re.compile(r"^([0-9][0-9,.\s\u00a0\u202f']*)\s*([kmgtp]?b)(?:ytes?)?$", re.IGNORECASE)


def unit_of_column(name: str) -> int:
    """The multiplier a plain number in this (canonical) column stands for: MB and GB columns, else bytes."""
    if name.endswith("gb"):
        return 1024**3
    if name.endswith("mb"):
        return 1024**2
    if name.endswith("kb"):
        return 1024
    return 1


def _number(text: str) -> float:
    """A decimal number with locale-dependent separators ("1,234.5", "1.234,5", "4,243")."""
    text = re.sub(r"[\s\u00a0\u202f']", "", text)
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        # "1,024" is a thousands separator; "4,2" or "0,5" is a decimal comma.
        text = text.replace(",", "") if len(tail) == 3 and head.strip("0") else head.replace(",", "") + "." + tail
    elif text.count(".") > 1:
        text = text.replace(".", "")
    return float(text)


def parse_size(value: str, unit: int = 1) -> int | None:
    """Bytes from a size cell, or ``None`` if the cell is not a size. Empty cells are 0.

    >>> parse_size("4.243 GB (4,555,456,537 bytes)")
    4555456537
    >>> parse_size("0 B (0 bytes)")
    0
    >>> parse_size("2.5", unit=1024**3)
    2684354560
    """
    text = value.strip()
    if not text:
        return 0
    match = _BYTES_IN_PARENS.search(text)
    if match:
        digits = re.sub(r"[^0-9]", "", match.group(1))
        return int(digits) if digits else None
    match = _WITH_UNIT.match(text)
    try:
        if match:
            return int(round(_number(match.group(1)) * _UNITS[match.group(2).lower()]))
        number = _number(text)
    except ValueError:
        return None
    if number < 0:
        return None
    return int(round(number * unit))


def is_unlimited(value: Any) -> bool:
    """Whether Exchange said ``Unlimited`` (a quota or size limit that has none)."""
    return isinstance(value, str) and value.strip().lower() == "unlimited"


def as_bytes(value: Any) -> int | None:
    """A size as Exchange sent it: ``ByteQuantifiedSize`` text or a number of bytes; None when absent, Unlimited
    or not a size."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    return parse_size(text) if text and not is_unlimited(text) else None


def byte_quantity(value: Any) -> int | None:
    """The exact byte count of a whole ``ByteQuantifiedSize`` text (``"35 MB (36,700,160 bytes)"``), else None."""
    if not isinstance(value, str):
        return None
    match = _BYTE_QUANTITY.fullmatch(value)
    if match is None:
        return None
    digits = re.sub(r"[^0-9]", "", match.group(1))
    return int(digits) if digits else None
