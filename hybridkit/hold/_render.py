"""How hold's results are shown: the README's JSON vocabulary for scripts, tables for people.

JSON (one document on stdout): ``items`` (one per selected mailbox: ``mailbox``, ``side``, ``action``, ``outcome``,
``detail``, the hold as read, ``verified``), ``summary`` (counts by outcome, or by action under ``--what-if``),
``warnings``; ``hold enable`` adds ``what_if``, ``run_id``, ``resumed`` and, under ``--what-if``, ``commands``.
Times are ISO 8601 UTC. Tables wrap (``overflow="fold"``), never crop; long messages go under the table in full.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from hybridkit.hold._model import Outcome, OutcomeStatus

__all__ = ["PROBLEMS", "json_document", "render_tables"]

# Outcomes listed under the table with their full message.
PROBLEMS = (OutcomeStatus.FAILED, OutcomeStatus.UNVERIFIED, OutcomeStatus.UNLICENSED, OutcomeStatus.NOT_FOUND,
            OutcomeStatus.REFUSED)
_STYLE = {
    OutcomeStatus.FAILED: "red", OutcomeStatus.UNVERIFIED: "red", OutcomeStatus.UNLICENSED: "yellow",
    OutcomeStatus.NOT_FOUND: "yellow", OutcomeStatus.REFUSED: "yellow", OutcomeStatus.KEPT_LONGER: "yellow",
    OutcomeStatus.ENABLED: "green", OutcomeStatus.CHANGED: "green",
}
# Up to this many mailboxes, the table lists each one; beyond, it counts them (the report lists every one).
EACH_UP_TO = 50
# From this console width on, the per-mailbox table also shows the owner and the hold's start date.
WIDE = 100


def _iso(when: dt.datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _item(row: Outcome, with_action: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"mailbox": row.key, "side": row.side}
    if with_action:
        item["action"] = row.action.token if row.action is not None else "none"
    item.update({
        "outcome": row.status.token,
        "detail": row.message,
        "primary_smtp_address": row.primary_smtp or None,
        "recipient_type": row.recipient_type or None,
        "litigation_hold_enabled": row.enabled,
        "litigation_hold_duration": row.duration or None,
        "litigation_hold_owner": row.owner or None,
        "litigation_hold_date": _iso(row.date),
    })
    if with_action:
        item["verified"] = row.verified
    return item


def json_document(rows: Sequence[Outcome], *, warnings: Sequence[str] = (), enable: dict[str, Any] | None = None,
                  commands: Sequence[str] = (), report: str | None = None) -> dict[str, Any]:
    """The JSON document: ``enable`` holds what_if/run_id/resumed for ``hold enable`` (None for ``hold status``)."""
    what_if = bool(enable and enable.get("what_if"))
    items = [_item(r, enable is not None) for r in rows]
    summary: dict[str, int] = {}
    for item in items:
        key = item["action"] if what_if else item["outcome"]
        summary[key] = summary.get(key, 0) + 1
    doc: dict[str, Any] = dict(enable or {})
    doc.update({"report": report, "items": items, "summary": summary, "warnings": list(warnings)})
    if what_if:
        doc["commands"] = list(commands)
    return doc


def _label(status: OutcomeStatus) -> str:
    style = _STYLE.get(status)
    return f"[{style}]{status.value}[/]" if style else status.value


def render_tables(console: Console, rows: Sequence[Outcome], title: str) -> None:
    """Each mailbox (up to ``EACH_UP_TO``) or the counts by status, then every problem's message in full."""
    if rows and len(rows) <= EACH_UP_TO:
        wide = console.width >= WIDE  # narrower: drop Owner and Since rather than fold addresses mid-word
        table = Table(title=title)
        table.add_column("Mailbox", overflow="fold", ratio=3)
        table.add_column("Side", overflow="fold")
        table.add_column("Status", overflow="fold", ratio=2 if wide else None, min_width=11)
        table.add_column("Duration", overflow="fold")
        if wide:
            table.add_column("Owner", overflow="fold", ratio=2)
            table.add_column("Since", overflow="fold")  # LitigationHoldDate, UTC
        for row in rows:
            since = _iso(row.date)
            cells = [row.key, row.side or "-", _label(row.status), row.duration]
            if wide:
                cells += [row.owner, since[:10] if since else ""]
            table.add_row(*cells)
        if not wide and any(r.owner or r.date for r in rows):
            table.caption = "Owner and start date: --report, -o json, or a terminal of 100 columns or more."
    else:
        counts: dict[OutcomeStatus, int] = {}
        for row in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        table = Table(title=title)
        table.add_column("Status", overflow="fold")
        table.add_column("Mailboxes", justify="right", overflow="fold")
        for status, count in sorted(counts.items(), key=lambda kv: -kv[1]):
            table.add_row(_label(status), str(count))
    console.print(table)
    listed = len(rows) <= EACH_UP_TO  # a short list shows every message; a long one only the problems
    notes = [r for r in rows if r.message and (r.status in PROBLEMS or listed)]
    for row in notes[:20]:
        console.print(f"  {row.status.value}: {row.key} ({row.side or '-'}) {row.message}", highlight=False,
                      markup=False, soft_wrap=True)
    if len(notes) > 20:
        console.print(f"  ... and {len(notes) - 20} more (see --report)", highlight=False)
