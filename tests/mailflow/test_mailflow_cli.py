"""End to end: the real CLI, the real bridge, the lab over loopback (both endpoints)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hybridkit.cli import app
from hybridkit.lab._types import LabError
from hybridkit.lab.exchange.cmdlets._registry import HANDLERS
from hybridkit.mailflow._scaffold import SCENARIOS
from tests._labconfig import write_two_sided_config

pytest.importorskip("hybridkit.lab.exchange.engine")


@pytest.fixture
def env(lab_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    ready = tmp_path / "ready.json"
    lab = lab_factory(org="demo", ready_file=ready)
    config = write_two_sided_config(tmp_path, ready)
    spec = tmp_path / "mailflow.toml"
    spec.write_text(SCENARIOS["azure-relay"], encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return lab, config, spec


def cli(config: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(config), *args])


def plan_json(config: Path, spec: Path) -> dict[str, Any]:
    result = cli(config, "mailflow", "plan", str(spec), "--onprem", "onprem", "--online", "online", "--output", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_plan_apply_replan_and_what_if(env) -> None:  # type: ignore[no-untyped-def]
    lab, config, spec = env
    org = lab.server.engine.org
    first = plan_json(config, spec)
    assert first["summary"]["create"] == 3 and first["has_changes"]
    assert [c["command"].split()[0] for c in first["items"] if c["action"] == "create"] == [
        "New-AcceptedDomain", "New-InboundConnector", "New-SendConnector"]
    undeclared = {c["name"] for c in first["items"] if c["detail"] == "present, not declared: left alone"}
    assert {c["action"] for c in first["items"]} == {"create", "none"}
    assert any(n.startswith("Inbound from ") for n in undeclared)

    what_if = cli(config, "mailflow", "apply", str(spec), "--what-if")
    assert what_if.exit_code == 0
    assert "New-SendConnector -Name 'My company to Office 365' -AddressSpaces @('*')" in what_if.stdout
    assert "My company to Office 365" not in org.onprem.collection("SendConnector")

    as_json = cli(config, "-o", "json", "mailflow", "apply", str(spec), "--what-if")
    planned = json.loads(as_json.stdout)
    assert planned["what_if"] is True and planned["run_id"] is None and planned["resumed"] is False
    assert [c.split()[0] for c in planned["commands"]] == ["New-AcceptedDomain", "New-InboundConnector",
                                                           "New-SendConnector"]
    assert [(i["side"], i["action"]) for i in planned["items"] if i["action"] != "none"] == [
        ("onprem", "create"), ("online", "create"), ("onprem", "create")]
    assert planned["summary"]["create"] == 3

    refused = CliRunner().invoke(app, ["--config", str(config), "mailflow", "apply", str(spec)], input="")
    assert refused.exit_code != 0 and "My company to Office 365" not in org.onprem.collection("SendConnector")

    applied = cli(config, "mailflow", "apply", str(spec), "--yes")
    assert applied.exit_code == 0, applied.output
    live = org.onprem.collection("SendConnector")["My company to Office 365"]
    assert live["DNSRoutingEnabled"] is False and live["TlsAuthLevel"] == "CertificateValidation"
    assert org.online.collection("InboundConnector")["From on-premises relay"]["SenderIPAddresses"] == ["203.0.113.25"]

    again = plan_json(config, spec)
    assert not again["has_changes"] and [i["detail"] for i in again["items"]].count("unchanged") == 3
    second = cli(config, "-o", "json", "mailflow", "apply", str(spec), "--yes")
    unchanged = json.loads(second.stdout)
    assert second.exit_code == 0 and unchanged["run_id"] is None and unchanged["what_if"] is False
    assert {i["outcome"] for i in unchanged["items"]} == {"unchanged"}


def test_partial_drift_corrected(env) -> None:  # type: ignore[no-untyped-def]
    lab, config, spec = env
    org = lab.server.engine.org
    assert cli(config, "mailflow", "apply", str(spec), "--yes").exit_code == 0
    org.onprem.collection("SendConnector")["My company to Office 365"]["RequireTLS"] = False
    org.onprem.collection("SendConnector")["My company to Office 365"]["TlsAuthLevel"] = None
    drift = plan_json(config, spec)
    updates = [c for c in drift["items"] if c["action"] == "update"]
    assert [(u["name"], sorted(p["property"] for p in u["changes"])) for u in updates] == [
        ("My company to Office 365", ["RequireTLS", "TlsAuthLevel"])]
    assert updates[0]["command"] == ("Set-SendConnector -Identity 'My company to Office 365' -RequireTLS:$true "
                                     "-TlsAuthLevel 'CertificateValidation'")
    assert cli(config, "mailflow", "apply", str(spec), "--yes").exit_code == 0
    assert not plan_json(config, spec)["has_changes"]


def test_failure_on_one_side_mid_apply_resumes_without_duplicates(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    lab, config, spec = env
    org = lab.server.engine.org

    def broken(ctx: Any) -> None:  # a seeded failure on the Exchange Online side
        raise ctx.terminate(LabError("The remote server returned an error: (503) Server Unavailable.",
                                     category="ResourceUnavailable"))

    with monkeypatch.context() as patch:
        patch.setitem(HANDLERS, "new-inboundconnector", broken)
        failed = cli(config, "-o", "json", "mailflow", "apply", str(spec), "--yes")
    assert failed.exit_code == 1
    first = json.loads(failed.stdout)
    acted = [(i["kind"], i["outcome"]) for i in first["items"] if i["action"] != "none"]
    assert acted == [("AcceptedDomain", "created"), ("InboundConnector", "failed"), ("SendConnector", "not-run")]
    assert "(503) Server Unavailable" in first["items"][[i["kind"] for i in first["items"]].index("InboundConnector")][
        "detail"]
    assert first["summary"]["failed"] == 1 and first["summary"]["created"] == 1
    assert "My company to Office 365" not in org.onprem.collection("SendConnector")

    resumed = cli(config, "-o", "json", "mailflow", "apply", str(spec), "--yes")
    assert resumed.exit_code == 0, resumed.output
    data = json.loads(resumed.stdout)
    assert data["resumed"] is True
    assert [(i["name"], i["outcome"]) for i in data["items"] if i["action"] != "none"] == [
        ("From on-premises relay", "created"), ("My company to Office 365", "created")]
    assert data["run_id"] == first["run_id"]
    domains = [d for d in org.onprem.collection("AcceptedDomain").values() if d["DomainName"] == "fabrikam.com"]
    assert len(domains) == 1
    assert not plan_json(config, spec)["has_changes"]
    journal = cli(config, "-o", "json", "journal", "list")
    assert journal.exit_code == 0, journal.output
    runs = [r for r in json.loads(journal.stdout)["items"] if r.get("kind") == "mailflow"]
    assert len(runs) == 1 and runs[0]["status"] == "completed" and runs[0]["steps"]["done"] == 3


def test_invalid_file_exits_2_with_lines_before_connecting(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lab, config, _ = env
    bad = tmp_path / "bad.toml"
    bad.write_text('[[onprem.send_connector]]\nName = "x"\nAddressSpaces = ["*"]\nTlsAuthLevel = "EncryptionOnly"\n'
                   '\n[[online.inbound_connector]]\nName = "y"\nSenderDomains = "*"\nSenderIPAddresses = ["::1"]\n')
    before = len(lab.audit_records("pipeline"))
    result = cli(config, "mailflow", "plan", str(bad))
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "bad.toml:4: TlsAuthLevel needs RequireTLS = true" in text
    assert "bad.toml:9: SenderIPAddresses: '::1' is IPv6" in text
    assert len(lab.audit_records("pipeline")) == before


def test_emit_ps_and_scaffold(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lab, config, spec = env
    runbook = tmp_path / "runbook.ps1"
    assert cli(config, "mailflow", "apply", str(spec), "--emit-ps", str(runbook)).exit_code == 0
    text = runbook.read_text(encoding="utf-8")
    assert "New-InboundConnector -Name 'From on-premises relay'" in text and "$ErrorActionPreference" in text
    assert "From on-premises relay" not in lab.server.engine.org.online.collection("InboundConnector")
    out = tmp_path / "hybrid.toml"
    assert cli(config, "mailflow", "scaffold", "--scenario", "hybrid", "--out", str(out)).exit_code == 0
    assert cli(config, "mailflow", "scaffold", "--scenario", "hybrid", "--out", str(out)).exit_code == 2
    assert plan_json(config, out)["summary"]["create"] >= 3


def test_exchange_2010_refuses_cloud_services_mail_before_sending(lab_factory, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ready = tmp_path / "ready.json"
    lab = lab_factory(org="demo", version="2010", ready_file=ready)
    config = write_two_sided_config(tmp_path, ready, onprem_extra='exchange_version = "2010"')
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "mailflow.toml"
    text = SCENARIOS["azure-relay"]
    spec.write_text(text, encoding="utf-8")
    line = text.splitlines().index("CloudServicesMailEnabled = true") + 1
    refused = cli(config, "mailflow", "plan", str(spec))
    assert refused.exit_code == 2
    assert f"mailflow.toml:{line}: CloudServicesMailEnabled needs Exchange 2013 or later" in " ".join(refused.output.split())
    assert lab.audit_records("pipeline") == []
    spec.write_text(text.replace("CloudServicesMailEnabled = true\n", ""), encoding="utf-8")
    applied = cli(config, "mailflow", "apply", str(spec), "--yes")
    assert applied.exit_code == 0, applied.output
    assert not plan_json(config, spec)["has_changes"]


def test_exchange_2010_found_from_the_servers_when_the_profile_does_not_say(lab_factory, tmp_path: Path,
                                                                             monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A lab (or real) profile without exchange_version defaults to 2019: the servers' own version decides."""
    ready = tmp_path / "ready.json"
    lab = lab_factory(org="demo", version="2010", ready_file=ready)
    config = write_two_sided_config(tmp_path, ready)
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "mailflow.toml"
    text = SCENARIOS["azure-relay"]
    spec.write_text(text, encoding="utf-8")
    line = text.splitlines().index("CloudServicesMailEnabled = true") + 1
    refused = cli(config, "mailflow", "apply", str(spec), "--yes")
    assert refused.exit_code == 2
    assert f"mailflow.toml:{line}: CloudServicesMailEnabled needs Exchange 2013 or later" in " ".join(refused.output.split())
    sent = [c for r in lab.audit_records("pipeline") for c in r.get("cmdlets", [])]
    assert not [c for c in sent if c.split("-")[0] in ("New", "Set", "Remove")], sent
    spec.write_text(text.replace("[onprem]\n", '[onprem]\nexchange_version = "2019"\n'), encoding="utf-8")
    wrong = cli(config, "mailflow", "plan", str(spec))
    assert wrong.exit_code == 2
    assert 'exchange_version = "2019" but the on-prem servers run Exchange 2010' in " ".join(wrong.output.split())


