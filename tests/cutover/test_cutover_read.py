"""Reading mailbox lists and plans: CSV quirks (semicolons, UTF-16, #TYPE) and workbooks."""

from __future__ import annotations

import json

import pytest
import xlsxwriter

from hybridkit.cutover._read import read_mailbox_list, read_plan
from hybridkit.errors import InputError


def test_csv_semicolon_utf16_type_line(tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes('#TYPE Selected.Microsoft.Exchange.Data.Directory.Management.Mailbox\r\n'
                     '"DisplayName";"PrimarySmtpAddress"\r\n"Ann";"Ann@Contoso.com"\r\n"Bob";"bob@contoso.com"\r\n'
                     .encode("utf-16"))
    assert read_mailbox_list(path) == ["ann@contoso.com", "bob@contoso.com"]


def test_headerless_csv_and_bad_address(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("a@contoso.com\nb@contoso.com\n")
    assert read_mailbox_list(path) == ["a@contoso.com", "b@contoso.com"]
    bad = tmp_path / "bad.csv"
    bad.write_text("EmailAddress\na@contoso.com\nnot-an-address\n")
    with pytest.raises(InputError) as info:
        read_mailbox_list(bad)
    assert info.value.row == 3


def test_xlsx_written_by_xlsxwriter(tmp_path):
    path = tmp_path / "list.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Cutover")
    sheet.write_row(0, 0, ["EmailAddress", "Wave"])
    sheet.write_row(1, 0, ["x@contoso.com", "1"])
    sheet.write_row(3, 0, ["Y@contoso.com", "1"])
    book.close()
    assert read_mailbox_list(path) == ["x@contoso.com", "y@contoso.com"]


def test_read_plan_errors(tmp_path):
    with pytest.raises(InputError, match="no plan.json"):
        read_plan(tmp_path)
    (tmp_path / "plan.json").write_text("{not json")
    with pytest.raises(InputError, match="cannot read"):
        read_plan(tmp_path)
    (tmp_path / "plan.json").write_text(json.dumps({"batches": [{"name": "B", "mailboxes": ["a@x.com"]}]}))
    assert read_plan(tmp_path)[0].mailboxes == ("a@x.com",)
