"""apply_steps with fake sessions: both sides at once, identities streamed once, a failure stops new steps."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from hybridkit.hold._apply import apply_steps, set_pipeline
from hybridkit.hold._model import HoldSettings, HoldStep
from hybridkit.ps import ItemOutcome, ItemStatus, PSError


class FakeSession:
    def __init__(self, name: str, delay: float = 0.0, fail_on: int | None = None) -> None:
        self.name, self.delay, self.fail_on = name, delay, fail_on
        self.calls: list[tuple[str, list[Any]]] = []
        self.threads: set[str] = set()

    @property
    def request_count(self) -> int:
        return 0

    def run_items(self, command: Any, items: Any, *, chunk_size: int = 500, key: Any = None,
                  on_progress: Any = None) -> list[ItemOutcome]:
        self.threads.add(threading.current_thread().name)
        self.calls.append((command.render(), list(items)))
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            raise KeyboardInterrupt
        time.sleep(self.delay)
        if on_progress:
            on_progress(len(items))
        return [ItemOutcome(i, ItemStatus.FAILED, errors=[PSError("boom")]) if i.endswith("!")
                else ItemOutcome(i, ItemStatus.OK) for i in items]


def _steps(side: str, n: int) -> list[HoldStep]:
    return [HoldStep(f"{side}/{k}", side, (f"{side}{k}a", f"{side}{k}b!"), ("enable", "enable")) for k in range(n)]


def test_both_sides_in_parallel_with_their_own_pipelines() -> None:
    onprem, online = FakeSession("onprem", 0.05), FakeSession("online", 0.05)
    settings = HoldSettings(30, "Legal", "Case 1", duration_given=True)
    result = apply_steps(_steps("onprem", 2) + _steps("online", 2), settings,
                         {"onprem": onprem, "online": online})  # type: ignore[dict-item]
    assert [c[0] for c in onprem.calls] == [set_pipeline(settings, "onprem").render()] * 2
    assert "RetentionComment" not in onprem.calls[0][0] and "-RetentionComment 'Case 1'" in online.calls[0][0]
    assert onprem.calls[0][0].startswith("Get-Mailbox | Set-Mailbox -LitigationHoldEnabled:$true")
    assert onprem.threads.isdisjoint(online.threads)
    assert result.errors == {"onprem": {"onprem0b!": "boom", "onprem1b!": "boom"},
                             "online": {"online0b!": "boom", "online1b!": "boom"}}
    assert result.steps_sent == 4 and result.warnings


def test_an_interruption_on_one_side_stops_new_steps_on_the_other() -> None:
    onprem, online = FakeSession("onprem", fail_on=1), FakeSession("online", delay=0.2)
    with pytest.raises(KeyboardInterrupt):
        apply_steps(_steps("onprem", 3) + _steps("online", 3), HoldSettings(),
                    {"onprem": onprem, "online": online})  # type: ignore[dict-item]
    assert len(onprem.calls) == 1
    assert len(online.calls) < 3
