"""Kerberos on the client side: profile options, pypsrp settings, and what was negotiated.

Profile settings (all optional)::

    auth = "kerberos"                     # or "negotiate" (Kerberos first, NTLM as a fallback)
    username = "svc-exo@CONTOSO.LOCAL"    # user@REALM, realm in upper case, or a bare user with `realm`
    realm = "CONTOSO.LOCAL"               # appended to a bare username
    spn_service = "HTTP"                  # SPN service class; pypsrp asks for host/ by default (AD maps it)
    spn_hostname = "ex01.contoso.local"   # SPN host name when the URL's name is an alias or an IP address
    krb5_config = "/etc/krb5.conf"        # the krb5.conf to use (sets KRB5_CONFIG for this process)

Without a username the default ticket cache (``kinit``) is used. Client-side Kerberos failures do not raise
pypsrp's ``AuthenticationError``: they escape as ``krb5.Krb5Error`` or ``spnego.exceptions.SpnegoError`` (with a
``gssapi`` error inside); ``hybridkit.ps._kerberos_errors`` explains each of them as one ``AuthError``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hybridkit.errors import ConfigError

__all__ = [
    "DEBIAN_PLACEHOLDER_REALM",
    "KerberosTarget",
    "active_krb5_config",
    "default_realm",
    "apply_krb5_config",
    "describe_mechanism",
    "kerberos_target",
    "kerberos_connection_fields",
    "krb5_conf_realms",
    "wsman_kerberos_kwargs",
]

DEBIAN_PLACEHOLDER_REALM = "ATHENA.MIT.EDU"
KERBEROS_AUTHS = ("kerberos", "negotiate")
DEFAULT_SPN_SERVICE = "host"  # what pypsrp asks for unless told otherwise


@dataclasses.dataclass(frozen=True)
class KerberosTarget:
    """What a Kerberos login asks for, to configure pypsrp and to explain a failure."""

    auth: str
    username: str | None  # as written in the profile
    realm: str | None  # the profile's realm setting
    server: str  # the host name of the URL
    spn_service: str = DEFAULT_SPN_SERVICE
    spn_hostname: str | None = None
    krb5_config: str | None = None  # the profile's krb5_config setting
    password: Any = dataclasses.field(default=None, repr=False, compare=False)  # a Secret, for probe_kerberos

    @property
    def principal(self) -> str | None:
        """The client principal Kerberos will use (``None``: the default ticket cache)."""
        if not self.username:
            return None
        if "@" in self.username or not self.realm:
            return self.username
        return f"{self.username}@{self.realm}"

    @property
    def principal_realm(self) -> str | None:
        """The realm of the client principal, as given (or the krb5.conf default realm)."""
        principal = self.principal
        if principal and "@" in principal:
            return principal.rpartition("@")[2]
        return default_realm(active_krb5_config(self.krb5_config))

    @property
    def spn_host(self) -> str:
        return self.spn_hostname or self.server

    @property
    def spn(self) -> str:
        """The service principal asked for, e.g. ``host/ex01.contoso.local``."""
        return f"{self.spn_service}/{self.spn_host}"


def kerberos_target(connection: Any) -> KerberosTarget:
    """The Kerberos view of a ``Connection`` (or ``Profile``); missing Kerberos settings take their defaults."""
    return KerberosTarget(
        auth=str(getattr(connection, "auth", "kerberos")),
        username=getattr(connection, "username", None),
        realm=getattr(connection, "realm", None),
        server=str(getattr(connection, "server", "") or ""),
        spn_service=getattr(connection, "spn_service", None) or DEFAULT_SPN_SERVICE,
        spn_hostname=getattr(connection, "spn_hostname", None),
        krb5_config=getattr(connection, "krb5_config", None),
        password=getattr(connection, "password", None),
    )


def apply_krb5_config(path: str | None) -> None:
    """Point this process's Kerberos library at the profile's krb5.conf (process-wide, like ``kinit``)."""
    if not path:
        return
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise ConfigError(f"krb5_config {path}: file not found")
    os.environ["KRB5_CONFIG"] = str(resolved)


KERBEROS_FIELDS = ("realm", "spn_service", "spn_hostname", "krb5_config")


def kerberos_connection_fields(profile: Any) -> dict[str, Any]:
    """The ``Connection`` fields a profile's Kerberos settings give (a bare username gets ``@realm``)."""
    fields = {name: getattr(profile, name, None) for name in KERBEROS_FIELDS}
    target = kerberos_target(profile)
    if target.auth in KERBEROS_AUTHS and target.principal and target.principal != target.username:
        fields["username"] = target.principal
    return fields


def wsman_kerberos_kwargs(connection: Any) -> dict[str, Any]:
    """Extra ``pypsrp.wsman.WSMan`` arguments for Kerberos/Negotiate (and applies ``krb5_config``)."""
    target = kerberos_target(connection)
    if target.auth not in KERBEROS_AUTHS:
        return {}
    apply_krb5_config(target.krb5_config)
    kwargs: dict[str, Any] = {}
    if target.spn_service != DEFAULT_SPN_SERVICE:
        kwargs["negotiate_service"] = target.spn_service
    if target.spn_hostname:
        kwargs["negotiate_hostname_override"] = target.spn_hostname
    return kwargs


# -- krb5.conf --------------------------------------------------------------------------------------------------


def active_krb5_config(profile_setting: str | None = None) -> str:
    """The krb5.conf the Kerberos library reads: the profile's, else ``$KRB5_CONFIG``, else /etc/krb5.conf."""
    if profile_setting:
        return str(Path(profile_setting).expanduser())
    return os.environ.get("KRB5_CONFIG", "").split(":")[0] or "/etc/krb5.conf"


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def default_realm(path: str) -> str | None:
    """``default_realm`` from a krb5.conf (None when unset or unreadable)."""
    match = re.search(r"^\s*default_realm\s*=\s*(\S+)", _read(path), re.MULTILINE)
    return match.group(1) if match else None


def krb5_conf_realms(path: str) -> list[str]:
    """The realm names in a krb5.conf's ``[realms]`` section."""
    text = _read(path)
    section = re.search(r"^\s*\[realms\](.*?)(?=^\s*\[|\Z)", text, re.MULTILINE | re.DOTALL)
    if not section:
        return []
    return re.findall(r"^\s*([^\s=#;]+)\s*=\s*\{", section.group(1), re.MULTILINE)


# -- what was negotiated ---------------------------------------------------------------------------------------


def describe_mechanism(auth_handler: Any, host: str | None = None) -> dict[str, str]:
    """What a finished pypsrp ``HTTPNegotiateAuth`` negotiated: scheme, mechanism and message sealing.

    ``auth_handler`` is ``wsman.transport.session.auth``; returns ``{}`` for other auth handlers.
    """
    contexts: Mapping[str, Any] = getattr(auth_handler, "contexts", None) or {}
    if not contexts:
        return {}
    context = contexts.get(host) if host else None
    context = context or next(iter(contexts.values()))
    scheme = str(getattr(context, "response_auth_header", "") or getattr(auth_handler, "auth_provider", ""))
    try:
        mechanism = str(context.negotiated_protocol or "")
    except Exception:  # noqa: BLE001 - an incomplete context has no protocol yet
        mechanism = ""
    sealing = "HTTP-Kerberos-session-encrypted" if scheme.lower() == "kerberos" else "HTTP-SPNEGO-session-encrypted"
    info = {"scheme": scheme.capitalize() if scheme else "", "mechanism": mechanism}
    if getattr(auth_handler, "wrap_required", False):
        info["sealing"] = sealing
    return info
