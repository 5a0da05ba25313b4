"""The lab's ``--auth kerberos|negotiate``: per-connection Kerberos contexts for ``_http`` and the server's realm.

``LabKerberos`` is what ``LabServer`` holds when it authenticates with Kerberos: with ``kdc=True`` it starts a
throwaway realm (``hybridkit lab serve --kdc``) and points the process at it; otherwise the keytab named by
``KRB5_KTNAME`` is used (a realm the caller started, e.g. the test session's). ``http_options()`` gives the
``HttpOptions`` fields that make ``_http`` offer ``WWW-Authenticate: Kerberos`` (raw AP-REQ, sealed as
``application/HTTP-Kerberos-session-encrypted``, like Exchange's /PowerShell) or ``Negotiate`` (SPNEGO with
Kerberos, or NTLM for the lab's NTLM users, sealed as ``HTTP-SPNEGO-session-encrypted``).
"""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from hybridkit.lab.transport._auth import AuthFailed, NegotiateContext
from hybridkit.lab.transport._kerberos import (
    DEFAULT_DOMAIN,
    DEFAULT_REALM,
    KerberosUnavailable,
    Realm,
    lab_account,
    missing_kerberos_pieces,
)

__all__ = ["KERBEROS_AUTHS", "KerberosAcceptor", "KerberosContext", "LabKerberos"]

KERBEROS_AUTHS = ("kerberos", "negotiate")
_SPNEGO = "application/HTTP-SPNEGO-session-encrypted"


_ENCRYPTION = {
    "kerberos": "application/HTTP-Kerberos-session-encrypted",
    "negotiate": "application/HTTP-SPNEGO-session-encrypted",
}


@dataclasses.dataclass(frozen=True)
class KerberosAcceptor:
    """The server side of Kerberos over HTTP for the lab (see the module docstring).

    The keytab comes from ``KRB5_KTNAME`` (process-wide, set by ``Realm.activate``). One context per keep-alive
    connection: ``new_context()``, then ``context.step(token)`` until ``context.complete``; the response token of
    the last step (the AP-REP, or SPNEGO's mechListMIC) goes back in the 200's ``WWW-Authenticate``.
    """

    offer: str = "kerberos"
    realm_map: Mapping[str, str] = dataclasses.field(default_factory=lambda: {DEFAULT_REALM: DEFAULT_DOMAIN})

    def __post_init__(self) -> None:
        if self.offer not in _ENCRYPTION:
            raise ValueError(f"offer must be kerberos or negotiate, not {self.offer!r}")

    @property
    def scheme(self) -> str:
        """The ``WWW-Authenticate`` scheme offered (and expected in ``Authorization``)."""
        return "Kerberos" if self.offer == "kerberos" else "Negotiate"

    @property
    def encryption_protocol(self) -> str:
        """The ``protocol=`` of the multipart/encrypted bodies sealed with this mechanism."""
        return _ENCRYPTION[self.offer]

    def accepts_protocol(self, protocol: str) -> bool:
        """Whether a request's multipart ``protocol=`` fits this acceptor."""
        return protocol.strip('"').lower() == self.encryption_protocol.lower()

    def new_context(self) -> Any:
        """A fresh pyspnego acceptor context for one connection."""
        import spnego

        if self.offer == "kerberos":
            return spnego.server(protocol="kerberos")
        # Pure-Python SPNEGO: Kerberos through GSSAPI, and NTLM when NTLM_USER_FILE names the lab's users.
        return spnego.server(protocol="negotiate", options=spnego.NegotiateOptions.use_negotiate)

    def account(self, context: Any) -> str:
        """The authenticated client as the lab's ``DOMAIN\\user``."""
        principal = str(getattr(context, "client_principal", "") or "")
        if "@" in principal:
            return lab_account(principal, self.realm_map)
        return principal  # NTLM under Negotiate already gives DOMAIN\user

    @staticmethod
    def mechanism(context: Any) -> str:
        """``kerberos`` or ``ntlm``: what the client actually used."""
        return str(getattr(context, "negotiated_protocol", "") or "unknown")


