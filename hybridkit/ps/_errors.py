"""The one place where transport-library exceptions become hybridkit errors.

pypsrp, requests/urllib3 and pyspnego raise their own exceptions; ``map_exception`` classifies each into the
error tree of ``hybridkit.errors`` and ``translate_errors`` applies it around a block::

    shell quota, Exchange throttling, HTTP 429/503      -> ThrottledError   (retryable, back off)
    dropped/reset connection, timeouts, broken pool,
    any other WSMan fault or HTTP 5xx                   -> TransportError   (retryable on a fresh pool)
    HTTP 401/403, SPNEGO/NTLM/Kerberos failures,
    TLS certificate validation failures                 -> AuthError        (permanent)
    bad URL or settings                                 -> ConfigError      (permanent)
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

__all__ = ["is_throttling_message", "map_exception", "translate_errors"]

# Texts of WinRM and Exchange refusals for load (matched case-insensitively).
_THROTTLE_PATTERNS = re.compile(
    r"maximum number of (concurrent )?(shells|connections|operations)"
    r"|concurrent shells"
    r"|exceeded the maximum number"
    r"|throttl"
    r"|too many (requests|connections|concurrent)"
    r"|server (is )?(too )?busy"
    r"|micro delay"
    r"|MaxConcurrency",
    re.IGNORECASE,
)
_AUTH_PATTERNS = re.compile(r"access (is )?denied|unauthori[sz]ed|logon failure", re.IGNORECASE)
# WSMan fault codes: 5 = access denied, 0x803381A5/0x8033819F-ish quota codes are matched by text above.
_ACCESS_DENIED = {5, 2147942405}


def is_throttling_message(text: str) -> bool:
    """Whether a fault or error message says the endpoint refused for load (shells, requests, busy)."""
    return bool(_THROTTLE_PATTERNS.search(text or ""))


def _names(exc: BaseException) -> list[str]:
    return [f"{cls.__module__}.{cls.__qualname__}" for cls in type(exc).__mro__]


def _http_error(code: int, text: str) -> HybridkitError:
    if code in (401, 403):
        return AuthError(f"the endpoint refused the credentials (HTTP {code})")
    if code in (429, 503) or is_throttling_message(text):
        return ThrottledError(f"the endpoint is busy (HTTP {code}): {_short(text)}")
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
        if is_throttling_message(text):
            return ThrottledError(f"the endpoint refused for load: {_short(reason)}")
        if numeric in _ACCESS_DENIED or _AUTH_PATTERNS.search(text):
            return AuthError(f"access denied by the endpoint: {_short(reason)}")
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
