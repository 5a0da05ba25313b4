"""The services behind ``cutover failures`` and ``cutover remediate``: read, plan, apply through the one runner.

``list_failures`` reads (``_failures_read``) and classifies; ``remediate`` plans (``_remedy``) and sends the plan's
chunks with ``hybridkit.runner.open_run`` / ``Run.apply_items``, journaled as run kind ``cutover-remediate``.
An unfinished run of the same request (killed, Ctrl-C) is carried on with its own chunks, read back from the
journal, so nothing is approved or restarted twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from hybridkit.cutover._failures import FailureKind, MailboxFailure
from hybridkit.cutover._failures_read import discover, read_skipped
from hybridkit.cutover._discover import as_text
from hybridkit.cutover._remedy import (
    JOURNAL_KIND,
    MinScore,
    RemedyAction,
    RemedyItem,
    collect,
    fingerprint,
    plan_remedies,
    remedy_steps,
    steps_from_prior,
    verify_chunk,
)
from hybridkit.journal import Journal, StepState
from hybridkit.outcomes import Outcome
from hybridkit.ps import PSSession
from hybridkit.runner import NullReporter, Reporter, RunReport, Step, StepStatus, find_prior, open_run

__all__ = ["RemediationResult", "RemedyOutcome", "list_failures", "remediate"]

FAILING = frozenset({Outcome.FAILED, Outcome.SKIPPED, Outcome.NOT_RUN})


@dataclasses.dataclass(frozen=True)
class RemedyOutcome:
    """One mailbox of ``cutover remediate``: ``action`` planned, ``outcome`` once applied (None under
    ``--what-if``), ``detail`` why (for a failure, Exchange's message)."""

    mailbox: str
    batch: str
    action: RemedyAction
    outcome: Outcome | None
    detail: str
    status: str = ""
    score: str = ""
    failure_type: str = ""

    @property
    def failed(self) -> bool:
        """Exchange refused it, or it still needs a person (skipped), or the run stopped before it."""
        return self.outcome in FAILING


@dataclasses.dataclass(frozen=True)
class RemediationResult:
    """What ``remediate`` did (or, under ``what_if``, would do) for each listed mailbox."""

    items: tuple[RemedyOutcome, ...]
    what_if: bool
    commands: tuple[str, ...] = ()
    run_id: str | None = None
    resumed: bool = False
    warnings: tuple[str, ...] = ()


def list_failures(session: PSSession, *, batches: Sequence[str] = (), mailboxes: Sequence[str] = (),
                  chunk_size: int = 500) -> list[MailboxFailure]:
    """Every failed, stalled, low-scored or approval-awaiting mailbox of ``batches`` (or ``mailboxes``, or all),
    with its skipped items counted by kind: two pipelines per batch and one chunked read of skipped items."""
    found = discover(session, batches=batches, mailboxes=mailboxes, chunk_size=chunk_size)
    skipped = read_skipped(session, found.with_skipped(), chunk_size=chunk_size)
    return found.failures(skipped)


def _items_of(steps: Sequence[Step]) -> dict[str, set[str]]:
    actions: dict[str, set[str]] = {}
    for step in steps:
        action = str((step.payload or {}).get("action"))
        for mailbox in step.input_items:
            actions.setdefault(str(mailbox).lower(), set()).add(action)
    return actions


def _action(actions: set[str]) -> RemedyAction:
    if {"approve", "restart"} <= actions:
        return RemedyAction.APPROVE_RESTART
    return RemedyAction.RESTART if "restart" in actions else RemedyAction.APPROVE


def _sent(report: RunReport) -> dict[str, dict[str, tuple[bool | None, str]]]:
    """mailbox -> action -> (ok, Exchange's message): True done, False refused, None never sent."""
    out: dict[str, dict[str, tuple[bool | None, str]]] = {}
    for result in report.results:
        action = str((result.step.payload or {}).get("action"))
        planned = [str(m).lower() for m in (result.step.payload or {}).get("mailboxes", result.step.input_items)]
        refused: dict[str, str] = {}
        if result.status is StepStatus.SKIPPED and isinstance(result.payload, dict):
            refused = {str(k).lower(): str(v) for k, v in (result.payload.get("failed") or {}).items()}
        elif result.items is not None:
            refused = {str(o.item).lower(): o.message or "failed" for o in result.items if not o.ok}
        for mailbox in planned:
            if result.status is StepStatus.NOT_RUN:
                state: tuple[bool | None, str] = (None, "not sent: the run stopped before this chunk")
            elif result.status is StepStatus.FAILED:
                state = (False, result.error or "the pipeline failed")
            elif mailbox in refused:
                state = (False, refused[mailbox])
            else:
                state = (True, "")
            out.setdefault(mailbox, {})[action] = state
    return out


def _applied(item: RemedyItem | None, mailbox: str, actions: set[str],
             sent: dict[str, tuple[bool | None, str]]) -> tuple[Outcome, str]:
    refused = [msg for ok, msg in sent.values() if ok is False]
    if refused:
        return Outcome.FAILED, "; ".join(refused)
    if any(ok is None for ok, _ in sent.values()):
        return Outcome.NOT_RUN, "not sent: the run stopped before this mailbox"
    done = []
    if "approve" in actions:
        done.append("skipped items approved" + (f" (DataConsistencyScore {item.failure.score})"
                                                if item and item.failure.score else ""))
    if "restart" in actions:
        done.append("restart sent (Start-MigrationUser): the move resumes from where it failed")
    return (Outcome.SENT if "restart" in actions else Outcome.UPDATED), "; ".join(done)


def remediate(
    session: PSSession,
    journal: Journal,
    *,
    batches: Sequence[str] = (),
    mailboxes: Sequence[str] = (),
    approve: bool,
    restart: bool,
    min_score: MinScore = MinScore.GOOD,
    what_if: bool = False,
    chunk_size: int = 500,
    argv: Sequence[str] = (),
    profile: str | None = None,
    reporter: Reporter | None = None,
) -> RemediationResult:
    """Approve skipped items and restart failed users where that is safe and documented (see ``_remedy``)."""
    found = discover(session, batches=batches, mailboxes=mailboxes, chunk_size=chunk_size)
    failures = found.failures({})
    plan = plan_remedies(failures, approve=approve, restart=restart, min_score=min_score)
    fp = fingerprint(batches=batches, mailboxes=mailboxes, approve=approve, restart=restart, min_score=min_score)
    prior = find_prior(journal, JOURNAL_KIND, fp)
    steps = steps_from_prior(prior) if prior is not None else remedy_steps(plan, chunk_size)
    warnings: list[str] = []
    if prior is not None:
        warnings.append(f"carrying on with unfinished run {prior.run_id} (its plan as it began; mailboxes it "
                        "already handled are not sent again)")
    by_mailbox = {i.mailbox: i for i in plan.items}
    planned = _items_of(steps)
    if what_if:
        pending = [s for s in steps if prior is None or prior.steps[s.key].state is not StepState.DONE]
        return RemediationResult(_rows(by_mailbox, planned, None), True, tuple(s.rendered() for s in pending),
                                 None, prior is not None, tuple(warnings))
    with open_run(journal, JOURNAL_KIND, fp, steps, prior=prior, argv=argv, profile=profile,
                  reporter=reporter or NullReporter()) as run:
        report = run.apply_items(session, chunk_size=chunk_size, key=lambda o: as_text(o.get("Identity")).lower(),
                                 verify=verify_chunk, collect=collect, task="remediate")
        rows = _rows(by_mailbox, planned, _sent(report))
        return RemediationResult(rows, False, (), run.run_id, run.resumed, tuple(warnings))


def _rows(by_mailbox: dict[str, RemedyItem], planned: dict[str, set[str]],
          sent: dict[str, dict[str, tuple[bool | None, str]]] | None) -> tuple[RemedyOutcome, ...]:
    rows = []
    for mailbox in sorted(set(by_mailbox) | set(planned), key=lambda m: ((by_mailbox[m].failure.batch.lower()
                                                                          if m in by_mailbox else ""), m)):
        item = by_mailbox.get(mailbox)
        failure = item.failure if item else None
        base = dict(mailbox=mailbox, batch=failure.batch if failure else "", status=failure.status if failure else "",
                    score=failure.score if failure else "", failure_type=failure.failure_type if failure else "")
        actions = planned.get(mailbox, set())
        if actions:
            action = _action(actions)
            if sent is None:
                detail = item.reason if item else "carried on from the unfinished run"
                rows.append(RemedyOutcome(action=action, outcome=None, detail=detail, **base))
            else:
                outcome, detail = _applied(item, mailbox, actions, sent.get(mailbox, {}))
                rows.append(RemedyOutcome(action=action, outcome=outcome, detail=detail, **base))
            continue
        assert item is not None
        reason = item.reason if item.action is RemedyAction.NONE else (
            "not in the unfinished run's plan: run the command again once it has finished")
        quiet = item.failure.kind is FailureKind.STALLED
        outcome = None if sent is None else (Outcome.UNCHANGED if quiet else Outcome.SKIPPED)
        rows.append(RemedyOutcome(action=RemedyAction.NONE, outcome=outcome, detail=reason, **base))
    return tuple(rows)
