"""What every demo step gets (``DemoContext``) and what a step is (``DemoStep``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from hybridkit._context import AppContext
from hybridkit.config import Profile, lab_profile_from_ready
from hybridkit.ps import PSSession
from hybridkit.sides import Side, connect

__all__ = ["DemoContext", "DemoFunc", "DemoStep"]


@dataclasses.dataclass
class DemoContext:
    """What a demo step gets: the running lab, a session to it, the consoles and a scratch directory."""

    app: AppContext
    session: PSSession
    profile: Profile
    lab: Any  # hybridkit.lab.server.LabServer
    ready: dict[str, Any]
    workdir: Path
    journal_path: Path

    @property
    def console(self) -> Console:
        return self.app.err_console if self.app.json else self.app.console

    def show_command(self, line: str) -> None:
        """Print a command for people to copy: one line whatever the width (soft wrap), no markup, no colour."""
        self.console.print(line, highlight=False, markup=False, soft_wrap=True)

    def side_profile(self, side: Side) -> Profile:
        """A resolved profile for the lab's endpoint of ``side`` (named ``lab-onprem``/``lab-online``)."""
        return lab_profile_from_ready(f"lab-{side}", self.ready, endpoint=side.value)

    def open_session(self, side: Side = Side.ONPREM) -> PSSession:
        """A new session to the lab's endpoint of ``side`` (close it when done)."""
        return connect(self.side_profile(side))


DemoFunc = Callable[[DemoContext], "dict[str, Any] | None"]


@dataclasses.dataclass(frozen=True)
class DemoStep:
    """One step of the demo: its title (the rule above it) and the function that runs it."""

    title: str
    run: DemoFunc
