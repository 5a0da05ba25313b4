"""hold's help reads well at 80 columns: no raw ``markup``, no hard line breaks mid-sentence, nothing cropped."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from hybridkit.cli import app


@pytest.mark.parametrize("command", [[], ["enable"], ["status"]])
def test_help_reads_well_at_80_columns(command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(app, ["hold", *command, "--help"])
    assert result.exit_code == 0
    text = result.output
    assert "``" not in text and "…" not in text


def test_help_sources_have_no_markup_or_hard_breaks() -> None:
    import typer.main

    group = typer.main.get_command(app).commands["hold"]  # type: ignore[attr-defined]
    texts = [group.help or ""] + [c.help or "" for c in group.commands.values()]
    texts += [p.help or "" for c in group.commands.values() for p in c.params]
    for text in texts:
        assert "``" not in text, text
        assert not re.search(r"[^\n]\n[^\n]", text), text  # a paragraph is one line; paragraphs split by a blank line


def test_help_names_the_flags_that_matter() -> None:
    text = " ".join(CliRunner().invoke(app, ["hold", "enable", "--help"], env={"COLUMNS": "200"}).output.split())
    for flag in ("--allow-shorter", "--what-if", "--report", "--duration"):
        assert flag in text
    assert "10675199" in text
