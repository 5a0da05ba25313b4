"""End to end: ``hybridkit cutover failures`` and ``cutover remediate`` (the real CLI, CliRunner and a subprocess)
against a lab over loopback whose batch holds bad-item, large-item, quota, stalled and skipped-item mailboxes."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from hybridkit.cli import app  # noqa: E402
from hybridkit.lab import InProcessSession  # noqa: E402
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT  # noqa: E402
from hybridkit.lab.exchange.migration_faults import MoveFault, mark_moves  # noqa: E402
from hybridkit.ps import Command, Switch  # noqa: E402
from tests._killkit import kill_after_steps  # noqa: E402
from tests.cutover._labkit import online_config  # noqa: E402

TDD = "contoso.mail.onmicrosoft.com"
HOUR = 3600.0



def _users(org: Any) -> list[str]:
    return sorted(str(r["PrimarySmtpAddress"]).lower() for r in org.onprem.recipients.values()
                  if r.get("RecipientTypeDetails") == "UserMailbox")


def _batch(handle: Any, name: str, members: list[str]) -> None:
    online = InProcessSession(handle.server.engine, "online")
    csv_data = ("EmailAddress\r\n" + "".join(m + "\r\n" for m in members)).encode()
    result = online.run(Command.of("New-MigrationBatch", Name=name, SourceEndpoint=DEFAULT_ENDPOINT,
                                   TargetDeliveryDomain=TDD, CSVData=csv_data, AutoStart=Switch()))
    assert not result.errors


def _cli(config: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(config), *args], catch_exceptions=False)


def _audit(org: Any, event: str) -> list[str]:
    return [e["identity"] for e in org.online.settings.get("lab_migration_audit", []) if e["event"] == event]


@pytest.fixture
def faulty(lab_factory, tmp_path):
    handle = lab_factory(org="demo", time_scale=0.0)
    org = handle.server.engine.org
    users = [u for u in _users(org) if u not in org.online.settings.get("lab_move_faults", {})][:8]
    roles = dict(zip(("bad", "large", "quota", "stalled", "skipped", "poor", "fine", "transient"), users))
    mark_moves(org, {roles["bad"]: MoveFault.BAD_ITEMS, roles["large"]: MoveFault.LARGE_ITEMS,
                     roles["quota"]: MoveFault.QUOTA, roles["skipped"]: MoveFault.SKIPPED,
                     roles["transient"]: MoveFault.TRANSIENT})
    mark_moves(org, {roles["stalled"]: MoveFault.STALLED}, stall=dt.timedelta(days=3))
    mark_moves(org, {roles["poor"]: MoveFault.SKIPPED}, score="Poor")
    mark_moves(org, {roles["bad"]: MoveFault.BAD_ITEMS}, score="Investigate")
    _batch(handle, "Wave-F", users)
    org.clock.advance(12 * HOUR)
    return handle, org, roles, online_config(tmp_path, handle)


def test_failures_json_and_reports_then_remediate_what_if_and_apply(faulty, tmp_path):
    handle, org, roles, config = faulty
    report = tmp_path / "out" / "failures.csv"
    listed = _cli(config, "-o", "json", "cutover", "failures", "--batch", "Wave-F", "--report", str(report))
    assert listed.exit_code == 0, listed.output
    doc = json.loads(listed.output)
    rows = {i["mailbox"]: i for i in doc["items"]}
    assert set(rows) == {roles[k] for k in ("bad", "large", "quota", "stalled", "skipped", "poor")}
    assert rows[roles["bad"]]["failure_type"] == "TooManyBadItemsPermanentException"
    assert rows[roles["bad"]]["skipped_by_kind"] == {"CorruptFolderACL": 1, "CorruptItem": 12}
    assert rows[roles["quota"]]["failure_type"] == "MailboxExceedsTargetQuotaPermanentException"
    assert rows[roles["stalled"]]["status_detail"] == "StalledDueToTarget_MdbReplication"
    assert rows[roles["skipped"]]["problem"] == "awaiting-approval"
    assert doc["summary"] == {"awaiting-approval": 2, "failed": 3, "stalled": 1}
    with report.open(encoding="utf-8-sig", newline="") as handle_:
        table = list(csv.DictReader(handle_))
    assert {r["Mailbox"] for r in table} == set(rows)
    assert all(r["Remedy"] for r in table)

    table_run = _cli(config, "cutover", "failures")
    assert table_run.exit_code == 0 and "Remedy:" in table_run.output and roles["quota"] in table_run.output

    what_if = _cli(config, "cutover", "remediate", "--batch", "Wave-F", "--approve-skipped", "--restart-failed",
                   "--min-score", "investigate", "--what-if")
    assert what_if.exit_code == 0, what_if.output
    assert f"@('{roles['bad']}','{roles['large']}','{roles['skipped']}') | Set-MigrationUser -ApproveSkippedItems" \
        in what_if.output
    assert f"@('{roles['bad']}','{roles['large']}') | Start-MigrationUser" in what_if.output
    assert _audit(org, "ApproveSkippedItems") == [] and _audit(org, "Start-MigrationUser") == []

    refused = _cli(config, "cutover", "remediate", "--batch", "Wave-F", "--approve-skipped")
    assert refused.exit_code == 2 and "--yes" in refused.output  # not a terminal: fails closed
    applied = _cli(config, "-o", "json", "cutover", "remediate", "--batch", "Wave-F", "--approve-skipped",
                   "--restart-failed", "--min-score", "Investigate", "--yes", "--journal", str(tmp_path / "j.db"))
    assert applied.exit_code == 1, applied.output  # quota and Poor still need a person
    result = json.loads(applied.output)
    outcomes = {i["mailbox"]: (i["action"], i["outcome"]) for i in result["items"]}
    assert outcomes[roles["bad"]] == ("approve-restart", "sent")
    assert outcomes[roles["skipped"]] == ("approve", "updated")
    assert outcomes[roles["quota"]] == ("none", "skipped") and outcomes[roles["poor"]] == ("none", "skipped")
    assert outcomes[roles["stalled"]] == ("none", "unchanged")
    assert result["what_if"] is False and result["run_id"] and result["resumed"] is False
    org.clock.advance(6 * HOUR)
    left = json.loads(_cli(config, "-o", "json", "cutover", "failures", "--batch", "Wave-F").output)
    assert {i["mailbox"] for i in left["items"]} == {roles["quota"], roles["poor"], roles["stalled"]}


def test_remediate_usage_errors_exit_2_with_a_message(faulty):
    _, _, _, config = faulty
    none = _cli(config, "cutover", "remediate", "--batch", "Wave-F", "--yes")
    assert none.exit_code == 2 and "--approve-skipped, --restart-failed" in none.output
    both = _cli(config, "cutover", "remediate", "--batch", "Wave-F", "--mailbox", "a@contoso.com",
                "--restart-failed", "--yes")
    assert both.exit_code == 2 and "not both" in both.output
    poor = _cli(config, "cutover", "remediate", "--approve-skipped", "--min-score", "Poor", "--what-if")
    assert poor.exit_code == 2 and "Poor" in poor.output
    report = _cli(config, "cutover", "failures", "--report", "x.txt")
    assert report.exit_code == 2 and ".csv or .xlsx" in report.output


def test_sigkill_mid_remediation_then_rerun_approves_and_restarts_each_exactly_once(lab_factory, tmp_path):
    handle = lab_factory(org="demo", time_scale=0.0, latency_ms=40.0)
    org = handle.server.engine.org
    config = online_config(tmp_path, handle)
    users = [u for u in _users(org) if u not in org.online.settings.get("lab_move_faults", {})][:12]
    mark_moves(org, {u: MoveFault.LARGE_ITEMS for u in users[:10]}, score="Good")
    mark_moves(org, {users[10]: MoveFault.QUOTA})
    _batch(handle, "Wave-K", users)
    org.clock.advance(12 * HOUR)
    journal = tmp_path / "journal.sqlite"
    argv = [sys.executable, "-m", "hybridkit", "--config", str(config), "cutover", "remediate", "--batch", "Wave-K",
            "--approve-skipped", "--restart-failed", "--yes", "--chunk-size", "2", "--journal", str(journal)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    kill_after_steps(argv, env, journal, 3, timeout=90)
    approved_before = _audit(org, "ApproveSkippedItems")
    assert 6 <= len(approved_before) + len(_audit(org, "Start-MigrationUser")) < 20, "killed mid-remediation"
    rerun = subprocess.run([*argv[:5], "-o", "json", *argv[5:]], env=env, capture_output=True, text=True,
                           timeout=180)
    assert rerun.returncode == 1, rerun.stdout + rerun.stderr  # the quota failure still needs a person
    doc = json.loads(rerun.stdout)
    assert doc["resumed"] is True
    eligible = users[:10]
    assert sorted(_audit(org, "ApproveSkippedItems")) == sorted(eligible), "each approved exactly once"
    assert sorted(_audit(org, "Start-MigrationUser")) == sorted(eligible), "each restarted exactly once"
    assert {i["mailbox"]: i["outcome"] for i in doc["items"]}[users[10]] == "skipped"
    again = subprocess.run([*argv[:5], "-o", "json", *argv[5:]], env=env, capture_output=True, text=True,
                           timeout=180)
    assert [i["action"] for i in json.loads(again.stdout)["items"]] == ["none"]  # only the quota one is left
    assert sorted(_audit(org, "Start-MigrationUser")) == sorted(eligible)


def test_failures_and_remediate_refuse_an_onprem_profile_saying_where_migration_users_live(
        lab: Any, tmp_path: Path) -> None:
    config = online_config(tmp_path, lab)
    config.write_text(config.read_text().replace('endpoint = "online"', 'endpoint = "onprem"'))
    for args in (["cutover", "failures"], ["cutover", "remediate", "--approve-skipped", "--what-if"]):
        result = CliRunner().invoke(app, ["--config", str(config), *args])
        assert result.exit_code == 2, result.output
        words = " ".join(result.stderr.split())
        assert "reaches on-premises Exchange; migration users live in Exchange Online: use an online or pwsh " \
               "profile" in words and "Traceback" not in result.output
