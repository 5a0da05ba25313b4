"""``lab serve``'s out-of-process endpoint: a Unix socket per lab, and the app certificate as a PFX file.

See ``_outofproc`` for the interface. Each accepted connection is one "pwsh process" (``hybridkit lab pwsh
--ready-file R`` pipes its stdin/stdout here) served by ``OutOfProcConnection`` on its own thread.

The PFX holds a self-signed certificate and its RSA key, encrypted with a random password, as the app-only
certificate ``Connect-ExchangeOnline -CertificateFilePath -CertificatePassword`` reads (Microsoft Learn, "App-only
authentication for unattended scripts in Exchange Online PowerShell": a self-signed certificate exported as .pfx).
Its thumbprint is the SHA-1 of the DER certificate, as Windows shows it.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import logging
import os
import secrets
import socket
import tempfile
import threading
from pathlib import Path
from typing import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from hybridkit.lab._types import Engine
from hybridkit.lab.transport._outofproc import OutOfProcConnection
from hybridkit.lab.transport._psrp import PipelineReport

__all__ = ["PwshSocketServer", "certificate_thumbprint", "write_app_pfx"]

log = logging.getLogger(__name__)


def certificate_thumbprint(certificate: x509.Certificate) -> str:
    """Windows' thumbprint: the SHA-1 of the DER certificate, upper-case hex."""
    return hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).hexdigest().upper()  # noqa: S324


def write_app_pfx(path: Path, organization: str) -> tuple[str, str]:
    """Write a password-protected PFX (0600) for the lab's app; returns ``(password, thumbprint)``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"hybridkit-lab-app.{organization or 'lab'}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))
    password = secrets.token_urlsafe(18)
    blob = pkcs12.serialize_key_and_certificates(b"hybridkit-lab-app", key, cert, None,
                                                 serialization.BestAvailableEncryption(password.encode()))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(blob)
    return password, certificate_thumbprint(cert)


class PwshSocketServer:
    """Accept out-of-process clients on a Unix socket in a private (0700) temporary directory."""

    def __init__(self, engine: Engine, user: str, on_pipeline: Callable[[PipelineReport], None],
                 latency_ms: float = 0.0) -> None:
        self._engine = engine
        self._latency_ms = latency_ms
        self._user = user
        self._on_pipeline = on_pipeline
        self._dir = tempfile.mkdtemp(prefix="hybridkit-pwsh-")  # mkdtemp makes it 0700
        self.path = str(Path(self._dir) / "pwsh.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(64)
        self._clients: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="lab-pwsh-accept", daemon=True)

    def start(self) -> PwshSocketServer:
        self._thread.start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._clients.add(conn)
            threading.Thread(target=self._serve, args=(conn,), name="lab-pwsh-client", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            OutOfProcConnection(lambda: conn.recv(1 << 16), conn.sendall, self._engine, user=self._user,
                                on_pipeline=self._on_pipeline, latency_ms=self._latency_ms).serve()
        except OSError as exc:
            log.debug("out-of-process client ended: %s", exc)
        finally:
            with self._lock:
                self._clients.discard(conn)
            conn.close()

    def close(self) -> None:
        """Stop accepting, drop every client, remove the socket and its directory."""
        self._listener.close()
        with self._lock:
            clients = list(self._clients)
        for conn in clients:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for leftover in Path(self._dir).iterdir() if os.path.isdir(self._dir) else ():
            leftover.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            os.rmdir(self._dir)

    @property
    def directory(self) -> Path:
        """The private directory holding the socket (and the PFX when there is no ready file to put it beside)."""
        return Path(self._dir)
