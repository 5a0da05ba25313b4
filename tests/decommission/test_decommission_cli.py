"""End to end: `hybridkit decommission plan|apply|restore` against the lab over loopback (both endpoints)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hybridkit.cli import app
from hybridkit.journal import Journal
from hybridkit.lab._types import LabError
from hybridkit.lab.exchange.cmdlets._registry import HANDLERS
from tests._labconfig import write_two_sided_config

pytest.importorskip("hybridkit.lab.exchange.engine")

USER_TYPES = {"UserMailbox": "RemoteUserMailbox", "SharedMailbox": "RemoteSharedMailbox",
              "RoomMailbox": "RemoteRoomMailbox", "EquipmentMailbox": "RemoteEquipmentMailbox"}


@pytest.fixture
def env(lab_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    ready = tmp_path / "ready.json"
    lab = lab_factory(org="demo", ready_file=ready)
    config = write_two_sided_config(tmp_path, ready)
    monkeypatch.chdir(tmp_path)
    return lab, config, tmp_path


def cli(config: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(config), *args])


def migrate_everything(org: Any) -> None:
    """What a finished migration leaves on-prem: every user/shared/room/equipment mailbox a remote mailbox."""
    for rec in org.onprem.recipients.values():
        if rec.get("RecipientTypeDetails") in USER_TYPES:
            rec["RecipientTypeDetails"] = USER_TYPES[rec["RecipientTypeDetails"]]
            rec["RecipientType"] = "MailUser"
            rec.pop("Database", None)
    try:
        from hybridkit.lab.exchange.identity import invalidate

        invalidate(org.onprem)
    except ImportError:
        pass


def hcw_names(org: Any) -> dict[str, list[str]]:
    kinds = ("InboundConnector", "OutboundConnector", "OrganizationRelationship", "IntraOrganizationConnector",
             "SendConnector", "HybridConfiguration")
    out = {}
    for side_name in ("onprem", "online"):
        side = org.side(side_name)
        out[side_name] = sorted(f"{k}:{n}" for k in kinds for n in side.collection(k))
    return out


def pipelines(lab: Any, cmdlet: str) -> int:
    return sum(1 for r in lab.audit_records("pipeline") if cmdlet in r.get("cmdlets", []))


def test_plan_with_blockers_refuses_and_changes_nothing(env) -> None:  # type: ignore[no-untyped-def]
    lab, config, tmp = env
    org = lab.server.engine.org
    before = hcw_names(org)
    planned = cli(config, "-o", "json", "decommission", "plan")
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    assert [b["name"] for b in plan["blockers"]] == ["mailboxes-onprem"]
    assert len(plan["items"]) == 7 and plan["items"][0]["command"].startswith("Remove-InboundConnector -Identity 'Inbound from ")
    assert {i["action"] for i in plan["items"]} == {"remove"} and plan["summary"] == {"remove": 7}
    assert all(isinstance(w, str) for w in plan["warnings"])
    assert any(m["type"] == "ArbitrationMailbox" for m in plan["system_mailboxes"])
    refused = cli(config, "decommission", "apply", "--backup", str(tmp / "backup"), "--yes")
    assert refused.exit_code == 2
    assert "mailboxes-onprem" in refused.output
    assert hcw_names(org) == before and not (tmp / "backup").exists()
    assert pipelines(lab, "Remove-InboundConnector") == 0
    # public folders still served from on-prem block too (folders on-prem; EXO reading them remotely)
    org.onprem.collection("PublicFolder").update({"\\": {"Name": "IPM_SUBTREE"}, "\\Sales": {"Name": "Sales"}})
    next(iter(org.online.collection("OrganizationConfig").values()))["PublicFoldersEnabled"] = "Remote"
    again = json.loads(cli(config, "-o", "json", "decommission", "plan").stdout)
    folders = next(b for b in again["blockers"] if b["name"] == "public-folders")
    assert folders["details"] == ["1 public folder(s) still on-prem", "Exchange Online PublicFoldersEnabled is "
                                  "Remote: cloud users read public folders from on-prem"]


def test_after_migration_apply_then_restore(env) -> None:  # type: ignore[no-untyped-def]
    lab, config, tmp = env
    org = lab.server.engine.org
    migrate_everything(org)
    inbound_before = dict(next(iter(org.online.collection("InboundConnector").values())))
    plan = json.loads(cli(config, "-o", "json", "decommission", "plan").stdout)
    assert plan["blockers"] == []
    runbook = tmp / "teardown.ps1"
    applied = cli(config, "decommission", "apply", "--backup", str(tmp / "backup"), "--yes", "--runbook", str(runbook))
    assert applied.exit_code == 0, applied.output
    text = " ".join(applied.output.split())
    assert "7 removal(s) done, 0 failed" in text and "do NOT uninstall" in text
    assert hcw_names(org) == {"onprem": ["HybridConfiguration:Hybrid Configuration"], "online": []}
    manifest = json.loads((tmp / "backup" / "manifest.json").read_text())
    assert len(manifest["objects"]) == 7
    assert "Remove-SendConnector -Identity 'Outbound to Office 365 - " in runbook.read_text()
    assert "[ ] " in runbook.read_text() and "${" not in runbook.read_text()
    with Journal(tmp / ".hybridkit" / "journal.sqlite") as journal:
        run = journal.list_runs(kind="decommission")[0]
        assert run.status.value == "completed"
    # nothing left: a second apply removes nothing
    again = cli(config, "-o", "json", "decommission", "apply", "--backup", str(tmp / "backup"), "--yes")
    assert again.exit_code == 0 and json.loads(again.stdout)["items"] == []

    name = inbound_before["Name"]
    one = cli(config, "-o", "json", "decommission", "restore", "--backup", str(tmp / "backup"), "--only", name)
    assert one.exit_code == 0, one.output
    assert [(r["name"], r["outcome"]) for r in json.loads(one.stdout)["items"]] == [(name, "created")]
    restored = org.online.collection("InboundConnector")[name]
    for prop in ("ConnectorType", "ConnectorSource", "SenderDomains", "RequireTls", "RestrictDomainsToCertificate",
                 "TlsSenderCertificateName", "CloudServicesMailEnabled"):
        assert restored[prop] == inbound_before[prop], prop
    everything = cli(config, "-o", "json", "decommission", "restore", "--backup", str(tmp / "backup"))
    statuses = {(r["kind"], r["side"]): r["outcome"] for r in json.loads(everything.stdout)["items"]}
    assert statuses[("InboundConnector", "online")] == "unchanged"
    assert sorted(statuses.values()).count("created") == 6
    assert hcw_names(org)["online"] and len(json.loads(cli(config, "-o", "json", "decommission", "plan").stdout)["items"]) == 7


def test_interrupted_apply_resumes_without_repeating_removals(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    lab, config, tmp = env
    org = lab.server.engine.org
    migrate_everything(org)
    original = HANDLERS["remove-organizationrelationship"]

    def flaky(ctx: Any) -> None:  # the on-prem side fails mid-teardown
        if not ctx.is_online:
            raise ctx.terminate(LabError("The remote server returned an error: (503) Server Unavailable."))
        original(ctx)

    with monkeypatch.context() as patch:
        patch.setitem(HANDLERS, "remove-organizationrelationship", flaky)
        broken = cli(config, "-o", "json", "decommission", "apply", "--backup", str(tmp / "backup"), "--yes")
    assert broken.exit_code == 1
    first = json.loads(broken.stdout)
    assert [r["outcome"] for r in first["items"]] == ["removed"] * 3 + ["failed"] + ["not-run"] * 3
    assert "(503) Server Unavailable" in first["items"][3]["detail"]
    assert first["summary"] == {"removed": 3, "failed": 1, "not-run": 3} and first["what_if"] is False
    assert org.onprem.collection("IntraOrganizationConnector")  # later steps never ran

    resumed = cli(config, "-o", "json", "decommission", "apply", "--backup", str(tmp / "backup"), "--yes")
    assert resumed.exit_code == 0, resumed.output
    second = json.loads(resumed.stdout)
    assert second["resumed"] is True and second["run_id"] == first["run_id"]
    assert [(r["kind"], r["outcome"]) for r in second["items"]] == [
        ("OrganizationRelationship", "removed"), ("IntraOrganizationConnector", "removed"),
        ("IntraOrganizationConnector", "removed"), ("SendConnector", "removed")]
    assert pipelines(lab, "Remove-InboundConnector") == 1 and pipelines(lab, "Remove-OutboundConnector") == 1
    assert second["backup_entries"] == 7  # the first run's backups kept, the rest added
    assert "Remove-MailboxDatabase" in (tmp / "backup" / "decommission-runbook.ps1").read_text()
    assert hcw_names(org)["online"] == []


def test_waiver_is_recorded_and_backup_tampering_detected(env) -> None:  # type: ignore[no-untyped-def]
    lab, config, tmp = env
    unknown = cli(config, "decommission", "apply", "--backup", str(tmp / "b"), "--yes", "--accept-blocker", "mailbox")
    assert unknown.exit_code == 2
    done = cli(config, "decommission", "apply", "--backup", str(tmp / "b"), "--yes",
               "--accept-blocker", "mailboxes-onprem")
    assert done.exit_code == 0, done.output
    with Journal(tmp / ".hybridkit" / "journal.sqlite") as journal:
        run = journal.list_runs(kind="decommission")[0]
        waiver = journal.step(run.run_id, "waiver:mailboxes-onprem")
        assert waiver.outcome == "waived" and "mailbox(es) still on-prem" in waiver.rendered
    victim = next(p for p in (tmp / "b").iterdir() if p.name.startswith("online-InboundConnector"))
    victim.write_text(victim.read_text().replace("OnPremises", "Partner"))
    tampered = cli(config, "decommission", "restore", "--backup", str(tmp / "b"))
    assert tampered.exit_code == 2 and "checksum" in tampered.output


def test_release_comes_from_the_servers_when_the_profile_does_not_say(lab_factory, tmp_path: Path,
                                                                       monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An Exchange 2010 org behind a profile with no exchange_version (default 2019): no 2013+ reads, 2010 commands."""
    ready = tmp_path / "ready.json"
    lab = lab_factory(org="demo", version="2010", ready_file=ready)
    config = write_two_sided_config(tmp_path, ready)
    monkeypatch.chdir(tmp_path)
    plan = json.loads(cli(config, "-o", "json", "decommission", "plan").stdout)
    assert not [w for w in plan["warnings"] if "IntraOrganizationConnector" in json.dumps(w)]
    commands = " ".join(m.get("command") or "" for m in plan["manual"])
    assert "Set-ClientAccessServer" in commands and "Remove-HybridConfiguration" not in commands
    org = lab.server.engine.org
    migrate_everything(org)
    send = next(iter(org.onprem.collection("SendConnector").values()))
    send.pop("CloudServicesMailEnabled", None)  # no such property before 2013
    applied = cli(config, "decommission", "apply", "--backup", str(tmp_path / "b"), "--yes")
    assert applied.exit_code == 0, applied.output
    restored = cli(config, "-o", "json", "decommission", "restore", "--backup", str(tmp_path / "b"))
    assert restored.exit_code == 0, restored.output
    assert {r["outcome"] for r in json.loads(restored.stdout)["items"]} == {"created"}


