"""Cutover's state from Exchange Online: endpoints, batches with their users, move statistics.

Every read ends in ``Select-Object -Property`` with exactly the columns its caller uses (a whole
MoveRequestStatistics object is hundreds of properties; five cost a fraction of that to send and deserialise),
and runs as one pipeline per batch or per chunk of mailboxes, never one per mailbox. Values are taken as
Exchange sends them: DateTime (aware ``datetime``), Guid, lists, ByteQuantifiedSize strings ("152.1 MB
(159,450,824 bytes)"), numbers; nothing assumes a string.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from hybridkit.cutover._model import MoveState, ObservedBatch, ObservedUser, StatusSnapshot
from hybridkit.errors import CommandFailed, InputError, PlanError
from hybridkit.ps import Command, Pipeline, PSObject, PSSession
from hybridkit.tables import as_bytes

__all__ = [
    "BATCH_COLUMNS",
    "CREATE_BATCH_COLUMNS",
    "FOLLOW_COLUMNS",
    "READINESS_COLUMNS",
    "STATUS_MOVE_COLUMNS",
    "USER_COLUMNS",
    "as_bytes",
    "as_text",
    "as_when",
    "batch_members",
    "migration_endpoints",
    "observe_batches",
    "read_batch_users",
    "read_moves",
    "read_status",
]

# The columns each read uses (and nothing more).
CREATE_BATCH_COLUMNS = ("Identity", "Status")
BATCH_COLUMNS = ("Identity", "Status", "TotalCount", "SyncedCount", "FinalizedCount", "FailedCount", "CompleteAfter")
USER_COLUMNS = ("Identity", "BatchId", "Status", "ErrorSummary")
READINESS_COLUMNS = ("Identity", "Status", "StatusDetail", "Message", "CompleteAfter")
FOLLOW_COLUMNS = ("Identity", "Status", "StatusDetail", "Message")
STATUS_MOVE_COLUMNS = ("Identity", "Status", "StatusDetail", "PercentComplete", "BytesTransferred",
                       "TotalMailboxSize", "Message", "CompleteAfter")  # CompleteAfter: a wave's completing users


def _select(columns: Sequence[str]) -> Command:
    return Command.of("Select-Object", Property=list(columns))


# ---------------------------------------------------------------- values as Exchange sends them


def as_text(value: Any) -> str:
    """A property as text: None is empty, a list is its items joined (multi-valued properties)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(as_text(v) for v in value)
    return str(value)


def as_when(value: Any) -> dt.datetime | None:
    """A DateTime property (aware; a naive one is UTC), or an ISO 8601 string; None when absent or unreadable."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, str) and value.strip():
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    return None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    try:
        return int(float(str(value).strip().rstrip("%")))
    except ValueError:
        return None


# ---------------------------------------------------------------- endpoints and batches


def migration_endpoints(session: PSSession) -> list[str] | None:
    """The names of the organisation's migration endpoints, or None when Get-MigrationEndpoint cannot say."""
    try:
        result = session.run(Pipeline.of(Command.of("Get-MigrationEndpoint"), _select(["Identity"])))
    except CommandFailed:
        return None
    if result.errors:
        return None
    return [as_text(e.get("Identity")) for e in result.output if isinstance(e, PSObject)]


def _user(obj: PSObject, batch: str = "") -> ObservedUser:
    return ObservedUser(as_text(obj.get("Identity")).lower(), as_text(obj.get("BatchId")) or batch,
                        as_text(obj.get("Status")), as_text(obj.get("ErrorSummary")))


def observe_batches(session: PSSession, *, columns: Sequence[str] = CREATE_BATCH_COLUMNS,
                    names: Sequence[str] = ()) -> dict[str, ObservedBatch]:
    """Migration batches (all, or ``names``) with their users: two pipelines whatever the number of batches
    (``names`` given: one Get-MigrationUser -BatchId per batch)."""
    batches = [b for b in session.run(Pipeline.of(Command.of("Get-MigrationBatch"), _select(columns))).output
               if isinstance(b, PSObject)]
    wanted = {n.lower() for n in names}
    if wanted:
        batches = [b for b in batches if as_text(b.get("Identity")).lower() in wanted]
        users = [u for b in batches for u in read_batch_users(session, as_text(b.get("Identity")))]
    else:
        found = session.run(Pipeline.of(Command.of("Get-MigrationUser", ResultSize="Unlimited"),
                                        _select(USER_COLUMNS))).output
        users = [_user(u) for u in found if isinstance(u, PSObject)]
    by_batch: dict[str, list[ObservedUser]] = {}
    for user in users:
        by_batch.setdefault(user.batch.lower(), []).append(user)
    observed = {}
    for batch in batches:
        name = as_text(batch.get("Identity"))
        members = tuple(by_batch.get(name.lower(), []))
        observed[name] = ObservedBatch(
            name, as_text(batch.get("Status")), tuple(sorted({u.mailbox for u in members})), members,
            total=as_int(batch.get("TotalCount")), synced=as_int(batch.get("SyncedCount")),
            completed=as_int(batch.get("FinalizedCount")), failed=as_int(batch.get("FailedCount")),
            complete_after=as_when(batch.get("CompleteAfter")),
        )
    return observed


