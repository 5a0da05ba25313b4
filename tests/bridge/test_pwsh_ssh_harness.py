"""The loopback OpenSSH harness (tests/_sshd.py) and the ssh argv a pwsh profile builds, with a trivial subsystem.

``Subsystem powershell /bin/cat`` echoes what it is sent: the argv from ``pwsh_argv`` reaches a real sshd, logs in
with the profile's key and no prompt, and OpenSSH refuses a host whose key it does not know.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from hybridkit.config import resolve_connection
from hybridkit.config._profile import Profile

from tests._sshd import Sshd, loopback_sshd


def _profile(sshd: Sshd, **overrides: object) -> Profile:
    values: dict[str, object] = dict(
        name="overssh", kind="pwsh", ssh=sshd.target, ssh_port=sshd.port, ssh_identity=str(sshd.identity),
        ssh_config=str(sshd.ssh_config), app_id="a", organization="o", certificate_thumbprint="T",
        exchange_version="online",
    )
    values.update(overrides)
    return Profile(**values)  # type: ignore[arg-type]


def test_ssh_argv_reaches_the_subsystem_through_a_real_sshd(tmp_path: Path) -> None:
    with loopback_sshd(tmp_path / "sshd", "/bin/cat") as sshd:
        argv = resolve_connection(_profile(sshd)).process
        done = subprocess.run(argv, input=b"<Data Stream='Default'/>\n", capture_output=True, timeout=30)
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout == b"<Data Stream='Default'/>\n"


def test_ssh_refuses_a_host_key_it_does_not_know_and_never_prompts(tmp_path: Path) -> None:
    with loopback_sshd(tmp_path / "sshd", "/bin/cat") as sshd:
        sshd.known_hosts.write_text("")  # the server's key is no longer known
        argv = resolve_connection(_profile(sshd)).process
        done = subprocess.run(argv, input=b"hello\n", capture_output=True, timeout=30)
        assert done.returncode == 255 and done.stdout == b""
        assert "Host key verification failed" in done.stderr.decode()
