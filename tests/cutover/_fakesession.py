"""A ``PSSession`` over the lab engine in-process: no protocol, but the catalogue binds every command.

Pipeline input dicts become PSCustomObjects (``Identity`` binds by property name), as the real bridge sends them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hybridkit.errors import CommandFailed
from hybridkit.lab._types import EndpointKind, LabCommand, LabObject, LabSession, LabTerminatingError
from hybridkit.lab.exchange.org import Org
from hybridkit.ps import Command, ItemOutcome, Pipeline, PSError, PSObject, PSResult, Switch
from hybridkit.ps._match import match_items
from tests.cutover._labkit import FakeSink


def _param(value: Any) -> Any:
    return value.present if isinstance(value, Switch) else value


def _ps(obj: Any) -> Any:
    if isinstance(obj, LabObject):
        return PSObject(list(obj.type_names), dict(obj.properties), obj.to_string)
    return obj


class FakeSession:
    """Runs every pipeline through the real ``ExchangeEngine`` (catalogue binding included) with a fake sink."""

    name = "online"

    def __init__(self, org: Org) -> None:
        from hybridkit.lab.exchange.engine import ExchangeEngine

        self.org = org
        self.engine = ExchangeEngine(org, raise_internal_errors=True)
        self.lab_session = LabSession(EndpointKind.ONLINE, "admin@contoso.onmicrosoft.com",
                                      data={"exo_connected": True})
        self.pipelines: list[tuple[str, int]] = []

    @property
    def request_count(self) -> int:
        return len(self.pipelines)

    def run(self, command: Command | Pipeline, input_items: Sequence[Any] | None = None) -> PSResult:
        pipeline = command if isinstance(command, Pipeline) else Pipeline.of(command)
        self.pipelines.append((" | ".join(c.cmdlet for c in pipeline.commands), len(input_items or ())))
        commands = [LabCommand(c.cmdlet, [(k, _param(v)) for k, v in c.parameters]) for c in pipeline.commands]
        items = [LabObject(["System.Management.Automation.PSCustomObject", "System.Object"], dict(i))
                 if isinstance(i, dict) else i for i in (input_items or [])]
        sink = FakeSink()
        result = PSResult()
        try:
            self.engine.invoke(self.lab_session, commands, items, sink)
        except LabTerminatingError as exc:
            raise CommandFailed(exc.error.message) from None
        result.output = [_ps(o) for o in sink.out]
        result.errors = [PSError(e.message, e.fully_qualified_error_id, e.category, e.reason or "", e.target)
                         for e in sink.errors]
        result.warnings = list(sink.warnings)
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
