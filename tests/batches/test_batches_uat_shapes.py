"""Acceptance: export shapes met in the field (Get-RecipientPermission, FastTrack, Out-File, Excel cp1252)."""

from __future__ import annotations

from pathlib import Path

from hybridkit.batches import PlanOptions, load_inputs, plan_batches
from tests.batches._org import csv_text, inventory, write_csv

RECIPIENT_PERMISSION = ["Identity", "Trustee", "AccessControlType", "AccessRights", "IsInherited", "InheritanceType"]


def test_get_recipientpermission_deny_rows_are_not_links(tmp_path: Path) -> None:
    """Get-RecipientPermission says Deny in AccessControlType (it has no Deny column): such a row is no SendAs."""
    paths = [
        inventory(tmp_path / "mailboxes.csv", ["a1", "a2", "a3"]),
        write_csv(tmp_path / "recipientpermission.csv", RECIPIENT_PERMISSION, [
            ["A1", "a2@contoso.com", "Allow", "SendAs", "False", "None"],
            ["A1", "NT AUTHORITY\\SELF", "Allow", "SendAs", "False", "None"],
            ["A3", "a1@contoso.com", "Deny", "SendAs", "False", "None"],
        ]),  # fmt: skip
    ]
    doc = plan_batches(load_inputs(paths), PlanOptions(max_mailboxes=2)).to_json()
    assert doc["summary"]["links"] == {"hard": 1, "soft": 0}
    assert doc["summary"]["skipped"].get("deny") == 1
    assert doc["cross_batch_links"] == []


def test_object_name_from_canonical_identity_or_name_column_resolves(tmp_path: Path) -> None:
    """Exchange Online and Get-RecipientPermission name a mailbox by its Name ("Mallory C. Nguyen2" in the
    export samples), which can differ from DisplayName; the canonical Identity's last part is that Name."""
    header = ["DisplayName", "Name", "PrimarySmtpAddress", "Identity", "DistinguishedName"]
    rows = [
        ["Mallory Nguyen", "", "m2@contoso.com", "contoso.com/Corp/Users/Mallory C. Nguyen2", ""],
        ["Mallory Nguyen", "", "m1@contoso.com", "contoso.com/Corp/Users/Mallory C. Nguyen", ""],
        ["Smith, John", "jsmith", "js@contoso.com", "", "CN=Smith\\, John,OU=Users,DC=contoso,DC=com"],
        ["Ann Lee", "Ann Lee", "al1@contoso.com", "contoso.com/Corp/Sales/Ann Lee", ""],
        ["Ann Lee", "Ann Lee", "al2@contoso.com", "contoso.com/Corp/HR/Ann Lee", ""],
    ]
    perms = write_csv(tmp_path / "recipientpermission.csv", RECIPIENT_PERMISSION, [
        ["Mallory C. Nguyen2", "Mallory C. Nguyen", "Allow", "SendAs", "False", "None"],
        ["jsmith", "Smith, John", "Allow", "SendAs", "False", "None"],
        ["Mallory C. Nguyen2", "Ann Lee", "Allow", "SendAs", "False", "None"],
    ], type_line=False)  # fmt: skip
    inputs = load_inputs([write_csv(tmp_path / "mailboxes.csv", header, rows), perms])
    doc = plan_batches(inputs, PlanOptions()).to_json()
    assert doc["summary"]["links"]["hard"] == 1  # m2 <- m1 (jsmith/Smith, John is the same mailbox: self)
    together = next(b["mailboxes"] for b in doc["batches"] if "m2@contoso.com" in b["mailboxes"])
    assert "m1@contoso.com" in together
    [unresolved] = doc["unresolved"]
    assert unresolved["value"] == "Ann Lee" and "ambiguous" in unresolved["reason"]


def test_unrecognised_header_says_which_export_it_resembles_and_what_column_is_missing(tmp_path: Path) -> None:
    """An export saved without its User column is a missing column, not 'a header this tool recognises'."""
    fa = write_csv(tmp_path / "fullaccess.csv", ["Identity", "AccessRights", "IsInherited"],
                   [["a1", "FullAccess", "False"]])
    cal = write_csv(tmp_path / "calendar.csv", ["Mailbox", "FolderName", "AccessRights"],
                    [["a1", "Calendar", "Editor"]])
    junk = write_csv(tmp_path / "notes.csv", ["Name", "Size"], [["x", "1"]], type_line=False)
    problems = {Path(p.file).name: p for p in load_inputs([fa, cal, junk]).problems}
    assert "looks like a fullaccess export without a User column" in problems["fullaccess.csv"].reason
    assert "looks like a folder export without a User column" in problems["calendar.csv"].reason
    assert "looks like" not in problems["notes.csv"].reason and problems["notes.csv"].blocking


