"""Reading every input shape and quirk, with files written by other writers than our reader."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from hybridkit.batches import Kind, load_inputs
from hybridkit.tables import parse_size
from tests.batches._org import MAILBOX_HEADER, csv_text, person, write_csv

SAMPLES = Path(__file__).with_name("export-samples")


def test_real_export_samples_are_recognised_with_their_file_rows() -> None:
    inputs = load_inputs(sorted(SAMPLES.glob("*.csv")))
    kinds = {Path(t.file).stem: t.kind for t in inputs.tables}
    assert kinds == {
        "calendar": Kind.FOLDER,
        "fullaccess": Kind.FULLACCESS,
        "mailboxes": Kind.MAILBOXES,
        "sendas": Kind.SENDAS,
        "sendonbehalf": Kind.SENDONBEHALF,
        "sizes": Kind.SIZES,
    }
    assert not inputs.problems
    box = next(t for t in inputs.tables if t.kind is Kind.MAILBOXES)
    # line 1 is #TYPE, line 2 the header: the first mailbox is on line 3
    assert box.rows[0] == 3
    assert box.columns["primarysmtpaddress"][0] == "mallory.c.nguyen2@contoso.com"
    assert box.columns["displayname"][1] == "Søren W. Jones"  # UTF-8 behind a BOM


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8-sig", ","), ("utf-8", ","), ("utf-16", ","), ("utf-16-le", ","), ("cp1252", ";"), ("utf-8", "\t")],
)
def test_encodings_and_delimiters(tmp_path: Path, encoding: str, delimiter: str) -> None:
    rows = [person("renee"), person("soren")]
    rows[0][0] = "Renée Núñez"
    rows[1][0] = "Søren Müller"
    path = write_csv(tmp_path / "mb.csv", MAILBOX_HEADER, rows, encoding=encoding, delimiter=delimiter)
    inputs = load_inputs([path])
    assert not inputs.problems
    (table,) = inputs.tables
    assert table.kind is Kind.MAILBOXES
    assert table.columns["displayname"] == ["Renée Núñez", "Søren Müller"]
    assert table.columns["primarysmtpaddress"] == ["renee@contoso.com", "soren@contoso.com"]


def test_title_rows_blank_rows_stray_spaces_in_csv(tmp_path: Path) -> None:
    body = csv_text([" Identity ", "User", " AccessRights", "IsInherited", "Deny"], [
        ["  contoso.com/Corp/Users/A  ", " CONTOSO\\b ", "FullAccess", "False", "False"],
        ["", "", "", "", ""],
        ["contoso.com/Corp/Users/C", "CONTOSO\\d", "FullAccess", "False", "False"],
    ], type_line=False)  # fmt: skip
    path = tmp_path / "fa.csv"
    path.write_text("Mailbox permissions export\r\n\r\n" + body, encoding="utf-8")
    (table,) = load_inputs([path]).tables
    assert table.kind is Kind.FULLACCESS
    assert table.columns["identity"] == ["contoso.com/Corp/Users/A", "contoso.com/Corp/Users/C"]
    assert table.columns["user"] == ["CONTOSO\\b", "CONTOSO\\d"]
    assert table.rows == [4, 6]  # title on 1, blank on 2, header on 3, blank data row on 5


def test_excel_sep_hint_line(tmp_path: Path) -> None:
    path = tmp_path / "mb.csv"
    body = csv_text(MAILBOX_HEADER, [person("a")], delimiter=";", type_line=False)
    path.write_bytes(("sep=;\r\n" + body).encode("cp1252"))
    (table,) = load_inputs([path]).tables
    assert table.kind is Kind.MAILBOXES and table.rows == [3]
    assert table.columns["primarysmtpaddress"] == ["a@contoso.com"]


def _book_with_every_sheet(path: Path) -> None:
    book = xlsxwriter.Workbook(str(path))
    inv = book.add_worksheet("Inventory")
    inv.write(0, 0, "Contoso mailboxes as of Monday")
    inv.write_row(2, 0, MAILBOX_HEADER)
    inv.write_row(3, 0, person("a"))
    inv.write_row(5, 0, [" B ", "b", "  B@Contoso.COM ", "b@corp.contoso.com", "b", "UserMailbox",
                         "contoso.com/Corp/Users/B", "DB01", ""])  # fmt: skip
    sizes = book.add_worksheet("Sizes")
    sizes.write_row(0, 0, ["PrimarySmtpAddress", "TotalItemSizeMB"])
    sizes.write_row(1, 0, ["a@contoso.com", 1024])  # a number cell, not text
    sizes.write_row(2, 0, ["b@contoso.com", 2.5])
    fa = book.add_worksheet("FA")
    fa.write_row(0, 0, ["Identity", "User", "AccessRights", "IsInherited", "Deny"])
    fa.write_row(1, 0, ["a@contoso.com", "CONTOSO\\b", "FullAccess", False, False])  # real booleans
    book.add_worksheet("Empty")
    notes = book.add_worksheet("Notes")
    notes.write(0, 0, "Wave 1 goes on Friday")
    book.close()


def test_xlsxwriter_workbook_every_sheet_title_rows_numbers_booleans(tmp_path: Path) -> None:
    path = tmp_path / "org.xlsx"
    _book_with_every_sheet(path)
    inputs = load_inputs([path])
    by_sheet = {t.sheet: t for t in inputs.tables}
    assert set(by_sheet) == {"Inventory", "Sizes", "FA"}
    assert by_sheet["Inventory"].kind is Kind.MAILBOXES
    assert by_sheet["Inventory"].rows == [4, 6]
    assert by_sheet["Inventory"].columns["primarysmtpaddress"] == ["a@contoso.com", "B@Contoso.COM"]
    assert by_sheet["Sizes"].kind is Kind.SIZES
    assert by_sheet["Sizes"].columns["totalitemsizemb"] == ["1024", "2.5"]
    assert by_sheet["FA"].columns["isinherited"] == ["False"]
    # the free-text sheet is reported, not fatal; the empty one is ignored
    (problem,) = inputs.problems
    assert (problem.sheet, problem.blocking) == ("Notes", False)


def test_kind_forced_for_one_sheet(tmp_path: Path) -> None:
    path = tmp_path / "org.xlsx"
    _book_with_every_sheet(path)
    by_sheet = {t.sheet: t.kind for t in load_inputs([path], kind={"org.xlsx:FA": "folder"}).tables}
    assert by_sheet == {"Inventory": Kind.MAILBOXES, "Sizes": Kind.SIZES, "FA": Kind.FOLDER}


def test_openpyxl_workbook(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Permissions"
    sheet.append(["Mailbox", "User", "AccessRights"])
    sheet.append(["a@contoso.com", "b@contoso.com", "Send As"])
    book.save(tmp_path / "ft.xlsx")
    (table,) = load_inputs([tmp_path / "ft.xlsx"]).tables
    assert table.kind is Kind.FASTTRACK
    assert table.sheet == "Permissions"
    assert table.rows == [2]


def test_kind_override_and_unrecognised_csv_is_blocking(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "odd.csv", ["Identity", "Delegate"], [["a@contoso.com", "b@contoso.com"]])
    inputs = load_inputs([path])
    assert not inputs.tables
    (problem,) = inputs.problems
    assert problem.blocking and problem.file == str(path) and "--kind" in problem.reason
    # forcing a kind whose required columns are missing is still a blocking problem (not a crash)
    forced = load_inputs([path], kind="fullaccess")
    assert not forced.tables and forced.problems[0].blocking
    # a FastTrack file recognised as such, or forced per file by name
    ft = write_csv(tmp_path / "Permissions.csv", ["Mailbox", "User", "AccessRights"], [["a", "b", "FullAccess"]])
    assert load_inputs([ft]).tables[0].kind is Kind.FASTTRACK
    assert load_inputs([ft], kind={"Permissions.csv": "folder"}).tables[0].kind is Kind.FOLDER


def test_unreadable_and_corrupt_files_are_blocking_problems(tmp_path: Path) -> None:
    corrupt = tmp_path / "broken.xlsx"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a workbook")
    inputs = load_inputs([tmp_path / "missing.csv", corrupt])
    assert [p.blocking for p in inputs.problems] == [True, True]
    assert inputs.problems[0].file.endswith("missing.csv")
    assert "broken.xlsx" in inputs.problems[1].file


def test_copy_of_sample_sizes_parse(tmp_path: Path) -> None:
    shutil.copy(SAMPLES / "sizes.csv", tmp_path / "sizes.csv")
    (table,) = load_inputs([tmp_path / "sizes.csv"]).tables
    assert parse_size(table.columns["totalitemsize"][0]) == 12_166_081_109


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("4.243 GB (4,555,456,537 bytes)", 1, 4_555_456_537),
        ("512.3 KB (524,595 bytes)", 1, 524_595),
        ("0 B (0 bytes)", 1, 0),
        ("4,243 GB (4.555.456.537 bytes)", 1, 4_555_456_537),  # de-DE separators
        ("1.5 GB", 1, 1_610_612_736),
        ("744.1 MB", 1, 780_245_402),
        ("12345", 1, 12345),
        ("2.5", 1024**3, 2_684_354_560),
        ("2,5", 1024**2, 2_621_440),
        ("1,024", 1, 1024),
        ("", 1, 0),
        ("unlimited", 1, None),
        ("-5", 1, None),
    ],
)
def test_parse_size(text: str, unit: int, expected: int | None) -> None:
    assert parse_size(text, unit) == expected


def test_header_only_files_are_empty_tables_not_missing_ones(tmp_path: Path) -> None:
    inv = write_csv(tmp_path / "mb.csv", MAILBOX_HEADER, [])
    fa = write_csv(tmp_path / "fa.csv", ["Identity", "User", "AccessRights"], [], type_line=False)
    inputs = load_inputs([inv, fa])
    assert [(t.kind, len(t)) for t in inputs.tables] == [(Kind.MAILBOXES, 0), (Kind.FULLACCESS, 0)]
    assert not inputs.problems


@pytest.mark.parametrize(
    "content",
    [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b"  \n", b"\xff\xfe",
     b"#TYPE Microsoft.Exchange.Management.RecipientTasks.MailboxAcePresentationObject\r\n"],
    ids=["zero-bytes", "bom-only", "blank-lines", "spaces", "utf16-bom-only", "type-line-only"],
)
def test_an_empty_file_is_a_blocking_problem_naming_it(tmp_path: Path, content: bytes) -> None:
    # what Export-Csv leaves when nothing reached it: planning without it would silently drop every permission
    path = tmp_path / "fullaccess.csv"
    path.write_bytes(content)
    inputs = load_inputs([path])
    assert not inputs.tables
    (problem,) = inputs.problems
    assert problem.blocking and problem.file == str(path)
    assert "empty" in problem.reason


def test_a_workbook_with_only_empty_sheets_is_a_blocking_problem(tmp_path: Path) -> None:
    path = tmp_path / "perms.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Sheet1")
    book.add_worksheet("Sheet2")
    book.close()
    (problem,) = load_inputs([path]).problems
    assert problem.blocking and problem.file == str(path) and "empty" in problem.reason


@pytest.mark.parametrize("newline", ["\r", "\n", "\r\n"])
def test_cr_only_line_ends_are_read_not_dropped(tmp_path: Path, newline: str) -> None:
    # Excel for Mac's "CSV (Macintosh)" ends lines with CR alone; with a #TYPE line the whole file was dropped
    text = csv_text(["Identity", "User", "AccessRights", "IsInherited", "Deny"], [
        ["contoso.com/Corp/Users/A", "CONTOSO\\b", "FullAccess", "False", "False"],
        ["contoso.com/Corp/Users/C", "CONTOSO\\d", "FullAccess", "False", "False"],
    ]).replace("\r\n", newline)  # fmt: skip
    path = tmp_path / "fa.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    inputs = load_inputs([path])
    assert not inputs.problems
    (table,) = inputs.tables
    assert table.kind is Kind.FULLACCESS and table.rows == [3, 4]
    assert table.columns["user"] == ["CONTOSO\\b", "CONTOSO\\d"]


def test_a_cell_past_the_csv_field_limit_names_the_row(tmp_path: Path) -> None:
    rows = [person("a"), person("b"), person("c")]
    rows[1][0] = "X" * 200_000  # hostile or broken: Exchange display names hold at most 256 characters
    path = write_csv(tmp_path / "mb.csv", MAILBOX_HEADER, rows)
    (problem,) = load_inputs([path]).problems
    assert problem.blocking and problem.file == str(path) and problem.row == 4
    assert "131,072 characters" in problem.reason


@pytest.mark.parametrize(
    ("name", "transform"),
    [
        ("bom-lf", lambda t: b"\xef\xbb\xbf" + t.replace("\r\n", "\n").encode()),
        ("double-bom", lambda t: b"\xef\xbb\xbf\xef\xbb\xbf" + t.encode()),
        ("utf-16-be-bom", lambda t: b"\xfe\xff" + t.encode("utf-16-be")),
        ("utf-16-le-no-bom", lambda t: t.encode("utf-16-le")),
        ("mixed-line-ends", lambda t: t.replace("\r\n", "\n", 2).encode()),
        ("ctrl-z-at-end", lambda t: t.encode() + b"\x1a"),
    ],
)
def test_bom_and_line_end_variants_read_the_same_rows(
    tmp_path: Path, name: str, transform: Callable[[str], bytes]
) -> None:
    rows = [person("renee"), person("soren")]
    rows[0][0] = "Renée"
    path = tmp_path / f"{name}.csv"
    path.write_bytes(transform(csv_text(MAILBOX_HEADER, rows)))
    inputs = load_inputs([path])
    assert not inputs.problems
    (table,) = inputs.tables
    assert table.columns["displayname"] == ["Renée", "SOREN"] and table.rows == [3, 4]


def test_a_hidden_sheet_is_not_read_unless_named_with_kind(tmp_path: Path) -> None:
    path = tmp_path / "org.xlsx"
    book = xlsxwriter.Workbook(str(path))
    visible = book.add_worksheet("Inventory")
    visible.write_row(0, 0, MAILBOX_HEADER)
    visible.write_row(1, 0, person("a"))
    stale = book.add_worksheet("Old inventory")
    stale.write_row(0, 0, MAILBOX_HEADER)
    stale.write_row(1, 0, person("gone"))
    stale.hide()
    book.close()
    inputs = load_inputs([path])
    assert [t.sheet for t in inputs.tables] == ["Inventory"]
    (note,) = inputs.problems
    assert (note.sheet, note.blocking) == ("Old inventory", False) and "hidden sheet not read" in note.reason
    forced = load_inputs([path], kind={"org.xlsx:Old inventory": "mailboxes"})
    assert [t.sheet for t in forced.tables] == ["Inventory", "Old inventory"] and not forced.problems


def test_a_file_given_twice_is_read_once_with_a_note(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "mb.csv", MAILBOX_HEADER, [person("a")])
    inputs = load_inputs([path, tmp_path / "." / "mb.csv"])
    assert len(inputs.tables) == 1 and len(inputs.files) == 1
    (note,) = inputs.problems
    assert not note.blocking and "given twice" in note.reason
