"""End to end: the real CLI (CliRunner and a subprocess) against a lab over loopback (its own org per test)."""

from __future__ import annotations

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
from hybridkit.config import lab_profile_from_ready  # noqa: E402
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT  # noqa: E402
from hybridkit.ps import Command  # noqa: E402
from hybridkit.sides import connect  # noqa: E402
from tests._killkit import kill_after_steps  # noqa: E402
from tests.cutover._labkit import online_config  # noqa: E402

TDD = "contoso.mail.onmicrosoft.com"
HOUR = 3600.0



def _users(org: Any, count: int) -> list[str]:
    return sorted(str(r["PrimarySmtpAddress"]).lower() for r in org.onprem.recipients.values()
                  if r.get("RecipientTypeDetails") == "UserMailbox")[:count]


def _plan(tmp_path: Path, batches: dict[str, list[str]]) -> Path:
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir(exist_ok=True)
    (plan_dir / "plan.json").write_text(json.dumps({"batches": [{"name": n, "mailboxes": m} for n, m in batches.items()]}))
    (plan_dir / "batches").mkdir(exist_ok=True)
    for name, mailboxes in batches.items():  # as `hybridkit batches plan` writes them
        (plan_dir / "batches" / f"{name}.csv").write_text("EmailAddress\n" + "\n".join(mailboxes) + "\n")
    return plan_dir


def _cli(config: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(config), *args], catch_exceptions=False)


def _audit(org: Any, event: str) -> list[str]:
    return [e["identity"] for e in org.online.settings.get("lab_migration_audit", []) if e["event"] == event]


@pytest.fixture
def online_lab(lab_factory, tmp_path):
    handle = lab_factory(org="demo", time_scale=300.0)
    org = handle.server.engine.org
    return handle, org, online_config(tmp_path, handle)


