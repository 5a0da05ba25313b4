"""Read what ``cutover failures`` and ``cutover remediate`` need from Exchange Online, in a few pipelines.

Per batch (or once for the whole tenant) two pipelines, whatever the number of mailboxes:

* ``Get-MigrationUser -BatchId B -ResultSize Unlimited | Select-Object -Property <USER_COLUMNS>``;
* ``Get-MoveRequest -BatchName 'MigrationService:B' -ResultSize Unlimited | Get-MoveRequestStatistics |
  Select-Object -Property <MOVE_COLUMNS>`` (StatusDetail, FailureType and the full Message live only here).

Then, only for the mailboxes with skipped items, their items counted by kind: the addresses streamed in chunks
into ``Get-MigrationUserStatistics -IncludeSkippedItems | Select-Object -Property EmailAddress -ExpandProperty
SkippedItems | Select-Object -Property EmailAddress,Kind``. Expanding on the server sends each skipped item as an
object of its own (a nested collection would arrive as strings past the serialisation depth), with the user's
EmailAddress added as a note property (a skipped item has no such property of its own, so none clashes).

Listed mailboxes (``--mailbox``) stream into ``Get-MigrationUser`` and ``Get-MoveRequestStatistics`` the same way.
A migration user and its move are joined by MailboxGuid/ExchangeGuid, else by address.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from hybridkit.cutover._failures import MailboxFailure, MigrationUserView, MoveView, classify
from hybridkit.cutover._discover import as_int, as_text, as_when
from hybridkit.errors import CommandFailed, InputError
from hybridkit.ps import Command, Pipeline, PSObject, PSSession, Switch

__all__ = [
    "MOVE_COLUMNS",
    "SKIPPED_COLUMNS",
    "USER_COLUMNS",
    "Discovery",
    "discover",
    "read_skipped",
]

USER_COLUMNS = ("Identity", "EmailAddress", "BatchId", "Status", "ErrorSummary", "DataConsistencyScore",
                "SkippedItemCount", "HasUnapprovedSkippedItems", "MailboxGuid")
MOVE_COLUMNS = ("Identity", "ExchangeGuid", "Status", "StatusDetail", "FailureType", "Message",
                "DataConsistencyScore", "BadItemsEncountered", "LargeItemsEncountered", "SkippedItemApprovalTime")
SKIPPED_COLUMNS = ("EmailAddress", "Kind")


def _select(columns: Sequence[str]) -> Command:
    return Command.of("Select-Object", Property=list(columns))


def _objects(output: Iterable[Any]) -> list[PSObject]:
    return [o for o in output if isinstance(o, PSObject)]


def _guid(value: Any) -> str:
    return as_text(value).strip().lower()


def _user(obj: PSObject, batch: str = "") -> MigrationUserView:
    address = as_text(obj.get("EmailAddress")) or as_text(obj.get("Identity"))
    return MigrationUserView(
        mailbox=address.strip().lower(), batch=as_text(obj.get("BatchId")) or batch,
        status=as_text(obj.get("Status")), error=as_text(obj.get("ErrorSummary")),
        score=as_text(obj.get("DataConsistencyScore")), skipped_count=as_int(obj.get("SkippedItemCount")) or 0,
        has_unapproved=obj.get("HasUnapprovedSkippedItems") is True, mailbox_guid=_guid(obj.get("MailboxGuid")),
    )


def _move(obj: PSObject) -> MoveView:
    approved = as_when(obj.get("SkippedItemApprovalTime"))
    return MoveView(
        mailbox=as_text(obj.get("Identity")).strip().lower(), status=as_text(obj.get("Status")),
        status_detail=as_text(obj.get("StatusDetail")), failure_type=as_text(obj.get("FailureType")),
        message=as_text(obj.get("Message")), score=as_text(obj.get("DataConsistencyScore")),
        bad_items=as_int(obj.get("BadItemsEncountered")) or 0,
        large_items=as_int(obj.get("LargeItemsEncountered")) or 0,
        approved_at=approved.isoformat() if approved else "", exchange_guid=_guid(obj.get("ExchangeGuid")),
    )


class Discovery:
    """Migration users and their moves as read (``discover``), joined: ``move_of(user)``."""

    def __init__(self, users: list[MigrationUserView], moves: list[MoveView]) -> None:
        self.users = users
        self._by_guid = {m.exchange_guid: m for m in moves if m.exchange_guid}
        self._by_mailbox = {m.mailbox: m for m in moves}

    def move_of(self, user: MigrationUserView) -> MoveView | None:
        return (self._by_guid.get(user.mailbox_guid) if user.mailbox_guid else None) \
            or self._by_mailbox.get(user.mailbox)

    def failures(self, skipped: dict[str, dict[str, int]]) -> list[MailboxFailure]:
        """Every listed mailbox's problem (``classify``), in batch then address order."""
        found = [classify(u, self.move_of(u), skipped.get(u.mailbox)) for u in self.users]
        return sorted((f for f in found if f is not None), key=lambda f: (f.batch.lower(), f.mailbox))

    def with_skipped(self) -> list[str]:
        """Mailboxes with skipped items (whose kinds are worth a read)."""
        return [u.mailbox for u in self.users
                if u.skipped_count > 0 or ((m := self.move_of(u)) is not None and m.bad_items + m.large_items > 0)]


