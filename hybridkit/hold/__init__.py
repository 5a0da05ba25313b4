"""Litigation hold on both sides of a hybrid: enable it on every selected mailbox and account for each one.

Other code (the demo, the benchmark) uses it through this face::

    from hybridkit.hold import HoldSettings, Selection, run_enable, write_report

    with Journal(path) as journal:     # journaled and resumable through hybridkit.runner
        result = run_enable(sessions, Selection(recipient_types=("UserMailbox",)), HoldSettings(), journal=journal)
    write_report(Path("hold.xlsx"), result.outcomes)    # one HoldOutcome per mailbox (.csv or .xlsx)

Rooms: ``_read`` (the selection and settings, a mailbox list from disk), ``_discover`` (where each mailbox lives
and its hold; the verification read), ``_plan`` (pure: one action per mailbox, the journal steps, the outcomes),
``_apply`` (through ``hybridkit.runner``), ``_render`` (tables, JSON, the report file), ``_model``, ``_service``
(what the CLI calls), ``cli``.
"""

from hybridkit.hold._apply import preview_enable, run_enable
from hybridkit.hold._model import EnableResult, HoldOutcome, HoldSettings, OutcomeStatus, Selection, parse_duration
from hybridkit.hold._read import read_mailbox_file
from hybridkit.hold._render import write_report
from hybridkit.hold._service import run_status

__all__ = [
    "EnableResult",
    "HoldOutcome",
    "HoldSettings",
    "OutcomeStatus",
    "Selection",
    "parse_duration",
    "preview_enable",
    "read_mailbox_file",
    "run_enable",
    "run_status",
    "write_report",
]
