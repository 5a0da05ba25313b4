"""The full property sets of the objects Exchange returns, and lazy property maps that fill them.

``data/object-shapes.json`` holds, per object type the lab returns, Exchange's .NET type names (most derived
first), every property in the order Exchange serialises it, its CLIXML kind as it arrives over Exchange's remote
endpoint, and a default value. The sources (real captured output, or Exchange's own class definitions where no
capture exists) are named per type in the file and in ``FIDELITY.md`` ("Object shapes").

Kinds, as Exchange's remote endpoint sends them (checked against a real Get-Mailbox wire capture): primitive values
keep their CLIXML kind (``S``, ``B``, ``I32``, ``I64``, ``U32``, ``U64``, ``DT``, ``G``, ``TS``, ``BA``);
multi-valued properties arrive as lists (``LIST``); every other value (enums, ADObjectIds, ByteQuantifiedSize and
Unlimited values, SMTP addresses, EnhancedTimeSpan, versions) arrives as its ``ToString()`` text (``S``).

``ShapedProperties`` is the property map of an object built from a shape: it always has exactly the shape's
properties in the shape's order, computes the builder's values only when a property is first read (so
``Select-Object -Property`` of five names never builds the other ~220), and coerces each value to its kind
(ISO strings become aware datetimes, GUID strings ``uuid.UUID``, a scalar in a multi-valued property a list ...).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from importlib import resources
from typing import Any

from psrpcore.types import PSInt64, PSUInt, PSUInt64

from hybridkit.lab._types import LabObject

__all__ = ["KINDS", "Shape", "ShapedProperties", "coerce", "shape", "shaped_object", "shapes"]

KINDS = frozenset({"S", "B", "I32", "I64", "U32", "U64", "DT", "G", "TS", "BA", "LIST"})


@dataclasses.dataclass(frozen=True)
class Shape:
    """One object type: type names, properties in order, their kinds and defaults, and where they come from."""

    key: str
    type_names: tuple[str, ...]
    names: tuple[str, ...]
    kinds: Mapping[str, str]
    defaults: Mapping[str, Any]
    source: str
    extra: tuple[str, ...] = ()
    extra_source: str = ""

    @functools.cached_property
    def lower(self) -> Mapping[str, str]:
        """Lower-cased property name -> the name as Exchange spells it."""
        return {name.lower(): name for name in self.names}


@functools.cache
def shapes() -> dict[str, Shape]:
    """Every shape of ``data/object-shapes.json`` by key (``Mailbox``, ``MoveRequestStatistics`` ...)."""
    text = resources.files("hybridkit.lab").joinpath("data/object-shapes.json").read_text(encoding="utf-8")
    out = {}
    for key, raw in json.loads(text).items():
        props = raw["properties"]
        out[key] = Shape(
            key=key,
            type_names=tuple(raw["type_names"]),
            names=tuple(p[0] for p in props),
            kinds={p[0]: p[1] for p in props},
            defaults={p[0]: p[2] for p in props},
            source=raw["source"],
            extra=tuple(raw.get("extra") or ()),
            extra_source=str(raw.get("extra_source") or ""),
        )
    return out


def shape(key: str) -> Shape:
    """The shape called ``key``."""
    return shapes()[key]


_TIMESPAN = re.compile(r"^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")


def _timespan(value: Any) -> dt.timedelta | None:
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, (int, float)):
        return dt.timedelta(seconds=value)
    match = _TIMESPAN.match(str(value).strip())
    if match is None:
        return None
    sign, days, hours, minutes, seconds, fraction = match.groups()
    span = dt.timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=int(seconds),
                        microseconds=int((fraction or "0").ljust(7, "0")[:6]))
    return -span if sign else span


def _datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    text = str(value).strip()
    if not text:
        return None
    from hybridkit.lab.exchange.conversion import parse_datetime

    return parse_datetime(text)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_text(v) for v in value)  # a flags value written as a list, e.g. ["Migrated", "SharedMailbox"]
    if isinstance(value, LabObject):
        return str(value.get("Identity") or value.to_string or "")
    return str(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    text = str(value).strip().replace(",", "")
    return int(text) if re.fullmatch(r"-?\d+", text) else None


def coerce(kind: str, value: Any) -> Any:
    """``value`` as the plain Python value that serialises with CLIXML kind ``kind`` ($null stays None,
    except multi-valued properties, which Exchange always sends as a list)."""
    if kind == "LIST":
        if value is None:
            return []
        if isinstance(value, (list, tuple, set, frozenset)):
            return list(value)
        return [value]
    if value is None:
        return None
    if kind == "S":
        return value if type(value) is str else _text(value)
    if kind == "B":
        if isinstance(value, str):
            return value.strip().lower() in ("true", "$true", "1")
        return bool(value)
    if kind == "DT":
        return _datetime(value)
    if kind == "G":
        if isinstance(value, uuid.UUID):
            return value
        text = str(value).strip().strip("{}")
        return uuid.UUID(text) if text else None
    if kind == "TS":
        return _timespan(value)
    if kind == "BA":
        return bytes(value) if isinstance(value, (bytes, bytearray, list)) else str(value).encode()
    number = _int(value)
    if number is None:
        return None
    if kind == "I32":
        return int(number)
    wrap = {"I64": PSInt64, "U32": PSUInt, "U64": PSUInt64}.get(kind)
    return wrap(number) if wrap is not None else number


class ShapedProperties(MutableMapping[str, Any]):
    """The properties of one object of a shape, computed on first read and coerced to their kinds.

    Args:
        shape: The object's shape: which properties exist, in which order, of which kind.
        values: The builder's values, or a function giving them (called once, on the first read of a property);
            properties the values do not name take the shape's defaults. Names outside the shape are ignored.
    """

    __slots__ = ("_shape", "_source", "_values", "_cache", "_added", "_removed")

    def __init__(self, shape: Shape, values: Mapping[str, Any] | Callable[[], Mapping[str, Any]]) -> None:
        self._shape = shape
        self._source = values if callable(values) else None
        self._values: Mapping[str, Any] | None = None if callable(values) else values
        self._cache: dict[str, Any] = {}
        self._added: dict[str, Any] = {}
        self._removed: set[str] = set()

    @property
    def shape(self) -> Shape:
        return self._shape

    def _known(self) -> Mapping[str, Any]:
        if self._values is None:
            assert self._source is not None
            self._values = self._source()
        return self._values

    def __getitem__(self, name: str) -> Any:
        cache = self._cache
        if name in cache:
            return cache[name]
        kinds = self._shape.kinds
        if name not in kinds or name in self._removed:
            if name in self._added:
                return self._added[name]
            raise KeyError(name)
        known = self._known()
        raw = known[name] if name in known else self._shape.defaults[name]
        value = coerce(kinds[name], raw)
        cache[name] = value
        return value

    def __setitem__(self, name: str, value: Any) -> None:
        kind = self._shape.kinds.get(name)
        if kind is None:
            self._added[name] = value
            return
        self._removed.discard(name)
        self._cache[name] = coerce(kind, value)

    def __delitem__(self, name: str) -> None:
        if name in self._added:
            del self._added[name]
        elif name in self._shape.kinds and name not in self._removed:
            self._removed.add(name)
            self._cache.pop(name, None)
        else:
            raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return (name in self._shape.kinds and name not in self._removed) or name in self._added

    def __iter__(self) -> Iterator[str]:
        removed = self._removed
        for name in self._shape.names:
            if name not in removed:
                yield name
        yield from self._added

    def __len__(self) -> int:
        return len(self._shape.names) - len(self._removed) + len(self._added)

    def resolve(self, name: str) -> str | None:
        """The property's name as Exchange spells it, for a name in any case (None if the object has none)."""
        if name in self:
            return name
        found = self._shape.lower.get(name.lower())
        if found is not None and found not in self._removed:
            return found
        return next((k for k in self._added if k.lower() == name.lower()), None)

    def __repr__(self) -> str:
        return f"ShapedProperties({self._shape.key}, {len(self)} properties)"


def shaped_object(key: str, values: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
                  to_string: str | None = None) -> LabObject:
    """A ``LabObject`` of shape ``key`` whose properties are filled from ``values`` (a mapping or a function
    giving one, called on first read)."""
    kind = shape(key)
    return LabObject(list(kind.type_names), ShapedProperties(kind, values), to_string=to_string)
