"""What ``cutover`` shows: the JSON documents (the README's vocabulary) and the tables people read.

JSON: items a command acts on under ``items`` (named by ``batch`` / ``mailbox``), ``action`` (what the plan
does), ``outcome`` (what happened), ``detail`` (why; Exchange's own words for a failure), ``what_if``,
``run_id``, ``resumed``, ``commands`` under ``--what-if``, ``summary`` counts, ``warnings``; times ISO 8601 UTC,
sizes in bytes. Tables fit the console's width (80 columns when piped): columns are dropped or their text
wrapped, never cropped, and long messages go under the table in full.
"""

from __future__ import annotations

import collections
import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hybridkit.cutover._model import (
    BatchChange,
    CompletionItem,
    CompletionResult,
    CreateResult,
    MoveState,
    ObservedBatch,
    Readiness,
    StatusSnapshot,
)
from hybridkit.cutover._waves import STAGES, WaveProgress
from hybridkit.cutover._when import iso_z, show_time
from hybridkit.outcomes import Outcome
from hybridkit.outfiles import write_script_line
from hybridkit.ps import Command, Pipeline, quote

__all__ = [
    "print_applied",
    "complete_doc",
    "complete_table",
    "complete_what_if_doc",
    "completion_lines",
    "completion_skips",
    "create_doc",
    "create_table",
    "create_what_if_doc",
    "create_what_if_lines",
    "human_size",
    "snapshot_doc",
    "status_doc",
    "status_view",
    "waves_doc",
]

_FINE = {Outcome.CREATED: "green", Outcome.UPDATED: "green", Outcome.REMOVED: "green", Outcome.STARTED: "green", Outcome.UNCHANGED: "dim", Outcome.SENT: "green",
         Outcome.COMPLETED: "green", Outcome.COMPLETING: "green", Outcome.FAILED: "red", Outcome.NOT_FOUND: "red",
         Outcome.SKIPPED: "yellow", Outcome.TIMED_OUT: "red"}


def _fine(outcome: str) -> str | None:
    """The style of an outcome word in a table."""
    return _FINE.get(Outcome(outcome))


def _word(value: str) -> str:
    """An enum's word (or a word already): what JSON and tables carry."""
    return str(value.value) if isinstance(value, enum.Enum) else str(value)


def _counts(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(collections.Counter(values).items()))


def _styled(value: str, style: str | None) -> str:
    return f"[{style}]{escape(value)}[/]" if style else escape(value)


def human_size(num: int | None) -> str:
    """A size for a table: "152.1 MB" (four significant digits, 1024-based, as Exchange prints sizes)."""
    if num is None:
        return "-"
    value, unit = float(num), 0
    units = ("B", "KB", "MB", "GB", "TB")
    while value >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return f"{num} B" if unit == 0 else f"{value:.4g} {units[unit]}"


# ---------------------------------------------------------------- fitting tables into the width


class _Column:
    def __init__(self, header: str, cells: Sequence[str], *, whole: int = 0, optional: bool = False) -> None:
        self.header, self.cells, self.optional = header, list(cells), optional
        # the width that keeps the column's text unbroken (capped: a 64-character name may wrap)
        self.whole = min(whole or max([len(header), *map(len, _plain(self.cells))]), 42)


def _plain(cells: Iterable[str]) -> list[str]:
    return [Text.from_markup(c).plain for c in cells]


def _fit(title: str | None, columns: list[_Column], width: int) -> tuple[Table, list[_Column]]:
    """A table of the columns that fit ``width``: optional ones are dropped (right to left) until the unbroken
    widths fit; if even the required ones do not, their text folds (still in full, never cropped)."""
    kept = list(columns)

    def needed(cols: list[_Column]) -> int:
        return sum(c.whole for c in cols) + 3 * len(cols) + 1

    while needed(kept) > width and any(c.optional for c in kept):
        drop = next(c for c in reversed(kept) if c.optional)
        kept.remove(drop)
    table = Table(title=title, title_justify="left")
    fits = needed(kept) <= width
    for col in kept:
        table.add_column(col.header, overflow="fold", min_width=col.whole if fits else None)
    rows = len(kept[0].cells) if kept else 0
    for index in range(rows):
        table.add_row(*(c.cells[index] for c in kept))
    dropped = [c for c in columns if c not in kept]
    return table, dropped


# ---------------------------------------------------------------- create


def csv_expression(mailboxes: Sequence[str]) -> str:
    """PowerShell for the CSVData bytes, inline: it runs wherever the line is pasted, whatever the current folder.

    (A path to the planner's CSV would be a path on this machine; a relative one would resolve against the
    .NET process's folder, not PowerShell's, in ``[System.IO.File]::ReadAllBytes``.)
    """
    rows = ",".join(quote(r) for r in ("EmailAddress", *mailboxes))
    return f'([System.Text.Encoding]::UTF8.GetBytes((@({rows}) -join "`r`n") + "`r`n"))'


