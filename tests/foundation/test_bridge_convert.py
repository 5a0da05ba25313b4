"""Converters between pypsrp's wire objects and hybridkit's plain data; attribution of errors to items."""

from __future__ import annotations

import datetime as dt
import types
import uuid
import xml.etree.ElementTree as ET

from pypsrp.complex_objects import GenericComplexObject
from pypsrp.serializer import TaggedValue

from hybridkit.ps import PSError, PSObject, PSResult, Secret, Switch
from hybridkit.ps._match import match_items
from hybridkit.ps._pypsrp import _error_from_record, _Serializer, from_wire, parse_datetime, to_wire

CLIXML = """<Obj RefId="0"><TN RefId="0"><T>Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox</T>
<T>Deserialized.System.Object</T></TN><ToString>Bob Smith</ToString><Props>
<S N="Alias">bob</S><DT N="WhenCreated">2024-05-06T07:08:09.1234567Z</DT><B N="LitigationHoldEnabled">false</B>
<Obj N="EmailAddresses" RefId="1"><TN RefId="1"><T>Deserialized.Microsoft.Exchange.Data.ProxyAddressCollection</T>
<T>Deserialized.System.Object</T></TN><LST><S>SMTP:bob@contoso.com</S><S>smtp:b@contoso.com</S></LST></Obj>
<I64 N="Size">4555456537</I64><G N="Guid">6a8b4d2f-0000-4000-8000-000000000001</G>
</Props><MS><S N="Extra">x</S></MS></Obj>"""


def test_exchange_object_deserializes_to_plain_data() -> None:
    obj = from_wire(_Serializer().deserialize(CLIXML))
    assert isinstance(obj, PSObject)
    assert obj.type_names[0] == "Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox"
    assert str(obj) == "Bob Smith"
    assert obj.get("alias") == "bob"
    assert obj["WhenCreated"] == dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone.utc)
    assert obj["EmailAddresses"] == ["SMTP:bob@contoso.com", "smtp:b@contoso.com"]
    assert obj["LitigationHoldEnabled"] is False
    assert obj["Size"] == 4555456537
    assert obj["Guid"] == uuid.UUID("6a8b4d2f-0000-4000-8000-000000000001")
    assert obj["Extra"] == "x"  # extended properties merged with adapted ones


def test_parse_datetime_forms() -> None:
    assert parse_datetime("2024-05-06T07:08:09Z") == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    with_offset = parse_datetime("2024-05-06T07:08:09.5+02:00")
    assert isinstance(with_offset, dt.datetime) and with_offset.utcoffset() == dt.timedelta(hours=2)
    assert parse_datetime("not a date") == "not a date"


def test_to_wire_types() -> None:
    assert to_wire("x") == "x" and to_wire(5) == 5 and to_wire(True) is True
    big = to_wire(2**40)
    assert isinstance(big, TaggedValue) and big.tag == "I64"
    when = to_wire(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5))))
    assert isinstance(when, ET.Element) and when.text == "2026-01-02T08:04:05.0000000Z"
    called = []
    secret = to_wire(Secret("pw"), lambda: called.append(1))
    assert isinstance(secret, TaggedValue) and secret.tag == "SS" and called == [1]
    assert to_wire(Switch(False)) is False
    assert to_wire({"Add": ["a", 1]}) == {"Add": ["a", 1]}
    obj = to_wire(PSObject(["My.Type"], {"Identity": "bob"}))
    assert isinstance(obj, GenericComplexObject) and obj.extended_properties == {"Identity": "bob"}


def test_error_record_conversion() -> None:
    exception = GenericComplexObject()
    exception.types = ["Deserialized.Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"]
    exception.adapted_properties = {"Message": "The operation couldn't be performed because object 'zed' couldn't be found on 'DC01'."}
    record = types.SimpleNamespace(
        exception=exception, details_message=None, message=None, fq_error="6A8B,Microsoft.Exchange.GetMailbox",
        category=13, reason="ManagementObjectNotFoundException", target_object="zed",
    )
    err = _error_from_record(record)
    assert err.exception_type == "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
    assert err.category == "ObjectNotFound" and err.target == "zed" and "zed" in err.message
    assert err.error_id.endswith("GetMailbox")


def _mailbox(alias: str) -> PSObject:
    return PSObject(["Mailbox"], {"Alias": alias, "Identity": alias})


def test_match_items_by_target_and_by_quoted_identity() -> None:
    items = ["alice", "bob", "carol", "dave"]
    result = PSResult(
        output=[_mailbox("alice"), _mailbox("carol")],
        errors=[
            PSError("not found", target="BOB"),
            PSError("The operation couldn't be performed because object 'dave' couldn't be found on 'DC01'."),
        ],
    )
    outcomes = match_items(items, result, key=lambda o: o.get("Alias"))
    assert [o.ok for o in outcomes] == [True, False, True, False]
    assert outcomes[0].output[0]["Alias"] == "alice"
    assert "dave" in outcomes[3].message


def test_unattributed_errors_fail_items_without_output() -> None:
    result = PSResult(output=[_mailbox("a")], errors=[PSError("something vague")])
    outcomes = match_items(["a", "b"], result, key=lambda o: o.get("Alias"))
    assert [o.ok for o in outcomes] == [True, False]


def test_outputs_match_identity_properties_without_a_key() -> None:
    smtp = PSObject(["Mailbox"], {"Alias": "alice", "PrimarySmtpAddress": "alice@contoso.com"})
    result = PSResult(output=[smtp, _mailbox("bob")])
    outcomes = match_items(["ALICE@contoso.com", "bob", "carol"], result)
    assert [len(o.output) for o in outcomes] == [1, 1, 0]
    assert all(o.ok for o in outcomes)  # no error names carol; without a key that is not a failure
