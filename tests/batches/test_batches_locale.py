"""Exports re-saved by a localised Excel: its True/False words, and files that mix UTF-8 and Windows-1252 lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridkit.batches import BatchInputError, PlanOptions, load_inputs, plan_batches
from tests.batches._org import csv_text, inventory, write_csv

FA_HEADER = ["Identity", "User", "AccessRights", "IsInherited", "Deny"]

# What Excel writes for a boolean cell when it saves a CSV, per UI language (PhpSpreadsheet's locale tables,
# src/PhpSpreadsheet/Calculation/locale/*/functions); PowerShell's Export-Csv always writes True/False.
LOCALISED = [
    ("TRUE", "FALSE"),  # en, and the languages whose Excel keeps English names (ja, zh, ko, el, he, ar)
    ("WAHR", "FALSCH"),  # de
    ("VRAI", "FAUX"),  # fr
    ("VERDADERO", "FALSO"),  # es
    ("VERO", "FALSO"),  # it
    ("WAAR", "ONWAAR"),  # nl
    ("VERDADEIRO", "FALSO"),  # pt, pt-BR
    ("SANT", "FALSKT"),  # sv
    ("SAND", "FALSK"),  # da
    ("SANN", "USANN"),  # nb
    ("TOSI", "EPÄTOSI"),  # fi
    ("PRAWDA", "FAŁSZ"),  # pl
    ("PRAVDA", "NEPRAVDA"),  # cs
    ("IGAZ", "HAMIS"),  # hu
    ("ИСТИНА", "ЛОЖЬ"),  # ru
    ("DOĞRU", "YANLIŞ"),  # tr
]


@pytest.mark.parametrize(("true", "false"), LOCALISED, ids=[t for t, _ in LOCALISED])
def test_localised_booleans_skip_denied_and_inherited_aces(tmp_path: Path, true: str, false: str) -> None:
    paths = [
        inventory(tmp_path / "mailboxes.csv", ["a1", "a2", "a3", "a4"]),
        write_csv(tmp_path / "fullaccess.csv", FA_HEADER, [
            ["contoso.com/Corp/Users/A1", "CONTOSO\\a2", "FullAccess", false, false],  # a link
            ["contoso.com/Corp/Users/A1", "CONTOSO\\a3", "FullAccess", false, true],  # denied
            ["contoso.com/Corp/Users/A1", "CONTOSO\\a4", "FullAccess", true, false],  # inherited
            ["contoso.com/Corp/Users/A3", "CONTOSO\\a4", "FullAccess", false.lower(), true.title()],  # denied
        ], encoding="utf-8-sig", delimiter=";"),  # fmt: skip
    ]
    doc = plan_batches(load_inputs(paths), PlanOptions()).to_json()
    assert doc["summary"]["links"] == {"hard": 0, "soft": 1}
    assert doc["summary"]["skipped"] == {"deny": 2, "inherited": 1}


def test_an_unknown_boolean_is_a_blocking_problem_naming_file_row_and_column(tmp_path: Path) -> None:
    paths = [
        inventory(tmp_path / "mailboxes.csv", ["a1", "a2", "a3"]),
        write_csv(tmp_path / "fullaccess.csv", FA_HEADER, [
            ["contoso.com/Corp/Users/A1", "CONTOSO\\a2", "FullAccess", "False", "False"],
            ["contoso.com/Corp/Users/A1", "CONTOSO\\a3", "FullAccess", "False", "Verweigert"],
            ["contoso.com/Corp/Users/A2", "CONTOSO\\a3", "FullAccess", "Perhaps", "False"],
        ]),  # fmt: skip
    ]
    with pytest.raises(BatchInputError) as caught:
        plan_batches(load_inputs(paths), PlanOptions())
    blocking = {(Path(p.file).name, p.row, p.column, p.value) for p in caught.value.problems if p.blocking}
    assert blocking == {("fullaccess.csv", 4, "Deny", "Verweigert"), ("fullaccess.csv", 5, "IsInherited", "Perhaps")}
    assert all("True or False" in p.reason for p in caught.value.problems if p.blocking)


def test_one_windows_1252_line_in_a_utf8_file_is_decoded_alone_with_a_note(tmp_path: Path) -> None:
    """A UTF-8 export with one line pasted from a Windows-1252 editor: only that line is read as cp1252."""
    header = ["DisplayName", "Alias", "PrimarySmtpAddress", "Identity"]
    rows = [["Jürgen Müller", "jm", "jm@contoso.com", "contoso.com/Corp/Users/Jürgen Müller"],
            ["Søren Ørsted", "so", "so@contoso.com", "contoso.com/Corp/Users/Søren Ørsted"]]  # fmt: skip
    good = csv_text(header, rows).encode("utf-8")
    bad_line = '"Zoë Brontë","zb","zb@contoso.com","contoso.com/Corp/Users/Zoë Brontë"\r\n'.encode("cp1252")
    inv = tmp_path / "mailboxes.csv"
    inv.write_bytes(b"\xef\xbb\xbf" + good + bad_line)
    perms = write_csv(tmp_path / "fullaccess.csv", FA_HEADER, [
        ["contoso.com/Corp/Users/Jürgen Müller", "Søren Ørsted", "FullAccess", "False", "False"],
        ["contoso.com/Corp/Users/Zoë Brontë", "Jürgen Müller", "FullAccess", "False", "False"],
    ])  # fmt: skip
    inputs = load_inputs([inv, perms])
    box = next(t for t in inputs.tables if t.kind.value == "mailboxes")
    assert box.columns["displayname"] == ["Jürgen Müller", "Søren Ørsted", "Zoë Brontë"]
    (note,) = inputs.problems
    assert (Path(note.file).name, note.row, note.blocking) == ("mailboxes.csv", 5, False)
    assert "Windows-1252" in note.reason and "Zoë" in note.value
    doc = plan_batches(inputs, PlanOptions()).to_json()
    assert doc["summary"]["links"]["soft"] == 2 and doc["summary"]["unresolved"] == 1  # the note, nothing else
    assert next(f for f in inputs.files if f.file == str(inv)).encoding == "utf-8-sig"


def test_a_file_that_is_windows_1252_throughout_is_read_as_such_without_notes(tmp_path: Path) -> None:
    header = ["DisplayName", "Alias", "PrimarySmtpAddress"]
    path = write_csv(tmp_path / "mb.csv", header, [["Zoë Brontë", "zb", "zb@contoso.com"],
                                                    ["Jürgen Müller", "jm", "jm@contoso.com"]],
                     encoding="cp1252", delimiter=";")  # fmt: skip
    inputs = load_inputs([path])
    assert not inputs.problems
    assert inputs.tables[0].columns["displayname"] == ["Zoë Brontë", "Jürgen Müller"]
    assert inputs.files[0].encoding == "cp1252"
