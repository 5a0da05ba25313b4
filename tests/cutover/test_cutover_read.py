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


def test_values_are_read_as_exchange_sends_them_not_as_strings():
    import datetime as dt
    import uuid

    from hybridkit.cutover._discover import _move_state, as_bytes, as_text, as_when
    from hybridkit.ps import PSObject

    when = dt.datetime(2026, 12, 5, 22, 0, tzinfo=dt.timezone.utc)
    assert as_when(when) == when and as_when(dt.datetime(2026, 12, 5, 22, 0)) == when
    assert as_when("2026-12-05T22:00:00Z") == when and as_when(None) is None and as_when(12) is None
    assert as_bytes("152.1 MB (159,450,824 bytes)") == 159_450_824 and as_bytes(42) == 42 and as_bytes(None) is None
    assert as_text(["a", "b"]) == "a, b" and as_text(None) == "" and as_text(uuid.UUID(int=1)).endswith("01")
    state = _move_state(PSObject(["Selected.Microsoft.Exchange.Management.RecipientTasks.MoveRequestStatistics"], {
        "Identity": "Ann@Contoso.com", "Status": "Synced", "StatusDetail": "IncrementalSync", "PercentComplete": 95,
        "BytesTransferred": "4.243 GB (4,555,456,537 bytes)", "TotalMailboxSize": 4_555_456_537,
        "Message": None, "CompleteAfter": when}))
    assert (state.mailbox, state.percent, state.transferred_bytes, state.size_bytes, state.complete_after) == (
        "ann@contoso.com", 95, 4_555_456_537, 4_555_456_537, when)
