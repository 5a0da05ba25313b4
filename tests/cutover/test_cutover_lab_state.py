"""The lab's migration state machine, driven through the handlers with a fake sink and a manual clock."""

from __future__ import annotations

import datetime as dt

from hybridkit.lab import migration_state as ms
from hybridkit.lab.cmdlets.migration import DEFAULT_ENDPOINT
from tests.cutover._labkit import csv_bytes, make_org, run

EMAILS = [f"user{i:02d}@contoso.com" for i in range(14)]
HOURS = 3600.0


def _new(org, name="Wave1", emails=EMAILS, **extra):
    return run(org, "New-MigrationBatch", Name=name, SourceEndpoint=DEFAULT_ENDPOINT,
               TargetDeliveryDomain="contoso.mail.onmicrosoft.com", CSVData=csv_bytes(emails), **extra)


def _status(org, email):
    return run(org, "Get-MoveRequest", Identity=email).out[0].get("Status")


def _batch(org, name="Wave1"):
    return run(org, "Get-MigrationBatch", Identity=name).out[0]


def test_batch_syncs_then_stays_synced_and_seeded_failures_show():
    org = make_org()
    created = _new(org, AutoStart=True)
    assert not created.errors and created.out[0].get("Status") == "Syncing"
    assert _status(org, EMAILS[0]) == "Queued"
    org.clock.advance(3 * 60)
    assert _status(org, EMAILS[0]) == "InProgress"
    org.clock.advance(5 * HOURS)
    assert _status(org, EMAILS[0]) == "Synced"
    assert _status(org, "user03@contoso.com") == "Failed"  # over quota
    quota = run(org, "Get-MoveRequestStatistics", Identity="user03@contoso.com").out[0]
    assert "exceeds the target quota" in quota.get("Message")
    bad = run(org, "Get-MoveRequestStatistics", Identity="user07@contoso.com").out[0]
    assert bad.get("Status") == "Failed" and "TooManyBadItems" in bad.get("Message")
    assert bad.get("DataConsistencyScore") == "Poor"
    transient = org.online.collection("MoveRequest")["user11@contoso.com"]
    assert "Retrying" in [e[1] for e in transient["_events"]] and transient["Status"] == "Synced"
    assert _batch(org).get("Status") == "SyncedwithErrors"
    org.clock.advance(72 * HOURS)  # days pass: still synced (incremental syncs bounce, never complete)
    assert _status(org, EMAILS[0]) == "Synced"
    assert org.online.collection("MoveRequest")[EMAILS[0]]["CompletionTimestamp"] is None


def test_plain_resume_bounces_and_does_not_complete():
    org = make_org()
    _new(org, AutoStart=True)
    org.clock.advance(5 * HOURS)
    run(org, "Resume-MoveRequest", Identity=EMAILS[0])
    assert _status(org, EMAILS[0]) == "InProgress"
    stats = run(org, "Get-MoveRequestStatistics", Identity=EMAILS[0]).out[0]
    assert stats.get("StatusDetail") == "IncrementalSync"
    org.clock.advance(10 * 60)
    assert _status(org, EMAILS[0]) == "Synced"


def test_set_move_request_then_resume_completes_and_converts_recipients():
    org = make_org()
    _new(org, AutoStart=True)
    org.clock.advance(5 * HOURS)
    now = org.clock.now()
    run(org, "Set-MoveRequest", Identity=EMAILS[0], SuspendWhenReadyToComplete=False, PreventCompletion=False,
        CompleteAfter=now - dt.timedelta(minutes=1))
    org.clock.advance(60 * 60)
    assert _status(org, EMAILS[0]) == "Synced", "Set-MoveRequest alone does not wake the move"
    run(org, "Resume-MoveRequest", Identity=EMAILS[0])
    org.clock.advance(4 * 60)
    assert _status(org, EMAILS[0]) == "CompletionInProgress"
    org.clock.advance(10 * 60)
    assert _status(org, EMAILS[0]) == "Completed"
    onprem = next(r for r in org.onprem.recipients.values() if r["PrimarySmtpAddress"] == EMAILS[0])
    online = next(r for r in org.online.recipients.values() if r["PrimarySmtpAddress"] == EMAILS[0])
    assert onprem["RecipientTypeDetails"] == "RemoteUserMailbox"
    assert online["RecipientTypeDetails"] == "UserMailbox"
    assert _status(org, EMAILS[1]) == "Synced"
    assert _batch(org).get("Status") == "SyncedwithErrors"
    again = run(org, "Resume-MoveRequest", Identity=EMAILS[0])
    assert again.errors and "Completed" in again.errors[0].message


