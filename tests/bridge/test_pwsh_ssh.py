"""End to end over SSH: a pwsh profile with ``ssh = "user@127.0.0.1"`` through a real OpenSSH client and server.

Debian's sshd runs on a loopback port from a temporary directory (tests/_sshd.py) with ``Subsystem powershell
<python> -m hybridkit lab pwsh --ready-file R``, in front of the running lab's shared organisation: the same
subsystem line a real host has for ``pwsh -sshs``. The client is the system's ``ssh`` as the profile builds it
(``BatchMode=yes``, the profile's key, an ssh_config whose known_hosts holds the server's key).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from hybridkit.cli import app  # noqa: E402
from tests._labconfig import PWSH_PASSWORD_ENV, lab_pfx_password, lab_pwsh_subsystem, write_pwsh_config  # noqa: E402
from tests._sshd import Sshd, loopback_sshd  # noqa: E402
from tests.bridge._pwshkit import assert_hold_enables_a_cloud_mailbox, cli  # noqa: E402


@pytest.fixture
def ssh_lab(lab_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Path, Sshd]]:
    """A demo lab, a loopback sshd whose powershell subsystem reaches it, and a hybridkit.toml going through ssh."""
    ready = tmp_path / "ready.json"
    handle = lab_factory(org="demo", ready_file=ready)
    with loopback_sshd(tmp_path / "sshd", lab_pwsh_subsystem(ready)) as sshd:
        config = write_pwsh_config(tmp_path, ready, ssh=sshd)
        monkeypatch.setenv(PWSH_PASSWORD_ENV, lab_pfx_password(ready))
        monkeypatch.chdir(tmp_path)
        yield handle, config, sshd


def test_pwsh_over_ssh_connect_test_and_hold(ssh_lab: tuple[Any, Path, Sshd]) -> None:
    handle, config, sshd = ssh_lab
    tested = cli(config, "connect", "test", "-p", "online")
    assert tested.exit_code == 0, tested.output + sshd.log.read_text(errors="replace")
    data = json.loads(tested.stdout)
    assert data["transport"] == "ssh" and data["endpoint"] == f"ssh {sshd.target} (port {sshd.port})"
    assert data["certificate_validation"] == "ssh host keys (OpenSSH known_hosts)" and data["organization"]

    assert_hold_enables_a_cloud_mailbox(handle, config, "Legal case 17 (ssh)")


def test_pwsh_over_ssh_unknown_host_key_is_refused(ssh_lab: tuple[Any, Path, Sshd],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    handle, config, sshd = ssh_lab
    sshd.known_hosts.write_text("")  # the host's key is not known: OpenSSH refuses, and BatchMode never asks
    before = len(handle.audit_records("pipeline"))
    result = CliRunner().invoke(app, ["--config", str(config), "connect", "test", "-p", "online"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "Host key verification failed" in " ".join(result.stderr.split())
    assert len(handle.audit_records("pipeline")) == before  # nothing reached the lab
    assert "ssh refused the connection" in " ".join(result.stderr.split())
    # a host key OpenSSH refuses is permanent: retrying cannot change it, so it is not retried
    assert not [r.getMessage() for r in caplog.records if "transient failure" in r.getMessage()]
