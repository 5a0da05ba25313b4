"""``cutover remediate``: plan (pure) which listed mailboxes get their skipped items approved and which are
restarted, then apply the plan through the one runner, journaled and resumable.

Only the remedies Microsoft documents as safe (see ``_failures`` for the sources):

* **approve** (``Set-MigrationUser -ApproveSkippedItems``) a mailbox whose skipped items wait for approval and
  whose DataConsistencyScore is at least ``min_score`` (Good by default; Investigate only when asked; Poor
  never: Microsoft says to contact Support);
* **restart** (``Start-MigrationUser``) a failed mailbox, except one over its quota or without a licence (a
  person changes the mailbox or the licence; a restart would fail the same way) and one that failed on skipped
  items nobody approved (it would fail on the same items again).

Approvals go first, then restarts, each as chunks of addresses streamed into one pipeline
(``'a@x','b@x' | Set-MigrationUser -ApproveSkippedItems``), never one pipeline per mailbox. Each chunk is a
journaled step (``Run.apply_items``). A plan is fixed once its run starts: a re-run of the same request while that
run is unfinished (killed, interrupted) carries on with the same chunks, read back from the journal; a chunk
left in doubt is checked against live state first (``verify``), so no mailbox is approved or restarted twice.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from hybridkit.cutover._failures import SCORES, FailureKind, MailboxFailure, classify, score_rank
from hybridkit.cutover._failures_read import discover
from hybridkit.ps import Command, ItemOutcome, Pipeline, PSSession, Switch
from hybridkit.runner import PriorRun, Step

__all__ = [
    "JOURNAL_KIND",
    "PIPELINES",
    "collect",
    "MinScore",
    "RemedyAction",
    "RemedyItem",
    "RemedyPlan",
    "fingerprint",
    "plan_remedies",
    "remedy_steps",
    "steps_from_prior",
    "verify_chunk",
]

JOURNAL_KIND = "cutover-remediate"


class MinScore(str, enum.Enum):
    """The lowest DataConsistencyScore whose skipped items ``remediate`` approves (Poor is never offered)."""

    GOOD = "Good"
    INVESTIGATE = "Investigate"

    def __str__(self) -> str:
        return self.value


class RemedyAction(str, enum.Enum):
    """What the plan does for one mailbox (``action`` in JSON)."""

    APPROVE = "approve"
    RESTART = "restart"
    APPROVE_RESTART = "approve-restart"
    NONE = "none"

    def __str__(self) -> str:
        return self.value


_APPROVE = Pipeline.of(Command.of("Set-MigrationUser", ApproveSkippedItems=Switch()))
_RESTART = Pipeline.of(Command.of("Start-MigrationUser"))
PIPELINES = {"approve": _APPROVE, "restart": _RESTART}


@dataclasses.dataclass(frozen=True)
class RemedyItem:
    """One listed mailbox: the failure as found and what the plan does about it (``reason``: why, or why not)."""

    failure: MailboxFailure
    action: RemedyAction
    reason: str

    @property
    def mailbox(self) -> str:
        return self.failure.mailbox

    @property
    def approves(self) -> bool:
        return self.action in (RemedyAction.APPROVE, RemedyAction.APPROVE_RESTART)

    @property
    def restarts(self) -> bool:
        return self.action in (RemedyAction.RESTART, RemedyAction.APPROVE_RESTART)


@dataclasses.dataclass(frozen=True)
class RemedyPlan:
    items: tuple[RemedyItem, ...]

    @property
    def to_approve(self) -> list[str]:
        return [i.mailbox for i in self.items if i.approves]

    @property
    def to_restart(self) -> list[str]:
        return [i.mailbox for i in self.items if i.restarts]


def fingerprint(*, batches: Iterable[str], mailboxes: Iterable[str], approve: bool, restart: bool,
                min_score: MinScore) -> str:
    """Identifies a remediation request (not live state), so a re-run finds the run to carry on."""
    digest = hashlib.sha256(f"{approve}|{restart}|{min_score.value}".encode())
    for name in sorted({b.lower() for b in batches}):
        digest.update(b"\0b:" + name.encode())
    for mailbox in sorted({m.lower() for m in mailboxes}):
        digest.update(b"\0m:" + mailbox.encode())
    return digest.hexdigest()[:32]


def _approval(failure: MailboxFailure, min_score: MinScore) -> tuple[bool, str]:
    """Whether its skipped items may be approved, and why not."""
    if failure.score == "Poor":
        return False, ("DataConsistencyScore Poor: its skipped items are never approved here; contact Microsoft "
                       "Support")
    if score_rank(failure.score) < 0:
        return False, "no DataConsistencyScore yet: review its skipped items before approving them"
    if score_rank(failure.score) > SCORES.index(min_score.value):
        return False, (f"DataConsistencyScore {failure.score} is below --min-score {min_score.value}: review its "
                       "skipped items, then run again with --min-score Investigate to approve them")
    return True, f"skipped items approved (DataConsistencyScore {failure.score})"


def _plan_one(failure: MailboxFailure, *, approve: bool, restart: bool, min_score: MinScore) -> RemedyItem:
    if failure.kind in (FailureKind.QUOTA, FailureKind.LICENCE):
        return RemedyItem(failure, RemedyAction.NONE, failure.remedy)
    if failure.kind is FailureKind.STALLED:
        return RemedyItem(failure, RemedyAction.NONE, failure.remedy)
    approved_now, why = False, ""
    if failure.awaiting_approval:
        if not approve:
            why = "its skipped items wait for approval (--approve-skipped not given)"
        else:
            approved_now, why = _approval(failure, min_score)
    if failure.failed and failure.kind in (FailureKind.OTHER, FailureKind.SKIPPED_ITEMS):
        blocked = failure.awaiting_approval and not approved_now
        if restart and not blocked:
            action = RemedyAction.APPROVE_RESTART if approved_now else RemedyAction.RESTART
            return RemedyItem(failure, action, (why + "; " if approved_now else "") + "restarted: the move "
                              "resumes from where it failed")
        if blocked:
            return RemedyItem(failure, RemedyAction.APPROVE if approved_now else RemedyAction.NONE,
                              f"not restarted: {why} (a restart would fail on the same items again)")
        return RemedyItem(failure, RemedyAction.APPROVE if approved_now else RemedyAction.NONE,
                          (why + "; " if approved_now else "") + "not restarted (--restart-failed not given)")
    if approved_now:
        return RemedyItem(failure, RemedyAction.APPROVE, why)
    return RemedyItem(failure, RemedyAction.NONE, why or failure.remedy)


def plan_remedies(failures: Sequence[MailboxFailure], *, approve: bool, restart: bool,
                  min_score: MinScore = MinScore.GOOD) -> RemedyPlan:
    """What to do for each listed mailbox (pure)."""
    return RemedyPlan(tuple(_plan_one(f, approve=approve, restart=restart, min_score=min_score)
                            for f in failures))


def _chunks(action: str, mailboxes: list[str], chunk_size: int) -> list[Step]:
    steps = []
    for number, start in enumerate(range(0, len(mailboxes), chunk_size), 1):
        chunk = mailboxes[start:start + chunk_size]
        noun = "mailbox" if len(chunk) == 1 else "mailboxes"
        steps.append(Step(key=f"{action}:{number:04d}", target=f"{action} {len(chunk)} {noun}",
                          command=PIPELINES[action], input_items=tuple(chunk),
                          payload={"action": action, "mailboxes": chunk}))
    return steps


def remedy_steps(plan: RemedyPlan, chunk_size: int) -> list[Step]:
    """The plan's journaled steps: approval chunks first, then restart chunks."""
    return _chunks("approve", plan.to_approve, chunk_size) + _chunks("restart", plan.to_restart, chunk_size)


