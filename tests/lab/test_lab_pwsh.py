"""``hybridkit lab pwsh`` as the process of an out-of-process session, against ``hybridkit lab serve`` run as a
process (its socket, its PFX, its JSONL audit): a run through the runner survives its pwsh being killed partway,
each mailbox changed exactly once; and the command's own refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hybridkit.cli import app
from hybridkit.hold._apply import apply_steps, chunk_step
from hybridkit.hold._model import HoldSettings, HoldStep
from hybridkit.journal import Journal, RunStatus
from hybridkit.ps import Command, Connection, OnlineConnect, Pipeline, RetryPolicy, Secret
from hybridkit.ps._outofproc import OutOfProcSession
from hybridkit.runner import open_run
from hybridkit.sides import Side
from tests._labconfig import wait_ready

FAST_RETRY = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.01, total_seconds=60)


@pytest.fixture(scope="module")
def lab_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """``hybridkit -o json lab serve --org demo --audit A --ready-file R`` as a process: (ready file, audit file).

    On the way out: what it printed hides the PFX password, and stopping it removes the PFX and the socket.
    """
    root = tmp_path_factory.mktemp("labpwsh")
    ready, audit = root / "ready.json", root / "audit.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "hybridkit", "--output", "json", "lab", "serve", "--org", "demo",
                             "--audit", str(audit), "--ready-file", str(ready)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        pwsh = wait_ready(ready, proc)["pwsh"]
        yield ready, audit
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    printed = json.loads(out)
    assert printed["pwsh"] == {**pwsh, "certificate_password": "****"}
    assert pwsh["certificate_password"].encode() not in out
    assert not Path(pwsh["certificate_file"]).exists() and not Path(pwsh["socket"]).exists()


def _connection(ready: Path) -> Connection:
    info = json.loads(ready.read_text())
    online = OnlineConnect(info["online_app_id"], "", info["online_organization"],
                           certificate_file=info["pwsh"]["certificate_file"],
                           certificate_password=Secret(info["pwsh"]["certificate_password"]))
    return Connection(profile_name="online", kind="pwsh", server="", port=0, ssl=False, path="", configuration="",
                      auth="", username=None, password=None, cert_validation=True, online=online, max_shells=1,
                      process=(sys.executable, "-m", "hybridkit", "lab", "pwsh", "--ready-file", str(ready)))


class KillsItsProcess(OutOfProcSession):
    """The session a test kills under: after the ``after``-th Set-Mailbox pipeline, its pwsh process is killed."""

    def __init__(self, connection: Connection, after: int, **options: Any) -> None:
        super().__init__(connection, **options)
        self.after, self.seen, self.killed = after, 0, 0

    def _invoke(self, slot: Any, pipeline: Pipeline, input_items: Any, stop: Any = None) -> Any:
        result = super()._invoke(slot, pipeline, input_items, stop)
        if "Set-Mailbox" in [c.cmdlet for c in pipeline.commands]:
            self.seen += 1
            if self.seen == self.after:
                slot.process.proc.kill()
                slot.process.proc.wait(5)
                self.killed += 1
        return result


def _set_mailbox_inputs(audit: Path) -> list[tuple[str, list[str]]]:
    records = [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]
    return [(r["outcome"], [str(i) for i in r["inputs"]]) for r in records
            if r.get("kind") == "pipeline" and "Set-Mailbox" in r.get("cmdlets", [])]


def test_a_pwsh_killed_mid_run_is_replaced_and_each_mailbox_is_changed_once(
        lab_process: tuple[Path, Path], tmp_path: Path) -> None:
    ready, audit = lab_process
    session = KillsItsProcess(_connection(ready), after=2, retry=FAST_RETRY)
    session.open()
    try:
        mailboxes = session.run(Command.of("Get-Mailbox", ResultSize="Unlimited")).output
        licensed = {"BPOS_S_Enterprise", "BPOS_S_ArchiveAddOn", "BPOS_S_Archive"}  # may hold (FIDELITY.md)
        identities = [str(m["Alias"]) for m in mailboxes if not m.get("LitigationHoldEnabled")
                      and licensed & {str(c) for c in m.get("PersistedCapabilities") or []}]
        assert len(identities) >= 5  # three steps or more: the process dies between two of them
        pairs = [tuple(identities[n:n + 2]) for n in range(0, len(identities), 2)]
        steps = [HoldStep(f"online/{k}", Side.ONLINE, pair, ("enable",) * len(pair)) for k, pair in enumerate(pairs)]
        settings = HoldSettings(30, comment="Case 17", duration_given=True)
        with Journal(tmp_path / "journal.sqlite") as journal:
            with open_run(journal, "hold", "pwsh-kill", [chunk_step(s, settings) for s in steps]) as run:
                result = apply_steps(run, settings, {Side.ONLINE: session}, chunk_size=2)
            (record,) = journal.list_runs(kind="hold")
        after = {str(m["Alias"]): m for m in session.run(Command.of("Get-Mailbox", ResultSize="Unlimited")).output}
        processes = session.processes_started
    finally:
        session.close()
    assert session.killed == 1 and processes == 2  # the killed pwsh was replaced by a new one
    assert record.status is RunStatus.COMPLETED and result.steps_sent == len(steps)
    assert result.errors == {Side.ONLINE: {}}
    assert all(after[i]["LitigationHoldEnabled"] is True for i in identities)
    sent = _set_mailbox_inputs(audit)
    assert all(outcome == "completed" for outcome, _ in sent)
    changed = [i for _, inputs in sent for i in inputs]
    assert sorted(changed) == sorted(identities), "each mailbox's Set-Mailbox ran exactly once"


def test_lab_pwsh_refuses_a_ready_file_without_a_running_lab(tmp_path: Path) -> None:
    stale = tmp_path / "ready.json"
    stale.write_text(json.dumps({"pwsh": {"socket": str(tmp_path / "gone.sock")}}))
    result = CliRunner().invoke(app, ["lab", "pwsh", "--ready-file", str(stale)])
    assert result.exit_code == 1 or result.exit_code == 2, result.output
    assert "cannot reach the lab's out-of-process socket" in result.output
    mixed = CliRunner().invoke(app, ["lab", "pwsh", "--ready-file", str(stale), "--org", "demo"])
    assert mixed.exit_code == 2 and "--org and --state are for a standalone one" in mixed.output
