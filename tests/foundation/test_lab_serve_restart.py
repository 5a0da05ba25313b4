"""`hybridkit lab serve` as an operator runs it: --state kept across a restart, its version honoured, the ready file
gone once the lab stops, and a password the operator chose never echoed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from hybridkit.cli import app
from hybridkit.config import lab_profile_from_ready

PASSWORD = "Operator-Chosen-9"


def _serve(tmp: Path, *extra: str) -> tuple[subprocess.Popen[bytes], dict]:
    ready = tmp / "ready.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybridkit", "lab", "serve", "--port", "0", "--ready-file", str(ready),
         "--password-env", "LAB_PW", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "LAB_PW": PASSWORD},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if ready.exists():
            return proc, json.loads(ready.read_text())
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "lab exited")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("lab did not become ready")


def _stop(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    return out.decode(), err.decode()


def test_state_version_and_ready_file_across_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    proc, info = _serve(tmp_path, "--org", "empty", "--version", "2010", "--state", str(state))
    try:
        assert info["version"] == "2010"
        assert lab_profile_from_ready("lab", info).exchange_version == "2010"
    finally:
        out, _err = _stop(proc)
    assert PASSWORD not in out and "(from $LAB_PW)" in out
    assert state.exists() and json.loads(state.read_text())["version"] == "2010"
    assert not (tmp_path / "ready.json").exists()  # a stopped lab leaves no endpoints that look usable

    refused = CliRunner().invoke(app, ["lab", "serve", "--state", str(state), "--version", "2019"])
    assert refused.exit_code == 2
    assert "holds an Exchange 2010 organisation" in " ".join(refused.output.split())

    # the same command line again: the saved organisation (and its version) comes back
    proc, info = _serve(tmp_path, "--org", "empty", "--version", "2010", "--state", str(state))
    try:
        assert info["version"] == "2010"
    finally:
        _out, err = _stop(proc)
    assert f"loaded from {state}" in " ".join(err.split())


def test_bad_flags_are_one_line_and_exit_2_before_serving(tmp_path: Path) -> None:
    cases = {
        ("--version", "2012"): "--version must be one of 2010, 2013, 2016, 2019, SE",
        ("--org", "weird"): "--org must be demo, empty or synthetic:N",
        ("--org", "synthetic:abc"): "--org must be demo, empty or synthetic:N",
        ("--state", str(tmp_path / "no" / "such" / "state.json")): "does not exist",
        ("--latency-ms", "-5"): "--latency-ms must be 0 or more",
        ("--max-shells", "0"): "--max-shells must be 1 or more",
        ("--port", "99999"): "--port must be between 0 (a free port) and 65535 (got 99999)",
        ("--port", "-1"): "--port must be between 0",
        ("--audit", str(tmp_path / "a-file" / "audit.jsonl")): "--audit",
        ("--tls", "--ca-path", str(tmp_path / "a-file" / "ca.pem")): "--ca-path",
    }
    (tmp_path / "a-file").write_text("a file, not a directory")
    for args, message in cases.items():
        result = CliRunner().invoke(app, ["lab", "serve", "--ready-file", str(tmp_path / "r.json"), *args])
        assert result.exit_code == 2, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1, (args, result.output)  # one line, no usage box
        assert message in " ".join(result.output.split()) and "Traceback" not in result.output, args
        assert "cannot listen" not in result.output
        assert not (tmp_path / "r.json").exists()
