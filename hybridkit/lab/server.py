"""``LabServer``: the Exchange lab's WSMan/PSRP server, startable in a background thread.

    with LabServer(LabOptions(port=0)) as lab:
        info = lab.ready_info()   # port, onprem_url, online_url, username, password, ca_path, online_*, pwsh ...

The server composes the layers of ``transport/``: ``_http`` (sockets, TLS, auth, sealing) -> ``_shells`` (WSMan
operations) -> ``_psrp`` (psrpcore pools and pipelines), then, across the seam (``hybridkit.lab._types.Engine``),
the Exchange emulation of ``exchange/`` (``hybridkit.lab.exchange.engine``). Beside WSMan it serves the online
side over PowerShell's out-of-process transport on a Unix socket (``transport._outofproc``, ``hybridkit lab pwsh``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import string
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from hybridkit.lab._types import EndpointKind, Engine
from hybridkit.lab.transport._audit import AuditLog
from hybridkit.lab.transport._auth import NtlmUserFile
from hybridkit.lab.transport._faults import DEFAULT_KINDS, FaultKind, FaultPlan
from hybridkit.lab.transport._http import HttpOptions, LabHTTPServer
from hybridkit.lab.transport._pwsh_socket import PwshSocketServer, write_app_pfx
from hybridkit.lab.transport._shells import ENDPOINTS, WSManService, pipeline_reporter
from hybridkit.lab.transport._tls import LabCertificates, make_certificates

__all__ = ["LabOptions", "LabServer", "generate_password"]

log = logging.getLogger(__name__)


def generate_password(length: int = 20) -> str:
    """A random password usable for Basic and NTLM (no ':' so it fits NTLM_USER_FILE)."""
    alphabet = string.ascii_letters + string.digits + "-_.!"
    return "Lab" + "".join(secrets.choice(alphabet) for _ in range(length))


@dataclasses.dataclass
class LabOptions:
    """Everything ``hybridkit lab serve`` can set (same names as the flags)."""

    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = False
    auth: str = "basic"  # basic | ntlm
    org: str = "demo"
    state: Path | None = None
    version: str = "2019"
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = tuple(k.value for k in DEFAULT_KINDS)
    fault_seed: int | None = None
    fault_limit: int | None = None  # inject at most this many faults in all
    throttle_wait: int = 2  # the N of Exchange Online's "Please wait for N seconds"
    max_shells: int | None = None
    time_scale: float = 1.0
    audit: Path | None = None
    username: str = "labadmin"
    password: str | None = None
    ready_file: Path | None = None
    ca_path: Path | None = None
    kdc: bool = False  # start a throwaway Kerberos realm and KDC on loopback (hybridkit.lab.transport._kerberos)

    def __post_init__(self) -> None:
        if self.auth not in ("basic", "ntlm", "kerberos", "negotiate"):
            raise ValueError("auth must be 'basic', 'ntlm', 'kerberos' or 'negotiate'")
        if self.state is not None:
            self.state = Path(self.state)
        if self.audit is not None:
            self.audit = Path(self.audit)
        known = {k.value for k in FaultKind}
        unknown = [k for k in self.fault_kinds if k not in known]
        if unknown:
            raise ValueError(f"unknown fault kind {unknown[0]!r} (--fault-kinds): choose from "
                             f"{', '.join(sorted(known))}")


class LabServer:
    """The lab server. ``start()`` returns once it accepts connections; ``stop()`` saves state and shuts down.

    Args:
        options: The settings.
        engine: An ``Engine``; by default ``hybridkit.lab.exchange.engine.ExchangeEngine.create(...)`` from the options.
    """

    def __init__(self, options: LabOptions | None = None, engine: Engine | None = None) -> None:
        self.options = options or LabOptions()
        self.password = self.options.password or generate_password()
        self._engine = engine
        self._http: LabHTTPServer | None = None
        self._service: WSManService | None = None
        self._audit: AuditLog | None = None
        self._ntlm: NtlmUserFile | None = None
        self._certs: LabCertificates | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._kerberos: Any = None  # hybridkit.lab.transport._kerberos_auth.LabKerberos for --auth kerberos|negotiate
        self._pwsh: PwshSocketServer | None = None  # the out-of-process endpoint (hybridkit lab pwsh)
        self._pfx: tuple[Path, str] | None = None  # the app's certificate file and its password

    # -- lifecycle ---------------------------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine serving this lab (created on first use when none was injected)."""
        if self._engine is None:
            from hybridkit.lab.exchange.engine import ExchangeEngine  # lazy: the protocol side works without it

            self._engine = ExchangeEngine.create(
                org=self.options.org, state=self.options.state, version=self.options.version,
                time_scale=self.options.time_scale,
            )
        return self._engine

    @property
    def audit(self) -> AuditLog:
        """The audit log (counts requests even when no file was asked for)."""
        assert self._audit is not None, "server not started"
        return self._audit

    @property
    def service(self) -> WSManService:
        """The WSMan service (shell table)."""
        assert self._service is not None, "server not started"
        return self._service

    def start(self) -> "LabServer":
        """Bind, start serving in a background thread and write the ready file."""
        opts = self.options
        engine = self.engine
        users = {opts.username: self.password}
        self._audit = AuditLog(opts.audit)
        plan = FaultPlan(opts.latency_ms, opts.fault_rate, tuple(FaultKind(k) for k in opts.fault_kinds),
                         opts.fault_seed, opts.max_shells, opts.fault_limit, opts.throttle_wait)
        ssl_context = None
        if opts.tls:
            ca_path = opts.ca_path
            if ca_path is None:
                self._tmpdir = tempfile.TemporaryDirectory(prefix="hybridkit-lab-")
                ca_path = Path(self._tmpdir.name) / "lab-ca.pem"
            self._certs = make_certificates(Path(ca_path).resolve())
            ssl_context = self._certs.ssl_context()
        if opts.auth in ("ntlm", "negotiate"):
            self._ntlm = NtlmUserFile(users).__enter__()
        if opts.auth in ("kerberos", "negotiate"):
            from hybridkit.lab.transport._kerberos_auth import (
                LabKerberos,  # needs pyspnego's Kerberos (gssapi) only here
            )

            self._kerberos = LabKerberos(opts.auth, kdc=opts.kdc)
        http_options = HttpOptions(auth=opts.auth, users=users, faults=plan, ssl_context=ssl_context,
                                   on_fault=self._record_fault,
                                   **(self._kerberos.http_options() if self._kerberos else {}))
        self._service = WSManService(engine, self._audit, opts.max_shells, faults=plan)
        self._http = LabHTTPServer((opts.host, opts.port), self._service.handle, http_options)
        self._service.address = self._base_url()
        self._http.start()
        self._start_pwsh(engine)
        if opts.ready_file is not None:
            _write_private_json(Path(opts.ready_file), self.ready_info())
        log.info("lab listening on %s", self._base_url())
        return self

    def _start_pwsh(self, engine: Engine) -> None:
        """The out-of-process endpoint and the app's PFX (see ``transport._outofproc``)."""
        opts = self.options
        self._pwsh = PwshSocketServer(engine, opts.username,
                                      pipeline_reporter(self.audit, EndpointKind.ONLINE, opts.username),
                                      latency_ms=opts.latency_ms).start()
        ready = Path(opts.ready_file) if opts.ready_file is not None else None
        pfx = ready.with_name(ready.stem + "-app.pfx") if ready is not None else self._pwsh.directory / "app.pfx"
        online = getattr(getattr(engine, "org", None), "online", None)
        app = online.settings.get("connect_app") if online is not None else None
        password, thumbprint = write_app_pfx(pfx, str((app or {}).get("organization", "")))
        if isinstance(app, dict):  # the app registration also holds this certificate (an app may have several)
            app["pfx_certificate_thumbprint"] = thumbprint
        self._pfx = (pfx, password)

    def _record_fault(self, endpoint: EndpointKind, action: str, kind: FaultKind) -> None:
        if self._audit is not None:
            self._audit.request(endpoint=endpoint.value, user=None, action=action.rsplit("/", 1)[-1] or "?",
                                shell_id=None, status=503 if kind is FaultKind.BUSY else 500,
                                fault=f"injected:{kind.value}")

    def save(self) -> None:
        """Persist the organisation state if the engine supports it (``--state``)."""
        save = getattr(self._engine, "save", None)
        if callable(save) and self.options.state is not None:
            save()

    def stop(self) -> None:
        """Close every shell, stop serving, save state, remove secrets from disk."""
        if self._service is not None:
            self._service.close_all()
        if self._pwsh is not None:
            self._pwsh.close()
            self._pwsh = None
        if self._pfx is not None:
            self._pfx[0].unlink(missing_ok=True)
            self._pfx = None
        if self._http is not None:
            self._http.stop()
            self._http = None
        try:
            self.save()
        finally:
            if self._ntlm is not None:
                self._ntlm.__exit__(None, None, None)
                self._ntlm = None
            if self._kerberos is not None:
                self._kerberos.close()
                self._kerberos = None
            if self._certs is not None:
                self._certs.remove_private()
            if self._audit is not None:
                self._audit.close()
            if self._tmpdir is not None:
                self._tmpdir.cleanup()
                self._tmpdir = None

    def __enter__(self) -> "LabServer":
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- info --------------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._http is not None, "server not started"
        return self._http.port

    def _base_url(self) -> str:
        scheme = "https" if self.options.tls else "http"
        host = self.options.host if self.options.host not in ("0.0.0.0", "") else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}"

    def ready_info(self) -> dict[str, Any]:
        """Endpoints, credentials, CA path and the Connect-ExchangeOnline values (the ready-file content)."""
        online_app = dict(getattr(self._engine, "online_app", None) or {})
        return {
            "port": self.port,
            "onprem_url": self._base_url() + ENDPOINTS[EndpointKind.ONPREM][0],
            "online_url": self._base_url() + ENDPOINTS[EndpointKind.ONLINE][0],
            "username": self.options.username,
            "password": self.password,
            "auth": self.options.auth,
            "tls": self.options.tls,
            "version": str(getattr(getattr(self._engine, "org", None), "version", None) or self.options.version),
            "ca_path": str(self._certs.ca_path) if self._certs is not None else None,
            "audit_path": str(Path(self.options.audit).resolve()) if self.options.audit is not None else None,
            "online_app_id": online_app.get("app_id"),
            "online_certificate_thumbprint": online_app.get("certificate_thumbprint"),
            "online_organization": online_app.get("organization"),
            **(self._kerberos.ready_info() if self._kerberos is not None else {}),
            "pwsh": {
                "socket": self._pwsh.path if self._pwsh is not None else None,
                "certificate_file": str(self._pfx[0].resolve()) if self._pfx is not None else None,
                "certificate_password": self._pfx[1] if self._pfx is not None else None,
            },
        }


def _write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON readable only by the owner (it holds the lab password), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    os.replace(tmp, path)