def test_suspend_when_ready_gives_autosuspended():
    org = make_org()
    _new(org, AutoStart=True)
    run(org, "Set-MoveRequest", Identity=EMAILS[2], SuspendWhenReadyToComplete=True)
    org.clock.advance(5 * HOURS)
    assert _status(org, EMAILS[2]) == "AutoSuspended"
    run(org, "Resume-MoveRequest", Identity=EMAILS[2])
    org.clock.advance(10 * 60)
    assert _status(org, EMAILS[2]) == "AutoSuspended"


def test_migration_user_complete_after_and_complete_batch():
    org = make_org()
    _new(org, AutoStart=True)
    org.clock.advance(5 * HOURS)
    later = org.clock.now() + dt.timedelta(hours=2)
    run(org, "Set-MigrationUser", Identity=EMAILS[4], CompleteAfter=later)
    org.clock.advance(1 * HOURS)
    assert _status(org, EMAILS[4]) == "Synced"
    org.clock.advance(1.2 * HOURS)
    assert _status(org, EMAILS[4]) == "Completed"
    strict = run(org, "Complete-MigrationBatch", Identity="Wave1", SyncAndComplete=True)
    assert strict.errors and "failed" in strict.errors[0].message
    done = run(org, "Complete-MigrationBatch", Identity="Wave1")
    assert not done.errors
    assert _batch(org).get("Status") == "Completing"
    org.clock.advance(1 * HOURS)
    batch = _batch(org)
    assert batch.get("Status") == "CompletedWithErrors"
    assert batch.get("FailedCount") == 2 and batch.get("FinalizedCount") == 12
    completed = [e["identity"] for e in org.online.settings["lab_migration_audit"] if e["event"] == "Completed"]
    assert sorted(completed) == sorted(set(completed)) and len(completed) == 12


def test_complete_batch_refused_while_syncing_and_batch_rules():
    org = make_org()
    _new(org, AutoStart=True)
    refused = run(org, "Complete-MigrationBatch", Identity="Wave1")
    assert refused.errors and "Syncing" in refused.errors[0].message
    dup = _new(org, name="Wave1", emails=["user00@contoso.com"])
    assert dup.errors and "already exists" in dup.errors[0].message
    long = _new(org, name="x" * 65, emails=["nobody@contoso.com"])
    assert long.errors and "64" in long.errors[0].message
    taken = _new(org, name="Wave2", emails=["user00@contoso.com"])
    assert taken.errors and "Wave1" in taken.errors[0].message


def test_csv_unknown_columns_refused_unless_allowed():
    org = make_org()
    bad = run(org, "New-MigrationBatch", Name="B", SourceEndpoint=DEFAULT_ENDPOINT, TargetDeliveryDomain="t.example",
              CSVData=csv_bytes(EMAILS[:2], extra="Departement"))
    assert bad.errors and "Departement" in bad.errors[0].message
    ok = run(org, "New-MigrationBatch", Name="B", SourceEndpoint=DEFAULT_ENDPOINT, TargetDeliveryDomain="t.example",
             CSVData=csv_bytes(EMAILS[:2], extra="Departement"), AllowUnknownColumnsInCsv=True)
    assert not ok.errors and ok.out[0].get("Status") == "Created" and ok.out[0].get("TotalCount") == 2
    assert run(org, "Get-MoveRequest").out == []  # not started: no move requests yet
    run(org, "Start-MigrationBatch", Identity="B")
    assert len(run(org, "Get-MoveRequest").out) == 2


