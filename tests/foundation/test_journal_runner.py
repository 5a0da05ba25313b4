"""Run journal and the step executor: started/outcome commits, resume, verify, the plan lock, retries."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hybridkit.errors import CommandFailed, ConfigError, PlanError, ThrottledError, TransportError
from hybridkit.journal import Journal, RunStatus, StepState, redact_argv
from hybridkit.ps import Command, PSError, PSResult, Secret
from hybridkit.runner import RetryPolicy, Step, StepStatus, call_with_retries, open_run, planned


class FakeSession:
    """Records what was sent; fails as told per identity."""

    name = "fake"
    request_count = 0

    def __init__(self, fail: dict[str, Exception | str] | None = None) -> None:
        self.sent: list[str] = []
        self.fail = fail or {}

    def run(self, command: Any, input_items: Any = None) -> PSResult:
        identity = command.param("Identity")
        self.sent.append(identity)
        outcome = self.fail.get(identity)
        if isinstance(outcome, Exception):
            raise outcome
        if isinstance(outcome, str):
            return PSResult(errors=[PSError(outcome, exception_type="X.ManagementObjectNotFoundException")])
        return PSResult()


def _steps(*names: str) -> list[Step]:
    return [
        Step(key=f"hold:{n}", target=n, command=Command.of("Set-Mailbox", Identity=n, LitigationHoldEnabled=True))
        for n in names
    ]


def test_done_steps_are_never_repeated_and_in_doubt_steps_are_verified(tmp_path: Path) -> None:
    steps = _steps("a", "b", "c", "d")
    with Journal(tmp_path / "j.sqlite") as journal:
        session = FakeSession(fail={"c": TransportError("connection reset"), "b": "object 'b' couldn't be found"})
        with open_run(journal, "hold", "fp1", steps, argv=["hybridkit", "hold", "apply"], profile="lab") as run:
            report = run.apply(session)
        run_id = run.run_id
        assert run_id is not None and not run.resumed
        assert session.sent == ["a", "b", "c"]
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

        def verify(_session: Any, step: Step) -> bool:
            verified.append(step.target)
            return step.target == "c"  # c had in fact been applied before the connection dropped

        again = FakeSession()
        with open_run(journal, "hold", "fp1", steps) as run:
            assert run.resumed and run.run_id == run_id
            report = run.apply(again, verify=verify)
        assert again.sent == ["b", "d"]  # a never again; c verified live instead of re-sent
        assert verified == ["b", "c"]  # only steps with an earlier attempt are verified
        assert [r.status for r in report.results] == [StepStatus.SKIPPED, StepStatus.DONE, StepStatus.VERIFIED,
                                                      StepStatus.DONE]
        assert journal.get_run(run_id).status is RunStatus.COMPLETED
        assert journal.find_resumable("hold", "fp1") is None
        assert journal.step(run_id, "hold:b").attempts == 2


def test_started_is_committed_before_the_command_is_sent(tmp_path: Path) -> None:
    steps = _steps("a")
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:

        class Peek(FakeSession):
            def run(self, command: Any, input_items: Any = None) -> PSResult:
                other = sqlite3.connect(path)  # a second reader sees the committed state
                (state,) = other.execute("SELECT state FROM steps WHERE run_id=?", (run.run_id,)).fetchone()
                other.close()
                assert state == "started"
                return super().run(command, input_items)

        with open_run(journal, "hold", "fp", steps) as run:
            run.apply(Peek())
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
    steps = [Step("k", "svc", Command.of("Set-Thing", Identity="svc", Password=Secret("Sup3rSecret!")))]
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        with open_run(journal, "x", "fp", steps, argv=["hybridkit", "--password", "Sup3rSecret!",
                                                        "--token=Sup3rSecret!", "x"]) as run:
            run.apply(FakeSession(fail={"svc": CommandFailed("bad Sup3rSecret? no")}))
        assert journal.get_run(run.run_id).command_line == "hybridkit --password **** --token=**** x"
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
    onprem, online = FakeSession(), FakeSession(fail={"c": "object 'c' couldn't be found"})
    with Journal(tmp_path / "j.sqlite") as journal:
        with open_run(journal, "mailflow", "fp", steps, argv=["hybridkit"], profile="lab") as run:
            report = run.apply({"onprem": onprem, "online": online}, stop_at_failure=True)
        assert (onprem.sent, online.sent) == (["a"], ["b", "c"])  # d depends on c: never sent
        seen = [(r.step.target, r.status) for r in report.results if r.status is not StepStatus.NOT_RUN]
        assert seen == [("a", StepStatus.DONE), ("b", StepStatus.DONE), ("c", StepStatus.FAILED)]
        assert journal.step(run.run_id, "hold:d").state is StepState.PENDING
        assert journal.get_run(run.run_id).status is RunStatus.FAILED  # a step failed: not "interrupted"
        online.fail.clear()
        with open_run(journal, "mailflow", "fp", steps) as again:
            second = again.apply({"onprem": onprem, "online": online}, stop_at_failure=True)
        assert again.run_id == run.run_id and again.resumed
        assert [r.status for r in second.results] == [StepStatus.SKIPPED, StepStatus.SKIPPED, StepStatus.DONE,
                                                      StepStatus.DONE]  # finished steps not repeated
        assert (onprem.sent, online.sent) == (["a", "d"], ["b", "c", "c"])


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