def test_rights_lost_by_export_csv_are_a_blocking_problem_with_the_fix(tmp_path: Path) -> None:
    """`Get-MailboxPermission | Export-Csv` from a remote session writes "System.Collections.ArrayList" for
    AccessRights: every row would silently be skipped as "other rights"; it must stop the plan and say why."""
    paths = [
        inventory(tmp_path / "mailboxes.csv", ["a1", "a2", "a3"]),
        write_csv(tmp_path / "fullaccess.csv", ["Identity", "User", "AccessRights", "IsInherited", "Deny"], [
            ["A1", "CONTOSO\\a2", "System.Collections.ArrayList", "False", "False"],
            ["A3", "CONTOSO\\a1", "System.Collections.ArrayList", "False", "False"],
        ]),
        write_csv(tmp_path / "sendas.csv", ["Identity", "User", "ExtendedRights", "IsInherited", "Deny"], [
            ["A1", "CONTOSO\\a3", "Send-As", "False", "False"],
        ]),
    ]  # fmt: skip
    inputs = load_inputs(paths)
    from hybridkit.batches._plan import validate_inputs

    blocking = [p for p in validate_inputs(inputs) if p.blocking]
    assert len(blocking) == 1 and blocking[0].row == 3 and blocking[0].column == "AccessRights"
    assert "lost the rights" in blocking[0].reason and "-join" in blocking[0].reason


def test_sendonbehalf_exported_without_joining_is_a_blocking_problem(tmp_path: Path) -> None:
    from hybridkit.batches._plan import validate_inputs

    paths = [
        inventory(tmp_path / "mailboxes.csv", ["a1", "a2"]),
        write_csv(tmp_path / "sendonbehalf.csv", ["PrimarySmtpAddress", "GrantSendOnBehalfTo"], [
            ["a1@contoso.com", "a2@contoso.com"],
            ["a2@contoso.com", "System.Collections.ArrayList"],
        ], type_line=False),
    ]  # fmt: skip
    blocking = [p for p in validate_inputs(load_inputs(paths)) if p.blocking]
    assert len(blocking) == 1 and blocking[0].row == 3 and "-join ';'" in blocking[0].reason


def test_validate_table_says_where_in_one_readable_cell_at_80_columns(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hybridkit.cli import app

    bad = write_csv(tmp_path / "inventory.csv", ["DisplayName", "PrimarySmtpAddress"],
                    [["Ann", "ann@contoso.com"], ["Ann again", "ANN@contoso.com"], ["Bob", "bob(at)contoso.com"]])
    result = CliRunner().invoke(app, ["batches", "validate", str(bad)], terminal_width=80)
    assert result.exit_code == 2
    assert "inventory.csv row 4," in result.output and "inventory.csv row 5," in result.output, result.output
    assert "duplicate mailbox" in result.output and "malformed primary SMTP" in result.output


def test_values_with_brackets_are_reported_not_a_markup_traceback(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hybridkit.cli import app

    bad = write_csv(tmp_path / "inv [b].csv", ["DisplayName", "PrimarySmtpAddress"], [["Ann", "[/x]"]])
    for args in (["batches", "plan", str(bad), "--out", str(tmp_path / "out")], ["batches", "validate", str(bad)]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "[/x]" in result.output and "malformed" in result.output and "inv [b].csv" in result.output


def test_plan_workbook_writes_names_from_the_inputs_as_text_never_formulas(tmp_path: Path) -> None:
    """A display name such as "=HYPERLINK(...)" (or "-2+3") must reach plan.xlsx as text: no formula injection."""
    import openpyxl

    from hybridkit.batches._write import write_plan

    header = ["DisplayName", "PrimarySmtpAddress"]
    rows = [['=HYPERLINK("http://evil.example","x")', "a1@contoso.com"], ["http://example.com/b", "b1@contoso.com"]]
    plan = plan_batches(load_inputs([write_csv(tmp_path / "mailboxes.csv", header, rows)]), PlanOptions())
    write_plan(plan, tmp_path / "out", xlsx=True)
    sheet = openpyxl.load_workbook(tmp_path / "out" / "plan.xlsx")["Mailboxes"]
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row if isinstance(c.value, str) and "http" in c.value]
    assert len(cells) == 2 and all(c.data_type == "s" and not c.hyperlink for c in cells)


def test_header_repeated_by_out_file_append_is_not_data(tmp_path: Path) -> None:
    """`... | ConvertTo-Csv | Out-File -Append` per mailbox repeats the #TYPE line and the header in the file."""
    header = ["Identity", "User", "AccessRights", "IsInherited", "Deny"]
    chunks = [
        csv_text(header, [["contoso.com/Corp/Users/A1", "CONTOSO\\a2", "FullAccess", "False", "False"]]),
        csv_text(header, [["contoso.com/Corp/Users/A2", "CONTOSO\\a3", "FullAccess", "False", "False"]]),
    ]
    (tmp_path / "fullaccess.csv").write_bytes(b"\xff\xfe" + "".join(chunks).encode("utf-16-le"))
    inputs = load_inputs([inventory(tmp_path / "mailboxes.csv", ["a1", "a2", "a3"]), tmp_path / "fullaccess.csv"])
    table = next(t for t in inputs.tables if t.kind.value == "fullaccess")
    assert len(table) == 2 and table.rows == [3, 6]
    doc = plan_batches(inputs, PlanOptions()).to_json()
    assert doc["unresolved"] == [] and doc["summary"]["links"]["soft"] == 2
