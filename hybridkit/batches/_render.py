"""What ``batches plan`` and ``batches validate`` show: the problem, inputs and summary tables and the validation
JSON (files on disk are ``_write``'s)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from hybridkit.batches._model import BatchPlan, PlanInputs, Problem

__all__ = ["inputs_table", "problem_table", "summary_table", "validation_json"]

MAX_ROWS = 40
_VALUE_SHOWN = 200  # a longer cell (hostile or broken input) is shown cut, marked, in full in -o json


def problem_table(problems: list[Problem], title: str) -> Table:
    table = Table(title=title, title_justify="left", expand=True)
    table.add_column("", no_wrap=True)
    table.add_column("Where", overflow="fold", ratio=3)  # "fullaccess.csv row 6, User": one column, readable at 80
    table.add_column("Value", overflow="fold", ratio=2)
    table.add_column("Problem", overflow="fold", ratio=3)
    ordered = sorted(problems, key=lambda p: not p.blocking)
    for p in ordered[:MAX_ROWS]:
        value = p.value
        if len(value) > _VALUE_SHOWN:
            value = f"{value[:_VALUE_SHOWN]}… ({len(value):,} characters)"
        where = (Path(p.file).name if p.file else "") + (f" sheet {p.sheet!r}" if p.sheet else "") + (
            f" row {p.row}" if p.row is not None else "") + (f", {p.column}" if p.column else "")
        table.add_row("[red]blocking[/]" if p.blocking else "[yellow]note[/]", escape(where), escape(value),
                      escape(p.reason))
    if len(ordered) > MAX_ROWS:
        table.caption = f"... and {len(ordered) - MAX_ROWS} more"
    return table


def validation_json(loaded: PlanInputs, problems: list[Problem]) -> dict[str, Any]:
    """Every input file (format, encoding, kind, rows, sheets, its problems) and every problem, with counts."""
    by_file: dict[str, list[Problem]] = {}
    for p in problems:
        by_file.setdefault(p.file, []).append(p)
    items = []
    for f in loaded.files:
        tables = [t for t in loaded.tables if t.file == f.file]
        sheets = [{"sheet": t.sheet, "kind": t.kind.value, "rows": len(t)} for t in tables if t.sheet is not None]
        items.append({
            "file": f.file,
            "format": f.format,
            "encoding": f.encoding,
            "kind": tables[0].kind.value if f.format == "csv" and tables else None,
            "rows": sum(len(t) for t in tables),
            "sheets": sheets,
            "problems": [p.to_json() | {"blocking": p.blocking} for p in by_file.get(f.file, [])],
        })  # fmt: skip
    blocking = sum(1 for p in problems if p.blocking)
    return {
        "inputs": items,
        "problems": [p.to_json() | {"blocking": p.blocking} for p in problems],
        "blocking": blocking,
        "summary": {"files": len(items), "blocking": blocking, "notes": len(problems) - blocking},
        "warnings": [],
    }


def inputs_table(loaded: PlanInputs) -> Table:
    table = Table(title="Inputs", title_justify="left")
    for column in ("File", "Sheet", "Kind", "Rows", "Encoding"):
        table.add_column(column, overflow="fold", justify="right" if column == "Rows" else "left")
    for f in loaded.files:
        tables = [t for t in loaded.tables if t.file == f.file]
        encoding = f.encoding or (f.format or "")
        if not tables:
            state = "not recognised" if f.format else "not read"
            table.add_row(escape(Path(f.file).name), "", f"[red]{state}[/]", "", escape(encoding))
        for t in tables:
            table.add_row(escape(Path(t.file).name), escape(t.sheet or ""), t.kind.value, str(len(t)), escape(encoding))
    return table


def summary_table(plan: BatchPlan, out: Path) -> Table:
    s = plan.summary
    packed = bool(s.get("sync_batches_packed"))
    waves = f" ({s['waves']} completion waves)" if packed else ""
    title = f"{s['batches']} batches{waves} for {s['mailboxes']} mailboxes -> {escape(str(out))}"
    unsized = s["mailboxes_without_size"] > 0 and s["mailboxes_without_size"] < s["mailboxes"]
    table = Table(title=title, title_justify="left")
    table.add_column("Batch", overflow="fold")
    table.add_column("Mailboxes", justify="right", overflow="fold")
    table.add_column("Size (GB)", justify="right", overflow="fold")
    if unsized:
        table.add_column("Without size", justify="right", overflow="fold")
    if packed:
        table.add_column("Waves", justify="right", overflow="fold")
    table.add_column("Pinned", overflow="fold")
    for batch in plan.batches[:MAX_ROWS]:
        cells = [escape(batch.name), str(len(batch.mailboxes)), f"{batch.size_bytes / 1024**3:,.1f}"]
        cells += [str(batch.without_size or "")] if unsized else []
        cells += [str(len(batch.waves))] if packed else []
        table.add_row(*cells, "yes" if batch.pinned else "")
    if len(plan.batches) > MAX_ROWS:
        table.add_row(f"... {len(plan.batches) - MAX_ROWS} more", *[""] * (len(table.columns) - 1))
    cross = s["cross_batch_links"]
    skipped = ", ".join(f"{k} {v}" for k, v in s["skipped"].items()) or "none"
    table.caption = (
        f"links hard {s['links']['hard']} / soft {s['links']['soft']}; crossing {'waves' if packed else 'batches'} "
        f"hard {cross['hard']} / "
        f"soft {cross['soft']}; unresolved {s['unresolved']}; super-connectors {s['excluded_trustees']}; "
        f"skipped {skipped}"
    )
    table.caption_justify = "left"
    return table
