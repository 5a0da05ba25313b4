"""Litigation hold on both sides of a hybrid: enable it on every selected mailbox and account for each one.

What other code (the demo) uses: ``run_enable(sessions, Selection(...), HoldSettings(...), journal=...)`` and
``run_status(...)`` give one ``Outcome`` per mailbox; ``write_report(path, outcomes)`` writes them (.csv/.xlsx).
"""

from hybridkit.hold._files import read_mailbox_file, write_report
from hybridkit.hold._model import HoldSettings, Outcome, OutcomeStatus, Selection, parse_duration
from hybridkit.hold._run import EnableResult, run_enable, run_status

__all__ = [
    "EnableResult",
    "HoldSettings",
    "Outcome",
    "OutcomeStatus",
    "Selection",
    "parse_duration",
    "read_mailbox_file",
    "run_enable",
    "run_status",
    "write_report",
]
