"""Read ``mailflow.toml`` from disk once and validate it before anything is sent (pure, past the one read).

Keys are Exchange parameter names (matched case-insensitively, stored canonically), so a declaration reads like
the cmdlet it becomes. Every problem names the line of the file it comes from (``_lines.LineIndex``).

Rules checked (facts.md 5-7 and field notes): unknown tables and keys; types and enum values; mandatory keys;
duplicate names; IPv4 address/CIDR syntax (/24-/32, no IPv6) for inbound SenderIPAddresses; smart host names;
SMTP domain syntax; no control character (line breaks included) in any string; SmartHosts not empty; TlsAuthLevel
needs RequireTLS $true (and not IgnoreSTARTTLS); SmartHosts and DNSRoutingEnabled $true conflict,
DNSRoutingEnabled $false needs SmartHosts; DomainValidation needs TlsDomain;
parameters newer than the on-prem version (CloudServicesMailEnabled 2013+, send connector ConnectorType 2016+);
TreatMessagesAsInternal only with ConnectorType OnPremises and not with CloudServicesMailEnabled;
RestrictDomainsToCertificate needs TlsSenderCertificateName; RestrictDomainsToIPAddresses needs SenderIPAddresses;
outbound UseMXRecord $false needs SmartHosts and SmartHosts need UseMXRecord $false; RouteAllMessagesViaOnPremises
and AllAcceptedDomains need OnPremises.

The release rule (a parameter newer than the on-prem servers' release) is the one check that depends on the
servers: ``parse_spec`` applies it with the release known before connecting (the file's ``exchange_version``, else
the profile's) and keeps each release-bound declaration in ``MailflowSpec.gates``; ``check_release`` applies it
again, from the parsed spec without reading or parsing the file again, once the servers have said what they run.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import re
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

from hybridkit.errors import InputError
from hybridkit.mailflow._lines import LineIndex
from hybridkit.mailflow._model import DesiredObject, Gate, Kind, MailflowSpec

__all__ = [
    "Issue", "MailflowConfigError", "SCHEMA", "VERSIONS", "check_release", "load_spec", "parse_spec", "same_release",
]

VERSIONS = ("2010", "2013", "2016", "2019", "SE")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")

# kind -> canonical key -> (type, check). Types: str, bool, int, list, or a tuple of enum members.
_CONNECTOR_TYPES = ("Partner", "OnPremises")
_TLS = ("EncryptionOnly", "CertificateValidation", "DomainValidation")
SCHEMA: dict[Kind, dict[str, tuple[Any, str | None]]] = {
    Kind.ACCEPTED_DOMAIN: {
        "Name": (str, None),
        "DomainName": (str, "domain"),
        "DomainType": (("Authoritative", "InternalRelay", "ExternalRelay"), None),
    },
    Kind.INBOUND_CONNECTOR: {
        "Name": (str, None),
        "ConnectorType": (_CONNECTOR_TYPES, None),
        "SenderDomains": (list, "domain_or_star"),
        "SenderIPAddresses": (list, "ipv4_24"),
        "RestrictDomainsToIPAddresses": (bool, None),
        "RestrictDomainsToCertificate": (bool, None),
        "RequireTls": (bool, None),
        "TlsSenderCertificateName": (str, "domain"),
        "CloudServicesMailEnabled": (bool, None),
        "TreatMessagesAsInternal": (bool, None),
        "AssociatedAcceptedDomains": (list, "domain"),
        "TrustedOrganizations": (list, "domain"),
        "EFSkipIPs": (list, "ip_any"),
        "EFSkipLastIP": (bool, None),
        "EFUsers": (list, None),
        "Comment": (str, None),
        "Enabled": (bool, None),
    },
    Kind.SEND_CONNECTOR: {
        "Name": (str, None),
        "AddressSpaces": (list, "address_space"),
        "SmartHosts": (list, "host"),
        "DNSRoutingEnabled": (bool, None),
        "CloudServicesMailEnabled": (bool, None),
        "RequireTLS": (bool, None),
        "TlsAuthLevel": (_TLS, None),
        "TlsDomain": (str, "domain"),
        "TlsCertificateName": (str, None),
        "IgnoreSTARTTLS": (bool, None),
        "SourceTransportServers": (list, None),
        "Fqdn": (str, "host"),
        "ConnectorType": (("Default", "XPremises"), None),
        "SmartHostAuthMechanism": (("None", "BasicAuth", "BasicAuthRequireTLS", "ExchangeServer",
                                    "ExternalAuthoritative"), None),
        "Port": (int, None),
        "Comment": (str, None),
        "Enabled": (bool, None),
    },
    Kind.OUTBOUND_CONNECTOR: {
        "Name": (str, None),
        "ConnectorType": (_CONNECTOR_TYPES, None),
        "RecipientDomains": (list, "domain_or_star"),
        "SmartHosts": (list, "host"),
        "UseMXRecord": (bool, None),
        "TlsSettings": (_TLS, None),
        "TlsDomain": (str, "domain"),
        "RouteAllMessagesViaOnPremises": (bool, None),
        "AllAcceptedDomains": (bool, None),
        "CloudServicesMailEnabled": (bool, None),
        "IsTransportRuleScoped": (bool, None),
        "SenderRewritingEnabled": (bool, None),
        "Comment": (str, None),
        "Enabled": (bool, None),
    },
}
_MANDATORY = {
    Kind.ACCEPTED_DOMAIN: ("DomainName",),
    Kind.INBOUND_CONNECTOR: ("Name", "SenderDomains"),
    Kind.SEND_CONNECTOR: ("Name", "AddressSpaces"),
    Kind.OUTBOUND_CONNECTOR: ("Name",),
}
# (kind, key) -> the first on-prem version whose cmdlet has the parameter (catalogue applicability).
_MIN_VERSION = {
    (Kind.SEND_CONNECTOR, "CloudServicesMailEnabled"): "2013",
    (Kind.SEND_CONNECTOR, "TlsCertificateName"): "2013",
    (Kind.SEND_CONNECTOR, "ConnectorType"): "2016",
}
_TABLE_KEYS = {"onprem": {"exchange_version", "accepted_domain", "send_connector"},
               "online": {"inbound_connector", "outbound_connector"}}


@dataclasses.dataclass(frozen=True, order=True)
class Issue:
    """One validation problem at a line of the file."""

    line: int
    message: str


class MailflowConfigError(InputError):
    """mailflow.toml is invalid; ``issues`` lists every problem with its line."""

    def __init__(self, path: str, issues: list[Issue]) -> None:
        self.path = path
        self.issues = sorted(issues)
        super().__init__("\n".join(f"{path}:{i.line}: {i.message}" for i in self.issues))

    def __str__(self) -> str:
        return self.message


def _valid_host(text: str) -> bool:
    inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        ipaddress.ip_address(inner)
        return True
    except ValueError:
        pass
    if text.startswith("[") or len(text) > 253 or "." not in text:
        return False
    return all(_LABEL.match(label) for label in text.rstrip(".").split("."))


def _valid_domain(text: str, star: bool = False) -> bool:
    if star and text == "*":
        return True
    body = text[2:] if text.startswith("*.") else text
    return 0 < len(text) <= 256 and "." in body and all(_LABEL.match(p) for p in body.split("."))


def _control_character(value: Any) -> str | None:
    """The first control character (C0/C1, line or paragraph separator) in a string or list of strings, if any.

    A name or value holding one would be refused by Exchange or, worse, become a line break in a runbook."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            for ch in item:
                if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
                    return ch
    return None


