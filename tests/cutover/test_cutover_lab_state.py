"""The lab's migration state machine, driven through the handlers with a fake sink and a manual clock."""

from __future__ import annotations

import datetime as dt

from hybridkit.lab.exchange import migration_state as ms
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT
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
    assert bad.get("DataConsistencyScore") == "Investigate"  # the demo's one to remediate (approve, restart)
    transient = org.online.collection("MoveRequest")["user11@contoso.com"]
    assert "Retrying" in [e[1] for e in transient["_events"]] and transient["Status"] == "Synced"
    assert _batch(org).get("Status") == "SyncedWithErrors"  # MigrationBatchStatus, as Exchange prints it
    stats = {e: run(org, "Get-MoveRequestStatistics", Identity=e).out[0] for e in ("user00@contoso.com",
                                                                                   "user03@contoso.com")}
    assert stats["user00@contoso.com"].get("StatusDetail") == "IncrementalSync"
    assert stats["user03@contoso.com"].get("StatusDetail") == "FailedOther"
    assert bad.get("StatusDetail") == "FailedBadItemLimit"
    assert ("Retrying", "TransientFailure") in [(e[1], e[2]) for e in transient["_events"]]
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
    assert _batch(org).get("Status") == "SyncedWithErrors"
    again = run(org, "Resume-MoveRequest", Identity=EMAILS[0])
    assert again.errors and "Completed" in again.errors[0].message


def test_batch_move_held_by_prevent_completion_bounces_to_synced_until_the_holds_are_cleared():
    org = make_org()
    _new(org, AutoStart=True)
    run(org, "Set-MoveRequest", Identity=EMAILS[2], SuspendWhenReadyToComplete=True)
    org.clock.advance(5 * HOURS)
    assert _status(org, EMAILS[2]) == "AutoSuspended"
    stats = run(org, "Get-MoveRequestStatistics", Identity=EMAILS[2]).out[0]
    assert stats.get("StatusDetail") == "AutoSuspended" and stats.get("SuspendWhenReadyToComplete") is False
    run(org, "Resume-MoveRequest", Identity=EMAILS[2])  # the batch's PreventCompletion still holds it
    org.clock.advance(10 * 60)
    assert _status(org, EMAILS[2]) == "Synced"
    run(org, "Set-MoveRequest", Identity=EMAILS[2], SuspendWhenReadyToComplete=False, PreventCompletion=False,
        CompleteAfter=org.clock.now())
    run(org, "Resume-MoveRequest", Identity=EMAILS[2])
    org.clock.advance(20 * 60)
    assert _status(org, EMAILS[2]) == "Completed"


def test_new_move_request_suspended_when_ready_waits_autosuspended_and_a_plain_resume_completes_it():
    org = make_org()
    email = EMAILS[6]
    created = run(org, "New-MoveRequest", Identity=email, Remote=True, RemoteHostName="mail.contoso.com",
                  TargetDeliveryDomain="contoso.mail.onmicrosoft.com", SuspendWhenReadyToComplete=True)
    assert not created.errors and created.out[0].get("Status") == "Queued"
    assert created.out[0].get("BatchName") == "" and created.out[0].get("SuspendWhenReadyToComplete") is True
    org.clock.advance(5 * HOURS)
    stats = run(org, "Get-MoveRequestStatistics", Identity=email).out[0]
    assert (stats.get("Status"), stats.get("StatusDetail")) == ("AutoSuspended", "AutoSuspended")
    assert stats.get("SuspendWhenReadyToComplete") is False  # cleared by the move service as it auto-suspends
    run(org, "Resume-MoveRequest", Identity=email)
    org.clock.advance(7.5 * 60)  # an incremental sync (3 min), Completion (4 min), Finalization (1 min)
    assert _status(org, email) == "CompletionInProgress"
    details = [e[2] for e in org.online.collection("MoveRequest")[email]["_events"]]
    assert details[-3:] == ["IncrementalSync", "Completion", "Finalization"]
    org.clock.advance(10 * 60)
    assert _status(org, email) == "Completed"
    onprem = next(r for r in org.onprem.recipients.values() if r["PrimarySmtpAddress"] == email)
    assert onprem["RecipientTypeDetails"] == "RemoteUserMailbox"
    again = run(org, "New-MoveRequest", Identity=email, Remote=True, RemoteHostName="mail.contoso.com",
                TargetDeliveryDomain="contoso.mail.onmicrosoft.com")
    assert again.errors and "has a completed move request associated with it" in again.errors[0].message
    missing = run(org, "New-MoveRequest", Identity="nobody@contoso.com", Remote=True, RemoteHostName="m.contoso.com")
    assert missing.errors and missing.errors[0].reason == "ManagementObjectNotFoundException"


