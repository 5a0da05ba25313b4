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

pytest.importorskip("hybridkit.lab.engine", reason="the Exchange engine is not available")


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