def discover(session: PSSession, *, batches: Sequence[str] = (), mailboxes: Sequence[str] = (),
             chunk_size: int = 500) -> Discovery:
    """Read migration users and move statistics for ``batches``, or ``mailboxes``, or the whole tenant.

    Raises:
        InputError: a named batch does not exist (Exchange's own message).
    """
    users: list[MigrationUserView] = []
    moves: list[MoveView] = []
    if mailboxes:
        user_outcomes = session.run_items(
            Pipeline.of(Command.of("Get-MigrationUser"), _select(USER_COLUMNS)),
            [{"Identity": m} for m in mailboxes], chunk_size=chunk_size,
            key=lambda o: as_text(o.get("EmailAddress") or o.get("Identity")).lower())
        users = [_user(o) for out in user_outcomes for o in _objects(out.output)]
        move_outcomes = session.run_items(
            Pipeline.of(Command.of("Get-MoveRequestStatistics"), _select(MOVE_COLUMNS)),
            [{"Identity": m} for m in mailboxes], chunk_size=chunk_size,
            key=lambda o: as_text(o.get("Identity")).lower())
        moves = [_move(o) for out in move_outcomes for o in _objects(out.output)]
        return Discovery(users, moves)
    for name in batches or [None]:  # type: ignore[list-item]
        get_users = (Command.of("Get-MigrationUser", BatchId=name, ResultSize="Unlimited") if name
                     else Command.of("Get-MigrationUser", ResultSize="Unlimited"))
        try:
            result = session.run(Pipeline.of(get_users, _select(USER_COLUMNS)))
        except CommandFailed as exc:
            raise InputError(f"--batch {name}: {exc}") from None
        if result.errors:
            raise InputError(f"--batch {name}: {result.errors[0].message}")
        users.extend(_user(o, name or "") for o in _objects(result.output))
        get_moves = (Command.of("Get-MoveRequest", BatchName=f"MigrationService:{name}", ResultSize="Unlimited")
                     if name else Command.of("Get-MoveRequest", ResultSize="Unlimited"))
        result = session.run(Pipeline.of(get_moves, Command.of("Get-MoveRequestStatistics"), _select(MOVE_COLUMNS)))
        moves.extend(_move(o) for o in _objects(result.output))
    return Discovery(users, moves)


def skipped_pipeline() -> Pipeline:
    """The pipeline listing the skipped items of the mailboxes streamed into it, one object per item."""
    return Pipeline.of(
        Command.of("Get-MigrationUserStatistics", IncludeSkippedItems=Switch()),
        Command.of("Select-Object", Property=["EmailAddress"], ExpandProperty="SkippedItems"),
        _select(SKIPPED_COLUMNS),
    )


def read_skipped(session: PSSession, mailboxes: Sequence[str], *, chunk_size: int = 500
                 ) -> dict[str, dict[str, int]]:
    """Skipped items counted by kind, per mailbox (only ``mailboxes``; chunked pipeline input)."""
    if not mailboxes:
        return {}
    outcomes = session.run_items(skipped_pipeline(), [{"Identity": m} for m in mailboxes], chunk_size=chunk_size,
                                 key=lambda o: as_text(o.get("EmailAddress")).lower())
    counts: dict[str, dict[str, int]] = {}
    for outcome in outcomes:
        for obj in _objects(outcome.output):
            mailbox = as_text(obj.get("EmailAddress")).strip().lower()
            kind = as_text(obj.get("Kind")) or "Unknown"
            per = counts.setdefault(mailbox, {})
            per[kind] = per.get(kind, 0) + 1
    return counts
