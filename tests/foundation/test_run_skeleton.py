"""``open_run``: one answer to "where does a run resume?" - resume, supersede, verify, notes, lock, finish."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from hybridkit.errors import AuthError, CommandFailed, PlanError, TransportError
from hybridkit.journal import Journal, RunStatus, StepState
from hybridkit.ps import Command, PSError, PSResult
from hybridkit.runner import Note, Step, StepStatus, find_prior, open_run


class Session:
    """Records what was sent; answers per identity as told (an exception, or an error record's message)."""

    name = "fake"
    request_count = 0

    def __init__(self, fail: dict[str, BaseException | str] | None = None) -> None:
        self.sent: list[str] = []
        self.fail = fail or {}

    def run(self, command: Any, input_items: Any = None) -> PSResult:
        identity = command.param("Identity")
        self.sent.append(identity)
        outcome = self.fail.get(identity)
        if isinstance(outcome, BaseException):
            raise outcome
        if isinstance(outcome, str):
            return PSResult(errors=[PSError(outcome, exception_type="X.ManagementObjectNotFoundException")])
        return PSResult()


def steps(*names: str) -> list[Step]:
    return [Step(f"new:{n}", f"onprem:{n}", Command.of("New-Thing", Identity=n)) for n in names]


def test_a_plan_made_from_live_state_resumes_verifies_what_it_no_longer_has_and_supersedes_when_it_changes(
        tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        with open_run(journal, "mailflow", "fp", steps("a", "b", "c"), from_live_state=True) as first:
            first.apply(Session(fail={"b": TransportError("connection reset")}))
        assert journal.get_run(first.run_id).status is RunStatus.ABORTED

        # b went through after all (live state no longer lacks it); only c is left.
        session = Session()
        with open_run(journal, "mailflow", "fp", steps("c"), from_live_state=True) as second:
            assert (second.run_id, second.resumed, second.verified) == (first.run_id, True, ["onprem:b"])
            second.apply(session)
        assert session.sent == ["c"]
        assert journal.step(first.run_id, "new:b").outcome == "verified"
        assert journal.get_run(first.run_id).status is RunStatus.COMPLETED

        # Interrupted again, then the plan changes: a (done by that run) is wanted again, so it cannot carry on.
        with open_run(journal, "mailflow", "fp2", steps("x", "y"), from_live_state=True) as third:
            third.apply(Session(fail={"y": AuthError("refused")}))
        with open_run(journal, "mailflow", "fp2", steps("x", "y"), from_live_state=True) as fourth:
            assert fourth.superseded == third.run_id and fourth.run_id != third.run_id and not fourth.resumed
            fourth.apply(Session())
        assert journal.get_run(third.run_id).status is RunStatus.SUPERSEDED
        assert journal.step(third.run_id, "new:y").outcome == "superseded"
        assert journal.get_run(fourth.run_id).status is RunStatus.COMPLETED


def test_nothing_to_do_records_nothing_but_closes_the_run_it_finishes(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        with open_run(journal, "mailflow", "fp", [], from_live_state=True) as idle:
            assert idle.run_id is None and idle.apply(Session()).results == []
        assert journal.list_runs() == []
        with open_run(journal, "mailflow", "fp", steps("a"), from_live_state=True) as broken:
            broken.apply(Session(fail={"a": "couldn't be found"}))
        with open_run(journal, "mailflow", "fp", [], from_live_state=True) as closing:
            assert closing.run_id == broken.run_id and closing.verified == ["onprem:a"]
        assert journal.get_run(broken.run_id).status is RunStatus.COMPLETED


def test_notes_are_recorded_first_and_a_new_one_supersedes(tmp_path: Path) -> None:
    waiver = Note("waiver:mailboxes", "blocker:mailboxes", "# blocker waived: mailboxes", outcome="waived")
    with Journal(tmp_path / "j.sqlite") as journal:
        with open_run(journal, "decommission", "fp", steps("a", "b"), notes=[waiver],
                      from_live_state=True) as first:
            first.apply(Session(fail={"b": TransportError("reset")}))
        records = journal.steps(first.run_id)
        assert [(r.key, r.state, r.outcome, r.rendered) for r in records[:1]] == [
            ("waiver:mailboxes", StepState.DONE, "waived", "# blocker waived: mailboxes")]
        with open_run(journal, "decommission", "fp", steps("b"), notes=[waiver], from_live_state=True) as same:
            assert same.resumed
            same.apply(Session(fail={"b": TransportError("reset")}))
        other = Note("waiver:dns", "blocker:dns", "# blocker waived: dns", outcome="waived")
        with open_run(journal, "decommission", "fp", steps("b"), notes=[waiver, other],
                      from_live_state=True) as changed:
            assert changed.superseded == first.run_id
            changed.apply(Session())
        assert [r.outcome for r in journal.steps(changed.run_id)] == ["waived", "waived", "ok"]


def test_one_live_run_per_plan(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        with open_run(journal, "hold", "fp", steps("a")) as outer:
            with pytest.raises(PlanError, match="already running"):
                with open_run(journal, "hold", "fp", steps("a")):
                    pass
            with open_run(journal, "hold", "another plan", steps("a")) as other:
                other.apply(Session())
            outer.apply(Session())
        with pytest.raises(PlanError, match="duplicate step keys"):
            with open_run(journal, "hold", "fp", steps("a", "a")):
                pass


class Boom(Exception):
    pass


@pytest.mark.parametrize(("fail", "raised", "status", "error"), [
    ({}, None, "completed", None),
    ({"b": "object 'b' couldn't be found"}, None, "failed", None),
    ({"b": TransportError("retries exhausted: connection reset")}, None, "aborted",
     "TransportError: retries exhausted: connection reset"),
    ({"b": KeyboardInterrupt()}, None, "interrupted", None),
    ({}, Boom("disk full"), "aborted", "Boom: disk full"),
    ({"b": CommandFailed("refused")}, SystemExit(1), "failed", None),  # typer.Exit: the steps say how it went
], ids=["completed", "failed", "transport", "ctrl-c", "exception", "exit"])
def test_every_exit_closes_the_run_with_an_honest_status(tmp_path: Path, fail: dict[str, Any],
                                                         raised: BaseException | None, status: str,
                                                         error: str | None) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        run_id = None
        try:
            with open_run(journal, "x", "fp", steps("a", "b", "c")) as run:
                run_id = run.run_id
                run.apply(Session(fail=fail))
                if raised is not None:
                    raise raised
        except (KeyboardInterrupt, Boom, SystemExit):
            pass
        record = journal.get_run(run_id)
        assert (record.status.value, record.error) == (status, error)
        assert record.ended_at is not None
        with open_run(journal, "x", "fp", steps("a", "b", "c")):  # the lock was released
            pass


def test_failed_items_fail_the_run_even_when_every_step_was_sent(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        with open_run(journal, "hold", "fp", steps("a")) as run:
            run.apply(Session())
            run.count_failures(2)  # e.g. the verification read found two mailboxes off hold
        assert journal.get_run(run.run_id).status is RunStatus.FAILED


def test_find_prior_gives_the_plan_the_earlier_run_and_its_payloads(tmp_path: Path) -> None:
    planned = [dataclasses.replace(s, payload={"actions": ["enable"]}) for s in steps("a", "b")]
    with Journal(tmp_path / "j.sqlite") as journal:
        with pytest.raises(KeyboardInterrupt):
            with open_run(journal, "hold", "fp", planned) as first:
                first.apply(Session(fail={"b": KeyboardInterrupt()}))
        prior = find_prior(journal, "hold", "fp")
        assert prior is not None and prior.run_id == first.run_id
        assert [(s.key, s.payload) for s in prior.unfinished()] == [("new:b", {"actions": ["enable"]})]
        assert find_prior(journal, "hold", "other") is None
        with open_run(journal, "hold", "fp", planned, prior=prior) as second:
            report = second.apply(Session())
        assert second.resumed and [r.status for r in report.results] == [StepStatus.SKIPPED, StepStatus.DONE]
        # A run whose steps are all done but that never finished (work after its steps): only when asked.
        with pytest.raises(KeyboardInterrupt):
            with open_run(journal, "inventory", "fp", planned) as crawl:
                crawl.apply(Session())
                raise KeyboardInterrupt
        assert find_prior(journal, "inventory", "fp") is None
        late = find_prior(journal, "inventory", "fp", until_finished=True)
        assert late is not None and late.run_id == crawl.run_id
        with open_run(journal, "inventory", "fp", planned, prior=late) as again:
            assert again.resumed and [r.status for r in again.apply(Session()).results] == [StepStatus.SKIPPED] * 2
        assert journal.get_run(crawl.run_id).status is RunStatus.COMPLETED
