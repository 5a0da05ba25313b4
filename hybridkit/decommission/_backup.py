"""The backup of every object decommissioning removes: one JSON file per object plus a checksummed manifest.

``write_backup`` adds objects to a backup directory (an interrupted teardown resumed later adds to the same
backup, never drops what is already there), then ``verify_backup`` reads every file back and checks its checksum
and content against what was meant to be written. ``restore_parameters`` turns a backed-up object into the
parameters of the New-* cmdlet that recreates it, with only those that cmdlet has for that side's product.

Values keep the kinds Exchange sent them with: JSON has no DateTime or Guid, so each object's file lists in
``kinds`` the properties that were (``DateTime``, ``Guid``, ``DateTime[]``...), and ``read_backup`` gives them back
as ``datetime``/``UUID``, so restore sends a DateTime where Exchange expects one. Lists stay lists (one item
included); a deserialized object (an IP address, an enum) is kept as its ToString; a TimeSpan read as xs:duration
(``PT10M``) goes back as ``00:10:00``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hybridkit.decommission._model import HybridObject, Kind
from hybridkit.errors import InputError, PlanError
from hybridkit.ps import PSObject
from hybridkit.tables import byte_quantity

__all__ = [
    "BACKUP_FORMAT", "backup_columns", "read_backup", "restore_parameters", "restore_set_parameters", "verify_backup",
    "write_backup",
]

BACKUP_FORMAT = "hybridkit-decommission-backup/1"
_MANIFEST = "manifest.json"

# New-* parameters that recreate each kind, per side; (parameter, first on-prem version that has it, or "online"
# for parameters only Exchange Online has). Every parameter New-<Kind> documents for a property Get-<Kind> shows,
# except the ones its page reserves "for internal Microsoft use" (EFSkipMailGateway, EFTestMode,
# ScanAndDropRecipients, RequireOorg, LinkForModifiedConnector), a send connector's AuthenticationCredential (a
# secret the backup cannot hold) and IsCoexistenceConnector (Exchange 2010 only).
_RESTORE: dict[Kind, list[tuple[str, str | None]]] = {
    Kind.INBOUND_CONNECTOR: [(p, None) for p in (
        "SenderDomains", "ConnectorType", "ConnectorSource", "SenderIPAddresses", "RequireTls",
        "RestrictDomainsToCertificate", "RestrictDomainsToIPAddresses", "TlsSenderCertificateName",
        "CloudServicesMailEnabled", "TreatMessagesAsInternal", "AssociatedAcceptedDomains", "TrustedOrganizations",
        "EFSkipIPs", "EFSkipLastIP", "EFUsers", "ClientHostNames", "Comment", "Enabled")],
    Kind.OUTBOUND_CONNECTOR: [(p, None) for p in (
        "ConnectorType", "ConnectorSource", "RecipientDomains", "SmartHosts", "UseMXRecord", "TlsSettings",
        "TlsDomain", "CloudServicesMailEnabled", "RouteAllMessagesViaOnPremises", "AllAcceptedDomains",
        "IsTransportRuleScoped", "SenderRewritingEnabled", "TestMode", "MtaStsMode", "SmtpDaneMode", "Comment",
        "Enabled")],
    Kind.ORGANIZATION_RELATIONSHIP: [
        ("DomainNames", None), ("FreeBusyAccessEnabled", None), ("FreeBusyAccessLevel", None),
        ("FreeBusyAccessScope", None), ("MailTipsAccessEnabled", None), ("MailTipsAccessLevel", None),
        ("MailTipsAccessScope", None), ("DeliveryReportEnabled", None), ("PhotosEnabled", "2013"),
        ("ArchiveAccessEnabled", None), ("MailboxMoveEnabled", None), ("MailboxMoveCapability", "online"),
        ("MailboxMovePublishedScopes", "online"), ("OAuthApplicationId", "online"), ("TargetApplicationUri", None),
        ("TargetAutodiscoverEpr", None), ("TargetOwaURL", None), ("TargetSharingEpr", None),
        ("OrganizationContact", None), ("Enabled", None)],
    Kind.INTRA_ORGANIZATION_CONNECTOR: [
        ("DiscoveryEndpoint", None), ("TargetAddressDomains", None), ("TargetSharingEpr", "online"),
        ("Enabled", None)],
    Kind.SEND_CONNECTOR: [
        ("AddressSpaces", None), ("SmartHosts", None), ("CloudServicesMailEnabled", "2013"), ("RequireTLS", None),
        ("TlsAuthLevel", None), ("TlsDomain", None), ("TlsCertificateName", "2013"), ("Fqdn", None),
        ("SourceTransportServers", None), ("ConnectorType", "2016"), ("Port", None),
        ("ConnectionInactivityTimeOut", None), ("DomainSecureEnabled", None), ("ErrorPolicies", None),
        ("ForceHELO", None), ("FrontendProxyEnabled", "2013"), ("IgnoreSTARTTLS", None), ("IsScopedConnector", None),
        ("MaxMessageSize", None), ("ProtocolLoggingLevel", None), ("SmartHostAuthMechanism", None),
        ("SmtpMaxMessagesPerConnection", None), ("SourceIPAddress", None), ("UseExternalDNSServersEnabled", None),
        ("Comment", None), ("Enabled", None)],
}
# Properties only Set-<Kind> takes: restore sets them right after New-<Kind> creates the object.
_RESTORE_SET: dict[Kind, list[str]] = {
    Kind.OUTBOUND_CONNECTOR: ["ValidationRecipients", "IsValidated", "LastValidationTimestamp"],
}
# The hybrid configuration cannot be restored (the HCW recreates it); its backup keeps, for the record, what
# Set-HybridConfiguration can set.
_RECORD_ONLY: dict[Kind, list[str]] = {
    Kind.HYBRID_CONFIGURATION: ["Domains", "Features", "OnPremisesSmartHost", "SendingTransportServers",
                                "ReceivingTransportServers", "EdgeTransportServers", "ClientAccessServers",
                                "ExternalIPAddresses", "TlsCertificateName", "ServiceInstance"],
}
_NULL_ENUMS = {"None", ""}


def backup_columns(kind: Kind) -> list[str]:
    """The properties the backup of ``kind`` keeps: every one restore sets (New- then Set-), from the lists above.

    Discovery selects exactly these (plus what the planner reads), so the backup holds what restore needs and
    nothing more.
    """
    names = [name for name, _ in _RESTORE.get(kind, [])] + _RESTORE_SET.get(kind, []) + _RECORD_ONLY.get(kind, [])
    return ["Name", *dict.fromkeys(names)]


def _version_number(version: str) -> int:
    return 2025 if version.upper() == "SE" else int(version) if version.isdigit() else 2019


def restore_parameters(entry: HybridObject, onprem_version: str = "2019") -> tuple[tuple[str, Any], ...]:
    """The New-<Kind> parameters that recreate ``entry`` on its side (None, empty and unsupported ones left out)."""
    params: list[tuple[str, Any]] = [("Name", entry.name)]
    for name, needs in _RESTORE[entry.kind]:
        if needs == "online" and entry.side != "online":
            continue
        if needs and needs != "online" and entry.side == "onprem" and _version_number(onprem_version) < int(needs):
            continue
        value = entry.get(name)
        if value is None or value == [] or value == "":
            continue
        if name in ("FreeBusyAccessLevel", "MailTipsAccessLevel", "MailboxMoveCapability") and value in _NULL_ENUMS:
            continue
        if name == "SmartHosts" and entry.kind is Kind.SEND_CONNECTOR:
            params.append(("SmartHosts", value))
            params.append(("DNSRoutingEnabled", False))
            continue
        params.append((name, _time_span(_byte_quantity(value))))
    return tuple(params)


def _byte_quantity(value: Any) -> Any:
    """Exchange shows sizes as ``35 MB (36,700,160 bytes)``; give them back as the exact byte count (``36700160B``)."""
    exact = byte_quantity(value)
    return value if exact is None else f"{exact}B"


_DURATION = re.compile(r"(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def _time_span(value: Any) -> Any:
    """A TimeSpan as Exchange's parameters take it (``[-][d.]hh:mm:ss``): from a Python timedelta, or from the
    xs:duration text (``PT10M``) pypsrp reads a CLIXML ``<TS>`` as; anything else unchanged."""
    if isinstance(value, dt.timedelta):
        sign, seconds = ("-" if value < dt.timedelta(0) else ""), abs(value.total_seconds())
    elif isinstance(value, str) and value.startswith(("P", "-P")) and (match := _DURATION.fullmatch(value)):
        sign = match.group(1) or ""
        days, hours, minutes = (int(match.group(i) or 0) for i in (2, 3, 4))
        seconds = days * 86400 + hours * 3600 + minutes * 60 + float(match.group(5) or 0)
    else:
        return value
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    text = f"{hours:02}:{rest // 60:02}:{rest % 60:02}"
    return f"{sign}{days}.{text}" if days else f"{sign}{text}"


def restore_set_parameters(entry: HybridObject) -> tuple[tuple[str, Any], ...]:
    """The Set-<Kind> parameters (besides Identity) that only Set- takes; empty when there is nothing to set."""
    params: list[tuple[str, Any]] = []
    for name in _RESTORE_SET.get(entry.kind, []):
        value = entry.get(name)
        if value is None or value == [] or value == "" or (name == "IsValidated" and value is False):
            continue
        params.append((name, value))
    return tuple(params)


def _plain(value: Any) -> Any:
    """A value as JSON holds it: DateTime as ISO 8601 UTC (``...Z``), Guid as text, a deserialized object as its
    ToString (an enum, an ADObjectId, an IP address), lists as lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return aware.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, PSObject):
        return value.to_string if value.to_string is not None else str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _kind_of(value: Any) -> str | None:
    """The CLIXML kind a JSON value loses (``DateTime``, ``Guid``, or ``DateTime[]``/``Guid[]`` for lists of them)."""
    if isinstance(value, dt.datetime):
        return "DateTime"
    if isinstance(value, uuid.UUID):
        return "Guid"
    if isinstance(value, (list, tuple)) and value:
        inner = {_kind_of(v) for v in value}
        if len(inner) == 1 and None not in inner:
            return f"{inner.pop()}[]"
    return None


