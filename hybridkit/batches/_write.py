"""Writing a plan: ``batches/<name>.csv``, ``plan.json`` and ``plan.xlsx``, atomically (all files or none).

A plan that packs waves into sync batches also gets ``waves/<wave>.csv`` (the same EmailAddress CSV, per wave).

Files are written into a temporary directory beside the target, which is then renamed into place; an earlier plan
output in the target is replaced only after the new one is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hybridkit.batches._model import BatchPlan
from hybridkit.errors import InputError

__all__ = ["check_out", "write_plan"]

_GB = 1024**3


def _is_replaceable(path: Path) -> bool:
    if not path.exists():
        return True
    if not path.is_dir():
        return False
    entries = {p.name for p in path.iterdir()}
    return not entries or "plan.json" in entries


def check_out(out: str | Path) -> Path:
    """Check before planning that the plan can be written to ``out``: a new or earlier-plan directory whose
    parent can be created and written to (a probe directory is made and removed).

    Raises:
        InputError: ``out`` cannot hold the plan (nothing is left behind).
    """
    target = Path(out)
    if not _is_replaceable(target):
        raise InputError(f"--out {target}: exists and is not an earlier plan output; choose another --out")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        probe = target.parent / f".{target.name}.probe-{uuid.uuid4().hex[:8]}"
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise InputError(f"--out {target}: cannot write the plan there ({exc.strerror or exc})") from None
    return target


def write_plan(plan: BatchPlan, out: str | Path, *, xlsx: bool = True) -> Path:
    """Write the plan's files into directory ``out`` (created, or replaced if it holds an earlier plan).

    Raises:
        InputError: ``out`` exists and is not an earlier plan output, or cannot be written (nothing is written).
    """
    target = check_out(out)
    staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        staging.mkdir()  # (not mkdtemp: the plan directory gets the usual permissions, not 0700)
        _write_files(plan, staging, xlsx=xlsx)
        if target.exists():
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(target, old)
            os.rename(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(f"--out {target}: cannot write the plan there ({exc.strerror or exc})") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _write_csvs(folder: Path, groups: Sequence[Any]) -> None:
    folder.mkdir()
    for group in groups:
        with open(folder / f"{group.name}.csv", "w", encoding="utf-8", newline="") as handle:
            handle.write("EmailAddress\r\n")
            handle.writelines(f"{address}\r\n" for address in group.mailboxes)


def _packed(plan: BatchPlan) -> bool:
    return any(w.sync_batch != w.name for w in plan.waves)


def _write_files(plan: BatchPlan, root: Path, *, xlsx: bool) -> None:
    _write_csvs(root / "batches", plan.batches)
    if _packed(plan):
        _write_csvs(root / "waves", plan.waves)
    with open(root / "plan.json", "w", encoding="utf-8") as handle:
        json.dump(plan.to_json(), handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    if xlsx:
        _write_xlsx(plan, root / "plan.xlsx")


def _sheet(book: Any, name: str, header: Sequence[str], rows: Sequence[Sequence[Any]], bold: Any) -> Any:
    sheet = book.add_worksheet(name)
    widths = [len(h) + 2 for h in header]
    for row in rows[:500]:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], min(len(str(value)) + 2, 70))
    for i, width in enumerate(widths):
        sheet.set_column(i, i, width)
    sheet.freeze_panes(1, 0)
    sheet.write_row(0, 0, header, bold)
    for r, row in enumerate(rows, start=1):
        sheet.write_row(r, 0, ["" if v is None else v for v in row])
    sheet.autofilter(0, 0, max(len(rows), 1), len(header) - 1)
    return sheet


def _write_xlsx(plan: BatchPlan, path: Path) -> None:
    from hybridkit._xlsx import text_workbook

    # values from the inputs are text: never formulas ("=HYPERLINK(...)" in a display name) nor links
    book = text_workbook(path, constant_memory=True)
    bold = book.add_format({"bold": True})
    summary = plan.summary
    batch_rows = [[b.name, len(b.mailboxes), round(b.size_bytes / _GB, 3), "yes" if b.pinned else "",
                   b.without_size or "", len(b.waves) or 1] for b in plan.batches]  # fmt: skip
    facts: list[list[Any]] = [
        ["Mailboxes", summary["mailboxes"]],
        ["Batches (migration batches to create)", summary["batches"]],
        ["Completion waves", summary.get("waves", summary["batches"])],
        ["Total size (GB)", round(summary["total_bytes"] / _GB, 3)],
        ["Mailboxes without size (counted as 0)", summary["mailboxes_without_size"]],
        ["Hard links / soft links", f"{summary['links']['hard']} / {summary['links']['soft']}"],
        ["Cross-batch links hard / soft",
         f"{summary['cross_batch_links']['hard']} / {summary['cross_batch_links']['soft']}"],
        ["Unresolved names", summary["unresolved"]],
        ["Excluded trustees (super-connectors)", summary["excluded_trustees"]],
        ["Skipped entries (not relationships)", ", ".join(f"{k}: {v}" for k, v in summary["skipped"].items())],
        *[["Warning", w] for w in plan.warnings],
    ]  # fmt: skip
    sheet = _sheet(book, "Summary", ["Batch", "Mailboxes", "Size (GB)", "Pinned", "Without size", "Waves"],
                   batch_rows, bold)
    start = len(batch_rows) + 2
    for i, (key, value) in enumerate(facts):
        sheet.write_row(start + i, 0, [key, value])
    sheet.set_column(0, 0, max(38, max((len(b.name) for b in plan.batches), default=0) + 2))
    if batch_rows:
        chart = book.add_chart({"type": "column"})
        last = len(batch_rows)
        chart.add_series({"name": "Mailboxes", "categories": ["Summary", 1, 0, last, 0],
                          "values": ["Summary", 1, 1, last, 1]})  # fmt: skip
        line = book.add_chart({"type": "line"})
        line.add_series({"name": "Size (GB)", "categories": ["Summary", 1, 0, last, 0],
                         "values": ["Summary", 1, 2, last, 2], "y2_axis": True})  # fmt: skip
        chart.combine(line)
        chart.set_title({"name": "Mailboxes and size per batch"})
        chart.set_y_axis({"name": "Mailboxes"})
        line.set_y2_axis({"name": "GB"})
        chart.set_size({"width": 720, "height": 360})
        sheet.insert_chart(0, 7, chart)
    _sheet(book, "Batches", ["Batch", "Mailbox"], [[b.name, m] for b in plan.batches for m in b.mailboxes], bold)
    _sheet(book, "Waves", ["Wave", "Sync batch", "Mailboxes", "Size (GB)", "Pinned", "Without size"],
           [[w.name, w.sync_batch, len(w.mailboxes), round(w.size_bytes / _GB, 3), "yes" if w.pinned else "",
             w.without_size or ""] for w in plan.waves], bold)  # fmt: skip
    _sheet(book, "Mailboxes", ["Mailbox", "Display name", "Batch", "Wave", "Size (bytes)", "Why here"],
           [[p.mailbox, p.display_name, p.sync_batch or p.batch, p.batch, p.size_bytes if p.size_known else "",
             p.reason if p.size_known else f"{p.reason}; no size found (counted as 0)"]
            for p in plan.placements], bold)  # fmt: skip
    _sheet(book, "Cross-batch links", ["Mailbox", "Trustee", "Right", "Strength", "Mailbox wave", "Trustee wave"],
           [[c.mailbox, c.trustee, c.right, c.strength, c.mailbox_batch, c.trustee_batch]
            for c in plan.cross_batch_links], bold)  # fmt: skip
    _sheet(book, "Unresolved", ["File", "Sheet", "Row", "Column", "Value", "Reason"],
           [[p.file, p.sheet, p.row, p.column, p.value, p.reason] for p in plan.unresolved], bold)  # fmt: skip
    _sheet(book, "Excluded", ["Trustee", "Reason", "Mailboxes"],
           [[e.trustee, e.reason, e.mailbox_count] for e in plan.excluded_trustees], bold)  # fmt: skip
    book.close()
