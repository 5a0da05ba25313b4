"""Argument conversion to Exchange parameter types, with PowerShell's binding error messages.

``convert_value(type_name, value, enum_values, param)`` returns the value a handler sees:

* ``SwitchParameter`` / ``Boolean``: ``bool`` (numbers accepted, strings refused as PowerShell does).
* ``Int32`` and friends: ``int``; ``Unlimited``: ``int`` or the string ``"Unlimited"``.
* ``DateTime``: an aware ``datetime`` (a value without a zone is read as UTC: documented for Exchange Online; the
  docs are silent on-premises, where it would be the server's zone, and the lab's servers run on UTC).
* ``Guid``: ``uuid.UUID``; ``Byte[]``: ``bytes``.
* multi-valued types (``MultiValuedProperty``, ``X[]``, ``ProxyAddressCollection``): a ``list``, or for the
  ``@{Add=...; Remove=...}`` form a ``dict`` with ``"Add"``/``"Remove"`` lists.
* enums: the canonical enumerator name (or a list of them for ``X[]``).
* identity parameter types: the identity string (an Exchange object passes its ``Identity``).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from hybridkit.lab._types import LabObject, LabSecureString

__all__ = ["ConversionError", "DOTNET_ENUM_TYPES", "ENUMS", "convert_value", "enum_values_for", "parse_datetime"]


class ConversionError(Exception):
    """A value that cannot be converted; ``message`` is PowerShell's full binding message."""

    def __init__(self, message: str, error_id: str = "CannotConvertArgumentNoMessage",
                 exception_type: str = "System.Management.Automation.ParameterBindingException") -> None:
        super().__init__(message)
        self.message = message
        self.error_id = error_id
        self.exception_type = exception_type


# Enumerations whose complete member list the lab knows (in the real enum's declaration order).
ENUMS: dict[str, tuple[str, ...]] = {
    "RecipientTypeDetails": (
        "None", "UserMailbox", "LinkedMailbox", "SharedMailbox", "LegacyMailbox", "RoomMailbox", "EquipmentMailbox",
        "MailContact", "MailUser", "MailUniversalDistributionGroup", "MailNonUniversalGroup",
        "MailUniversalSecurityGroup", "DynamicDistributionGroup", "PublicFolder", "SystemAttendantMailbox",
        "SystemMailbox", "MailForestContact", "User", "Contact", "UniversalDistributionGroup",
        "UniversalSecurityGroup", "NonUniversalGroup", "DisabledUser", "MicrosoftExchange", "ArbitrationMailbox",
        "MailboxPlan", "LinkedUser", "RoomList", "DiscoveryMailbox", "RoleGroup", "RemoteUserMailbox", "Computer",
        "RemoteRoomMailbox", "RemoteEquipmentMailbox", "RemoteSharedMailbox", "PublicFolderMailbox", "TeamMailbox",
        "RemoteTeamMailbox", "MonitoringMailbox", "GroupMailbox", "LinkedRoomMailbox", "AuditLogMailbox",
        "RemoteGroupMailbox", "SchedulingMailbox", "GuestMailUser", "AuxAuditLogMailbox",
        "SupervisoryReviewPolicyMailbox",
    ),
    "RecipientType": (
        "Invalid", "User", "UserMailbox", "MailUser", "Contact", "MailContact", "Group", "MailUniversalDistributionGroup",
        "MailUniversalSecurityGroup", "MailNonUniversalGroup", "DynamicDistributionGroup", "PublicFolder",
        "PublicDatabase", "SystemAttendantMailbox", "SystemMailbox", "MicrosoftExchange", "Computer",
    ),
    "ActionPreference": ("SilentlyContinue", "Stop", "Continue", "Inquire", "Ignore", "Suspend"),
    "AcceptedDomainType": ("Authoritative", "ExternalRelay", "InternalRelay"),
}

DOTNET_ENUM_TYPES: dict[str, str] = {
    "RecipientTypeDetails": "Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails",
    "RecipientType": "Microsoft.Exchange.Data.Directory.Recipient.RecipientType",
    "ActionPreference": "System.Management.Automation.ActionPreference",
    "AcceptedDomainType": "Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomainType",
    "TenantConnectorType": "Microsoft.Exchange.Data.Directory.SystemConfiguration.TenantConnectorType",
    "TenantConnectorSource": "Microsoft.Exchange.Data.Directory.SystemConfiguration.TenantConnectorSource",
    "TlsAuthLevel": "Microsoft.Exchange.Data.TlsAuthLevel",
    "RequestStatus": "Microsoft.Exchange.Data.Directory.Recipient.RequestStatus",
    "RequestPriority": "Microsoft.Exchange.MailboxReplicationService.RequestPriority",
    "RequestFlags": "Microsoft.Exchange.MailboxReplicationService.RequestFlags",
    "MigrationBatchStatus": "Microsoft.Exchange.Data.Storage.Management.MigrationBatchStatus",
    "MigrationUserStatus": "Microsoft.Exchange.Data.Storage.Management.MigrationUserStatus",
    "MigrationUserStatusSummary": "Microsoft.Exchange.Data.Storage.Management.MigrationUserStatusSummary",
    "MigrationType": "Microsoft.Exchange.Data.Storage.Management.MigrationType",
}

