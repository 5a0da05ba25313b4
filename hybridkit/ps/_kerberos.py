"""Kerberos on the client side: profile options, pypsrp settings, and one place that explains every failure.

Profile settings (all optional)::

    auth = "kerberos"                     # or "negotiate" (Kerberos first, NTLM as a fallback)
    username = "svc-exo@CONTOSO.LOCAL"    # user@REALM, realm in upper case, or a bare user with `realm`
    realm = "CONTOSO.LOCAL"               # appended to a bare username
    spn_service = "HTTP"                  # SPN service class; pypsrp asks for host/ by default (AD maps it)
    spn_hostname = "ex01.contoso.local"   # SPN host name when the URL's name is an alias or an IP address
    krb5_config = "/etc/krb5.conf"        # the krb5.conf to use (sets KRB5_CONFIG for this process)

Without a username the default ticket cache (``kinit``) is used. Client-side Kerberos failures do not raise
pypsrp's ``AuthenticationError``: they escape as ``krb5.Krb5Error`` or ``spnego.exceptions.SpnegoError`` (with a
``gssapi`` error inside). ``explain_kerberos_failure`` turns each of them, and a server's refusal of a ticket,
into one ``AuthError`` that names the principal, the realm, the SPN asked for, the krb5.conf in use, and what to
check. ``probe_kerberos`` asks the KDC for a service ticket without touching the endpoint: it tells why Negotiate
fell back to NTLM.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hybridkit.errors import AuthError, ConfigError, HybridkitError

__all__ = [
    "DEBIAN_PLACEHOLDER_REALM",
    "KerberosTarget",
    "active_krb5_config",
    "apply_krb5_config",
    "describe_mechanism",
    "explain_kerberos_errors",
    "explain_kerberos_failure",
    "kerberos_target",
    "kerberos_connection_fields",
    "krb5_conf_realms",
    "lab_kerberos_overrides",
    "negotiated_summary",
    "probe_kerberos",
    "wsman_kerberos_kwargs",
]

DEBIAN_PLACEHOLDER_REALM = "ATHENA.MIT.EDU"
KERBEROS_AUTHS = ("kerberos", "negotiate")
DEFAULT_SPN_SERVICE = "host"  # what pypsrp asks for unless told otherwise

# MIT error codes (signed, as krb5.Krb5Error.err_code; GSS minor codes carry the same value unsigned).
_PREAUTH_FAILED = -1765328360
_C_PRINCIPAL_UNKNOWN = -1765328378
_S_PRINCIPAL_UNKNOWN = -1765328377
_REALM_CANT_RESOLVE = -1765328230
_KDC_UNREACH = -1765328228
_SKEW = -1765328347
_CLIENT_REVOKED = -1765328366
_KEY_EXPIRED = -1765328361


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


# -- explaining failures ----------------------------------------------------------------------------------------


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _codes(excs: list[BaseException]) -> set[int]:
    codes: set[int] = set()
    for e in excs:
        for attr in ("err_code", "min_code"):
            value = getattr(e, attr, None)
            if isinstance(value, int) and value:
                codes.add(value - 2**32 if value >= 2**31 else value)
    return codes


def _is_kerberos_exception(excs: list[BaseException]) -> bool:
    for e in excs:
        module = type(e).__module__ or ""
        if module.startswith(("krb5", "gssapi", "spnego")):
            return True
    return False


def _quoted_principal(text: str, kind: str) -> str | None:
    match = re.search(rf"{kind} '?([^' ]+@[^' ]+?)'? not found", text)
    return match.group(1) if match else None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def explain_kerberos_failure(exc: BaseException, target: KerberosTarget) -> HybridkitError | None:
    """The one actionable error for a Kerberos failure (None when ``exc`` is not about Kerberos).

    Handles ``krb5.Krb5Error``, ``spnego.exceptions.SpnegoError`` (and the ``gssapi`` errors inside), and a
    server's HTTP 401 after a Kerberos ticket was sent. Each message names the principal, the realm, the SPN and
    the krb5.conf in use, and says what to check.
    """
    if target.auth not in KERBEROS_AUTHS or isinstance(exc, HybridkitError):
        return None
    excs = _chain(exc)
    text = " | ".join(str(e) for e in excs)
    codes = _codes(excs)
    names = {f"{type(e).__module__}.{type(e).__name__}" for e in excs}
    conf = active_krb5_config(target.krb5_config)
    principal = target.principal or "the default ticket cache's principal"
    realm = target.principal_realm or "(no realm: krb5.conf has no default_realm)"
    spn = f"{target.spn}@{realm}" if target.principal_realm else target.spn
    where = f"(principal {principal}, SPN {spn}, krb5.conf {conf})"
    lower = text.lower()

    top = {f"{cls.__module__}.{cls.__name__}" for cls in type(exc).__mro__}
    if "pypsrp.exceptions.AuthenticationError" in top:
        if target.auth == "negotiate":
            probed = probe_kerberos(target)
            if probed:
                return AuthError(
                    f"{target.server} refused Negotiate authentication: Kerberos could not be used, so the client "
                    f"fell back to NTLM, which was refused too. Why Kerberos failed: {probed}"
                )
            return AuthError(
                f"{target.server} refused Negotiate authentication although the KDC issued a ticket for {spn} "
                f"{where}: the server's key for that SPN may be out of date, or the account may not use remote "
                "PowerShell"
            )
        return AuthError(
            f"{target.server} refused the Kerberos ticket for {spn} {where}. The server's key for that SPN may be "
            "out of date (kvno: reset the account's keytab / re-run setspn), or the account is not allowed to "
            "use remote PowerShell"
        )
    if not _is_kerberos_exception(excs):
        return None
    if "spnego.exceptions.FeatureMissingError" in names or "no module named 'gssapi'" in lower:
        return HybridkitError(
            "Kerberos is not available in this Python: install hybridkit[kerberos] (gssapi, krb5; needs "
            "libkrb5-dev to build) and the MIT Kerberos client libraries"
        )

    if "\\" in (target.username or "") and (_C_PRINCIPAL_UNKNOWN in codes or "not found in kerberos" in lower):
        user = (target.username or "").split("\\", 1)[1]
        domain = (target.username or "").split("\\", 1)[0]
        suggest = f"{user}@{target.realm or target.principal_realm or domain.upper() + '.LOCAL'}"
        return AuthError(
            f"Kerberos cannot use the username '{target.username}': DOMAIN\\user is an NTLM name, Kerberos needs "
            f"user@REALM with the realm in upper case (e.g. username = \"{suggest}\"), or a bare user with realm set"
        )
    if _PREAUTH_FAILED in codes or "preauthentication failed" in lower or "password incorrect" in lower:
        return AuthError(
            f"Kerberos: the KDC of {realm} rejected the password of {principal} (pre-authentication failed). "
            "Check the password (the profile's password_env variable or keyring entry), and that the account is "
            f"not locked out {where}"
        )
    if _C_PRINCIPAL_UNKNOWN in codes or re.search(r"client '?[^ ]+'? not found", lower):
        who = _quoted_principal(text, "Client") or principal
        return AuthError(
            f"Kerberos: the KDC of {realm} has no user {who}. Check the username's spelling (the account's "
            f"sAMAccountName or UPN) and its realm {where}"
        )
    if _S_PRINCIPAL_UNKNOWN in codes or re.search(r"server '?[^ ]+'? not found", lower):
        asked = _quoted_principal(text, "Server") or spn
        if _is_ip(target.spn_host):
            return AuthError(
                f"Kerberos: the client asked for the service principal {asked} because the profile connects by IP "
                f"address ({target.spn_host}); Kerberos needs the server's name. Set server to the Exchange server's "
                "DNS name, or keep the address and set spn_hostname to that name"
            )
        return AuthError(
            f"Kerberos: the KDC of {realm} has no service principal {asked}. Check that {target.spn_host} is the "
            "server's real name (for a load-balanced or alias name, register the SPN with setspn -S, or set "
            f"spn_hostname to the server's name) and the SPN service (spn_service, now {target.spn_service!r}; "
            "AD maps host/ to HTTP/, MIT and some setups do not) "
            f"{where}"
        )
    if _REALM_CANT_RESOLVE in codes or _KDC_UNREACH in codes or "cannot find kdc" in lower or \
            "cannot contact any kdc" in lower:
        failed_realm = _realm_in(text) or realm
        configured = krb5_conf_realms(conf)
        default = default_realm(conf)
        if failed_realm != failed_realm.upper() and failed_realm.upper() in [r.upper() for r in configured]:
            user = (target.principal or "user").rpartition("@")[0] or "user"
            return AuthError(
                f"Kerberos realm names are case-sensitive: {principal} names realm {failed_realm!r}, but {conf} "
                f"configures {failed_realm.upper()!r}. Use {user}@{failed_realm.upper()}"
            )
        if failed_realm.upper() != DEBIAN_PLACEHOLDER_REALM and default == DEBIAN_PLACEHOLDER_REALM:
            return AuthError(
                f"Kerberos: no KDC is known for realm {failed_realm}: {conf} is Debian's unconfigured krb5.conf "
                f"(default_realm = {DEBIAN_PLACEHOLDER_REALM}, no {failed_realm} in [realms]). Set krb5_config in "
                "the profile to your domain's krb5.conf, or configure that realm there"
            )
        if failed_realm.upper() == DEBIAN_PLACEHOLDER_REALM:
            return AuthError(
                f"Kerberos used realm {failed_realm} from a stale krb5.conf: {conf} still has Debian's placeholder "
                f"default_realm = {DEBIAN_PLACEHOLDER_REALM}. Set krb5_config in the profile to your domain's "
                "krb5.conf (or fix default_realm and [realms] there), and give the username as user@REALM"
            )
        if _KDC_UNREACH in codes or "cannot contact any kdc" in lower:
            return AuthError(
                f"Kerberos: no KDC of realm {failed_realm} answered (the kdc entries of {conf}, or DNS SRV records). "
                "Check that a domain controller is reachable on port 88 from here"
            )
        return AuthError(
            f"Kerberos: no KDC is known for realm {failed_realm}: {conf} has no [realms] entry for it "
            f"(configured: {', '.join(configured) or 'none'}) and DNS has no _kerberos SRV record. Add the realm to "
            "krb5.conf, or set krb5_config in the profile"
        )
    if _SKEW in codes or "clock skew" in lower:
        return AuthError(f"Kerberos: this machine's clock differs from the KDC's by more than 5 minutes {where}")
    if _CLIENT_REVOKED in codes or "credentials have been revoked" in lower:
        return AuthError(f"Kerberos: the account {principal} is disabled or locked out {where}")
    if _KEY_EXPIRED in codes or "password has expired" in lower:
        return AuthError(f"Kerberos: the password of {principal} has expired; change it first {where}")
    if "no credentials" in lower or "credentials cache" in lower and "not found" in lower:
        return AuthError(
            f"Kerberos: no username in the profile and no ticket in the credentials cache "
            f"({os.environ.get('KRB5CCNAME', 'default cache')}). Run kinit user@REALM, or set username and "
            "password_env in the profile"
        )
    first = " ".join(str(excs[-1]).split())[:240]
    return AuthError(f"Kerberos authentication failed {where}: {first}")


def _realm_in(text: str) -> str | None:
    match = re.search(r"for realm ['\"]([^'\"]+)['\"]", text)
    return match.group(1) if match else None


@contextlib.contextmanager
def explain_kerberos_errors(connection: Any) -> Iterator[None]:
    """Re-raise Kerberos failures inside the block as ``explain_kerberos_failure``'s error (chained)."""
    try:
        yield
    except HybridkitError:
        raise
    except Exception as exc:
        mapped = explain_kerberos_failure(exc, kerberos_target(connection))
        if mapped is None:
            raise
        raise mapped from exc


