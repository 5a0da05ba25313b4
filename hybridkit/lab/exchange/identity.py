"""Resolve an ``-Identity`` value to recipients the way Exchange's identity parameters do.

Exchange accepts, for a recipient: Name, Alias, DisplayName, distinguished name, canonical name (the on-prem
``Identity``, ``contoso.com/Corp/Sales/Users/Ann Lee``), ``DOMAIN\\sam``, SamAccountName, any proxy address
(``ann@contoso.com``, with or without ``smtp:``; X500 too), GUID or ExchangeGuid, LegacyExchangeDN,
UserPrincipalName and (online) ExternalDirectoryObjectId. Matching is case-insensitive; ``*`` wildcards are
honoured on Name, Alias, DisplayName and the primary SMTP address.

An index per side maps every key to the recipient GUIDs it names. It is built on first use and rebuilt when the
number of recipients changes or after ``invalidate(side)``; the engine invalidates after every cmdlet that is not
a read (``Get-``/``Test-``/``Export-``), so handlers that change names or addresses need do nothing.
Candidates are re-checked against the live record, so a stale entry can never return the wrong object.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from typing import Any

from hybridkit.lab._types import LabObject
from hybridkit.lab.exchange.org import Side

__all__ = ["identity_keys", "identity_text", "invalidate", "resolve", "resolve_one"]

_ATTR = "_lab_identity_index"
_SLOW_CHECK_LIMIT = 2000
_LEGACY_LEAF = re.compile(r"^[0-9a-f]{32}-(.+)$")
_SCALAR_KEYS = (
    "Guid", "ExchangeGuid", "Name", "Alias", "DisplayName", "DistinguishedName", "Identity", "SamAccountName",
    "UserPrincipalName", "LegacyExchangeDN", "PrimarySmtpAddress", "WindowsEmailAddress", "ExternalDirectoryObjectId",
)
# The index holds the short keys; structured forms (canonical name, DN, LegacyExchangeDN, DOMAIN\sam) are found
# through the name/alias/sam they end with and then verified against the full record.
_INDEXED_KEYS = ("Guid", "ExchangeGuid", "Name", "Alias", "DisplayName", "SamAccountName", "UserPrincipalName",
                 "PrimarySmtpAddress", "ExternalDirectoryObjectId")


def identity_text(value: Any) -> str:
    """An identity value as text: strings as given; Exchange objects by Identity, then Name/Guid."""
    if isinstance(value, LabObject):
        for prop in ("Identity", "Guid", "Name"):
            found = value.get(prop)
            if found:
                return str(found)
        return value.to_string or ""
    if isinstance(value, dict):
        return str(value.get("Identity") or value.get("Name") or value.get("Guid") or "")
    return "" if value is None else str(value)


def identity_keys(rec: dict[str, Any], netbios: str | None) -> Iterable[str]:
    """Every lower-cased text that names ``rec``."""
    for key in _SCALAR_KEYS:
        value = rec.get(key)
        if value:
            yield str(value).lower()
    sam = rec.get("SamAccountName")
    if sam and netbios:
        yield f"{netbios}\\{sam}".lower()
    for address in rec.get("EmailAddresses") or ():
        text = str(address)
        prefix, sep, rest = text.partition(":")
        if sep and len(prefix) <= 8:  # SMTP:, smtp:, X500:, SIP: ...
            yield rest.lower()
            if prefix.lower() != "smtp":
                yield text.lower()
        else:
            yield text.lower()


class _Index:
    """Lower-cased key -> GUID (or list of GUIDs when several recipients share it)."""

    def __init__(self, side: Side) -> None:
        self.count = len(side.recipients)
        keys: dict[str, Any] = {}

        def add(key: str, guid: str) -> None:
            present = keys.get(key)
            if present is None:
                keys[key] = guid
            elif isinstance(present, list):
                if guid not in present:
                    present.append(guid)
            elif present != guid:
                keys[key] = [present, guid]

        for guid, rec in side.recipients.items():
            get = rec.get
            add(guid.lower(), guid)
            for key in ("ExchangeGuid", "Name", "Alias", "ExternalDirectoryObjectId"):
                value = get(key)
                if value:
                    add(str(value).lower(), guid)
            name, display, alias, sam = get("Name"), get("DisplayName"), get("Alias"), get("SamAccountName")
            if display and display != name:
                add(display.lower(), guid)
            if sam and sam != alias:
                add(sam.lower(), guid)
            addresses = get("EmailAddresses")
            upn = get("UserPrincipalName")
            if upn:
                add(upn.lower(), guid)
            if addresses:
                for address in addresses:
                    text = address.lower()
                    prefix, sep, rest = text.partition(":")
                    if sep and len(prefix) <= 8:
                        add(rest, guid)
                        if prefix != "smtp":
                            add(text, guid)
                    else:
                        add(text, guid)
            elif get("PrimarySmtpAddress"):
                add(get("PrimarySmtpAddress").lower(), guid)
        self.keys = keys

    def get(self, key: str) -> list[str]:
        found = self.keys.get(key)
        if found is None:
            return []
        return found if isinstance(found, list) else [found]


def invalidate(side: Side) -> None:
    """Forget the side's identity index (call after changing recipients' names or addresses)."""
    if hasattr(side, _ATTR):
        delattr(side, _ATTR)


def _index(side: Side) -> _Index:
    index: _Index | None = getattr(side, _ATTR, None)
    if index is None or index.count != len(side.recipients):
        index = _Index(side)
        setattr(side, _ATTR, index)
    return index


def _strip_prefix(text: str) -> str:
    lowered = text.lower()
    return lowered[5:] if lowered.startswith("smtp:") else lowered


def resolve(
    side: Side,
    identity: Any,
    accept: Callable[[dict[str, Any]], bool] | None = None,
) -> list[dict[str, Any]]:
    """All recipients ``identity`` names (filtered by ``accept``), in a stable order. Empty if none.

    A piped Exchange object resolves by its Guid when it carries one.
    """
    if isinstance(identity, LabObject):
        guid = identity.get("Guid")
        if guid and str(guid) in side.recipients:
            rec = side.recipients[str(guid)]
            return [rec] if accept is None or accept(rec) else []
    text = identity_text(identity).strip()
    if not text:
        return []
    wanted = _strip_prefix(text)
    if "*" in wanted:
        return _wildcard(side, wanted, accept)
    netbios = side.settings.get("netbios")
    found: list[dict[str, Any]] = []
    index = _index(side)
    candidates: list[str] = index.get(wanted)
    for short in _short_forms(wanted):
        candidates = candidates + index.get(short)
    for guid in dict.fromkeys(candidates):
        rec = side.recipients.get(guid)
        if rec is None or (accept is not None and not accept(rec)):
            continue
        if wanted in identity_keys(rec, netbios):
            found.append(rec)
    if not found and len(side.recipients) <= _SLOW_CHECK_LIMIT:
        # The index may predate an in-place rename by a handler that did not invalidate: check the slow way.
        stale = [r for r in side.recipients.values() if (accept is None or accept(r)) and wanted in identity_keys(r, netbios)]
        if stale:
            invalidate(side)
            found = stale
    return found


def _short_forms(wanted: str) -> list[str]:
    """The indexed key a structured identity ends with (its name, alias or sam)."""
    out = []
    if "/" in wanted and not wanted.startswith("/o="):
        out.append(wanted.rsplit("/", 1)[1])  # canonical name -> Name
    if wanted.startswith("cn="):
        out.append(wanted[3:].replace("\\,", "\x00").split(",", 1)[0].replace("\x00", ","))  # DN -> Name
    if wanted.startswith("/o="):
        leaf = wanted.rsplit("/cn=", 1)[-1]
        match = _LEGACY_LEAF.match(leaf)
        out.append(match.group(1) if match else leaf)  # LegacyExchangeDN .../cn=<32 hex>-alias -> Alias
    if "\\" in wanted:
        out.append(wanted.split("\\", 1)[1])  # DOMAIN\sam -> sam
    return out


def _wildcard(side: Side, pattern: str, accept: Callable[[dict[str, Any]], bool] | None) -> list[dict[str, Any]]:
    out = []
    for rec in side.recipients.values():
        if accept is not None and not accept(rec):
            continue
        for key in ("Name", "Alias", "DisplayName", "PrimarySmtpAddress"):
            value = rec.get(key)
            if value and fnmatch.fnmatchcase(str(value).lower(), pattern):
                out.append(rec)
                break
    return out


def resolve_one(
    side: Side, identity: Any, accept: Callable[[dict[str, Any]], bool] | None = None
) -> tuple[dict[str, Any] | None, int]:
    """(the single match or None, number of matches) — callers report not-found (0) or ambiguous (>1)."""
    found = resolve(side, identity, accept)
    return (found[0] if len(found) == 1 else None), len(found)