# Catalogue types that are never enums even when the page lists "valid values".
_NOT_ENUM = {
    "String", "Boolean", "System.Boolean", "SwitchParameter", "MultiValuedProperty", "ProxyAddressCollection",
    "Fqdn", "Unlimited", "Int32", "UInt32", "Int64", "Int16", "Uri", "Guid", "DateTime", "SecureString",
    "PSCredential", "SmtpAddress", "SmtpDomain", "SmtpDomainWithSubdomains", "ByteQuantifiedSize", "TimeSpan",
    "EnhancedTimeSpan", "Byte", "Object", "ExTimeZoneValue", "CultureInfo", "IPAddress", "X509Certificate2",
}
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_INT_TYPES = {"Int32": (-(2**31), 2**31 - 1), "UInt32": (0, 2**32 - 1), "Int64": (-(2**63), 2**63 - 1),
              "Int16": (-(2**15), 2**15 - 1), "Byte": (0, 255)}
_ARRAY_TYPES = {"MultiValuedProperty", "ProxyAddressCollection"}


def enum_values_for(type_name: str, documented: list[str]) -> tuple[str, ...]:
    """The enumerator names a parameter of ``type_name`` accepts, or () if it is not an enum the lab checks."""
    base = type_name.removesuffix("[]")
    if base in ENUMS:
        return ENUMS[base]
    if base in _NOT_ENUM or base.endswith("IdParameter") or base.startswith("System.") or "." in base:
        return ()
    values = tuple(v for v in documented if _IDENT.match(v))
    return values if len(values) >= 2 else ()


def _dotnet(type_name: str) -> str:
    base = type_name.removesuffix("[]")
    simple = {"Int32": "System.Int32", "UInt32": "System.UInt32", "Int64": "System.Int64", "Int16": "System.Int16",
              "Byte": "System.Byte", "DateTime": "System.DateTime", "Guid": "System.Guid",
              "Boolean": "System.Boolean", "SwitchParameter": "System.Management.Automation.SwitchParameter",
              "SecureString": "System.Security.SecureString", "String": "System.String"}
    if base in simple:
        return simple[base]
    if base in DOTNET_ENUM_TYPES:
        return DOTNET_ENUM_TYPES[base]
    if base.endswith("IdParameter"):
        return f"Microsoft.Exchange.Configuration.Tasks.{base}"
    return base if "." in base else f"Microsoft.Exchange.Data.{base}"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dt.datetime):  # en-US, as PowerShell formats a DateTime in messages
        hour = value.hour % 12 or 12
        return (f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d}:{value.second:02d} "
                f"{'AM' if value.hour < 12 else 'PM'}")
    return str(value)


def _cannot_convert(param: str, value: Any, type_name: str, error: str) -> ConversionError:
    return ConversionError(
        f'Cannot bind parameter \'{param}\'. Cannot convert value "{_shown(value)}" to type "{type_name}". '
        f'Error: "{error}"'
    )


