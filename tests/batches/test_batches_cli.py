"""`hybridkit batches plan|validate` through the root CLI: outputs, schema, error reports, exit codes, atomicity."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from hybridkit.cli import app
from tests.batches._org import MAILBOX_HEADER, person, write_csv

EXAMPLE = Path(__file__).resolve().parents[2] / "batches"
EXAMPLE_CSVS = sorted(str(p) for p in EXAMPLE.glob("*.csv"))
runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_plan_writes_batches_json_and_workbook(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    result = invoke("batches", "plan", *EXAMPLE_CSVS, "--out", str(out), "--max-mailboxes", "15")
    assert result.exit_code == 0, result.output
    assert "Batch-001" in result.output and "Wave-1" in result.output
    doc = json.loads((out / "plan.json").read_text())
    assert set(doc) == {"batches", "waves", "cross_batch_links", "unresolved", "excluded_trustees",
                        "mailboxes_without_size", "summary", "warnings"}
    assert doc["mailboxes_without_size"] == [] and doc["warnings"] == []
    for batch in doc["batches"]:
        assert set(batch) == {"name", "mailboxes", "size_bytes", "mailboxes_without_size", "waves"}
        assert batch["waves"] == [batch["name"]]  # not packed: each wave is its own batch
        assert all(m == m.lower() and "@" in m for m in batch["mailboxes"])
        with open(out / "batches" / f"{batch['name']}.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == ["EmailAddress"]
        assert [r[0] for r in rows[1:]] == batch["mailboxes"]
        assert len(batch["mailboxes"]) <= 15
    assert sorted(p.stem for p in (out / "batches").iterdir()) == sorted(b["name"] for b in doc["batches"])
    for link in doc["cross_batch_links"]:
        assert set(link) == {"mailbox", "trustee", "right", "strength", "mailbox_batch", "trustee_batch"}
    for problem in doc["unresolved"]:
        assert set(problem) == {"file", "sheet", "row", "column", "value", "reason"}
    assert {e["trustee"] for e in doc["excluded_trustees"]} == {"CONTOSO\\svc-backup"}
    assert set(e for e in doc["excluded_trustees"][0]) == {"trustee", "reason", "mailbox_count"}
    # the example's shared-mailbox teams, assistant/manager pair: no hard link crosses batches
    assert doc["summary"]["cross_batch_links"]["hard"] == 0
    assert doc["summary"]["mailboxes"] == 56

    book = CalamineWorkbook.from_path(str(out / "plan.xlsx"))
    assert book.sheet_names == ["Summary", "Batches", "Waves", "Mailboxes", "Cross-batch links", "Unresolved",
                                "Excluded"]
    mailboxes = book.get_sheet_by_name("Mailboxes").to_python()
    assert mailboxes[0] == ["Mailbox", "Display name", "Batch", "Wave", "Size (bytes)", "Why here"]
    assert len(mailboxes) == 57 and all(row[5] and row[2] == row[3] for row in mailboxes[1:])
    sheet = openpyxl.load_workbook(out / "plan.xlsx")["Mailboxes"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    with zipfile.ZipFile(out / "plan.xlsx") as archive:
        assert "xl/charts/chart1.xml" in archive.namelist()  # the Summary chart


def test_workbook_input_gives_the_same_plan_as_csv(tmp_path: Path) -> None:
    a = invoke("-o", "json", "batches", "plan", *EXAMPLE_CSVS, "--out", str(tmp_path / "a"), "--no-xlsx")
    b = invoke("-o", "json", "batches", "plan", str(EXAMPLE / "example.xlsx"), "--out", str(tmp_path / "b"))
    assert a.exit_code == b.exit_code == 0
    doc_a, doc_b = json.loads(a.stdout), json.loads(b.stdout)
    assert doc_a["batches"] == doc_b["batches"]
    assert doc_a["cross_batch_links"] == doc_b["cross_batch_links"]
    assert not (tmp_path / "a" / "plan.xlsx").exists()


def test_validate_clean_inputs(tmp_path: Path) -> None:
    result = invoke("batches", "validate", *EXAMPLE_CSVS)
    assert result.exit_code == 0, result.output
    assert "no blocking problems" in result.output


def _bad_inventory(tmp_path: Path) -> Path:
    rows = [person("a"), person("b"), person("a")]
    rows[1][2] = "b(at)contoso.com"
    return write_csv(tmp_path / "mailboxes.csv", MAILBOX_HEADER, rows)


def test_validate_reports_every_blocking_problem_and_exits_2(tmp_path: Path) -> None:
    bad = _bad_inventory(tmp_path)
    result = invoke("-o", "json", "batches", "validate", str(bad), str(tmp_path / "missing.xlsx"))
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["blocking"] == 3
    places = [(Path(p["file"]).name, p["row"], p["column"], p["value"]) for p in doc["problems"]]
    assert ("mailboxes.csv", 4, "PrimarySmtpAddress", "b(at)contoso.com") in places
    assert ("mailboxes.csv", 5, "PrimarySmtpAddress", "a@contoso.com") in places
    assert any(name == "missing.xlsx" for name, *_ in places)


def test_plan_on_bad_input_exits_2_with_report_and_writes_nothing(tmp_path: Path) -> None:
    bad = _bad_inventory(tmp_path)
    out = tmp_path / "out"
    result = invoke("batches", "plan", str(bad), "--out", str(out))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "malformed" in result.output and "duplicate" in result.output and "nothing written" in result.output
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_unrecognised_file_and_missing_required_column_exit_2(tmp_path: Path) -> None:
    odd = write_csv(tmp_path / "odd.csv", ["Name", "Notes"], [["a", "b"]])
    result = invoke("batches", "plan", str(odd), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and not (tmp_path / "o").exists()
    assert "no row with a header this tool recognises" in result.output and "nothing written" in result.output
    no_smtp = write_csv(tmp_path / "inv.csv", ["DisplayName", "Alias"], [["A", "a"]])
    result = invoke("-o", "json", "batches", "validate", str(no_smtp), "--kind", "inv.csv=mailboxes")
    assert result.exit_code == 2
    report = json.loads(result.output)
    assert report["blocking"] == 2 and report["inputs"][0]["file"] == str(no_smtp)
    assert "no row with the columns a mailboxes export needs" in report["inputs"][0]["problems"][0]["reason"]
    result = invoke("batches", "validate", str(no_smtp), "--kind", "nonsense")
    assert result.exit_code == 2 and "unknown kind 'nonsense'" in result.output


def test_bad_option_values_exit_2(tmp_path: Path) -> None:
    result = invoke("batches", "plan", *EXAMPLE_CSVS, "--out", str(tmp_path / "o"), "--max-mailboxes", "0")
    assert result.exit_code == 2 and not (tmp_path / "o").exists()
    assert "--max-mailboxes must be at least 1, not 0" in result.output
    result = invoke("batches", "plan", *EXAMPLE_CSVS, "--out", str(tmp_path / "o"), "--name-prefix", "a b")
    assert result.exit_code == 2 and "--name-prefix 'a b'" in result.output


def test_output_dir_replaced_only_if_it_holds_an_earlier_plan(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("batches", "plan", *EXAMPLE_CSVS, "--out", str(out), "--max-mailboxes", "10").exit_code == 0
    first = sorted(p.name for p in (out / "batches").iterdir())
    assert invoke("batches", "plan", *EXAMPLE_CSVS, "--out", str(out), "--max-mailboxes", "30").exit_code == 0
    second = sorted(p.name for p in (out / "batches").iterdir())
    assert len(second) < len(first)  # replaced as a whole, no stale batch files left behind
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    result = invoke("batches", "plan", *EXAMPLE_CSVS, "--out", str(precious))
    assert result.exit_code == 2
    assert [p.name for p in precious.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("prefix", ["Batch", "Wave"])
def test_plan_json_output_and_names(tmp_path: Path, prefix: str) -> None:
    result = invoke("-o", "json", "batches", "plan", *EXAMPLE_CSVS, "--out", str(tmp_path / "o"),
                    "--max-mailboxes", "20", "--name-prefix", prefix)  # fmt: skip
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["out"] == str(tmp_path / "o")
    names = [b["name"] for b in doc["batches"] if not b["name"].startswith("Wave-1")]
    assert names == [f"{prefix}-{i:03d}" for i in range(1, len(names) + 1)]


def test_an_empty_permissions_export_stops_the_plan_naming_the_file(tmp_path: Path) -> None:
    empty = tmp_path / "fullaccess.csv"
    empty.write_bytes(b"")
    out = tmp_path / "o"
    result = invoke("batches", "plan", str(EXAMPLE / "mailboxes.csv"), str(empty), "--out", str(out))
    assert result.exit_code == 2
    assert "fullaccess.csv" in result.output and "empty" in result.output and "nothing written" in result.output
    assert not out.exists()
    result = invoke("-o", "json", "batches", "validate", str(EXAMPLE / "mailboxes.csv"), str(empty))
    assert result.exit_code == 2
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem["file"] == str(empty) and problem["blocking"]


def test_validate_json_lists_every_input_with_kind_rows_encoding_and_problems(tmp_path: Path) -> None:
    empty = tmp_path / "sendas.csv"
    empty.write_bytes(b"")
    files = [str(EXAMPLE / "fullaccess.csv"), str(EXAMPLE / "example.xlsx"), str(empty), str(tmp_path / "missing.csv")]
    result = invoke("-o", "json", "batches", "validate", *files)
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    inputs = {Path(i["file"]).name: i for i in doc["inputs"]}
    assert [i["file"] for i in doc["inputs"]] == files  # in the order given
    fa = inputs["fullaccess.csv"]
    assert fa == {"file": str(EXAMPLE / "fullaccess.csv"), "format": "csv", "encoding": "utf-8-sig",
                  "kind": "fullaccess", "rows": 220, "sheets": [], "problems": fa["problems"]}  # fmt: skip
    assert [(p["row"], p["blocking"]) for p in fa["problems"]] == [(222, False)]  # the orphaned SID
    book = inputs["example.xlsx"]
    assert (book["format"], book["encoding"], book["kind"]) == ("workbook", None, None)
    assert {s["sheet"]: s["kind"] for s in book["sheets"]}["fullaccess"] == "fullaccess"
    assert book["rows"] == sum(s["rows"] for s in book["sheets"])
    assert inputs["sendas.csv"]["kind"] is None and inputs["sendas.csv"]["problems"][0]["blocking"]
    assert inputs["missing.csv"]["format"] is None and inputs["missing.csv"]["problems"][0]["blocking"]
    assert doc["summary"] == {"files": 4, "blocking": 2, "notes": len(doc["problems"]) - 2}
    assert doc["blocking"] == 2 and doc["warnings"] == []


def test_validate_table_lists_files_with_encoding_and_unrecognised_ones(tmp_path: Path) -> None:
    empty = tmp_path / "sendas.csv"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["batches", "validate", str(EXAMPLE / "sizes.csv"), str(empty)],
                           env={"COLUMNS": "80"})  # fmt: skip
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert any("sizes.csv" in line and "utf-8-sig" in line and "sizes" in line and "56" in line for line in lines)
    assert any("sendas.csv" in line and "not recognised" in line for line in lines)


def _columns_text(text: str) -> list[str]:
    """Each column of the tables in ``text`` read top to bottom, folded cells joined again (no spaces)."""
    columns: dict[int, str] = {}
    for line in text.splitlines():
        if line.startswith("│"):
            for i, cell in enumerate(line.split("│")[1:-1]):
                columns[i] = columns.get(i, "") + cell.replace(" ", "")
    return list(columns.values())


@pytest.mark.parametrize("columns", ["80", "40"])
def test_tables_wrap_never_crop_when_narrow_or_piped(tmp_path: Path, columns: str) -> None:
    long_wave = "Executive-Leadership-Team-and-Board-Office-Wave-Before-Christmas-2026"
    rows = [person(f"m{i}", wave=long_wave if i < 2 else "") for i in range(4)]
    inv = write_csv(tmp_path / "a-rather-long-inventory-file-name-from-the-export.csv", MAILBOX_HEADER, rows)
    fa = write_csv(tmp_path / "fullaccess.csv", ["Identity", "User", "AccessRights", "IsInherited", "Deny"],
                   [["contoso.com/Corp/Users/M1", "CONTOSO\\svc-a-service-account-with-a-long-name", "FullAccess",
                     "False", "False"]])  # fmt: skip
    env = {"COLUMNS": columns}
    result = runner.invoke(app, ["batches", "plan", str(inv), str(fa), "--out", str(tmp_path / "o")], env=env)
    assert result.exit_code == 0, result.output
    assert long_wave in _columns_text(result.stdout)[0] and "…" not in result.output
    result = runner.invoke(app, ["batches", "validate", str(inv), str(fa)], env=env)
    inputs, problems = _columns_text(result.stdout), _columns_text(result.stderr)
    assert "a-rather-long-inventory-file-name-from-the-export.csv" in inputs[0]
    assert "CONTOSO\\svc-a-service-account-with-a-long-name" in problems[2] and "…" not in result.output
