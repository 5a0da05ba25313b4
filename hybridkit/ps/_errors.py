"""The one place where transport-library exceptions become hybridkit errors.

pypsrp, requests/urllib3 and pyspnego raise their own exceptions; ``map_exception`` classifies each into the
error tree of ``hybridkit.errors`` and ``translate_errors`` applies it around a block::

    shell quota, Exchange throttling, HTTP 429/503      -> ThrottledError   (retryable, back off; the wait
                                                           Exchange asks for is its retry_after)
    dropped/reset connection, timeouts, broken pool,
    any other WSMan fault or HTTP 5xx                   -> TransportError   (retryable on a fresh pool)
    HTTP 401/403, SPNEGO/NTLM/Kerberos failures,
    TLS certificate validation failures                 -> AuthError        (permanent)
    bad URL or settings, unknown session configuration -> ConfigError      (permanent)
    serialization/fragment/invalid-operation errors     -> CommandFailed    (permanent: our request is wrong)

Classes are matched by module-qualified name along the exception's MRO, so this module does not import pypsrp
(only ``_pypsrp`` does); ``tests/foundation/test_error_mapping.py`` checks that every exception class pypsrp
defines is mapped.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from hybridkit.errors import (
    AuthError,
    CommandFailed,
    ConfigError,
    HybridkitError,
    ThrottledError,
    TransportError,
)

__all__ = ["is_throttling_message", "is_tls_name_mismatch", "map_exception", "one_line", "pipeline_failed",
           "retry_after_seconds", "throttled", "translate_errors"]

# WinRM's quota faults (MS-WSMV; winerror.h): ERROR_WSMAN_QUOTA_MAX_SHELLS, _MAX_OPERATIONS, _USER, _SYSTEM,
# _MAX_SHELLUSERS. The code alone says "too many": no text needed.
_QUOTA_CODES = {2150859173, 2150859174, 2150859175, 2150859176, 2150859179}
# ERROR_WSMAN_INVALID_RESOURCE_URI: no such session configuration at this address (wrong path or configuration).
_NO_CONFIGURATION = {2150858811}
# Texts of WinRM and Exchange refusals for load (matched case-insensitively), each quoted in FIDELITY.md:
# WinRM's per-user shell quota, Exchange 2013+'s runspace budget ("... for the policy party : MaxConcurrency"),
# Exchange Online's ("exceeded your budget to create runspace. Please wait for N seconds"), Exchange 2010's user
# load quota ("... will not be approved for at least N milliseconds").
_THROTTLE_PATTERNS = re.compile(
    r"maximum number of (\d+ )?(concurrent )?(shells|connections|operations)"
    r"|concurrent shells"
    r"|exceeded the maximum number of connections"
    r"|exceeded your budget"
    r"|policy party"
    r"|user load quota"
    r"|throttl"
    r"|too many (requests|connections|concurrent)"
    r"|server (is )?(too )?busy"
    r"|micro delay"
    r"|MaxConcurrency",
    re.IGNORECASE,
)
_WAIT_SECONDS = re.compile(r"please wait for (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)
_WAIT_MILLISECONDS = re.compile(r"not be approved for at least (\d+) milliseconds", re.IGNORECASE)
_AUTH_PATTERNS = re.compile(r"access (is )?denied|unauthori[sz]ed|logon failure", re.IGNORECASE)
# WSMan fault codes: 5 = access denied.
_ACCESS_DENIED = {5, 2147942405}


def is_throttling_message(text: str) -> bool:
    """Whether a fault or error message says the endpoint refused for load (shells, requests, busy)."""
    return bool(_THROTTLE_PATTERNS.search(text or ""))


_NAME_MISMATCH = re.compile(r"hostname mismatch|ip address mismatch|doesn't match|does not match", re.IGNORECASE)


def is_tls_name_mismatch(text: str) -> bool:
    """Whether a TLS failure says the certificate is for other names (not that its issuer is unknown)."""
    return bool(_NAME_MISMATCH.search(text or ""))


def retry_after_seconds(text: str) -> float | None:
    """The wait a refusal asks for: "Please wait for N seconds" (Exchange Online), "... for at least N milliseconds"
    (WinRM's user load quota); None when the text names none."""
    found = _WAIT_SECONDS.search(text or "")
    if found:
        return float(found.group(1))
    found = _WAIT_MILLISECONDS.search(text or "")
    return int(found.group(1)) / 1000.0 if found else None


def throttled(message: str, text: str) -> ThrottledError:
    """A ThrottledError for a refusal whose full ``text`` may name the wait Exchange asks for."""
    return ThrottledError(message, retry_after=retry_after_seconds(text))


def one_line(text: str) -> str:
    """Exchange's and Entra ID's messages carry CR/LF (Trace ID, Correlation ID ...): one line for the person."""
    return " ".join(str(text).split())


def pipeline_failed(commands: str, message: str, error_id: str | None = None) -> HybridkitError:
    """The error for a pipeline that failed as a whole (a terminating error) with Exchange's ``message``.

    A refusal for load (e.g. Exchange Online's runspace budget from Connect-ExchangeOnline) is a ``ThrottledError``
    with the wait it names; anything else is ``CommandFailed``. ``commands`` is the pipeline's cmdlets
    (``Get-Mailbox | Set-Mailbox``).
    """
    if is_throttling_message(message):
        return throttled(f"{commands}: {one_line(message)}", message)
    return CommandFailed(message, command=commands, error_id=error_id)


def _names(exc: BaseException) -> list[str]:
    return [f"{cls.__module__}.{cls.__qualname__}" for cls in type(exc).__mro__]


def _http_error(code: int, text: str) -> HybridkitError:
    if code in (401, 403):
        return AuthError(f"the endpoint refused the credentials (HTTP {code})")
    if code in (429, 503) or is_throttling_message(text):
        return throttled(f"the endpoint is busy (HTTP {code}): {_short(text)}", text)
    if code == 404:
        return ConfigError(f"the endpoint answered HTTP {code}; check server, port, path and https in the profile")
    return TransportError(f"HTTP {code} from the endpoint: {_short(text)}")


def _short(text: object, limit: int = 300) -> str:
    try:
        raw = str(text or "")
    except Exception:  # noqa: BLE001 - some library exceptions cannot format themselves; show their args
        raw = repr(getattr(text, "args", text))
    one = " ".join(raw.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def map_exception(exc: BaseException) -> HybridkitError | None:
    """The hybridkit error for an exception raised by pypsrp, requests/urllib3 or pyspnego; None if foreign."""
    if isinstance(exc, HybridkitError):
        return exc
    names = _names(exc)
    name_set = set(names)

    def has(*candidates: str) -> bool:
        return any(c in name_set for c in candidates)

    # --- pypsrp ---------------------------------------------------------------------------------------
    if has("pypsrp.exceptions.AuthenticationError"):
        return AuthError(f"authentication failed: {_short(exc)}")
    if has("pypsrp.exceptions.WinRMTransportError"):
        code = getattr(exc, "code", 0) or 0
        return _http_error(int(code), str(getattr(exc, "response_text", "") or ""))
    if has("pypsrp.exceptions.WSManFaultError"):
        code = getattr(exc, "code", None)
        reason = str(getattr(exc, "reason", "") or "")
        text = f"{reason} {getattr(exc, 'provider_fault', '') or ''}"
        try:
            numeric = int(code) if code is not None else None
        except (TypeError, ValueError):
            numeric = None
        if numeric in _QUOTA_CODES or is_throttling_message(text):
            return throttled(f"the endpoint refused for load: {_short(reason)}", text)
        if numeric in _ACCESS_DENIED or _AUTH_PATTERNS.search(text):
            return AuthError(f"access denied by the endpoint: {_short(reason)}")
        if numeric in _NO_CONFIGURATION:
            return ConfigError(f"the endpoint has no such session configuration (WSMan fault {code}): "
                               f"{_short(reason)}; check path and configuration in the profile")
        return TransportError(f"WSMan fault {code}: {_short(reason) or 'no details'}")
    if has(
        "pypsrp.exceptions._InvalidStateError",
        "pypsrp.exceptions.InvalidRunspacePoolStateError",
        "pypsrp.exceptions.InvalidPipelineStateError",
    ):
        return TransportError(f"the remote runspace is no longer usable: {_short(exc)}")
    if has(
        "pypsrp.exceptions.SerializationError",
        "pypsrp.exceptions.FragmentError",
        "pypsrp.exceptions.InvalidPSRPOperation",
    ):
        return CommandFailed(f"the request could not be sent: {_short(exc)}")
    if has("pypsrp.exceptions.WinRMError"):
        return TransportError(f"WinRM error: {_short(exc)}")
    if has("pypsrp.powershell.RunspacePoolWarning"):
        return TransportError(f"runspace pool: {_short(exc)}")

    # --- Kerberos libraries (explained in detail by ps/_kerberos_errors where a pool opens) ----------------
    if any(n.startswith(("krb5.", "gssapi.")) for n in names):
        return AuthError(f"Kerberos authentication failed: {_short(exc)}")

    # --- pyspnego -----------------------------------------------------------------------------------------
    if any(n.startswith("spnego.") for n in names):
        if has("spnego.exceptions.FeatureMissingError"):
            return ConfigError(f"the authentication method needs a missing feature: {_short(exc)}")
        return AuthError(f"authentication failed: {_short(exc)}")

    # --- requests / urllib3 -----------------------------------------------------------------------------------
    if has("requests.exceptions.SSLError", "urllib3.exceptions.SSLError", "ssl.SSLError"):
        if is_tls_name_mismatch(str(exc)):  # PypsrpSession adds the names the certificate is valid for
            return AuthError(f"the endpoint's TLS certificate is not valid for the name the profile connects to "
                             f"({_short(exc, 160)})")
        return AuthError(
            f"the endpoint's TLS certificate was not accepted ({_short(exc, 160)}); "
            "set ca_bundle in the profile to the CA that signed it"
        )
    if has("requests.exceptions.HTTPError"):
        response = getattr(exc, "response", None)
        code = getattr(response, "status_code", 0) or 0
        return _http_error(int(code), getattr(response, "text", "") or "")
    if has(
        "requests.exceptions.InvalidURL",
        "requests.exceptions.MissingSchema",
        "requests.exceptions.InvalidSchema",
        "requests.exceptions.InvalidHeader",
        "requests.exceptions.InvalidProxyURL",
        "requests.exceptions.InvalidJSONError",
        "urllib3.exceptions.LocationValueError",
    ):
        return ConfigError(f"the endpoint address is not valid: {_short(exc)}")
    if has("requests.exceptions.ProxyError"):
        return TransportError(f"proxy failed: {_short(exc)}")
    if has(
        "requests.exceptions.RequestException",
        "urllib3.exceptions.HTTPError",
        "http.client.HTTPException",
    ):
        return TransportError(f"connection failed: {_short(exc)}")

    # --- the standard library underneath ---------------------------------------------------------------------
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return TransportError(f"connection failed: {_short(exc)}")
    if isinstance(exc, OSError) and any(n.startswith("socket.") for n in names):
        return TransportError(f"network error: {_short(exc)}")
    return None


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise transport-library exceptions as hybridkit errors (chained, so ``-v`` shows the original)."""
    try:
        yield
    except HybridkitError:
        raise
    except Exception as exc:
        mapped = map_exception(exc)
        if mapped is None:
            raise
        raise mapped from exc
