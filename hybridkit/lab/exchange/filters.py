"""Exchange OPATH ``-Filter`` strings, the common forms: ``Property -eq 'value'`` and friends.

Supported: comparisons ``-eq -ne -like -notlike -lt -gt -le -ge`` against quoted strings, numbers, ``$true``,
``$false`` and ``$null``; ``-and``, ``-or``, ``-not`` and parentheses; an optional outer ``{ }``. Strings compare
case-insensitively; ``-like`` takes ``*`` wildcards; a multi-valued property matches if any value does.
Link properties (Database, Manager ...) compare against the name the lab shows (real Exchange wants the
distinguished name for some of them).

A filter that does not parse, or names a property the object does not have, fails binding with Exchange's
"Cannot bind parameter 'Filter' to the target" messages.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import uuid
from collections.abc import Callable
from typing import Any

from hybridkit.lab._types import LabError, LabObject
from hybridkit.lab.exchange.conversion import parse_datetime

__all__ = ["FilterError", "compile_filter"]

Predicate = Callable[[LabObject], bool]
_TOKEN = re.compile(
    r"\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<op>-(?:eq|ne|like|notlike|lt|gt|le|ge|and|or|not)\b)"
    r"|'(?P<sq>(?:[^']|'')*)'|\"(?P<dq>(?:[^\"]|\"\")*)\"|(?P<var>\$(?:true|false|null)\b)"
    r"|(?P<word>[^\s()'\"]+))",
    re.IGNORECASE,
)


class FilterError(Exception):
    """A filter Exchange would refuse; ``error(cmdlet_class)`` gives the binding ErrorRecord."""

    def __init__(self, detail: str, text: str, position: int) -> None:
        super().__init__(detail)
        self.message = (
            f"Cannot bind parameter 'Filter' to the target. Exception setting \"Filter\": \"{detail}\n"
            f"\"{text}\" at position {position}.\""
        )

    def error(self, cmdlet_class: str) -> LabError:
        return LabError(
            message=self.message,
            exception_type="System.Management.Automation.ParameterBindingException",
            fully_qualified_error_id=f"ParameterBindingFailed,{cmdlet_class}",
            category="InvalidArgument",
            reason="ParameterBindingException",
        )


def _syntax(text: str, position: int) -> FilterError:
    return FilterError("Invalid filter syntax. For a description of the filter parameter syntax see the command help.",
                       text, position)


class _Parser:
    def __init__(self, text: str, known: set[str]) -> None:
        self.text = text
        self.known = {k.lower(): k for k in known}
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                if text[pos:].strip():
                    raise _syntax(text, pos + 1)
                break
            kind = match.lastgroup or ""
            value = match.group(kind)
            if kind == "sq":
                value = value.replace("''", "'")
            elif kind == "dq":
                value = value.replace('""', '"')
            self.tokens.append((kind, value, match.start(kind) + 1))
            pos = match.end()
        self.index = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise _syntax(self.text, len(self.text) + 1)
        self.index += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.expr()
        if self.peek() is not None:
            raise _syntax(self.text, self.peek()[2])  # type: ignore[index]
        return predicate

    def _is_op(self, name: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "op" and token[1].lower() == name

    def expr(self) -> Predicate:
        parts = [self.conjunction()]
        while self._is_op("-or"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda o, ps=tuple(parts): any(p(o) for p in ps))

    def conjunction(self) -> Predicate:
        parts = [self.unary()]
        while self._is_op("-and"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda o, ps=tuple(parts): all(p(o) for p in ps))

    def unary(self) -> Predicate:
        if self._is_op("-not"):
            self.take()
            inner = self.unary()
            return lambda o: not inner(o)
        token = self.peek()
        if token is not None and token[0] == "lp":
            self.take()
            inner = self.expr()
            closing = self.take()
            if closing[0] != "rp":
                raise _syntax(self.text, closing[2])
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        kind, name, position = self.take()
        if kind != "word":
            raise _syntax(self.text, position)
        prop = self.known.get(name.lower())
        if prop is None:
            raise FilterError(f"\"{name}\" is not a recognized filterable property. For a description of the "
                              "filterable properties see the command help.", self.text, position)
        op_kind, op, op_pos = self.take()
        if op_kind != "op" or op.lower() in ("-and", "-or", "-not"):
            raise _syntax(self.text, op_pos)
        value_kind, raw, value_pos = self.take()
        if value_kind not in ("sq", "dq", "var", "word"):
            raise _syntax(self.text, value_pos)
        value: Any = raw
        if value_kind == "var":
            value = {"$true": True, "$false": False, "$null": None}[raw.lower()]
        return _comparison(prop, op.lower(), value)


def _scalar_matches(actual: Any, op: str, wanted: Any) -> bool:
    if wanted is None:
        empty = actual is None or actual == ""
        return empty if op == "-eq" else (not empty if op == "-ne" else False)
    if actual is None:
        return op in ("-ne", "-notlike")
    if isinstance(actual, bool) or isinstance(wanted, bool):
        left, right = str(actual).lower(), str(wanted).lower()
    elif isinstance(actual, (int, float)) and not isinstance(actual, bool):
        try:
            left, right = float(actual), float(wanted)  # type: ignore[assignment]
        except (TypeError, ValueError):
            left, right = str(actual).lower(), str(wanted).lower()
    elif isinstance(actual, dt.datetime):
        parsed = wanted if isinstance(wanted, dt.datetime) else parse_datetime(str(wanted))
        if parsed is None:
            return False
        left, right = actual, parsed  # type: ignore[assignment]
    elif isinstance(actual, uuid.UUID):
        left, right = str(actual).lower(), str(wanted).lower()
    else:
        left, right = str(actual).lower(), str(wanted).lower()
    if op == "-eq":
        return left == right
    if op == "-ne":
        return left != right
    if op in ("-like", "-notlike"):
        hit = fnmatch.fnmatchcase(str(left), str(right))
        return hit if op == "-like" else not hit
    try:
        return {"-lt": left < right, "-gt": left > right, "-le": left <= right, "-ge": left >= right}[op]  # type: ignore[operator]
    except TypeError:
        return False


def _comparison(prop: str, op: str, wanted: Any) -> Predicate:
    def test(obj: LabObject) -> bool:
        actual = obj.get(prop)
        if isinstance(actual, (list, tuple)):
            if op in ("-ne", "-notlike"):
                positive = "-eq" if op == "-ne" else "-like"
                return not any(_scalar_matches(v, positive, wanted) for v in actual)
            if not actual:
                return _scalar_matches(None, op, wanted)
            return any(_scalar_matches(v, op, wanted) for v in actual)
        return _scalar_matches(actual, op, wanted)

    return test


def compile_filter(text: str, known_properties: set[str]) -> Predicate:
    """A predicate over output objects for an OPATH filter; raises ``FilterError``."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1].strip()
    if not body:
        raise _syntax(text, 1)
    return _Parser(body, known_properties).parse()
