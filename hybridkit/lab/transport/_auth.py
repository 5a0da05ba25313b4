"""Authentication for the lab: HTTP Basic, and NTLM/SPNEGO with WinRM message encryption via pyspnego.

pyspnego's acceptor reads the accepted users from the file named by the ``NTLM_USER_FILE`` environment
variable (``DOMAIN:USER:PASSWORD`` lines). That variable is process-wide, so ``NtlmUserFile`` writes one file
(0600) for the lab's users and removes it on exit. A ``NegotiateContext`` belongs to one keep-alive TCP
connection: after the handshake it seals and unseals bodies in pypsrp's ``multipart/encrypted`` layout.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import struct
import tempfile
from pathlib import Path
from types import TracebackType

import spnego

__all__ = [
    "AuthFailed",
    "NegotiateContext",
    "NtlmUserFile",
    "check_basic",
    "ENCRYPTED_CONTENT_TYPE",
]

ENCRYPTED_CONTENT_TYPE = 'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"'
_BOUNDARY = b"--Encrypted Boundary"
_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
_LAB_DOMAIN = "LAB"


class AuthFailed(Exception):
    """Credentials were presented and rejected, or a token could not be processed."""


def check_basic(header: str, users: dict[str, str]) -> str | None:
    """The user name if ``header`` (an Authorization value) carries valid Basic credentials for ``users``."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(token.strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name = _strip_domain(user)
    expected = next((pw for u, pw in users.items() if u.lower() == name.lower()), None)
    if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
        return None
    return name


def _strip_domain(user: str) -> str:
    if "\\" in user:
        return user.split("\\", 1)[1]
    if "@" in user:
        return user.split("@", 1)[0]
    return user


class NtlmUserFile:
    """A 0600 ``NTLM_USER_FILE`` listing the lab's users, removed (and the variable restored) on exit."""

    def __init__(self, users: dict[str, str]) -> None:
        for user, password in users.items():
            if ":" in user or ":" in password or "\n" in password:
                raise ValueError("NTLM lab users and passwords cannot contain ':' or newlines")
        self._users = dict(users)
        self._path: Path | None = None
        self._previous: str | None = None

    def __enter__(self) -> "NtlmUserFile":
        fd, name = tempfile.mkstemp(prefix="hybridkit-lab-ntlm-", suffix=".txt")
        os.fchmod(fd, 0o600)
        lines = []
        for user, password in self._users.items():
            lines.append(f"{_LAB_DOMAIN}:{user}:{password}")
            lines.append(f":{user}:{password}")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        self._path = Path(name)
        self._previous = os.environ.get("NTLM_USER_FILE")
        os.environ["NTLM_USER_FILE"] = name
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._previous is None:
            os.environ.pop("NTLM_USER_FILE", None)
        else:
            os.environ["NTLM_USER_FILE"] = self._previous
        if self._path is not None:
            self._path.unlink(missing_ok=True)
            self._path = None


class NegotiateContext:
    """The server side of one connection's Negotiate (NTLM or SPNEGO) handshake and its message sealing."""

    def __init__(self) -> None:
        self._ctx = spnego.server(protocol="negotiate", options=spnego.NegotiateOptions.use_negotiate)
        self.scheme = "Negotiate"

    @property
    def complete(self) -> bool:
        """Whether the handshake finished."""
        return bool(self._ctx.complete)

    @property
    def user(self) -> str:
        """The authenticated user name (without domain)."""
        return _strip_domain(str(self._ctx.client_principal or ""))

    def step(self, header: str) -> bytes | None:
        """Process an ``Authorization: Negotiate <token>`` value; the token to answer with (or None)."""
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("negotiate", "ntlm"):
            raise AuthFailed(f"unsupported scheme {scheme}")
        self.scheme = "NTLM" if scheme.lower() == "ntlm" else "Negotiate"
        try:
            return self._ctx.step(base64.b64decode(token.strip()))
        except Exception as exc:  # noqa: BLE001 - pyspnego raises several types for a bad or unknown user
            raise AuthFailed(str(exc)) from None

    def unwrap(self, body: bytes, content_type: str) -> bytes:
        """Unseal a ``multipart/encrypted`` request body."""
        match = re.search(r'boundary="?([^";]+)"?', content_type)
        boundary = match.group(1).encode() if match else b"Encrypted Boundary"
        parts = [p for p in re.split(b"--\\s*" + re.escape(boundary) + b"(?:--)?\r\n", body) if p]
        message = b""
        for header, payload in zip(parts[0::2], parts[1::2]):
            length_match = re.search(rb"Length=(\d+)", header)
            wrapped = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
            (header_len,) = struct.unpack("<i", wrapped[:4])
            sig = wrapped[4 : 4 + header_len]
            data = self._ctx.unwrap_winrm(sig, wrapped[4 + header_len :])
            if length_match and int(length_match.group(1)) != len(data):
                raise AuthFailed("encrypted length mismatch")
            message += data
        return message

    def wrap(self, message: bytes) -> tuple[str, bytes]:
        """Seal a response body; returns (Content-Type, body) in pypsrp's layout."""
        header, data, padding = self._ctx.wrap_winrm(message)
        payload = b"\r\n".join(
            [
                _BOUNDARY,
                f"\tContent-Type: {_PROTOCOL}".encode(),
                f"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={len(message) + padding}".encode(),
                _BOUNDARY,
                b"\tContent-Type: application/octet-stream",
                b"",
            ]
        )
        body = payload + struct.pack("<i", len(header)) + header + data + _BOUNDARY + b"--\r\n"
        return ENCRYPTED_CONTENT_TYPE, body
