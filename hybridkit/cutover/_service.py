"""The cutover service the CLI calls: open Exchange Online, discover, plan, apply through the runner, follow.

Each command is one or two calls here: ``prepare_create`` then ``create``; ``read_status`` or ``watch_status``
(the polling loop of ``status --watch``); ``read_targets`` then ``preview_completion`` (``--what-if``) or
``complete`` (send, journaled and resumable, then ``--wait``). The journal is opened here, never in the CLI.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from hybridkit.config import Profile
from hybridkit.cutover import _apply
from hybridkit.cutover._limits import ensure_room
from hybridkit.cutover._discover import (
    READINESS_COLUMNS,
    batch_members,
    migration_endpoints,
    observe_batches,
    read_moves,
)
from hybridkit.cutover._discover import read_status as _read_status
from hybridkit.cutover._model import (
    CompletionInterrupted,
    CompletionMethod,
    CompletionPlan,
    CompletionReport,
    CreateOptions,
    CreatePlan,
    CreateResult,
    MoveState,
    ObservedBatch,
    PlannedBatch,
    Readiness,
    StatusSnapshot,
)
from hybridkit.cutover._plan import completion_results, plan_completion, plan_create
from hybridkit.batches import PlanLayout
from hybridkit.cutover._waves import WaveProgress, find_plan, read_layout, select_waves, wave_members, wave_progress
from hybridkit.errors import ConfigError, InputError, PlanError
from hybridkit.journal import DEFAULT_JOURNAL, Journal
from hybridkit.ps import Command, Pipeline, PSSession
from hybridkit.runner import Reporter, find_prior
from hybridkit.sides import Side, connect, side_of

__all__ = [
    "CompletionPreview",
    "CreateRequest",
    "complete",
    "create",
    "create_commands",
    "online_session",
    "prepare_create",
    "preview_completion",
    "read_status",
    "read_targets",
    "read_waves",
        "utcnow",
    "watch_status",
    "wave_status",
    "wave_targets",
]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@contextlib.contextmanager
def online_session(profile: Profile, *, why: str = "migration batches are created in") -> Iterator[PSSession]:
    """A session to Exchange Online (where migration batches live), closed on the way out.

    Raises:
        ConfigError: the profile reaches on-premises Exchange (``why`` says what lives in Exchange Online).
    """
    if side_of(profile) is Side.ONPREM:
        raise ConfigError(f"profile {profile.name!r} reaches on-premises Exchange; {why} Exchange Online: use an "
                          "online or pwsh profile (or a lab profile with endpoint = \"online\")")
    session = connect(profile)
    try:
        yield session
    finally:
        session.close()


# ---------------------------------------------------------------- create


@dataclasses.dataclass(frozen=True)
class CreateRequest:
    """The batches ``cutover create`` would make, planned against live state (shown by ``--what-if``)."""

    plan: CreatePlan
    options: CreateOptions
    observed: dict[str, ObservedBatch]


def prepare_create(session: PSSession, planned: Sequence[PlannedBatch], options: CreateOptions) -> CreateRequest:
    """Plan ``planned`` against the tenant's batches; refuse conflicts and a mistyped endpoint before anything.

    Raises:
        PlanError: a planned batch exists with other members.
        InputError: no migration endpoint has ``options.endpoint``'s name.
    """
    observed = observe_batches(session)
    plan = plan_create(planned, observed, start=options.start)
    if plan.conflicts:
        raise PlanError("; ".join(f"batch {c.name}: {c.reason}" for c in plan.conflicts))
    ensure_room(session, [c.name for c in plan.to_create], observed)  # the batch limit, before anything
    if plan.to_create:  # a mistyped endpoint: one clear error before anything, not one failure per batch
        endpoints = migration_endpoints(session)
        if endpoints is not None and options.endpoint.lower() not in {e.lower() for e in endpoints}:
            known = ", ".join(repr(e) for e in endpoints) or "none"
            raise InputError(f"--endpoint {options.endpoint!r}: no such migration endpoint (Get-MigrationEndpoint "
                             f"lists {known}); nothing was created")
    return CreateRequest(plan, options, observed)


def create_commands(request: CreateRequest) -> list[Command]:
    """The exact commands ``create`` would send (``--what-if``)."""
    return _apply.create_commands(request.plan, request.options)


def create(session: PSSession, request: CreateRequest, *, journal_path: Path | None = None,
           argv: Sequence[str] = (), profile: str | None = None, reporter: Reporter | None = None) -> CreateResult:
    """Create, grow (and start) the batches of ``request``, journaled in ``journal_path``; read their users back."""
    if not request.plan.sends:  # nothing to send: no journal to open
        return _apply.create_batches(session, request.plan, request.options, request.observed)
    with Journal(journal_path or DEFAULT_JOURNAL) as journal:
        return _apply.create_batches(session, request.plan, request.options, request.observed, journal=journal,
                                     argv=argv, profile=profile, reporter=reporter)


# ---------------------------------------------------------------- status


def read_status(session: PSSession, names: Sequence[str]) -> StatusSnapshot:
    """The batches (all, or ``names``) and their mailboxes' moves, now (``InputError`` for an unknown name)."""
    return _read_status(session, names, utcnow())


