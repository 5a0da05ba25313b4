"""The words every command's ``--output json`` uses for what happened to an item (README, "Output for scripts").

One vocabulary, shared: ``Outcome`` is a ``str`` enum, so its members serialise as the README's words
(``"created"``, ``"not-run"``). What counts as a failure is not part of the word: it is each capability's rule,
kept on its own typed per-item outcome (a ``failed`` property in its ``_model.py``). ``skipped`` is a failure for
``cutover complete`` (the mailbox asked for was not ready) and not for ``decommission restore`` (an object a
backup cannot recreate, said so); ``not-found`` fails a hold but is a plain finding elsewhere.
"""

from __future__ import annotations

import enum

__all__ = ["Outcome"]


class Outcome(str, enum.Enum):
    """What happened to one item once a command ran (``outcome`` in JSON, the Outcome column in tables)."""

    CREATED = "created"
    UPDATED = "updated"
    REMOVED = "removed"
    ENABLED = "enabled"
    STARTED = "started"  # a migration batch that existed, idle, was started
    CHANGED = "changed"
    COMPLETED = "completed"
    COMPLETING = "completing"  # under way in Exchange, not finished yet
    SENT = "sent"
    WRITTEN = "written"
    UNCHANGED = "unchanged"  # already as asked: nothing sent
    KEPT_LONGER = "kept-longer"  # a longer hold left in place rather than shortened (hold enable)
    SKIPPED = "skipped"  # not acted on, for the reason in ``detail``
    FAILED = "failed"  # Exchange's own message in ``detail``
    NOT_FOUND = "not-found"
    UNLICENSED = "unlicensed"  # Exchange Online's licence does not allow it (hold enable)
    REFUSED = "refused"  # this release of Exchange cannot do what was asked (hold enable on 2010)
    UNVERIFIED = "unverified"  # sent, but reading it back did not show it (hold enable)
    ON_HOLD = "on-hold"  # a finding of hold status
    NOT_ON_HOLD = "not-on-hold"  # a finding of hold status
    NOT_RUN = "not-run"  # never sent: the run stopped before it (an earlier step failed, or Ctrl-C)
    TIMED_OUT = "timed-out"

    def __str__(self) -> str:
        return self.value
