"""``ps/_fastread``: pipeline output read straight to plain values gives exactly what pypsrp's path gives.

"Exactly": the same Python types (a bool stays a bool, not 1), PSObject type names, properties in the same order,
ToString, aware datetimes with the same offset, UUIDs, lists, enums as their names. The old path is
``from_wire(_Serializer().deserialize(xml))`` with the fast reader off; where it raises, the fast one must raise
the same exception (it gives up and the old path runs).
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import math
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hybridkit.ps import Command, Pipeline, PSObject
from hybridkit.ps import _fastread
from hybridkit.ps._fastread import Plain
from hybridkit.ps._pypsrp import PypsrpSession, _Serializer, from_wire
from hybridkit.config import lab_profile_from_ready, resolve_connection

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "tests" / "lab" / "captures" / "css-exchange"
NS = "{http://schemas.microsoft.com/powershell/2004/04}"


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_deserialize", ROOT / "bench" / "deserialize.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def same(a: Any, b: Any) -> bool:
    """Equal, and equal in type all the way down (``==`` alone takes True for 1 and 1 for 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, PSObject):
        return (a.type_names == b.type_names and all(type(t) is str for t in a.type_names)
                and a.to_string == b.to_string and list(a.properties) == list(b.properties)
                and all(same(a.properties[k], b.properties[k]) for k in a.properties))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):  # keys pairwise (a NaN key equals no other NaN with ==), then the values
        return len(a) == len(b) and all(same(ka, kb) and same(va, vb) for (ka, va), (kb, vb) in zip(a.items(),
                                                                                               b.items()))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dt.datetime):
        return a == b and a.utcoffset() == b.utcoffset()
    return bool(a == b)


def outcome(xml: str, fast: bool) -> tuple[str, Any]:
    serializer = _Serializer()
    serializer.fast = fast
    try:
        return "value", from_wire(serializer.deserialize(xml))
    except Exception as exc:  # the old path's own failure: the fast one must end the same way
        return "raised", type(exc)


def assert_same_as_old(xml: str) -> bool:
    """The fast reader's value is the old path's; returns whether the fast reader read it itself."""
    old, new = outcome(xml, fast=False), outcome(xml, fast=True)
    assert old[0] == new[0] and same(old[1], new[1]), (xml, old, new)
    return isinstance(_Serializer().deserialize(xml), Plain) if old[0] == "value" else False


# ---------------------------------------------------------------- the lab's real shapes


@pytest.fixture(scope="module")
def lab_messages() -> dict[str, list[str]]:
    return _bench().samples(mailboxes=24, batches=2)


def test_fastread_lab_reads_equal_and_all_read_fast(lab_messages: dict[str, list[str]]) -> None:
    for read in ("Get-MigrationUser | Select", "Get-MigrationUser", "Get-MoveRequestStatistics | Select",
                 "Get-MoveRequestStatistics", "Get-MigrationBatch | Select", "Get-MigrationBatch",
                 "Get-Mailbox | Select", "Get-Mailbox (on-premises)", "Get-Recipient"):
        messages = lab_messages[read]
        assert messages, read
        assert all(assert_same_as_old(xml) for xml in messages), f"{read}: some fell back to pypsrp's path"


def test_fastread_selected_move_statistics_values(lab_messages: dict[str, list[str]]) -> None:
    obj = from_wire(_Serializer().deserialize(lab_messages["Get-MoveRequestStatistics | Select"][0]))
    assert isinstance(obj, PSObject)
    assert obj.type_names[0].startswith("Selected.") and "System.Management.Automation.PSCustomObject" in obj.type_names
    assert list(obj.properties) == ["Identity", "Status", "StatusDetail", "PercentComplete", "BytesTransferred",
                                    "TotalMailboxSize", "Message", "CompleteAfter"]
    assert isinstance(obj["PercentComplete"], int) and isinstance(obj["Status"], str)


# ---------------------------------------------------------------- real Exchange captures (CSS-Exchange)


