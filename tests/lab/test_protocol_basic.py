"""The lab's WSMan/PSRP protocol against the plain pypsrp client over HTTP + Basic (fake engine)."""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

import pytest
from pypsrp.complex_objects import GenericComplexObject
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from tests.lab.fake_engine import FakeEngine


def _wait_for(predicate: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def basic_lab(lab_factory: Any, engine: FakeEngine) -> Any:
    return lab_factory(engine=engine)


def _pool(handle: Any, endpoint: str = "onprem", max_runspaces: int = 1, **wsman: Any) -> RunspacePool:
    configuration = "Microsoft.Exchange" if endpoint == "onprem" else "Microsoft.PowerShell"
    return RunspacePool(WSMan(**handle.wsman_kwargs(endpoint, **wsman)), configuration_name=configuration,
                        max_runspaces=max_runspaces)


def test_cmdlet_with_parameters_returns_exchange_typed_objects_and_warnings(basic_lab: Any, engine: FakeEngine) -> None:
    with _pool(basic_lab) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing").add_parameter("Identity", "alice").add_parameter("Warn")
        output = ps.invoke()
    assert len(output) == 1
    mailbox = output[0]
    assert isinstance(mailbox, GenericComplexObject)
    assert mailbox.types[0] == "Microsoft.Exchange.Data.Directory.Management.Mailbox"
    assert mailbox.adapted_properties["Name"] == "alice"
    assert mailbox.adapted_properties["EmailAddresses"][0] == "SMTP:alice@contoso.com"
    # A parameter sent without a value arrives as None (a bare switch and $null are the same Nil on the wire; the
    # real engine's binder decides by the parameter's type); named values keep their names.
    assert mailbox.adapted_properties["Params"] == {"identity": "alice", "warn": None}
    assert mailbox.to_string == "alice"
    assert [w.message for w in ps.streams.warning] == ["By default, only the first 1000 items are returned."]
    assert ps.had_errors is False
    assert [s.endpoint.value for s in engine.sessions] == ["onprem"]
    assert engine.sessions[0].user == basic_lab.username
    assert engine.closed and engine.closed[0].shell_id == engine.sessions[0].shell_id


def test_bad_items_give_one_non_terminating_error_each(basic_lab: Any) -> None:
    items = [f"user{i}" for i in range(1000)]
    items[10] = "bad-one"
    items[500] = "bad-two"
    with _pool(basic_lab) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing")
        output = ps.invoke(items)
    assert len(output) == 998
    assert [o.to_string for o in output[:3]] == ["user0", "user1", "user2"]
    assert ps.had_errors is False  # pypsrp only flags terminating errors
    errors = ps.streams.error
    assert len(errors) == 2
    assert str(errors[0]).startswith("The operation couldn't be performed because object 'bad-one'")
    assert errors[0].fq_error.endswith("Microsoft.Exchange.Management.RecipientTasks.GetMailbox")
    assert errors[0].target_object == "bad-one"
    assert errors[0].reason == "ManagementObjectNotFoundException"
    assert errors[0].exception.types[0].endswith("ManagementObjectNotFoundException")
    pipelines = basic_lab.audit_records("pipeline")
    assert pipelines[-1]["input_count"] == 1000
    assert pipelines[-1]["outputs"] == 998 and pipelines[-1]["errors"] == 2
    # 1,000 items through one pipeline take a handful of WSMan round trips, not one per item.
    requests = [r for r in basic_lab.audit_records("request") if r["command"] == pipelines[-1]["command"]]
    assert 3 <= len(requests) <= 30


def test_terminating_error_fails_the_pipeline(basic_lab: Any) -> None:
    with _pool(basic_lab) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Nonexistent")
        ps.invoke()
        assert ps.had_errors is True
        assert "is not recognized as the name of a cmdlet" in str(ps.streams.error[0])
        # The pool survives a failed pipeline.
        ps2 = PowerShell(pool)
        ps2.add_cmdlet("Write-Echo").add_parameter("Value", 42)
        assert ps2.invoke() == [42]
    assert basic_lab.audit_records("pipeline")[0]["outcome"] == "failed"


def test_scripts_reach_the_engine_flagged_and_are_refused_on_prem(basic_lab: Any) -> None:
    with _pool(basic_lab) as pool:
        ps = PowerShell(pool)
        ps.add_script("Get-Process | Stop-Process")
        ps.invoke()
    assert ps.had_errors is True
    assert "no-language mode" in str(ps.streams.error[0])
    assert basic_lab.audit_records("pipeline")[0]["cmdlets"] == ["<script>"]


def test_online_endpoint_opens_microsoft_powershell(basic_lab: Any, engine: FakeEngine) -> None:
    with _pool(basic_lab, endpoint="online") as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Date")
        out = ps.invoke()
    assert out and "2024-01-02" in str(out[0])
    assert engine.sessions[0].endpoint.value == "online"


def test_wrong_configuration_for_path_is_refused(basic_lab: Any) -> None:
    from pypsrp.exceptions import WSManFaultError

    pool = RunspacePool(WSMan(**basic_lab.wsman_kwargs("onprem")), configuration_name="Microsoft.PowerShell")
    with pytest.raises(WSManFaultError) as info:
        pool.open()
    assert "resource URI" in str(info.value.reason)


def test_parameter_and_input_types_round_trip(basic_lab: Any) -> None:
    values = ["text", 7, True, 1.5, ["a", "b"], {"k": "v"}]
    with _pool(basic_lab) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Write-Echo")
        out = ps.invoke(values)
    assert out == values


def test_several_pipelines_run_at_once_and_queue_beyond_max_runspaces(basic_lab: Any, engine: FakeEngine) -> None:
    with _pool(basic_lab, max_runspaces=2) as pool:
        shells = []
        for _ in range(3):
            ps = PowerShell(pool)
            ps.add_cmdlet("Get-Slow").add_parameter("Count", 4).add_parameter("Delay", 0.1)
            ps.begin_invoke()
            shells.append(ps)
        outputs = [ps.end_invoke() for ps in shells]
    assert outputs == [[0, 1, 2, 3]] * 3
    assert engine.max_running == 2


def test_stop_signal_stops_a_running_pipeline(basic_lab: Any) -> None:
    with _pool(basic_lab) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Slow").add_parameter("Count", 10_000).add_parameter("Delay", 0.005)
        ps.begin_invoke()
        ps.poll_invoke()
        ps.stop()
        stopped = _wait_for(lambda: [p for p in basic_lab.audit_records("pipeline") if p["outcome"] == "stopped"])
        assert stopped and stopped[0]["outputs"] < 10_000
        ps2 = PowerShell(pool)
        ps2.add_cmdlet("Write-Echo").add_parameter("Value", "still alive")
        assert ps2.invoke() == ["still alive"]
        ps2.close()  # Signal Terminate on a finished pipeline is accepted
    signals = [r for r in basic_lab.audit_records("request") if r["action"] == "Signal"]
    assert len(signals) == 2 and all(r["status"] == 200 for r in signals)


def test_receive_long_poll_times_out_and_client_repolls(basic_lab: Any) -> None:
    with _pool(basic_lab, operation_timeout=1) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Slow").add_parameter("Count", 2).add_parameter("Delay", 1.6)
        assert ps.invoke() == [0, 1]
    receives = [r for r in basic_lab.audit_records("request") if r["action"] == "Receive"]
    assert any(r["fault"] == "w:TimedOut" and r["status"] == 500 for r in receives)


def test_large_outputs_are_fragmented_within_max_envelope(basic_lab: Any) -> None:
    with _pool(basic_lab, max_envelope_size=51200) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Write-Echo").add_parameter("Value", "x" * 200_000)
        assert ps.invoke() == ["x" * 200_000]


def test_wrong_password_is_refused(basic_lab: Any) -> None:
    from pypsrp.exceptions import AuthenticationError

    pool = RunspacePool(WSMan(**basic_lab.wsman_kwargs(password="wrong")), configuration_name="Microsoft.Exchange")
    with pytest.raises(AuthenticationError):
        pool.open()


def test_an_engine_bug_fails_only_that_pipeline(basic_lab: Any) -> None:
    with _pool(basic_lab) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Crash-Me")
        ps.invoke()
        assert ps.had_errors and "RuntimeError: engine bug" in str(ps.streams.error[0])
        ps = PowerShell(pool)
        ps.add_cmdlet("Write-Echo").add_parameter("Value", "ok")
        assert ps.invoke() == ["ok"]


def test_pools_driven_from_several_threads_at_once(basic_lab: Any, engine: FakeEngine) -> None:
    def worker(n: int) -> list[Any]:
        with _pool(basic_lab) as pool:
            results = []
            for i in range(15):
                ps = PowerShell(pool)
                ps.add_cmdlet("Write-Echo").add_parameter("Value", f"{n}-{i}")
                results.extend(ps.invoke())
            return results

    with concurrent.futures.ThreadPoolExecutor(4) as executor:
        results = list(executor.map(worker, range(4)))
    assert results == [[f"{n}-{i}" for i in range(15)] for n in range(4)]
    assert len({s.shell_id for s in engine.sessions}) == 4
    assert basic_lab.server.service.open_shell_count() == 0
