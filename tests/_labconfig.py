"""Helpers for tests that drive a lab: a two-sided hybridkit.toml, and waiting for `lab serve` to be ready."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any


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
