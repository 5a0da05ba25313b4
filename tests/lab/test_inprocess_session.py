"""InProcessSession: the PSSession over the lab engine with no transport gives what the bridge over the lab gives."""

from __future__ import annotations

import datetime as dt
import inspect
import re
import threading
import time
import uuid
from typing import Any

import pytest

from hybridkit.config import lab_profile_from_ready, resolve_connection
from hybridkit.errors import AuthError, CommandFailed, TransportError
from hybridkit.lab import InProcessSession
from hybridkit.lab.exchange.engine import ExchangeEngine
from hybridkit.lab.exchange.org import Org, Side, VirtualClock
from hybridkit.lab.exchange.orgs import build_org
from hybridkit.ps import Command, ItemOutcome, Pipeline, PSError, PSObject, PSSession, Secret, Switch
from hybridkit.ps._pypsrp import PypsrpSession
from hybridkit.runner import RetryPolicy
from tests.lab.fake_engine import FakeEngine

_REQUEST = re.compile(r"^\[Server=[^\]]*\] ")  # Exchange's per-request prefix: a new RequestId and time each call
ONPREM = ["bjorn.x.jones", "nobody.here", "mallory.i.rossi", "BJORN.X.JONES", "ghost@contoso.com"]


def _bridge(handle: Any, endpoint: str) -> PypsrpSession:
    profile = lab_profile_from_ready("lab", handle.server.ready_info(), endpoint=endpoint)
    return PypsrpSession(resolve_connection(profile), retry=RetryPolicy(attempts=1))


def _error(error: PSError) -> tuple[Any, ...]:
    return (error.message, _REQUEST.sub("", error.error_id), error.category, error.reason, error.target,
            error.exception_type)


def _outcomes(outcomes: list[ItemOutcome]) -> list[tuple[Any, ...]]:
    return [(o.item, o.status, o.output, [_error(e) for e in o.errors]) for o in outcomes]


def _failure(session: Any, command: Command | Pipeline) -> CommandFailed:
    with pytest.raises(CommandFailed) as info:
        session.run(command)
    return info.value


@pytest.mark.parametrize("key", [None, "Alias"])
def test_per_item_outcomes_equal_the_bridges_over_the_lab(lab: Any, key: str | None) -> None:
    """The same items through the same pipeline: one outcome per item, the same outputs and errors, in order."""
    columns = ["Alias", "PrimarySmtpAddress", "WhenCreated", "ExchangeGuid"]
    read = Pipeline.of(Command.of("Get-Mailbox"), Command.of("Select-Object", Property=columns))
    match = (lambda o: o.get(key)) if key else None
    with _bridge(lab, "onprem") as bridge:
        expected = bridge.run_items(read, ONPREM, chunk_size=2, key=match)
    got = InProcessSession(lab.server.engine, "onprem").run_items(read, ONPREM, chunk_size=2, key=match)
    assert _outcomes(got) == _outcomes(expected)
    assert [o.ok for o in got] == [True, False, True, True, False]
    assert "couldn't be found" in got[1].message and isinstance(got[0].output[0].get("WhenCreated"), dt.datetime)


def test_a_chunk_that_fails_as_a_whole_fails_each_item_as_the_bridge_says(lab: Any) -> None:
    bogus = Command.of("Get-Mailbox", Bogus=True)
    with _bridge(lab, "onprem") as bridge:
        expected = bridge.run_items(bogus, ONPREM[:3], chunk_size=2)
    got = InProcessSession(lab.server.engine, "onprem").run_items(bogus, ONPREM[:3], chunk_size=2)
    assert _outcomes(got) == _outcomes(expected)
    assert got[0].message == "A parameter cannot be found that matches parameter name 'Bogus'."


