"""Tearing the Exchange hybrid down: ``hybridkit decommission plan|apply|restore``.

Other code (the demo) uses it through this face::

    from hybridkit.decommission import make_plan, run_apply

    plan = make_plan(sessions, include_hybrid_configuration=False)    # discover both sides, plan (pure)
    outcome = run_apply(plan, sessions, Path("backup"), profiles=["onprem", "online"])   # backup, then remove

Rooms: ``_discover`` (what the hybrid left, blockers, the on-prem release), ``_plan`` (pure: blockers, order,
checklist), ``_backup`` (the verified backup's format, written by apply and read by restore), ``_apply``
(teardown and restore through ``hybridkit.runner``), ``_render`` (tables, JSON, runbook), ``_service`` (the
functions the CLI calls), ``cli``.
"""

from hybridkit.decommission._apply import RestoreOutcome, TeardownOutcome, step_command
from hybridkit.decommission._model import DecommissionPlan, RemovalOutcome, RestoreAction, RestoreResult
from hybridkit.decommission._render import print_plan, render_runbook
from hybridkit.decommission._service import make_plan, run_apply, run_restore, sessions_for

__all__ = [
    "DecommissionPlan",
    "RemovalOutcome",
    "RestoreAction",
    "RestoreOutcome",
    "RestoreResult",
    "TeardownOutcome",
    "make_plan",
    "print_plan",
    "render_runbook",
    "run_apply",
    "run_restore",
    "sessions_for",
    "step_command",
]
