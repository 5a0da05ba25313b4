"""What a remote pipeline gives back, as plain Python data (no pypsrp types escape the bridge)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator
from typing import Any

__all__ = ["ItemOutcome", "ItemStatus", "PSError", "PSObject", "PSResult"]


@dataclasses.dataclass
class PSObject:
    """A deserialized object: its .NET type names (most derived first), properties and ToString()."""

    type_names: list[str]
    properties: dict[str, Any]
    to_string: str | None = None

    def get(self, name: str, default: Any = None) -> Any:
        """A property by case-insensitive name."""
        if name in self.properties:
            return self.properties[name]
        lowered = name.lower()
        for key, value in self.properties.items():
            if key.lower() == lowered:
                return value
        return default

    def __getitem__(self, name: str) -> Any:
        sentinel = object()
        value = self.get(name, sentinel)
        if value is sentinel:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k.lower() == name.lower() for k in self.properties)

    def __str__(self) -> str:
        return self.to_string if self.to_string is not None else repr(self.properties)


@dataclasses.dataclass
class PSError:
    """One ErrorRecord: Exchange's message, FullyQualifiedErrorId, category, reason and target object."""

    message: str
    error_id: str = ""
    category: str = ""
    reason: str = ""
    target: Any = None
    exception_type: str = ""

    def __str__(self) -> str:
        return self.message


@dataclasses.dataclass
class PSResult:
    """Everything one pipeline produced."""

    output: list[Any] = dataclasses.field(default_factory=list)
    errors: list[PSError] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    requests: int = 0  # WSMan requests this pipeline cost, where the transport can count them

    @property
    def ok(self) -> bool:
        return not self.errors

    def __iter__(self) -> Iterator[Any]:
        return iter(self.output)


class ItemStatus(enum.Enum):
    OK = "ok"
    FAILED = "failed"


@dataclasses.dataclass
class ItemOutcome:
    """The outcome for one input item of a pipeline: its output objects, or the errors that name it."""

    item: Any
    status: ItemStatus
    output: list[Any] = dataclasses.field(default_factory=list)
    errors: list[PSError] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status is ItemStatus.OK

    @property
    def message(self) -> str:
        return "; ".join(e.message for e in self.errors)