def test_create_watch_complete_one_then_batch(online_lab, tmp_path):
    handle, org, config = online_lab
    members = _users(org, 12)  # holds the demo's seeded failures (over quota, bad items) and the retrying move
    plan_dir = _plan(tmp_path, {"Wave-1": members})
    args = ["cutover", "create", str(plan_dir), "--endpoint", DEFAULT_ENDPOINT, "--target-delivery-domain", TDD]

    what_if = _cli(config, *args, "--start", "--what-if")
    assert what_if.exit_code == 0, what_if.output
    assert "New-MigrationBatch -Name 'Wave-1'" in what_if.output and "-AutoStart" in what_if.output
    assert "-CSVData ([System.Text.Encoding]::UTF8.GetBytes(" in what_if.output  # the bytes inline: pasteable
    assert "Wave-1" not in str(org.online.collection("MigrationBatch"))

    created = _cli(config, "-o", "json", *args, "--start", "--complete-after", "+30d")
    assert created.exit_code == 0, created.output
    doc = json.loads(created.output)
    assert doc["items"][0] == {"batch": "Wave-1", "action": "create", "outcome": "created",
                               "detail": "12 mailboxes, status Syncing"}
    assert sorted(i["mailbox"] for i in doc["items"][1:]) == members
    assert {i["outcome"] for i in doc["items"][1:]} == {"created"} and doc["summary"]["mailboxes"] == {"created": 12}
    assert doc["complete_after"].endswith("Z") and doc["what_if"] is False
    again = json.loads(_cli(config, "-o", "json", *args, "--start").output)
    assert again["items"][0]["outcome"] == "unchanged" and again["summary"]["batches"] == {"unchanged": 1}
    other = _plan(tmp_path, {"Wave-1": members[:-1] + [_users(org, 20)[-1]]})
    conflict = _cli(config, "cutover", "create", str(other), "--endpoint", DEFAULT_ENDPOINT,
                    "--target-delivery-domain", TDD)
    assert conflict.exit_code == 2 and members[-1] in conflict.output

    watched = _cli(config, "cutover", "status", "--watch", "--interval", "0.2", "--timeout", "1")
    assert watched.exit_code == 0 and "Wave-1" in watched.output and "Syncing" in watched.output  # bounded watch
    org.clock.advance(24 * HOUR)  # hours of syncing in a moment
    status = json.loads(_cli(config, "-o", "json", "cutover", "status", "--batch", "Wave-1").output)
    batch = status["items"][0]
    assert batch["batch"] == "Wave-1" and batch["status"] == "SyncedWithErrors"
    assert status["observed_at"].endswith("Z") and batch["total"] == 12 and batch["failed"] == 2
    rows = {r["mailbox"]: r for r in batch["mailboxes"]}
    assert "exceeds the target quota" in rows[members[3]]["detail"]
    assert "TooManyBadItems" in rows[members[7]]["detail"]
    assert rows[members[0]]["status"] == "Synced" and isinstance(rows[members[0]]["size_bytes"], int)

    # The trap: a plain Resume-MoveRequest bounces and does not complete.
    session = connect(lab_profile_from_ready("t", handle.server.ready_info(), endpoint="online"))
    try:
        result = session.run(Command.of("Resume-MoveRequest", Identity=members[1]))
        assert result.ok
        org.clock.advance(1 * HOUR)
        assert session.run(Command.of("Get-MoveRequest", Identity=members[1])).output[0].get("Status") == "Synced"
    finally:
        session.close()

    # One mailbox early, then the whole batch (--wait follows to Completed/Failed; failures exit 1).
    journal = tmp_path / "journal.sqlite"
    one = _cli(config, "-o", "json", "cutover", "complete", "--mailbox", members[0], "--journal", str(journal),
               "--wait", "--poll-interval", "0.1", "--timeout", "30")
    assert one.exit_code == 0, one.output
    [row] = json.loads(one.output)["items"]
    assert (row["action"], row["outcome"], row["status"]) == ("complete", "completed", "Completed")
    assert _status(org, members[1]) == "Synced" and _status(org, members[2]) == "Synced"
    onprem = next(r for r in org.onprem.recipients.values() if r.get("PrimarySmtpAddress", "").lower() == members[0])
    assert onprem["RecipientTypeDetails"] == "RemoteUserMailbox"

    whole = _cli(config, "-o", "json", "cutover", "complete", "--batch", "Wave-1", "--journal", str(journal),
                 "--wait", "--poll-interval", "0.1", "--timeout", "60")
    assert whole.exit_code == 1, whole.output
    doc = json.loads(whole.output)
    results = {r["mailbox"]: r for r in doc["items"]}
    assert results[members[3]]["outcome"] == "failed" and "quota" in results[members[3]]["detail"]
    assert results[members[7]]["outcome"] == "failed" and results[members[7]]["action"] == "none"
    assert {results[m]["outcome"] for m in members if m not in (members[3], members[7])} == {"completed"}, results
    assert results[members[0]]["action"] == "none"  # completed before: nothing sent
    assert doc["summary"] == {"completed": 10, "failed": 2} and doc["run_id"] and doc["resumed"] is False
    assert sorted(_audit(org, "Completed")) == sorted(set(members) - {members[3], members[7]})
    final = json.loads(_cli(config, "-o", "json", "cutover", "status").output)
    assert final["items"][0]["status"] == "CompletedWithErrors"


def _status(org: Any, mailbox: str) -> str:
    return org.online.collection("MoveRequest")[mailbox]["Status"]


def test_when_without_zone_is_refused(online_lab):
    _, _, config = online_lab
    result = _cli(config, "cutover", "complete", "--mailbox", "a@contoso.com", "--at", "2026-11-28T02:00")
    assert result.exit_code == 2 and "no time zone" in result.output