def create_what_if_lines(commands: Sequence[Command]) -> list[str]:
    """The exact PowerShell of ``cutover create``, with each batch's CSV bytes inline (New-MigrationBatch, and
    ``Set-MigrationBatch -AddUsers`` growing a batch)."""
    lines = []
    for command in commands:
        if command.param("CSVData") is None:
            lines.append(command.render())
            continue
        data = command.param("CSVData")
        mailboxes = bytes(data).decode("utf-8").split("\r\n")[1:-1] if data else []
        placeholder = type(command)(command.cmdlet, tuple((k, "\x00CSV\x00" if k == "CSVData" else v)
                                                          for k, v in command.parameters))
        lines.append(placeholder.render().replace("'\x00CSV\x00'", csv_expression(mailboxes)))
    return lines


def create_what_if_doc(changes: Sequence[BatchChange], lines: list[str], warnings: Sequence[str]) -> dict[str, Any]:
    items = [{"batch": c.name, "action": _action(c), "detail": c.reason,
              **({"added": len(c.missing)} if c.action.value == "grow" else {})} for c in changes]
    return {"what_if": True, "run_id": None, "resumed": False, "commands": lines, "items": items,
            "summary": _counts(i["action"] for i in items), "warnings": list(warnings)}


def _action(change: BatchChange) -> str:
    return {"create": "create", "start": "start", "grow": "update"}.get(change.action.value, "none")


def create_doc(result: CreateResult, warnings: Sequence[str], complete_after: dt.datetime | None) -> dict[str, Any]:
    batches = [{"batch": b.batch, "action": _word(b.action), "outcome": _word(b.outcome), "detail": b.detail,
                **({"added": b.added} if b.added is not None else {})} for b in result.batches]
    mailboxes = [{"batch": m.batch, "mailbox": m.mailbox, "outcome": _word(m.outcome), "status": m.status,
                  "detail": m.detail} for m in result.mailboxes]
    return {"what_if": False, "run_id": result.run_id, "resumed": result.resumed,
            "complete_after": iso_z(complete_after),
            "items": batches + mailboxes,
            "summary": {"batches": _counts(b["outcome"] for b in batches),
                        "mailboxes": _counts(m["outcome"] for m in mailboxes)},
            "warnings": list(warnings)}


def create_table(result: CreateResult, width: int) -> RenderableType:
    """Batches, then the mailboxes Exchange failed with its reason in full (the others are counted)."""
    columns = [
        _Column("Batch", [escape(b.batch) for b in result.batches]),
        _Column("Outcome", [_styled(_word(b.outcome), _fine(b.outcome)) for b in result.batches]),
        _Column("Detail", [escape(b.detail) for b in result.batches], whole=30),
    ]
    table, _ = _fit("Migration batches", columns, width)
    parts: list[RenderableType] = [table]
    failed = [m for m in result.mailboxes if m.failed]
    if failed:
        parts.append(Text(f"{len(failed)} mailbox{'es' if len(failed) != 1 else ''} failed in Exchange:",
                          style="bold red"))
        parts.extend(Text.assemble((m.mailbox, "red"), f" ({m.batch}): ", m.detail) for m in failed)
    return Group(*parts)


# ---------------------------------------------------------------- status


def snapshot_doc(snapshot: StatusSnapshot, waves: Sequence[WaveProgress] | None = None) -> dict[str, Any]:
    """``cutover status``'s JSON document (``status_doc``) of a snapshot; with the plan's ``waves`` (``--plan``),
    its ``waves`` list too (``waves_doc``)."""
    doc = status_doc(snapshot.batches, snapshot.moves, snapshot.observed_at)
    if waves is not None:
        doc["waves"] = waves_doc(waves)
    return doc


def waves_doc(waves: Sequence[WaveProgress]) -> list[dict[str, Any]]:
    """Per completion wave: ``wave``, its ``sync_batches`` (where Exchange lists its users; ``planned_batch`` as
    plan.json says), ``mailboxes``, the count at each stage (syncing, synced, completing, completed, failed,
    not_found), ``ready`` (every mailbox synced or further, none failed) and ``state`` in one word."""
    return [{"wave": w.wave, "sync_batches": list(w.sync_batches), "planned_batch": w.planned_batch,
             "mailboxes": w.mailboxes, **{s.replace("-", "_"): w.count(s) for s in STAGES}, "ready": w.ready,
             "state": w.state} for w in waves]


