"""Times as hybridkit writes them for scripts and records: ISO 8601 in UTC with a ``Z`` (``2026-12-05T22:00:00Z``).

The README's "Output for scripts" promises this form in every ``--output json``; the run journal and the
inventory manifest store it too, so what a script reads back needs no conversion. Tables may show a friendlier
form; this module is only the machine-readable one.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["normalise_iso", "utc_iso", "utc_now_iso"]


def utc_iso(value: dt.datetime, *, milliseconds: bool | None = None) -> str:
    """``value`` in UTC as ``YYYY-MM-DDTHH:MM:SS[.mmm]Z``.

    Args:
        value: an aware datetime (a naive one is taken as UTC, as Exchange Online reads one).
        milliseconds: keep milliseconds (True), drop them (False), or keep them only when not zero (None).
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    utc = value.astimezone(dt.timezone.utc)
    keep = utc.microsecond != 0 if milliseconds is None else milliseconds
    return utc.isoformat(timespec="milliseconds" if keep else "seconds").replace("+00:00", "Z")


def utc_now_iso(*, milliseconds: bool = False) -> str:
    """Now, as :func:`utc_iso` writes it."""
    return utc_iso(dt.datetime.now(dt.timezone.utc), milliseconds=milliseconds)


def normalise_iso(text: str | None) -> str | None:
    """An ISO 8601 string already stored (``...+00:00`` by older versions) rewritten as :func:`utc_iso`."""
    if not text:
        return text
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return utc_iso(parsed)