def _capture_messages(path: Path) -> list[str]:
    """Each top-level object of an Export-Clixml capture as one wire message: no namespace, and every TNRef to
    a TN outside the object replaced by that TN (a message carries its own type names)."""
    root = ET.parse(path).getroot()
    for element in root.iter():
        element.tag = element.tag.removeprefix(NS)
    tns = {tn.get("RefId"): tn for tn in root.iter("TN")}
    messages = []
    for obj in root.findall("Obj"):
        seen = {tn.get("RefId") for tn in obj.iter("TN")}
        for parent in obj.iter():
            for index, child in enumerate(list(parent)):
                if child.tag == "TNRef" and child.get("RefId") not in seen and child.get("RefId") in tns:
                    parent[index] = tns[child.get("RefId")]
                    seen.add(child.get("RefId"))
        messages.append(ET.tostring(obj, encoding="unicode"))
    return messages


@pytest.mark.parametrize("capture", sorted(p.name for p in CAPTURES.glob("*.xml")))
def test_fastread_css_exchange_captures_equal(capture: str) -> None:
    messages = _capture_messages(CAPTURES / capture)
    assert messages
    for xml in messages:
        assert_same_as_old(xml)


# ---------------------------------------------------------------- generated CLIXML

TOKENS = ["a", "Z", " ", "é", "\u5f00", "\u6100", "_", "x", "0", "A", "<", "&", ">", "'", '"', "_x000A_",
          "_x005F_", "_x0009_", "_xD83D__xDE00_", "_x00zz_", "\U0001f600", "\n"]
texts = st.lists(st.sampled_from(TOKENS), max_size=8).map("".join)
OBJECT_TYPES = [
    ["Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox", "Deserialized.System.Object"],
    ["Selected.Microsoft.Exchange.Migration.MigrationUser", "System.Management.Automation.PSCustomObject",
     "System.Object"],
    ["Microsoft.Exchange.Data.Storage.Management.MigrationUserStatus", "System.Enum", "System.ValueType",
     "System.Object"],
    ["Deserialized.Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails", "Deserialized.System.Enum",
     "Deserialized.System.ValueType", "Deserialized.System.Object"],
    [],
    ["System.Management.Automation.PSObject", "System.Object"],
    ["System.Collections.Hashtable", "System.Object"],  # pypsrp's dictionary: left to the old path
    ["System.String", "System.Object"],
    ["Deserialized.System.Collections.Generic.List`1[[System.String, mscorlib]]", "Deserialized.System.Object"],
    ["Microsoft.Exchange.Foo[]", "System.Object"],
    ["System.Management.Automation.ErrorRecord", "System.Object"],
    ["Selected.Microsoft.PowerShell.Commands.GenericMeasureInfo", "System.Object"],
    ["Unknown.Type"],
]
LIST_TYPES = [["System.Collections.ArrayList", "System.Object"],
              ["Deserialized.Microsoft.Exchange.Data.ProxyAddressCollection", "Deserialized.System.Object"], []]
NAMES = st.sampled_from(["Identity", "Status", "Name", "name", "Ünï", "a b", "Value"])

primitives = st.one_of(
    texts.map(lambda t: ("S", t)),
    texts.map(lambda t: ("URI", t)),
    st.integers(-(2**31), 2**31 - 1).map(lambda i: ("I32", str(i))),
    st.integers(-(2**63), 2**63 - 1).map(lambda i: ("I64", str(i))),
    st.integers(0, 2**32 - 1).map(lambda i: ("U32", str(i))),
    st.integers(0, 255).map(lambda i: ("By", str(i))),
    st.sampled_from(["true", "false", "True", "FALSE"]).map(lambda b: ("B", b)),
    st.floats(allow_nan=True).map(lambda f: ("Db", repr(f).replace("inf", "Infinity"))),
    st.sampled_from(["2024-05-06T07:08:09.1234567Z", "2024-05-06T07:08:09Z", "2024-05-06T07:08:09.5+02:00",
                     "2024-05-06T07:08:09", "not a date", ""]).map(lambda d: ("DT", d or None)),
    st.uuids().map(lambda u: ("G", str(u))),
    st.just(("Nil", None)),
    st.sampled_from(["PT1H", "P1DT2H"]).map(lambda t: ("TS", t)),
    st.just(("Version", "15.2.1544.4")),
    st.integers(32, 0xFFFF).map(lambda c: ("C", str(c))),
    st.binary(max_size=8).map(lambda b: ("BA", base64.b64encode(b).decode())),
    st.just(("D", "1.5")),
)


