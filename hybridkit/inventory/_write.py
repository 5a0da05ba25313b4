"""Writing the exports the way Windows PowerShell's ``Export-Csv -Encoding UTF8`` writes them, or as workbooks.

CSV: UTF-8 with BOM, a ``#TYPE`` line where the real export has one, every value double-quoted, CRLF line ends.
XLSX: one workbook per export with one sheet and the same header row (what ``hybridkit batches plan`` reads).
Part files (``.parts/``) hold each finished crawl step's rows so an interrupted crawl resumes without re-reading.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hybridkit.inventory._model import COLUMNS, TYPE_LINES, Export, Manifest

__all__ = ["PARTS", "read_part", "write_export", "write_json_atomic", "write_manifest", "write_part"]

PARTS = ".parts"


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def write_export(out_dir: Path, export: Export, rows: Iterable[Mapping[str, str]], fmt: str) -> Path:
    """Write one export (``mailboxes.csv`` / ``mailboxes.xlsx`` ...) atomically; returns its path."""
    columns = COLUMNS[export]
    path = out_dir / f"{export.value}.{fmt}"
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "xlsx":
        from hybridkit._xlsx import text_workbook

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


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)


def _part_path(out_dir: Path, key: str) -> Path:
    return out_dir / PARTS / (key.replace("/", "__") + ".json")


def write_part(out_dir: Path, key: str, data: dict[str, Any]) -> None:
    """Persist a finished step's rows and failures (before the journal marks the step done)."""
    write_json_atomic(_part_path(out_dir, key), data)


def read_part(out_dir: Path, key: str) -> dict[str, Any] | None:
    path = _part_path(out_dir, key)
    if not path.exists():
        return None
    return dict(json.loads(path.read_text(encoding="utf-8")))


def write_manifest(out_dir: Path, manifest: Manifest) -> Path:
    data = dataclasses.asdict(manifest)
    path = out_dir / "manifest.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path
