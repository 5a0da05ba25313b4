"""Completion waves in cutover: which plan, which waves, and how far each wave has come.

``hybridkit batches plan`` keeps its relationship groups as completion *waves* and, past Exchange Online's 100
migration batches (or with ``--sync-batches N``), packs whole waves into a few large sync batches: Microsoft's
pattern of large batches for the initial sync, then completing users in smaller groups as needed (Exchange Team
blog, 19 April 2019, "The 100 migration batches limit and how to not run into it"). So a wave is completed by its
mailboxes, wherever they sync (``cutover complete --wave``), and ``cutover status --plan`` counts each wave's
mailboxes from the per-batch reads it already makes (never one read per mailbox).

The plan is read through ``hybridkit.batches``' public face (``read_layout``); the rest is pure.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from hybridkit import batches
from hybridkit.cutover._model import FAILED_USER_STATUSES, MoveState, ObservedUser, StatusSnapshot
from hybridkit.errors import InputError

__all__ = [
    "STAGES",
    "WaveProgress",
    "find_plan",
    "mailbox_stage",
    "read_layout",
    "select_waves",
    "wave_members",
    "wave_progress",
]

# A mailbox's stage, as ``cutover status --plan`` counts it per wave (JSON keys, with ``-`` as ``_``).
STAGES = ("syncing", "synced", "completing", "completed", "failed", "not-found")
_DONE = frozenset({"Completed", "CompletedWithWarning", "CompletedWithSkippedItems"})
_READY = frozenset({"Synced", "AutoSuspended"})


def find_plan(plan: Path | None, option: str) -> Path:
    """The plan directory: ``--plan DIR``, else the current folder when it holds ``plan.json``.

    Raises:
        InputError: no ``--plan`` and no plan.json here (says where a plan comes from).
    """
    if plan is not None:
        return plan
    if (Path.cwd() / "plan.json").is_file():
        return Path.cwd()
    raise InputError(f"{option} needs the plan its waves come from: give --plan DIR (the folder `hybridkit batches "
                     "plan ... --out DIR` wrote, holding plan.json), or run from that folder")


def read_layout(plan: Path) -> batches.PlanLayout:
    """Both levels of ``plan`` (its sync batches and completion waves), read and checked by ``hybridkit.batches``."""
    return batches.read_layout(plan)


def select_waves(layout: batches.PlanLayout, names: Sequence[str], plan: Path) -> tuple[batches.Wave, ...]:
    """The waves called ``names`` (case-insensitive, each once), or ``InputError`` naming the waves there are."""
    chosen: dict[str, batches.Wave] = {}
    for name in names:
        try:
            wave = layout.wave(name)
        except KeyError as exc:
            file = plan / "plan.json" if plan.is_dir() else plan
            raise InputError(f"--wave {name!r}: {exc.args[0]}", file=str(file)) from None
        chosen.setdefault(wave.name, wave)
    return tuple(chosen.values())


def wave_members(waves: Iterable[batches.Wave]) -> list[str]:
    """The waves' mailboxes, in plan order, each once (lower case, as plan.json holds them)."""
    return list(dict.fromkeys(m for w in waves for m in w.mailboxes))


# ---------------------------------------------------------------- progress


def mailbox_stage(move: MoveState | None, user: ObservedUser | None, now: dt.datetime) -> str:
    """One mailbox's stage from its move (Get-MoveRequestStatistics) and its migration user (Get-MigrationUser).

    ``completing``: CompletionInProgress, or a completion signalled for a time already past (CompleteAfter set and
    reached: Set-MoveRequest + Resume-MoveRequest leaves it InProgress/IncrementalSync until it finalises).
    ``synced``: Synced or AutoSuspended (a CompleteAfter still in the future counts here: not yet completing).
    ``not-found``: neither a move request nor a migration user: not in any batch Exchange has.
    """
    if move is None or (user is not None and user.failed and move.status != "Failed"):
        if user is not None and user.failed:
            return "failed"
        return "syncing" if user is not None else "not-found"
    status = move.status
    if status in _DONE:
        return "completed"
    if status == "Failed":
        return "failed"
    if status == "CompletionInProgress":
        return "completing"
    signalled = move.complete_after is not None and move.complete_after <= now
    if signalled and (status in _READY or status == "InProgress"):
        return "completing"
    if status in _READY or (status == "InProgress" and move.status_detail == "IncrementalSync"):
        return "synced"
    return "syncing"


@dataclasses.dataclass(frozen=True)
class WaveProgress:
    """One wave as Exchange shows it: where its users sync and how many are at each stage.

    ``sync_batches``: the batches Exchange lists its users in (Get-MigrationUser BatchId; the planned one when
    none is listed yet); ``counts``: mailboxes per stage (``STAGES``).
    """

    wave: str
    planned_batch: str
    sync_batches: tuple[str, ...]
    mailboxes: int
    counts: Mapping[str, int]

    def count(self, stage: str) -> int:
        return int(self.counts.get(stage, 0))

    @property
    def ready(self) -> bool:
        """Every mailbox synced (or already completing or completed), none failed, and some left to complete."""
        return self.count("synced") > 0 and not any(self.count(s) for s in ("syncing", "failed", "not-found"))

    @property
    def state(self) -> str:
        """One word: completed, completing, ready, failed (a member failed), syncing, or not-created."""
        if self.count("completed") == self.mailboxes:
            return "completed"
        if self.count("not-found") == self.mailboxes:
            return "not-created"
        if self.count("syncing") or self.count("not-found"):
            return "syncing"
        if self.count("failed"):
            return "failed"
        return "ready" if self.count("synced") else "completing"


def _home(entries: Sequence[ObservedUser]) -> list[ObservedUser]:
    """A mailbox's migration users that count: the ones not failed (a duplicate fails in the second batch it is
    put in, UserDuplicateInOtherBatchException), else the failed ones."""
    fine = [u for u in entries if u.status not in FAILED_USER_STATUSES]
    return fine or list(entries)


def wave_progress(layout: batches.PlanLayout, snapshot: StatusSnapshot,
                  batch_names: Sequence[str] = ()) -> tuple[WaveProgress, ...]:
    """Each wave of ``layout`` counted from ``snapshot`` (the batches' users and moves, read per batch).

    ``batch_names`` (``status --batch``): only the waves planned in, or found in, those batches.
    """
    users: dict[str, list[ObservedUser]] = collections.defaultdict(list)
    for batch in snapshot.batches:
        for user in batch.users:
            users[user.mailbox].append(user)
    wanted = {n.lower() for n in batch_names}
    out = []
    for wave in layout.waves:
        counts: collections.Counter[str] = collections.Counter()
        where: set[str] = set()
        for mailbox in wave.mailboxes:
            home = _home(users.get(mailbox, ()))
            where.update(u.batch for u in home)
            counts[mailbox_stage(snapshot.moves.get(mailbox), home[0] if home else None, snapshot.observed_at)] += 1
        if wanted and wave.sync_batch.lower() not in wanted and not {w.lower() for w in where} & wanted:
            continue
        listed = sorted(where, key=lambda b: (b.lower() != wave.sync_batch.lower(), b.lower()))
        out.append(WaveProgress(wave.name, wave.sync_batch, tuple(listed) or (wave.sync_batch,),
                                len(wave.mailboxes), {s: counts[s] for s in STAGES}))
    return tuple(out)
