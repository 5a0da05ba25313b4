"""A ``PSSession`` that runs pipelines straight on the lab's migration handlers (no protocol, no binding checks).

Pipeline input dicts bind ``Identity`` by property name; objects flowing between commands bind their Identity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hybridkit.lab._types import LabObject
from hybridkit.lab.org import Org
from hybridkit.ps import Command, ItemOutcome, Pipeline, PSError, PSObject, PSResult, Switch
from hybridkit.ps._match import match_items
from tests.cutover._labkit import run


def _param(value: Any) -> Any:
    return value.present if isinstance(value, Switch) else value


def _ps(obj: Any) -> Any:
    if isinstance(obj, LabObject):
        return PSObject(list(obj.type_names), dict(obj.properties), obj.to_string)
    return obj


class FakeSession:
    name = "online"

    def __init__(self, org: Org) -> None:
        self.org = org
        self.pipelines: list[tuple[str, int]] = []

    @property
    def request_count(self) -> int:
        return len(self.pipelines)

    def run(self, command: Command | Pipeline, input_items: Sequence[Any] | None = None) -> PSResult:
        pipeline = command if isinstance(command, Pipeline) else Pipeline.of(command)
        self.pipelines.append((" | ".join(c.cmdlet for c in pipeline.commands), len(input_items or ())))
        items: list[Any] | None = None
        if input_items is not None:
            items = [i.get("Identity") if isinstance(i, dict) else i for i in input_items]
        result = PSResult()
        for cmd in pipeline.commands:
            params = {k: _param(v) for k, v in cmd.parameters}
            sink = run(self.org, cmd.cmdlet, items, **params)
            result.errors.extend(PSError(e.message, e.fully_qualified_error_id, e.category, e.reason or "", e.target)
                                 for e in sink.errors)
            result.warnings.extend(sink.warnings)
            items = [o.get("Identity") for o in sink.out] if cmd is not pipeline.commands[-1] else None
            if cmd is pipeline.commands[-1]:
                result.output = [_ps(o) for o in sink.out]
        return result

    def run_items(self, command: Command | Pipeline, items: Sequence[Any], *, chunk_size: int = 500,
                  key: Callable[[Any], Any] | None = None, on_progress: Callable[[int], None] | None = None,
                  ) -> list[ItemOutcome]:
        out: list[ItemOutcome] = []
        for start in range(0, len(items), chunk_size):
            chunk = list(items[start:start + chunk_size])
            out.extend(match_items(chunk, self.run(command, chunk), key))
        return out

    def close(self) -> None:
        pass
