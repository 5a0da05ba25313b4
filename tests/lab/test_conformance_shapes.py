"""Every object the lab serves carries its real type's full property set, with the real CLIXML kinds.

Types with a vendored capture are checked against it (``test_conformance_captures``); every type is checked here
against ``hybridkit/lab/data/object-shapes.json`` (sources in FIDELITY.md, "Object shapes"), through the same
serialisation the lab's protocol side uses. ``python -m tests.lab.shape_gaps`` prints the same check as a table.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from psrpcore.types import serialize

from hybridkit.lab.exchange.cmdlets._registry import HANDLERS
from hybridkit.lab.exchange.engine import ExchangeEngine
from hybridkit.lab.exchange.orgs import build_org
from hybridkit.lab.exchange.shapes import ShapedProperties, coerce, shape, shapes
from hybridkit.lab.transport._psrp_convert import to_ps
from tests.lab._captures import lab_wire_shape
from tests.lab._engine_kit import cmd, onprem, run
from tests.lab.shape_gaps import gaps

# The recipient and migration objects whose property sets come from a real remote capture or Exchange's classes.
_MAILBOX_WIRE_NAMES_HEAD = ["Database", "MailboxProvisioningConstraint", "MailboxRegion", "MailboxRegionLastUpdateTime",
                            "MessageCopyForSentAsEnabled", "MessageCopyForSendOnBehalfEnabled"]
_MAILBOX_WIRE_NAMES_TAIL = ["Identity", "IsValid", "ExchangeVersion", "Name", "DistinguishedName", "Guid",
                            "ObjectCategory", "ObjectClass", "WhenChanged", "WhenCreated", "WhenChangedUTC",
                            "WhenCreatedUTC", "OrganizationId", "Id", "OriginatingServer", "ObjectState"]


@pytest.fixture(scope="module")
def checked() -> list:
    return gaps(ExchangeEngine.create("demo", time_scale=0.0, raise_internal_errors=True))


def test_no_served_type_lacks_a_property(checked: list) -> None:
    problems = {f"{s.cmdlet} ({s.endpoint.value})": p for s, _lab, _src, p in checked if p}
    assert problems == {}


def test_every_get_handler_the_lab_has_is_checked(checked: list) -> None:
    seen = {s.cmdlet.split(" ")[0].lower() for s, *_ in checked}
    not_objects = {"get-connectioninformation", "get-exomailbox", "get-exorecipient"}  # module objects / projections
    gets = {name for name in HANDLERS if name.startswith("get-")} - not_objects
    assert gets - seen == set()


def test_mailbox_is_the_228_properties_exchange_sends(checked: list) -> None:
    mailbox = shape("Mailbox")
    assert len(mailbox.names) == 228
    assert list(mailbox.names[:6]) == _MAILBOX_WIRE_NAMES_HEAD
    assert list(mailbox.names[-16:]) == _MAILBOX_WIRE_NAMES_TAIL
    wire = next(lab for s, lab, *_ in checked if s.key == "Mailbox")
    assert wire.kinds["WhenCreated"] == wire.kinds["WhenChangedUTC"] == "DT"
    assert wire.kinds["ExchangeGuid"] == wire.kinds["Guid"] == "G"
    assert wire.kinds["EmailAddresses"] == wire.kinds["AuditAdmin"] == "LIST"
    assert wire.kinds["Database"] == wire.kinds["ProhibitSendQuota"] == wire.kinds["Identity"] == "S"


def test_every_shape_declares_only_known_kinds_and_defaults_of_that_kind() -> None:
    for key, known in shapes().items():
        assert known.type_names[-1] == "System.Object", key
        assert len(set(known.names)) == len(known.names), key
        for name in known.names:
            kind = known.kinds[name]
            assert kind in {"S", "B", "I32", "I64", "U32", "U64", "DT", "G", "TS", "BA", "LIST"}, (key, name)
            value = coerce(kind, known.defaults[name])
            if value is not None:
                element = serialize(value if kind != "LIST" else [], None)
                tag = "Obj" if kind == "LIST" else kind
                assert element.tag == tag, (key, name, element.tag)


def test_values_are_coerced_to_their_kinds() -> None:
    assert coerce("DT", "2026-11-02T08:00:00+00:00") == dt.datetime(2026, 11, 2, 8, tzinfo=dt.timezone.utc)
    assert coerce("DT", dt.datetime(2026, 11, 2, 8)).tzinfo is dt.timezone.utc
    assert coerce("G", "7ea3ef27-e2e9-4528-a4e0-689e1888df20") == uuid.UUID("7ea3ef27-e2e9-4528-a4e0-689e1888df20")
    assert coerce("LIST", "SMTP:a@contoso.com") == ["SMTP:a@contoso.com"] and coerce("LIST", None) == []
    assert coerce("S", 500) == "500" and coerce("S", ["Migrated", "SharedMailbox"]) == "Migrated, SharedMailbox"
    assert coerce("B", "True") is True and coerce("I32", "42") == 42
    assert serialize(coerce("U32", 7), None).tag == "U32" and serialize(coerce("I64", 7), None).tag == "I64"
    assert coerce("TS", "1.02:03:04") == dt.timedelta(days=1, hours=2, minutes=3, seconds=4)


def test_select_object_reads_only_the_selected_properties() -> None:
    engine = ExchangeEngine(build_org("synthetic:20", time_scale=0.0), raise_internal_errors=True)
    full = run(engine, onprem(), cmd("Get-Mailbox", ResultSize="Unlimited")).out
    assert all(isinstance(o.properties, ShapedProperties) for o in full)
    assert all(o.properties._cache == {} for o in full)  # nothing computed until something reads it
    picked = run(engine, onprem(), cmd("Get-Mailbox", ResultSize="Unlimited"),
                 cmd("Select-Object", Property=["Identity", "PrimarySmtpAddress", "ExchangeGuid", "WhenCreated"])).out
    assert [list(o.properties) for o in picked] == [["Identity", "PrimarySmtpAddress", "ExchangeGuid",
                                                     "WhenCreated"]] * 20
    assert isinstance(picked[0].get("ExchangeGuid"), uuid.UUID) and isinstance(picked[0].get("WhenCreated"),
                                                                                dt.datetime)
    assert picked[0].type_names[0] == "Selected.Microsoft.Exchange.Data.Directory.Management.Mailbox"


def test_full_mailbox_objects_serialise_in_reasonable_time() -> None:
    engine = ExchangeEngine(build_org("synthetic:200", time_scale=0.0))
    objects = run(engine, onprem(), cmd("Get-Mailbox", ResultSize="Unlimited")).out
    start = time.perf_counter()
    for obj in objects:
        serialize(to_ps(obj), None)
    per_object = (time.perf_counter() - start) / len(objects)
    assert per_object < 0.05, per_object  # loose: ~10 ms on an idle machine, 228 properties each
    assert len(lab_wire_shape(objects[0]).names) == 228
