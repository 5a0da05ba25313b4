"""End to end against the lab with the real Exchange engine: the installed CLI, the bridge, the journal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from hybridkit.cli import app  # noqa: E402
from hybridkit.config import resolve_connection  # noqa: E402
from hybridkit.journal import Journal, StepState  # noqa: E402
from hybridkit.ps import Command, Pipeline  # noqa: E402
from hybridkit.ps._pypsrp import PypsrpSession  # noqa: E402
from hybridkit.runner import Step, open_run  # noqa: E402

from foundation_kit import isolated, lab_profile, restore_logging, write_lab_config  # noqa: E402,F401

runner = CliRunner()


def _aliases(handle: Any, limit: int) -> list[str]:
    with PypsrpSession(resolve_connection(lab_profile(handle)), max_pools=1) as session:
        listed = session.run(Pipeline.of(Command.of("Get-Mailbox", ResultSize="Unlimited"),
                                         Command.of("Select-Object", Property=["Alias"]))).output
    return [str(m.get("Alias")) for m in listed][:limit]


def test_connect_test_over_http_json(lab: Any, tmp_path: Path) -> None:
    config = write_lab_config(tmp_path, lab)
    before = len(lab.audit_records("pipeline"))
    result = runner.invoke(app, ["--config", str(config), "-o", "json", "connect", "test"])
    assert result.exit_code == 0, result.output
    # The data diet: every read ends in Select-Object with exactly the columns shown.
    reads = [(p["cmdlets"], p["parameters"][-1]) for p in lab.audit_records("pipeline")[before:]]
    assert reads == [(["Get-OrganizationConfig", "Select-Object"], [["Property", ["Name"]]]),
                     (["Get-ExchangeServer", "Select-Object"],
                      [["Property", ["Name", "AdminDisplayVersion", "ServerRole"]]])]
    data = json.loads(result.stdout)
    assert data["endpoint"] == lab.onprem_url and data["configuration"] == "Microsoft.Exchange"
    assert data["organization"] and data["servers"] and data["round_trip_ms"] > 0
    assert data["account"] == lab.username
    assert lab.password not in result.output


def test_connect_test_over_https_validates_the_ca(lab_factory: Any, tmp_path: Path, restore_logging: None) -> None:  # noqa: F811
    handle = lab_factory(tls=True)
    config = write_lab_config(tmp_path, handle)
    result = runner.invoke(app, ["--config", str(config), "-v", "connect", "test"])
    assert result.exit_code == 0, result.output
    assert "https://127.0.0.1" in result.stdout and "CA bundle" in result.stdout
    assert handle.password not in result.stdout and handle.password not in result.stderr


def test_online_profile_connects_exchange_online_first(lab_factory: Any, tmp_path: Path) -> None:
    handle = lab_factory()
    config = write_lab_config(tmp_path, handle, endpoint="online")
    result = runner.invoke(app, ["--config", str(config), "-o", "json", "connect", "test"])
    assert result.exit_code == 0, result.output
    pipelines = handle.audit_records("pipeline")
    assert pipelines[0]["cmdlets"] == ["Connect-ExchangeOnline"]
    assert pipelines[0]["endpoint"] == "online"


def test_per_item_errors_with_get_mailbox(lab_factory: Any) -> None:
    handle = lab_factory(org="synthetic:1000")
    identities = _aliases(handle, 1000)
    assert len(identities) == 1000
    bad = {3: "no-such-user-1", 640: "no-such-user-2", 999: "no-such-user-3"}
    for pos, name in bad.items():
        identities[pos] = name
    with PypsrpSession(resolve_connection(lab_profile(handle))) as session:
        # Only the Alias comes back (the data diet): what is proven is the per-item matching over 1,000 items.
        outcomes = session.run_items(Pipeline.of(Command.of("Get-Mailbox"), Command.of("Select-Object",
                                                                                       Property=["Alias"])),
                                     identities, key=lambda o: o.get("Alias"))
    failed = {n for n, o in enumerate(outcomes) if not o.ok}
    assert failed == set(bad)
    assert all("couldn't be found" in outcomes[n].message for n in failed)
    assert all(o.output and o.output[0]["Alias"] == o.item for o in outcomes if o.ok)


def test_journaled_steps_against_the_lab(lab: Any, tmp_path: Path) -> None:
    aliases = _aliases(lab, 3) + ["no-such-user"]
    steps = [Step(key=f"get:{a}", target=a, command=Command.of("Get-Mailbox", Identity=a)) for a in aliases]
    path = tmp_path / "journal.sqlite"
    with Journal(path) as journal, PypsrpSession(resolve_connection(lab_profile(lab))) as session:
        with open_run(journal, "demo", "fp", steps, argv=["pytest"], profile="lab") as run:
            report = run.apply(session)
        run_id = run.run_id
        assert [s.state for s in journal.steps(run_id)] == [StepState.DONE] * 3 + [StepState.FAILED]
    assert len(report.failed) == 1
    shown = runner.invoke(app, ["-o", "json", "journal", "show", run_id, "--journal", str(path)])
    assert shown.exit_code == 0
    data = json.loads(shown.stdout)
    assert data["status"] == "failed" and data["items"][3]["error_class"] == "ManagementObjectNotFoundException"
    assert lab.password.encode() not in path.read_bytes()


def test_demo_runs_end_to_end(isolated: Path) -> None:  # noqa: F811
    workdir = isolated / "demo-files"
    result = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["-o", "json", "demo", "--workdir", str(workdir)])
    assert result.exit_code == 0, result.output
    # Commands printed for pasting stay one line at 80 columns (the story goes to stderr under -o json).
    pasted = [line for line in result.stderr.splitlines()
              if "Set-ClientAccessService" in line or line.startswith("$ hybridkit")]
    assert any("-AutoDiscoverServiceInternalUri $null" in line for line in pasted), result.stderr
    assert any(line.endswith("--report hold.xlsx") for line in pasted) and len(pasted) >= 4
    assert "…" not in result.stderr  # tables wrap, never crop
    data = json.loads(result.stdout)
    steps = {item["step"]: item for item in data["items"]}
    summary = steps["Organisation summary"]["result"]
    assert summary["mailboxes"] >= 300 and summary["servers"] and summary["databases"]
    assert data["summary"] == {"done": len(data["items"])} and len(data["items"]) >= 7
    # --workdir keeps what the steps wrote: the crawl, the plan made from it, the hold report, the backup.
    plan = json.loads((workdir / "plan" / "plan.json").read_text(encoding="utf-8"))
    assert sum(len(b["mailboxes"]) for b in plan["batches"]) == summary["mailboxes"]
    assert (workdir / "inventory" / "manifest.json").is_file() and (workdir / "hold.xlsx").is_file()
    again = runner.invoke(app, ["demo", "--workdir", str(workdir)])
    assert again.exit_code == 2 and "not empty" in again.output


def test_connect_test_rides_out_injected_transient_faults(lab_factory: Any, tmp_path: Path) -> None:
    handle = lab_factory(fault_rate=0.3, fault_seed=2, fault_kinds=("busy", "drop", "quota"))
    config = write_lab_config(tmp_path, handle)
    result = runner.invoke(app, ["--config", str(config), "-o", "json", "connect", "test"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["organization"]
    injected = [r for r in handle.audit_records("request") if str(r.get("fault") or "").startswith("injected")]
    assert injected, "no fault was injected; raise the rate or change the seed"


def test_wrong_password_is_one_clear_error_and_not_retried(lab_factory: Any, tmp_path: Path) -> None:
    handle = lab_factory()
    config = write_lab_config(tmp_path, handle)
    ready = tmp_path / "lab-ready.json"
    data = json.loads(ready.read_text())
    data["password"] = "wrong-password"
    ready.write_text(json.dumps(data))
    result = runner.invoke(app, ["--config", str(config), "connect", "test"])
    assert result.exit_code == 1
    assert "authentication failed" in result.stderr.lower() and "Traceback" not in result.output
    assert "wrong-password" not in result.output
    assert len(handle.audit_records("request")) <= 1  # refused once, never retried


def test_verbose_is_hybridkits_log_and_vv_adds_the_protocols(lab: Any, tmp_path: Path,
                                                              restore_logging: None) -> None:  # noqa: F811
    """-v must not write every WSMan envelope (66 MB for a 1,000-mailbox hold): that is -vv/--debug-protocol."""
    config = write_lab_config(tmp_path, lab)
    logs = {}
    for flags in (["-v"], ["-vv"], ["--debug-protocol"]):
        result = runner.invoke(app, ["--config", str(config), *flags, "connect", "test"])
        assert result.exit_code == 0, result.output
        logs[flags[0]] = result.stderr
    assert "hybridkit.ps: opening runspace pool" in " ".join(logs["-v"].split())
    assert "pypsrp" not in logs["-v"] and "psrpcore" not in logs["-v"] and "spnego" not in logs["-v"]
    for protocol in (logs["-vv"], logs["--debug-protocol"]):
        assert "pypsrp." in protocol and len(protocol) > 20 * len(logs["-v"])
    assert lab.password not in "".join(logs.values())
