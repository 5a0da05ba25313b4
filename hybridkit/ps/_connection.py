"""``Connection``: the resolved endpoint and credentials the bridge opens a session with.

The bridge knows nothing of hybridkit.toml: ``hybridkit.config`` turns a profile (and a lab's ready file, and the
password from the environment, the keyring or a prompt) into one of these values.
"""

from __future__ import annotations

import dataclasses

from hybridkit.ps._command import Command, Secret, Switch

__all__ = ["DEFAULT_MAX_SHELLS", "Connection", "OnlineConnect", "online_connect_command"]

DEFAULT_MAX_SHELLS = 4  # runspace pools per session, well under Exchange's PowerShellMaxConcurrency (18 per user)


@dataclasses.dataclass(frozen=True)
class OnlineConnect:
    """The app-only certificate values ``Connect-ExchangeOnline`` takes in each new runspace.

    Either a certificate in the Windows store (``certificate_thumbprint``), or a PFX file on the machine running
    PowerShell (``certificate_file`` with its ``certificate_password``, sent as a SecureString): then
    ``certificate_thumbprint`` may be "". See ``online_connect_command``.
    """

    app_id: str
    certificate_thumbprint: str
    organization: str
    certificate_file: str | None = None
    certificate_password: Secret | None = None


@dataclasses.dataclass(frozen=True)
class Connection:
    """Everything needed to open a WSMan connection: the endpoint, the account and its secret, the limits.

    Attributes:
        profile_name: the name sessions report (``PSSession.name``), for messages and the journal.
        kind: ``onprem``, ``online``, ``lab`` or ``pwsh``.
        cert_validation: True, False, or the path of a CA bundle to validate against.
        online: set for Exchange Online through a jump host: each new runspace runs ``Connect-ExchangeOnline``.
        encryption: pypsrp's message encryption (``auto``; ``never`` for basic auth over http in a lab).
        realm, spn_service, spn_hostname, krb5_config: Kerberos settings (see ``hybridkit.ps._kerberos``).
        process: the argv of a process speaking PSRP out-of-process on its stdin/stdout (``pwsh -NoLogo
            -NoProfile -s``, ``ssh -s host powershell``, ``hybridkit lab pwsh ...``). When set, ``open_session``
            opens an out-of-process session (``hybridkit.ps._outofproc``) and server/port/auth are unused.
            Secrets never go in it.
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
    process: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        """``https://server:port/path``."""
        return f"{'https' if self.ssl else 'http'}://{self.server}:{self.port}{self.path}"


def online_connect_command(online: OnlineConnect) -> Command:
    """``Connect-ExchangeOnline`` with app-only certificate parameters, as the first command of a new runspace.

    With a certificate file: ``-AppId -Organization -CertificateFilePath -CertificatePassword`` (a SecureString,
    as the cmdlet takes it: Microsoft Learn, Connect-ExchangeOnline, "-CertificatePassword ... SecureString");
    otherwise ``-AppId -CertificateThumbprint -Organization``. ``-ShowBanner:$false`` either way.
    """
    if online.certificate_file:
        return Command.of(
            "Connect-ExchangeOnline",
            AppId=online.app_id,
            Organization=online.organization,
            CertificateFilePath=online.certificate_file,
            CertificatePassword=online.certificate_password or Secret(""),
            ShowBanner=Switch(False),
        )
    return Command.of(
        "Connect-ExchangeOnline",
        AppId=online.app_id,
        CertificateThumbprint=online.certificate_thumbprint,
        Organization=online.organization,
        ShowBanner=Switch(False),
    )
