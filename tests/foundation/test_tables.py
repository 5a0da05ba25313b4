"""``hybridkit.tables``: one reader for CSV/XLSX mailbox lists and tables, and one size parser, for everyone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import xlsxwriter

import hybridkit.tables as tables
from hybridkit.errors import InputError
from hybridkit.tables import (
    as_bytes,
    byte_quantity,
    is_unlimited,
    parse_size,
    read_addresses,
    read_mailbox_list,
    read_table,
)


def _hold(path: Path) -> list[str]:
    from hybridkit.hold import read_mailbox_file

    return read_mailbox_file(path)


def _cutover(path: Path) -> list[str]:
    from hybridkit.cutover._read import read_mailbox_list as cutover_list

    return cutover_list(path)


# Lists people write that one capability read and another refused or misread, before they shared one reader.
SHAPES = {
    "typed-header.csv": "E-mail;Name\r\nann@contoso.com;Ann\r\nbob@contoso.com;Bob\r\n".encode("cp1252"),
    "utf8-with-one-cp1252-line.csv": "Mailbox,Office\r\nann@contoso.com,Zürich\r\n".encode("utf-8")
    + "bob@contoso.com,Malmö\r\n".encode("cp1252"),
    "appended-export.csv": ('#TYPE Selected.Microsoft.Exchange.Data.Directory.Management.Mailbox\r\n'
                            '"DisplayName","PrimarySmtpAddress"\r\n"Ann","ann@contoso.com"\r\n'
                            '#TYPE Selected.Microsoft.Exchange.Data.Directory.Management.Mailbox\r\n'
                            '"DisplayName","PrimarySmtpAddress"\r\n"Bob","bob@contoso.com"\r\n').encode("utf-8"),
    "mac-excel.csv": b"PrimarySmtpAddress\rann@contoso.com\rbob@contoso.com\r",
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_capability_reads_a_mailbox_list_the_same_way(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(SHAPES[name])
    assert _hold(path) == ["ann@contoso.com", "bob@contoso.com"]
    assert _cutover(path) == ["ann@contoso.com", "bob@contoso.com"]


def test_a_workbook_list_skips_a_hidden_first_sheet_and_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "custodians.xlsx"
    book = xlsxwriter.Workbook(str(path))
    stale = book.add_worksheet("Old")
    stale.write_row(0, 0, ["EmailAddress"])
    stale.write_row(1, 0, ["gone@contoso.com"])
    stale.hide()
    sheet = book.add_worksheet("Case 7")
    sheet.write_row(0, 0, ["Custodians for case 7"])
    sheet.write_row(2, 0, ["Name", "Email Address"])
    sheet.write_row(3, 0, ["Ann", "Ann@Contoso.com"])
    sheet.write_row(5, 0, ["Carol", "Carol Jones"])
    sheet.activate()
    book.close()
    listed = read_mailbox_list(path)
    assert [(m.value, m.sheet, m.row) for m in listed] == [("Ann@Contoso.com", "Case 7", 4), ("Carol Jones", "Case 7", 6)]
    with pytest.raises(InputError) as err:
        read_addresses(path)
    assert str(err.value) == f"{path}, sheet 'Case 7', row 6: 'Carol Jones' is not an email address"


def test_unusable_mailbox_lists_say_what_is_wrong(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="the file is empty"):
        read_mailbox_list(empty)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a workbook")
    with pytest.raises(InputError, match="cannot read workbook"):
        read_mailbox_list(broken)
    names = tmp_path / "names.csv"
    names.write_text("Colour,Size\nred,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="no column of mailbox addresses"):
        read_mailbox_list(names)


def test_read_table_locates_rows_and_notes_what_people_should_know(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"#TYPE x\r\nsep=;\r\nName;Office\r\nAnn;Z\xfcrich\r\n" + "Bob;Malmö\r\n".encode("utf-8"))
    read = read_table(path)
    assert (read.format, read.encoding) == ("csv", "utf-8")
    (sheet,) = read.sheets
    assert sheet.rows == [["Name", "Office"], ["Ann", "Zürich"], ["Bob", "Malmö"]] and sheet.row_number(1) == 4
    assert [(n.row, n.blocking) for n in read.notes] == [(4, False)]  # the one Windows-1252 line, by file line


@pytest.mark.parametrize(("value", "expected"), [
    ("152.1 MB (159,450,824 bytes)", 159_450_824), ("0 B (0 bytes)", 0), (4_555_456_537, 4_555_456_537),
    (None, None), ("Unlimited", None), ("", None), ("not a size", None),
])
def test_as_bytes(value: object, expected: int | None) -> None:
    assert as_bytes(value) == expected


def test_sizes_for_cells_and_for_restoring_parameters() -> None:
    assert parse_size("") == 0 and parse_size("2.5", unit=1024**3) == 2_684_354_560  # cells of an export
    assert byte_quantity("35 MB (36,700,160 bytes)") == 36_700_160
    assert byte_quantity("35 MB") is None and byte_quantity("5") is None and byte_quantity(5) is None
    assert is_unlimited("Unlimited") and is_unlimited(" unlimited ") and not is_unlimited(None)


def test_decoding_and_sizes_stay_pure() -> None:
    for name in ("_decode", "_sizes"):
        tree = ast.parse(Path(tables.__file__).with_name(f"{name}.py").read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert imported <= {"__future__", "dataclasses", "re", "typing"}, name
