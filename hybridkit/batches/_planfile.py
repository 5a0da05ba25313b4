"""``plan.json`` read back: the batches a plan holds, checked, for the capabilities that act on a plan.

``write_plan`` writes the document (``BatchPlan.to_json``); ``read_plan``/``parse_plan`` give its batches (the
migration batches to create) back as ``Batch`` values: names present and unique (case-insensitively), members
non-empty lists of addresses (lower case), no mailbox in two batches. ``read_layout``/``parse_layout`` give both
levels (``PlanLayout``: the batches with the waves each holds, the waves with their members and sync batch), every
wave inside its batch and every batch member in one of its waves; a plan without ``waves`` (written before them)
reads as one wave per batch. What a consumer needs beyond that (cutover: New-MigrationBatch's name length) it
checks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hybridkit.batches._model import Batch, PlanLayout, Wave
from hybridkit.errors import InputError

__all__ = ["parse_layout", "parse_plan", "read_layout", "read_plan"]


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
        waves = raw.get("waves", [])
        if not isinstance(waves, list) or not all(isinstance(w, str) and w.strip() for w in waves):
            raise InputError(f"{where} ({name}): 'waves' must be a list of wave names", file=source)
        batches.append(Batch(name, tuple(seen), int(size) if isinstance(size, (int, float)) else 0,
                             without_size=int(without) if isinstance(without, int) else 0,
                             waves=tuple(w.strip() for w in waves)))
    return tuple(batches)


def parse_layout(data: Any, source: str = "plan.json") -> PlanLayout:
    """Both levels of a ``plan.json`` document, checked (``InputError`` naming the file, the wave or batch)."""
    batches = parse_plan(data, source)
    raw_waves = data.get("waves")
    if raw_waves is None:  # written before waves: each batch is its own wave
        own = tuple(Batch(b.name, b.mailboxes, b.size_bytes, b.pinned, b.without_size, (b.name,)) for b in batches)
        waves = tuple(Wave(b.name, b.mailboxes, b.name, b.size_bytes, b.pinned, b.without_size) for b in batches)
        return PlanLayout(own, waves)
    if not isinstance(raw_waves, list):
        raise InputError("'waves' must be a list", file=source)
    by_name = {b.name.lower(): b for b in batches}
    members = {b.name: set(b.mailboxes) for b in batches}
    owner: dict[str, str] = {}
    waves_list: list[Wave] = []
    for index, raw in enumerate(raw_waves):
        where = f"waves[{index}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
            raise InputError(f"{where}: every wave needs a 'name'", file=source)
        name = raw["name"].strip()
        if any(w.name.lower() == name.lower() for w in waves_list):
            raise InputError(f"{where}: wave name {name!r} appears twice", file=source)
        batch = by_name.get(str(raw.get("sync_batch") or "").strip().lower())
        if batch is None:
            raise InputError(f"{where} ({name}): 'sync_batch' {raw.get('sync_batch')!r} is not a batch of the plan",
                             file=source)
        addresses = raw.get("mailboxes")
        if not isinstance(addresses, list) or not addresses:
            raise InputError(f"{where} ({name}): 'mailboxes' must be a non-empty list", file=source)
        seen = []
        for value in addresses:
            address = str(value).strip().lower()
            if address not in members[batch.name]:
                raise InputError(f"{where} ({name}): {address} is not in its sync batch {batch.name!r}", file=source)
            if address in owner:
                raise InputError(f"{where} ({name}): {address} is also in wave {owner[address]!r}", file=source)
            owner[address] = name
            seen.append(address)
        size = raw.get("size_bytes", 0)
        without = raw.get("mailboxes_without_size", 0)
        waves_list.append(Wave(name, tuple(seen), batch.name, int(size) if isinstance(size, (int, float)) else 0,
                               without_size=int(without) if isinstance(without, int) else 0))
    for batch in batches:
        stray = sorted(members[batch.name] - owner.keys())
        if stray:
            raise InputError(f"batch {batch.name!r}: {stray[0]} is in no wave"
                             + (f" (and {len(stray) - 1} more)" if len(stray) > 1 else ""), file=source)
    held: dict[str, tuple[str, ...]] = {}
    for batch in batches:
        named = tuple(w.name for w in waves_list if w.sync_batch == batch.name)
        if batch.waves and {w.lower() for w in batch.waves} != {w.lower() for w in named}:
            raise InputError(f"batch {batch.name!r} lists waves {', '.join(batch.waves)} but the waves syncing in it "
                             f"are {', '.join(named) or 'none'}", file=source)
        held[batch.name] = tuple(next(n for n in named if n.lower() == w.lower()) for w in batch.waves) or named
    return PlanLayout(tuple(Batch(b.name, b.mailboxes, b.size_bytes, b.pinned, b.without_size, held[b.name])
                            for b in batches), tuple(waves_list))


def read_plan(path: str | Path) -> tuple[Batch, ...]:
    """The batches of ``PLAN_DIR/plan.json`` (or of the plan file itself), checked as ``parse_plan`` does."""
    file, data = _load(path)
    return parse_plan(data, str(file))


def read_layout(path: str | Path) -> PlanLayout:
    """Both levels of ``PLAN_DIR/plan.json`` (or of the plan file itself), checked as ``parse_layout`` does."""
    file, data = _load(path)
    return parse_layout(data, str(file))


def _load(path: str | Path) -> tuple[Path, Any]:
    path = Path(path)
    file = path / "plan.json" if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError("no plan.json here; make one with `hybridkit batches plan ... --out DIR`",
                         file=str(file)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read the plan: {exc}", file=str(file)) from exc
    return file, data
