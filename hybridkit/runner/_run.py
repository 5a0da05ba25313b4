"""The one run skeleton: ``open_run`` starts or resumes a journaled run of a plan, and closes it honestly.

Every capability that changes (or crawls) Exchange runs its plan the same way::

    with open_run(journal, "mailflow", fingerprint, steps, argv=sys.argv, reporter=reporter) as run:
        report = run.apply(sessions, stop_at_failure=True)        # the ordered step loop, or
        report = run.apply_items(sessions, chunk_size=500)        # chunks of items through session.run_items

``open_run`` owns the whole lifecycle, so "where does a run resume?" has one answer, here:

* **The plan's lock.** One run per plan (kind + fingerprint) at a time, across processes (the journal's lock
  table); a lock left by a dead process on this host is taken over.
* **Resume.** If the journal holds an unfinished run of the same plan (``find_prior``) that holds every step
  given, the run carries on (``run.resumed``, same ``run_id``): its done steps are not sent again (``skipped``),
  and its unfinished steps the plan no longer has are recorded ``verified`` (their targets in ``run.verified``).
  Two kinds of plan say "holds" differently. A plan cut from a fixed request (hold's mailboxes in chunks,
  inventory's stages) gives all its steps; done ones are skipped. A plan made from live state
  (``from_live_state=True``: mailflow, decommission) gives only what live state still lacks, so a step missing
  from it was done (live state shows it: an earlier attempt got through), and a step the old run had already
  done but live state lacks again means the plan changed.
* **Supersede.** When the old run cannot carry on (a step it never had, a note it lacks, or with
  ``from_live_state`` a step it had done wanted again) its unfinished steps are recorded ``superseded``, it is
  closed ``superseded`` (``run.superseded``) and a new run starts with ``steps``.
* **In doubt.** A step an earlier attempt started (sent, or about to be, with no outcome recorded) or that
  failed is in doubt: ``apply`` asks the caller's ``verify`` before sending it again.
* **Nothing to do.** With no step to send and no unfinished run to close, nothing is recorded (``run_id`` None).
* **Finish.** Leaving the ``with`` block closes the run with an honest status: ``completed`` (every step done),
  ``failed`` (a step, or an item of a chunk, failed), ``aborted`` with the error (a transport failure past the
  retries, refused credentials, or any other exception), ``interrupted`` (Ctrl-C / SIGINT, or steps left
  untried), and releases the lock. ``typer.Exit``/``SystemExit`` leave the status to the steps.

``started`` and each outcome are separate commits, so a crash leaves an honest record for the next run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

from hybridkit.errors import HybridkitError, PlanError
from hybridkit.journal import Journal, PlannedStep, RunRecord, RunStatus, StepRecord, StepState
from hybridkit.ps import PSSession
from hybridkit.runner._items import STOPPING, run_chunks
from hybridkit.runner._report import NullReporter, Reporter
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
    session_for,
)

__all__ = ["PriorRun", "Run", "find_prior", "open_run"]

log = logging.getLogger("hybridkit.runner")


@dataclasses.dataclass(frozen=True)
class PriorRun:
    """An unfinished run of a plan, as the journal holds it: what a new run would resume.

    Attributes:
        run: the run's record (id, status, why it stopped).
        steps: its steps by key, in plan order, with their state, attempts and payloads.
    """

    run: RunRecord
    steps: Mapping[str, StepRecord]

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def unfinished(self) -> list[StepRecord]:
        """Its steps not done (pending, started or failed), in plan order."""
        return [s for s in self.steps.values() if s.state is not StepState.DONE]


def find_prior(journal: Journal, kind: str, fingerprint: str, *, until_finished: bool = False) -> PriorRun | None:
    """The run of this plan that ``open_run`` would resume, if any (read only: nothing is locked or changed).

    That is the latest run of the plan that did not complete and still has steps not done. With
    ``until_finished``, also a run whose steps are all done but that was never finished (interrupted or aborted
    after its last step): for a capability with work left after its steps (inventory writes its files then).
    Call it to plan with the earlier run in mind (its payloads, what it had left), then hand it to ``open_run``.
    """
    record = journal.find_resumable(kind, fingerprint)
    if record is None and until_finished:
        latest = journal.latest_run(kind, fingerprint)
        if latest is not None and latest.status not in (RunStatus.COMPLETED, RunStatus.SUPERSEDED):
            record = latest
    return None if record is None else _prior(journal, record)


def _prior(journal: Journal, record: RunRecord) -> PriorRun:
    return PriorRun(record, {s.key: s for s in journal.steps(record.run_id)})


@contextlib.contextmanager
def open_run(
    journal: Journal,
    kind: str,
    fingerprint: str,
    steps: Sequence[Step],
    *,
    notes: Sequence[Note] = (),
    from_live_state: bool = False,
    prior: PriorRun | None | Literal["find"] = "find",
    argv: Sequence[str] = (),
    profile: str | None = None,
    reporter: Reporter | None = None,
) -> Iterator[Run]:
    """Start or resume the journaled run of a plan; close it with an honest status on every exit.

    See the module docstring for the rules (lock, resume, supersede, in doubt, finish).

    Args:
        journal: the run journal.
        kind: the capability's run kind (``"mailflow"``, ``"hold"``): what ``journal list`` shows.
        fingerprint: identifies the plan (a hash of the request or the declared state, not of live state), so a
            re-run of the same plan finds the run to resume.
        steps: the plan's steps, in order; keys unique.
        notes: decisions recorded with the run before its steps, nothing sent (waivers); a run that lacks one
            is superseded.
        from_live_state: ``steps`` are what live state still lacks (not the whole plan): a step an unfinished
            run already did is then wanted again only because live state lost it, and that run is superseded.
        prior: the run to resume as ``find_prior`` gave it (when the plan was made from it), None to start
            afresh whatever the journal holds, or ``"find"`` (default) to look it up.
        argv: the command line (stored with secret-looking option values masked).
        profile: the profile(s) the run uses, for ``journal list``.
        reporter: where progress goes (default: nowhere).

    Yields:
        The ``Run``: ``run_id``, ``resumed``, ``verified``, ``superseded``; ``apply``/``apply_items`` send it.

    Raises:
        PlanError: another live process holds the plan's lock, or two steps share a key.
    """
    run = Run(journal, kind, fingerprint, steps, notes, reporter or NullReporter())
    run._begin(prior, argv, profile, from_live_state=from_live_state)
    try:
        yield run
    except BaseException as exc:
        run._finish(exc)
        raise
    run._finish(None)


class Run:
    """A plan's run in the journal, from ``open_run``: send its steps with ``apply`` or ``apply_items``.

    Attributes:
        run_id: the journal run; None when there was nothing to send and no unfinished run to close.
        resumed: an unfinished run of the same plan was carried on.
        verified: targets of that run's unfinished steps the plan no longer has (live state shows them done).
        superseded: the id of an unfinished run of this plan that this one replaced (the plan had changed).
        prior: that earlier run (resumed or superseded), as it stood before this one touched it.
        steps: the steps given to ``open_run``.
    """

    def __init__(self, journal: Journal, kind: str, fingerprint: str, steps: Sequence[Step],
                 notes: Sequence[Note], reporter: Reporter) -> None:
        self.journal = journal
        self.kind = kind
        self.fingerprint = fingerprint
        self.steps: tuple[Step, ...] = tuple(steps)
        self.notes: tuple[Note, ...] = tuple(notes)
        self.reporter = reporter
        self.run_id: str | None = None
        self.resumed = False
        self.verified: list[str] = []
        self.superseded: str | None = None
        self.prior: PriorRun | None = None
        self._failed_items = 0
        self._stopped_by: HybridkitError | None = None
        self._finished = False

    # -- lifecycle -------------------------------------------------------------------------------------------
    def _begin(self, prior: PriorRun | None | Literal["find"], argv: Sequence[str], profile: str | None, *,
               from_live_state: bool) -> None:
        keys = [s.key for s in self.steps] + [n.key for n in self.notes]
        if len(set(keys)) != len(keys):
            raise PlanError("the plan has duplicate step keys")
        if prior == "find":
            prior = find_prior(self.journal, self.kind, self.fingerprint)
        elif prior is not None:
            prior = _prior(self.journal, self.journal.get_run(prior.run_id))  # as it stands now
            if prior.run.status in (RunStatus.COMPLETED, RunStatus.SUPERSEDED):
                prior = None
        self.prior = prior
        if prior is not None:
            self._carry_on_or_supersede(prior, from_live_state)
        if self.run_id is None and self.steps:
            notes = [PlannedStep(n.key, n.target, n.text) for n in self.notes]
            self.run_id = self.journal.start_run(self.kind, self.fingerprint, notes + planned(self.steps),
                                                 argv=argv, profile=profile)
        if self.run_id is not None:
            for note in self.notes:
                if self.journal.step(self.run_id, note.key).state is not StepState.DONE:
                    self.journal.mark_started(self.run_id, note.key)
                    self.journal.mark_done(self.run_id, note.key, note.outcome)

    def _carry_on_or_supersede(self, prior: PriorRun, from_live_state: bool) -> None:
        recorded = prior.steps
        wanted = {s.key for s in self.steps}
        carry_on = all(k in recorded and not (from_live_state and recorded[k].state is StepState.DONE)
                       for k in wanted) and all(n.key in recorded for n in self.notes)
        self.journal.resume_run(prior.run_id)  # takes the plan's lock (PlanError if a live run holds it)
        if carry_on:
            self.run_id, self.resumed = prior.run_id, True
            for record in prior.unfinished():
                if record.key not in wanted and not any(n.key == record.key for n in self.notes):
                    self.journal.mark_done(prior.run_id, record.key, "verified")
                    self.verified.append(record.target)
            log.info("run %s resumed (%d step(s) to do)", prior.run_id, len(wanted))
            return
        for record in prior.unfinished():
            self.journal.mark_done(prior.run_id, record.key, "superseded")
        self.journal.finish_run(prior.run_id, RunStatus.SUPERSEDED)
        self.superseded = prior.run_id
        log.info("run %s superseded: the plan changed", prior.run_id)

    def _finish(self, exc: BaseException | None) -> None:
        if self.run_id is None or self._finished:
            return
        self._finished = True
        error: str | None = None
        if isinstance(exc, KeyboardInterrupt):
            status = RunStatus.INTERRUPTED
        elif exc is not None and not _chosen_exit(exc):
            status, error = RunStatus.ABORTED, f"{type(exc).__name__}: {exc}"
        elif self._stopped_by is not None:
            status, error = RunStatus.ABORTED, f"{type(self._stopped_by).__name__}: {self._stopped_by}"
        else:
            states = {s.state for s in self.journal.steps(self.run_id)}
            if StepState.FAILED in states or self._failed_items:
                status = RunStatus.FAILED
            elif states <= {StepState.DONE}:
                status = RunStatus.COMPLETED
            else:
                status = RunStatus.INTERRUPTED  # left with steps never tried
        self.journal.finish_run(self.run_id, status, error=error)

    # -- what the steps did ------------------------------------------------------------------------------------
    def count_failures(self, items: int = 1) -> None:
        """Count items that did not end as asked (found by the capability, e.g. its verification read): a run
        with any ends ``failed`` even when every step was sent."""
        self._failed_items += items

    def _stop(self, step: Step, exc: HybridkitError) -> StepResult:
        """Record the error that stops the run at ``step`` (the run is then closed ``aborted``)."""
        assert self.run_id is not None
        self.journal.mark_failed(self.run_id, step.key, type(exc).__name__, str(exc))
        self.journal.note_error(self.run_id, f"{type(exc).__name__}: {exc}")
        if self._stopped_by is None:
            self._stopped_by = exc
        log.error("run %s stopped at step %s: %s", self.run_id, step.key, exc)
        return StepResult(step, StepStatus.FAILED, type(exc).__name__, str(exc))

    # -- the ordered step loop -----------------------------------------------------------------------------------
    def apply(self, sessions: Sessions, *, verify: Verify | None = None, stop_at_failure: bool = False,
              task: str = "apply") -> RunReport:
        """Send the steps one after another, in order, each through its side's session.

        A step done earlier is not sent again (``skipped``); one left in doubt is first re-checked with
        ``verify`` (``verified`` when live state shows it done). ``started`` is committed before each command is
        sent and its outcome after. A step whose command fails (a terminating error, or error records) is
        ``failed`` and the loop moves on, or stops there with ``stop_at_failure`` (when later steps depend on
        earlier ones). A transport failure that outlived the session's retries, or refused credentials, stop
        the run: the rest is ``not_run`` and the run is closed ``aborted``. The reporter gets one ``task`` unit
        per step and a note per step sent or skipped (``"done     New-AcceptedDomain ..."``).

        Returns:
            One result per step, in order.
        """
        report = RunReport(self.run_id, [])
        if self.run_id is None:
            return report
        self.reporter.start(task, len(self.steps))
        try:
            for index, step in enumerate(self.steps):
                record = self.journal.step(self.run_id, step.key)
                if record.state is StepState.DONE:
                    result = StepResult(step, StepStatus.SKIPPED, payload=record.payload)
                else:
                    try:
                        result = self._run_one(step, session_for(sessions, step), verify,
                                               in_doubt=record.attempts > 0)
                    except STOPPING as exc:
                        result = self._stop(step, exc)
                        report.stopped_by = exc
                report.results.append(result)
                self.reporter.advance(task)
                self.reporter.note(f"{result.status.value:8} {step.rendered()}")
                if report.stopped_by is not None or (stop_at_failure and result.status is StepStatus.FAILED):
                    report.results.extend(StepResult(s, StepStatus.NOT_RUN) for s in self.steps[index + 1:])
                    break
        finally:
            self.reporter.finish(task)
        return report

    def _run_one(self, step: Step, session: PSSession, verify: Verify | None, *, in_doubt: bool) -> StepResult:
        assert self.run_id is not None
        if in_doubt and verify is not None and verify(session, step):
            self.journal.mark_done(self.run_id, step.key, "verified")
            return StepResult(step, StepStatus.VERIFIED)
        self.journal.mark_started(self.run_id, step.key, step.rendered())
        try:
            result = session.run(step.command, list(step.input_items) or None)
        except STOPPING:
            raise
        except HybridkitError as exc:
            self.journal.mark_failed(self.run_id, step.key, type(exc).__name__, str(exc))
            return StepResult(step, StepStatus.FAILED, type(exc).__name__, str(exc))
        if result.errors:
            first = result.errors[0]
            error_class = first.exception_type.rsplit(".", 1)[-1] or first.category or "ErrorRecord"
            message = "; ".join(e.message for e in result.errors)
            self.journal.mark_failed(self.run_id, step.key, error_class, message)
            return StepResult(step, StepStatus.FAILED, error_class, message, result)
        self.journal.mark_done(self.run_id, step.key, "ok")
        return StepResult(step, StepStatus.DONE, result=result)

    # -- the chunked-items runner --------------------------------------------------------------------------------
    def apply_items(
        self,
        sessions: Sessions,
        *,
        chunk_size: int = 500,
        key: Callable[[Any], Any] | None = None,
        verify: VerifyItems | None = None,
        collect: Collect | None = None,
        task: str = "items",
        per_side: int = 1,
    ) -> RunReport:
        """Send each step's items (``Step.input_items``) through its pipeline with ``session.run_items``.

        Each step is a chunk of the work (a few of the session's chunks): ``started`` is committed before it is
        sent and, when it ends, ``done`` with a payload from ``collect`` (default: its items' failures) in the
        same commit, so a resumed run finds every finished chunk's outcomes in the journal and sends only the
        rest. A step done earlier is ``skipped`` (its ``payload`` read back); one left in doubt is first given to
        ``verify``, which returns the items live state does not show done yet: only those are sent (none: the
        step is ``verified``). A failed item does not fail its step; it makes the run end ``failed``.

        Sides run at the same time, each in its own thread, ``per_side`` steps in flight per side (each step's
        chunks spread over its session's pools). A transport failure past the retries, or refused credentials,
        stop the run: steps not started are ``not_run``, the run ends ``aborted``. Ctrl-C cancels every session
        (``session.cancel()``: running pipelines stop at their next Receive, within a second) and the run ends
        ``interrupted``, finished steps kept. The reporter's ``task`` counts items.

        Args:
            sessions: the session, or sessions by ``Step.side``.
            chunk_size: items per pipeline (``run_items``).
            key: output object -> the item it belongs to (``run_items``'s ``key``).
            verify: re-checks a step left in doubt (see ``VerifyItems``).
            collect: the payload kept for a finished step (see ``Collect``).
            task: the reporter's task name.
            per_side: steps in flight at once per side.

        Returns:
            One result per step, in plan order (``items``: each item's outcome for steps sent now).
        """
        if self.run_id is None:
            return RunReport(None, [])
        outcome = run_chunks(self.journal, self.run_id, self.steps, sessions, reporter=self.reporter,
                             chunk_size=chunk_size, key=key, verify=verify, collect=collect, task=task,
                             per_side=per_side)
        self._failed_items += outcome.failed_items
        if outcome.stopped_by is not None and self._stopped_by is None:
            self._stopped_by = outcome.stopped_by
        return RunReport(self.run_id, outcome.results, outcome.stopped_by)


def _chosen_exit(exc: BaseException) -> bool:
    """``typer.Exit``/``SystemExit``: the command chose how it ends; the steps say how the run did."""
    return isinstance(exc, (SystemExit, GeneratorExit)) or type(exc).__module__.startswith("click.")
