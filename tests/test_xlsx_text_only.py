"""Every workbook hybridkit writes keeps input text as text: a formula-shaped display name is never a live formula."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from hybridkit.hold import HoldOutcome, OutcomeStatus, write_report
from hybridkit.inventory._model import COLUMNS, Export
from hybridkit.inventory._render import write_export

EVIL = '=HYPERLINK("http://attacker.example/x","Click me")'


def _cells(path: Path) -> list[openpyxl.cell.cell.Cell]:
    book = openpyxl.load_workbook(path)
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value == EVIL]


def test_hold_report_writes_formula_shaped_text_as_text(tmp_path: Path) -> None:
    path = tmp_path / "hold.xlsx"
    write_report(path, [HoldOutcome(key="a@contoso.com", side="onprem", status=OutcomeStatus.FAILED, message=EVIL)])
    cells = _cells(path)
    assert cells and all(cell.data_type == "s" for cell in cells)


def test_inventory_export_writes_formula_shaped_text_as_text(tmp_path: Path) -> None:
    row = {column: "x" for column in COLUMNS[Export.MAILBOXES]}
    row["DisplayName"] = EVIL
    path = write_export(tmp_path, Export.MAILBOXES, [row], "xlsx")
    cells = _cells(path)
    assert cells and all(cell.data_type == "s" for cell in cells)
