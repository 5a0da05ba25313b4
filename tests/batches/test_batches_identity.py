"""Identity resolution: every way an export names a mailbox, and never guessing."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridkit.batches import BatchInputError, PlanOptions, load_inputs, plan_batches
from tests.batches._org import MAILBOX_HEADER, person, write_csv


@pytest.fixture()
def org(tmp_path: Path) -> Path:
    rows = [person("alice"), person("bob"), person("carol"), person("dave")]
    rows[0][6] = "CN=Alice,OU=Users,DC=contoso,DC=com"  # Identity as a DN for one of them
    rows[2][0] = rows[3][0] = "Sam Twin"  # an ambiguous display name
    rows.append(["Sales Readers", "salesreaders", "salesreaders@contoso.com", "", "salesreaders",
                 "MailUniversalSecurityGroup", "contoso.com/Corp/Groups/Sales Readers", "", ""])  # fmt: skip
    write_csv(tmp_path / "mailboxes.csv", MAILBOX_HEADER, rows)
    return tmp_path


def _plan_with_trustees(org: Path, trustees: list[str]) -> dict:
    """Every trustee gets FullAccess on bob's mailbox through a FastTrack-shaped file."""
    rows = [["BOB@contoso.com", t, "FullAccess"] for t in trustees]
    write_csv(org / "Permissions.csv", ["Mailbox", "User", "AccessRights"], rows, type_line=False)
    plan = plan_batches(load_inputs([org / "mailboxes.csv", org / "Permissions.csv"]), PlanOptions())
    return plan.to_json()


@pytest.mark.parametrize(
    "name",
    [
        "alice@contoso.com",  # SMTP
        "ALICE@Contoso.com",  # mixed case
        "alice@corp.contoso.com",  # UPN
        "alice",  # alias
        "CONTOSO\\alice",  # DOMAIN\sam
        "CN=Alice,OU=Users,DC=contoso,DC=com",  # distinguished name
        "ALICE",  # display name
        " alice@contoso.com ",  # stray spaces
    ],
)
def test_each_name_form_resolves_to_the_mailbox(org: Path, name: str) -> None:
    doc = _plan_with_trustees(org, [name])
    assert doc["unresolved"] == []
    assert doc["summary"]["links"] == {"hard": 0, "soft": 1}
    batch = next(b for b in doc["batches"] if "bob@contoso.com" in b["mailboxes"])
    assert "alice@contoso.com" in batch["mailboxes"]


def test_canonical_name_and_folder_identity_resolve(org: Path) -> None:
    write_csv(org / "cal.csv", ["Identity", "FolderName", "User", "AccessRights"], [
        ["bob:\\Calendar", "Calendar", "contoso.com/Corp/Users/CAROL", "Editor"],
        ["bob:\\Calendar", "Calendar", "Default", "AvailabilityOnly"],
        ["bob:\\Calendar", "Calendar", "Anonymous", "LimitedDetails"],
        ["bob:\\Calendar", "Calendar", "ALICE", "None"],
    ])  # fmt: skip
    doc = plan_batches(load_inputs([org / "mailboxes.csv", org / "cal.csv"])).to_json()
    assert doc["unresolved"] == []
    assert doc["summary"]["links"] == {"hard": 1, "soft": 0}  # calendar delegation is hard
    assert doc["summary"]["skipped"] == {"anonymous": 1, "default": 1, "no rights": 1}


def test_never_guessing_each_unresolvable_is_reported_with_its_place(org: Path) -> None:
    names = ["Sam Twin", "S-1-5-21-1004336348-1177238915-682003330-512", "CONTOSO\\svc-scan",
             "CONTOSO\\Sales Readers", "CONTOSO\\Domain Admins", "NT AUTHORITY\\SYSTEM"]  # fmt: skip
    doc = _plan_with_trustees(org, names)
    reasons = {u["value"]: u["reason"] for u in doc["unresolved"]}
    assert set(reasons) == set(names)
    assert reasons["Sam Twin"].startswith("ambiguous")
    assert reasons[names[1]].startswith("orphaned SID")
    assert reasons["CONTOSO\\svc-scan"].startswith("no mailbox")
    assert reasons["CONTOSO\\Sales Readers"].startswith("group")
    assert reasons["CONTOSO\\Domain Admins"].startswith("group")
    assert reasons["NT AUTHORITY\\SYSTEM"].startswith("system account")
    first = doc["unresolved"][0]
    assert first["file"].endswith("Permissions.csv") and first["row"] == 2 and first["column"] == "User"
    assert doc["summary"]["links"] == {"hard": 0, "soft": 0}
    # the group is not planned as a mailbox
    assert doc["summary"]["mailboxes"] == 4


def test_self_inherited_and_deny_are_skipped_silently_and_counted(org: Path) -> None:
    write_csv(org / "fa.csv", ["Identity", "User", "AccessRights", "IsInherited", "Deny"], [
        ["contoso.com/Corp/Users/BOB", "NT AUTHORITY\\SELF", "FullAccess, ReadPermission", "False", "False"],
        ["contoso.com/Corp/Users/BOB", "CONTOSO\\Domain Admins", "FullAccess", "True", "True"],
        ["contoso.com/Corp/Users/BOB", "CONTOSO\\alice", "FullAccess", "False", "True"],
        ["contoso.com/Corp/Users/BOB", "CONTOSO\\alice", "ReadPermission", "False", "False"],
        ["contoso.com/Corp/Users/BOB", "CONTOSO\\bob", "FullAccess", "False", "False"],
    ])  # fmt: skip
    doc = plan_batches(load_inputs([org / "mailboxes.csv", org / "fa.csv"])).to_json()
    assert doc["unresolved"] == []
    assert doc["summary"]["skipped"] == {"deny": 1, "inherited": 1, "other rights": 1, "self": 2}
    assert doc["summary"]["links"] == {"hard": 0, "soft": 0}