def status_doc(observed: Sequence[ObservedBatch], moves: Mapping[str, MoveState], now: dt.datetime) -> dict[str, Any]:
    """Batches with their mailboxes: each move's status, or the migration user's failure when it has no move."""
    items = []
    for batch in observed:
        users = {u.mailbox: u for u in batch.users if u.batch.lower() == batch.name.lower()}
        rows = []
        for mailbox in batch.mailboxes:
            move, user = moves.get(mailbox), users.get(mailbox)
            if move is None or (user is not None and user.failed and move.status != "Failed"):
                failed = user is not None and user.failed
                rows.append({"mailbox": mailbox, "status": user.status if failed else "NotStarted",  # type: ignore[union-attr]
                             "status_detail": "", "percent": 0, "transferred_bytes": None, "size_bytes": None,
                             "detail": user.error if failed else ""})  # type: ignore[union-attr]
                continue
            rows.append({"mailbox": mailbox, "status": move.status, "status_detail": move.status_detail,
                         "percent": move.percent, "transferred_bytes": move.transferred_bytes,
                         "size_bytes": move.size_bytes, "detail": move.message})
        items.append({"batch": batch.name, "status": batch.status, "total": batch.total, "synced": batch.synced,
                      "completed": batch.completed, "failed": batch.failed,
                      "complete_after": iso_z(batch.complete_after), "mailboxes": rows})
    return {"observed_at": iso_z(now), "items": items}


def _when_text(value: str | None) -> str:
    return show_time(dt.datetime.fromisoformat(value.replace("Z", "+00:00"))) if value else "-"


def status_view(doc: dict[str, Any], width: int) -> RenderableType:
    """The batches, then each batch's mailboxes; Exchange's messages under each table in full.

    With ``waves`` in ``doc`` (``status --plan``): the batches, then the waves (one row each), then only the
    mailboxes Exchange has a message for (a plan of thousands of mailboxes is read per wave, not per row).
    """
    batches = doc["items"]
    observed = _when_text(doc["observed_at"])
    summary_columns = [
        _Column("Batch", [escape(b["batch"]) for b in batches]),
        _Column("Status", [escape(b["status"]) for b in batches]),
        _Column("Total", [str(b["total"] if b["total"] is not None else "-") for b in batches]),
        _Column("Synced", [str(b["synced"] if b["synced"] is not None else "-") for b in batches]),
        _Column("Completed", [str(b["completed"] if b["completed"] is not None else "-") for b in batches]),
        _Column("Failed", [str(b["failed"] if b["failed"] is not None else "-") for b in batches]),
    ]
    scheduled = [b for b in batches if b["complete_after"]]
    if scheduled:
        summary_columns.append(_Column("CompleteAfter", [_when_text(b["complete_after"]) for b in batches],
                                       optional=True))
    summary, dropped = _fit(f"Migration batches at {observed}", summary_columns, width)
    parts: list[RenderableType] = [summary]
    if dropped:
        parts.extend(Text(f"{b['batch']} completes after {_when_text(b['complete_after'])}") for b in scheduled)
    if "waves" in doc:
        parts.append(_waves_table(doc["waves"], width))
        parts.extend(Text.assemble((r["mailbox"], "red" if r["status"] == "Failed" else "bold"), f" ({b['batch']}): ",
                                   r["detail"]) for b in batches for r in b["mailboxes"] if r["detail"])
        return Group(*parts)
    for batch in batches:
        rows = batch["mailboxes"]
        styles = ["red" if r["status"] == "Failed" else "green" if r["status"].startswith("Completed") else None
                  for r in rows]
        columns = [
            _Column("Mailbox", [escape(r["mailbox"]) for r in rows]),
            _Column("Status", [_styled(r["status"], s) for r, s in zip(rows, styles)]),
            _Column("Transferred", [human_size(r["transferred_bytes"]) for r in rows]),
            _Column("%", [str(r["percent"]) for r in rows], optional=True),
            _Column("Detail", [escape(r["status_detail"]) for r in rows], optional=True),
        ]
        table, dropped = _fit(f"{escape(batch['batch'])}: mailboxes", columns, width)
        parts.append(table)
        if any(c.header == "Detail" for c in dropped):  # the stage, below, for the rows that have one
            parts.extend(Text(f"{r['mailbox']}: {r['status_detail']}", style="dim")
                         for r in rows if r["status_detail"] and r["status"] != "Completed")
        for row, style in zip(rows, styles):
            if row["detail"]:  # Exchange's message in full, under the table (a column would squeeze it)
                parts.append(Text.assemble((row["mailbox"], style or "bold"), ": ", row["detail"]))
    return Group(*parts)


