"""A fast reader for the common shapes of pipeline output CLIXML, giving exactly what the pypsrp path gives.

Today's path for one PIPELINE_OUTPUT message is ``from_wire(_Serializer().deserialize(xml))``: pypsrp's
``Serializer`` builds a ``GenericComplexObject`` per ``<Obj>`` (re-serialising every nested element to text on
the way, ``ET.tostring``, which is most of its cost), then ``from_wire`` turns those into ``PSObject``. Most
output is flat (``Select-Object``'s ``Selected.*`` objects, Exchange objects whose properties are primitives,
string lists and enums), so this walks the parsed tree once and builds the final values directly.

It follows the old path rule by rule (pypsrp 0.9 ``serializer.Serializer.deserialize`` /
``_deserialize_dynamic_obj``, hybridkit's ``_Serializer`` overrides and ``from_wire``):

* primitives as pypsrp reads them (``B`` is ``text.lower() == "true"``, ints by ``int``, ``G`` as ``uuid.UUID``,
  ``DT`` by ``parse_datetime``, ``TS``/``D``/``Version`` as their text), strings through pypsrp's own
  ``_x000A_`` unescaping whenever they could hold such an escape;
* an ``<Obj>`` holding ``LST``/``IE``/``QUE``/``STK`` is a list (hybridkit's override);
* any other ``<Obj>`` only when pypsrp itself would read its type names as a dynamic ``GenericComplexObject``
  (``dynamic``: asked of pypsrp once per type-name chain, ``_pypsrp._is_dynamic``), then ``from_wire``'s rules:
  an enum reads as its ToString; an object with no properties, one bare value and no ToString reads as that
  value; otherwise a ``PSObject`` with adapted then extended properties;
* ``TN``/``TNRef`` and ``Ref`` by RefId within the message (a ``Ref`` gives a copy, as ``from_wire`` converts
  each occurrence anew).

Anything else (``SS``, dictionaries, pypsrp's known complex types, malformed input, any exception) makes the
reader give up on the whole message, and the old path reads it: correctness never rests on this covering all.
"""

from __future__ import annotations

import base64
import copy
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from hybridkit.ps._result import PSObject

__all__ = ["Plain", "read_fast"]


class Plain:
    """A pipeline output value already in ``from_wire``'s form (``from_wire`` unwraps it)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _GiveUp(Exception):
    """A shape this reader leaves to the old path."""


def _same(text: str | None) -> str | None:
    return text


# Primitive tags whose value depends on the text alone, read as pypsrp reads them.
_SIMPLE: dict[str, Callable[[Any], Any]] = {
    "B": lambda t: t.lower() == "true",
    "I32": int, "I64": int, "U32": int, "U64": int, "I16": int, "U16": int, "By": int, "SB": int,
    "Db": float, "Sg": float,
    "G": uuid.UUID,
    "C": lambda t: chr(int(t)),
    "BA": base64.b64decode,
    "TS": _same, "D": _same, "Version": _same,
}
_STRINGS = frozenset(("S", "URI", "XD", "SBK"))
_LISTS = frozenset(("LST", "IE", "QUE", "STK"))
_ENUMS = ("System.Enum", "Deserialized.System.Enum")
_PENDING = object()  # an <Obj> being read: a Ref to it (a cycle) is left to the old path

class _Reader:
    """One message's walk: its TN and RefId tables, and the old path's rules it is given (see ``read_fast``)."""

    def __init__(self, unescape: Callable[[str], str], datetime: Callable[[str], Any],
                 dynamic: Callable[[list[str]], bool]) -> None:
        self.unescape = unescape
        self.datetime = datetime
        self.dynamic = dynamic
        self.tn: dict[str, list[str]] = {}
        self.refs: dict[str, Any] = {}

    def string(self, text: str | None) -> str:
        if text is None:
            return ""
        # pypsrp looks for _xHHHH_ in the UTF-16-BE bytes: a match needs "_x", or U+5F00 (a match across
        # characters). Without either the text comes back as it is.
        if "_x" not in text and "\u5f00" not in text:
            return text
        return self.unescape(text)

    def value(self, el: ET.Element) -> Any:
        tag = el.tag
        if tag in _STRINGS:
            return self.string(el.text)
        simple = _SIMPLE.get(tag)
        if simple is not None:
            return simple(el.text)
        if tag == "Nil":
            return None
        if tag == "DT":
            return self.datetime(el.text) if el.text else None
        if tag == "Obj":
            return self.obj(el)
        if tag == "Ref":
            found = self.refs[el.attrib["RefId"]]
            if found is _PENDING:
                raise _GiveUp("a reference cycle")
            return copy.deepcopy(found)
        raise _GiveUp(tag)

    def types(self, el: ET.Element) -> list[str]:
        """The object's type names from its one TN or TNRef (anything less plain is given up)."""
        heads = [c for c in el if c.tag in ("TN", "TNRef")]
        if not heads:
            return []
        if len(heads) > 1:
            raise _GiveUp("several TN")
        head = heads[0]
        if head.tag == "TNRef":
            return self.tn[head.attrib["RefId"]]
        names = [t.text for t in head]
        if not names or any(t.tag != "T" for t in head) or any(n is None for n in names):
            raise _GiveUp("an unusual TN")
        self.tn[head.attrib["RefId"]] = names  # type: ignore[assignment]
        return names  # type: ignore[return-value]

    def obj(self, el: ET.Element) -> Any:
        types = self.types(el)
        ref = el.attrib["RefId"]
        for child in el:
            if child.tag in _LISTS:  # a collection, whatever its type names (hybridkit's _Serializer)
                values = [self.value(c) for c in child]
                self.refs[ref] = values
                return values
        if not self.dynamic(types):
            raise _GiveUp(types[0] if types else "Obj")
        self.refs[ref] = _PENDING
        adapted: dict[str, Any] = {}
        extended: dict[str, Any] = {}
        bare: list[Any] = []
        to_string = None
        for child in el:
            tag = child.tag
            if tag == "Props":
                for prop in child:
                    adapted[prop.attrib["N"]] = self.value(prop)
            elif tag == "MS":
                for prop in child:
                    extended[prop.attrib["N"]] = self.value(prop)
            elif tag == "ToString":
                to_string = self.string(child.text)
            elif tag not in ("TN", "TNRef"):
                bare.append(self.value(child))
        # from_wire's rules for a GenericComplexObject
        result: Any
        if any(e in types for e in _ENUMS):
            result = to_string
        elif not adapted and not extended and len(bare) == 1 and to_string is None:
            result = bare[0]
        else:
            adapted.update(extended)
            result = PSObject(type_names=list(types), properties=adapted, to_string=to_string)
        self.refs[ref] = result
        return result


def read_fast(root: ET.Element, *, unescape: Callable[[str], str], datetime: Callable[[str], Any],
              dynamic: Callable[[list[str]], bool]) -> Plain | None:
    """One message's parsed CLIXML as ``from_wire`` would give it, or None to leave it to the old path.

    The old path's rules, from ``_pypsrp`` (the only module that imports pypsrp): ``unescape``, pypsrp's
    ``Serializer._deserialize_string``; ``datetime``, ``parse_datetime``; ``dynamic``, whether pypsrp reads an
    ``<Obj>`` with these type names as a ``GenericComplexObject``.
    """
    try:
        return Plain(_Reader(unescape, datetime, dynamic).value(root))
    except Exception:  # _GiveUp, or input the old path must answer for itself (a KeyError, a bad number...)
        return None