def probe_kerberos(target: KerberosTarget) -> str | None:
    """Ask the KDC for a ticket to the target's SPN without contacting the server.

    Returns None when Kerberos works from here, else the reason (the explained message). Used to say why
    Negotiate fell back to NTLM, or why it was refused.
    """
    import spnego

    password = getattr(target.password, "value", target.password)
    username = target.username if "\\" in (target.username or "") else target.principal
    try:
        apply_krb5_config(target.krb5_config)
        context = spnego.client(username, password, hostname=target.spn_host, service=target.spn_service,
                                protocol="kerberos")
        context.step()
    except Exception as exc:  # noqa: BLE001 - every failure is explained below
        explained = explain_kerberos_failure(exc, dataclasses.replace(target, auth="kerberos"))
        return str(explained) if explained is not None else f"{type(exc).__name__}: {exc}"
    return None


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


def lab_kerberos_overrides(auth: str, ready: Mapping[str, Any]) -> dict[str, Any]:
    """Profile overrides for a lab profile with Kerberos auth, from a ready file written by ``lab serve --kdc``.

    Connects by the name the lab's service principals were made for (not 127.0.0.1), as the lab's Kerberos user,
    with the lab realm's krb5.conf. Raises ConfigError when the lab runs without ``--kdc``.
    """
    if auth not in KERBEROS_AUTHS:
        return {}
    if not ready.get("krb5_config"):
        raise ConfigError(
            f"the lab profile asks for {auth} auth but the lab runs without a KDC; start it with "
            "`hybridkit lab serve --kdc --auth kerberos`"
        )
    hostnames = list(ready.get("kerberos_hostnames") or ["localhost"])
    from hybridkit.ps._command import Secret

    return {
        "auth": auth,
        "server": hostnames[0],
        "username": str(ready["kerberos_principal"]),
        "password": Secret(str(ready["kerberos_password"])),
        "krb5_config": str(ready["krb5_config"]),
        "allow_unencrypted": False,
    }


