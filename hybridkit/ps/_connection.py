"""``Connection``: the resolved endpoint and credentials the bridge opens a session with.

The bridge knows nothing of hybridkit.toml: ``hybridkit.config`` turns a profile (and a lab's ready file, and the
password from the environment, the keyring or a prompt) into one of these values.
"""

from __future__ import annotations

import dataclasses

from hybridkit.ps._command import Secret

__all__ = ["DEFAULT_MAX_SHELLS", "Connection", "OnlineConnect"]

DEFAULT_MAX_SHELLS = 4  # runspace pools per session, well under Exchange's PowerShellMaxConcurrency (18 per user)


@dataclasses.dataclass(frozen=True)
class OnlineConnect:
    """The app-only certificate values ``Connect-ExchangeOnline`` takes in each new runspace."""

    app_id: str
    certificate_thumbprint: str
    organization: str


@dataclasses.dataclass(frozen=True)
class Connection:
    """Everything needed to open a WSMan connection: the endpoint, the account and its secret, the limits.

    Attributes:
        profile_name: the name sessions report (``PSSession.name``), for messages and the journal.
        kind: ``onprem``, ``online`` or ``lab``.
        cert_validation: True, False, or the path of a CA bundle to validate against.
        online: set for Exchange Online through a jump host: each new runspace runs ``Connect-ExchangeOnline``.
        encryption: pypsrp's message encryption (``auto``; ``never`` for basic auth over http in a lab).
        realm, spn_service, spn_hostname, krb5_config: Kerberos settings (see ``hybridkit.ps._kerberos``).
    """

    profile_name: str
    kind: str
    server: str
    port: int
    ssl: bool
    path: str
    configuration: str
    auth: str
    username: str | None
    password: Secret | None
    cert_validation: bool | str
    online: OnlineConnect | None = None
    max_shells: int = DEFAULT_MAX_SHELLS
    chunk_size: int = 500
    connection_timeout: int = 30
    operation_timeout: int = 20
    read_timeout: int = 30
    encryption: str = "auto"
    realm: str | None = None
    spn_service: str | None = None
    spn_hostname: str | None = None
    krb5_config: str | None = None

    @property
    def url(self) -> str:
        """``https://server:port/path``."""
        return f"{'https' if self.ssl else 'http'}://{self.server}:{self.port}{self.path}"
