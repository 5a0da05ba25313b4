"""The lab's objects against real Exchange output: Microsoft's CSS-Exchange captures (tests/lab/captures).

For each vendored capture, the lab's object for the same cmdlet, serialised exactly as the lab sends it, has the
capture's type names, the same property names in the same order, and the same CLIXML kind for every property
(values may differ). Kinds follow what Exchange's remote endpoint sends (``tests/lab/_captures.py``).
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from hybridkit.lab.exchange.engine import ExchangeEngine
from hybridkit.lab.exchange.objects import mailbox_server_object
from hybridkit.lab.exchange.shapes import shape
from tests.lab._captures import capture_shape, kind_problems, lab_wire_shape
from tests.lab._engine_kit import cmd, online, onprem, run
from tests.lab.shape_gaps import CAPTURED

CMDLETS = {
    "ExchangeServer": "Get-ExchangeServer",
    "AcceptedDomain": "Get-AcceptedDomain",
    "OrganizationConfig": "Get-OrganizationConfig",
    "HybridConfiguration": "Get-HybridConfiguration",
    "ReceiveConnector": "Get-ReceiveConnector",
    "SendConnector": "Get-SendConnector",
}


@pytest.fixture(scope="module")
def engine() -> ExchangeEngine:
    return ExchangeEngine.create("demo", time_scale=0.0, raise_internal_errors=True)


def _lab_objects(engine: ExchangeEngine, key: str) -> list:
    if key == "MailboxServer":  # built from the server record; Get-MailboxServer's handler is lab-core's
        return [mailbox_server_object(r) for r in engine.org.onprem.collection("ExchangeServer").values()]
    out = run(engine, onprem(), cmd(CMDLETS[key])).out
    if key in ("AcceptedDomain", "OrganizationConfig"):
        out += run(engine, online(engine), cmd(CMDLETS[key])).out
    return out


@pytest.mark.parametrize("key", sorted(CAPTURED))
def test_lab_objects_have_the_captured_properties_and_kinds(engine: ExchangeEngine, key: str) -> None:
    real = capture_shape(*CAPTURED[key])
    objects = _lab_objects(engine, key)
    assert objects, f"the lab returns no {key}"
    for obj in objects:
        assert obj.type_names == real.type_names
        lab = lab_wire_shape(obj)
        assert lab.names == real.names
        assert kind_problems(lab, real, dict(shape(key).kinds)) == []


@pytest.mark.parametrize("key", sorted(CAPTURED))
def test_declared_kinds_match_every_non_null_captured_kind(key: str) -> None:
    real = capture_shape(*CAPTURED[key])
    declared = shape(key)
    assert list(declared.names) == real.names
    assert {n: k for n, k in real.kinds.items() if k is not None and declared.kinds[n] != k} == {}


def test_dates_guids_and_lists_arrive_as_datetime_guid_and_list(engine: ExchangeEngine) -> None:
    server = run(engine, onprem(), cmd("Get-ExchangeServer", Identity="EX01")).out[0]
    assert isinstance(server.get("WhenCreated"), dt.datetime) and server.get("WhenCreated").tzinfo is not None
    assert isinstance(server.get("WhenChangedUTC"), dt.datetime)
    assert isinstance(server.get("Guid"), uuid.UUID)
    assert isinstance(server.get("ObjectClass"), list) and isinstance(server.get("NetworkAddress"), list)
    connector = run(engine, onprem(), cmd("Get-SendConnector")).out[0]
    assert connector.get("AddressSpaces") and all(isinstance(a, str) for a in connector.get("AddressSpaces"))
    assert connector.get("MaxMessageSize") == "35 MB (36,700,160 bytes)"
