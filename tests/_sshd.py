"""A real OpenSSH server on loopback for tests: Debian's ``sshd`` run from a temporary directory.

``loopback_sshd(directory, subsystem)`` starts ``sshd -D -e -f <directory>/sshd_config`` on a free 127.0.0.1 port
with a fresh host key, one authorized client key (this user's), and ``Subsystem powershell <subsystem>``; it
yields an ``Sshd`` with what a client needs: the port, ``user@127.0.0.1``, the client key, and an ssh_config
whose known_hosts holds the server's key (so the client checks it as OpenSSH always does; nothing is disabled).

``require_sshd()`` skips with the reason when ``sshd`` or ``ssh`` is missing, and fails instead when
``HYBRIDKIT_REQUIRE_SSHD=1`` or ``CI`` is set (``.ci/run`` installs openssh-server and openssh-client).
Sources: sshd(8) ``-D -e -f``; sshd_config(5) ``Subsystem``, ``AuthorizedKeysFile``, ``StrictModes``, ``UsePAM``;
ssh_config(5) ``UserKnownHostsFile``, ``StrictHostKeyChecking``; known_hosts with a port: ``[host]:port``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")


def find_sshd() -> str | None:
    found = shutil.which("sshd")
    return found or next((c for c in SSHD_CANDIDATES if os.access(c, os.X_OK)), None)


def require_sshd() -> str:
    """The sshd binary; skip (or fail in CI) with the reason when it or the ssh client is missing."""
    missing = [name for name, path in (("sshd (openssh-server)", find_sshd()), ("ssh (openssh-client)",
                                                                                shutil.which("ssh")),
                                       ("ssh-keygen (openssh-client)", shutil.which("ssh-keygen"))) if not path]
    if missing:
        reason = "the SSH tests need OpenSSH; missing: " + ", ".join(missing)
        if os.environ.get("HYBRIDKIT_REQUIRE_SSHD") == "1" or os.environ.get("CI"):
            pytest.fail(reason + " (HYBRIDKIT_REQUIRE_SSHD=1 or CI is set: .ci/run installs them)")
        pytest.skip(reason)
    return str(find_sshd())


@dataclasses.dataclass(frozen=True)
class Sshd:
    """A running loopback sshd as a client sees it."""

    port: int
    target: str  # user@127.0.0.1
    identity: Path  # the authorized client key (no passphrase)
    ssh_config: Path  # for ssh -F: its known_hosts knows this server's host key
    known_hosts: Path
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hybridkit-test", "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL, capture_output=True)


def _wait_for_banner(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"sshd exited ({proc.returncode}): {log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"sshd did not answer on port {port}: {log.read_text(errors='replace')}")


@contextlib.contextmanager
def loopback_sshd(directory: Path, subsystem: str) -> Iterator[Sshd]:
    """Run sshd on a free loopback port with ``Subsystem powershell <subsystem>``; stopped on the way out."""
    sshd = require_sshd()
    directory.mkdir(parents=True, exist_ok=True)
    host_key, client_key = directory / "host_key", directory / "client_key"
    _keygen(host_key)
    _keygen(client_key)
    authorized = directory / "authorized_keys"
    authorized.write_text(client_key.with_suffix(".pub").read_text())
    port = _free_port()
    user = getpass.getuser()
    config = directory / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}",
        "ListenAddress 127.0.0.1",
        f"HostKey {host_key}",
        f"PidFile {directory / 'sshd.pid'}",
        f"AuthorizedKeysFile {authorized}",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",  # the keys live in a temporary directory, not ~/.ssh
        "PermitRootLogin prohibit-password",
        f"AllowUsers {user}",
        f"Subsystem powershell {subsystem}",
        "",
    ]))
    known_hosts = directory / "known_hosts"
    key_type, key_text = host_key.with_suffix(".pub").read_text().split()[:2]
    known_hosts.write_text(f"[127.0.0.1]:{port} {key_type} {key_text}\n")
    client_config = directory / "ssh_config"
    client_config.write_text("\n".join([
        "Host *",
        f"  UserKnownHostsFile {known_hosts}",
        "  GlobalKnownHostsFile /dev/null",
        "  StrictHostKeyChecking yes",
        "  LogLevel ERROR",
        "",
    ]))
    if os.geteuid() == 0 and not Path("/run/sshd").is_dir():
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory (as root)
    log = directory / "sshd.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL,
                                stdout=log_file, stderr=subprocess.STDOUT)
    try:
        _wait_for_banner(port, proc, log)
        yield Sshd(port=port, target=f"{user}@127.0.0.1", identity=client_key, ssh_config=client_config,
                   known_hosts=known_hosts, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
