"""WHEN values for ``--complete-after`` and ``--at``: ISO 8601 with a zone, ``now``, or ``+2h``/``+30m``/``+1d``.

A time without a zone is refused: Exchange Online reads a zoneless value as UTC, on-premises servers as their
own local time, and a person typing "02:00" usually means their own. A date without a time of day is refused
too (it would mean midnight), and so is a time more than a few minutes in the past (a one-digit slip in the
year completes at once) unless the caller allows it. Everything sent to Exchange is UTC; everything shown to
people carries its zone (``show_time``); JSON carries ISO 8601 UTC (``iso_z``).
"""

from __future__ import annotations

import datetime as dt
import re

from hybridkit.errors import InputError

__all__ = ["PAST_TOLERANCE", "iso_z", "parse_when", "show_time"]

_RELATIVE = re.compile(r"^\+\s*(\d+)\s*([mhd])$", re.IGNORECASE)
_DATE_ONLY = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(Z|[+-]\d{2}(:?\d{2})?)?$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
# How far in the past a time may be (clock skew, a command typed a minute ago) before it is taken for a slip.
PAST_TOLERANCE = dt.timedelta(minutes=5)


def _ago(delta: dt.timedelta) -> str:
    if delta >= dt.timedelta(days=2):
        return f"{delta.days} days"
    if delta >= dt.timedelta(hours=2):
        return f"{int(delta.total_seconds() // 3600)} hours"
    return f"{int(delta.total_seconds() // 60)} minutes"


def parse_when(text: str, now: dt.datetime, *, option: str = "--at", allow_past: bool = False) -> dt.datetime:
    """``text`` as an aware UTC datetime, relative to ``now`` (aware) for ``now`` and ``+N[mhd]``.

    Raises ``InputError`` naming ``option``: for a form it does not know (listing the accepted ones), a time
    without a zone, a date without a time of day, and (unless ``allow_past``) a time more than
    ``PAST_TOLERANCE`` before ``now``.
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
    date_only = _DATE_ONLY.match(raw)
    if date_only:
        day = date_only.group(1)
        raise InputError(f"{option} {text!r} gives a date but no time of day (it would mean midnight): add the "
                         f"time, e.g. {day}T22:00Z or {day}T22:00+01:00")
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
    when = parsed.astimezone(dt.timezone.utc)
    behind = now - when
    if behind > PAST_TOLERANCE and not allow_past:
        raise InputError(f"{option} {text!r} is {_ago(behind)} in the past ({iso_z(when)}); give a later time, "
                         "'now' to complete at once, or --allow-past if the past time is meant")
    return when


def iso_z(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC to the second, ``2026-12-05T22:00:00Z`` (for ``--output json``); None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