def _to_bool(type_name: str, value: Any, param: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    net = _dotnet(type_name)
    raise ConversionError(
        f"Cannot process argument transformation on parameter '{param}'. Cannot convert value "
        f'"{type(value).__name__ if not isinstance(value, str) else "System.String"}" to type "{net}". Boolean parameters '
        "accept only Boolean values and numbers, such as $True, $False, 1 or 0.",
        error_id="ParameterArgumentTransformationError",
        exception_type="System.Management.Automation.ParameterBindingArgumentTransformationException",
    )


def _to_int(type_name: str, value: Any, param: str) -> int:
    low, high = _INT_TYPES[type_name]
    if value is None:
        return 0
    number: int
    if isinstance(value, bool):
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        number = int(value)
    else:
        raise _cannot_convert(param, value, _dotnet(type_name), "Input string was not in a correct format.")
    if not low <= number <= high:
        raise _cannot_convert(param, value, _dotnet(type_name),
                              f"Value was either too large or too small for {'a' if type_name != 'Int32' else 'an'} "
                              f"{type_name}.")
    return number


def _to_unlimited(value: Any, param: str) -> int | str:
    if isinstance(value, str) and value.strip().lower() == "unlimited":
        return "Unlimited"
    if isinstance(value, bool):
        raise _cannot_convert(param, value, "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]",
                              "Input string was not in a correct format.")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*[KMGT]?B\s*", value, re.IGNORECASE):
        return value.strip()  # quota-style Unlimited<ByteQuantifiedSize>, e.g. "50GB"
    raise _cannot_convert(param, value, "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]",
                          "Input string was not in a correct format.")


_US_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M%p", "%m/%d/%Y %H:%M:%S",
               "%m/%d/%Y %H:%M", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def parse_datetime(text: str) -> dt.datetime | None:
    """Parse the date forms Exchange's docs use (ISO 8601, "2021-05-06 14:30:00z", "7/30/2020 9:00PM -700",
    en-US short dates); a missing zone means UTC. None if unparseable."""
    raw = text.strip()
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00") if raw[-1] in "zZ" else raw)
    except ValueError:
        value = None
    if value is None:
        body, offset = raw, None
        match = re.search(r"\s*(?:([zZ])|([+-])(\d{1,2}):?(\d{2}))$", raw)
        if match and not re.search(r"\d{4}-\d{2}-\d{2}$", raw):
            body = raw[: match.start()]
            if match.group(1):
                offset = dt.timezone.utc
            else:
                sign = 1 if match.group(2) == "+" else -1
                offset = dt.timezone(sign * dt.timedelta(hours=int(match.group(3)), minutes=int(match.group(4))))
        for fmt in _US_FORMATS:
            try:
                value = dt.datetime.strptime(body.strip().upper(), fmt)
                break
            except ValueError:
                continue
        if value is None:
            return None
        if offset is not None:
            value = value.replace(tzinfo=offset)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def _to_datetime(value: Any, param: str) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None:
            return parsed
    raise _cannot_convert(param, value, "System.DateTime", "String was not recognized as a valid DateTime.")


def _to_enum(type_name: str, value: Any, values: tuple[str, ...], param: str) -> str:
    lookup = {v.lower(): v for v in values}
    text = _shown(value).strip()
    parts = [p.strip() for p in text.split(",")] if "," in text else [text]
    out = []
    for part in parts:
        if part.lower() not in lookup:
            raise _cannot_convert(
                param, value, _dotnet(type_name),
                f"Unable to match the identifier name {part} to a valid enumerator name. Specify one of the following "
                "enumerator names and try again:\r\n" + ", ".join(values),
            )
        out.append(lookup[part.lower()])
    return ", ".join(out)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def convert_value(type_name: str, value: Any, values: tuple[str, ...] = (), param: str = "") -> Any:
    """``value`` converted to catalogue type ``type_name``; raises ``ConversionError`` like PowerShell."""
    base = type_name.removesuffix("[]")
    is_array = type_name.endswith("[]") or base in _ARRAY_TYPES
    if is_array:
        if isinstance(value, dict) and base in _ARRAY_TYPES:
            out: dict[str, list[Any]] = {}
            for key, item in value.items():
                name = str(key).capitalize()
                out[name] = [convert_value(base if base not in _ARRAY_TYPES else "String", v, values, param)
                             if values else _element(v) for v in _as_list(item)]
            return out
        if value is None:
            return None
        items = _as_list(value)
        if values:
            return [_to_enum(base, v, values, param) for v in items]
        if base in _ARRAY_TYPES or base == "String":
            return [_element(v) for v in items]
        if base == "Byte":
            return _to_bytes(value, param)
        return [convert_value(base, v, (), param) for v in items]
    if base in ("SwitchParameter", "Boolean", "System.Boolean"):
        return _to_bool(base if base != "System.Boolean" else "Boolean", value, param)
    if base in _INT_TYPES:
        return _to_int(base, value, param)
    if base == "Unlimited":
        return None if value is None else _to_unlimited(value, param)
    if base == "DateTime":
        return _to_datetime(value, param)
    if base == "Guid":
        if value is None or isinstance(value, uuid.UUID):
            return value
        try:
            return uuid.UUID(str(value).strip("{}"))
        except ValueError:
            raise _cannot_convert(param, value, "System.Guid",
                                  "Guid should contain 32 digits with 4 dashes (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).") from None
    if base == "SecureString":
        if value is None or isinstance(value, LabSecureString):
            return value
        raise ConversionError(
            f"Cannot bind parameter '{param}'. Cannot convert the \"{_shown(value)}\" value of type "
            f"\"System.String\" to type \"System.Security.SecureString\".",
            error_id="CannotConvertArgument",
        )
    if values and value is not None:
        return _to_enum(base, value, values, param)
    if isinstance(value, (list, tuple)) and base.endswith("IdParameter"):
        raise ConversionError(
            f"Cannot bind parameter '{param}'. Cannot convert 'System.Object[]' to the type '{_dotnet(base)}' required "
            f"by parameter '{param}'. Specified method is not supported.",
            error_id="CannotConvertArgument",
        )
    if isinstance(value, LabObject) and (base.endswith("IdParameter") or base in ("String", "Fqdn", "SmtpAddress")):
        identity = value.get("Identity")
        return str(identity) if identity is not None else (value.to_string or "")
    if base == "String":
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, (list, tuple)):
            return " ".join(_shown(v) for v in value)  # PowerShell joins arrays with $OFS (a space)
        return _shown(value)
    return value


def _element(value: Any) -> Any:
    if isinstance(value, LabObject):
        identity = value.get("Identity")
        return str(identity) if identity is not None else value.to_string
    return value


def _to_bytes(value: Any, param: str) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) and 0 <= v <= 255 for v in value):
        return bytes(value)
    raise _cannot_convert(param, value, "System.Byte[]", "Input string was not in a correct format.")
