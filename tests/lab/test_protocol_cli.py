"""``hybridkit lab serve`` as a real process: ready file, a pypsrp client, SIGTERM saves state and exits 0."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan
from tests._labconfig import wait_ready

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_writes_ready_file_serves_and_stops_cleanly(tmp_path: Path, signum: int) -> None:
    ready = tmp_path / "ready.json"
    audit = tmp_path / "audit.jsonl"
    env = {**os.environ, "LAB_PW": "Correct-Horse-7"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybridkit", "lab", "serve", "--port", "0", "--org", "empty", "--tls",
         "--ready-file", str(ready), "--audit", str(audit), "--password-env", "LAB_PW", "--username", "ops"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    try:
        info = wait_ready(ready, proc)
        assert stat.S_IMODE(ready.stat().st_mode) == 0o600
        assert info["username"] == "ops" and info["password"] == "Correct-Horse-7"
        assert info["onprem_url"] == f"https://127.0.0.1:{info['port']}/PowerShell"
        assert {"online_app_id", "online_certificate_thumbprint", "online_organization"} <= set(info)
        wsman = WSMan("127.0.0.1", port=info["port"], username="ops", password=info["password"], ssl=True,
                      path="PowerShell", auth="basic", cert_validation=info["ca_path"])
        with RunspacePool(wsman, configuration_name="Microsoft.Exchange") as pool:
            ps = PowerShell(pool)
            ps.add_cmdlet("Get-NoSuchThing")
            ps.invoke()
            assert "is not recognized" in str(ps.streams.error[0])
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    assert b"Correct-Horse-7" not in err
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert records[0]["action"] == "Create" and any(r["kind"] == "pipeline" for r in records)


def test_fault_kinds_option_names_the_kinds() -> None:
    from typer.testing import CliRunner

    from hybridkit.cli import app

    result = CliRunner().invoke(app, ["lab", "serve", "--fault-rate", "0.1", "--fault-kinds", "busy,lost-answer"])
    assert result.exit_code == 2
    assert "unknown fault kind 'lost-answer' (--fault-kinds): choose from busy, drop, lost-reply, quota, throttle" in (
        " ".join(result.output.split()))


def test_serve_can_lose_replies(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    audit = tmp_path / "audit.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybridkit", "lab", "serve", "--port", "0", "--org", "empty", "--ready-file",
         str(ready), "--audit", str(audit), "--fault-rate", "1", "--fault-kinds", "lost-reply"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        info = wait_ready(ready, proc)
        wsman = WSMan("127.0.0.1", port=info["port"], username=info["username"], password=info["password"],
                      ssl=False, path="PowerShell", auth="basic", encryption="never")
        pool = RunspacePool(wsman, configuration_name="Microsoft.Exchange")
        pool.open()
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-AcceptedDomain")
        with pytest.raises(Exception, match="Connection aborted|RemoteDisconnected|closed"):
            ps.invoke()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert any(r.get("fault") == "injected:lost-reply" for r in records)
    assert [r["outcome"] for r in records if r["kind"] == "pipeline"] == ["completed"]
