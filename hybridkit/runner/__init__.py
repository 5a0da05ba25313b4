"""Running many remote changes safely: bounded retries of transient faults, and the journal-aware step executor."""

from hybridkit.runner._retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy, call_with_retries
from hybridkit.runner._steps import (
    Reporter,
    RunReport,
    Step,
    StepResult,
    StepStatus,
    Verify,
    planned,
    run_in_order,
    run_steps,
)

__all__ = [
    "DEFAULT_RETRY",
    "NO_RETRY",
    "Reporter",
    "RetryPolicy",
    "RunReport",
    "Step",
    "StepResult",
    "StepStatus",
    "Verify",
    "call_with_retries",
    "planned",
    "run_in_order",
    "run_steps",
]
