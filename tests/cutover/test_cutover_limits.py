"""``cutover create`` refuses up front (exit 2, nothing created) a plan that does not fit Exchange Online's batch
limit (Get-MigrationConfig MaxNumberOfBatches), saying what to remove or how to re-plan."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from hybridkit.cli import app  # noqa: E402
from hybridkit.cutover._limits import BatchRoom, check_room  # noqa: E402
from hybridkit.errors import PlanError  # noqa: E402
from hybridkit.lab import InProcessSession  # noqa: E402
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT  # noqa: E402
from hybridkit.ps import Command  # noqa: E402
from tests.cutover._labkit import online_config  # noqa: E402

TDD = "contoso.mail.onmicrosoft.com"


def test_check_room_names_completed_batches_to_remove_and_the_replan() -> None:
    room = BatchRoom(100, {f"Old-{i:03d}": ("Completed" if i < 3 else "Synced") for i in range(98)})
    check_room(["A", "B"], room)  # fits exactly
    with pytest.raises(PlanError) as info:
        check_room(["A", "B", "C", "D"], room)
    text = str(info.value)
    assert "creates 4 migration batch(es)" in text and "at most 100" in text and "room for 2" in text
    assert "Remove-MigrationBatch: Old-000, Old-001" in text and "--sync-batches 2" in text
    assert "Nothing was created" in text



def test_create_refuses_a_plan_over_the_limit_before_creating_anything(lab_factory, tmp_path) -> None:
    handle = lab_factory(org="demo", time_scale=0.0)
    org = handle.server.engine.org
    org.online.settings["migration_max_batches"] = 3
    users = sorted(str(r["PrimarySmtpAddress"]).lower() for r in org.onprem.recipients.values()
                   if r.get("RecipientTypeDetails") == "UserMailbox")
    online = InProcessSession(handle.server.engine, "online")
    for number in range(2):
        csv = f"EmailAddress\r\n{users[number]}\r\n".encode()
        assert not online.run(Command.of("New-MigrationBatch", Name=f"Old-{number}", SourceEndpoint=DEFAULT_ENDPOINT,
                                         TargetDeliveryDomain=TDD, CSVData=csv)).errors
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    batches = {"New-A": users[10:12], "New-B": users[12:14]}
    (plan_dir / "plan.json").write_text(json.dumps({"batches": [{"name": n, "mailboxes": m}
                                                                for n, m in batches.items()]}))
    config = online_config(tmp_path, handle)
    args = ["--config", str(config), "cutover", "create", str(plan_dir), "--endpoint", DEFAULT_ENDPOINT,
            "--target-delivery-domain", TDD]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "room for 1" in result.output and "--sync-batches 1" in result.output
    assert sorted(org.online.collection("MigrationBatch")) == ["Old-0", "Old-1"]  # nothing created
    what_if = CliRunner().invoke(app, [*args, "--what-if"], catch_exceptions=False)
    assert what_if.exit_code == 2 and "room for 1" in what_if.output
    (plan_dir / "plan.json").write_text(json.dumps({"batches": [{"name": "New-A", "mailboxes": batches["New-A"]}]}))
    fits = CliRunner().invoke(app, args, catch_exceptions=False)
    assert fits.exit_code == 0, fits.output
    assert sorted(org.online.collection("MigrationBatch")) == ["New-A", "Old-0", "Old-1"]
