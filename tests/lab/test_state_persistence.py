"""``--state`` kept current as the organisation changes: every changing pipeline is journaled before it completes,
so a lab killed with SIGKILL comes back with everything it acknowledged; the cost follows the change, not the org."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from hybridkit.lab.exchange._persist import load_org
from hybridkit.lab.exchange.engine import ExchangeEngine
from tests._labconfig import wait_ready
from tests.lab._engine_kit import cmd, onprem, run


def _mailbox(engine: ExchangeEngine, kind: str = "UserMailbox") -> dict:
    return next(r for r in engine.org.onprem.recipients.values() if r["RecipientTypeDetails"] == kind)


def test_each_changing_pipeline_is_journaled_and_replays(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    engine = ExchangeEngine.create("demo", state=state, time_scale=0.0, raise_internal_errors=True)
    assert state.exists()  # the baseline the journal applies to
    journal = Path(str(state) + ".journal")
    user = _mailbox(engine)
    shared = _mailbox(engine, "SharedMailbox")
    assert run(engine, onprem(), cmd("Get-Mailbox", ResultSize=5)).failed is None
    assert not journal.exists()  # reads change nothing
    run(engine, onprem(), cmd("Set-Mailbox", user["Alias"], LitigationHoldEnabled=True))
    run(engine, onprem(), cmd("Add-MailboxPermission", shared["Alias"], User=user["Alias"], AccessRights="FullAccess"))
    run(engine, onprem(), cmd("New-AcceptedDomain", Name="fabrikam.example", DomainName="fabrikam.example"))
    run(engine, onprem(), cmd("Remove-AcceptedDomain", "fabrikam.example", Confirm=False))
    run(engine, onprem(), cmd("New-AcceptedDomain", Name="tailspin.example", DomainName="tailspin.example"))
    lines = journal.read_text().splitlines()
    assert len(lines) == 5
    first = json.loads(lines[0])
    assert [c[:3] for c in first["changes"]] == [["onprem", "recipients", user["Guid"]]]  # one record, not the org
    assert first["changes"][0][3]["LitigationHoldEnabled"] is True

    loaded = load_org(state)  # what a restart after kill -9 sees: snapshot + journal
    assert loaded.onprem.recipients[user["Guid"]]["LitigationHoldEnabled"] is True
    grants = loaded.onprem.recipients[shared["Guid"]]["MailboxPermissions"]  # a nested list appended to
    assert any(g.get("Trustee") == user["Guid"] and g["AccessRights"] == ["FullAccess"] for g in grants)
    domains = loaded.onprem.collection("AcceptedDomain")
    assert "tailspin.example" in domains and "fabrikam.example" not in domains
    replayed, live = (json.loads(json.dumps({**o.to_json(), "clock": None})) for o in (loaded, engine.org))
    assert replayed == live  # the whole organisation, not just the records looked at

    engine.save()  # the full save on stop folds the journal into the snapshot
    assert not journal.exists()
    assert load_org(state).onprem.recipients[user["Guid"]]["LitigationHoldEnabled"] is True


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    engine = ExchangeEngine.create("demo", state=state, time_scale=0.0)
    user = _mailbox(engine)
    run(engine, onprem(), cmd("Set-Mailbox", user["Alias"], CustomAttribute1="kept"))
    journal = Path(str(state) + ".journal")
    with journal.open("a") as handle:
        handle.write('{"clock": "2026-01-01T00:00:00+00:00", "changes": [["onprem", "recip')  # killed mid-write
    assert load_org(state).onprem.recipients[user["Guid"]]["CustomAttribute1"] == "kept"


def test_changes_after_a_flush_are_still_seen(tmp_path: Path) -> None:
    # records a handler stored as plain dicts are tracked from the next pipeline on
    state = tmp_path / "state.json"
    engine = ExchangeEngine.create("demo", state=state, time_scale=0.0)
    run(engine, onprem(), cmd("New-AcceptedDomain", Name="contoso.example", DomainName="contoso.example"))
    run(engine, onprem(), cmd("Set-AcceptedDomain", "contoso.example", AddressBookEnabled=False))
    assert engine.org.onprem.collection("AcceptedDomain")["contoso.example"]["AddressBookEnabled"] is False
    assert load_org(state).onprem.collection("AcceptedDomain")["contoso.example"]["AddressBookEnabled"] is False


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    ready = tmp_path / "ready.json"

    def serve() -> tuple[subprocess.Popen[bytes], dict]:
        ready.unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, "-m", "hybridkit", "lab", "serve", "--port", "0", "--org", "demo",
                                 "--state", str(state), "--ready-file", str(ready)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return proc, wait_ready(ready, proc)

    def pool(info: dict) -> RunspacePool:
        return RunspacePool(WSMan("127.0.0.1", port=info["port"], username=info["username"],
                                  password=info["password"], ssl=False, path="PowerShell", auth="basic",
                                  encryption="never"), configuration_name="Microsoft.Exchange")

    proc, info = serve()
    try:
        with pool(info) as rp:
            ps = PowerShell(rp)
            ps.add_cmdlet("New-AcceptedDomain").add_parameter("Name", "killed.example")
            ps.add_parameter("DomainName", "killed.example").add_parameter("DomainType", "InternalRelay")
            ps.invoke()
            assert not ps.had_errors
        os.kill(proc.pid, signal.SIGKILL)  # no chance to save on the way out
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    proc, info = serve()
    try:
        with pool(info) as rp:
            ps = PowerShell(rp)
            ps.add_cmdlet("Get-AcceptedDomain").add_parameter("Identity", "killed.example")
            out = ps.invoke()
        assert [str(o.adapted_properties.get("DomainType") or o.extended_properties.get("DomainType"))
                for o in out] == ["InternalRelay"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_a_grant_appended_in_one_pipeline_and_changed_in_the_next_is_saved(tmp_path: Path) -> None:
    # Add-MailboxPermission appends a plain dict to the record's list, and a second grant updates that very entry
    state = tmp_path / "state.json"
    engine = ExchangeEngine.create("demo", state=state, time_scale=0.0)
    shared, user = _mailbox(engine, "SharedMailbox"), _mailbox(engine)
    run(engine, onprem(), cmd("Add-MailboxPermission", shared["Alias"], User=user["Alias"], AccessRights="FullAccess"))
    run(engine, onprem(), cmd("Add-MailboxPermission", shared["Alias"], User=user["Alias"],
                              AccessRights="ReadPermission"))
    grants = load_org(state).onprem.recipients[shared["Guid"]]["MailboxPermissions"]
    mine = [g for g in grants if g.get("Trustee") == user["Guid"]]
    assert [g["AccessRights"] for g in mine] == [["FullAccess", "ReadPermission"]]
