"""``open_run``: one answer to "where does a run resume?" - resume, supersede, verify, notes, lock, finish."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from hybridkit.errors import AuthError, PlanError, TransportError
from hybridkit.journal import Journal, RunStatus, StepState
from hybridkit.lab import InProcessSession
from hybridkit.lab.exchange.org import Org
from hybridkit.ps import Command
from hybridkit.runner import Note, Step, StepStatus, find_prior, open_run
from tests._inprocess import fail_at, identities_sent, lab_org, on_hold


def steps(*names: str, **extra: Any) -> list[Step]:
    """A litigation hold per mailbox (Set-Mailbox -LitigationHoldEnabled), one step each."""
    return [Step(f"hold:{n}", f"onprem:{n}", Command.of("Set-Mailbox", Identity=n, LitigationHoldEnabled=True,
                                                         **extra)) for n in names]


def lacking(org: Org, *names: str) -> list[Step]:
    """The plan made from live state: a step for each of these mailboxes not on hold yet."""
    held = set(on_hold(InProcessSession(org), names))
    return steps(*(n for n in names if n not in held))


def test_a_plan_made_from_live_state_resumes_verifies_what_it_no_longer_has_and_supersedes_when_it_changes(
        tmp_path: Path) -> None:
    org = lab_org(onprem=["a", "b", "c", "x", "y"])
    with Journal(tmp_path / "j.sqlite") as journal:
        dropped = InProcessSession(org)
        fail_at(dropped, "b", TransportError("connection reset"), applied=True)  # Exchange set it; the reply was lost
        with open_run(journal, "mailflow", "fp", lacking(org, "a", "b", "c"), from_live_state=True) as first:
            first.apply(dropped)
        assert journal.get_run(first.run_id).status is RunStatus.ABORTED

        # b went through after all (live state no longer lacks it); only c is left.
        session = InProcessSession(org)
        with open_run(journal, "mailflow", "fp", lacking(org, "a", "b", "c"), from_live_state=True) as second:
            assert (second.run_id, second.resumed, second.verified) == (first.run_id, True, ["onprem:b"])
            second.apply(session)
        assert identities_sent(session) == ["c"]
        assert journal.step(first.run_id, "hold:b").outcome == "verified"
        assert journal.get_run(first.run_id).status is RunStatus.COMPLETED
        assert on_hold(session, ["a", "b", "c"]) == ["a", "b", "c"]

        # Interrupted again, then the plan changes: x (done by that run) is wanted again, so it cannot carry on.
        refused = InProcessSession(org)
        fail_at(refused, "y", AuthError("refused"))
        with open_run(journal, "mailflow", "fp2", lacking(org, "x", "y"), from_live_state=True) as third:
            third.apply(refused)
        InProcessSession(org).run(Command.of("Set-Mailbox", Identity="x", LitigationHoldEnabled=False))  # undone
        with open_run(journal, "mailflow", "fp2", lacking(org, "x", "y"), from_live_state=True) as fourth:
            assert fourth.superseded == third.run_id and fourth.run_id != third.run_id and not fourth.resumed
            fourth.apply(InProcessSession(org))
        assert journal.get_run(third.run_id).status is RunStatus.SUPERSEDED
        assert journal.step(third.run_id, "hold:y").outcome == "superseded"
        assert journal.get_run(fourth.run_id).status is RunStatus.COMPLETED


def test_nothing_to_do_records_nothing_but_closes_the_run_it_finishes(tmp_path: Path) -> None:
    org = lab_org()  # no mailbox "a": Exchange answers with an error record
    with Journal(tmp_path / "j.sqlite") as journal:
        with open_run(journal, "mailflow", "fp", [], from_live_state=True) as idle:
            assert idle.run_id is None and idle.apply(InProcessSession(org)).results == []
        assert journal.list_runs() == []
        with open_run(journal, "mailflow", "fp", steps("a"), from_live_state=True) as broken:
            broken.apply(InProcessSession(org))
        assert journal.step(broken.run_id, "hold:a").error == (
            "The operation couldn't be performed because object 'a' couldn't be found on 'DC01.contoso.local'.")
        with open_run(journal, "mailflow", "fp", [], from_live_state=True) as closing:
            assert closing.run_id == broken.run_id and closing.verified == ["onprem:a"]
        assert journal.get_run(broken.run_id).status is RunStatus.COMPLETED


def test_notes_are_recorded_first_and_a_new_one_supersedes(tmp_path: Path) -> None:
    waiver = Note("waiver:mailboxes", "blocker:mailboxes", "# blocker waived: mailboxes", outcome="waived")
    org = lab_org(onprem=["a", "b"])
    with Journal(tmp_path / "j.sqlite") as journal:
        reset = InProcessSession(org)
        fail_at(reset, "b", TransportError("reset"))
        with open_run(journal, "decommission", "fp", steps("a", "b"), notes=[waiver],
                      from_live_state=True) as first:
            first.apply(reset)
        records = journal.steps(first.run_id)
        assert [(r.key, r.state, r.outcome, r.rendered) for r in records[:1]] == [
            ("waiver:mailboxes", StepState.DONE, "waived", "# blocker waived: mailboxes")]
        with open_run(journal, "decommission", "fp", steps("b"), notes=[waiver], from_live_state=True) as same:
            assert same.resumed
            same.apply(reset)
        other = Note("waiver:dns", "blocker:dns", "# blocker waived: dns", outcome="waived")
        with open_run(journal, "decommission", "fp", steps("b"), notes=[waiver, other],
                      from_live_state=True) as changed:
            assert changed.superseded == first.run_id
            changed.apply(InProcessSession(org))
        assert [r.outcome for r in journal.steps(changed.run_id)] == ["waived", "waived", "ok"]


def test_one_live_run_per_plan(tmp_path: Path) -> None:
    session = InProcessSession(lab_org(onprem=["a"]))
    with Journal(tmp_path / "j.sqlite") as journal:
        with open_run(journal, "hold", "fp", steps("a")) as outer:
            with pytest.raises(PlanError, match="already running"):
                with open_run(journal, "hold", "fp", steps("a")):
                    pass
            with open_run(journal, "hold", "another plan", steps("a")) as other:
                other.apply(session)
            outer.apply(session)
        with pytest.raises(PlanError, match="duplicate step keys"):
            with open_run(journal, "hold", "fp", steps("a", "a")):
                pass
    assert identities_sent(session) == ["a", "a"]


class Boom(Exception):
    pass


@pytest.mark.parametrize(("mailboxes", "fail", "extra", "raised", "status", "error"), [
    ("abc", {}, {}, None, "completed", None),
    ("ac", {}, {}, None, "failed", None),  # Exchange's error record: b couldn't be found
    ("abc", {"b": TransportError("retries exhausted: connection reset")}, {}, None, "aborted",
     "TransportError: retries exhausted: connection reset"),
    ("abc", {"b": KeyboardInterrupt()}, {}, None, "interrupted", None),
    ("abc", {}, {}, Boom("disk full"), "aborted", "Boom: disk full"),
    # A terminating error (b not found, -ErrorAction Stop), then typer.Exit: the steps say how it went.
    ("ac", {}, {"ErrorAction": "Stop"}, SystemExit(1), "failed", None),
], ids=["completed", "failed", "transport", "ctrl-c", "exception", "exit"])
def test_every_exit_closes_the_run_with_an_honest_status(tmp_path: Path, mailboxes: str,
                                                         fail: dict[str, BaseException], extra: dict[str, Any],
                                                         raised: BaseException | None, status: str,
                                                         error: str | None) -> None:
    session = InProcessSession(lab_org(onprem=list(mailboxes)))
    for identity, failure in fail.items():
        fail_at(session, identity, failure)
    with Journal(tmp_path / "j.sqlite") as journal:
        run_id = None
        try:
            with open_run(journal, "x", "fp", steps("a", "b", "c", **extra)) as run:
                run_id = run.run_id
                run.apply(session)
                if raised is not None:
                    raise raised
        except (KeyboardInterrupt, Boom, SystemExit):
            pass
        record = journal.get_run(run_id)
        assert (record.status.value, record.error) == (status, error)
        assert record.ended_at is not None
        if status == "failed":  # Exchange's answer for b: an error record, or a terminating error (-ErrorAction Stop)
            b = journal.step(run_id, "hold:b")
            assert b.error_class == ("CommandFailed" if extra else "ManagementObjectNotFoundException")
            assert "object 'b' couldn't be found on 'DC01.contoso.local'." in (b.error or "")
        with open_run(journal, "x", "fp", steps("a", "b", "c")):  # the lock was released
            pass


def test_failed_items_fail_the_run_even_when_every_step_was_sent(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        with open_run(journal, "hold", "fp", steps("a")) as run:
            run.apply(InProcessSession(lab_org(onprem=["a"])))
            run.count_failures(2)  # e.g. the verification read found two mailboxes off hold
        assert journal.get_run(run.run_id).status is RunStatus.FAILED


def test_find_prior_gives_the_plan_the_earlier_run_and_its_payloads(tmp_path: Path) -> None:
    planned = [dataclasses.replace(s, payload={"actions": ["enable"]}) for s in steps("a", "b")]
    org = lab_org(onprem=["a", "b"])
    interrupted = InProcessSession(org)
    fail_at(interrupted, "b", KeyboardInterrupt())
    with Journal(tmp_path / "j.sqlite") as journal:
        with pytest.raises(KeyboardInterrupt):
            with open_run(journal, "hold", "fp", planned) as first:
                first.apply(interrupted)
        prior = find_prior(journal, "hold", "fp")
        assert prior is not None and prior.run_id == first.run_id
        assert [(s.key, s.payload) for s in prior.unfinished()] == [("hold:b", {"actions": ["enable"]})]
        assert find_prior(journal, "hold", "other") is None
        with open_run(journal, "hold", "fp", planned, prior=prior) as second:
            report = second.apply(InProcessSession(org))
        assert second.resumed and [r.status for r in report.results] == [StepStatus.SKIPPED, StepStatus.DONE]
        # A run whose steps are all done but that never finished (work after its steps): only when asked.
        with pytest.raises(KeyboardInterrupt):
            with open_run(journal, "inventory", "fp", planned) as crawl:
                crawl.apply(InProcessSession(org))
                raise KeyboardInterrupt
        assert find_prior(journal, "inventory", "fp") is None
        late = find_prior(journal, "inventory", "fp", until_finished=True)
        assert late is not None and late.run_id == crawl.run_id
        with open_run(journal, "inventory", "fp", planned, prior=late) as again:
            assert again.resumed and [r.status for r in again.apply(InProcessSession(org)).results] == [
                StepStatus.SKIPPED] * 2
        assert journal.get_run(crawl.run_id).status is RunStatus.COMPLETED


def test_a_resumed_step_is_journaled_with_the_command_this_run_sends(tmp_path: Path) -> None:
    """Resuming `cutover complete --at LATER` sends the later time: the journal must not keep the first run's text."""
    org = lab_org(onprem=["a", "b"])
    with Journal(tmp_path / "j.sqlite") as journal:
        first_session = InProcessSession(org)
        fail_at(first_session, "b", AuthError("refused"))
        with open_run(journal, "hold", "fp", steps("a", "b", LitigationHoldOwner="first")) as first:
            first.apply(first_session)
        assert "first" in journal.step(first.run_id, "hold:b").rendered
        with open_run(journal, "hold", "fp", steps("a", "b", LitigationHoldOwner="second")) as second:
            assert second.resumed
            second.apply(InProcessSession(org))
        text = journal.step(first.run_id, "hold:b").rendered
        assert "second" in text and "first" not in text
        assert "first" in journal.step(first.run_id, "hold:a").rendered  # done by the first run: what it sent
