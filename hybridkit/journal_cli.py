"""``hybridkit journal list|show|unlock``: what runs did, step by step, from the run journal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hybridkit._tables import Column, fitted_table
from hybridkit.cli_support import app_context, emit_json, jsonable
from hybridkit.errors import ConfigError, InputError, PlanError
from hybridkit.journal import DEFAULT_JOURNAL, Journal, RunRecord, StepState

__all__ = ["app"]

app = typer.Typer(help="The run journal (.hybridkit/journal.sqlite): runs, their steps and outcomes.",
                  no_args_is_help=True)

JournalOption = Annotated[Path, typer.Option("--journal", help="Journal file.", envvar="HYBRIDKIT_JOURNAL")]
_STATE_STYLE = {StepState.DONE: "green", StepState.FAILED: "red", StepState.STARTED: "yellow",
                StepState.PENDING: "dim"}


def _existing(path: Path) -> Journal:
    if not path.exists():
        raise ConfigError(f"{path}: no run journal here yet (runs write one in ./.hybridkit/)")
    return Journal(path)


@app.command("list")
def list_runs(
    ctx: typer.Context,
    journal: JournalOption = DEFAULT_JOURNAL,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many runs to list.")] = 20,
) -> None:
    """The most recent runs, newest first."""
    app_ctx = app_context(ctx)
    with _existing(journal) as j:
        runs = j.list_runs(limit)
        counts = {r.run_id: _counts(j, r.run_id) for r in runs}
    if app_ctx.json:
        summary: dict[str, int] = {}
        for r in runs:
            summary[r.status.value] = summary.get(r.status.value, 0) + 1
        emit_json(app_ctx, {"journal": str(journal), "items": [{**_run_data(r), "steps": counts[r.run_id]}
                                                               for r in runs], "summary": summary, "warnings": []})
        return
    # Never cropped: at a narrow width the least useful columns are left out whole (and the caption says so).
    columns = [Column("run", wrap=False), Column("status", wrap=False), Column("kind", wrap=False, drop=1),
               Column("steps", wrap=False, drop=3, justify="right"), Column("started (UTC)", drop=2),
               Column("profile", drop=4)]
    rows = [[r.run_id, r.status.value, r.kind,
             f"{counts[r.run_id]['done']}/{counts[r.run_id]['failed']}/"
             f"{counts[r.run_id]['pending'] + counts[r.run_id]['started']}",
             r.started_at[:19].replace("T", " "), escape((r.profile or "").replace(",", ", "))] for r in runs]
    table, left_out = fitted_table(app_ctx.console.width, columns, rows, title=f"Runs in {escape(str(journal))}")
    caption = "steps: done/failed/open" if "steps" not in left_out else ""
    if left_out:  # said, never silently lost; JSON has every field
        caption += ("; " if caption else "") + f"{', '.join(left_out)} left out at this width (-o json has all)"
    table.caption = caption
    app_ctx.console.print(table)


def _counts(j: Journal, run_id: str) -> dict[str, int]:
    counts = {s.value: 0 for s in StepState}
    for step in j.steps(run_id):
        counts[step.state.value] += 1
    return counts


def _run_data(r: RunRecord) -> dict[str, object]:
    """A run for ``--output json``: ``run_id``, ``kind``, ``status``, times ISO 8601 UTC (``...Z``), ``error``."""
    data = jsonable(r)
    assert isinstance(data, dict)
    return data


@app.command("show")
def show(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="Run id (a unique prefix will do).")],
    journal: JournalOption = DEFAULT_JOURNAL,
) -> None:
    """One run: its command line, status and every step with its state and outcome."""
    app_ctx = app_context(ctx)
    with _existing(journal) as j:
        record = _find_run(j, run)
        steps = j.steps(record.run_id)
    if app_ctx.json:
        summary: dict[str, int] = {}
        for s in steps:
            summary[s.state.value] = summary.get(s.state.value, 0) + 1
        emit_json(app_ctx, {**_run_data(record), "items": [
            {"step": s.seq + 1, "key": s.key, "target": s.target, "command": s.rendered, "state": s.state.value,
             "attempts": s.attempts, "outcome": s.outcome, "error_class": s.error_class, "detail": s.error}
            for s in steps], "summary": summary, "warnings": []})
        return
    console = app_ctx.console
    console.print(f"[bold]{record.run_id}[/] {escape(record.kind)} [bold]{record.status.value}[/]  "
                  f"{record.started_at} → {record.ended_at or '…'}  profile {escape(record.profile or '-')}",
                  highlight=False)
    console.print(f"command: {record.command_line}", markup=False, highlight=False)
    if record.error:
        console.print(f"stopped by: {record.error}", markup=False, highlight=False, style="red")
    table = Table()
    for column in ("#", "target", "state", "tries", "command / error"):
        table.add_column(column, overflow="fold")
    for s in steps:
        # Commands and Exchange's messages are text, not Rich markup ("[string]", "[Server=EX01]" stay as written).
        shown = _shortened(s.rendered)
        detail = escape(shown) if s.error is None else f"{escape(shown)}\n[red]{escape(f'{s.error_class}: {s.error}')}[/]"
        table.add_row(str(s.seq + 1), escape(s.target), f"[{_STATE_STYLE[s.state]}]{s.state.value}[/]",
                      str(s.attempts), detail)
    console.print(table)


_ITEMS_SHOWN = 3


def _shortened(rendered: str) -> str:
    """A step whose pipeline is fed a long array (a chunk of 2,000 mailboxes) shows its first items and how many
    there are; the command itself stays whole. ``-o json`` gives the step exactly as journaled."""
    if not rendered.startswith("@("):
        return rendered
    items: list[str] = []
    depth, quoted, start = 0, False, 2
    for at, char in enumerate(rendered):
        if char == "'":
            quoted = not quoted  # '' inside a quoted string toggles twice: still quoted
        elif quoted:
            continue
        elif char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
            if depth == 0:
                items.append(rendered[start:at])
                rest = rendered[at + 1:]
                if len(items) <= _ITEMS_SHOWN:
                    return rendered
                head = ",".join(items[:_ITEMS_SHOWN])
                return f"@({head},… ({len(items):,} items)){rest}"
        elif char == "," and depth == 1:
            items.append(rendered[start:at])
            start = at + 1
    return rendered


def _find_run(j: Journal, run: str) -> RunRecord:
    """The run with this id or unique id prefix; an ambiguous prefix names the runs it matches."""
    try:
        return j.get_run(run)
    except PlanError:
        matches = [r.run_id for r in j.list_runs(1000) if r.run_id.startswith(run)]
        if len(matches) > 1:
            shown = ", ".join(matches[:5]) + (f" and {len(matches) - 5} more" if len(matches) > 5 else "")
            raise InputError(f"run id prefix {run!r} matches {len(matches)} runs ({shown}); give more of it") from None
        raise


@app.command("unlock")
def unlock(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="Run id whose process is gone.")],
    journal: JournalOption = DEFAULT_JOURNAL,
) -> None:
    """Release a dead run's plan lock (a lock held by a live process on this host is never stale)."""
    app_ctx = app_context(ctx)
    with _existing(journal) as j:
        released = j.release_lock(run)
    app_ctx.err_console.print("lock released" if released else "that run held no lock")
