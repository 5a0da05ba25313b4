"""The typed object the root CLI callback puts on ``ctx.obj`` for every command."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rich.console import Console

__all__ = ["AppContext", "OutputFormat"]

OutputFormat = str  # "table" or "json"


@dataclasses.dataclass(frozen=True)
class AppContext:
    """Global options and the two shared consoles (stdout for results, stderr for progress and messages)."""

    profile: str | None
    config: Path | None
    output: OutputFormat
    verbose: bool
    console: Console
    err_console: Console

    @property
    def json(self) -> bool:
        return self.output == "json"