@pytest.mark.parametrize(("endpoint", "command"), [
    ("onprem", Command.of("Get-AcceptedDomain")),
    ("onprem", Command.of("Get-MailboxDatabase")),
    ("onprem", Command.of("Get-Mailbox", Identity="nobody.here")),
    ("online", Command.of("Get-MigrationEndpoint")),
    ("online", Pipeline.of(Command.of("Get-EXORecipient", ResultSize=5),
                           Command.of("Select-Object", Property=["Name", "RecipientTypeDetails", "WhenChanged"]))),
    ("online", Command.of("Get-OrganizationConfig")),
])
def test_outputs_and_errors_equal_the_bridges(lab: Any, endpoint: str, command: Command | Pipeline) -> None:
    with _bridge(lab, endpoint) as bridge:
        expected = bridge.run(command)
    got = InProcessSession(lab.server.engine, endpoint).run(command)
    assert got.output == expected.output and got.warnings == expected.warnings
    assert [_error(e) for e in got.errors] == [_error(e) for e in expected.errors]
    assert got.output or got.errors


@pytest.mark.parametrize(("endpoint", "command"), [
    ("onprem", Command.of("Get-Mailbox", Bogus="x")),  # the binder's words
    ("online", Command.of("Get-ExchangeServer")),  # an on-prem cmdlet is "not recognized" on the jump host
    ("online", Command.of("Get-Mailbox", Identity="nobody.here", ErrorAction="Stop")),
])
def test_terminating_errors_raise_what_the_bridge_raises(lab: Any, endpoint: str, command: Command) -> None:
    with _bridge(lab, endpoint) as bridge:
        expected = _failure(bridge, command)
    got = _failure(InProcessSession(lab.server.engine, endpoint), command)
    assert (got.message, got.command, _REQUEST.sub("", got.error_id or "")) == (
        expected.message, expected.command, _REQUEST.sub("", expected.error_id or ""))
    assert str(got) == str(expected) and got.command == command.cmdlet


def test_values_reach_the_engine_as_they_do_over_the_wire(lab_factory: Any) -> None:
    engine = FakeEngine()
    handle = lab_factory(engine=engine)
    when = dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    command = Command.of(
        "Write-Echo", Value="x", On=Switch(), Off=Switch(False), Password=Secret("s3cret"), When=when,
        Changes={"Add": ["a", "b"], "Remove": "c"}, Numbers=[1, 2**40], Ratio=1.5, Guid=uuid.UUID(int=5),
        Bytes=b"\x00\x01", Flag=True, Typed=PSObject(["X.Y", "System.Object"], {"A": 1}, "t"), Empty=[])
    items = ["alice", {"Identity": "bob", "When": when}, PSObject(["Deserialized.Foo", "Foo"], {"Name": "p"}), 7]
    with _bridge(handle, "onprem") as bridge:
        bridge.run(command, items)
    over_wire = engine.calls[-1]
    InProcessSession(engine, "onprem").run(command, items)
    in_process = engine.calls[-1]
    assert in_process[0][0].parameters == over_wire[0][0].parameters
    assert in_process[1] == over_wire[1]
    assert dict(in_process[0][0].parameters)["On"] is None  # a present switch is sent as a bare name


def test_a_datetime_without_a_zone_is_refused_as_the_bridge_refuses_it() -> None:
    session = InProcessSession(build_org("empty"), "onprem")
    with pytest.raises(ValueError, match="must carry a time zone"):
        session.run(Command.of("Get-Mailbox", Identity=dt.datetime(2026, 1, 1)))


def test_online_signs_in_with_connect_exchangeonline_first(lab: Any) -> None:
    with InProcessSession(lab.server.engine, "online") as session:
        info = session.run(Command.of("Get-ConnectionInformation")).output
        assert session.request_count == 2  # the sign-in, then the command
        assert [s.cmdlets for s in session.sent] == ["Get-ConnectionInformation"]
        assert info[0]["AppId"] == lab.online_app_id and info[0]["Organization"] == lab.online_organization
        first = info[0]["ConnectionId"]
    assert session.run(Command.of("Get-ConnectionInformation")).output[0]["ConnectionId"] != first  # a new runspace


