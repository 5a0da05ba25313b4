"""``Run.apply_items``: item pipelines as journaled chunks - payloads, resume, in-doubt chunks, stop, Ctrl-C.

Every chunk is a real hold pipeline (Get-Mailbox | Set-Mailbox -LitigationHoldEnabled) answered by the lab's
Exchange through ``InProcessSession``; connection drops and Ctrl-C are injected (``tests._inprocess``).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hybridkit.errors import TransportError
from hybridkit.journal import Journal, RunStatus, StepState
from hybridkit.lab import InProcessSession
from hybridkit.ps import Command, Pipeline, PSSession
from hybridkit.runner import Step, StepStatus, open_run
from tests._inprocess import chunks_sent, fail_at, hang_until_cancelled, lab_org, on_hold, when_sent

SET_HOLD = Pipeline.of(Command.of("Get-Mailbox"), Command.of("Set-Mailbox", LitigationHoldEnabled=True))
NOT_FOUND_B = "The operation couldn't be performed because object 'b' couldn't be found on 'DC01.contoso.local'."
NO_LICENCE_D = ("ExA80E9F|Microsoft.Exchange.Configuration.Tasks.RecipientTaskException|The action 'Set-Mailbox', "
                "'LitigationHoldEnabled', can't be performed on the user 'd'. Your Microsoft Exchange Online license "
                "doesn't permit you to put a litigation hold on this mailbox.")


def chunks(side: str, *groups: list[str]) -> list[Step]:
    return [Step(f"hold:{side}:{n}", f"{side}: {len(g)} mailbox(es)", SET_HOLD, tuple(g), side=side,
                 payload={"actions": ["enable"] * len(g)}) for n, g in enumerate(groups)]


def not_on_hold(asked: list[tuple[str, ...]]) -> Callable[[PSSession, Step], list[str]]:
    """A verify that reads the chunk's holds live and returns the items still without one."""

    def verify(session: PSSession, step: Step) -> list[str]:
        asked.append(step.input_items)
        held = set(on_hold(session, step.input_items))
        return [i for i in step.input_items if i not in held]

    return verify


def test_each_chunk_keeps_its_items_outcomes_and_a_resume_skips_finished_chunks(tmp_path: Path) -> None:
    steps = chunks("onprem", ["a", "b"], ["c", "d"]) + chunks("online", ["x", "y"], ["z"])
    org = lab_org(onprem=["a", "c", "d"], online=["x", "y", "z"])  # no mailbox b: Exchange can't find it
    onprem, online = InProcessSession(org, "onprem"), InProcessSession(org, "online")
    online_last = threading.Event()
    when_sent(online, "z", lambda _sent: online_last.set())
    # c's chunk loses its connection once the online side is sending its last chunk (so that side finishes).
    fail_at(onprem, "c", TransportError("connection reset"), wait=online_last)
    with Journal(tmp_path / "j.sqlite") as journal:
        with open_run(journal, "hold", "fp", steps) as run:
            report = run.apply_items({"onprem": onprem, "online": online}, chunk_size=2, task="set hold")
        statuses = {r.step.key: r.status for r in report.results}
        assert statuses == {"hold:onprem:0": StepStatus.DONE, "hold:onprem:1": StepStatus.FAILED,
                            "hold:online:0": StepStatus.DONE, "hold:online:1": StepStatus.DONE}
        assert isinstance(report.stopped_by, TransportError)
        first = journal.step(run.run_id, "hold:onprem:0")
        assert first.payload == {"planned": {"actions": ["enable", "enable"]}, "failed": {"b": NOT_FOUND_B}}
        assert first.outcome == "1 of 2 failed"
        assert journal.get_run(run.run_id).status is RunStatus.ABORTED

        # The resumed run sends only the chunk that did not finish; the finished ones' outcomes come back.
        again_onprem, again_online = InProcessSession(org, "onprem"), InProcessSession(org, "online")
        with open_run(journal, "hold", "fp", steps) as resumed:
            second = resumed.apply_items({"onprem": again_onprem, "online": again_online}, chunk_size=2)
        assert resumed.resumed and chunks_sent(again_onprem) == [["c", "d"]] and chunks_sent(again_online) == []
        assert [r.status for r in second.results] == [StepStatus.SKIPPED, StepStatus.DONE, StepStatus.SKIPPED,
                                                      StepStatus.SKIPPED]
        assert second.results[0].payload["failed"] == {"b": NOT_FOUND_B}
        assert [i.item for i in second.results[1].items or []] == ["c", "d"]
        assert journal.get_run(run.run_id).status is RunStatus.COMPLETED  # nothing failed in this attempt
        assert on_hold(again_onprem, ["a", "c", "d"]) == ["a", "c", "d"]
        assert on_hold(again_online, ["x", "y", "z"]) == ["x", "y", "z"]


