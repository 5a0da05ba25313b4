"""apply_steps through the runner with scripted sessions: both sides at once, identities streamed once, an
interruption stops new steps, and the journal keeps each step's payload (no side files)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from hybridkit.hold._apply import ApplyResult, apply_steps, chunk_step, set_pipeline
from hybridkit.hold._model import HoldSettings, HoldStep
from hybridkit.journal import Journal, RunStatus, StepState
from hybridkit.runner import open_run
from hybridkit.lab import InProcessSession
from hybridkit.lab._types import LabCommand, LabError, LabSession, PipelineSink


class ScriptedExchange:
    """An engine for ``InProcessSession`` (the lab seam's ``Engine``): each pipeline takes ``delay`` seconds, the
    ``fail_on``-th is interrupted (Ctrl+C), and an input item ending in "!" gets an error record "boom"."""

    def __init__(self, delay: float = 0.0, fail_on: int | None = None) -> None:
        self.delay, self.fail_on = delay, fail_on
        self.pipelines = 0
        self.threads: set[str] = set()

    def open_session(self, session: LabSession) -> None:
        pass

    def close_session(self, session: LabSession) -> None:
        pass

    def invoke(self, session: LabSession, commands: list[LabCommand], input_items: list[Any],
               sink: PipelineSink) -> None:
        self.threads.add(threading.current_thread().name)
        self.pipelines += 1
        if self.fail_on is not None and self.pipelines == self.fail_on:
            raise KeyboardInterrupt
        time.sleep(self.delay)
        for item in input_items:
            if str(item).endswith("!"):
                sink.error(LabError("boom", target=item))


def FakeSession(name: str, delay: float = 0.0, fail_on: int | None = None) -> InProcessSession:  # noqa: N802
    """A session named ``name`` whose pipelines go to a ``ScriptedExchange``."""
    return InProcessSession(ScriptedExchange(delay, fail_on), name=name)


def _calls(session: InProcessSession) -> list[tuple[str, list[Any]]]:
    """(the pipeline as PowerShell, its input items) of every pipeline the session ran."""
    return [(sent.pipeline.render(), list(sent.input_items)) for sent in session.sent]


def _threads(session: InProcessSession) -> set[str]:
    return session.engine.threads  # type: ignore[attr-defined, no-any-return]


def _steps(side: str, n: int) -> list[HoldStep]:
    return [HoldStep(f"{side}/{k}", side, (f"{side}{k}a", f"{side}{k}b!"), ("enable", "enable")) for k in range(n)]


def _apply(journal: Journal, steps: list[HoldStep], settings: HoldSettings,
           sessions: Mapping[str, InProcessSession]) -> ApplyResult:
    """``apply_steps`` in a run of its own in ``journal`` (as ``run_enable`` runs it)."""
    with open_run(journal, "hold", "test", [chunk_step(s, settings) for s in steps]) as run:
        return apply_steps(run, settings, sessions)  # type: ignore[arg-type]


def test_both_sides_in_parallel_with_their_own_pipelines(tmp_path: Path) -> None:
    onprem, online = FakeSession("onprem", 0.05), FakeSession("online", 0.05)
    settings = HoldSettings(30, "Legal", "Case 1", duration_given=True)
    with Journal(tmp_path / "journal.sqlite") as journal:
        result = _apply(journal, _steps("onprem", 2) + _steps("online", 2), settings,
                        {"onprem": onprem, "online": online})
        (run,) = journal.list_runs(kind="hold")
        steps = journal.steps(run.run_id)
    assert [c[0] for c in _calls(onprem)] == [set_pipeline(settings, "onprem").render()] * 2
    assert "RetentionComment" not in _calls(onprem)[0][0] and "-RetentionComment 'Case 1'" in _calls(online)[0][0]
    assert _calls(onprem)[0][0].startswith("Get-Mailbox | Set-Mailbox -LitigationHoldEnabled:$true")
    assert _threads(onprem).isdisjoint(_threads(online))
    assert result.errors == {"onprem": {"onprem0b!": "boom", "onprem1b!": "boom"},
                             "online": {"online0b!": "boom", "online1b!": "boom"}}
    assert result.steps_sent == 4 and result.warnings
    # The journal holds what each step covered and, once done, Exchange's message per failed mailbox.
    assert run.status is RunStatus.FAILED  # a mailbox of each step failed
    assert [s.state for s in steps] == [StepState.DONE] * 4
    assert steps[0].payload == {"planned": {"side": "onprem", "identities": ["onprem0a", "onprem0b!"],
                                            "actions": ["enable", "enable"]},
                                "failed": {"onprem0b!": "boom"}}
    assert steps[0].target == "onprem: 2 mailbox(es), onprem0a ... onprem0b!"
    assert not (tmp_path / "hold-runs").exists()


def test_an_interruption_on_one_side_stops_new_steps_on_the_other(tmp_path: Path) -> None:
    onprem, online = FakeSession("onprem", fail_on=1), FakeSession("online", delay=0.2)
    with Journal(tmp_path / "journal.sqlite") as journal:
        with pytest.raises(KeyboardInterrupt):
            _apply(journal, _steps("onprem", 3) + _steps("online", 3), HoldSettings(),
                   {"onprem": onprem, "online": online})
        (run,) = journal.list_runs(kind="hold")
    assert len(onprem.sent) == 1
    assert len(online.sent) < 3
    assert run.status is RunStatus.INTERRUPTED
