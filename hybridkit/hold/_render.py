"""How hold's results are shown: the README's JSON vocabulary for scripts, tables and lines for people, and the
report file (.csv or .xlsx) listing every mailbox.

JSON (one document on stdout): ``items`` (one per selected mailbox: ``mailbox``, ``side``, ``action``, ``outcome``,
``detail``, the hold as read, ``verified``), ``summary`` (counts by outcome, or by action under ``--what-if``),
``warnings``; ``hold enable`` adds ``what_if``, ``run_id``, ``resumed`` and, under ``--what-if``, ``commands``.
Times are ISO 8601 UTC. Tables wrap (``overflow="fold"``), never crop; long messages go under the table in full.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hybridkit._csvreport import write_csv_report
from hybridkit._xlsx import text_workbook
from hybridkit.errors import InputError
from hybridkit.hold._model import EnableResult, HoldOutcome, OutcomeStatus
from hybridkit.outfiles import write_script_line
from hybridkit.sides import Side

__all__ = ["PROBLEMS", "REPORT_COLUMNS", "json_document", "print_enable_notes", "print_not_held", "render_tables",
           "write_report"]

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


def _item(row: HoldOutcome, with_action: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"mailbox": row.key, "side": row.side}
    if with_action:
        item["action"] = row.action.token if row.action is not None else "none"
    item.update({
        "outcome": row.status.word.value if row.status.word is not None else None,
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


def json_document(rows: Sequence[HoldOutcome], *, warnings: Sequence[str] = (), enable: dict[str, Any] | None = None,
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


def render_tables(console: Console, rows: Sequence[HoldOutcome], title: str) -> None:
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


REPORT_COLUMNS = (
    "Mailbox",
    "Side",
    "Status",
    "PrimarySmtpAddress",
    "RecipientTypeDetails",
    "LitigationHoldEnabled",
    "LitigationHoldDuration",
    "LitigationHoldOwner",
    "LitigationHoldDate",
    "Verified",
    "Message",
)


def _as_cells(row: HoldOutcome) -> list[str]:
    return [
        row.key,
        row.side or "",
        row.status.value,
        row.primary_smtp,
        row.recipient_type,
        "" if row.enabled is None else str(row.enabled),
        row.duration,
        row.owner,
        _iso(row.date) or "",
        "" if row.verified is None else str(row.verified),
        row.message,
    ]


def write_report(path: Path, rows: Sequence[HoldOutcome]) -> None:
    """Write every row to ``path``: XLSX when it ends in .xlsx, CSV otherwise (``hybridkit._csvreport``: UTF-8
    with BOM for Excel, formula-shaped cells kept as text)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        book = text_workbook(path)
        try:
            sheet = book.add_worksheet("Hold")
            bold = book.add_format({"bold": True})
            sheet.write_row(0, 0, REPORT_COLUMNS, bold)
            for at, row in enumerate(rows, start=1):
                sheet.write_row(at, 0, _as_cells(row))
            sheet.autofilter(0, 0, max(len(rows), 1), len(REPORT_COLUMNS) - 1)
            sheet.freeze_panes(1, 0)
        finally:
            book.close()
        return
    if path.suffix.lower() != ".csv":
        raise InputError("the report must end in .csv or .xlsx", file=str(path))
    write_csv_report(path, REPORT_COLUMNS, (_as_cells(row) for row in rows))


def print_enable_notes(err: Console, result: EnableResult) -> None:
    """Warnings, whether an interrupted run was resumed, and under --what-if the exact pipelines per side (byte for
    byte: runnable when pasted)."""
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    if result.resumed:
        err.print(f"Resumed run {result.run_id}: {result.steps_skipped} of {result.steps_total} step(s) were done.")
    for side in dict.fromkeys(side for side, _ in result.commands):
        where = "on-premises Exchange" if side == Side.ONPREM else "Exchange Online"
        err.print(f"# what if: {where} would run", highlight=False, markup=False)
        for line in (ln for s, ln in result.commands if s == side):
            write_script_line(err, line)


def print_not_found(err: Console, rows: Sequence[HoldOutcome]) -> bool:
    """``hold status``: name the selected mailboxes found on no side (the command then exits 1). True if any."""
    missing = [row.key for row in rows if row.status is OutcomeStatus.NOT_FOUND]
    if missing:
        noun = "mailbox" if len(missing) == 1 else "mailboxes"
        err.print(f"[bold red]{len(missing)} {noun} not found:[/] {', '.join(missing)} (on no connected side)",
                  highlight=False, soft_wrap=True)
    return bool(missing)


def print_not_held(err: Console, result: EnableResult, *, what_if: bool) -> None:
    """Why the command exits 1: the selected mailboxes not (or not provably) on hold, counted by reason."""
    off = {k: v for k, v in result.not_held.items() if k != OutcomeStatus.UNVERIFIED.value}
    unverified = result.not_held.get(OutcomeStatus.UNVERIFIED.value, 0)
    if off:
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(off.items()))
        verb = "would not be" if what_if else "are not"
        err.print(f"[bold red]{sum(off.values())} selected mailbox(es) {verb} on hold:[/] {reasons} "
                  "(see the report for each one and Exchange's message)", highlight=False, soft_wrap=True)
    if unverified:
        err.print(f"[bold red]{unverified} mailbox(es) could not be verified:[/] the hold was sent but the read "
                  "back failed (run hybridkit hold status on them)", highlight=False, soft_wrap=True)
