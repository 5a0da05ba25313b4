"""The one Rich progress display, at the CLI edge: ``RichReporter`` implements ``hybridkit.runner.Reporter``.

One ``rich.progress.Progress`` on the error console (stdout stays the command's output, a table or JSON): a bar
per task, drawn only when that console is a terminal; notes are printed above the bars through the same console,
so nothing tears them, and are kept when output is piped (the per-step lines people read in logs). Use it as a
context manager around the service call::

    with RichReporter(app_ctx.err_console, notes=not app_ctx.json) as reporter:
        outcome = apply_file(run, reporter=reporter)
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

__all__ = ["RichReporter"]


class RichReporter:
    """A ``Reporter`` drawing one Rich ``Progress`` on ``console``.

    Args:
        console: where bars and notes go (the app's error console).
        notes: print notes (off for ``--output json``: stderr stays quiet but for errors).
        transient: remove the bars when done (default), leaving only the notes and the command's output.
    """

    def __init__(self, console: Console, *, notes: bool = True, transient: bool = True) -> None:
        self._console = console
        self._notes = notes
        self._progress = Progress(
            TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, disable=not console.is_terminal, transient=transient,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichReporter:
        self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.stop()

    def start(self, task: str, total: int | None = None) -> None:
        """Add ``task``'s bar, or give an existing one its (new) total."""
        if task in self._tasks:
            self._progress.update(self._tasks[task], total=total)
        else:
            self._tasks[task] = self._progress.add_task(task, total=total)

    def advance(self, task: str, done: int = 1) -> None:
        if task not in self._tasks:
            self.start(task)
        self._progress.advance(self._tasks[task], done)

    def note(self, text: str) -> None:
        if self._notes:
            self._progress.console.print(f"  {text}", markup=False, highlight=False, soft_wrap=True)

    def finish(self, task: str) -> None:
        if task in self._tasks:
            self._progress.stop_task(self._tasks[task])