# RequestState names Exchange shows in StatusDetail (Microsoft's "Create Move Request" Orchestrator reference lists
# them; the stalls are from "Mailboxes are stalled during a migration").
_STATUS_DETAILS = {
    "Queued", "InProgress", "InitialSeeding", "CreatingMailbox", "CreatingFolderHierarchy",
    "CreatingInitialSyncCheckpoint", "LoadingMessages", "CopyingMessages", "Completion", "IncrementalSync",
    "Finalization", "Cleanup", "DataReplicationWait", "Stalled", "StalledDueToHA", "StalledDueToCI",
    "StalledDueToTarget_MdbReplication", "StalledDueToTarget_MdbAvailability", "StalledDueToTarget_DiskLatency",
    "TransientFailure", "NetworkFailure", "MDBOffline", "ProxyBackoff", "Suspended", "AutoSuspended", "Relinquished",
    "Failed", "FailedBadItemLimit", "FailedNetwork", "FailedMAPI", "FailedOther", "Completed",
    "CompletedWithWarnings", "Canceled",
}  # fmt: skip


def test_every_status_detail_the_lab_shows_is_one_exchange_shows():
    org = make_org()
    _new(org, AutoStart=True)
    run(org, "Set-MoveRequest", Identity=EMAILS[2], SuspendWhenReadyToComplete=True)
    org.clock.advance(3 * 60)
    run(org, "Suspend-MoveRequest", Identity=EMAILS[9], Confirm=False)
    org.clock.advance(5 * HOURS)
    run(org, "Resume-MoveRequest", Identity=EMAILS[9])
    run(org, "Resume-MoveRequest", Identity=EMAILS[0])
    org.clock.advance(30 * HOURS)
    run(org, "Complete-MigrationBatch", Identity="Wave1")
    org.clock.advance(1 * HOURS)
    run(org, "Get-MoveRequest")  # lets the lab catch up
    shown = {e[2] for m in org.online.collection("MoveRequest").values() for e in m["_events"] if e[1] != "Resume"}
    assert shown <= _STATUS_DETAILS, shown - _STATUS_DETAILS
    statuses = {e[1] for m in org.online.collection("MoveRequest").values() for e in m["_events"]} - {"Resume"}
    assert statuses <= {"Queued", "InProgress", "Retrying", "Synced", "AutoSuspended", "Suspended",
                        "CompletionInProgress", "Completed", "CompletedWithWarning", "Failed"}, statuses


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


def test_a_user_already_in_another_batch_fails_alone_and_the_batch_is_created():
    org = make_org()
    _new(org, emails=EMAILS[:3], AutoStart=True)
    second = _new(org, name="Wave2", emails=[EMAILS[0], EMAILS[5]], AutoStart=True)
    assert not second.errors and second.out[0].get("TotalCount") == 2 and second.out[0].get("FailedCount") == 1
    users = {u.get("Identity"): u for u in run(org, "Get-MigrationUser", BatchId="Wave2").out}
    assert users[EMAILS[0]].get("Status") == "Failed"
    assert users[EMAILS[0]].get("ErrorSummary") == (
        'UserDuplicateInOtherBatchException: The user "user00@contoso.com" is already included in migration batch '
        '"Wave1." Please remove the user from any other batch and try again.')
    assert users[EMAILS[5]].get("Status") in ("Queued", "Syncing")
    first = {u.get("Identity"): u for u in run(org, "Get-MigrationUser", BatchId="Wave1").out}
    assert first[EMAILS[0]].get("Status") != "Failed"  # its own batch is untouched
    org.clock.advance(6 * HOURS)
    assert _batch(org, "Wave2").get("Status") == "SyncedWithErrors"
    assert org.online.collection("MoveRequest")[EMAILS[0]]["BatchName"] == "MigrationService:Wave1"
    assert not run(org, "Remove-MigrationBatch", Identity="Wave2").errors
    assert run(org, "Get-MigrationUser", Identity=EMAILS[0]).out[0].get("BatchId") == "Wave1"
    assert EMAILS[0] in org.online.collection("MoveRequest")