class KerberosContext(NegotiateContext):
    """One connection's Kerberos (or SPNEGO) acceptor, with ``NegotiateContext``'s sealing layout."""

    def __init__(self, acceptor: KerberosAcceptor) -> None:  # noqa: D107 - documented on the class
        self._acceptor = acceptor
        self._ctx = acceptor.new_context()
        self.scheme = acceptor.scheme

    @property
    def user(self) -> str:
        """The client as the lab knows it: ``CONTOSO\\svc-exo`` for Kerberos, the bare user for NTLM."""
        if self.mechanism == "kerberos":
            return self._acceptor.account(self._ctx)
        return super().user

    @property
    def mechanism(self) -> str:
        """``kerberos`` or ``ntlm``."""
        try:
            return self._acceptor.mechanism(self._ctx)
        except Exception:  # noqa: BLE001 - not negotiated yet
            return "unknown"

    def step(self, header: str) -> bytes | None:
        """Process ``Authorization: Kerberos|Negotiate <token>`` under the scheme this lab offers."""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != self._acceptor.scheme.lower():
            raise AuthFailed(f"this endpoint offers {self._acceptor.scheme}, not {scheme}")
        try:
            return self._ctx.step(base64.b64decode(token.strip()))
        except Exception as exc:  # noqa: BLE001 - pyspnego/gssapi raise several types for a bad ticket
            raise AuthFailed(str(exc)) from None

    def wrap(self, message: bytes) -> tuple[str, bytes]:
        """Seal a response body, labelled with this mechanism's ``protocol``."""
        content_type, body = super().wrap(message)
        protocol = self._acceptor.encryption_protocol
        if protocol != _SPNEGO:
            content_type = content_type.replace(_SPNEGO, protocol)
            body = body.replace(_SPNEGO.encode(), protocol.encode(), 1)
        return content_type, body


class LabKerberos:
    """Kerberos for one ``LabServer``: the optional realm, the acceptor, and what goes into the ready file."""

    def __init__(self, auth: str, *, kdc: bool = False, realm_map: Mapping[str, str] | None = None) -> None:
        if auth not in KERBEROS_AUTHS:
            raise ValueError(f"auth must be one of {', '.join(KERBEROS_AUTHS)}")
        missing = missing_kerberos_pieces()
        if not kdc:
            missing = [m for m in missing if m.startswith("Python module")]  # a keytab is enough without a KDC
        if missing:
            raise KerberosUnavailable(f"--auth {auth} needs MIT Kerberos; missing: " + "; ".join(missing))
        self.auth = auth
        self.realm: Realm | None = None
        if kdc:
            self.realm = Realm.create()
            self.realm.activate()
        elif not os.environ.get("KRB5_KTNAME"):
            raise KerberosUnavailable(
                f"--auth {auth} needs service keys: start the lab with --kdc, or set KRB5_KTNAME to a keytab "
                "holding HTTP/<name> and host/<name>"
            )
        mapping = dict(realm_map or (self.realm.realm_map if self.realm else {DEFAULT_REALM: DEFAULT_DOMAIN}))
        self.acceptor = KerberosAcceptor(offer=auth, realm_map=mapping)

    def new_context(self) -> KerberosContext:
        """A context for a new connection (``HttpOptions.context_factory``)."""
        return KerberosContext(self.acceptor)

    def http_options(self) -> dict[str, Any]:
        """``HttpOptions`` fields: the context factory and the ``WWW-Authenticate`` challenge."""
        return {"context_factory": self.new_context, "challenge": self.acceptor.scheme}

    def ready_info(self) -> dict[str, Any]:
        """Ready-file keys: the realm's krb5.conf, principal and password (with ``--kdc``), and the scheme."""
        info: dict[str, Any] = {"auth_scheme": self.acceptor.scheme}
        if self.realm is not None:
            info.update(self.realm.ready_info())
        return info

    def close(self) -> None:
        """Stop the realm's KDC and remove its files (when this lab started one)."""
        if self.realm is not None:
            self.realm.close()
            self.realm = None
