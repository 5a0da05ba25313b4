"""Exchange Online's migration batch limit, checked before ``cutover create`` sends anything.

Exchange Online keeps at most ``MaxNumberOfBatches`` migration batches (Get-MigrationConfig; 100 in Exchange
Online) and refuses the next New-MigrationBatch with "The maximum number of migration batches is already running.
Please remove a batch before you add another one" (MaximumNumberOfBatchesReachedException). A plan that does not
fit would fail part-way; ``check_room`` refuses it up front (exit 2, nothing created) and says what to remove or
how to re-plan: completed batches can go (``hybridkit cutover remove-completed``, ``Remove-MigrationBatch``), and ``hybridkit batches plan
--sync-batches N`` packs completion waves into at most N large sync batches (Microsoft's pattern: large batches
for the initial sync, completion in smaller groups; Exchange Team blog, 19 April 2019).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from hybridkit.cutover._discover import as_int
from hybridkit.errors import CommandFailed, PlanError
from hybridkit.ps import Command, Pipeline, PSObject, PSSession

__all__ = ["BatchRoom", "check_room", "ensure_room", "read_max_batches"]

# Batch statuses whose batches are finished with and may be removed to make room (MigrationBatchStatus names).
REMOVABLE = ("Completed", "CompletedWithErrors")


@dataclasses.dataclass(frozen=True)
class BatchRoom:
    """The tenant's batch limit and the batches it holds (name -> Status)."""

    max_batches: int
    existing: Mapping[str, str]

    @property
    def left(self) -> int:
        return max(0, self.max_batches - len(self.existing))


def read_max_batches(session: PSSession) -> int | None:
    """Get-MigrationConfig's MaxNumberOfBatches, or None when the endpoint does not say (nothing is checked)."""
    try:
        result = session.run(Pipeline.of(Command.of("Get-MigrationConfig"),
                                         Command.of("Select-Object", Property=["MaxNumberOfBatches"])))
    except CommandFailed:
        return None
    values = [as_int(o.get("MaxNumberOfBatches")) for o in result.output if isinstance(o, PSObject)]
    return next((v for v in values if v), None)


def check_room(to_create: Sequence[str], room: BatchRoom) -> None:
    """Refuse (``PlanError``, exit 2) a plan whose new batches do not fit the room left, saying what to do.

    Args:
        to_create: the names of the batches the plan would create.
        room: the limit and the batches already there.
    """
    if len(to_create) <= room.left:
        return
    over = len(to_create) - room.left
    done = sorted(name for name, status in room.existing.items() if status in REMOVABLE)
    ways = []
    if done:
        shown = ", ".join(done[:over]) + (" ..." if over < len(done) and over > 10 else "")
        errors = any(room.existing[name] != "Completed" for name in done[:over])
        ways.append(f"remove {min(over, len(done))} completed batch(es) (Remove-MigrationBatch: {shown}) with "
                    "`hybridkit cutover remove-completed --what-if`, then `--yes`"
                    + (" (add --include-errors for CompletedWithErrors ones: their failed users' reports go "
                       "with them)" if errors else ""))
    else:
        ways.append("complete some batches, then remove them with `hybridkit cutover remove-completed`")
    ways.append(f"re-plan with `hybridkit batches plan --sync-batches {max(1, room.left)}` (completion waves "
                f"packed into at most {max(1, room.left)} sync batches; complete a wave with "
                "`hybridkit cutover complete --wave WAVE --plan DIR`)")
    raise PlanError(
        f"the plan creates {len(to_create)} migration batch(es), but Exchange Online keeps at most "
        f"{room.max_batches} (Get-MigrationConfig MaxNumberOfBatches) and {len(room.existing)} exist: room for "
        f"{room.left}. Nothing was created. To fit, " + "; or ".join(ways) + "."
    )


def ensure_room(session: PSSession, to_create: Sequence[str], existing: Mapping[str, object]) -> None:
    """Read the limit and check the plan against it (``existing``: name -> an observed batch with ``status``)."""
    if not to_create:
        return
    limit = read_max_batches(session)
    if limit is None:
        return
    statuses = {name: str(getattr(batch, "status", batch)) for name, batch in existing.items()}
    check_room(list(to_create), BatchRoom(limit, statuses))