def _check_value(check: str, value: str) -> str | None:
    """A message when ``value`` fails the syntax ``check``, else None."""
    if check == "domain" and not _valid_domain(value):
        return f"'{value}' is not a valid SMTP domain (wildcards only as '*.domain')"
    if check == "domain_or_star" and not _valid_domain(value, star=True):
        return f"'{value}' is not a valid SMTP domain or '*'"
    if check == "host" and not _valid_host(value):
        return f"'{value}' is not a valid smart host (a fully qualified host name or an IP address)"
    if check == "address_space":
        body = value.split(":", 1)[1].split(";")[0] if ":" in value else value
        if not _valid_domain(body, star=True):
            return f"'{value}' is not a valid SMTP address space (a domain, '*.domain' or '*')"
    if check in ("ipv4_24", "ip_any"):
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"'{value}' is not an IP address or CIDR range"
        if check == "ipv4_24":
            if net.version != 4:
                return f"'{value}' is IPv6; SenderIPAddresses takes IPv4 addresses only"
            if "/" in value and not 24 <= net.prefixlen <= 32:
                return f"'{value}': CIDR ranges must be /24 to /32"
    return None


def _version_number(version: str) -> int:
    return 2025 if version.upper() == "SE" else int(version)


def parse_spec(text: str, path: str = "mailflow.toml", onprem_version: str | None = None) -> MailflowSpec:
    """Parse and validate ``text``; raise ``MailflowConfigError`` listing every problem with its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else max(1, len(text.splitlines()))  # "at end of document"
        raise MailflowConfigError(path, [Issue(line, f"not valid TOML: {exc}")]) from None
    lines = LineIndex(text)
    issues: list[Issue] = []
    for top, value in data.items():
        if top not in _TABLE_KEYS:
            issues.append(Issue(lines.table(top) if (top, 0) in lines.tables else lines.key("", 0, top),
                                f"unknown table [{top}]; expected [onprem] or [online]"))
            continue
        if not isinstance(value, dict):
            issues.append(Issue(lines.key("", 0, top), f"'{top}' must be a table"))
            continue
        for key in value:
            if key not in _TABLE_KEYS[top]:
                guess = difflib.get_close_matches(key, sorted(_TABLE_KEYS[top]), n=1)
                hint = f" (did you mean '{guess[0]}'?)" if guess else ""
                where = lines.table(f"{top}.{key}") if (f"{top}.{key}", 0) in lines.tables else lines.key(top, 0, key)
                issues.append(Issue(where, f"unknown key '{key}' in [{top}]{hint}"))
    version = data.get("onprem", {}).get("exchange_version") if isinstance(data.get("onprem"), dict) else None
    if version is not None:
        version = str(version)
        if version.upper() not in VERSIONS:
            issues.append(Issue(lines.key("onprem", 0, "exchange_version"),
                                f"exchange_version must be one of {', '.join(VERSIONS)}"))
            version = None
    declared = version
    version = version or onprem_version or "2019"
    objects: list[DesiredObject] = []
    gates: list[Gate] = []
    for kind in Kind:
        top, sub = kind.table.split(".")
        entries = data.get(top, {}).get(sub, []) if isinstance(data.get(top), dict) else []
        if not isinstance(entries, list):
            issues.append(Issue(lines.key(top, 0, sub), f"'{kind.table}' must be an array of tables: [[{kind.table}]]"))
            continue
        seen: dict[str, int] = {}
        for index, entry in enumerate(entries):
            obj, found = _parse_object(kind, entry, index, lines, gates)
            issues.extend(found)
            if obj is None:
                continue
            if obj.match_key in seen:
                issues.append(Issue(obj.line, f"{kind.value} '{obj.name}' is declared twice (first at line "
                                              f"{seen[obj.match_key]})"))
                continue
            seen[obj.match_key] = obj.line
            objects.append(obj)
    issues.extend(_gate_issues(gates, version))
    if issues:
        raise MailflowConfigError(path, issues)
    return MailflowSpec(tuple(objects), source=path, onprem_version=version, declared_version=declared,
                        gates=tuple(gates))


def _gate_issues(gates: list[Gate] | tuple[Gate, ...], version: str) -> list[Issue]:
    """Declarations of parameters the on-prem release ``version`` does not have yet."""
    return [Issue(g.line, f"{g.key} needs Exchange {g.since} or later; the on-prem server is Exchange {version}")
            for g in gates if _version_number(version) < _version_number(g.since)]


def same_release(live: str, declared: str | None) -> bool:
    """Whether the release the servers report is ``declared`` (Exchange Server SE reports version 15.2 like 2019)."""
    wanted = str(declared or "").upper()
    return wanted == live or (live == "2019" and wanted == "SE")


def check_release(spec: MailflowSpec, live: str | None) -> MailflowSpec:
    """``spec`` checked against the release the on-prem servers really run (``live``; None when unknown).

    A profile's exchange_version defaults to 2019 (a lab profile's to the lab's), so the servers decide. A file
    whose own ``exchange_version`` names another release than the servers run is refused; otherwise every
    release-bound declaration is checked again against ``live``.

    Raises:
        InputError: the file names another release than the servers run.
        MailflowConfigError: a declared parameter is newer than the servers' release (with its line).
    """
    if live is None or same_release(live, spec.onprem_version):
        return spec
    if spec.declared_version is not None:
        raise InputError(f"exchange_version = \"{spec.declared_version}\" but the on-prem servers run Exchange "
                         f"{live}; fix exchange_version in the file (or remove it to use the servers' release)",
                         file=spec.source)
    issues = _gate_issues(spec.gates, live)
    if issues:
        raise MailflowConfigError(spec.source, issues)
    return dataclasses.replace(spec, onprem_version=live)


def _parse_object(
    kind: Kind, entry: Any, index: int, lines: LineIndex, gates: list[Gate]
) -> tuple[DesiredObject | None, list[Issue]]:
    table = kind.table
    header = lines.table(table, index)
    if not isinstance(entry, dict):
        return None, [Issue(header, f"[[{table}]] entries must be tables")]
    schema = SCHEMA[kind]
    canon = {k.lower(): k for k in schema}
    issues: list[Issue] = []
    props: dict[str, Any] = {}
    declared_bad: dict[str, Any] = {}  # keys present but invalid: still "declared" for the cross-parameter rules

    def at(key: str) -> int:
        return lines.key(table, index, key)

    for raw_key, value in entry.items():
        key = canon.get(raw_key.lower())
        if key is None:
            guess = difflib.get_close_matches(raw_key, list(schema), n=1, cutoff=0.6)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            issues.append(Issue(at(raw_key), f"unknown key '{raw_key}' in [[{table}]]{hint}"))
            continue
        expected, check = schema[key]
        line = at(raw_key)
        control = _control_character(value)
        if control is not None:
            issues.append(Issue(line, f"{key} contains a control character (U+{ord(control):04X}); names and values "
                                      "can't hold line breaks or control characters"))
            declared_bad[key] = value
            continue
        if expected is bool and not isinstance(value, bool):
            issues.append(Issue(line, f"{key} must be true or false"))
            continue
        if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
            issues.append(Issue(line, f"{key} must be a whole number"))
            continue
        if expected is str and not isinstance(value, str):
            issues.append(Issue(line, f"{key} must be a string"))
            continue
        if isinstance(expected, tuple):
            member = next((m for m in expected if isinstance(value, str) and m.lower() == value.lower()), None)
            if member is None:
                issues.append(Issue(line, f"{key} must be one of {', '.join(expected)} (got {value!r})"))
                continue
            value = member
        if expected is list:
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                issues.append(Issue(line, f"{key} must be a string or a list of strings"))
                continue
        if key == "SmartHosts" and value == []:
            issues.append(Issue(line, "SmartHosts can't be empty: list the smart hosts, or leave SmartHosts out to "
                                      "route by DNS (MX)"))
            declared_bad[key] = value
            continue
        if check:
            bad = False
            for item in value if isinstance(value, list) else [value]:
                problem = _check_value(check, item)
                if problem:
                    issues.append(Issue(lines.value(table, index, raw_key, item), f"{key}: {problem}"))
                    bad = True
            if bad:
                declared_bad[key] = value
                continue
        min_version = _MIN_VERSION.get((kind, key))
        if min_version:
            gates.append(Gate(line, kind, key, min_version))
        props[key] = value
    for key in _MANDATORY[kind]:
        if key not in props and not any(k.lower() == key.lower() for k in entry):
            issues.append(Issue(header, f"[[{table}]] needs {key}"))
        elif props.get(key) in ("", []):  # Exchange refuses an empty mandatory value too
            issues.append(Issue(lines.key(table, index, key), f"{key} can't be empty"))
    issues.extend(_cross_rules(kind, {**declared_bad, **props}, at))
    if kind is Kind.ACCEPTED_DOMAIN and "Name" not in props and "DomainName" in props:
        # Name left out: the object is named after its domain when created, and an existing one keeps its name.
        return DesiredObject(kind, props["DomainName"], tuple(props.items()), header), issues
    if "Name" not in props:
        return None, issues
    ordered = [("Name", props.pop("Name"))] + list(props.items())
    return DesiredObject(kind, ordered[0][1], tuple(ordered), header), issues


def _cross_rules(kind: Kind, p: dict[str, Any], at: Any) -> list[Issue]:
    """The rules between parameters that the reference pages state only in prose."""
    out: list[Issue] = []
    if kind is Kind.SEND_CONNECTOR:
        if "TlsAuthLevel" in p and p.get("RequireTLS") is not True:
            out.append(Issue(at("TlsAuthLevel"), "TlsAuthLevel needs RequireTLS = true"))
        if "TlsAuthLevel" in p and p.get("IgnoreSTARTTLS") is True:
            out.append(Issue(at("TlsAuthLevel"), "TlsAuthLevel can't be set when IgnoreSTARTTLS = true"))
        if p.get("SmartHosts") and p.get("DNSRoutingEnabled") is True:
            out.append(Issue(at("DNSRoutingEnabled"), "SmartHosts need DNSRoutingEnabled = false (or leave "
                                                      "DNSRoutingEnabled out: smart hosts turn DNS routing off)"))
        if p.get("DNSRoutingEnabled") is False and not p.get("SmartHosts"):
            out.append(Issue(at("DNSRoutingEnabled"), "DNSRoutingEnabled = false needs SmartHosts"))
        if p.get("TlsAuthLevel") == "DomainValidation" and not p.get("TlsDomain"):
            out.append(Issue(at("TlsAuthLevel"), "TlsAuthLevel DomainValidation needs TlsDomain"))
    if kind is Kind.INBOUND_CONNECTOR:
        if p.get("TreatMessagesAsInternal") is True and p.get("ConnectorType") != "OnPremises":
            out.append(Issue(at("TreatMessagesAsInternal"), "TreatMessagesAsInternal = true needs "
                                                            "ConnectorType = \"OnPremises\""))
        if p.get("TreatMessagesAsInternal") is True and p.get("CloudServicesMailEnabled") is True:
            out.append(Issue(at("TreatMessagesAsInternal"), "TreatMessagesAsInternal = true can't be combined with "
                                                            "CloudServicesMailEnabled = true"))
        if p.get("RestrictDomainsToCertificate") is True and not p.get("TlsSenderCertificateName"):
            out.append(Issue(at("RestrictDomainsToCertificate"), "RestrictDomainsToCertificate = true needs "
                                                                 "TlsSenderCertificateName"))
        if p.get("RestrictDomainsToIPAddresses") is True and not p.get("SenderIPAddresses"):
            out.append(Issue(at("RestrictDomainsToIPAddresses"), "RestrictDomainsToIPAddresses = true needs "
                                                                 "SenderIPAddresses"))
    if kind is Kind.OUTBOUND_CONNECTOR:
        if p.get("UseMXRecord") is False and not p.get("SmartHosts"):
            out.append(Issue(at("UseMXRecord"), "UseMXRecord = false needs SmartHosts"))
        if p.get("SmartHosts") and p.get("UseMXRecord") is not False:
            out.append(Issue(at("SmartHosts"), "SmartHosts need UseMXRecord = false"))
        for flag in ("RouteAllMessagesViaOnPremises", "AllAcceptedDomains"):
            if p.get(flag) is True and p.get("ConnectorType") != "OnPremises":
                out.append(Issue(at(flag), f"{flag} = true needs ConnectorType = \"OnPremises\""))
    return out


def load_spec(path: Path, onprem_version: str | None = None) -> MailflowSpec:
    """Read ``path`` (the one read of the file) and validate it (see ``parse_spec``).

    Raises:
        InputError: the file cannot be read.
        MailflowConfigError: every problem, each with its line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the mail-flow file: {exc.strerror}", file=str(path)) from None
    return parse_spec(text, str(path), onprem_version)
