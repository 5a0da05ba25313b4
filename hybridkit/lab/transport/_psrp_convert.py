"""Conversions between psrpcore's (de)serialized values and the lab contract's plain values. No I/O.

Inbound (client -> engine): psrpcore rehydrates CLIXML into ``PSString``/``PSInt``/``PSObject``...; the engine
wants plain ``str``/``int``/``datetime``/``uuid.UUID``/``list``/``dict``, ``LabObject`` for complex objects and
``LabSecureString`` for secure strings (decrypted with the pool's session key).

Outbound (engine -> client): ``LabObject`` becomes a ``PSObject`` carrying Exchange's .NET type names with its
properties as adapted properties (``<Props>``, as real Exchange objects arrive), ``LabError`` an ``ErrorRecord``.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from typing import Any

from psrpcore.types import (
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    NETException,
    PSDouble,
    PSNoteProperty,
    PSObject,
    PSScriptBlock,
    PSSecureString,
)

from hybridkit.lab._types import LabCommand, LabError, LabObject, LabScriptBlock, LabSecureString

__all__ = ["error_record", "from_ps", "lab_commands", "to_ps"]

_EXCEPTION_BASES = ["System.Exception", "System.Object"]


def from_ps(value: Any) -> Any:
    """A psrpcore-deserialized value as the plain Python value the engine contract promises."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, PSSecureString):
        return LabSecureString(str(value.decrypt()))
    if isinstance(value, enum.Enum):
        return from_ps(value.value)
    if isinstance(value, PSScriptBlock):  # a str subclass: keep what it is, so no-language endpoints can refuse it
        return LabScriptBlock(str(value))
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.datetime):
        return datetime.datetime.fromtimestamp(value.timestamp(), value.tzinfo) if value.tzinfo else value.replace()
    if isinstance(value, datetime.timedelta):
        return datetime.timedelta(seconds=value.total_seconds())
    if isinstance(value, uuid.UUID):
        return uuid.UUID(str(value))
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, dict):
        return {from_ps(k): from_ps(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [from_ps(v) for v in value]
    if isinstance(value, PSObject):
        meta = value.PSObject
        props: dict[str, Any] = {}
        for prop in list(meta.adapted_properties) + list(meta.extended_properties):
            props[prop.name] = from_ps(prop.get_value(value))
        return LabObject(type_names=list(meta.type_names), properties=props, to_string=meta.to_string)
    return value


def lab_commands(pipeline: Any) -> list[LabCommand]:
    """The commands of a psrpcore ``PowerShell`` pipeline description as ``LabCommand`` values.

    A named parameter sent without a value (pypsrp ``add_parameter("Name")``) and one sent as ``$null`` look the same
    on the wire (a Nil value); both arrive as ``None`` and the binder decides by the parameter's type, as
    PowerShell does (a switch is on; any other parameter is ``$null``).
    """
    commands = []
    for cmd in pipeline.commands:
        params: list[tuple[str | None, Any]] = []
        for name, value in cmd.parameters:
            plain_name = str(name) if name is not None else None
            if plain_name and plain_name.startswith("-"):
                plain_name = plain_name[1:]
            params.append((plain_name, from_ps(value)))
        commands.append(LabCommand(name=str(cmd.command_text), parameters=params, is_script=bool(cmd.is_script)))
    return commands


def to_ps(value: Any) -> Any:
    """An engine value as something psrpcore serializes with the right CLIXML type."""
    if isinstance(value, LabObject):
        obj = PSObject()
        meta = obj.PSObject  # fetch once: every attribute access on a PSObject walks all its properties
        meta.type_names = list(value.type_names) + ([] if "System.Object" in value.type_names else ["System.Object"])
        adapted = meta.adapted_properties
        for name, prop_value in value.properties.items():
            prop = PSNoteProperty(name)  # set the value afterwards: passing it builds a throwaway PSObject per property
            prop.set_value(to_ps(prop_value), obj)
            adapted.append(prop)
        meta.to_string = value.to_string
        return obj
    if isinstance(value, LabSecureString):
        return PSSecureString(value.value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return PSDouble(value)
    if isinstance(value, enum.Enum):
        return to_ps(value.value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_ps(v) for v in value]
    if isinstance(value, dict):
        return {to_ps(k): to_ps(v) for k, v in value.items()}
    return value


def _category(name: str) -> ErrorCategory:
    try:
        return ErrorCategory[name]
    except KeyError:
        return ErrorCategory.NotSpecified


def error_record(error: LabError, command: str | None = None) -> ErrorRecord:
    """A psrpcore ``ErrorRecord`` for ``error`` as PowerShell would serialize it (exception type names included)."""
    exception = NETException(Message=error.message, HResult=-2146233087)
    exception.PSObject.type_names = [error.exception_type] + [
        t for t in _EXCEPTION_BASES if t != error.exception_type
    ]
    target = error.target
    target_name = "" if target is None else str(target.to_string if isinstance(target, LabObject) else target)
    target_type = "" if target is None else ("String" if isinstance(target, str) else type(target).__name__)
    info = ErrorCategoryInfo(
        Category=_category(error.category),
        Activity=error.activity or command or "",
        Reason=error.reason or error.exception_type.rsplit(".", 1)[-1],
        TargetName=target_name,
        TargetType=target_type,
    )
    record = ErrorRecord(
        Exception=exception,
        CategoryInfo=info,
        TargetObject=to_ps(target),
        FullyQualifiedErrorId=error.fully_qualified_error_id,
    )
    return record

