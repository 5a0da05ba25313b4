"""Every command's ``--help`` at 80 columns reads as prose: no raw ``markup``, no sentence cut by a hard newline.

Typer keeps a docstring's line breaks after its first paragraph, so a docstring wrapped at the source's width
prints as ragged lines cut mid-sentence; double backticks (reST literals) print as they are. Rich's own wrapping
is told apart from a hard newline by width: Rich breaks a line only when the next word would not fit on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from hybridkit.cli import app

WIDTH = 80
_TEXT_WIDTH = WIDTH - 2  # Typer pads the help text one column on each side
_ENDS_SENTENCE = re.compile(r"[.!?:;)\]]$")
_STARTS_ITEM = re.compile(r"^([-*•] |\d+[.)] |\$ |hybridkit )")


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    if hasattr(command, "commands"):  # a group
        for name, sub in sorted(command.commands.items()):
            if not sub.hidden:
                yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def _prose(output: str) -> list[str]:
    """The description lines of a help page: after the usage line, before the first panel."""
    lines = output.splitlines()
    start = next(n for n, line in enumerate(lines) if line.strip().startswith("Usage:")) + 1
    end = next((n for n, line in enumerate(lines) if line.startswith("╭")), len(lines))
    return [line.strip() for line in lines[start:end]]


def cut_sentences(output: str) -> list[str]:
    """Lines a hard newline ended mid-sentence: the next line's first word would have fitted on them."""
    prose = _prose(output)
    cut = []
    for line, following in zip(prose, prose[1:]):
        if not line or not following or _ENDS_SENTENCE.search(line) or _STARTS_ITEM.match(following):
            continue
        if len(line) + 1 + len(following.split()[0]) <= _TEXT_WIDTH:
            cut.append(f"{line!r} / {following!r}")
    return cut


def test_the_check_tells_a_hard_newline_from_rich_wrapping() -> None:
    wrapped = " Usage: x\n\n " + "word " * 15 + "end of\n the line goes on.\n"
    assert cut_sentences(wrapped) == []  # "the" would not have fitted: Rich's own wrap
    hard = " Usage: x\n\n The on-premises side is crawled; add\n --online PROFILE to crawl it too.\n"
    assert cut_sentences(hard) == ["'The on-premises side is crawled; add' / '--online PROFILE to crawl it too.'"]
    assert cut_sentences(" Usage: x\n\n Runs it:\n hybridkit demo\n") == []  # a line ending in ":" introduces


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "hybridkit")
def test_help_at_80_columns_reads_as_prose(path: tuple[str, ...]) -> None:
    result = CliRunner(env={"COLUMNS": str(WIDTH)}).invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "``" not in result.output, f"raw reST markup in `hybridkit {' '.join(path)} --help`"
    assert cut_sentences(result.output) == [], f"hard newlines mid-sentence in `hybridkit {' '.join(path)} --help`"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_option_help_has_no_hard_newlines_or_markup(path: tuple[str, ...], command: Any) -> None:
    for param in command.params:
        text = getattr(param, "help", None) or ""
        assert "``" not in text, f"{' '.join(path)} {param.opts}: raw reST markup"
        assert not re.search(r"(?<!\n)\n(?!\n)", text.strip()), f"{' '.join(path)} {param.opts}: hard newline"


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "hybridkit")
def test_a_flag_shows_no_value_placeholder(path: tuple[str, ...]) -> None:
    """``--what-if <bool>`` reads as if it took a value (``--what-if true``); a flag takes none (Typer 0.29 added it)."""
    result = CliRunner(env={"COLUMNS": "120"}).invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    flags = [line for line in result.output.splitlines() if re.search(r"--[\w-]+\s+<bool>", line)]
    assert flags == [], f"`hybridkit {' '.join(path)} --help` shows flags with a value placeholder: {flags}"
