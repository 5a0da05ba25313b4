"""Helpers for tests that drive a lab: a two-sided hybridkit.toml (lab or pwsh online side), waiting for `lab serve`."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PWSH_PASSWORD_ENV = "HYBRIDKIT_TEST_LAB_PFX_PASSWORD"  # the lab's PFX password, for pwsh profiles' certificate_password_env


def write_two_sided_config(directory: Path, ready: Path, *, onprem_extra: str = "") -> Path:
    """``directory/hybridkit.toml``: profiles ``onprem`` (the lab's /PowerShell) and ``online`` (its /wsman).

    ``onprem_extra`` adds settings to the onprem profile (e.g. ``exchange_version = "2010"``).
    """
    config = directory / "hybridkit.toml"
    onprem = f'[profiles.onprem]\nkind = "lab"\nready_file = "{ready}"\nendpoint = "onprem"\n'
    if onprem_extra:
        onprem += onprem_extra.rstrip("\n") + "\n"
    online = f'[profiles.online]\nkind = "lab"\nready_file = "{ready}"\nendpoint = "online"\n'
    config.write_text(onprem + "\n" + online, encoding="utf-8")
    return config


def lab_pwsh_command(ready: Path) -> list[str]:
    """The process a pwsh profile runs to reach a running lab: ``hybridkit lab pwsh --ready-file R`` (PSRP on stdio)."""
    return [sys.executable, "-m", "hybridkit", "lab", "pwsh", "--ready-file", str(ready)]


def lab_pwsh_subsystem(ready: Path) -> str:
    """``lab_pwsh_command`` as an sshd_config ``Subsystem`` line's command."""
    return shlex.join(lab_pwsh_command(ready))


def write_pwsh_config(directory: Path, ready: Path, *, ssh: Any = None, default: str = "online") -> Path:
    """``directory/hybridkit.toml``: ``onprem`` (the lab's /PowerShell) and ``online``, a ``kind = "pwsh"`` profile.

    The pwsh profile reaches the lab's Exchange Online as a real one reaches EXO: its ``command`` runs
    ``hybridkit lab pwsh --ready-file R`` (or, with ``ssh`` a ``tests._sshd.Sshd``, ``ssh -s user@127.0.0.1
    powershell`` to a loopback sshd whose subsystem runs it), with the lab's app id, organisation and PFX, whose
    password comes from ``$HYBRIDKIT_TEST_LAB_PFX_PASSWORD`` (set it to ``lab_pfx_password(ready)``).
    """
    info = json.loads(ready.read_text(encoding="utf-8"))
    values: dict[str, Any] = {"kind": "pwsh"}
    if ssh is None:
        values["command"] = lab_pwsh_command(ready)
    else:
        values.update(ssh=ssh.target, ssh_port=ssh.port, ssh_identity=str(ssh.identity), ssh_config=str(ssh.ssh_config))
    values.update(app_id=info["online_app_id"], organization=info["online_organization"],
                  certificate_path=info["pwsh"]["certificate_file"], certificate_password_env=PWSH_PASSWORD_ENV)
    online = "[profiles.online]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
    onprem = f'[profiles.onprem]\nkind = "lab"\nready_file = {json.dumps(str(ready))}\nendpoint = "onprem"\n'
    config = directory / "hybridkit.toml"
    config.write_text(f'default_profile = "{default}"\n\n{onprem}\n{online}', encoding="utf-8")
    return config


def lab_pfx_password(ready: Path) -> str:
    """The password of the lab's PFX (from its ready file), for ``$HYBRIDKIT_TEST_LAB_PFX_PASSWORD``."""
    return str(json.loads(ready.read_text(encoding="utf-8"))["pwsh"]["certificate_password"])


def pwsh_cmdlets(handle: Any) -> list[str]:
    """The cmdlets a lab ran in runspaces that connected with the certificate file (a pwsh profile's), in order."""
    records = handle.audit_records("pipeline")
    shells = {r["shell"] for r in records if r["cmdlets"][:1] == ["Connect-ExchangeOnline"]
              and "CertificateFilePath" in json.dumps(r["parameters"])}
    return [c for r in records if r["shell"] in shells for c in r["cmdlets"]]


def wait_ready(path: Path, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> dict[str, Any]:
    """The ready file `hybridkit lab serve` (running as ``proc``) writes once it accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        if proc.poll() is not None:
            raise AssertionError(f"lab exited early: {proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.05)
    raise AssertionError("lab did not become ready")