def test_plan_and_runbook_put_dns_and_scp_first(env) -> None:  # type: ignore[no-untyped-def]
    lab, config, tmp = env
    shown = cli(config, "decommission", "plan", "--runbook", str(tmp / "r.ps1"))
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert text.index("First, by hand") < text.index("Point MX") < text.index("Steps, in order") < \
        text.index("Then, by hand") < text.index("Remove-MailboxDatabase")
    runbook = (tmp / "r.ps1").read_text()
    assert runbook.index("Point MX") < runbook.index("Remove-InboundConnector") < runbook.index("Remove-MailboxDatabase")
    manual = json.loads(cli(config, "-o", "json", "decommission", "plan").stdout)["manual"]
    assert [m["when"] for m in manual][:2] == ["before", "before"] and manual[-1]["when"] == "after"


def test_restore_only_one_side_of_a_shared_name(env) -> None:  # type: ignore[no-untyped-def]
    """Both sides hold 'HybridIOC - <guid>': --only online:NAME restores just the cloud one."""
    lab, config, tmp = env
    org = lab.server.engine.org
    migrate_everything(org)
    assert cli(config, "decommission", "apply", "--backup", str(tmp / "b"), "--yes").exit_code == 0
    ioc = json.loads((tmp / "b" / "manifest.json").read_text())["objects"]
    ioc_name = next(o["name"] for o in ioc if o["kind"] == "IntraOrganizationConnector")
    one = cli(config, "-o", "json", "decommission", "restore", "--backup", str(tmp / "b"), "--only", f"online:{ioc_name}")
    assert one.exit_code == 0, one.output
    assert [(r["side"], r["outcome"]) for r in json.loads(one.stdout)["items"]] == [("online", "created")]
    assert ioc_name in org.online.collection("IntraOrganizationConnector")
    assert ioc_name not in org.onprem.collection("IntraOrganizationConnector")
    missing = cli(config, "decommission", "restore", "--backup", str(tmp / "b"), "--only", "online:nope")
    assert missing.exit_code == 2 and "SIDE:NAME" in " ".join(missing.output.split())


