"""Shared pytest fixtures: the Exchange lab on a free loopback port.

- ``lab``: one session-wide lab (HTTP + Basic, demo org, audit file) with the real Exchange engine.
- ``lab_factory(**options)``: a fresh lab per call for tests that need TLS, NTLM, faults, latency, limits or an
  injected engine (``engine=...``); stopped at the end of the test.

Both give a ``LabHandle``: the ready-file fields as attributes (``port``, ``onprem_url``, ``online_url``,
``username``, ``password``, ``ca_path``, ``online_app_id``, ``online_certificate_thumbprint``,
``online_organization``), ``audit_path``, ``audit_records()`` and the ``server`` itself.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from hypothesis import settings

from hybridkit.lab.server import LabOptions, LabServer

# CI (`.ci/run`, or CI=true) draws the same hypothesis examples on every run, so a landing is judged on the code, not
# on the draw; locally each run explores new ones (a failure found here is then pinned with @example).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") or os.environ.get("HYBRIDKIT_CI"):
    settings.load_profile("ci")
from hybridkit.lab.transport._audit import read_audit


@dataclasses.dataclass
class LabHandle:
    """A running lab as tests see it."""

    server: LabServer
    port: int
    onprem_url: str
    online_url: str
    username: str
    password: str
    ca_path: str | None
    online_app_id: str | None
    online_certificate_thumbprint: str | None
    online_organization: str | None
    audit_path: Path | None
    auth: str = "basic"
    tls: bool = False

    @classmethod
    def of(cls, server: LabServer) -> "LabHandle":
        info = server.ready_info()
        fields = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in info.items() if k in fields and k != "audit_path"}
        audit = server.options.audit
        return cls(server=server, audit_path=Path(audit) if audit else None, **kwargs)

    def audit_records(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The audit log's records so far (optionally only ``request`` or ``pipeline`` ones)."""
        records = read_audit(self.audit_path) if self.audit_path else []
        return [r for r in records if kind is None or r.get("kind") == kind]

    def wsman_kwargs(self, endpoint: str = "onprem", **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``pypsrp.wsman.WSMan`` reaching this lab (never disables cert validation)."""
        kwargs: dict[str, Any] = {
            "server": "127.0.0.1",
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "ssl": self.tls,
            "path": "PowerShell" if endpoint == "onprem" else "wsman",
            "auth": "basic" if self.auth == "basic" else "ntlm",
        }
        if self.tls:
            kwargs["cert_validation"] = self.ca_path
        elif self.auth == "basic":
            kwargs["encryption"] = "never"
        kwargs.update(overrides)
        return kwargs


@pytest.fixture(scope="session", autouse=True)
def _offline_kerberos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """With gssapi installed, Negotiate tries Kerberos first: never toward /etc/krb5.conf's real-world realm."""
    from hybridkit.lab.transport._kerberos import offline_krb5_config

    with offline_krb5_config(tmp_path_factory.mktemp("krb5")):
        yield


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    """The session-wide lab: HTTP + Basic, demo org, real Exchange engine."""
    pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")
    audit = tmp_path_factory.mktemp("lab") / "audit.jsonl"
    server = LabServer(LabOptions(port=0, org="demo", audit=audit))
    server.start()
    try:
        yield LabHandle.of(server)
    finally:
        server.stop()


@pytest.fixture
def lab_factory(tmp_path: Path) -> Iterator[Callable[..., LabHandle]]:
    """Start labs with custom options: ``lab_factory(tls=True)``, ``lab_factory(auth="ntlm", engine=...)``."""
    servers: list[LabServer] = []

    def start(engine: Any = None, **options: Any) -> LabHandle:
        options.setdefault("audit", tmp_path / f"audit-{len(servers)}.jsonl")
        if options.get("tls"):
            options.setdefault("ca_path", tmp_path / f"ca-{len(servers)}.pem")
        server = LabServer(LabOptions(**options), engine=engine)
        server.start()
        servers.append(server)
        return LabHandle.of(server)

    try:
        yield start
    finally:
        for server in reversed(servers):
            server.stop()