def _planned(payload: Any) -> dict[str, Any]:
    """A chunk's plan from its journal payload (a finished chunk keeps it under ``planned``)."""
    if isinstance(payload, dict) and isinstance(payload.get("planned"), dict):
        return payload["planned"]
    return payload if isinstance(payload, dict) else {}


def steps_from_prior(prior: PriorRun) -> list[Step]:
    """The steps of an unfinished run, as its journal holds them (the plan it was carrying out)."""
    steps = []
    for record in prior.steps.values():
        planned = _planned(record.payload)
        action, chunk = planned.get("action"), planned.get("mailboxes")
        if action not in PIPELINES or not isinstance(chunk, list):
            continue
        steps.append(Step(key=record.key, target=record.target, command=PIPELINES[action],
                          input_items=tuple(str(m) for m in chunk), payload={"action": action, "mailboxes": chunk}))
    return steps


def collect(step: Step, outcomes: list[ItemOutcome]) -> dict[str, Any]:
    """A finished chunk's payload: its plan and Exchange's message per mailbox it refused."""
    return {"planned": step.payload,
            "failed": {str(o.item).lower(): o.message or "failed" for o in outcomes if not o.ok}}


def verify_chunk(session: PSSession, step: Step) -> list[str]:
    """The mailboxes of a chunk left in doubt that live state does not show done yet (only those are resent).

    Approved: no skipped items wait for approval any more. Restarted: the user and its move are no longer Failed.
    """
    action = _planned(step.payload).get("action")
    mailboxes = [str(m) for m in step.input_items]
    found = discover(session, mailboxes=mailboxes)

    still = []
    for user in found.users:
        failure = classify(user, found.move_of(user))
        if failure is None:
            continue
        if action == "approve" and failure.awaiting_approval:
            still.append(user.mailbox)
        elif action == "restart" and failure.failed:
            still.append(user.mailbox)
    return [m for m in mailboxes if m.lower() in still]