def test_swapped_profiles_are_refused_before_connecting(env) -> None:  # type: ignore[no-untyped-def]
    lab, config, spec = env
    swapped = cli(config, "mailflow", "apply", str(spec), "--onprem", "online", "--online", "onprem", "--yes")
    assert swapped.exit_code == 2
    assert "--onprem online: that is an Exchange Online profile" in " ".join(swapped.output.split())
    same = cli(config, "mailflow", "plan", str(spec), "--online", "onprem")
    assert same.exit_code == 2 and "that is an on-premises Exchange profile" in " ".join(same.output.split())
    assert lab.audit_records("pipeline") == []


def test_apply_without_yes_and_no_terminal_fails_closed(env) -> None:  # type: ignore[no-untyped-def]
    lab, config, spec = env
    refused = CliRunner().invoke(app, ["--config", str(config), "mailflow", "apply", str(spec)], input="y\n")
    assert refused.exit_code == 2 and "pass --yes" in " ".join(refused.output.split())
    assert "From on-premises relay" not in lab.server.engine.org.online.collection("InboundConnector")
    assert not [r for r in lab.audit_records("pipeline") if any(c.startswith("New-") for c in r.get("cmdlets", []))]


def test_unwritable_output_files_are_one_line_errors(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lab, config, spec = env
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    emitted = cli(config, "mailflow", "apply", str(spec), "--emit-ps", str(blocker / "r.ps1"))
    assert emitted.exit_code == 2 and "cannot write" in emitted.output and "Traceback" not in emitted.output
    scaffold = cli(config, "mailflow", "scaffold", "--out", str(blocker / "m.toml"))
    assert scaffold.exit_code == 2 and "cannot write" in scaffold.output


def test_runbook_injection_through_a_name_or_the_file_name_is_refused_or_inert(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 14 item 9: a name with line breaks is refused (file and line); a hostile file name stays in comments."""
    from tests._ps_tokens import tokenize

    lab, config, spec = env
    evil = tmp_path / "evil.toml"
    evil.write_text(SCENARIOS["azure-relay"].replace(
        'Name = "My company to Office 365"',
        'Name = "Relay\\nRemove-Mailbox -Identity ceo@contoso.com -Confirm:$false\\n#"'), encoding="utf-8")
    line = evil.read_text(encoding="utf-8").splitlines().index(
        'Name = "Relay\\nRemove-Mailbox -Identity ceo@contoso.com -Confirm:$false\\n#"') + 1
    refused = cli(config, "mailflow", "apply", str(evil), "--emit-ps", str(tmp_path / "r.ps1"))
    assert refused.exit_code == 2
    assert f"evil.toml:{line}: Name contains a control character (U+000A)" in " ".join(refused.output.split())
    assert not (tmp_path / "r.ps1").exists()
    hostile = tmp_path / "mf#>Remove-Mailbox -Identity ceo -Confirm:$false<#.toml"
    hostile.write_text(SCENARIOS["azure-relay"], encoding="utf-8")
    written = cli(config, "mailflow", "apply", str(hostile), "--emit-ps", str(tmp_path / "r.ps1"))
    assert written.exit_code == 0, written.output
    parsed = tokenize((tmp_path / "r.ps1").read_text(encoding="utf-8"))
    assert parsed.errors == [] and len(parsed.block_comments) == 1
    assert [s[0].text for s in parsed.statements] == [
        "$ErrorActionPreference", "New-AcceptedDomain", "New-InboundConnector", "New-SendConnector"]
