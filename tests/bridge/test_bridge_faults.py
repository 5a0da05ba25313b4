"""The bridge against the lab's real faults: a lost reply (the command ran, the answer never came), Exchange
Online's runspace budget with its "Please wait for N seconds", Exchange 2013+'s MaxConcurrency refusal, and
Connect-ExchangeOnline's AADSTS700027 for a certificate the app does not know."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lab"))
from fake_engine import FakeEngine  # noqa: E402

from hybridkit.cli import app  # noqa: E402
from hybridkit.config import lab_profile_from_ready, resolve_connection  # noqa: E402
from hybridkit.errors import AuthError  # noqa: E402
from hybridkit.ps import Command  # noqa: E402
from hybridkit.ps._pypsrp import PypsrpSession  # noqa: E402
from hybridkit.ps import RetryPolicy  # noqa: E402

FAST_RETRY = RetryPolicy(attempts=5, initial_wait=0.01, max_wait=0.05, jitter=0.01, total_seconds=30)


def _session(handle: Any, endpoint: str = "onprem", ready: dict[str, Any] | None = None, **options: Any) -> PypsrpSession:
    info = ready or handle.server.ready_info()
    return PypsrpSession(resolve_connection(lab_profile_from_ready("lab", info, endpoint=endpoint)),
                         retry=FAST_RETRY, **options)


def _pipelines(handle: Any, cmdlet: str) -> list[dict[str, Any]]:
    return [r for r in handle.audit_records("pipeline") if cmdlet in r.get("cmdlets", [])]


def test_a_lost_reply_is_retried_and_a_naive_resend_runs_the_command_twice(lab_factory: Any) -> None:
    engine = FakeEngine()
    handle = lab_factory(engine=engine, fault_rate=1.0, fault_kinds=("lost-reply",), fault_limit=1)
    with _session(handle) as session:
        result = session.run(Command.of("Get-Thing", Identity="alice"))
        pools = session.pools_opened
    assert result.output[0]["Name"] == "alice"  # the bridge retried on a fresh pool and got an answer
    assert pools == 2
    lost = [r for r in handle.audit_records("request") if r.get("fault") == "injected:lost-reply"]
    assert len(lost) == 1 and lost[0]["action"] == "Receive"
    runs = _pipelines(handle, "Get-Thing")
    # The command ran to completion twice: the first answer was lost, the re-send ran it again. Harmless for a
    # read; for a change it is a duplicate, which is why callers re-check live state before re-sending a step.
    assert [r["outcome"] for r in runs] == ["completed", "completed"]
    assert len(engine.calls) == 2


def test_a_lost_reply_to_a_change_means_the_resend_meets_the_first_send(lab_factory: Any) -> None:
    handle = lab_factory(org="demo", fault_rate=1.0, fault_kinds=("lost-reply",), fault_limit=1)
    new = Command.of("New-AcceptedDomain", Name="fabrikam.example", DomainName="fabrikam.example",
                     DomainType="InternalRelay")
    with _session(handle) as session:
        again = session.run(new)  # the bridge's re-send of the step: Exchange says the first one worked
        assert again.output == [] and "already exists" in again.errors[0].message
        live = session.run(Command.of("Get-AcceptedDomain", Identity="fabrikam.example"))
    assert [o["DomainType"] for o in live.output] == ["InternalRelay"]  # created once, by the lost attempt
    assert [(r["outcome"], r["errors"]) for r in _pipelines(handle, "New-AcceptedDomain")] == [
        ("completed", 0), ("completed", 1)]


def test_exchange_online_budget_wait_is_honoured(lab_factory: Any) -> None:
    handle = lab_factory(org="demo", fault_rate=1.0, fault_kinds=("throttle",), fault_limit=1, throttle_wait=1)
    started = time.monotonic()
    with _session(handle, endpoint="online") as session:
        result = session.run(Command.of("Get-AcceptedDomain"))
        assert session.pools_opened == 2 and session.pools_retired == 0  # a wait, not a lower ceiling
    elapsed = time.monotonic() - started
    assert result.output
    assert elapsed >= 1.0  # Exchange asked for 1 second; the policy's own backoff is 0.01 s
    connects = _pipelines(handle, "Connect-ExchangeOnline")
    assert [r["outcome"] for r in connects] == ["failed", "completed"]
    assert "Please wait for 1 seconds." in connects[0]["error"]


def test_exchange_2013_plus_refuses_a_runspace_over_maxconcurrency_and_the_bridge_adapts(lab_factory: Any) -> None:
    engine = FakeEngine()
    handle = lab_factory(engine=engine, max_shells=2)
    slow = Command.of("Get-Slow", Count=2, Delay=0.05)
    with _session(handle, max_pools=3, chunk_size=10) as session:
        outcomes = session.run_items(slow, [f"u{i}" for i in range(60)])
        assert session.pools_retired == 1
    assert all(o.ok for o in outcomes)
    refusals = [r for r in handle.audit_records("request") if r.get("fault") == "w:InternalError"]
    assert refusals and all(r["action"] == "Create" for r in refusals)


def test_an_unknown_certificate_is_aadsts700027_in_one_line(lab_factory: Any, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    handle = lab_factory(org="demo")
    ready = dict(handle.server.ready_info())
    wrong = handle.server.engine.online_app["unregistered_certificate_thumbprint"]
    ready["online_certificate_thumbprint"] = wrong
    with pytest.raises(AuthError) as info:
        with _session(handle, endpoint="online", ready=ready) as session:
            session.open()
    message = str(info.value)
    assert message.startswith("Connect-ExchangeOnline failed: AADSTS700027: Client assertion contains an invalid "
                              "signature. [Reason - The key was not found., Thumbprint of key used by client: "
                              f"'{wrong}'")
    assert "\n" not in message and "\r" not in message and "Trace ID: " in message
    # and as a person sees it: `connect test` against an online profile, one line on stderr, exit 1
    ready_file = tmp_path / "ready.json"
    ready_file.write_text(json.dumps(ready))
    config = tmp_path / "hybridkit.toml"
    config.write_text(f'[profiles.online]\nkind = "lab"\nready_file = "{ready_file.as_posix()}"\nendpoint = "online"\n')
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(app, ["--config", str(config), "-p", "online", "connect", "test"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "AADSTS700027" in line]
    assert len(lines) == 1 and f"Thumbprint of key used by client: '{wrong}'" in lines[0]


def test_the_audit_shows_which_mailboxes_a_resend_acted_on_twice(lab_factory: Any) -> None:
    from collections import Counter

    from hybridkit.ps import Pipeline

    handle = lab_factory(org="demo", fault_rate=1.0, fault_kinds=("lost-reply",), fault_limit=1)
    engine = handle.server.engine
    aliases = sorted(r["Alias"] for r in engine.org.onprem.recipients.values()
                     if r["RecipientTypeDetails"] == "UserMailbox")[:6]
    change = Pipeline.of(Command.of("Get-Mailbox"), Command.of("Set-Mailbox", CustomAttribute3="wave-1"))
    with _session(handle, max_pools=1, chunk_size=3) as session:
        outcomes = session.run_items(change, aliases)
    assert all(o.ok for o in outcomes)
    sent = Counter(i for r in _pipelines(handle, "Set-Mailbox") if r["outcome"] == "completed" for i in r["inputs"])
    twice = sorted(a for a, n in sent.items() if n == 2)
    assert len(twice) == 3 and set(sent) == set(aliases)  # the chunk whose answer was lost ran twice, per mailbox