def test_auto_complete_batch_completes_without_intervention():
    org = make_org()
    _new(org, emails=EMAILS[:2], AutoStart=True, AutoComplete=True)
    org.clock.advance(6 * HOURS)
    assert _batch(org).get("Status") == "Completed"


def test_stop_and_start_batch():
    org = make_org()
    _new(org, emails=EMAILS[:2], AutoStart=True)
    org.clock.advance(5 * 60)
    run(org, "Stop-MigrationBatch", Identity="Wave1")
    assert _batch(org).get("Status") == "Stopped"
    assert _status(org, EMAILS[0]) == "Suspended"
    run(org, "Start-MigrationBatch", Identity="Wave1")
    org.clock.advance(6 * HOURS)
    assert _batch(org).get("Status") == "Synced"


def test_batch_status_derivation_table():
    started = {"_started": True}
    assert ms.batch_status({}, ["Queued"]) == "Created"
    assert ms.batch_status(started, ["Syncing", "Synced"]) == "Syncing"
    assert ms.batch_status(started, ["Synced", "Failed"]) == "SyncedwithErrors"
    assert ms.batch_status(started, ["Completed", "Synced"]) == "Synced"
    assert ms.batch_status(started, ["Completing", "Synced"]) == "Completing"
    assert ms.batch_status(started, ["Completed", "Completed"]) == "Completed"
    assert ms.batch_status(started, ["Completed", "Failed"]) == "CompletedWithErrors"
    assert ms.batch_status(started, ["Failed", "Failed"]) == "Failed"
    assert ms.format_size(4_555_456_537) == "4.243 GB (4,555,456,537 bytes)"
    assert ms.format_size(0) == "0 B (0 bytes)"


def test_resume_with_future_complete_after_completes_at_that_time():
    org = make_org()
    _new(org, AutoStart=True)
    org.clock.advance(5 * HOURS)
    later = org.clock.now() + dt.timedelta(hours=3)
    run(org, "Set-MoveRequest", Identity=EMAILS[5], SuspendWhenReadyToComplete=False, PreventCompletion=False,
        CompleteAfter=later)
    run(org, "Resume-MoveRequest", Identity=EMAILS[5])
    org.clock.advance(2 * HOURS)
    assert _status(org, EMAILS[5]) == "Synced"
    org.clock.advance(1.2 * HOURS)
    assert _status(org, EMAILS[5]) == "Completed"


def test_get_move_request_filters_and_result_size_warning():
    org = make_org()
    _new(org, AutoStart=True)
    org.clock.advance(5 * HOURS)
    synced = run(org, "Get-MoveRequest", BatchName="MigrationService:Wave1", Status="Synced").out
    assert len(synced) == 12
    failed = run(org, "Get-MoveRequest", Status="Failed").out
    assert {o.get("Identity") for o in failed} == {"user03@contoso.com", "user07@contoso.com"}
    limited = run(org, "Get-MoveRequest", ResultSize=3)
    assert len(limited.out) == 3 and not limited.warnings
    assert run(org, "Get-MoveRequest", Identity="nobody@contoso.com").errors[0].reason == \
        "ManagementObjectNotFoundException"


def test_suspend_resume_and_remove_move_request():
    org = make_org()
    _new(org, AutoStart=True)
    org.clock.advance(4 * 60)
    assert not run(org, "Suspend-MoveRequest", Identity=EMAILS[9], SuspendComment="night freeze").errors
    org.clock.advance(5 * HOURS)
    assert _status(org, EMAILS[9]) == "Suspended"
    run(org, "Resume-MoveRequest", Identity=EMAILS[9])
    org.clock.advance(5 * HOURS)
    assert _status(org, EMAILS[9]) == "Synced"
    assert not run(org, "Remove-MoveRequest", Identity=EMAILS[9]).errors
    user = run(org, "Get-MigrationUser", Identity=EMAILS[9]).out[0]
    assert user.get("Status") == "Stopped"
    assert run(org, "Get-MoveRequest", Identity=EMAILS[9]).errors
    assert run(org, "Get-MigrationEndpoint").out[0].get("EndpointType") == "ExchangeRemoteMove"
