"""Two levels: completion waves (the relationship groups) packed into a few large sync batches.

Exchange Online runs at most 100 migration batches at once (Get-MigrationConfig MaxNumberOfBatches; a 101st is
refused). Microsoft's advice (Exchange Team blog, 19 April 2019, "The 100 migration batches limit") is large
batches for the initial sync, then completing users in smaller groups. So the planner keeps its groups as *waves*
(what completes together) and, when asked (``--sync-batches N``) or when the waves alone would be more than 100
batches, packs whole waves into sync batches: a wave is never split, and the sync batches are balanced by
mailbox count, then size. The planner cannot see how many batches the tenant already has; ``cutover create``
checks that against Get-MigrationConfig before creating anything.

Pure: no IO.
"""

from __future__ import annotations

import dataclasses
import heapq
import math

from hybridkit.batches._model import SERVICE_BATCH_LIMIT, Batch, Wave

__all__ = ["AUTO_MAILBOXES_PER_SYNC", "AUTO_SYNC_LIMIT", "auto_sync_count", "pack_sync_batches"]

AUTO_SYNC_LIMIT = 50  # packing on its own, the planner leaves half of the service's 100 batches free
AUTO_MAILBOXES_PER_SYNC = 2_000  # ... and aims for sync batches of about this many mailboxes


def auto_sync_count(mailboxes: int, waves: int) -> int:
    """How many sync batches the planner makes on its own: enough for about 2,000 mailboxes each, at most 50."""
    return max(1, min(waves, AUTO_SYNC_LIMIT, math.ceil(mailboxes / AUTO_MAILBOXES_PER_SYNC)))


def _sync_names(count: int, prefix: str, taken: set[str]) -> list[str]:
    """``PREFIX-Sync-01`` ..., never a name a wave already has (case-insensitively)."""
    width = max(2, len(str(count)))
    base = f"{prefix}-Sync"
    while any(name.lower().startswith(base.lower() + "-") for name in taken):
        base += "x"
    return [f"{base}-{number:0{width}d}" for number in range(1, count + 1)]


def pack_sync_batches(
    waves: tuple[Batch, ...], requested: int | None, prefix: str
) -> tuple[tuple[Batch, ...], tuple[Wave, ...], str | None]:
    """The sync batches for ``waves`` and the waves knowing their sync batch, plus a sentence saying why.

    Without ``requested`` and with at most 100 waves, each wave is its own batch under its own name (no
    sentence). Otherwise whole waves go worst-fit-decreasing into ``requested`` (or ``auto_sync_count``) bins.
    """
    total = sum(len(w.mailboxes) for w in waves)
    if requested is None and len(waves) <= SERVICE_BATCH_LIMIT:
        own = tuple(dataclasses.replace(w, waves=(w.name,)) for w in waves)
        return own, tuple(_wave(w, w.name) for w in waves), None
    count = min(requested, len(waves)) if requested is not None else auto_sync_count(total, len(waves))
    count = max(count, 1)
    names = _sync_names(count, prefix, {w.name for w in waves})
    bins: list[list[Batch]] = [[] for _ in range(count)]
    heap = [(0, 0, index) for index in range(count)]  # (mailboxes, bytes, bin): the emptiest bin first
    for wave in sorted(waves, key=lambda w: (-len(w.mailboxes), -w.size_bytes, w.name)):
        mailboxes, size, index = heapq.heappop(heap)
        bins[index].append(wave)
        heapq.heappush(heap, (mailboxes + len(wave.mailboxes), size + wave.size_bytes, index))
    sync: list[Batch] = []
    placed: dict[str, str] = {}
    for name, members in zip(names, bins):
        members.sort(key=lambda w: w.name)
        for wave in members:
            placed[wave.name] = name
        sync.append(Batch(
            name=name,
            mailboxes=tuple(sorted(m for w in members for m in w.mailboxes)),
            size_bytes=sum(w.size_bytes for w in members),
            pinned=any(w.pinned for w in members),
            without_size=sum(w.without_size for w in members),
            waves=tuple(w.name for w in members),
        ))  # fmt: skip
    why = (f"--sync-batches {requested}" if requested is not None else
           f"{len(waves)} waves would be more than Exchange Online's {SERVICE_BATCH_LIMIT} migration batches")
    sentence = (f"{why}: the {len(waves)} completion waves are packed into {len(sync)} sync batches (each wave whole; "
                "complete a wave with `hybridkit cutover complete --wave WAVE --plan DIR`); the planner cannot see "
                "the batches the tenant "
                f"already has: `cutover create` checks the room left (Get-MigrationConfig) before creating any")
    return tuple(sync), tuple(_wave(w, placed[w.name]) for w in waves), sentence


def _wave(batch: Batch, sync_batch: str) -> Wave:
    return Wave(batch.name, batch.mailboxes, sync_batch, batch.size_bytes, batch.pinned, batch.without_size)
