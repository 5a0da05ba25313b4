"""Mailboxes without a size never pass silently as 0 GB under --max-gb (issue 14, item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from hybridkit.batches import PlanOptions, load_inputs, plan_batches
from hybridkit.cli import app
from tests.batches._org import MAILBOX_HEADER, inventory, person, write_csv

runner = CliRunner()
NAMES = [f"a{i}" for i in range(1, 7)]
TEN_GB = "10 GB (10,737,418,240 bytes)"


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def _sizes(path: Path, rows: list[list[str]], header: tuple[str, str] = ("PrimarySmtpAddress", "TotalItemSize")
           ) -> Path:
    return write_csv(path, list(header), rows, type_line=False)


def test_half_the_inventory_without_sizes_warns_names_them_and_exits_1(tmp_path: Path) -> None:
    inv = inventory(tmp_path / "mailboxes.csv", NAMES)
    sizes = _sizes(tmp_path / "sizes.csv", [[f"{n}@contoso.com", TEN_GB] for n in NAMES[:3]])
    out = tmp_path / "plan"
    result = invoke("batches", "plan", str(inv), str(sizes), "--out", str(out), "--max-gb", "15")
    assert result.exit_code == 1
    assert "3 of 6 mailboxes have no size" in result.output
    assert "a4@contoso.com" in result.output and "--allow-missing-sizes" in result.output
    doc = json.loads((out / "plan.json").read_text())
    assert doc["mailboxes_without_size"] == ["a4@contoso.com", "a5@contoso.com", "a6@contoso.com"]
    assert doc["summary"]["mailboxes_without_size"] == 3
    assert any("3 of 6 mailboxes have no size" in w for w in doc["warnings"])
    summary_sheet = CalamineWorkbook.from_path(str(out / "plan.xlsx")).get_sheet_by_name("Summary").to_python()
    assert any("3 of 6 mailboxes have no size" in str(cell) for row in summary_sheet for cell in row)

    allowed = invoke("batches", "plan", str(inv), str(sizes), "--out", str(out), "--max-gb", "15",
                     "--allow-missing-sizes")  # fmt: skip
    assert allowed.exit_code == 0 and "3 of 6 mailboxes have no size" in allowed.output


@pytest.mark.parametrize(
    "case",
    ["no sizes file", "ambiguous display name", "Unlimited", "empty cell"],
)
def test_every_way_a_size_goes_missing_counts(tmp_path: Path, case: str) -> None:
    rows = [person(n) for n in NAMES]
    rows[4][0] = rows[5][0] = "Shared Name"
    paths = [write_csv(tmp_path / "mailboxes.csv", MAILBOX_HEADER, rows)]
    if case == "ambiguous display name":
        paths.append(_sizes(tmp_path / "sizes.csv", [[r[0], TEN_GB] for r in rows], ("DisplayName", "TotalItemSize")))
    elif case != "no sizes file":
        value = "Unlimited" if case == "Unlimited" else ""
        paths.append(_sizes(tmp_path / "sizes.csv", [[f"{n}@contoso.com", TEN_GB] for n in NAMES[:5]]
                            + [["a6@contoso.com", value]]))  # fmt: skip
    plan = plan_batches(load_inputs(paths), PlanOptions(max_gb=15))
    doc = plan.to_json()
    missing = {"no sizes file": NAMES, "ambiguous display name": ["a5", "a6"]}.get(case, ["a6"])
    assert doc["mailboxes_without_size"] == [f"{n}@contoso.com" for n in missing]
    have = "has" if len(missing) == 1 else "have"
    assert any(f"{len(missing)} of 6 mailboxes {have} no size" in w for w in doc["warnings"])


def test_known_zero_sizes_and_plans_without_max_gb_do_not_warn(tmp_path: Path) -> None:
    inv = inventory(tmp_path / "mailboxes.csv", NAMES)
    zero = _sizes(tmp_path / "sizes.csv", [[f"{n}@contoso.com", "0 B (0 bytes)"] for n in NAMES])
    doc = plan_batches(load_inputs([inv, zero]), PlanOptions(max_gb=15)).to_json()
    assert doc["mailboxes_without_size"] == [] and doc["warnings"] == []
    # without --max-gb and without any size, nothing is capped by size: no warning, exit 0
    result = invoke("batches", "plan", str(inv), "--out", str(tmp_path / "o"))
    assert result.exit_code == 0 and "no size" not in result.output


def test_many_missing_names_are_cut_on_the_console_but_complete_in_plan_json(tmp_path: Path) -> None:
    names = [f"m{i:03d}" for i in range(40)]
    inv = inventory(tmp_path / "mailboxes.csv", names)
    out = tmp_path / "plan"
    result = invoke("batches", "plan", str(inv), "--out", str(out), "--max-gb", "50")
    assert result.exit_code == 1
    (warning,) = [line for line in result.stderr.splitlines() if line.startswith("warning:")]  # one line, piped
    assert "40 of 40 mailboxes have no size (m000@contoso.com, m001@contoso.com, m002@contoso.com, " in warning
    assert "and 35 more" in warning and "m039@contoso.com" not in result.output
    assert len(json.loads((out / "plan.json").read_text())["mailboxes_without_size"]) == 40