def test_sigkill_mid_completion_then_rerun_completes_each_exactly_once(lab_factory, tmp_path):
    handle = lab_factory(org="demo", time_scale=1.0, latency_ms=40.0)
    org = handle.server.engine.org
    config = online_config(tmp_path, handle)
    members = _users(org, 14)
    plan_dir = _plan(tmp_path, {"Wave-K": members})
    assert _cli(config, "cutover", "create", str(plan_dir), "--endpoint", DEFAULT_ENDPOINT,
                "--target-delivery-domain", TDD, "--start").exit_code == 0
    org.clock.advance(24 * HOUR)
    journal = tmp_path / "journal.sqlite"
    argv = [sys.executable, "-m", "hybridkit", "--config", str(config), "cutover", "complete", "--batch", "Wave-K",
            "--chunk-size", "2", "--journal", str(journal)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    kill_after_steps(argv, env, journal, 4, timeout=60)
    sent_before = len(_audit(org, "Resume-MoveRequest"))
    assert 4 <= sent_before < 12, "killed mid-completion"
    rerun = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 1, rerun.stdout + rerun.stderr  # the two seeded failures
    org.clock.advance(2 * HOUR)
    ready = [m for m in members if m not in (members[3], members[7])]
    resumes = _audit(org, "Resume-MoveRequest")
    assert sorted(resumes) == sorted(ready), "every ready mailbox signalled exactly once, none skipped"
    status = json.loads(_cli(config, "-o", "json", "cutover", "status", "--batch", "Wave-K").output)
    assert sorted(_audit(org, "Completed")) == sorted(ready)
    assert {r["status"] for r in status["items"][0]["mailboxes"] if r["mailbox"] in ready} == {"Completed"}
    wire = [r for r in handle.audit_records("pipeline") if "Resume-MoveRequest" in r.get("cmdlets", [])]
    assert sum(int(r["input_count"]) for r in wire) == len(ready), "no mailbox sent twice on the wire"


def test_from_file_what_if_then_migrationuser_and_status_table(online_lab, tmp_path):
    import openpyxl

    handle, org, config = online_lab
    members = _users(org, 14)[12:14]
    plan_dir = _plan(tmp_path, {"Wave-2": members})
    assert _cli(config, "cutover", "create", str(plan_dir), "--endpoint", DEFAULT_ENDPOINT,
                "--target-delivery-domain", TDD, "--start").exit_code == 0
    org.clock.advance(24 * HOUR)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Title row written by a person"])
    sheet.append(["PrimarySmtpAddress", "Note"])
    sheet.append([members[0].upper(), "early"])
    book.save(tmp_path / "early.xlsx")

    what_if = _cli(config, "cutover", "complete", "--from-file", str(tmp_path / "early.xlsx"), "--what-if",
                   "--at", "2030-01-01T03:00+01:00")
    assert what_if.exit_code == 0, what_if.output
    assert f"@('{members[0]}') | Set-MoveRequest -SuspendWhenReadyToComplete:$false -PreventCompletion:$false " \
           "-CompleteAfter '2030-01-01T02:00:00Z'" in what_if.output.replace("\n", " ")
    assert _status(org, members[0]) == "Synced" and not _audit(org, "Set-MoveRequest")

    nothing = _cli(config, "cutover", "complete", "--mailbox", members[0], "--resume", "--journal",
                   str(tmp_path / "j.sqlite"))
    assert nothing.exit_code == 2 and "nothing to resume" in nothing.output

    done = _cli(config, "-o", "json", "cutover", "complete", "--from-file", str(tmp_path / "early.xlsx"),
                "--method", "migrationuser", "--wait", "--poll-interval", "0.1", "--timeout", "30",
                "--journal", str(tmp_path / "j.sqlite"))
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["items"][0]["outcome"] == "completed"
    assert _audit(org, "CompletionSignal") == [members[0]] and not _audit(org, "Resume-MoveRequest")

    table = _cli(config, "cutover", "status", "--batch", "Wave-2")
    assert table.exit_code == 0 and "UTC" in table.output and "Completed" in table.output
    missing = _cli(config, "cutover", "status", "--batch", "Nope")
    assert missing.exit_code == 2 and "Nope" in missing.output


def test_plan_from_batches_planner_feeds_create(online_lab, tmp_path):
    handle, org, config = online_lab
    members = _users(org, 16)[14:16]
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("PrimarySmtpAddress,RecipientTypeDetails\n" + "".join(f"{m},UserMailbox\n" for m in members))
    planned = _cli(config, "batches", "plan", str(inventory), "--out", str(tmp_path / "planned"), "--no-xlsx",
                   "--name-prefix", "Cut")
    assert planned.exit_code == 0, planned.output
    what_if = _cli(config, "cutover", "create", str(tmp_path / "planned"), "--endpoint", DEFAULT_ENDPOINT,
                   "--target-delivery-domain", TDD, "--what-if")
    assert what_if.exit_code == 0, what_if.output
    text = what_if.output.replace("\n", "")
    assert "New-MigrationBatch -Name 'Cut-001'" in text and "ReadAllBytes(" not in text
    assert f"@('EmailAddress','{members[0]}','{members[1]}') -join" in text  # the CSV bytes inline
    created = _cli(config, "-o", "json", "cutover", "create", str(tmp_path / "planned"), "--endpoint", DEFAULT_ENDPOINT,
                   "--target-delivery-domain", TDD)
    assert json.loads(created.output)["items"][0] == {
        "batch": "Cut-001", "action": "create", "outcome": "created", "detail": "2 mailboxes, status Created"}