def _nodes(children: Any) -> Any:
    named = st.lists(st.tuples(NAMES, children), max_size=4)
    return st.one_of(
        st.tuples(st.just("list"), st.sampled_from(LIST_TYPES), st.sampled_from(["LST", "IE", "QUE", "STK"]),
                  st.lists(children, max_size=4)),
        st.tuples(st.just("obj"), st.sampled_from(OBJECT_TYPES), st.one_of(st.none(), texts), named, named,
                  st.lists(children, max_size=2)),
        st.tuples(st.just("ref"), st.integers(0, 50)),
        st.tuples(st.just("dict"), st.lists(st.tuples(primitives, children), max_size=2)),
    )


nodes = st.recursive(primitives.map(lambda p: ("prim", *p)), _nodes, max_leaves=12)


class _Builder:
    """A node tree as PSRP CLIXML: RefIds counted, a type chain seen before sent as TNRef, Ref to earlier objects."""

    def __init__(self) -> None:
        self.ref_ids = 0
        self.tn: dict[tuple[str, ...], str] = {}
        self.done: list[str] = []

    def element(self, node: Any, parent: ET.Element | None = None, name: str | None = None) -> ET.Element:
        kind = node[0]
        if kind == "prim":
            el = ET.Element(node[1])
            el.text = node[2]
        elif kind == "ref":
            el = ET.Element("Ref", RefId=self.done[node[1] % len(self.done)]) if self.done else ET.Element("Nil")
        else:
            ref = str(self.ref_ids)
            self.ref_ids += 1
            el = ET.Element("Obj", RefId=ref)
            types = {"list": node[1], "obj": node[1], "dict": ["System.Collections.Hashtable", "System.Object"]}[kind]
            self._types(el, types)
            if kind == "list":
                items = ET.SubElement(el, node[2])
                for child in node[3]:
                    self.element(child, items)
            elif kind == "dict":
                entries = ET.SubElement(el, "DCT")
                for key, value in node[1]:
                    entry = ET.SubElement(entries, "En")
                    self.element(("prim", *key), entry, "Key")
                    self.element(value, entry, "Value")
            else:
                _, _, to_string, props, members, bare = node
                if to_string is not None:
                    ET.SubElement(el, "ToString").text = to_string
                for tag, pairs in (("Props", props), ("MS", members)):
                    if pairs:
                        holder = ET.SubElement(el, tag)
                        for prop_name, child in pairs:
                            self.element(child, holder, prop_name)
                for child in bare:
                    self.element(child, el)
            self.done.append(ref)
        if name is not None:
            el.set("N", name)
        if parent is not None:
            parent.append(el)
        return el

    def _types(self, el: ET.Element, types: list[str]) -> None:
        if not types:
            return
        known = self.tn.get(tuple(types))
        if known is not None:
            ET.SubElement(el, "TNRef", RefId=known)
            return
        known = self.tn[tuple(types)] = str(len(self.tn))
        tn = ET.SubElement(el, "TN", RefId=known)
        for type_name in types:
            ET.SubElement(tn, "T").text = type_name


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(node=nodes)
@example(node=("dict", [(("Db", "nan"), ("prim", "Nil", None))]))  # a NaN key: equal to itself only pairwise
def test_fastread_generated_clixml_equals_pypsrp_path(node: Any) -> None:
    assert_same_as_old(ET.tostring(_Builder().element(node), encoding="unicode"))


@settings(max_examples=150, deadline=None)
@given(props=st.lists(st.tuples(NAMES, primitives), min_size=1, max_size=6),
       to_string=st.one_of(st.none(), texts))
def test_fastread_flat_selected_objects_are_read_fast(props: list[Any], to_string: str | None) -> None:
    node = ("obj", OBJECT_TYPES[1], to_string, [(n, ("prim", *p)) for n, p in props], [], [])
    xml = ET.tostring(_Builder().element(node), encoding="unicode")
    if outcome(xml, fast=False)[0] == "value":  # a malformed number etc. is the old path's to report
        assert assert_same_as_old(xml)


