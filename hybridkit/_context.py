"""The typed object the root CLI callback puts on ``ctx.obj`` for every command."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from rich.console import Console

__all__ = ["EXIT_BROKEN_PIPE", "AppConsole", "AppContext", "OutputFormat", "stdout_gone"]

# `hybridkit ... | head`: the reader left. Exit quietly with the status a shell reports for a process ended by
# SIGPIPE (128 + 13), as `git log | head` does, so `set -o pipefail` scripts can still tell.
EXIT_BROKEN_PIPE = 141


def stdout_gone() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush does not fail (and print) a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests): nothing left to flush into a pipe
        pass
    finally:
        os.close(devnull)


class AppConsole(Console):
    """The app's consoles: a reader that went away (``| head``) ends the command quietly, exit 141."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        stdout_gone()
        raise SystemExit(EXIT_BROKEN_PIPE)

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
