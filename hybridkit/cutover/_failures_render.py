"""What ``cutover failures`` and ``cutover remediate`` show: JSON in the README's vocabulary, tables that wrap
(never crop) with long messages in full under them, and the failures report (CSV or XLSX) written so no cell
from Exchange can run as a formula (``hybridkit._csvreport`` / ``hybridkit._xlsx``)."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from hybridkit._csvreport import write_csv_report
from hybridkit._xlsx import text_workbook
from hybridkit.cutover._failures import MailboxFailure
from hybridkit.cutover._remedy_run import RemediationResult
from hybridkit.errors import InputError

__all__ = [
    "REPORT_COLUMNS",
    "failures_doc",
    "failures_view",
    "remedy_doc",
    "remedy_view",
    "write_failures_report",
]

REPORT_COLUMNS = ("Mailbox", "Batch", "Problem", "Status", "MoveStatus", "StatusDetail", "FailureType",
                  "DataConsistencyScore", "SkippedItems", "SkippedByKind", "AwaitingApproval", "Message", "Remedy")


def _kinds(failure: MailboxFailure) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in failure.skipped)


def _failure_item(f: MailboxFailure) -> dict[str, Any]:
    return {
        "mailbox": f.mailbox, "batch": f.batch, "problem": f.problem.value, "kind": f.kind.value,
        "status": f.status, "move_status": f.move_status, "status_detail": f.status_detail,
        "failure_type": f.failure_type or None, "data_consistency_score": f.score or None,
        "skipped_items": f.skipped_total, "skipped_by_kind": dict(f.skipped),
        "awaiting_approval": f.awaiting_approval, "detail": f.message, "remedy": f.remedy,
    }


def failures_doc(failures: Sequence[MailboxFailure], warnings: Sequence[str] = ()) -> dict[str, Any]:
    """``--output json`` of ``cutover failures``: ``items`` (one per mailbox), ``summary`` by problem."""
    return {"items": [_failure_item(f) for f in failures],
            "summary": dict(sorted(collections.Counter(f.problem.value for f in failures).items())),
            "warnings": list(warnings)}


def _table(title: str, headers: Sequence[str]) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    return table


def failures_view(failures: Sequence[MailboxFailure]) -> RenderableType:
    """A short table (wrapped, never cropped) and, under it, each mailbox in full: Exchange's status and failure
    type, skipped items by kind, the last failure message and the remedy."""
    if not failures:
        return Text("No failed, stalled, low-scored or approval-awaiting mailboxes.")
    batches = len({f.batch for f in failures}) > 1
    table = _table(f"{len(failures)} mailbox(es) need attention",
                   ("Mailbox",) + (("Batch",) if batches else ()) + ("Problem", "Score", "Skipped"))
    notes: list[RenderableType] = []
    for f in failures:
        table.add_row(*(Text(c) for c in ([f.mailbox] + ([f.batch] if batches else [])
                                          + [f.problem.value, f.score or "-", str(f.skipped_total or "-")])))
        notes.append(Text(f"\n{f.mailbox}" + ("" if batches else f" ({f.batch})"), style="bold"))
        status = f.status + (f", move {f.move_status}" if f.move_status else "") + (
            f" / {f.status_detail}" if f.status_detail and f.status_detail != f.move_status else "")
        notes.append(Text(f"  Status: {status}"))
        if f.failure_type:
            notes.append(Text(f"  Failure type: {f.failure_type}"))
        if f.skipped:
            notes.append(Text(f"  Skipped items: {_kinds(f)}"
                              + (" (awaiting approval)" if f.awaiting_approval else "")))
        if f.message:
            notes.append(Text(f"  Exchange: {f.message}"))
        notes.append(Text(f"  Remedy: {f.remedy}"))
    return Group(table, *notes)


def write_failures_report(path: Path, failures: Sequence[MailboxFailure]) -> None:
    """The failures as a CSV or XLSX report (by the file's extension); every cell written as text."""
    rows = [[f.mailbox, f.batch, f.problem.value, f.status, f.move_status, f.status_detail, f.failure_type,
             f.score, f.skipped_total, _kinds(f), "yes" if f.awaiting_approval else "no", f.message, f.remedy]
            for f in failures]
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            write_csv_report(path, REPORT_COLUMNS, rows)
        elif suffix == ".xlsx":
            path.parent.mkdir(parents=True, exist_ok=True)
            workbook = text_workbook(path)
            try:
                sheet = workbook.add_worksheet("Failures")
                bold = workbook.add_format({"bold": True})
                for col, header in enumerate(REPORT_COLUMNS):
                    sheet.write_string(0, col, header, bold)
                for number, row in enumerate(rows, 1):
                    for col, value in enumerate(row):
                        if isinstance(value, int):
                            sheet.write_number(number, col, value)
                        else:  # a text cell, never a formula (text_workbook; write_string)
                            sheet.write_string(number, col, str(value))
                sheet.autofilter(0, 0, max(1, len(rows)), len(REPORT_COLUMNS) - 1)
                sheet.freeze_panes(1, 0)
            finally:
                workbook.close()
        else:
            raise InputError(f"--report {path}: give a .csv or .xlsx file")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def remedy_doc(result: RemediationResult) -> dict[str, Any]:
    """``--output json`` of ``cutover remediate``."""
    items = [{"mailbox": r.mailbox, "batch": r.batch, "action": r.action.value,
              "outcome": r.outcome.value if r.outcome else None, "detail": r.detail, "status": r.status,
              "failure_type": r.failure_type or None, "data_consistency_score": r.score or None}
             for r in result.items]
    key = "action" if result.what_if else "outcome"
    doc: dict[str, Any] = {
        "what_if": result.what_if, "run_id": result.run_id, "resumed": result.resumed, "items": items,
        "summary": dict(sorted(collections.Counter(str(i[key]) for i in items).items())),
        "warnings": list(result.warnings),
    }
    if result.what_if:
        doc["commands"] = list(result.commands)
    return doc


def remedy_view(result: RemediationResult) -> RenderableType:
    """The per-mailbox table; details wrap in their column."""
    if not result.items:
        return Text("Nothing to remediate: no failed, stalled, low-scored or approval-awaiting mailboxes.")
    headers = ("Mailbox", "Batch", "Action") + (() if result.what_if else ("Outcome",)) + ("Detail",)
    table = _table("What remediate would do" if result.what_if else "Remediation", headers)
    for r in result.items:
        cells = [r.mailbox, r.batch, r.action.value] + ([] if result.what_if else [r.outcome.value if r.outcome
                                                                                     else "-"]) + [r.detail]
        table.add_row(*(Text(c) for c in cells))
    return table