def read_batch_users(session: PSSession, name: str) -> list[ObservedUser]:
    """One batch's migration users (``Get-MigrationUser -BatchId``), failures with Exchange's ErrorSummary."""
    result = session.run(Pipeline.of(Command.of("Get-MigrationUser", BatchId=name, ResultSize="Unlimited"),
                                     _select(USER_COLUMNS)))
    if result.errors:
        raise PlanError(f"batch {name!r}: {result.errors[0].message}")
    return [_user(u, name) for u in result.output if isinstance(u, PSObject)]


def batch_members(session: PSSession, names: Sequence[str]) -> list[str]:
    """The mailboxes of the named batches (one ``Get-MigrationUser -BatchId`` pipeline per batch)."""
    out: list[str] = []
    for name in names:
        out.extend(u.mailbox for u in read_batch_users(session, name))
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------- moves


def _move_state(obj: PSObject) -> MoveState:
    return MoveState(
        mailbox=as_text(obj.get("Identity")).lower(),
        status=as_text(obj.get("Status")),
        status_detail=as_text(obj.get("StatusDetail")),
        percent=as_int(obj.get("PercentComplete")) or 0,
        transferred_bytes=as_bytes(obj.get("BytesTransferred")),
        size_bytes=as_bytes(obj.get("TotalMailboxSize")),
        message=as_text(obj.get("Message")),
        complete_after=as_when(obj.get("CompleteAfter")),
    )


def read_moves(
    session: PSSession, *, batches: Sequence[str] = (), mailboxes: Sequence[str] = (),
    columns: Sequence[str] = READINESS_COLUMNS, chunk_size: int = 500,
) -> dict[str, MoveState]:
    """Move statistics by mailbox: one ``Get-MoveRequest -BatchName | Get-MoveRequestStatistics | Select-Object``
    per batch, and the listed mailboxes streamed into ``Get-MoveRequestStatistics | Select-Object`` in chunks
    (a mailbox without a move request is absent from the answer)."""
    states: dict[str, MoveState] = {}
    for name in batches:
        pipeline = Pipeline.of(
            Command.of("Get-MoveRequest", BatchName=f"MigrationService:{name}", ResultSize="Unlimited"),
            Command.of("Get-MoveRequestStatistics"),
            _select(columns),
        )
        for obj in session.run(pipeline).output:
            if isinstance(obj, PSObject):
                state = _move_state(obj)
                states[state.mailbox] = state
    wanted = [m for m in mailboxes if m.lower() not in states]
    if wanted:
        outcomes = session.run_items(
            Pipeline.of(Command.of("Get-MoveRequestStatistics"), _select(columns)),
            [{"Identity": m} for m in wanted], chunk_size=chunk_size, key=lambda o: as_text(o.get("Identity")),
        )
        for outcome in outcomes:
            for obj in outcome.output:
                if isinstance(obj, PSObject):
                    state = _move_state(obj)
                    states[state.mailbox] = state
    return states


def read_status(session: PSSession, names: Sequence[str], now: dt.datetime) -> StatusSnapshot:
    """The batches (all, or ``names``: an unknown name is an ``InputError``) with their mailboxes' moves."""
    observed = observe_batches(session, columns=BATCH_COLUMNS, names=names)
    known = {o.lower() for o in observed}
    unknown = [n for n in names if n.lower() not in known]
    if unknown:
        raise InputError(f"no migration batch named {', '.join(unknown)}")
    moves = read_moves(session, batches=list(observed), columns=STATUS_MOVE_COLUMNS)
    return StatusSnapshot(tuple(observed.values()), moves, now)
