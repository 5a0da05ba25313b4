"""The bridge against a real lab server over loopback (the protocol side with a small test engine).

These run the unmodified pypsrp client through ``PypsrpSession`` against ``LabServer``: per-item errors
through pipeline input, HTTPS with CA validation, retries of injected transient faults, no retries of permanent
errors, the pool ceiling, and secrets kept out of logs.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import foundation_kit  # noqa: F401 - puts tests/lab on sys.path
from fake_engine import FakeEngine

from hybridkit.config import resolve_connection
from hybridkit.errors import AuthError, CommandFailed
from hybridkit.ps import Command, Secret
from hybridkit.ps._pypsrp import PypsrpSession
from hybridkit.ps import RetryPolicy

from foundation_kit import lab_profile

FAST_RETRY = RetryPolicy(attempts=8, initial_wait=0.01, max_wait=0.05, jitter=0.01, total_seconds=30)


def _session(handle: Any, **options: Any) -> PypsrpSession:
    return PypsrpSession(resolve_connection(lab_profile(handle)), **options)


def _pipelines(handle: Any, cmdlet: str) -> list[dict[str, Any]]:
    return [r for r in handle.audit_records("pipeline") if cmdlet in r.get("cmdlets", [])]


def test_per_item_errors_through_chunked_pipeline_input(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine())
    items = [f"user{i:04d}" for i in range(1000)]
    bad = {17: "bad-17", 500: "bad-500", 999: "bad-999"}
    for pos, name in bad.items():
        items[pos] = name
    with _session(handle, max_pools=2, chunk_size=250) as session:
        progress: list[int] = []
        outcomes = session.run_items(Command.of("Get-Thing"), items, key=lambda o: o.get("Name"),
                                     on_progress=progress.append)
        requests = session.request_count
    assert [o.item for o in outcomes] == items
    failed = {n: o for n, o in enumerate(outcomes) if not o.ok}
    assert set(failed) == set(bad)
    for pos, outcome in failed.items():
        assert f"object '{bad[pos]}' couldn't be found" in outcome.message
        assert outcome.errors[0].exception_type.endswith("ManagementObjectNotFoundException")
        assert outcome.errors[0].target == bad[pos]
    good = outcomes[0]
    assert good.output[0]["Name"] == "user0000" and good.output[0]["EmailAddresses"][0] == "SMTP:user0000@contoso.com"
    assert sum(progress) == 1000 and len(progress) == 4
    pipelines = _pipelines(handle, "Get-Thing")
    assert sorted(p["input_count"] for p in pipelines) == [250, 250, 250, 250]  # one pipeline per chunk
    assert requests < 60


def test_https_with_ca_validation(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine(), tls=True)
    profile = lab_profile(handle)
    assert profile.https and profile.ca_bundle == handle.ca_path
    with PypsrpSession(resolve_connection(profile)) as session:
        assert session.run(Command.of("Write-Echo", Value="über ‘quoted’")).output == ["über ‘quoted’"]
    # Without the lab's CA the certificate is refused, as an authentication failure that is not retried.
    untrusted = lab_profile(handle, ca_bundle=None)
    with PypsrpSession(resolve_connection(untrusted), retry=FAST_RETRY) as session:
        with pytest.raises(AuthError, match="certificate"):
            session.open()
    assert session.request_count == 1


def test_transient_faults_are_retried_on_fresh_pools(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine(), fault_rate=0.15, fault_seed=7)
    items = [f"u{i}" for i in range(400)]
    with _session(handle, max_pools=2, chunk_size=50, retry=FAST_RETRY) as session:
        outcomes = session.run_items(Command.of("Get-Thing"), items, key=lambda o: o.get("Name"))
        pools = session.pools_opened
    assert all(o.ok for o in outcomes) and len(outcomes) == 400
    injected = [r for r in handle.audit_records("request") if str(r.get("fault", "")).startswith("injected")]
    assert injected, "the lab injected no faults; the test proves nothing"
    assert pools > 2  # a failed pool is replaced, not reused


def test_permanent_errors_are_not_retried(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine())
    with _session(handle, retry=FAST_RETRY) as session:
        with pytest.raises(CommandFailed, match="boom"):
            session.run(Command.of("Fail-Now"))
        with pytest.raises(CommandFailed, match="is not recognized"):
            session.run(Command.of("Get-Nothing"))
    assert len(_pipelines(handle, "Fail-Now")) == 1
    assert len(_pipelines(handle, "Get-Nothing")) == 1


def test_concurrency_stays_under_the_shell_limit(lab_factory: Any) -> None:
    engine = FakeEngine()
    handle = lab_factory(engine=engine, max_shells=3)
    items = [f"u{i}" for i in range(240)]
    slow = Command.of("Get-Slow", Count=3, Delay=0.05)  # each chunk's pipeline takes ~0.15 s in the engine
    with _session(handle, max_pools=3, chunk_size=20) as session:
        outcomes = session.run_items(slow, items)
        assert session.pools_opened == 3
    assert all(o.ok for o in outcomes)
    assert engine.max_running >= 2  # chunks really ran side by side
    assert engine.max_running <= 3
    assert len({s.shell_id for s in engine.sessions}) == 3
    refused = [r for r in handle.audit_records("request") if "fault" in r and r["fault"]]
    assert refused == []  # never hit the lab's shell quota


def test_secrets_never_reach_the_logs(lab_factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    handle = lab_factory(engine=FakeEngine())
    caplog.set_level(logging.DEBUG)
    secret = "S3cr3t-Value-Never-Logged"
    with _session(handle) as session:
        result = session.run(Command.of("Get-Thing", Identity="svc", Password=Secret(secret)))
    assert result.output[0]["Name"] == "svc"
    assert caplog.records, "debug logging was captured"
    assert secret not in caplog.text
    assert handle.password not in caplog.text
    assert secret not in handle.audit_path.read_text()


def test_ntlm_with_message_encryption_over_http(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine(), auth="ntlm")
    connection = resolve_connection(lab_profile(handle))
    assert connection.auth == "ntlm" and connection.encryption == "auto" and not connection.ssl
    items = ["alice", "bad-bob", "carol"]
    with PypsrpSession(connection, max_pools=2, chunk_size=1) as session:
        outcomes = session.run_items(Command.of("Get-Thing"), items, key=lambda o: o.get("Name"))
    assert [o.ok for o in outcomes] == [True, False, True]


def test_a_refused_shell_lowers_the_pool_ceiling_instead_of_failing(lab_factory: Any) -> None:
    engine = FakeEngine()
    handle = lab_factory(engine=engine, max_shells=2)  # the user may hold only 2 shells; we would like 4
    slow = Command.of("Get-Slow", Count=2, Delay=0.05)
    with _session(handle, max_pools=4, chunk_size=10, retry=FAST_RETRY) as session:
        outcomes = session.run_items(slow, [f"u{i}" for i in range(120)])
        assert session.pools_retired == 2
    assert len(outcomes) == 120 and all(o.ok for o in outcomes)
    assert engine.max_running <= 2


def test_an_idle_pool_is_replaced_not_reused(lab_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import hybridkit.ps._pypsrp as bridge

    handle = lab_factory(engine=FakeEngine())
    with _session(handle, max_pools=1) as session:
        session.run(Command.of("Write-Echo", Value="a"))
        session.run(Command.of("Write-Echo", Value="b"))
        assert session.pools_opened == 1
        monkeypatch.setattr(bridge, "IDLE_REUSE_SECONDS", -1.0)
        assert session.run(Command.of("Write-Echo", Value="c")).output == ["c"]
        assert session.pools_opened == 2


def test_receives_are_paced_to_come_back_fuller(lab_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long pipeline's output comes in fewer, fuller Receives when the client waits for an envelope's worth."""
    import hybridkit.ps._pypsrp as bridge
    from hybridkit.ps import Pipeline

    handle = lab_factory(org="synthetic:600", latency_ms=5)
    with _session(handle, max_pools=1) as session:
        listed = session.run(Pipeline.of(Command.of("Get-Mailbox", ResultSize="Unlimited"),
                                         Command.of("Select-Object", Property=["Identity"]))).output
        ids = [str(m.get("Identity")) for m in listed]
    stats = Pipeline.of(Command.of("Get-MailboxStatistics"),
                        Command.of("Select-Object", Property=["TotalItemSize", "ItemCount", "MailboxGuid"]))
    receives, outputs = {}, {}
    for pace in (0.0, bridge.RECEIVE_PACE_MAX):
        monkeypatch.setattr(bridge, "RECEIVE_PACE_MAX", pace)
        before = len(handle.audit_records("request"))
        with _session(handle, max_pools=1) as session:
            outputs[pace] = [str(o.get("MailboxGuid")) for o in session.run(stats, ids).output]
        receives[pace] = sum(1 for r in handle.audit_records("request")[before:] if r["action"] == "Receive")
    assert outputs[0.0] == outputs[bridge.RECEIVE_PACE_MAX] and len(outputs[0.0]) == 600
    # Measured 5 unpaced and 3 paced on a quiet machine, 3 and 3 with both cores busy (a slow reader's envelopes fill
    # anyway): pacing never costs a Receive; what it saves is bench/inventory.py's figure, receive_delay's arithmetic
    # is tested below.
    assert receives[bridge.RECEIVE_PACE_MAX] <= receives[0.0], receives


def test_receive_pacing_counts_the_wait_before_asking_in_the_fill_rate() -> None:
    """A 250 KB answer that filled over 0.5 s of waiting plus a 0.1 s request: 375 KB wants 0.8 s more, not 0.05 s
    (the rate taken over the request alone made a faster reader ask sooner and get emptier envelopes)."""
    from hybridkit.ps._pypsrp import RECEIVE_PACE_MAX, receive_delay

    assert receive_delay(250_000, 375_000, interval=0.1, window=0.6) == pytest.approx(0.8)
    assert receive_delay(250_000, 375_000, interval=0.1, window=0.1) == pytest.approx(0.05)  # no wait before it
    assert receive_delay(400_000, 375_000, interval=0.1, window=0.6) == 0.0  # full enough already
    assert receive_delay(1_000, 375_000, interval=0.1, window=0.6) == RECEIVE_PACE_MAX  # never over the cap
