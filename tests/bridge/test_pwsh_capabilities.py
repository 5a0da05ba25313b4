"""End to end through a ``kind = "pwsh"`` profile: every capability that reaches Exchange Online, against the lab.

The online side is a pwsh profile whose ``command`` is ``hybridkit lab pwsh --ready-file R``: a process speaking
PSRP on its stdin/stdout, as ``pwsh -NoLogo -NoProfile -s`` does, in front of the running lab's shared
organisation. Each new runspace first runs Connect-ExchangeOnline with the lab's app id and its PFX (the password
from an environment variable, as a real profile's ``certificate_password_env``). The on-prem side stays the lab's
WinRM endpoint. Each test runs one representative command of a capability and checks its JSON, the lab's
organisation afterwards, and the audit: which cmdlets ran in runspaces connected with the certificate file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT  # noqa: E402
from hybridkit.mailflow._scaffold import SCENARIOS  # noqa: E402
from tests._labconfig import PWSH_PASSWORD_ENV, lab_pfx_password, pwsh_cmdlets, write_pwsh_config  # noqa: E402
from tests.bridge._pwshkit import assert_hold_enables_a_cloud_mailbox, cli  # noqa: E402


@pytest.fixture
def pwsh_lab(lab_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Path]:
    """A fresh demo lab, and a hybridkit.toml: ``onprem`` the lab's /PowerShell, ``online`` a pwsh profile."""
    ready = tmp_path / "ready.json"
    handle = lab_factory(org="demo", ready_file=ready)
    config = write_pwsh_config(tmp_path, ready)
    monkeypatch.setenv(PWSH_PASSWORD_ENV, lab_pfx_password(ready))
    monkeypatch.chdir(tmp_path)  # journals go to ./.hybridkit of the test's own folder
    return handle, config


def test_pwsh_connect_test_shows_the_transport(pwsh_lab: tuple[Any, Path]) -> None:
    handle, config = pwsh_lab
    result = cli(config, "connect", "test", "-p", "online")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["transport"] == "out-of-process" and data["endpoint"].startswith("out-of-process: ")
    assert data["endpoint"].endswith("-m hybridkit lab pwsh --ready-file " + str(config.parent / "ready.json"))
    assert data["organization"] and "Get-OrganizationConfig" in pwsh_cmdlets(handle)
    assert data["packets_sent"] > 0 and "wsman_requests" not in data
    assert lab_pfx_password(config.parent / "ready.json") not in result.stdout + json.dumps(handle.audit_records())


def test_pwsh_inventory_reads_exchange_online(pwsh_lab: tuple[Any, Path]) -> None:
    handle, config = pwsh_lab
    out = config.parent / "inv"
    result = cli(config, "inventory", "export", "--onprem", "onprem", "--online", "online", "--out", str(out),
                 "--include", "sendas")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    cloud = [r for r in handle.server.engine.org.online.recipients.values()
             if r.get("RecipientTypeDetails") in {"UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox"}]
    assert set(manifest["sources"]) == {"onprem", "online"} and manifest["mailboxes"]["online"] == len(cloud) > 0
    assert any(c.lower() in ("get-mailbox", "get-exomailbox") for c in pwsh_cmdlets(handle))


def test_pwsh_hold_enables_a_cloud_mailbox(pwsh_lab: tuple[Any, Path]) -> None:
    handle, config = pwsh_lab
    assert_hold_enables_a_cloud_mailbox(handle, config, "Legal case 17")


def test_pwsh_cutover_creates_a_batch_in_exchange_online(pwsh_lab: tuple[Any, Path]) -> None:
    handle, config = pwsh_lab
    org = handle.server.engine.org
    members = sorted(str(r["PrimarySmtpAddress"]).lower() for r in org.onprem.recipients.values()
                     if r.get("RecipientTypeDetails") == "UserMailbox")[:3]
    plan_dir = config.parent / "plan"
    (plan_dir / "batches").mkdir(parents=True)  # as `hybridkit batches plan` writes it
    (plan_dir / "plan.json").write_text(json.dumps({"batches": [{"name": "Wave-pwsh", "mailboxes": members}]}))
    (plan_dir / "batches" / "Wave-pwsh.csv").write_text("EmailAddress\n" + "\n".join(members) + "\n")
    result = cli(config, "cutover", "create", str(plan_dir), "--endpoint", DEFAULT_ENDPOINT,
                 "--target-delivery-domain", "contoso.mail.onmicrosoft.com")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["items"][0]["batch"] == "Wave-pwsh" and doc["items"][0]["outcome"] == "created"
    assert sorted(i["mailbox"] for i in doc["items"][1:]) == members
    assert "Wave-pwsh" in org.online.collection("MigrationBatch")
    assert "New-MigrationBatch" in pwsh_cmdlets(handle)


def test_pwsh_mailflow_applies_the_online_connector(pwsh_lab: tuple[Any, Path]) -> None:
    handle, config = pwsh_lab
    org = handle.server.engine.org
    spec = config.parent / "mailflow.toml"
    spec.write_text(SCENARIOS["azure-relay"], encoding="utf-8")
    result = cli(config, "mailflow", "apply", str(spec), "--onprem", "onprem", "--online", "online", "--yes")
    assert result.exit_code == 0, result.output
    applied = json.loads(result.stdout)
    assert [(i["side"], i["outcome"]) for i in applied["items"] if i["side"] == "online" and i["outcome"] != "unchanged"
            ] == [("online", "created")]
    assert org.online.collection("InboundConnector")["From on-premises relay"]["SenderIPAddresses"] == ["203.0.113.25"]
    assert "New-InboundConnector" in pwsh_cmdlets(handle)


def test_pwsh_decommission_plan_reads_both_sides(pwsh_lab: tuple[Any, Path]) -> None:
    handle, config = pwsh_lab
    result = cli(config, "decommission", "plan", "--onprem", "onprem", "--online", "online")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert [b["name"] for b in plan["blockers"]] == ["mailboxes-onprem"]
    online_objects = [o for o in plan["objects"] if o["side"] == "online"]
    assert {o["kind"] for o in online_objects} >= {"InboundConnector", "OutboundConnector"}
    assert {"Get-InboundConnector", "Get-OutboundConnector"} <= set(pwsh_cmdlets(handle))
