"""``plan.json`` read back: the batches a plan holds, checked, for the capabilities that act on a plan.

``write_plan`` writes the document (``BatchPlan.to_json``); ``read_plan``/``parse_plan`` give its batches back as
``Batch`` values: names present and unique (case-insensitively), members non-empty lists of addresses (lower case),
no mailbox in two batches. What a consumer needs beyond that (cutover: New-MigrationBatch's name length) it checks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hybridkit.batches._model import Batch
from hybridkit.errors import InputError

__all__ = ["parse_plan", "read_plan"]


def parse_plan(data: Any, source: str = "plan.json") -> tuple[Batch, ...]:
    """The batches of a ``plan.json`` document, checked (``InputError`` naming the file and the batch)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("batches"), list):
        raise InputError("not a batch plan: expected an object with a 'batches' list", file=source)
    batches: list[Batch] = []
    owner: dict[str, str] = {}
    for index, raw in enumerate(data["batches"]):
        where = f"batches[{index}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
            raise InputError(f"{where}: every batch needs a 'name'", file=source)
        name = raw["name"].strip()
        if any(b.name.lower() == name.lower() for b in batches):
            raise InputError(f"{where}: batch name {name!r} appears twice", file=source)
        members = raw.get("mailboxes")
        if not isinstance(members, list) or not members:
            raise InputError(f"{where} ({name}): 'mailboxes' must be a non-empty list", file=source)
        seen: list[str] = []
        for value in members:
            address = str(value).strip().lower()
            if "@" not in address or " " in address:
                raise InputError(f"{where} ({name}): {value!r} is not an email address", file=source)
            if address in owner:
                raise InputError(f"{where} ({name}): {address} is also planned in batch {owner[address]!r}",
                                 file=source)
            owner[address] = name
            seen.append(address)
        size = raw.get("size_bytes", 0)
        without = raw.get("mailboxes_without_size", 0)
        batches.append(Batch(name, tuple(seen), int(size) if isinstance(size, (int, float)) else 0,
                             without_size=int(without) if isinstance(without, int) else 0))
    return tuple(batches)


def read_plan(path: str | Path) -> tuple[Batch, ...]:
    """The batches of ``PLAN_DIR/plan.json`` (or of the plan file itself), checked as ``parse_plan`` does."""
    path = Path(path)
    file = path / "plan.json" if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError("no plan.json here; make one with `hybridkit batches plan ... --out DIR`",
                         file=str(file)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read the plan: {exc}", file=str(file)) from exc
    return parse_plan(data, str(file))
