"""The hold service the CLI calls: open the sides, learn the on-prem release, then enable (journaled) or read.

``enable`` opens a session per side, asks the on-prem servers their release (``sides.onprem_release``: hold
refuses ``--duration`` on Exchange 2010), then runs ``_apply.run_enable`` in the run journal, or
``_apply.preview_enable`` under ``--what-if`` (no journal opened, nothing sent). ``status`` only reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from hybridkit.config import Profile
from hybridkit.hold._apply import preview_enable, run_enable
from hybridkit.hold._discover import read_selection
from hybridkit.hold._model import EnableResult, HoldOutcome, HoldSettings, Selection
from hybridkit.hold._plan import outcomes_for_status
from hybridkit.journal import DEFAULT_JOURNAL, Journal
from hybridkit.ps import PSSession
from hybridkit.runner import Reporter
from hybridkit.sides import Side, onprem_release, open_sides

__all__ = ["enable", "run_status", "status"]


def run_status(sessions: Mapping[Side, PSSession], selection: Selection, *, chunk_size: int = 500,
               reporter: Reporter | None = None) -> list[HoldOutcome]:
    """Read-only: the hold state of every selected mailbox, in selection order."""
    return outcomes_for_status(read_selection(sessions, selection, chunk_size=chunk_size, reporter=reporter))


def status(profiles: Mapping[Side, Profile], selection: Selection, *, chunk_size: int = 500,
           reporter: Reporter | None = None) -> list[HoldOutcome]:
    """``hold status``: open the sides ``profiles`` name, read every selected mailbox's hold; change nothing."""
    with open_sides(profiles) as sessions:
        return run_status(sessions, selection, chunk_size=chunk_size, reporter=reporter)


def enable(
    profiles: Mapping[Side, Profile],
    selection: Selection,
    settings: HoldSettings,
    *,
    what_if: bool = False,
    journal_path: Path | None = None,
    argv: Sequence[str] = (),
    chunk_size: int = 500,
    reporter: Reporter | None = None,
) -> EnableResult:
    """``hold enable``: put the selected mailboxes on hold on the sides ``profiles`` name and account for each.

    Journal steps are four pipelines' worth of mailboxes (``chunk_size`` x 4). Under ``what_if`` nothing is sent
    and no journal is opened.
    """
    with open_sides(profiles) as sessions:
        version = onprem_release(sessions.get(Side.ONPREM), profiles.get(Side.ONPREM))
        if what_if:
            return preview_enable(sessions, selection, settings, onprem_version=version, chunk_size=chunk_size,
                                  reporter=reporter)
        with Journal(journal_path or DEFAULT_JOURNAL) as journal:
            return run_enable(sessions, selection, settings, journal=journal, onprem_version=version, argv=argv,
                              profile=",".join(f"{k}={s.name}" for k, s in sessions.items()),
                              chunk_size=chunk_size, step_size=chunk_size * 4, reporter=reporter)
