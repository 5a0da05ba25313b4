"""WHEN values for ``--complete-after`` and ``--at``: ISO 8601 with a zone, ``now``, or ``+2h``/``+30m``/``+1d``.

A time without a zone is refused: Exchange Online reads a zoneless value as UTC, on-premises servers as their
own local time, and a person typing "02:00" usually means their own. Everything sent to Exchange is UTC;
everything shown to people carries its zone (``show_time``).
"""

from __future__ import annotations

import datetime as dt
import re

from hybridkit.errors import InputError

__all__ = ["parse_when", "show_time"]

_RELATIVE = re.compile(r"^\+\s*(\d+)\s*([mhd])$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_when(text: str, now: dt.datetime, *, option: str = "--at") -> dt.datetime:
    """``text`` as an aware UTC datetime, relative to ``now`` (aware) for ``now`` and ``+N[mhd]``.

    Raises ``InputError`` naming ``option`` and explaining the accepted forms.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    raw = text.strip()
    if raw.lower() == "now":
        return now.astimezone(dt.timezone.utc)
    relative = _RELATIVE.match(raw)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        return (now + dt.timedelta(**{_UNITS[unit]: amount})).astimezone(dt.timezone.utc)
    candidate = raw[:-1] + "+00:00" if raw[-1:] in ("Z", "z") else raw
    try:
        parsed = dt.datetime.fromisoformat(candidate)
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not a time: use ISO 8601 with a zone (2026-11-28T02:00Z, "
            "2026-11-28T03:00+01:00), 'now', or a delay such as +30m, +2h, +1d"
        ) from None
    if parsed.tzinfo is None:
        raise InputError(
            f"{option} {text!r} has no time zone. Exchange Online would read it as UTC and an on-premises server "
            f"as its own local time, so it is refused. Add the zone: {parsed:%Y-%m-%dT%H:%M}Z for UTC, or an offset "
            f"such as {parsed:%Y-%m-%dT%H:%M}+01:00"
        )
    return parsed.astimezone(dt.timezone.utc)


def show_time(value: dt.datetime | None, tz: dt.tzinfo | None = None) -> str:
    """A time for people, always with its zone: UTC, plus the local zone when ``tz`` is given."""
    if value is None:
        return "-"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    utc = value.astimezone(dt.timezone.utc)
    text = f"{utc:%Y-%m-%d %H:%M:%S} UTC"
    if tz is not None and tz != dt.timezone.utc:
        local = value.astimezone(tz)
        text += f" ({local:%Y-%m-%d %H:%M %Z})"
    return text