def watch_status(
    session: PSSession,
    names: Sequence[str],
    *,
    interval: float,
    timeout: float,
    on_update: Callable[[StatusSnapshot], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> StatusSnapshot:
    """Read the status every ``interval`` seconds until every batch settles or ``timeout`` passes (never past it).

    ``on_update`` gets every snapshot, the first included; the last is returned (``moving``: what had not
    settled at the timeout).
    """
    snapshot = read_status(session, names)
    deadline = clock() + timeout
    if on_update is not None:
        on_update(snapshot)
    while snapshot.moving and clock() < deadline:
        sleep(max(0.05, min(interval, deadline - clock())))
        snapshot = read_status(session, names)
        if on_update is not None:
            on_update(snapshot)
    return snapshot


def read_waves(plan: Path) -> PlanLayout:
    """The plan's sync batches and completion waves (``status --plan DIR``), read before connecting."""
    return read_layout(plan)


def wave_status(layout: PlanLayout, snapshot: StatusSnapshot, names: Sequence[str] = ()) -> tuple[WaveProgress, ...]:
    """The plan's completion waves counted from ``snapshot`` (read per batch): no further read of Exchange."""
    return wave_progress(layout, snapshot, names)


# ---------------------------------------------------------------- complete


def read_targets(session: PSSession, *, batches: Sequence[str] = (), mailboxes: Sequence[str] = (),
                 chunk_size: int = 500) -> tuple[list[str], dict[str, MoveState]]:
    """The mailboxes asked for (every member of ``batches``, or ``mailboxes``) and their live moves."""
    targets = batch_members(session, batches) if batches else list(mailboxes)
    moves = read_moves(session, batches=batches, mailboxes=[] if batches else mailboxes,
                       columns=READINESS_COLUMNS, chunk_size=chunk_size)
    return targets, moves


def wave_targets(waves: Sequence[str], plan: Path | None) -> list[str]:
    """The mailboxes of the named completion waves of ``plan`` (``complete --wave``), read before connecting;
    ``read_targets(mailboxes=...)`` then reads their moves wherever they sync, in chunks.

    Raises:
        InputError: no plan, or a wave name the plan does not have (naming the waves it has).
    """
    where = find_plan(plan, "--wave")
    return wave_members(select_waves(read_layout(where), waves, where))


@dataclasses.dataclass(frozen=True)
class CompletionPreview:
    """What ``cutover complete --what-if`` shows: each mailbox's readiness and the pipelines for the ready ones."""

    plan: CompletionPlan
    pipelines: tuple[Pipeline, ...]

    @property
    def ready(self) -> list[str]:
        return [i.mailbox for i in self.plan.with_readiness(Readiness.COMPLETE)]


def preview_completion(targets: Sequence[str], moves: dict[str, MoveState], *, method: CompletionMethod,
                       at: dt.datetime) -> CompletionPreview:
    """The completion as it would be sent, nothing sent (the journal is not read)."""
    return CompletionPreview(plan_completion(targets, moves, method=method, at=at),
                             tuple(_apply.completion_pipelines(method, at)))


def complete(
    session: PSSession,
    targets: Sequence[str],
    moves: dict[str, MoveState],
    *,
    method: CompletionMethod,
    at: dt.datetime,
    chunk_size: int = 500,
    resume: bool = False,
    wait: bool = False,
    poll_interval: float = 30.0,
    timeout: float = 6 * 3600.0,
    journal_path: Path | None = None,
    argv: Sequence[str] = (),
    profile: str | None = None,
    reporter: Reporter | None = None,
) -> CompletionReport:
    """Send the completion to the ready mailboxes (journaled, resumable), then with ``wait`` follow them.

    Raises:
        PlanError: ``resume`` and no interrupted completion run of this selection.
        CompletionInterrupted: Ctrl-C; its ``hint`` says what was left and how to carry on.
    """
    with Journal(journal_path or DEFAULT_JOURNAL) as journal:
        fingerprint = _apply.fingerprint(targets, method)
        if resume and find_prior(journal, _apply.JOURNAL_KIND, fingerprint) is None:
            raise PlanError("nothing to resume: no interrupted completion run for this selection")
        try:
            outcome = _apply.run_completion(session, journal, targets, moves, method=method, at=at,
                                            chunk_size=chunk_size, argv=argv, profile=profile, reporter=reporter)
        except KeyboardInterrupt:
            prior = find_prior(journal, _apply.JOURNAL_KIND, fingerprint)
            if prior is None:
                raise
            raise CompletionInterrupted(
                f"interrupted: journal run {prior.run_id} is recorded interrupted; run the same command again (or "
                "add --resume) to carry on: mailboxes already sent are not sent again, and one in flight is checked "
                "against Exchange first") from None
    final: dict[str, MoveState] = {}
    if wait and outcome.followed:
        try:
            final = _apply.follow(session, outcome.followed, poll_interval=poll_interval, timeout=timeout,
                                  reporter=reporter)
        except KeyboardInterrupt:
            raise CompletionInterrupted(
                f"interrupted while waiting: the completions were sent (journal run {outcome.run_id}); follow them "
                "with `hybridkit cutover status`") from None
    return CompletionReport(tuple(completion_results(outcome, final, wait)), outcome.run_id, outcome.resumed)