def test_a_chunk_left_in_doubt_sends_only_what_live_state_lacks(tmp_path: Path) -> None:
    steps = chunks("online", ["a", "b", "c"], ["d"])
    org = lab_org(online=["a", "b", "c", "e"], unlicensed=["d"])  # d: Plan 1, Exchange Online refuses its hold
    with Journal(tmp_path / "j.sqlite") as journal:
        interrupted = InProcessSession(org, "online")
        fail_at(interrupted, "a", KeyboardInterrupt(), applied=["a", "b"])  # Ctrl-C once Exchange had set a and b
        with pytest.raises(KeyboardInterrupt):
            with open_run(journal, "hold", "fp", steps) as run:
                run.apply_items(interrupted)
        assert journal.step(run.run_id, "hold:online:0").state is StepState.STARTED  # sent, outcome unknown
        assert journal.get_run(run.run_id).status is RunStatus.INTERRUPTED
        asked: list[tuple[str, ...]] = []

        session = InProcessSession(org, "online")
        with open_run(journal, "hold", "fp", steps) as resumed:
            report = resumed.apply_items(session, verify=not_on_hold(asked))
        assert asked == [("a", "b", "c")]  # the in-doubt chunk only; "d" was never tried
        assert chunks_sent(session) == [["c"], ["d"]]  # a and b show the hold live
        assert report.results[0].step.input_items == ("c",)
        assert report.results[1].payload["failed"] == {"d": NO_LICENCE_D}
        assert journal.get_run(run.run_id).status is RunStatus.FAILED  # d was refused

        dropped = InProcessSession(org, "online")
        fail_at(dropped, "e", TransportError("reset"), applied=True)  # Exchange set e's hold; the reply was lost
        with open_run(journal, "hold", "fp2", chunks("online", ["e"])) as third:
            third.apply_items(dropped)
        fourth_session = InProcessSession(org, "online")
        with open_run(journal, "hold", "fp2", chunks("online", ["e"])) as fourth:
            report = fourth.apply_items(fourth_session, verify=not_on_hold(asked))
        assert report.results[0].status is StepStatus.VERIFIED and chunks_sent(fourth_session) == []
        assert journal.step(fourth.run_id, "hold:online:0").outcome == "verified"


def test_ctrl_c_stops_every_side_within_a_second_and_keeps_finished_chunks(tmp_path: Path) -> None:
    """Ctrl-C while pipelines run on both sides: the runner cancels the sessions instead of waiting them out."""
    steps = chunks("onprem", ["a"], ["b"], ["c"]) + chunks("online", ["x"], ["y"])
    org = lab_org(onprem=["a", "b", "c"], online=["x", "y"])
    onprem, online = InProcessSession(org, "onprem"), InProcessSession(org, "online")
    in_flight = [threading.Event(), threading.Event()]
    when_sent(onprem, "b", lambda _sent: in_flight[0].set())
    when_sent(online, "x", lambda _sent: in_flight[1].set())
    hang_until_cancelled(onprem, after=1)  # a's chunk goes through; b's is still running in Exchange
    hang_until_cancelled(online)
    main = threading.main_thread().ident
    assert main is not None
    pressed: list[float] = []

    def press_ctrl_c() -> None:  # the person presses Ctrl-C while both sides have a chunk in flight
        if all(event.wait(10) for event in in_flight):
            pressed.append(time.monotonic())
            signal.pthread_kill(main, signal.SIGINT)

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    with Journal(tmp_path / "j.sqlite") as journal:
        with pytest.raises(KeyboardInterrupt):
            with open_run(journal, "inventory", "fp", steps) as run:
                run.apply_items({"onprem": onprem, "online": online}, per_side=1)
        took = time.monotonic() - pressed[0]
        assert took < 1.0, f"took {took:.2f} s to stop"
        assert onprem.cancelled and online.cancelled
        states = [s.state for s in journal.steps(run.run_id)]
        assert states == [StepState.DONE, StepState.STARTED, StepState.PENDING, StepState.STARTED,
                          StepState.PENDING]
        assert journal.get_run(run.run_id).status is RunStatus.INTERRUPTED
        assert chunks_sent(onprem) == [["a"], ["b"]] and chunks_sent(online) == [["x"]]
        assert on_hold(InProcessSession(org), ["a", "b", "c"]) == ["a"]  # b's pipeline never reached Exchange