def test_unknown_permission_mailbox_is_reported(org: Path) -> None:
    doc = _plan_with_trustees(org, ["alice"])
    write_csv(org / "sa.csv", ["Identity", "Trustee", "AccessRights"], [["ghost@contoso.com", "alice", "SendAs"]])
    doc = plan_batches(load_inputs([org / "mailboxes.csv", org / "sa.csv"])).to_json()
    (problem,) = doc["unresolved"]
    assert problem["column"] == "Identity" and problem["value"] == "ghost@contoso.com"
    assert problem["reason"].startswith("mailbox:")


def test_sendonbehalf_lists_split_on_semicolons_and_commas(org: Path) -> None:
    write_csv(org / "sob.csv", ["PrimarySmtpAddress", "GrantSendOnBehalfTo"], [
        ["bob@contoso.com", "contoso.com/Corp/Users/DAVE;contoso.com/Corp/Users/CAROL"],
        ["dave@contoso.com", "alice@contoso.com, carol@contoso.com"],
        ["alice@contoso.com", ""],
    ])  # fmt: skip
    doc = plan_batches(load_inputs([org / "mailboxes.csv", org / "sob.csv"])).to_json()
    assert doc["unresolved"] == []
    assert doc["summary"]["links"] == {"hard": 0, "soft": 4}


def test_duplicate_and_malformed_addresses_block_with_their_place(tmp_path: Path) -> None:
    rows = [person("a"), person("b"), person("a"), person("c")]
    rows[1][2] = "not-an-address"
    rows[3][2] = "C@CONTOSO.COM"
    rows.append(person("c"))
    write_csv(tmp_path / "mb.csv", MAILBOX_HEADER, rows)
    with pytest.raises(BatchInputError) as caught:
        plan_batches(load_inputs([tmp_path / "mb.csv"]))
    blocking = [(p.row, p.column, p.value, p.reason.split(" ")[0]) for p in caught.value.problems if p.blocking]
    assert blocking == [
        (4, "PrimarySmtpAddress", "not-an-address", "malformed"),
        (5, "PrimarySmtpAddress", "a@contoso.com", "duplicate"),
        (7, "PrimarySmtpAddress", "c@contoso.com", "duplicate"),  # duplicates ignore case
    ]
    assert caught.value.exit_code == 2


@pytest.fixture()
def odd_names(tmp_path: Path) -> Path:
    """Mailboxes whose names look like another form: a '/' in a display name, an '@' in a CN, '=' and ','."""
    rows = [person("bob"), person("sales"), person("recep"), person("smith"), person("twin1"), person("twin2"),
            person("helpdesk"), person("it")]
    rows[6][0] = "IT"  # helpdesk's display name is "IT", it@'s alias is "it": "IT" names neither for sure
    rows[1][0] = "Sales/Marketing"  # display name with a '/' (not a canonical name)
    rows[2][0] = "@Reception"
    rows[2][6] = "CN=@Reception,OU=Shared,DC=contoso,DC=com"  # a DN whose CN has an '@'
    rows[3][0] = "Smith, John (ext=42)"  # display name with '=' and ','
    rows[4][0] = "R&D/Lab"  # two mailboxes reachable by the same odd name through different fallbacks:
    rows[5][1] = "r&d/lab"  # one's display name, the other's alias: ambiguous, never a guess
    write_csv(tmp_path / "mailboxes.csv", MAILBOX_HEADER, rows)
    return tmp_path


@pytest.mark.parametrize(
    ("name", "mailbox"),
    [
        ("Sales/Marketing", "sales@contoso.com"),
        ("CN=@Reception,OU=Shared,DC=contoso,DC=com", "recep@contoso.com"),
        ("@Reception", "recep@contoso.com"),
        ("Smith, John (ext=42)", "smith@contoso.com"),
    ],
)
def test_a_name_shaped_like_another_form_falls_back_to_the_other_forms(
    odd_names: Path, name: str, mailbox: str
) -> None:
    doc = _plan_with_trustees(odd_names, [name])
    assert doc["unresolved"] == []
    assert doc["summary"]["links"] == {"hard": 0, "soft": 1}
    batch = next(b for b in doc["batches"] if "bob@contoso.com" in b["mailboxes"])
    assert mailbox in batch["mailboxes"]


@pytest.mark.parametrize("name", ["R&D/Lab", "IT"])
def test_forms_naming_two_mailboxes_are_ambiguous(odd_names: Path, name: str) -> None:
    doc = _plan_with_trustees(odd_names, [name])
    [unresolved] = doc["unresolved"]
    assert "ambiguous" in unresolved["reason"] and doc["summary"]["links"] == {"hard": 0, "soft": 0}


@pytest.mark.parametrize("address", ["=cmd|'/Ccalc'!A0@contoso.com", "+1+1@contoso.com", "-2+3@contoso.com"])
def test_an_address_a_spreadsheet_would_run_as_a_formula_is_refused(tmp_path: Path, address: str) -> None:
    """The batch CSVs carry addresses verbatim (New-MigrationBatch reads them), so they cannot be neutralised
    with a leading quote as OWASP advises for other CSVs: such an address stops the plan instead."""
    rows = [person("a"), person("b")]
    rows[1][2] = address
    write_csv(tmp_path / "mailboxes.csv", MAILBOX_HEADER, rows)
    with pytest.raises(BatchInputError) as caught:
        plan_batches(load_inputs([tmp_path / "mailboxes.csv"]), PlanOptions())
    (problem,) = caught.value.problems
    assert problem.row == 4 and problem.column == "PrimarySmtpAddress" and "formula" in problem.reason
