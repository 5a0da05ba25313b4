"""One place that explains every Kerberos failure as an actionable ``AuthError``.

Client-side Kerberos failures do not raise pypsrp's ``AuthenticationError``: they escape as ``krb5.Krb5Error``
or ``spnego.exceptions.SpnegoError`` (with a ``gssapi`` error inside). ``explain_kerberos_failure`` turns each of
them, and a server's refusal of a ticket, into one ``AuthError`` that names the principal, the realm, the SPN
asked for, the krb5.conf in use, and what to check. ``probe_kerberos`` asks the KDC for a service ticket without
touching the endpoint: it tells why Negotiate fell back to NTLM (``negotiated_summary``, for ``connect test``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

from hybridkit.errors import AuthError, ConfigError, HybridkitError
from hybridkit.ps._kerberos import (
    DEBIAN_PLACEHOLDER_REALM,
    KERBEROS_AUTHS,
    KerberosTarget,
    active_krb5_config,
    apply_krb5_config,
    default_realm,
    kerberos_target,
    krb5_conf_realms,
)

__all__ = ["explain_kerberos_errors", "explain_kerberos_failure", "negotiated_summary", "probe_kerberos"]

# MIT error codes (signed, as krb5.Krb5Error.err_code; GSS minor codes carry the same value unsigned).
_PREAUTH_FAILED = -1765328360
_C_PRINCIPAL_UNKNOWN = -1765328378
_S_PRINCIPAL_UNKNOWN = -1765328377
_REALM_CANT_RESOLVE = -1765328230
_KDC_UNREACH = -1765328228
_SKEW = -1765328347
_CLIENT_REVOKED = -1765328366
_KEY_EXPIRED = -1765328361


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
    if isinstance(exc, HybridkitError):
        return None
    offered = re.search(r"auth protocol '(\w+)' which is incompatible with the specified auth_provider '(\w+)'",
                        str(exc))
    if offered:  # pypsrp's ValueError: e.g. an ntlm profile against Exchange's Kerberos-only /PowerShell
        return AuthError(
            f"{target.server} offers only {offered.group(1)} (WWW-Authenticate), but the profile asks for "
            f"{target.auth}: set auth = \"{offered.group(1).lower()}\" in the profile"
        )
    if target.auth not in KERBEROS_AUTHS:
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
    if "spnego.exceptions.FeatureMissingError" in names or (
            any(isinstance(e, ImportError) for e in excs) and ("gssapi" in lower or "krb5" in lower)):
        return ConfigError(
            f"auth = {target.auth} needs Kerberos, which this Python lacks: pip install 'hybridkit[kerberos]' "
            "(gssapi and krb5, built against the MIT Kerberos headers: Debian libkrb5-dev)"
        )
    if not _is_kerberos_exception(excs):
        return None

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
