"""Read real Exchange CLIXML captures and the lab's own serialised objects as comparable shapes.

A shape is the object's type names, its property names in order and each property's CLIXML kind *as it arrives
over Exchange's remote endpoint*. Captures taken with ``Export-Clixml`` in the Exchange Management Shell keep
Exchange's rich objects (``<Obj>`` with type names) that the remote endpoint sends as plain values; the mapping:

* primitive elements keep their tag (``S``, ``B``, ``I32``, ``DT``, ``G`` ...);
* an ``<Obj>`` holding a list (``<LST>``/``<IE>``) is a multi-valued property: ``LIST``;
* any other ``<Obj>`` (enums, ADObjectIds, sizes, versions, SMTP addresses) arrives as its ToString: ``S``;
* ``<Nil>`` says nothing about the kind (None); ``<Ref>`` takes the kind of the object it points at.

This is what a real remote capture shows: the Get-Mailbox CLIXML an Exchange 2016 server sent to pypsrp
(3gstudent.github.io, 2022-10-1) has ``<S N="Database">``, ``<S N="ProhibitSendQuota">``, ``<S N="Identity">``,
``<DT N="WhenCreated">``, ``<G N="ExchangeGuid">`` and ``<Obj N="EmailAddresses">...<LST>``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from psrpcore.types import serialize

from hybridkit.lab._types import LabObject
from hybridkit.lab.transport._psrp_convert import to_ps

NS = "{http://schemas.microsoft.com/powershell/2004/04}"
CAPTURES = Path(__file__).parent / "captures" / "css-exchange"
_PRIMITIVE = {"S", "B", "I32", "I64", "U32", "U64", "I16", "U16", "By", "SB", "Db", "Sg", "D", "DT", "G", "TS", "URI",
              "Version", "BA", "C"}
_LISTS = {NS + "LST", NS + "IE", NS + "STK", NS + "QUE"}


@dataclasses.dataclass
class WireShape:
    """Type names, property names in order, and kinds by name (None: only ever $null)."""

    type_names: list[str]
    names: list[str]
    kinds: dict[str, str | None]


def element_kind(element: ElementTree.Element, refs: dict[str, ElementTree.Element]) -> str | None:
    """The remote-endpoint kind of one property element (see the module docstring)."""
    tag = element.tag.removeprefix(NS)
    if tag == "Ref":
        element = refs[element.get("RefId", "")]
        tag = element.tag.removeprefix(NS)
    if tag == "Nil":
        return None
    if tag in _PRIMITIVE:
        return tag
    if tag != "Obj":
        raise ValueError(f"unexpected CLIXML element {tag}")
    if any(child.tag in _LISTS for child in element):
        return "LIST"
    if any(child.tag == NS + "DCT" for child in element):
        return "DICT"
    return "S"


def _type_names(obj: ElementTree.Element, tn_refs: dict[str, list[str]]) -> list[str]:
    tn = obj.find(NS + "TN")
    if tn is not None:
        return [t.text or "" for t in tn.findall(NS + "T")]
    ref = obj.find(NS + "TNRef")
    return list(tn_refs.get(ref.get("RefId", ""), [])) if ref is not None else []


def read_objects(root: ElementTree.Element) -> list[WireShape]:
    """Every top-level object of a CLIXML document (``<Objs>``) or a single serialised ``<Obj>``."""
    tn_refs = {tn.get("RefId", ""): [t.text or "" for t in tn.findall(NS + "T")]
               for tn in root.iter(NS + "TN") if tn.get("RefId") is not None}
    refs = {o.get("RefId", ""): o for o in root.iter(NS + "Obj") if o.get("RefId") is not None}
    objects = [root] if root.tag in (NS + "Obj", "Obj") else root.findall(NS + "Obj")
    out = []
    for obj in objects:
        props = obj.find(NS + "Props")
        if props is None:
            props = obj.find("Props")
        names, kinds = [], {}
        for element in list(props) if props is not None else []:
            name = element.get("N", "")
            names.append(name)
            kinds[name] = element_kind(element, refs)
        out.append(WireShape(_type_names(obj, tn_refs), names, kinds))
    return out


def capture_shape(*files: str) -> WireShape:
    """The merged shape of every object in the named vendored captures (a kind from the first non-$null value)."""
    merged: WireShape | None = None
    for name in files:
        for shape in read_objects(ElementTree.parse(CAPTURES / name).getroot()):
            if merged is None:
                merged = shape
                continue
            assert shape.names == merged.names, f"{name}: objects of one type with different property sets"
            for prop, kind in shape.kinds.items():
                if merged.kinds.get(prop) is None:
                    merged.kinds[prop] = kind
    assert merged is not None, files
    return merged


def _strip_ns(element: ElementTree.Element) -> ElementTree.Element:
    for item in element.iter():
        if not item.tag.startswith("{"):
            item.tag = NS + item.tag
    return element


def lab_wire_shape(obj: LabObject) -> WireShape:
    """The lab object as the client receives it: serialised by the lab's own path (``to_ps`` + psrpcore)."""
    element = _strip_ns(serialize(to_ps(obj), None))
    shape = read_objects(element)[0]
    shape.type_names = [t for t in shape.type_names]
    return shape


def kind_problems(lab: WireShape, real: WireShape, declared: dict[str, Any] | None = None) -> list[str]:
    """Where the lab's object differs from the real one: missing/extra/misordered properties, other kinds."""
    problems = []
    missing = [n for n in real.names if n not in lab.kinds]
    extra = [n for n in lab.names if n not in real.kinds]
    if missing:
        problems.append(f"missing properties: {missing}")
    if extra:
        problems.append(f"properties Exchange does not have: {extra}")
    if not missing and not extra and lab.names != real.names:
        problems.append("property order differs from Exchange's")
    for name, kind in real.kinds.items():
        sent = lab.kinds.get(name)
        want = (declared or {}).get(name, sent)
        if kind is not None and want is not None and want != kind:
            problems.append(f"{name}: lab kind {want}, Exchange sends {kind}")
        if sent is not None and want is not None and sent != want:
            problems.append(f"{name}: lab declares {want} but sent {sent}")
    return problems
