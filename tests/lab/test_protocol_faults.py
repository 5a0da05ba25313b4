"""Latency, injected transient faults, the per-user shell quota and the audit log."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from pypsrp.complex_objects import ObjectMeta
from pypsrp.exceptions import WinRMTransportError, WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from hybridkit.lab._types import LabSecureString
from tests.lab.fake_engine import FakeEngine


def _pool(handle: Any, **wsman: Any) -> RunspacePool:
    return RunspacePool(WSMan(**handle.wsman_kwargs(**wsman)), configuration_name="Microsoft.Exchange")


def _get_date(pool: RunspacePool) -> list[Any]:
    ps = PowerShell(pool)
    ps.add_cmdlet("Get-Date")
    return ps.invoke()


def test_latency_is_added_to_every_request(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine(), latency_ms=120)
    with _pool(handle) as pool:
        before = len(handle.audit_records("request"))
        start = time.perf_counter()
        _get_date(pool)
        elapsed = time.perf_counter() - start
        requests_made = len(handle.audit_records("request")) - before
    assert requests_made >= 2  # Command + at least one Receive
    assert elapsed >= 0.12 * requests_made


def test_injected_503_server_busy(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine(), fault_rate=1.0, fault_kinds=("busy",))
    with pytest.raises(WinRMTransportError) as info:
        _pool(handle).open()
    assert info.value.code == 503
    assert "The service is unavailable" in info.value.response_text
    assert handle.audit_records("request")[0]["fault"] == "injected:busy"


def test_injected_quota_fault_has_winrm_message(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine(), fault_rate=1.0, fault_kinds=("quota",))
    with pytest.raises(WSManFaultError) as info:
        _pool(handle).open()
    assert info.value.code == 2150859173  # ERROR_WSMAN_QUOTA_MAX_SHELLS (2150859174 is the operations quota)
    assert "This user is allowed a maximum number of" in info.value.reason


def test_injected_throttling_error_on_prem_is_exchanges_runspace_budget(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine(), fault_rate=1.0, fault_kinds=("throttle",))
    with pytest.raises(WSManFaultError) as info:
        _pool(handle).open()
    assert ("[FailureCategory=AuthZ-AuthorizationException] Fail to create a runspace because you have exceeded the "
            "maximum number of connections allowed : 18 for the policy party : MaxConcurrency. Please close existing "
            "runspace and try again.") in info.value.reason


def test_injected_throttling_online_fails_the_first_connect_with_exchange_onlines_budget(lab_factory: Any) -> None:
    """The jump host's shell opens; its first Connect-ExchangeOnline meets Exchange Online's runspace budget (the
    transport injects the fault, the engine's Connect-ExchangeOnline reports it: the seam between them)."""
    handle = lab_factory(org="demo", fault_rate=1.0, fault_kinds=("throttle",), fault_limit=1, throttle_wait=5)
    creds = {"AppId": handle.online_app_id, "CertificateThumbprint": handle.online_certificate_thumbprint,
             "Organization": handle.online_organization}
    with RunspacePool(WSMan(**handle.wsman_kwargs("online")), configuration_name="Microsoft.PowerShell") as pool:
        for attempt in ("throttled", "connected"):
            ps = PowerShell(pool)
            ps.add_cmdlet("Connect-ExchangeOnline")
            for name, value in creds.items():
                ps.add_parameter(name, value)
            ps.invoke()
            if attempt == "throttled":
                assert ps.had_errors and ps.streams.error
                message = str(ps.streams.error[-1].exception.adapted_properties.get("Message")
                              or ps.streams.error[-1].message)
                assert ("[FailureCategory=AuthZ-AuthorizationException] Fail to create runspace because you have "
                        "exceeded your budget to create runspace. Please wait for 5 seconds.") in message
            else:
                assert not ps.had_errors, [str(e) for e in ps.streams.error]
    assert [r["fault"] for r in handle.audit_records("request") if r.get("fault")] == ["injected:throttle"]


def test_injected_dropped_connection(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine(), fault_rate=1.0, fault_kinds=("drop",))
    with pytest.raises(requests.exceptions.ConnectionError):
        _pool(handle).open()


def test_fault_rate_hits_only_some_requests_and_clean_pools_still_work(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine(), fault_rate=0.3, fault_kinds=("busy",), fault_seed=7)
    successes = failures = 0
    for _ in range(12):
        try:
            with _pool(handle) as pool:
                assert _get_date(pool)
            successes += 1
        except WinRMTransportError as exc:
            assert exc.code == 503
            failures += 1
    assert successes and failures


def test_max_shells_per_user(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine(), max_shells=2)
    first, second = _pool(handle), _pool(handle)
    first.open()
    second.open()
    third = _pool(handle)
    with pytest.raises(WSManFaultError) as info:
        third.open()
    # on-prem Exchange 2013+ counts the user's runspaces against its PowerShellMaxConcurrency budget
    assert "exceeded the maximum number of connections allowed : 2 for the policy party : MaxConcurrency" in (
        info.value.reason)
    first.close()
    third = _pool(handle)
    third.open()
    assert _get_date(third)
    third.close()
    second.close()
    assert handle.server.service.open_shell_count() == 0


def test_audit_records_requests_and_pipelines_with_secrets_redacted(lab_factory: Any) -> None:
    engine = FakeEngine()
    handle = lab_factory(engine=engine)
    with _pool(handle) as pool:
        pool.exchange_keys()
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing").add_parameter("Identity", "alice").add_parameter("Password", "hunter2")
        ps.add_parameter("Credential", pool.serialize("s3cret-SS", ObjectMeta("SS")))
        ps.invoke()
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing")
        ps.invoke(["a", "b", "bad-c"])
    commands, _ = engine.calls[0]
    assert dict(commands[0].parameters)["Credential"] == LabSecureString("s3cret-SS")
    text = handle.audit_path.read_text()
    assert "hunter2" not in text and "s3cret-SS" not in text
    actions = [r["action"] for r in handle.audit_records("request")]
    assert actions[0] == "Create" and actions[-1] == "Delete"
    assert {"Command", "Receive", "Send", "Signal"} & set(actions) >= {"Command", "Receive", "Send"}
    first, second = handle.audit_records("pipeline")
    assert first["endpoint"] == "onprem" and first["user"] == handle.username
    assert first["cmdlets"] == ["Get-Thing"]
    assert first["parameters"] == [[["Identity", "alice"], ["Password", "****"], ["Credential", "****"]]]
    assert first["input_count"] == 0 and first["outcome"] == "completed"
    assert second["input_count"] == 3 and second["outputs"] == 2 and second["errors"] == 1
    assert all(r["shell"] for r in handle.audit_records("request"))


def test_abandoned_shells_expire_after_their_idle_timeout(lab_factory: Any) -> None:
    engine = FakeEngine()
    handle = lab_factory(engine=engine, max_shells=1)
    abandoned = RunspacePool(WSMan(**handle.wsman_kwargs()), configuration_name="Microsoft.Exchange", idle_timeout=1)
    abandoned.open()
    with pytest.raises(WSManFaultError):
        _pool(handle).open()  # the quota still counts the abandoned shell
    time.sleep(1.3)
    with _pool(handle) as pool:
        assert _get_date(pool)
    assert engine.closed[0].shell_id == abandoned.id.upper()
    with pytest.raises(WSManFaultError) as info:
        _get_date(abandoned)
    assert "the shell was not found on the server" in info.value.reason


def test_lost_reply_the_pipeline_runs_but_its_answer_never_arrives(lab_factory: Any) -> None:
    engine = FakeEngine()
    handle = lab_factory(engine=engine, fault_rate=1.0, fault_kinds=("lost-reply",), fault_limit=1)
    pool = _pool(handle)
    pool.open()  # the pool's own Receive is never the lost one: only a Receive that completes a pipeline
    with pytest.raises(requests.exceptions.ConnectionError):
        _get_date(pool)
    assert len(engine.calls) == 1  # it ran
    [record] = handle.audit_records("pipeline")
    assert record["cmdlets"] == ["Get-Date"] and record["outcome"] == "completed"
    lost = [r for r in handle.audit_records("request") if r.get("fault") == "injected:lost-reply"]
    assert len(lost) == 1 and lost[0]["action"] == "Receive" and lost[0]["command"]
    with _pool(handle) as fresh:  # the cap reached: service is clean again
        assert _get_date(fresh)


def test_audit_records_each_piped_identity(lab_factory: Any) -> None:
    from pypsrp.complex_objects import GenericComplexObject

    handle = lab_factory(engine=FakeEngine())
    with _pool(handle) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing")
        ps.invoke(["alice", "bob", "bad-c"])
        by_identity = GenericComplexObject()
        by_identity.types = ["System.Management.Automation.PSCustomObject", "System.Object"]
        by_identity.extended_properties = {"Identity": "contoso.com/Users/Ann", "Department": "Sales"}
        by_address = GenericComplexObject()
        by_address.types = ["System.Management.Automation.PSCustomObject", "System.Object"]
        by_address.extended_properties = {"PrimarySmtpAddress": "ben@contoso.com", "Notes": "x" * 500}
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing")
        ps.invoke([by_identity, by_address])
    strings, objects = handle.audit_records("pipeline")
    assert strings["inputs"] == ["alice", "bob", "bad-c"] and strings["input_count"] == 3
    assert objects["inputs"] == ["contoso.com/Users/Ann", "ben@contoso.com"]  # compact: the identity, not the object
    assert "x" * 100 not in handle.audit_path.read_text()
