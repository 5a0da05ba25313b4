"""Structured PowerShell commands: a cmdlet plus ordered parameters, never a string of script.

A ``Command`` is what the bridge sends with ``add_cmdlet``/``add_parameter``; ``render()`` gives the same command
as one PowerShell line for dry runs, logs and runbooks, with every string single-quoted so no value can break out
of its quotes. Secrets render as ``(Read-Host -AsSecureString)`` and never as their value.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["Command", "Pipeline", "Secret", "Switch", "comment_text", "quote", "render_value"]

_CMDLET_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*-[A-Za-z][A-Za-z0-9]*$")
_PARAM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
# PowerShell treats these as single quotes too (left/right/low/reversed single quotation marks).
_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"


@dataclasses.dataclass(frozen=True)
class Secret:
    """A secret value (password, secure string). Its repr and rendering never show the value."""

    value: str = dataclasses.field(repr=False)

    def __repr__(self) -> str:
        return "Secret(****)"

    def __str__(self) -> str:
        return "****"


@dataclasses.dataclass(frozen=True)
class Switch:
    """A switch parameter: ``Switch()`` renders ``-Name``; ``Switch(False)`` renders ``-Name:$false``."""

    present: bool = True


def quote(text: str) -> str:
    """Single-quote ``text`` for PowerShell: every kind of single quote inside is doubled."""
    out = []
    for ch in text:
        out.append(ch)
        if ch in _SINGLE_QUOTES:
            out.append(ch)
    return "'" + "".join(out) + "'"


# Characters that end a PowerShell line comment or could pass for one (CR, LF, NEL, LINE/PARAGRAPH SEPARATOR, the
# other C0/C1 controls), and the bidirectional overrides that make a comment display differently from what it holds.
_NOT_IN_COMMENTS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Between "<" and "#", and between "#" and ">": a space there breaks every block-comment marker in one pass.
_BLOCK_MARKER = re.compile(r"(?<=<)(?=#)|(?<=#)(?=>)")


def comment_text(text: str) -> str:
    """``text`` made safe to write inside a PowerShell comment (``# ...`` or ``<# ... #>``).

    Line breaks and other control characters become spaces, so data cannot end a ``#`` comment and start a line
    of code; ``<#`` and ``#>`` get a space between their characters, so data cannot open or close a block comment.
    Every runbook and script writer puts data (names, paths, Exchange's messages) into comments through this.
    """
    return _BLOCK_MARKER.sub(" ", _NOT_IN_COMMENTS.sub(" ", str(text)))


def render_value(value: Any) -> str:
    """One parameter value as PowerShell source."""
    if isinstance(value, Secret):
        return "(Read-Host -AsSecureString)"
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if value is None:
        return "$null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes sent to Exchange must carry a time zone")
        utc = value.astimezone(dt.timezone.utc)
        return quote(utc.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if isinstance(value, uuid.UUID):
        return quote(str(value))
    if isinstance(value, bytes):
        return "([byte[]](" + ",".join(str(b) for b in value[:16]) + (",..." if len(value) > 16 else "") + "))"
    if isinstance(value, Mapping):
        inner = "; ".join(f"{quote(str(k))}={render_value(v)}" for k, v in value.items())
        return "@{" + inner + "}"
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        if not items:
            return "@()"
        return "@(" + ",".join(render_value(v) for v in items) + ")"
    return quote(str(value))


@dataclasses.dataclass(frozen=True)
class Command:
    """One cmdlet with ordered named parameters.

    Values may be str, int, bool, None, timezone-aware datetimes (sent as UTC), UUIDs, bytes, lists/tuples of
    those, mappings (hashtables such as ``@{Add='x'}``), ``Switch`` and ``Secret``.
    """

    cmdlet: str
    parameters: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not _CMDLET_NAME.match(self.cmdlet):
            raise ValueError(f"not a cmdlet name: {self.cmdlet!r}")
        for name, _ in self.parameters:
            if not _PARAM_NAME.match(name):
                raise ValueError(f"not a parameter name: {name!r}")

    @classmethod
    def of(cls, cmdlet: str, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Command:
        """Build from a mapping and/or keywords, keeping their order; ``None`` values are left out."""
        merged: dict[str, Any] = dict(params or {})
        merged.update(kwargs)
        return cls(cmdlet, tuple((k, v) for k, v in merged.items() if v is not None))

    def param(self, name: str, default: Any = None) -> Any:
        """A parameter's value by case-insensitive name."""
        for key, value in self.parameters:
            if key.lower() == name.lower():
                return value
        return default

    def redacted(self) -> Command:
        """The same command with every ``Secret`` replaced by a placeholder string (for journals and logs)."""
        return Command(
            self.cmdlet,
            tuple((k, "****" if isinstance(v, Secret) else v) for k, v in self.parameters),
        )

    def render(self) -> str:
        """The command as one line of PowerShell."""
        parts = [self.cmdlet]
        for name, value in self.parameters:
            if isinstance(value, Switch):
                parts.append(f"-{name}" if value.present else f"-{name}:$false")
            elif isinstance(value, bool):
                parts.append(f"-{name}:{render_value(value)}")
            else:
                parts.append(f"-{name} {render_value(value)}")
        return " ".join(parts)

    def __str__(self) -> str:
        return self.render()


def _render_input(item: Any) -> str:
    """A piped record is sent as a PSCustomObject (its properties bind parameters by name); a hashtable would not."""
    if isinstance(item, Mapping):
        return "[pscustomobject]" + render_value(item)
    return render_value(item)


@dataclasses.dataclass(frozen=True)
class Pipeline:
    """Commands piped into each other (``Get-Mailbox | Set-Mailbox ...``), fed by streamed input items."""

    commands: tuple[Command, ...]

    def __post_init__(self) -> None:
        if not self.commands:
            raise ValueError("a pipeline needs at least one command")

    @classmethod
    def of(cls, *commands: Command) -> Pipeline:
        return cls(tuple(commands))

    def render(self, input_items: Sequence[Any] | None = None) -> str:
        """The pipeline as PowerShell; input items, when given, are shown as the array piped in."""
        body = " | ".join(c.render() for c in self.commands)
        if input_items:
            shown = ",".join(_render_input(item) for item in input_items)
            return f"@({shown}) | {body}"
        return body

    def redacted(self) -> Pipeline:
        return Pipeline(tuple(c.redacted() for c in self.commands))

    def __iter__(self) -> Iterable[Command]:  # type: ignore[override]
        return iter(self.commands)

    def __str__(self) -> str:
        return self.render()