def test_fastread_escapes_and_references() -> None:
    xml = ('<Obj RefId="0"><TN RefId="0"><T>Selected.X</T><T>System.Object</T></TN><Props>'
           '<S N="Line">a_x000A_b &lt;c&gt; &amp; _x005F_x000A_</S>'
           '<Obj N="Owner" RefId="1"><TNRef RefId="0" /><ToString>o</ToString><Props><S N="Name">o</S></Props></Obj>'
           '<Ref N="Again" RefId="1" />'
           '<Obj N="State" RefId="2"><TN RefId="1"><T>Deserialized.My.State</T><T>Deserialized.System.Enum</T>'
           '<T>Deserialized.System.Object</T></TN><ToString>Synced</ToString><I32>3</I32></Obj>'
           '<Obj N="Bare" RefId="3"><I64>5</I64></Obj>'
           '<Obj N="Size" RefId="4"><TN RefId="2"><T>Deserialized.Microsoft.Exchange.Data.ByteQuantifiedSize</T>'
           '<T>Deserialized.System.Object</T></TN><ToString>1 GB (1,073,741,824 bytes)</ToString>'
           '<U64>1073741824</U64></Obj>'
           # pypsrp finds "_x0A00_" across these characters' UTF-16 bytes (U+5F00 is "_" then NUL): kept as it is
           '<S N="Cjk">\u6100\u5f00\u7800\u3000\u3000\u3000\u4100\u5f00</S>'
           '</Props></Obj>')
    assert assert_same_as_old(xml)
    obj = from_wire(_Serializer().deserialize(xml))
    assert obj["Line"] == "a\nb <c> & _x000A_"
    assert obj["Owner"] == obj["Again"] and obj["Owner"] is not obj["Again"]  # each occurrence its own copy
    assert obj["Owner"].type_names == ["Selected.X", "System.Object"]
    assert obj["State"] == "Synced" and obj["Bare"] == 5
    size_types = ["Deserialized.Microsoft.Exchange.Data.ByteQuantifiedSize", "Deserialized.System.Object"]
    assert obj["Size"] == PSObject(size_types, {}, "1 GB (1,073,741,824 bytes)")
    assert obj["Cjk"] == "\u6100\u0a00"  # pypsrp's reading, mangled as it always was


def test_fastread_unknown_shapes_fall_back() -> None:
    for xml in ('<Obj RefId="0"><TN RefId="0"><T>System.Collections.Hashtable</T><T>System.Object</T></TN>'
                '<DCT><En><S N="Key">k</S><I32 N="Value">1</I32></En></DCT></Obj>',
                '<Obj RefId="0"><MS><SS N="Password">AAAA</SS></MS></Obj>',
                '<Obj RefId="0"><Props><Ref N="Self" RefId="0" /></Props></Obj>'):
        serializer = _Serializer()
        assert not isinstance(serializer.deserialize(xml), Plain)


# ---------------------------------------------------------------- in a live session


def test_fastread_live_session_reads_fast_and_equal(lab: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    read = _fastread.read_fast
    counts = {"fast": 0, "fell back": 0}

    def counted(*args: Any, **kwargs: Any) -> Any:
        plain = read(*args, **kwargs)
        counts["fast" if plain is not None else "fell back"] += 1
        return plain

    monkeypatch.setattr("hybridkit.ps._pypsrp.read_fast", counted)
    connection = resolve_connection(lab_profile_from_ready("lab", lab.server.ready_info(), endpoint="onprem"))
    pipeline = Pipeline.of(Command.of("Get-Mailbox", ResultSize=5),
                           Command.of("Select-Object", Property=["Alias", "ExchangeGuid", "WhenCreated"]))
    with PypsrpSession(connection, max_pools=1) as session:
        fast = session.run(pipeline).output + session.run(Command.of("Get-Mailbox", ResultSize=5)).output
        assert counts == {"fast": 10, "fell back": 0}
        monkeypatch.setattr(_Serializer, "fast", False)
        old = session.run(pipeline).output + session.run(Command.of("Get-Mailbox", ResultSize=5)).output
    assert counts["fast"] == 10 and same(fast, old)
    assert isinstance(fast[0]["WhenCreated"], dt.datetime) and isinstance(fast[0]["ExchangeGuid"], uuid.UUID)
