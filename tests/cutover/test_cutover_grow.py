"""``cutover create`` grows a batch that has some of the planned members (``Set-MigrationBatch -AddUsers -CSVData``)
instead of refusing it; a member the plan dropped is still refused. Real CLI against the lab (in-process server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from hybridkit.cli import app  # noqa: E402
from hybridkit.cutover._model import BatchAction, ObservedBatch, PlannedBatch  # noqa: E402
from hybridkit.cutover._plan import plan_create  # noqa: E402
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT  # noqa: E402
from tests.cutover._labkit import online_config  # noqa: E402

TDD = "contoso.mail.onmicrosoft.com"


def _users(org: Any) -> list[str]:
    return sorted(str(r["PrimarySmtpAddress"]).lower() for r in org.onprem.recipients.values()
                  if r.get("RecipientTypeDetails") == "UserMailbox")


def _plan(tmp_path: Path, batches: dict[str, list[str]]) -> Path:
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir(exist_ok=True)
    (plan_dir / "plan.json").write_text(json.dumps({"batches": [{"name": n, "mailboxes": m}
                                                                for n, m in batches.items()]}))
    return plan_dir


def _audit(org: Any, event: str) -> list[dict[str, Any]]:
    return [e for e in org.online.settings.get("lab_migration_audit", []) if e["event"] == event]


def test_plan_create_grows_a_batch_with_only_new_members_and_refuses_a_dropped_one() -> None:
    observed = {"W1": ObservedBatch("W1", "Created", ("a@x.com",)),
                "W2": ObservedBatch("W2", "Syncing", ("c@x.com", "d@x.com")),
                "Other": ObservedBatch("Other", "Synced", ("z@x.com",))}
    plan = plan_create([PlannedBatch("W1", ("a@x.com", "b@x.com", "z@x.com")), PlannedBatch("W2", ("c@x.com",))],
                       observed, start=True)
    grow, conflict = plan.changes
    assert grow.action is BatchAction.GROW and grow.missing == ("b@x.com", "z@x.com") and grow.start
    assert "adding 2 mailboxes" in grow.reason and "starting it" in grow.reason
    assert conflict.action is BatchAction.CONFLICT and conflict.extra == ("d@x.com",)
    assert "never removed" in conflict.reason and "Remove-MigrationBatch" in conflict.reason
    [warning] = plan.warnings  # the added mailbox held by another batch: Exchange fails it there
    assert "W1" in warning and "z@x.com (in Other)" in warning


def test_create_grows_an_existing_batch_once_and_reads_the_added_users_back(lab_factory, tmp_path) -> None:
    handle = lab_factory(org="demo", time_scale=0.0)
    org = handle.server.engine.org
    users = _users(org)
    config = online_config(tmp_path, handle)

    def cli(*args: str) -> Any:
        return CliRunner().invoke(app, ["--config", str(config), *args], catch_exceptions=False)

    def create(plan_dir: Path, *extra: str, json_out: bool = False) -> Any:
        return cli(*(["-o", "json"] if json_out else []), "cutover", "create", str(plan_dir), "--endpoint",
                   DEFAULT_ENDPOINT, "--target-delivery-domain", TDD, "--start", *extra)

    assert create(_plan(tmp_path, {"Other": [users[10]]})).exit_code == 0
    assert create(_plan(tmp_path, {"Wave-1": users[:4]})).exit_code == 0
    grown_plan = _plan(tmp_path, {"Wave-1": users[:6] + [users[10]]})

    what_if = create(grown_plan, "--what-if")
    assert what_if.exit_code == 0, what_if.output
    [line] = [ln for ln in what_if.output.splitlines() if ln.startswith("Set-MigrationBatch")]
    assert line.startswith("Set-MigrationBatch -Identity 'Wave-1' -AddUsers -CSVData "
                           "([System.Text.Encoding]::UTF8.GetBytes((@('EmailAddress',")
    assert all(u in line for u in (users[4], users[5], users[10])) and users[0] not in line  # only the new ones
    assert not _audit(org, "AddUsers")
    doc = json.loads(create(grown_plan, "--what-if", json_out=True).output)
    assert doc["items"][0]["action"] == "update" and doc["items"][0]["added"] == 3
    assert doc["summary"] == {"update": 1} and any("Set-MigrationBatch" in c for c in doc["commands"])

    grown = create(grown_plan, json_out=True)
    assert grown.exit_code == 1, grown.output  # the mailbox held by another batch failed in this one
    doc = json.loads(grown.output)
    batch = doc["items"][0]
    assert batch["batch"] == "Wave-1" and batch["action"] == "update" and batch["outcome"] == "updated"
    assert batch["added"] == 3 and batch["detail"].startswith("grown: added 3 mailboxes")
    rows = {i["mailbox"]: i for i in doc["items"][1:]}
    assert {rows[u]["outcome"] for u in users[:4]} == {"unchanged"}
    assert rows[users[4]]["outcome"] == rows[users[5]]["outcome"] == "created"
    assert rows[users[10]]["outcome"] == "failed" and "Other" in rows[users[10]]["detail"]
    assert doc["run_id"] and doc["summary"]["batches"] == {"updated": 1}
    [added] = _audit(org, "AddUsers")
    assert added["identity"] == "Wave-1" and sorted(added["users"]) == sorted([users[4], users[5], users[10]])
    moves = org.online.collection("MoveRequest")
    assert moves[users[4]]["BatchName"] == "MigrationService:Wave-1"  # a running batch starts its added users
    assert moves[users[10]]["BatchName"] == "MigrationService:Other"  # the duplicate stays where it was

    again = create(grown_plan, json_out=True)  # a re-run: nothing sent, the same story
    doc = json.loads(again.output)
    assert doc["items"][0]["outcome"] == "unchanged" and len(_audit(org, "AddUsers")) == 1
    table = create(grown_plan)
    assert "unchanged" in table.output and len(_audit(org, "AddUsers")) == 1

    dropped = create(_plan(tmp_path, {"Wave-1": users[1:6]}))
    assert dropped.exit_code == 2 and users[0] in dropped.output and "never removed" in dropped.output
