"""The lab organisation: both sides of a hybrid org, a virtual clock, and persistence.

State is plain data (dicts of JSON-able values) so it saves to ``--state FILE`` and loads back unchanged.
Recipients live in ``Side.recipients`` (keyed by GUID string); every other kind of object (accepted domains,
connectors, migration batches, move requests, organization relationships ...) lives in a named collection,
``side.collection("InboundConnector")``, keyed by the object's Identity (usually its Name), each value a dict of
properties. Capabilities add their seeded objects to the demo org through ``register_demo_seeder``.

Datetimes are stored as ISO 8601 strings with an offset; use ``to_iso``/``from_iso``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["Org", "Side", "VirtualClock", "from_iso", "register_demo_seeder", "to_iso", "DEMO_SEEDERS"]


def to_iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat()


def from_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


class VirtualClock:
    """UTC time that runs ``scale`` times faster than the wall clock from ``start``, plus manual advances."""

    def __init__(self, start: dt.datetime | None = None, scale: float = 1.0) -> None:
        self.start = (start or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
        self.scale = scale
        self._mono0 = time.monotonic()
        self._offset = 0.0

    def now(self) -> dt.datetime:
        elapsed = (time.monotonic() - self._mono0) * self.scale + self._offset
        return self.start + dt.timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> None:
        self._offset += seconds


@dataclasses.dataclass
class Side:
    """One side of the hybrid: ``onprem`` (Exchange Server) or ``online`` (Exchange Online)."""

    name: str
    recipients: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    collections: dict[str, dict[str, dict[str, Any]]] = dataclasses.field(default_factory=dict)
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)  # org config, domain, server names ...

    def collection(self, kind: str) -> dict[str, dict[str, Any]]:
        """The named collection of objects of ``kind``, created empty on first use."""
        return self.collections.setdefault(kind, {})

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "recipients": self.recipients, "collections": self.collections, "settings": self.settings}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Side:
        return cls(
            name=data["name"],
            recipients=data.get("recipients", {}),
            collections=data.get("collections", {}),
            settings=data.get("settings", {}),
        )


@dataclasses.dataclass
class Org:
    """Both sides and the clock."""

    onprem: Side
    online: Side
    clock: VirtualClock = dataclasses.field(default_factory=VirtualClock)
    version: str = "2019"  # the emulated on-prem Exchange version: 2010, 2013, 2016, 2019

    def side(self, name: str) -> Side:
        return self.onprem if name == "onprem" else self.online

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "hybridkit-lab-state/1",
            "version": self.version,
            "clock": to_iso(self.clock.now()),
            "onprem": self.onprem.to_json(),
            "online": self.online.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], time_scale: float = 1.0) -> Org:
        return cls(
            onprem=Side.from_json(data["onprem"]),
            online=Side.from_json(data["online"]),
            clock=VirtualClock(from_iso(data["clock"]), time_scale),
            version=data.get("version", "2019"),
        )

    def save(self, path: Path) -> None:
        """Write the state atomically."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), separators=(",", ":")), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, time_scale: float = 1.0) -> Org:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")), time_scale)


# Functions that add a capability's objects to the demo org (connectors, batches, relationships ...).
DEMO_SEEDERS: list[Callable[[Org], None]] = []


def register_demo_seeder(func: Callable[[Org], None]) -> Callable[[Org], None]:
    """Decorator: ``func(org)`` runs after the demo org's recipients are built."""
    DEMO_SEEDERS.append(func)
    return func
