"""``cutover failures`` and ``cutover remediate`` services against the lab's engine in process (InProcessSession):
a batch with bad-item, large-item, quota, stalled, skipped-item and transient mailboxes, listed and remedied."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from typing import Any

import pytest

from hybridkit.cutover._failures import FailureKind, Problem
from hybridkit.cutover._failures_render import REPORT_COLUMNS, write_failures_report
from hybridkit.cutover._remedy import MinScore, RemedyAction
from hybridkit.cutover._remedy_run import list_failures, remediate
from hybridkit.journal import Journal
from hybridkit.lab import InProcessSession
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT
from hybridkit.lab.exchange.migration_faults import MoveFault, mark_moves
from hybridkit.lab.exchange.orgs import build_org
from hybridkit.outcomes import Outcome
from hybridkit.ps import Command, Switch

HOUR = 3600.0
TDD = "contoso.mail.onmicrosoft.com"


def _audit(org: Any, event: str) -> list[str]:
    return [r["identity"] for r in org.online.settings.get("lab_migration_audit", []) if r["event"] == event]


@pytest.fixture
def wave() -> tuple[Any, InProcessSession, dict[str, str]]:
    org = build_org("synthetic:14", time_scale=0.0)
    users = sorted(str(r["PrimarySmtpAddress"]).lower() for r in org.onprem.recipients.values()
                   if str(r.get("RecipientTypeDetails")).endswith("Mailbox"))
    roles = {"bad": users[0], "large": users[1], "quota": users[2], "stalled": users[3], "skipped": users[4],
             "transient": users[5], "poor": users[6], "fine": users[7]}
    mark_moves(org, {roles["bad"]: MoveFault.BAD_ITEMS, roles["quota"]: MoveFault.QUOTA,
                     roles["skipped"]: MoveFault.SKIPPED, roles["transient"]: MoveFault.TRANSIENT})
    mark_moves(org, {roles["stalled"]: MoveFault.STALLED}, stall=dt.timedelta(days=3))
    mark_moves(org, {roles["large"]: MoveFault.LARGE_ITEMS}, score="Good")
    mark_moves(org, {roles["bad"]: MoveFault.BAD_ITEMS}, score="Investigate")
    mark_moves(org, {roles["poor"]: MoveFault.SKIPPED}, score="Poor")
    online = InProcessSession(org, "online")
    csv = ("EmailAddress\r\n" + "".join(u + "\r\n" for u in users[:8])).encode()
    online.run(Command.of("New-MigrationBatch", Name="Wave1", SourceEndpoint=DEFAULT_ENDPOINT,
                          TargetDeliveryDomain=TDD, CSVData=csv, AutoStart=Switch()))
    org.clock.advance(12 * HOUR)
    return org, online, roles


def test_failures_lists_each_problem_with_exchange_names_scores_skipped_kinds_and_remedies(wave) -> None:
    org, online, roles = wave
    found = {f.mailbox: f for f in list_failures(online, batches=["Wave1"])}
    assert roles["fine"] not in found and roles["transient"] not in found
    bad, large, quota = found[roles["bad"]], found[roles["large"]], found[roles["quota"]]
    assert (bad.problem, bad.kind, bad.failure_type, bad.score) == (
        Problem.FAILED, FailureKind.SKIPPED_ITEMS, "TooManyBadItemsPermanentException", "Investigate")
    assert dict(bad.skipped) == {"CorruptFolderACL": 1, "CorruptItem": 12} and bad.awaiting_approval
    assert bad.message.startswith("Error: TooManyBadItemsPermanentException")  # in full
    assert (large.failure_type, dict(large.skipped), large.score) == (
        "TooManyLargeItemsPermanentException", {"LargeItem": 3}, "Good")
    assert (quota.kind, quota.failure_type) == (FailureKind.QUOTA, "MailboxExceedsTargetQuotaPermanentException")
    assert "archive" in quota.remedy and "licence" in quota.remedy
    stalled = found[roles["stalled"]]
    assert (stalled.problem, stalled.status_detail) == (Problem.STALLED, "StalledDueToTarget_MdbReplication")
    skipped, poor = found[roles["skipped"]], found[roles["poor"]]
    assert (skipped.problem, skipped.score, dict(skipped.skipped)) == (
        Problem.AWAITING_APPROVAL, "Investigate", {"CorruptItem": 2, "MissingItem": 4})
    assert poor.score == "Poor" and "Microsoft Support" in poor.remedy


def test_failures_reads_in_a_few_pipelines_whatever_the_batch_size(wave) -> None:
    _, online, _ = wave
    before = len(online.sent)
    list_failures(online, batches=["Wave1"])
    sent = online.sent[before:]
    assert [p.cmdlets for p in sent] == [  # users, moves with statistics, skipped items of those that have some
        "Get-MigrationUser | Select-Object",
        "Get-MoveRequest | Get-MoveRequestStatistics | Select-Object",
        "Get-MigrationUserStatistics | Select-Object | Select-Object",
    ]


def test_remediate_default_good_approves_and_restarts_only_the_eligible_once(wave, tmp_path) -> None:
    org, online, roles = wave
    with Journal(tmp_path / "j.sqlite") as journal:
        preview = remediate(online, journal, batches=["Wave1"], approve=True, restart=True, what_if=True)
        assert _audit(org, "ApproveSkippedItems") == [] and _audit(org, "Start-MigrationUser") == []
        assert preview.commands == (
            f"@('{roles['large']}') | Set-MigrationUser -ApproveSkippedItems",
            f"@('{roles['large']}') | Start-MigrationUser",
        )
        result = remediate(online, journal, batches=["Wave1"], approve=True, restart=True)
    rows = {r.mailbox: r for r in result.items}
    assert rows[roles["large"]].action is RemedyAction.APPROVE_RESTART and rows[roles["large"]].outcome is Outcome.SENT
    assert rows[roles["bad"]].outcome is Outcome.SKIPPED and "--min-score Investigate" in rows[roles["bad"]].detail
    assert rows[roles["quota"]].outcome is Outcome.SKIPPED and "archive" in rows[roles["quota"]].detail
    assert rows[roles["poor"]].outcome is Outcome.SKIPPED and "Microsoft Support" in rows[roles["poor"]].detail
    assert rows[roles["stalled"]].outcome is Outcome.UNCHANGED
    assert _audit(org, "ApproveSkippedItems") == [roles["large"]]
    assert _audit(org, "Start-MigrationUser") == [roles["large"]]


def test_remediate_investigate_then_rerun_sends_nothing_twice_and_quota_stays_listed(wave, tmp_path) -> None:
    org, online, roles = wave
    with Journal(tmp_path / "j.sqlite") as journal:
        first = remediate(online, journal, batches=["Wave1"], approve=True, restart=True,
                          min_score=MinScore.INVESTIGATE, chunk_size=2)
        again = remediate(online, journal, batches=["Wave1"], approve=True, restart=True,
                          min_score=MinScore.INVESTIGATE, chunk_size=2)
    assert sorted(_audit(org, "ApproveSkippedItems")) == sorted([roles["bad"], roles["large"], roles["skipped"]])
    assert sorted(_audit(org, "Start-MigrationUser")) == sorted([roles["bad"], roles["large"]])
    assert first.run_id and again.run_id != first.run_id
    assert {r.mailbox for r in again.items if r.action is not RemedyAction.NONE} == set()
    org.clock.advance(6 * HOUR)
    left = {f.mailbox: f for f in list_failures(online, batches=["Wave1"])}
    assert roles["quota"] in left and roles["poor"] in left
    assert roles["bad"] not in left and roles["large"] not in left and roles["skipped"] not in left


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_failures_report_keeps_formula_shaped_exchange_text_as_text(wave, tmp_path, suffix) -> None:
    _, online, roles = wave
    found = list_failures(online, batches=["Wave1"])
    hostile = dataclasses.replace(found[0], message='=HYPERLINK("http://evil","click")', batch="+cmd|' /C calc'!A0")
    path = tmp_path / f"failures{suffix}"
    write_failures_report(path, [hostile, *found[1:]])
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    else:
        openpyxl = pytest.importorskip("openpyxl")
        sheet = openpyxl.load_workbook(path).active
        values = list(sheet.iter_rows(values_only=True))
        rows = [dict(zip(values[0], row)) for row in values[1:]]
        assert sheet.cell(2, REPORT_COLUMNS.index("Message") + 1).data_type == "s"  # a string cell, not a formula
    first = rows[0]
    assert first["Message"].lstrip("'") == '=HYPERLINK("http://evil","click")'
    assert first["Batch"].lstrip("'") == "+cmd|' /C calc'!A0"
    if suffix == ".csv":
        assert first["Message"].startswith("'=") and first["Batch"].startswith("'+")
    assert [r["Mailbox"] for r in rows] == [f.mailbox for f in found]
    assert {r["Mailbox"]: r["FailureType"] for r in rows}[roles["quota"]] == "MailboxExceedsTargetQuotaPermanentException"