def _waves_table(waves: Sequence[dict[str, Any]], width: int) -> Table:
    state_style = {"completed": "green", "ready": "green", "completing": "green", "failed": "red"}
    columns = [
        _Column("Wave", [escape(w["wave"]) for w in waves]),
        _Column("Sync batch", [escape(", ".join(w["sync_batches"])) for w in waves]),
        _Column("State", [_styled(w["state"], state_style.get(w["state"])) for w in waves]),
        _Column("Total", [str(w["mailboxes"]) for w in waves], optional=True),
        _Column("Synced", [str(w["synced"]) for w in waves]),
        _Column("Completing", [str(w["completing"]) for w in waves]),
        _Column("Completed", [str(w["completed"]) for w in waves]),
        _Column("Failed", [str(w["failed"]) for w in waves]),
        _Column("Not synced", [str(w["syncing"] + w["not_found"]) for w in waves], optional=True),
    ]
    table, _ = _fit("Completion waves (ready: every mailbox synced, none failed)", columns, width)
    return table


# ---------------------------------------------------------------- complete


def complete_what_if_doc(items: Sequence[CompletionItem], lines: list[str], at: dt.datetime,
                         method: str) -> dict[str, Any]:
    rows = [{"mailbox": i.mailbox, "action": _completion_action(i), "status": i.status, "detail": i.reason}
            for i in items]
    return {"what_if": True, "run_id": None, "resumed": False, "complete_after": iso_z(at), "method": method,
            "commands": lines, "items": rows, "summary": _counts(r["action"] for r in rows), "warnings": []}


def _completion_action(item: CompletionItem) -> str:
    return {Readiness.COMPLETE: "complete", Readiness.SIGNALLED: "follow"}.get(item.readiness, "none")


def completion_skips(items: Sequence[CompletionItem]) -> list[str]:
    """``--what-if``'s comment lines for the mailboxes not completed, with why."""
    return [f"# {i.mailbox}: {i.readiness.value}: {i.reason}" for i in items if i.readiness is not Readiness.COMPLETE]


def complete_doc(results: Sequence[CompletionResult], at: dt.datetime, method: str, run_id: str | None,
                 resumed: bool, warnings: Sequence[str] = ()) -> dict[str, Any]:
    rows = [{"mailbox": r.mailbox, "action": _word(r.action), "outcome": _word(r.outcome), "status": r.status,
             "detail": r.detail} for r in results]
    return {"what_if": False, "run_id": run_id, "resumed": resumed, "complete_after": iso_z(at), "method": method,
            "items": rows, "summary": _counts(r["outcome"] for r in rows), "warnings": list(warnings)}


def complete_table(results: Sequence[CompletionResult], at: dt.datetime, method: str, width: int) -> RenderableType:
    """Mailbox, action, outcome (and the move's status when it fits); details beside them when they fit
    whole, else under the table in full (Exchange's failure reason is never cut)."""
    columns = [
        _Column("Mailbox", [escape(r.mailbox) for r in results]),
        _Column("Action", [_word(r.action) for r in results]),
        _Column("Outcome", [_styled(_word(r.outcome), _fine(r.outcome)) for r in results]),
        _Column("Status", [escape(r.status) for r in results], optional=True),
    ]
    used = sum(c.whole for c in columns[:3]) + 3 * 4 + 1
    longest = max((len(r.detail) for r in results), default=0)
    beside = longest and used + longest + 3 <= width
    if beside:
        columns.append(_Column("Detail", [escape(r.detail) for r in results]))
    table, _ = _fit(f"Completion (CompleteAfter {show_time(at)}, method {method})", columns, width)
    parts: list[RenderableType] = [table]
    if not beside:
        parts.extend(Text.assemble((r.mailbox, _fine(r.outcome) or "bold"), ": ", r.detail)
                     for r in results if r.detail)
    return Group(*parts)


def completion_lines(pipelines: Sequence[Pipeline], ready: Sequence[str]) -> list[str]:
    """The completion pipelines for ``ready``, as pasteable PowerShell lines."""
    return [p.render(list(ready)) for p in pipelines] if ready else []


def print_applied(console: Any, err_console: Any, view: RenderableType, *, commands: Sequence[str], what_if: bool,
                  run_id: str | None, resumed: bool, nothing: str) -> None:
    """How ``remediate`` and ``remove-completed`` end in table mode: under ``--what-if`` the exact PowerShell on stdout
    (``nothing`` on stderr when there is none) and the table on stderr; otherwise the table, then the journal run."""
    if what_if:
        for line in commands:
            write_script_line(console, line)
        if not commands:
            err_console.print(nothing, highlight=False, markup=False)
    (err_console if what_if else console).print(view, highlight=False)
    if run_id:
        err_console.print(f"journal run {run_id}" + (" (resumed)" if resumed else ""), highlight=False)