def _revive(value: Any, kind: str | None) -> Any:
    if kind is None or value is None:
        return value
    if kind.endswith("[]"):
        return [_revive(v, kind[:-2]) for v in value]
    if kind == "DateTime":
        return dt.datetime.fromisoformat(value)
    if kind == "Guid":
        return uuid.UUID(value)
    return value


def _file_name(obj: HybridObject) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", obj.name).strip("_")[:80]
    digest = hashlib.sha256(obj.key.lower().encode()).hexdigest()[:8]
    return f"{obj.side}-{obj.kind.value}-{safe}-{digest}.json"


def _entry_json(obj: HybridObject, removal: str) -> dict[str, Any]:
    """One object's backup: its properties as JSON, and ``kinds`` naming those JSON would turn into text."""
    kinds = {k: kind for k, v in obj.properties if (kind := _kind_of(v)) is not None}
    return {"format": BACKUP_FORMAT, "side": obj.side, "kind": obj.kind.value, "name": obj.name,
            "removed_with": removal, "properties": _plain(obj.as_dict()), "kinds": kinds}


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def _load_manifest(folder: Path) -> dict[str, Any]:
    path = folder / _MANIFEST
    if not path.exists():
        return {"format": BACKUP_FORMAT, "objects": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the backup manifest: {exc}", file=str(path)) from None
    if data.get("format") != BACKUP_FORMAT:
        raise InputError("not a hybridkit decommission backup", file=str(path))
    return data


def write_backup(folder: Path, objects: Iterable[tuple[HybridObject, str]]) -> list[dict[str, Any]]:
    """Add ``(object, removal command)`` pairs to the backup in ``folder``; returns the manifest entries written."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(folder)
    by_key = {(e["side"], e["kind"], e["name"].lower()): e for e in manifest["objects"]}
    written = []
    for obj, removal in objects:
        text = json.dumps(_entry_json(obj, removal), indent=2, sort_keys=True, ensure_ascii=False)
        name = _file_name(obj)
        _atomic_write(folder / name, text)
        entry = {"side": obj.side, "kind": obj.kind.value, "name": obj.name, "file": name,
                 "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                 "written_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        by_key[(obj.side, obj.kind.value, obj.name.lower())] = entry
        written.append(entry)
    manifest["objects"] = sorted(by_key.values(), key=lambda e: (e["side"], e["kind"], e["name"].lower()))
    _atomic_write(folder / _MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
    return written


def read_backup(folder: Path) -> list[HybridObject]:
    """Every object in the backup, checksums verified (InputError on a missing or altered file)."""
    manifest = _load_manifest(folder)
    if not (folder / _MANIFEST).exists():
        raise InputError("no backup here (manifest.json missing)", file=str(folder))
    out = []
    for entry in manifest["objects"]:
        path = folder / entry["file"]
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise InputError(f"backup file unreadable: {exc.strerror}", file=str(path)) from None
        if hashlib.sha256(raw).hexdigest() != entry["sha256"]:
            raise InputError("backup file does not match its checksum in manifest.json", file=str(path))
        data = json.loads(raw.decode("utf-8"))
        kinds = data.get("kinds") or {}  # absent in backups written before kinds were kept: values stay text
        out.append(HybridObject(data["side"], Kind(data["kind"]), data["name"],
                                tuple((k, _revive(v, kinds.get(k))) for k, v in data["properties"].items())))
    return out


def verify_backup(folder: Path, expected: Iterable[HybridObject]) -> None:
    """Read the backup back and check every expected object is there with the same properties."""
    stored = {(o.side, o.kind, o.name.lower()): o for o in read_backup(folder)}
    for obj in expected:
        got = stored.get((obj.side, obj.kind, obj.name.lower()))
        if got is None:
            raise PlanError(f"backup verification failed: {obj.key} is missing from {folder}")
        if _plain(got.as_dict()) != _plain(obj.as_dict()):
            raise PlanError(f"backup verification failed: {obj.key} reads back different from what was written")
