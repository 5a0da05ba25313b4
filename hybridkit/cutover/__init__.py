"""Cutover: create migration batches from a plan, watch them sync, complete them (all or a few mailboxes early).

What other code (the demo) uses::

    from hybridkit import cutover

    batches = cutover.read_plan(plan_dir)                       # plan.json, read through hybridkit.batches
    observed = cutover.observe_batches(online)                  # the tenant's migration batches
    made = cutover.create_batches(online, cutover.plan_create(batches, observed), cutover.CreateOptions(...),
                                  observed, journal=journal)    # journaled through hybridkit.runner
    moves = cutover.read_moves(online, batches=[name])          # mailbox -> MoveState
    done = cutover.run_completion(online, journal, mailboxes, moves, method=cutover.CompletionMethod.MOVEREQUEST,
                                  at=when)                      # chunks through Run.apply_items, resumable
    final = cutover.follow(online, done.followed, poll_interval=30, timeout=3600)
    failures = cutover.list_failures(online, batches=[name])  # failed, stalled, low-scored, awaiting approval
    fixed = cutover.remediate(online, journal, batches=[name], approve=True, restart=True)  # journaled
    room = cutover.remove_completed(online, journal, batches=[name])  # Completed batches only, journaled

Rooms: ``_read`` (plan.json and mailbox lists from disk), ``_discover`` (batches, migration users and moves from
Exchange Online), ``_plan`` (pure: what to create, who is ready, the commands), ``_apply`` (through
``hybridkit.runner``), ``_service`` (what the CLI calls: create, status and its watch loop, complete and its
wait), ``_render`` (tables, JSON), ``_model`` (values, typed outcomes), ``_when`` (times), ``_options``, ``cli``.
``cutover failures`` / ``remediate`` and the batch limit have their own: ``_failures`` (classify, remedies),
``_failures_read``, ``_remedy`` (plan, steps), ``_remedy_run`` (services), ``_failures_render``, ``_limits``,
``cli_remedy``; so does ``cutover remove-completed``: ``_cleanup`` (plan, steps), ``_cleanup_run`` (service),
``_cleanup_render``, ``cli_cleanup``; completion waves (``complete --wave``, ``status --plan``): ``_waves``;
``status`` and ``complete`` are registered from ``cli_status`` and ``cli_complete``.
"""

from hybridkit.cutover._apply import completion_pipelines, create_batches, follow, run_completion
from hybridkit.cutover._cleanup_run import remove_completed
from hybridkit.cutover._discover import FOLLOW_COLUMNS, READINESS_COLUMNS, observe_batches, read_moves
from hybridkit.cutover._model import (
    CompletionMethod,
    CompletionOutcome,
    CompletionReport,
    CompletionResult,
    CreateOptions,
    MoveState,
    PlannedBatch,
    Readiness,
    StatusSnapshot,
)
from hybridkit.cutover._failures_render import failures_view, remedy_view
from hybridkit.cutover._plan import plan_create
from hybridkit.cutover._read import read_mailbox_list, read_plan
from hybridkit.cutover._remedy import MinScore
from hybridkit.cutover._remedy_run import list_failures, remediate
from hybridkit.cutover._service import complete, read_status, watch_status

__all__ = [
    "CompletionMethod",
    "CompletionOutcome",
    "CompletionReport",
    "CompletionResult",
    "CreateOptions",
    "FOLLOW_COLUMNS",
    "MinScore",
    "MoveState",
    "PlannedBatch",
    "READINESS_COLUMNS",
    "Readiness",
    "StatusSnapshot",
    "complete",
    "completion_pipelines",
    "create_batches",
    "failures_view",
    "follow",
    "list_failures",
    "observe_batches",
    "plan_create",
    "read_mailbox_list",
    "read_moves",
    "read_plan",
    "read_status",
    "remedy_view",
    "remediate",
    "remove_completed",
    "run_completion",
    "watch_status",
]
