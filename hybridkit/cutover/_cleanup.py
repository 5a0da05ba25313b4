"""``cutover remove-completed``: plan (pure) which migration batches are removed to make room under Exchange
Online's batch limit, and the journaled steps that remove them.

What Exchange does (sources): ``Remove-MigrationBatch`` removes "a migration batch that either isn't running or
has been completed", and with it every object related to the batch (its migration users and their reports)
(Remove-MigrationBatch reference page, Exchange Online); a running batch (Syncing) can only be stopped, a
Stopped one deleted, and the dashboard's Delete is for a batch "after you verify that all mailboxes in the
migration batch have been successfully migrated" (Manage migration batches in Exchange Online); completed
batches are the ones to remove to make room for new ones (Exchange Team blog, 19 April 2019, "The 100
migration batches limit"). Remove-* cmdlets pause for a confirmation a remote session cannot answer, so the
command carries ``-Confirm:$false`` (the ``-Confirm`` parameter's text on the reference page).

So the plan removes a batch whose Status is **Completed**; a **CompletedWithErrors** batch only when asked
(``include_errors``: removing it deletes its failed users and their reports, which ``cutover failures`` reads);
never a batch in any other status (syncing, synced, stopped, completing, failed): those are reported, left alone.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence

from hybridkit.cutover._model import ObservedBatch
from hybridkit.outcomes import Outcome
from hybridkit.ps import Command
from hybridkit.runner import Step

__all__ = [
    "CLEANUP_KIND",
    "CleanupAction",
    "CleanupItem",
    "CleanupPlan",
    "cleanup_fingerprint",
    "cleanup_steps",
    "plan_cleanup",
    "remove_command",
]

CLEANUP_KIND = "cutover-remove"
COMPLETED = "Completed"
WITH_ERRORS = "CompletedWithErrors"


class CleanupAction(str, enum.Enum):
    """What the plan does with a batch (``action`` in JSON)."""

    REMOVE = "remove"
    NONE = "none"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class CleanupItem:
    """One batch: its status as read, what the plan does (``reason``: why, or why not), and (once applied) what
    happened. ``failed_users``: its users Exchange lists as failed (the ones whose reports removal would lose)."""

    batch: str
    status: str
    action: CleanupAction
    reason: str
    total: int | None = None
    failed_users: tuple[str, ...] = ()
    outcome: Outcome | None = None
    detail: str = ""

    @property
    def failed(self) -> bool:
        """Exchange refused the removal, the run stopped before it, or a named batch does not exist."""
        return self.outcome in (Outcome.FAILED, Outcome.NOT_RUN, Outcome.NOT_FOUND)


@dataclasses.dataclass(frozen=True)
class CleanupPlan:
    items: tuple[CleanupItem, ...]

    @property
    def to_remove(self) -> tuple[CleanupItem, ...]:
        return tuple(i for i in self.items if i.action is CleanupAction.REMOVE)


def remove_command(batch: str) -> Command:
    """``Remove-MigrationBatch -Identity B -Confirm:$false``."""
    return Command.of("Remove-MigrationBatch", Identity=batch, Confirm=False)


def _listed(users: Sequence[str], most: int = 10) -> str:
    shown = ", ".join(users[:most])
    return shown + (f", ... ({len(users)} in all)" if len(users) > most else "")


def plan_cleanup(observed: Mapping[str, ObservedBatch], names: Iterable[str] = (), *,
                 include_errors: bool = False, removed_before: Mapping[str, str] | None = None) -> CleanupPlan:
    """Which of the batches (all, or ``names``) are removed, and why the others are not.

    Args:
        observed: the tenant's batches with their users (``observe_batches``).
        names: only these batches; a name Exchange does not list is ``unchanged`` when an earlier run of this
            command removed it (``removed_before``: lower-case name -> journal run id), else ``not-found``.
        include_errors: remove CompletedWithErrors batches too (their failed users' reports are lost).
    """
    by_name = {name.lower(): batch for name, batch in observed.items()}
    wanted = list(dict.fromkeys(names))
    chosen: list[tuple[str, ObservedBatch | None]] = (
        [(n, by_name.get(n.lower())) for n in wanted] if wanted
        else [(b.name, b) for b in sorted(observed.values(), key=lambda b: b.name.lower())])
    items: list[CleanupItem] = []
    for name, batch in chosen:
        if batch is None:
            earlier = (removed_before or {}).get(name.lower())
            if earlier:
                items.append(CleanupItem(name, "", CleanupAction.NONE, f"already removed (journal run {earlier})",
                                         outcome=Outcome.UNCHANGED))
            else:
                items.append(CleanupItem(name, "", CleanupAction.NONE, "no migration batch of that name "
                                         "(Get-MigrationBatch)", outcome=Outcome.NOT_FOUND))
            continue
        failed = tuple(sorted({u.mailbox for u in batch.users if u.failed}))
        base = dict(batch=batch.name, status=batch.status, total=batch.total, failed_users=failed)
        if batch.status == COMPLETED:
            items.append(CleanupItem(action=CleanupAction.REMOVE, reason="Completed: every mailbox migrated",
                                     **base))  # type: ignore[arg-type]
        elif batch.status == WITH_ERRORS and include_errors:
            items.append(CleanupItem(action=CleanupAction.REMOVE, reason=(
                f"CompletedWithErrors, removed as asked (--include-errors): the migration users and reports of "
                f"{len(failed)} failed mailbox(es) go with it: {_listed(list(failed))}"), **base))  # type: ignore[arg-type]
        elif batch.status == WITH_ERRORS:
            items.append(CleanupItem(action=CleanupAction.NONE, reason=(
                f"CompletedWithErrors: {len(failed)} failed mailbox(es) ({_listed(list(failed))}); removing the "
                "batch deletes their migration users and reports (Get-MigrationUserStatistics -IncludeReport, "
                f"`cutover failures --batch {batch.name}` reads them). Keep what you need, then give "
                "--include-errors to remove it"), **base))  # type: ignore[arg-type]
        else:
            items.append(CleanupItem(action=CleanupAction.NONE, reason=(
                f"{batch.status}: not completed; only a completed batch is removed (a running batch is never "
                "removed)"), **base))  # type: ignore[arg-type]
    return CleanupPlan(tuple(items))


def cleanup_steps(plan: CleanupPlan) -> list[Step]:
    """One journaled step per batch to remove (key ``remove:<name>``)."""
    return [Step(key=f"remove:{i.batch.lower()}", target=i.batch, command=remove_command(i.batch))
            for i in plan.to_remove]


def cleanup_fingerprint(names: Iterable[str], include_errors: bool) -> str:
    """The request (the batches named, or all, and the flag): a re-run of it carries on its unfinished run."""
    request = {"batches": sorted({n.lower() for n in names}), "include_errors": include_errors}
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:32]
