"""Run journal and the step executor: started/outcome commits, resume, verify, the plan lock, retries."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from hybridkit.errors import CommandFailed, ConfigError, PlanError, ThrottledError, TransportError
from hybridkit.journal import Journal, RunStatus, StepState, redact_argv
from hybridkit.lab import InProcessSession
from hybridkit.lab.inprocess import SentPipeline
from hybridkit.ps import Command, PSSession, Secret
from hybridkit.runner import RetryPolicy, Step, StepStatus, call_with_retries, open_run, planned
from tests._inprocess import add_mailboxes, fail_at, identities_sent, lab_org, on_hold


def _steps(*names: str) -> list[Step]:
    return [
        Step(key=f"hold:{n}", target=n, command=Command.of("Set-Mailbox", Identity=n, LitigationHoldEnabled=True))
        for n in names
    ]


def test_done_steps_are_never_repeated_and_in_doubt_steps_are_verified(tmp_path: Path) -> None:
    steps = _steps("a", "b", "c", "d")
    org = lab_org(onprem=["a", "c", "d"])  # no mailbox b yet: Exchange answers "couldn't be found"
    with Journal(tmp_path / "j.sqlite") as journal:
        session = InProcessSession(org)
        fail_at(session, "c", TransportError("connection reset"), applied=True)  # set in Exchange; reply lost
        with open_run(journal, "hold", "fp1", steps, argv=["hybridkit", "hold", "apply"], profile="lab") as run:
            report = run.apply(session)
        run_id = run.run_id
        assert run_id is not None and not run.resumed
        assert identities_sent(session) == ["a", "b", "c"]
        assert [r.status for r in report.results] == [StepStatus.DONE, StepStatus.FAILED, StepStatus.FAILED,
                                                      StepStatus.NOT_RUN]
        assert isinstance(report.stopped_by, TransportError)
        assert journal.get_run(run_id).status is RunStatus.ABORTED  # stopped by an error, not by the user
        assert journal.get_run(run_id).error == "TransportError: connection reset"
        states = {s.key: s.state for s in journal.steps(run_id)}
        assert states == {"hold:a": StepState.DONE, "hold:b": StepState.FAILED, "hold:c": StepState.FAILED,
                          "hold:d": StepState.PENDING}
        assert journal.step(run_id, "hold:b").error_class == "ManagementObjectNotFoundException"

        resumable = journal.find_resumable("hold", "fp1")
        assert resumable is not None and resumable.run_id == run_id
        verified: list[str] = []

        def verify(live: PSSession, step: Step) -> bool:
            verified.append(step.target)
            return step.target in on_hold(live, [step.target])  # c: set before the connection dropped

        add_mailboxes(org, "b")  # b's mailbox exists now
        again = InProcessSession(org)
        with open_run(journal, "hold", "fp1", steps) as run:
            assert run.resumed and run.run_id == run_id
            report = run.apply(again, verify=verify)
        assert identities_sent(again) == ["b", "d"]  # a never again; c verified live instead of re-sent
        assert verified == ["b", "c"]  # only steps with an earlier attempt are verified
        assert [r.status for r in report.results] == [StepStatus.SKIPPED, StepStatus.DONE, StepStatus.VERIFIED,
                                                      StepStatus.DONE]
        assert journal.get_run(run_id).status is RunStatus.COMPLETED
        assert journal.find_resumable("hold", "fp1") is None
        assert journal.step(run_id, "hold:b").attempts == 2
        assert on_hold(again, ["a", "b", "c", "d"]) == ["a", "b", "c", "d"]


def test_started_is_committed_before_the_command_is_sent(tmp_path: Path) -> None:
    steps = _steps("a")
    path = tmp_path / "j.sqlite"
    seen: list[str] = []

    def peek(_sent: SentPipeline) -> None:
        other = sqlite3.connect(path)  # a second reader sees the committed state
        (state,) = other.execute("SELECT state FROM steps WHERE run_id=?", (run.run_id,)).fetchone()
        other.close()
        seen.append(state)

    session = InProcessSession(lab_org(onprem=["a"]))
    session.before_run = peek  # called as the command is sent, before Exchange sees it
    with Journal(path) as journal:
        with open_run(journal, "hold", "fp", steps) as run:
            run.apply(session)
        assert seen == ["started"]
        assert journal.step(run.run_id, "hold:a").state is StepState.DONE


def test_one_run_per_plan(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        first = journal.start_run("hold", "fp", planned(_steps("a")))
        with pytest.raises(PlanError, match="already running"):
            journal.start_run("hold", "fp", planned(_steps("a")))
        journal.start_run("hold", "other-plan", planned(_steps("a")))  # another plan is fine
        journal.finish_run(first)
        journal.start_run("hold", "fp", planned(_steps("a")))  # the lock was released


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        run_id = journal.start_run("hold", "fp", planned(_steps("a")))
        journal._db.execute("UPDATE locks SET pid=999999999 WHERE run_id=?", (run_id,))
        taken_over = journal.start_run("hold", "fp", planned(_steps("a")))  # no "already running": its owner is gone
        assert taken_over != run_id and journal.get_run(taken_over).kind == "hold"
        with pytest.raises(PlanError, match="already running"):  # and the new run holds the lock now
            journal.start_run("hold", "fp", planned(_steps("a")))


def test_journal_stores_no_secrets(tmp_path: Path) -> None:
    # Set-Mailbox -Password (a SecureString) for a mailbox Exchange cannot find: the step fails with its words.
    steps = [Step("k", "svc", Command.of("Set-Mailbox", Identity="svc", Password=Secret("Sup3rSecret!")))]
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        with open_run(journal, "x", "fp", steps, argv=["hybridkit", "--password", "Sup3rSecret!",
                                                        "--token=Sup3rSecret!", "x"]) as run:
            run.apply(InProcessSession(lab_org()))
        assert journal.get_run(run.run_id).command_line == "hybridkit --password **** --token=**** x"
        step = journal.step(run.run_id, "k")
        assert step.state is StepState.FAILED and "object 'svc' couldn't be found" in (step.error or "")
        assert "Sup3rSecret!" not in step.rendered
    assert b"Sup3rSecret!" not in path.read_bytes()


def test_redact_argv_keeps_env_names() -> None:
    assert redact_argv(["--password-env", "HK_PW", "--api-key", "k"]) == "--password-env HK_PW --api-key ****"


def test_retries_only_transport_errors_with_bounds() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ThrottledError("busy")
        return "ok"

    policy = RetryPolicy(attempts=4, initial_wait=0.1, max_wait=1, jitter=0.05)
    assert call_with_retries(flaky, policy, sleep=sleeps.append) == "ok"
    assert len(calls) == 3 and len(sleeps) == 2 and all(0 < s <= 2 for s in sleeps)

    permanent: list[int] = []

    def broken() -> None:
        permanent.append(1)
        raise CommandFailed("no such parameter")

    with pytest.raises(CommandFailed):
        call_with_retries(broken, policy, sleep=sleeps.append)
    assert len(permanent) == 1

    always: list[int] = []

    def down() -> None:
        always.append(1)
        raise TransportError("reset")

    with pytest.raises(TransportError):
        call_with_retries(down, policy, sleep=lambda s: None)
    assert len(always) == 4


def test_steps_go_to_their_side_in_order_and_stop_at_the_first_failure(tmp_path: Path) -> None:
    sides = {"a": "onprem", "b": "online", "c": "online", "d": "onprem"}
    steps = [dataclasses.replace(s, side=sides[s.target]) for s in _steps("a", "b", "c", "d")]
    org = lab_org(onprem=["a", "d"], online=["b"])  # no c in Exchange Online yet: "couldn't be found"
    onprem, online = InProcessSession(org, "onprem"), InProcessSession(org, "online")
    with Journal(tmp_path / "j.sqlite") as journal:
        with open_run(journal, "mailflow", "fp", steps, argv=["hybridkit"], profile="lab") as run:
            report = run.apply({"onprem": onprem, "online": online}, stop_at_failure=True)
        assert (identities_sent(onprem), identities_sent(online)) == (["a"], ["b", "c"])  # d depends on c
        seen = [(r.step.target, r.status) for r in report.results if r.status is not StepStatus.NOT_RUN]
        assert seen == [("a", StepStatus.DONE), ("b", StepStatus.DONE), ("c", StepStatus.FAILED)]
        assert "object 'c' couldn't be found" in (report.results[2].error or "")
        assert journal.step(run.run_id, "hold:d").state is StepState.PENDING
        assert journal.get_run(run.run_id).status is RunStatus.FAILED  # a step failed: not "interrupted"
        add_mailboxes(org, "c", online=True)  # c's mailbox has reached Exchange Online
        with open_run(journal, "mailflow", "fp", steps) as again:
            second = again.apply({"onprem": onprem, "online": online}, stop_at_failure=True)
        assert again.run_id == run.run_id and again.resumed
        assert [r.status for r in second.results] == [StepStatus.SKIPPED, StepStatus.SKIPPED, StepStatus.DONE,
                                                      StepStatus.DONE]  # finished steps not repeated
        assert (identities_sent(onprem), identities_sent(online)) == (["a", "d"], ["b", "c", "c"])


@pytest.mark.parametrize(("raised", "status", "error"), [
    (TransportError("retries exhausted: connection reset"), "aborted",
     "TransportError: retries exhausted: connection reset"),
    (KeyboardInterrupt(), "interrupted", None),
    (None, "interrupted", None),  # left open with steps not tried: closed as its steps say
])
def test_a_run_never_stays_running_once_its_code_has_left_it(tmp_path: Path, raised: BaseException | None,
                                                              status: str, error: str | None) -> None:
    """Whatever leaves a run (retries exhausted, Ctrl-C, a forgotten finish_run), closing the journal closes it."""
    path = tmp_path / "j.sqlite"
    run_id = ""
    try:
        with Journal(path) as journal:
            run_id = journal.start_run("cutover", "fp", planned(_steps("a", "b")))
            journal.mark_started(run_id, "hold:a")
            journal.mark_done(run_id, "hold:a")
            if raised is not None:
                raise raised
    except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt included, on purpose
        assert exc is raised
    with Journal(path) as journal:
        run = journal.get_run(run_id)
        assert (run.status.value, getattr(run, "error", None)) == (status, error)
        assert run.ended_at is not None and run.ended_at.endswith("Z")
        assert journal.find_resumable("cutover", "fp") is not None  # "b" was never tried: it resumes
        journal.start_run("cutover", "fp", planned(_steps("a")))  # and the plan's lock was released


def test_a_file_that_is_not_a_journal_is_one_clear_error(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("these are my notes, not a journal\n" * 50, encoding="utf-8")
    with pytest.raises(ConfigError, match="notes.txt: not a hybridkit run journal"):
        Journal(notes)
    with pytest.raises(ConfigError, match="is a folder"):
        Journal(tmp_path)
    assert notes.read_text(encoding="utf-8").startswith("these are my notes")  # left as it was
