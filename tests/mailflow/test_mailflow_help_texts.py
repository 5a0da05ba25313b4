"""Help of the mailflow and decommission commands reads as prose: no reStructuredText markup, no hard breaks."""

from __future__ import annotations

import re

import pytest
import typer.main

from hybridkit.decommission.cli import app as decommission_app
from hybridkit.mailflow.cli import app as mailflow_app


def _texts() -> list[tuple[str, str]]:
    out = []
    for group, app in (("mailflow", mailflow_app), ("decommission", decommission_app)):
        command = typer.main.get_command(app)
        out.append((group, command.help or ""))
        for name, sub in command.commands.items():  # type: ignore[attr-defined]
            out.append((f"{group} {name}", sub.help or ""))
            out += [(f"{group} {name} {p.name}", getattr(p, "help", None) or "") for p in sub.params]
    return out


@pytest.mark.parametrize("where,text", _texts(), ids=[w for w, _ in _texts()])
def test_help_is_plain_prose(where: str, text: str) -> None:
    assert "``" not in text and not re.search(r"(?<![`])`[^`]+`(?!`)", text), where
    for paragraph in text.strip().split("\n\n"):
        assert "\n" not in paragraph.strip(), f"{where}: hard line break in {paragraph!r}"
