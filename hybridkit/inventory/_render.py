"""What the crawl writes and shows: the export files, ``manifest.json``, the console table and ``--output json``.

CSV is written the way Windows PowerShell's ``Export-Csv -Encoding UTF8`` writes it: UTF-8 with BOM, a ``#TYPE``
line where the real export has one, every value double-quoted, CRLF line ends. XLSX: one workbook per export with
one sheet and the same header row (what ``hybridkit batches plan`` reads).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hybridkit._xlsx import text_workbook
from hybridkit.inventory._model import COLUMNS, TYPE_LINES, Export, Manifest

__all__ = ["inventory_json", "print_manifest", "write_export", "write_manifest"]


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def write_export(out_dir: Path, export: Export, rows: Iterable[Mapping[str, str]], fmt: str) -> Path:
    """Write one export (``mailboxes.csv`` / ``mailboxes.xlsx`` ...) atomically; returns its path."""
    columns = COLUMNS[export]
    path = out_dir / f"{export.value}.{fmt}"
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "xlsx":
        book = text_workbook(tmp, constant_memory=True)
        try:
            sheet = book.add_worksheet(export.value)
            sheet.write_row(0, 0, columns)
            for at, row in enumerate(rows, start=1):
                sheet.write_row(at, 0, [row.get(c, "") for c in columns])
        finally:
            book.close()
    else:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            if export in TYPE_LINES:
                fh.write(TYPE_LINES[export] + "\r\n")
            fh.write(",".join(_quote(c) for c in columns) + "\r\n")
            for row in rows:
                fh.write(",".join(_quote(row.get(c, "")) for c in columns) + "\r\n")
    os.replace(tmp, path)
    return path


def write_manifest(out_dir: Path, manifest: Manifest) -> Path:
    """``manifest.json`` beside the exports (atomically)."""
    data = dataclasses.asdict(manifest)
    path = out_dir / "manifest.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


def inventory_json(manifest: Manifest, out: Path) -> dict[str, Any]:
    """``--output json``: the README's vocabulary (items with outcome/detail, run_id, resumed, summary)."""
    items: list[dict[str, Any]] = [
        {"kind": "file", "name": f"{name}.{manifest.format}", "rows": count, "outcome": "written", "detail": None}
        for name, count in manifest.counts.items()
    ]
    items += [
        {"kind": "mailbox", "mailbox": f.mailbox, "side": f.side or None, "stage": f.stage, "outcome": "failed",
         "detail": f.message}
        for f in manifest.failures
    ]
    summary: dict[str, int] = {}
    for item in items:
        summary[item["outcome"]] = summary.get(item["outcome"], 0) + 1
    return {
        "run_id": manifest.run_id, "resumed": manifest.resumed, "out": str(out), "format": manifest.format,
        "started_at": manifest.started_at, "finished_at": manifest.finished_at, "sources": manifest.sources,
        "includes": list(manifest.includes), "mailboxes": manifest.mailboxes, "items": items, "summary": summary,
        "warnings": [], "wsman_requests": manifest.requests,
    }


def print_manifest(console: Console, manifest: Manifest, out: Path) -> None:
    """The files written and their rows, every failure in full under the table (Exchange's own words), a total."""
    table = Table(title=f"Inventory in {escape(str(out))}" + (" (resumed)" if manifest.resumed else ""))
    table.add_column("Export", overflow="fold")
    table.add_column("Rows", justify="right")
    for name, count in manifest.counts.items():
        table.add_row(f"{name}.{manifest.format}", str(count))
    console.print(table)
    for f in manifest.failures:
        where = f"{f.side} {f.stage}" if f.side else f.stage
        console.print(f"[red]failed:[/] {escape(f.mailbox)} ({escape(where)}): {escape(f.message)}", highlight=False)
    console.print(
        f"{sum(manifest.mailboxes.values())} mailboxes "
        f"({', '.join(f'{k}: {v}' for k, v in manifest.mailboxes.items())}),"
        f" {len(manifest.failures)} per-mailbox failure(s), {manifest.requests} requests to Exchange; see manifest.json",
        highlight=False)
