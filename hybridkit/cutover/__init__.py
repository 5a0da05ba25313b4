"""Cutover: create migration batches from a plan, watch them sync, complete them (all or a few mailboxes early).

What other code (the demo) uses::

    from hybridkit import cutover

    batches = cutover.read_plan(plan_dir)                       # plan.json, read through hybridkit.batches
    observed = cutover.observe_batches(online)                  # the tenant's migration batches
    made = cutover.create_batches(online, cutover.plan_create(batches, observed), cutover.CreateOptions(...))
    moves = cutover.read_moves(online, batches=[name])          # mailbox -> MoveState
    done = cutover.run_completion(online, journal, mailboxes, moves, method=cutover.CompletionMethod.MOVEREQUEST)
"""

from hybridkit.cutover._apply import (
    CompletionOutcome,
    CreateOptions,
    completion_pipelines,
    create_batches,
    follow,
    run_completion,
)
from hybridkit.cutover._model import CompletionMethod, MoveState, PlannedBatch, Readiness
from hybridkit.cutover._observe import FOLLOW_COLUMNS, READINESS_COLUMNS, observe_batches, read_moves
from hybridkit.cutover._plan import plan_create
from hybridkit.cutover._read import read_mailbox_list, read_plan

__all__ = [
    "CompletionMethod",
    "CompletionOutcome",
    "CreateOptions",
    "FOLLOW_COLUMNS",
    "MoveState",
    "PlannedBatch",
    "READINESS_COLUMNS",
    "Readiness",
    "completion_pipelines",
    "create_batches",
    "follow",
    "observe_batches",
    "plan_create",
    "read_mailbox_list",
    "read_moves",
    "read_plan",
    "run_completion",
]
