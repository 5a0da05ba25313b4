"""``Run.apply_items``: item pipelines as journaled chunks - payloads, resume, in-doubt chunks, stop, Ctrl-C."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hybridkit.errors import TransportError
from hybridkit.journal import Journal, RunStatus, StepState
from hybridkit.ps import Command, ItemOutcome, ItemStatus, Pipeline, PSError
from hybridkit.runner import Step, StepStatus, open_run

SET_HOLD = Pipeline.of(Command.of("Get-Mailbox"), Command.of("Set-Mailbox", LitigationHoldEnabled=True))


class ItemSession:
    """``run_items`` over in-memory mailboxes: fails the items in ``refuse`` with Exchange's message; raises
    ``raise_on`` for a chunk holding that item; ``block`` makes every chunk wait until ``cancel()``."""

    request_count = 0

    def __init__(self, name: str, refuse: set[str] | None = None, raise_on: dict[str, BaseException] | None = None,
                 block: bool = False, gate: threading.Event | None = None) -> None:
        self.name = name
        self.gate = gate  # raise_on waits for it (another side's work done first)
        self.refuse = refuse or set()
        self.raise_on = raise_on or {}
        self.block = block
        self.sent: list[list[str]] = []
        self.cancelled = threading.Event()

    def run_items(self, command: Any, items: list[str], *, chunk_size: int = 500, key: Any = None,
                  on_progress: Any = None) -> list[ItemOutcome]:
        self.sent.append(list(items))
        for item in items:
            if item in self.raise_on:
                if self.gate is not None:
                    self.gate.wait(10)
                raise self.raise_on[item]
        if self.block:
            while not self.cancelled.wait(0.01):
                pass
            raise KeyboardInterrupt("interrupted")  # what a cancelled session's pipelines do
        if on_progress:
            on_progress(len(items))
        return [ItemOutcome(i, ItemStatus.FAILED, errors=[PSError(f"{i}: license doesn't permit it")])
                if i in self.refuse else ItemOutcome(i, ItemStatus.OK) for i in items]

    def cancel(self) -> None:
        self.cancelled.set()


def chunks(side: str, *groups: list[str]) -> list[Step]:
    return [Step(f"hold:{side}:{n}", f"{side}: {len(g)} mailbox(es)", SET_HOLD, tuple(g), side=side,
                 payload={"actions": ["enable"] * len(g)}) for n, g in enumerate(groups)]


def test_each_chunk_keeps_its_items_outcomes_and_a_resume_skips_finished_chunks(tmp_path: Path) -> None:
    steps = chunks("onprem", ["a", "b"], ["c", "d"]) + chunks("online", ["x", "y"], ["z"])
    online_done = threading.Event()
    onprem = ItemSession("onprem", refuse={"b"}, raise_on={"c": TransportError("connection reset")},
                         gate=online_done)
    online = ItemSession("online")
    online_items = online.run_items

    def then_done(*args: Any, **kwargs: Any) -> list[ItemOutcome]:
        outcomes = online_items(*args, **kwargs)
        if len(online.sent) == 2:
            online_done.set()
        return outcomes

    online.run_items = then_done  # type: ignore[method-assign]
    with Journal(tmp_path / "j.sqlite") as journal:
        with open_run(journal, "hold", "fp", steps) as run:
            report = run.apply_items({"onprem": onprem, "online": online}, chunk_size=2, task="set hold")
        statuses = {r.step.key: r.status for r in report.results}
        assert statuses == {"hold:onprem:0": StepStatus.DONE, "hold:onprem:1": StepStatus.FAILED,
                            "hold:online:0": StepStatus.DONE, "hold:online:1": StepStatus.DONE}
        assert isinstance(report.stopped_by, TransportError)
        first = journal.step(run.run_id, "hold:onprem:0")
        assert first.payload == {"planned": {"actions": ["enable", "enable"]},
                                 "failed": {"b": "b: license doesn't permit it"}}
        assert first.outcome == "1 of 2 failed"
        assert journal.get_run(run.run_id).status is RunStatus.ABORTED

        # The resumed run sends only the chunk that did not finish; the finished ones' outcomes come back.
        again_onprem, again_online = ItemSession("onprem"), ItemSession("online")
        with open_run(journal, "hold", "fp", steps) as resumed:
            second = resumed.apply_items({"onprem": again_onprem, "online": again_online}, chunk_size=2)
        assert resumed.resumed and again_onprem.sent == [["c", "d"]] and again_online.sent == []
        assert [r.status for r in second.results] == [StepStatus.SKIPPED, StepStatus.DONE, StepStatus.SKIPPED,
                                                      StepStatus.SKIPPED]
        assert second.results[0].payload["failed"] == {"b": "b: license doesn't permit it"}
        assert [i.item for i in second.results[1].items or []] == ["c", "d"]
        assert journal.get_run(run.run_id).status is RunStatus.COMPLETED  # nothing failed in this attempt


def test_a_chunk_left_in_doubt_sends_only_what_live_state_lacks(tmp_path: Path) -> None:
    steps = chunks("online", ["a", "b", "c"], ["d"])
    with Journal(tmp_path / "j.sqlite") as journal:
        with pytest.raises(KeyboardInterrupt):
            with open_run(journal, "hold", "fp", steps) as run:
                run.apply_items(ItemSession("online", raise_on={"a": KeyboardInterrupt()}))
        assert journal.step(run.run_id, "hold:online:0").state is StepState.STARTED  # sent, outcome unknown
        assert journal.get_run(run.run_id).status is RunStatus.INTERRUPTED
        asked: list[tuple[str, ...]] = []

        def verify(_session: Any, step: Step) -> list[str]:
            asked.append(step.input_items)
            return ["c"]  # a and b show the hold live: the interrupted pipeline got them

        session = ItemSession("online", refuse={"d"})
        with open_run(journal, "hold", "fp", steps) as resumed:
            report = resumed.apply_items(session, verify=verify)
        assert asked == [("a", "b", "c")]  # the in-doubt chunk only; "d" was never tried
        assert session.sent == [["c"], ["d"]]
        assert report.results[0].step.input_items == ("c",)
        assert journal.get_run(run.run_id).status is RunStatus.FAILED  # d was refused

        def all_done(_session: Any, step: Step) -> list[str]:
            return []

        with open_run(journal, "hold", "fp2", chunks("online", ["e"])) as third:
            third.apply_items(ItemSession("online", raise_on={"e": TransportError("reset")}))
        with open_run(journal, "hold", "fp2", chunks("online", ["e"])) as fourth:
            report = fourth.apply_items(ItemSession("online"), verify=all_done)
        assert report.results[0].status is StepStatus.VERIFIED
        assert journal.step(fourth.run_id, "hold:online:0").outcome == "verified"


def test_ctrl_c_stops_every_side_within_a_second_and_keeps_finished_chunks(tmp_path: Path) -> None:
    """Ctrl-C while pipelines run on both sides: the runner cancels the sessions instead of waiting them out."""
    steps = chunks("onprem", ["a"], ["b"], ["c"]) + chunks("online", ["x"], ["y"])
    onprem, online = ItemSession("onprem"), ItemSession("online", block=True)
    real = onprem.run_items

    def slow_after_first(command: Any, items: list[str], **kwargs: Any) -> list[ItemOutcome]:
        if items != ["a"]:
            onprem.block = True
        return real(command, items, **kwargs)

    onprem.run_items = slow_after_first  # type: ignore[method-assign]
    main = threading.main_thread().ident
    assert main is not None
    threading.Timer(0.3, signal.pthread_kill, (main, signal.SIGINT)).start()  # the person presses Ctrl-C
    started = time.monotonic()
    with Journal(tmp_path / "j.sqlite") as journal:
        with pytest.raises(KeyboardInterrupt):
            with open_run(journal, "inventory", "fp", steps) as run:
                run.apply_items({"onprem": onprem, "online": online}, per_side=1)
        took = time.monotonic() - started
        assert took < 1.5, f"took {took:.2f} s to stop"
        assert onprem.cancelled.is_set() and online.cancelled.is_set()
        states = [s.state for s in journal.steps(run.run_id)]
        assert states == [StepState.DONE, StepState.STARTED, StepState.PENDING, StepState.STARTED,
                          StepState.PENDING]
        assert journal.get_run(run.run_id).status is RunStatus.INTERRUPTED