def test_swapped_profiles_are_refused_before_connecting(env) -> None:  # type: ignore[no-untyped-def]
    lab, config, tmp = env
    before = hcw_names(lab.server.engine.org)
    for command in (["plan"], ["apply", "--backup", str(tmp / "b"), "--yes"], ["restore", "--backup", str(tmp / "b")]):
        swapped = cli(config, "decommission", *command, "--onprem", "online", "--online", "onprem")
        assert swapped.exit_code == 2, command
        assert "were --onprem and --online swapped?" in " ".join(swapped.output.split())
    assert lab.audit_records("pipeline") == [] and hcw_names(lab.server.engine.org) == before


def test_resume_says_which_interrupted_removals_had_gone_through(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The last removal reached Exchange but its answer was lost: the re-run says so instead of only 'nothing left'."""
    lab, config, tmp = env
    org = lab.server.engine.org
    migrate_everything(org)
    original = HANDLERS["remove-sendconnector"]

    def lost_answer(ctx: Any) -> None:
        original(ctx)
        raise ctx.terminate(LabError("The remote server returned an error: (503) Server Unavailable."))

    with monkeypatch.context() as patch:
        patch.setitem(HANDLERS, "remove-sendconnector", lost_answer)
        broken = cli(config, "decommission", "apply", "--backup", str(tmp / "backup"), "--yes")
    assert broken.exit_code == 1
    resumed = cli(config, "decommission", "apply", "--backup", str(tmp / "backup"), "--yes")
    assert resumed.exit_code == 0, resumed.output
    text = " ".join(resumed.output.split())
    assert "1 interrupted removal(s) had already gone through: onprem:SendConnector:Outbound to Office 365 - " in text
    assert pipelines(lab, "Remove-SendConnector") == 1


def test_without_yes_and_no_terminal_it_fails_closed(env) -> None:  # type: ignore[no-untyped-def]
    """No --yes and stdin not a TTY (cron, CI, a pipe): exit 2, no backup written, nothing removed."""
    lab, config, tmp = env
    org = lab.server.engine.org
    migrate_everything(org)
    before = hcw_names(org)
    refused = CliRunner().invoke(app, ["--config", str(config), "decommission", "apply", "--backup",
                                       str(tmp / "b")], input="y\n")
    assert refused.exit_code == 2
    assert "pass --yes" in " ".join(refused.output.split())
    assert hcw_names(org) == before and not (tmp / "b").exists()
    assert pipelines(lab, "Remove-InboundConnector") == 0 and pipelines(lab, "Remove-SendConnector") == 0


def test_unwritable_runbook_is_one_line_and_nothing_removed(env) -> None:  # type: ignore[no-untyped-def]
    lab, config, tmp = env
    org = lab.server.engine.org
    migrate_everything(org)
    before = hcw_names(org)
    blocker = tmp / "a-file"
    blocker.write_text("not a directory")
    planned = cli(config, "decommission", "plan", "--runbook", str(blocker / "r.ps1"))
    assert planned.exit_code == 2 and "cannot write" in planned.output and "Traceback" not in planned.output
    applied = cli(config, "decommission", "apply", "--backup", str(tmp / "b"), "--yes", "--runbook",
                  str(blocker / "r.ps1"))
    assert applied.exit_code == 2 and "cannot write" in applied.output
    assert hcw_names(org) == before and not (tmp / "b").exists()
    no_backup = cli(config, "decommission", "apply", "--backup", str(blocker / "b"), "--yes")
    assert no_backup.exit_code == 2 and "Traceback" not in no_backup.output
    assert "cannot write the backup to" in " ".join(no_backup.output.split())
    assert hcw_names(org) == before and pipelines(lab, "Remove-InboundConnector") == 0


CHANGE_VERBS = ("New-", "Set-", "Remove-", "Enable-", "Disable-", "Add-", "Update-")


def changes_sent(lab: Any) -> list[str]:
    return [c for r in lab.audit_records("pipeline") for c in r.get("cmdlets", []) if c.startswith(CHANGE_VERBS)]


def test_apply_what_if_prints_the_removals_in_order_and_changes_nothing(env) -> None:  # type: ignore[no-untyped-def]
    """Issue 14 item 10: the README promises --what-if on every command that changes Exchange."""
    lab, config, tmp = env
    org = lab.server.engine.org
    before = hcw_names(org)
    shown = cli(config, "decommission", "apply", "--backup", str(tmp / "b"), "--what-if",
                "--accept-blocker", "mailboxes-onprem")
    assert shown.exit_code == 0, shown.output
    lines = [line for line in shown.stdout.splitlines() if not line.startswith("#")]
    planned = json.loads(cli(config, "-o", "json", "decommission", "plan").stdout)["items"]
    assert lines == [i["command"] for i in planned] and len(lines) == 7
    assert lines[0].startswith("Remove-InboundConnector -Identity 'Inbound from ")
    as_json = json.loads(cli(config, "-o", "json", "decommission", "apply", "--backup", str(tmp / "b"), "--what-if",
                             "--accept-blocker", "mailboxes-onprem").stdout)
    assert as_json["what_if"] is True and as_json["run_id"] is None and as_json["resumed"] is False
    assert as_json["commands"] == lines and [i["action"] for i in as_json["items"]] == ["remove"] * 7
    assert as_json["summary"] == {"remove": 7}
    refused = cli(config, "decommission", "apply", "--backup", str(tmp / "b"), "--what-if")
    assert refused.exit_code == 2 and "mailboxes-onprem" in refused.output  # apply would refuse: so does what-if
    assert changes_sent(lab) == [] and hcw_names(org) == before
    assert not (tmp / "b").exists() and not (tmp / ".hybridkit" / "journal.sqlite").exists()


def test_restore_is_journaled_and_resumes_without_sending_a_step_twice(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Issue 14 item 14: an interrupted restore resumes its run; a creation whose answer was lost is not resent."""
    lab, config, tmp = env
    org = lab.server.engine.org
    migrate_everything(org)
    assert cli(config, "decommission", "apply", "--backup", str(tmp / "b"), "--yes").exit_code == 0
    original = HANDLERS["new-outboundconnector"]

    def lost_answer(ctx: Any) -> None:  # Exchange creates it, the answer never arrives
        original(ctx)
        raise ctx.terminate(LabError("The remote server returned an error: (503) Server Unavailable."))

    with monkeypatch.context() as patch:
        patch.setitem(HANDLERS, "new-outboundconnector", lost_answer)
        broken = cli(config, "-o", "json", "decommission", "restore", "--backup", str(tmp / "b"))
    assert broken.exit_code == 1
    first = json.loads(broken.stdout)
    outcomes = {i["kind"] + ":" + i["side"]: i["outcome"] for i in first["items"]}
    assert outcomes["OutboundConnector:online"] == "failed" and outcomes["InboundConnector:online"] == "not-run"
    assert first["run_id"] and first["what_if"] is False
    with Journal(tmp / ".hybridkit" / "journal.sqlite") as journal:
        assert journal.get_run(first["run_id"]).status.value in ("failed", "interrupted")

    resumed = cli(config, "-o", "json", "decommission", "restore", "--backup", str(tmp / "b"))
    assert resumed.exit_code == 0, resumed.output
    second = json.loads(resumed.stdout)
    assert second["resumed"] is True and second["run_id"] == first["run_id"]
    outcomes = {i["kind"] + ":" + i["side"]: (i["outcome"], i["detail"]) for i in second["items"]}
    assert outcomes["OutboundConnector:online"] == (
        "created", "an interrupted restore had already created it (checked live)")
    assert outcomes["InboundConnector:online"][0] == "created"
    assert pipelines(lab, "New-OutboundConnector") == 1 and pipelines(lab, "New-InboundConnector") == 1
    assert pipelines(lab, "New-IntraOrganizationConnector") == 2  # one per side, each once
    with Journal(tmp / ".hybridkit" / "journal.sqlite") as journal:
        run = journal.get_run(first["run_id"])
        assert run.kind == "decommission-restore" and run.status.value == "completed"
    again = json.loads(cli(config, "-o", "json", "decommission", "restore", "--backup", str(tmp / "b")).stdout)
    assert again["run_id"] is None and {i["outcome"] for i in again["items"]} == {"unchanged"}


def test_an_unwritable_runbook_is_refused_before_any_removal(env) -> None:  # type: ignore[no-untyped-def]
    """Issue 14 item 15: /proc/r.ps1 has an existing parent, so only a real write test finds it unwritable."""
    lab, config, tmp = env
    org = lab.server.engine.org
    migrate_everything(org)
    before = hcw_names(org)
    refused = cli(config, "decommission", "apply", "--backup", str(tmp / "b"), "--yes", "--runbook", "/proc/r.ps1")
    assert refused.exit_code == 2 and "cannot write /proc/r.ps1" in " ".join(refused.output.split())
    assert "Traceback" not in refused.output and hcw_names(org) == before and changes_sent(lab) == []


def test_every_read_selects_only_the_columns_it_uses(env) -> None:  # type: ignore[no-untyped-def]
    """Issue 13, data diet: discovery, the backup's reads and restore's live checks end in Select-Object -Property;
    the backup still reads every property restore sets (one list, in _backup.py)."""
    from hybridkit.decommission._backup import backup_columns
    from hybridkit.decommission._model import Kind

    lab, config, tmp = env
    migrate_everything(lab.server.engine.org)
    assert cli(config, "decommission", "apply", "--backup", str(tmp / "b"), "--yes").exit_code == 0
    assert cli(config, "decommission", "restore", "--backup", str(tmp / "b")).exit_code == 0
    reads = [r for r in lab.audit_records("pipeline") if r["cmdlets"][0].startswith("Get-")]
    assert reads
    for record in reads:
        assert record["cmdlets"][-1] == "Select-Object", record["cmdlets"]
        assert [p[0] for p in record["parameters"][-1]] == ["Property"], record
    selected: dict[str, list[str]] = {}
    for record in reads:
        selected.setdefault(record["cmdlets"][0], record["parameters"][-1][0][1])
    inbound = selected["Get-InboundConnector"]
    assert set(backup_columns(Kind.INBOUND_CONNECTOR)) <= set(inbound) and "ConnectorSource" in inbound
    assert "WhenChanged" not in inbound and "Guid" not in inbound
    assert selected["Get-ExchangeServer"] == ["AdminDisplayVersion"]
    assert selected["Get-OrganizationConfig"] == ["PublicFoldersEnabled"]