def negotiated_summary(connection: Any, auth_info: Mapping[str, str]) -> dict[str, str]:
    """For ``connect test``: which mechanism was negotiated, for whom and which SPN, and how messages are sealed.

    Under Negotiate, an NTLM result says why Kerberos was not used (``probe_kerberos``).
    """
    target = kerberos_target(connection)
    if target.auth not in KERBEROS_AUTHS + ("ntlm",) or not auth_info:
        return {}
    mechanism = (auth_info.get("mechanism") or "").lower()
    scheme = auth_info.get("scheme") or ""
    sealing = auth_info.get("sealing")
    sealed = f"; messages sealed ({sealing})" if sealing else "; messages protected by TLS"
    if mechanism == "kerberos":
        realm = target.principal_realm
        spn = f"{target.spn}@{realm}" if realm else target.spn
        how = "Kerberos (WWW-Authenticate: Kerberos)" if scheme.lower() == "kerberos" else \
            "Kerberos inside Negotiate (SPNEGO)"
        return {"mechanism": f"{how}, ticket for {spn}{sealed}"}
    if mechanism == "ntlm":
        summary = {"mechanism": f"NTLM ({scheme or 'Negotiate'}){sealed}"}
        if target.auth in KERBEROS_AUTHS:
            reason = probe_kerberos(target)
            summary["kerberos"] = (
                f"not used: {reason}" if reason else
                "not used although a ticket could be obtained (the server did not accept Kerberos)"
            )
        return summary
    return {"mechanism": f"{mechanism or 'unknown'} ({scheme}){sealed}"}
