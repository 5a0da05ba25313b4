"""The one run skeleton: every change (or crawl) a capability makes runs through here, journaled and resumable.

``open_run(journal, kind, fingerprint, steps)`` starts or resumes a plan's run and closes it with an honest
status (see ``hybridkit.runner._run``); ``Run.apply`` is the ordered step loop, ``Run.apply_items`` the
chunked-items runner for item pipelines. ``Reporter`` is how progress is told (no Rich here). Bounded retries of
transient faults (``call_with_retries``) are what the bridge's sessions use.
"""

from hybridkit.runner._items import item_key
from hybridkit.runner._report import NullReporter, Reporter, counts_reporter
from hybridkit.ps import DEFAULT_RETRY, NO_RETRY, RetryPolicy, call_with_retries
from hybridkit.runner._run import PriorRun, Run, find_prior, open_run
from hybridkit.runner._steps import (
    Collect,
    Note,
    RunReport,
    Sessions,
    Step,
    StepResult,
    StepStatus,
    Verify,
    VerifyItems,
    planned,
)

__all__ = [
    "DEFAULT_RETRY",
    "NO_RETRY",
    "Collect",
    "Note",
    "NullReporter",
    "PriorRun",
    "Reporter",
    "RetryPolicy",
    "Run",
    "RunReport",
    "Sessions",
    "Step",
    "StepResult",
    "StepStatus",
    "Verify",
    "VerifyItems",
    "call_with_retries",
    "counts_reporter",
    "find_prior",
    "item_key",
    "open_run",
    "planned",
]
