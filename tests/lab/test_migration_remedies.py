"""The lab's migration failures, stalls, skipped items and their remedies, through InProcessSession (catalogue-bound).

Each test marks chosen mailboxes with ``hybridkit.lab.exchange.migration_faults.mark_moves`` before the batch
starts, then reads and remedies them with the cmdlets Exchange Online documents (FIDELITY.md, "Migration
failures, stalls and skipped items").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hybridkit.errors import CommandFailed
from hybridkit.lab import InProcessSession
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT
from hybridkit.lab.exchange.migration_faults import MoveFault, fault_of, mark_moves
from hybridkit.lab.exchange.org import Org
from hybridkit.lab.exchange.orgs import build_org
from hybridkit.ps import Command, Pipeline, Switch

HOUR = 3600.0
TDD = "contoso.mail.onmicrosoft.com"


def _org(count: int = 12) -> tuple[Org, list[str]]:
    org = build_org(f"synthetic:{count}", time_scale=0.0)
    users = sorted(str(r["PrimarySmtpAddress"]).lower() for r in org.onprem.recipients.values()
                   if str(r.get("RecipientTypeDetails")).endswith("Mailbox"))
    return org, users


def _csv(emails: list[str]) -> bytes:
    return ("EmailAddress\r\n" + "".join(e + "\r\n" for e in emails)).encode()


def _run(session: InProcessSession, name: str, **params: Any) -> Any:
    return session.run(Command.of(name, **params))


def _batch(session: InProcessSession, name: str, emails: list[str], **extra: Any) -> Any:
    return _run(session, "New-MigrationBatch", Name=name, SourceEndpoint=DEFAULT_ENDPOINT, TargetDeliveryDomain=TDD,
                CSVData=_csv(emails), AutoStart=Switch(), **extra)


def _stats(session: InProcessSession, email: str, **extra: Any) -> Any:
    return _run(session, "Get-MoveRequestStatistics", Identity=email, **extra).output[0]


def _user(session: InProcessSession, email: str) -> Any:
    return _run(session, "Get-MigrationUser", Identity=email).output[0]


def _audit(org: Org, event: str) -> list[str]:
    return [r["identity"] for r in org.online.settings.get("lab_migration_audit", []) if r["event"] == event]


def test_failure_types_and_stall_show_as_exchange_names_them() -> None:
    org, users = _org()
    bad, large, quota, stalled = users[:4]
    mark_moves(org, {bad: MoveFault.BAD_ITEMS, large: MoveFault.LARGE_ITEMS, quota: MoveFault.QUOTA,
                     stalled: MoveFault.STALLED})
    online = InProcessSession(org, "online")
    _batch(online, "Wave1", users[:6])
    org.clock.advance(3 * HOUR)
    rows = {e: _stats(online, e) for e in (bad, large, quota, stalled, users[5])}
    assert (rows[bad].get("Status"), rows[bad].get("StatusDetail"), rows[bad].get("FailureType")) == (
        "Failed", "FailedBadItemLimit", "TooManyBadItemsPermanentException")
    assert rows[bad].get("DataConsistencyScore") == "Poor" and rows[bad].get("BadItemsEncountered") == 13
    assert (rows[large].get("Status"), rows[large].get("StatusDetail"), rows[large].get("FailureType")) == (
        "Failed", "FailedOther", "TooManyLargeItemsPermanentException")
    assert rows[large].get("Message").startswith("Error: This mailbox exceeded the maximum number of large items")
    assert rows[large].get("LargeItemsEncountered") == 3 and rows[large].get("FailureSide") == "Target"
    assert rows[quota].get("FailureType") == "MailboxExceedsTargetQuotaPermanentException"
    assert (rows[stalled].get("Status"), rows[stalled].get("StatusDetail")) == (
        "InProgress", "StalledDueToTarget_MdbReplication")
    assert rows[users[5]].get("Status") == "Synced" and rows[users[5]].get("DataConsistencyScore") == "Perfect"
    assert _user(online, large).get("Status") == "Failed" and "large items" in _user(online, large).get("ErrorSummary")
    org.clock.advance(12 * HOUR)  # the stall passes: the copy goes on from where it stalled
    assert _stats(online, stalled).get("Status") == "Synced"


def test_skipped_items_by_kind_through_get_migration_user_statistics() -> None:
    org, users = _org()
    mark_moves(org, {users[0]: MoveFault.LARGE_ITEMS})
    mark_moves(org, {users[1]: MoveFault.SKIPPED})
    online = InProcessSession(org, "online")
    _batch(online, "Wave1", users[:3])
    org.clock.advance(3 * HOUR)
    read = Pipeline.of(Command.of("Get-MigrationUser", BatchId="Wave1"),
                       Command.of("Get-MigrationUserStatistics", IncludeSkippedItems=Switch()))
    stats = {s.get("Identity"): s for s in online.run(read).output}  # one pipeline for the batch
    large, skipped, clean = stats[users[0]], stats[users[1]], stats[users[2]]
    assert [i.get("Kind") for i in large.get("SkippedItems")] == ["LargeItem"] * 3
    assert all(i.get("MessageSize") > 150 * 1024**2 for i in large.get("SkippedItems"))
    assert isinstance(large.get("SkippedItems")[0].get("DateReceived"), dt.datetime)
    assert sorted({i.get("Kind") for i in skipped.get("SkippedItems")}) == ["CorruptItem", "MissingItem"]
    assert (skipped.get("SkippedItemCount"), skipped.get("DataConsistencyScore"),
            skipped.get("HasUnapprovedSkippedItems")) == (6, "Investigate", True)
    assert (clean.get("SkippedItems"), clean.get("DataConsistencyScore")) == ([], "Perfect")
    assert _run(online, "Get-MigrationUserStatistics", Identity=users[1]).output[0].get("SkippedItems") == []
    limited = _run(online, "Get-MigrationUserStatistics", Identity=users[1], IncludeSkippedItems=Switch(),
                   LimitSkippedItemsTo=2).output[0]
    assert len(limited.get("SkippedItems")) == 2
    batch = _run(online, "Get-MigrationBatch", Identity="Wave1").output[0]
    assert batch.get("DataConsistencyScore") == "Investigate"  # the worst of its users'


def test_unapproved_skipped_items_hold_completion_until_approved_then_it_resyncs_and_completes() -> None:
    org, users = _org()
    held = users[0]
    mark_moves(org, {held: MoveFault.SKIPPED})
    online = InProcessSession(org, "online")
    _batch(online, "Wave1", users[:2])
    org.clock.advance(3 * HOUR)
    now = org.clock.now()
    for email in users[:2]:
        _run(online, "Set-MigrationUser", Identity=email, CompleteAfter=now.isoformat())
    org.clock.advance(HOUR)
    assert _stats(online, users[1]).get("Status") == "Completed"
    assert _stats(online, held).get("Status") == "Synced", "unapproved Investigate items hold the completion"
    assert _user(online, held).get("HasUnapprovedSkippedItems") is True
    assert not _run(online, "Set-MigrationUser", Identity=held, ApproveSkippedItems=Switch()).errors
    assert _stats(online, held).get("Status") == "InProgress"  # an approved user re-syncs at once
    assert _user(online, held).get("HasUnapprovedSkippedItems") is False
    org.clock.advance(HOUR)
    assert _stats(online, held).get("Status") == "Completed"
    assert _audit(org, "ApproveSkippedItems") == [held]


def test_poor_is_never_approved_and_batch_approval_skips_it() -> None:
    org, users = _org()
    mark_moves(org, {users[0]: MoveFault.BAD_ITEMS})  # Poor by default
    mark_moves(org, {users[1]: MoveFault.LARGE_ITEMS, users[2]: MoveFault.SKIPPED}, score="Investigate")
    online = InProcessSession(org, "online")
    _batch(online, "Wave1", users[:4])
    org.clock.advance(3 * HOUR)
    refused = _run(online, "Set-MigrationUser", Identity=users[0], ApproveSkippedItems=Switch())
    assert "data consistency score is Poor" in refused.errors[0].message
    assert not _run(online, "Set-MigrationBatch", Identity="Wave1", ApproveSkippedItems=Switch()).errors
    assert sorted(_audit(org, "ApproveSkippedItems")) == sorted(users[1:3])
    assert _user(online, users[0]).get("HasUnapprovedSkippedItems") is True
    move = _run(online, "Set-MoveRequest", Identity=users[0], SkippedItemApprovalTime=org.clock.now().isoformat())
    assert "Poor" in move.errors[0].message


def test_start_migration_user_restarts_a_failed_user_from_where_it_failed() -> None:
    org, users = _org()
    investigate, poor, quota = users[:3]
    mark_moves(org, {investigate: MoveFault.BAD_ITEMS}, score="Investigate")
    mark_moves(org, {poor: MoveFault.BAD_ITEMS, quota: MoveFault.QUOTA})
    online = InProcessSession(org, "online")
    _batch(online, "Wave1", users[:3])
    org.clock.advance(3 * HOUR)
    failed_at = _stats(online, investigate).get("PercentComplete")
    # Restarted without approval: the same bad items fail it again at once.
    assert not _run(online, "Start-MigrationUser", Identity=poor).errors
    org.clock.advance(10 * 60)
    assert _stats(online, poor).get("FailureType") == "TooManyBadItemsPermanentException"
    # Approved, then restarted: it resumes from where it failed and syncs.
    _run(online, "Set-MigrationUser", Identity=investigate, ApproveSkippedItems=Switch())
    assert _stats(online, investigate).get("Status") == "Failed", "approval alone does not restart a failed user"
    assert not _run(online, "Start-MigrationUser", Identity=investigate).errors
    org.clock.advance(3 * 60)
    resumed = _stats(online, investigate)
    assert resumed.get("Status") == "InProgress" and resumed.get("PercentComplete") >= failed_at
    org.clock.advance(3 * HOUR)
    assert _stats(online, investigate).get("Status") == "Synced"
    # Over quota: a restart fails again, the quota is not something a restart changes.
    _run(online, "Start-MigrationUser", Identity=quota)
    org.clock.advance(10 * 60)
    assert _stats(online, quota).get("FailureType") == "MailboxExceedsTargetQuotaPermanentException"
    # A synced user is not restarted.
    refused = _run(online, "Start-MigrationUser", Identity=investigate)
    assert "can't be started because its status is Synced" in refused.errors[0].message
    assert _audit(org, "Start-MigrationUser") == [poor, investigate, quota]


def test_set_move_request_skipped_item_approval_time_approves_a_plain_move() -> None:
    org, users = _org()
    email = users[0]
    mark_moves(org, {email: MoveFault.SKIPPED}, score="Investigate")
    online = InProcessSession(org, "online")
    created = _run(online, "New-MoveRequest", Identity=email, Remote=Switch(), RemoteHostName="mail.contoso.com",
                   TargetDeliveryDomain=TDD)
    assert not created.errors
    org.clock.advance(3 * HOUR)
    assert _stats(online, email).get("Status") == "Synced"  # nothing else holds it: the items await approval
    when = org.clock.now()
    _run(online, "Set-MoveRequest", Identity=email, SkippedItemApprovalTime=when.isoformat())
    stats = _stats(online, email)
    assert stats.get("SkippedItemApprovalTime") == when
    org.clock.advance(HOUR)
    assert _stats(online, email).get("Status") == "Completed"
    assert _audit(org, "ApproveSkippedItems") == [email]


def test_add_users_to_an_existing_batch_processes_only_new_entries() -> None:
    org, users = _org()
    online = InProcessSession(org, "online")
    _batch(online, "Wave1", users[:2])
    _batch(online, "Wave2", users[4:5])
    done = _run(online, "Set-MigrationBatch", Identity="Wave1", AddUsers=Switch(), CSVData=_csv(users[:4] + users[4:5]))
    assert not done.errors
    members = _run(online, "Get-MigrationUser", BatchId="Wave1").output
    assert sorted(m.get("Identity") for m in members) == sorted(users[:5])
    duplicate = next(m for m in members if m.get("Identity") == users[4])
    assert duplicate.get("Status") == "Failed" and "UserDuplicateInOtherBatchException" in duplicate.get("ErrorSummary")
    assert _run(online, "Get-MigrationBatch", Identity="Wave1").output[0].get("TotalCount") == 5
    org.clock.advance(3 * HOUR)  # the batch was running: the new users' moves start at once
    assert {_stats(online, e).get("Status") for e in users[:4]} == {"Synced"}
    assert _stats(online, users[4]).get("BatchName") == "MigrationService:Wave2"


def test_migration_config_limits_and_the_101st_batch_then_removing_a_completed_one_makes_room() -> None:
    org, users = _org(6)
    org.online.settings["migration_max_batches"] = 3  # the service's 100, scaled down
    online = InProcessSession(org, "online")
    config = _run(online, "Get-MigrationConfig").output[0]
    assert (config.get("MaxNumberOfBatches"), config.get("MaxConcurrentMigrations")) == (3, "300")
    for n in range(3):
        _batch(online, f"B{n}", users[n:n + 1])
    with pytest.raises(CommandFailed, match="The maximum number of migration batches is already running. Please "
                                            "remove a batch before you add another one"):
        _batch(online, "B3", users[3:4])
    org.clock.advance(3 * HOUR)
    _run(online, "Complete-MigrationBatch", Identity="B0", Confirm=Switch(False))
    org.clock.advance(HOUR)
    assert _run(online, "Get-MigrationBatch", Identity="B0").output[0].get("Status") == "Completed"
    assert not _run(online, "Remove-MigrationBatch", Identity="B0", Confirm=Switch(False)).errors
    assert not _batch(online, "B3", users[3:4]).errors


def test_marks_survive_in_settings_and_unknown_scores_are_refused() -> None:
    org, users = _org(2)
    mark_moves(org, {users[0].upper(): "stalled"}, stall=dt.timedelta(minutes=30))
    spec = fault_of(org, users[0])
    assert spec is not None and (spec.kind, spec.score, spec.stall) == (MoveFault.STALLED, "Perfect",
                                                                         dt.timedelta(minutes=30))
    assert org.online.settings["lab_move_faults"][users[0]] == "stalled"
    with pytest.raises(ValueError, match="DataConsistencyScore"):
        mark_moves(org, {users[1]: MoveFault.SKIPPED}, score="Bad")
