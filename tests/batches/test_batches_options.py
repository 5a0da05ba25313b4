"""Option values `batches plan|validate` must refuse: one line naming the option, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hybridkit.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "batches"
EXAMPLE_CSVS = sorted(str(p) for p in EXAMPLE.glob("*.csv"))
runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--max-gb", "nan", "--max-gb must be a number more than 0"),
        ("--max-gb", "inf", "--max-gb must be a number more than 0"),
        ("--max-gb", "-inf", "--max-gb must be a number more than 0"),
        ("--max-gb", "0", "--max-gb must be a number more than 0"),
        ("--max-mailboxes", "0", "--max-mailboxes must be at least 1"),
        ("--super-connector-degree", "0", "--super-connector-degree must be at least 1"),
        ("--source-version", "2011", "--source-version must be one of 2010, 2013, 2016, 2019, SE"),
        ("--source-version", "2007", "--source-version must be one of 2010, 2013, 2016, 2019, SE"),
        ("--source-version", "exchange", "--source-version must be one of 2010, 2013, 2016, 2019, SE"),
    ],
)
def test_out_of_range_options_name_the_option(tmp_path: Path, option: str, value: str, words: str) -> None:
    out = tmp_path / "o"
    result = invoke("batches", "plan", *EXAMPLE_CSVS, "--out", str(out), option, value)
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "column" not in result.output
    assert words in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_unwritable_out_is_one_line_exit_2(tmp_path: Path) -> None:
    result = invoke("batches", "plan", *EXAMPLE_CSVS, "--out", "/proc/nope")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "/proc/nope" in result.output and "cannot write" in result.output
    assert len(result.output.strip().splitlines()) == 1
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = invoke("batches", "plan", *EXAMPLE_CSVS, "--out", str(blocker / "plan"))
    assert result.exit_code == 2 and "cannot write" in result.output


@pytest.mark.parametrize("command", ["plan", "validate"])
def test_kind_naming_a_file_not_among_the_inputs_is_an_error(tmp_path: Path, command: str) -> None:
    extra = ["--out", str(tmp_path / "o")] if command == "plan" else []
    result = invoke("batches", command, *EXAMPLE_CSVS, *extra, "--kind", "sizez.csv=sizes")
    assert result.exit_code == 2
    assert "--kind" in result.output and "sizez.csv" in result.output and "not among the inputs" in result.output
    assert not (tmp_path / "o").exists()
    # the same name with the right spelling is fine, by name, stem or path
    for key in ("sizes.csv", "sizes", str(EXAMPLE / "sizes.csv")):
        assert invoke("batches", "validate", *EXAMPLE_CSVS, "--kind", f"{key}=sizes").exit_code == 0


def test_kind_naming_a_sheet_the_workbook_lacks_is_an_error() -> None:
    book = str(EXAMPLE / "example.xlsx")
    result = invoke("batches", "validate", book, "--kind", "example.xlsx:Nope=sizes")
    assert result.exit_code == 2
    assert "Nope" in result.output and "no sheet" in result.output


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ([], ["Plan migration batches from permission exports (CSV or workbooks); no server needed."]),
        (["plan"], ["--super-connector-degree", "--allow-missing-sizes", "--exclude-trustee",
                    "Plan batches: mailboxes linked by permissions move together, within the caps, every decision"]),
        (["validate"], ["--super-connector-degree", "Check the inputs and list every problem"]),
    ],
)  # fmt: skip
def test_help_at_80_columns_has_no_markup_no_cropped_names_no_broken_sentences(
    command: list[str], words: list[str]
) -> None:
    result = runner.invoke(app, ["batches", *command, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert "``" not in result.output and "…" not in result.output
    # paragraphs are filled to the width: read with the borders and line ends gone, each sentence is whole
    flat = " ".join(" ".join(line.strip(" │╭╮╰╯─") for line in result.output.splitlines()).split())
    for word in words:
        assert word in flat


@pytest.mark.parametrize(("given", "hard"), [("2010", True), ("2016", False), ("se", False), ("SE", False)])
def test_source_version_takes_exchange_versions_including_subscription_edition(tmp_path: Path, given: str,
                                                                               hard: bool) -> None:
    import json

    out = tmp_path / "o"
    result = invoke("batches", "plan", *EXAMPLE_CSVS, "--out", str(out), "--source-version", given)
    assert result.exit_code == 0, result.output
    assert (json.loads((out / "plan.json").read_text(encoding="utf-8"))["summary"]["options"]["source_version"] <= 2010) is hard