def test_the_service_allows_100_batches_and_says_so():
    org = make_org()
    config = run(org, "Get-MigrationConfig").out[0]
    # MaxConcurrentMigrations is an Unlimited<int>: it arrives as its text, like every non-primitive value.
    assert (config.get("MaxNumberOfBatches"), config.get("MaxConcurrentMigrations")) == (100, "300")
    for n in range(100):
        assert not _new(org, name=f"B{n:03d}", emails=[f"x{n}@contoso.com"]).errors
    refused = _new(org, name="B100", emails=["y@contoso.com"])
    assert refused.errors and refused.errors[0].message == (
        "The maximum number of migration batches is already running. Please remove a batch before you add another one")
    assert "B100" not in org.online.collection("MigrationBatch")
    run(org, "Remove-MigrationBatch", Identity="B000")
    assert not _new(org, name="B100", emails=["y@contoso.com"]).errors


def test_new_migration_endpoint_exchange_remote_move():
    org = make_org()
    made = run(org, "New-MigrationEndpoint", Name="Second endpoint", ExchangeRemoteMove=True,
               RemoteServer="mrs.contoso.com", MaxConcurrentMigrations=40)
    assert not made.errors and made.out[0].get("EndpointType") == "ExchangeRemoteMove"
    assert made.out[0].get("RemoteServer") == "mrs.contoso.com" and made.out[0].get("MaxConcurrentMigrations") == "40"  # Unlimited<int>: its text
    names = {e.get("Identity") for e in run(org, "Get-MigrationEndpoint").out}
    assert names == {DEFAULT_ENDPOINT, "Second endpoint"}
    twice = run(org, "New-MigrationEndpoint", Name="second ENDPOINT", ExchangeRemoteMove=True,
                RemoteServer="mrs.contoso.com")
    assert twice.errors and "already exists" in twice.errors[0].message
    imap = run(org, "New-MigrationEndpoint", Name="imap", IMAP=True, RemoteServer="imap.contoso.com")
    assert imap.errors and "ExchangeRemoteMove" in imap.errors[0].message


def test_get_migration_user_statistics():
    org = make_org()
    _new(org, emails=EMAILS[:2], AutoStart=True)
    org.clock.advance(6 * HOURS)
    stats = run(org, "Get-MigrationUserStatistics", inputs=[EMAILS[0], EMAILS[1]]).out
    assert [s.get("Identity") for s in stats] == EMAILS[:2]
    assert stats[0].get("Status") == "Synced" and stats[0].get("PercentageComplete") == 95
    assert "bytes)" in stats[0].get("BytesTransferred")
    assert run(org, "Get-MigrationUserStatistics", Identity="nobody@contoso.com").errors


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
    run(org, "Stop-MigrationBatch", Identity="Wave1", Confirm=False)
    assert _batch(org).get("Status") == "Stopped"
    assert _status(org, EMAILS[0]) == "Suspended"
    run(org, "Start-MigrationBatch", Identity="Wave1")
    org.clock.advance(6 * HOURS)
    assert _batch(org).get("Status") == "Synced"


def test_batch_status_derivation_table():
    started = {"_started": True}
    assert ms.batch_status({}, ["Queued"]) == "Created"
    assert ms.batch_status(started, ["Syncing", "Synced"]) == "Syncing"
    assert ms.batch_status(started, ["Synced", "Failed"]) == "SyncedWithErrors"
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
    assert not run(org, "Suspend-MoveRequest", Identity=EMAILS[9], SuspendComment="night freeze", Confirm=False).errors
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


def test_synthetic_orgs_have_the_hybrid_migration_endpoint():
    from hybridkit.lab.exchange.orgs import build_org

    org = build_org("synthetic:3", time_scale=0.0)
    assert list(org.online.collection("MigrationEndpoint")) == [DEFAULT_ENDPOINT]
    endpoint = org.online.collection("MigrationEndpoint")[DEFAULT_ENDPOINT]
    assert endpoint["EndpointType"] == "ExchangeRemoteMove"