def test_a_refused_sign_in_is_an_auth_error_as_the_bridge_reports_it(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = ExchangeEngine(build_org("empty"))
    app = dict(engine.online_app, certificate_thumbprint=engine.online_app["unregistered_certificate_thumbprint"])
    monkeypatch.setattr(ExchangeEngine, "online_app", property(lambda self: app))
    with pytest.raises(AuthError, match=r"^Connect-ExchangeOnline failed: AADSTS700027: Client assertion contains an "
                                         r"invalid signature\. .* Trace ID: "):
        InProcessSession(engine, "online").run(Command.of("Get-AcceptedDomain"))


def test_an_org_built_without_an_app_registration_is_already_connected() -> None:
    online = Side("online", settings={"tenant": "contoso"})
    online.collection("AcceptedDomain")["contoso.com"] = {"Name": "contoso.com", "DomainName": "contoso.com",
                                                          "DomainType": "Authoritative", "Default": True}
    org = Org(Side("onprem", settings={"domain": "contoso.com"}), online,
              VirtualClock(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), scale=0.0))
    session = InProcessSession(org, "online", name="cloud")
    assert [d["DomainName"] for d in session.run(Command.of("Get-AcceptedDomain")).output] == ["contoso.com"]
    assert session.name == "cloud" and session.request_count == 1


def test_before_run_injects_a_failure_before_exchange_acts() -> None:
    org = build_org("empty")
    session = InProcessSession(org, "onprem")
    new = Command.of("New-AcceptedDomain", Name="fabrikam.example", DomainName="fabrikam.example",
                     DomainType="InternalRelay")

    def refuse(sent: Any) -> None:
        if sent.cmdlets == "New-AcceptedDomain":
            raise TransportError("connection reset")

    def domains() -> list[str]:
        return sorted(d["DomainName"] for d in org.onprem.collection("AcceptedDomain").values())

    before = domains()
    session.before_run = refuse
    with pytest.raises(TransportError, match="connection reset"):
        session.run(new)
    assert session.sent[-1].pipeline == Pipeline.of(new) and session.request_count == 0
    assert domains() == before
    session.before_run = None
    assert not session.run(new).errors
    assert domains() == sorted(before + ["fabrikam.example"])


def test_run_items_reports_progress_per_chunk(lab: Any) -> None:
    done: list[int] = []
    outcomes = InProcessSession(lab.server.engine, "onprem").run_items(
        Command.of("Get-Mailbox"), ONPREM, chunk_size=2, on_progress=done.append)
    assert done == [2, 2, 1] and len(outcomes) == 5


def test_it_is_a_psession_with_the_bridges_signatures() -> None:
    session: PSSession = InProcessSession(build_org("empty"), "onprem")  # type-checks as the protocol
    for name in ("run", "run_items", "cancel", "close", "__enter__", "__exit__"):
        assert callable(getattr(session, name))
    assert session.name == "onprem" and session.request_count == 0
    for method in ("run", "run_items"):
        ours = inspect.signature(getattr(InProcessSession, method)).parameters
        bridges = inspect.signature(getattr(PypsrpSession, method)).parameters
        assert [(p.name, p.kind) for p in ours.values()] == [(p.name, p.kind) for p in bridges.values()]


def test_cancel_stops_the_running_pipeline_and_refuses_new_ones() -> None:
    """As the bridge's cancel (Ctrl-C): the thread running a pipeline gets KeyboardInterrupt at its next write."""
    engine = FakeEngine()
    session = InProcessSession(engine, "onprem")
    timer = threading.Timer(0.2, session.cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        session.run(Command.of("Get-Slow", Count=200, Delay=0.02))  # 4 s if nothing stopped it
    assert time.monotonic() - started < 2
    with pytest.raises(KeyboardInterrupt):
        session.run_items(Command.of("Get-Thing"), ["a", "b"])
    assert [s.cmdlets for s in session.sent] == ["Get-Slow", "Get-Thing"] and len(engine.calls) == 1


def test_cancelled_says_whether_the_session_was_cancelled() -> None:
    """A test standing in for a pipeline Exchange is still running waits on it (the lab itself answers at once)."""
    session = InProcessSession(build_org("empty"), "onprem")
    assert session.cancelled is False
    session.cancel()
    assert session.cancelled is True
