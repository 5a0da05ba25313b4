"""Completion waves in cutover: ``complete --wave`` (a wave's users wherever their sync batch is), ``status --plan``
(per wave: its sync batches, synced / completing / completed / failed, ready), and the 100-batch limit path of
``bench/waves.py`` at a size that takes seconds (the lab's MaxNumberOfBatches lowered)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from hybridkit.batches import PlanLayout, Wave  # noqa: E402
from hybridkit.batches import Batch as PlanBatch  # noqa: E402
from hybridkit.cli import app  # noqa: E402
from hybridkit.cutover._model import MoveState, ObservedBatch, ObservedUser, StatusSnapshot  # noqa: E402
from hybridkit.cutover._waves import mailbox_stage, wave_progress  # noqa: E402
from hybridkit.errors import CommandFailed  # noqa: E402
from hybridkit.lab import InProcessSession  # noqa: E402
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT, seed_migration  # noqa: E402
from hybridkit.lab.exchange.orgs import build_org  # noqa: E402
from hybridkit.ps import Command  # noqa: E402
from hybridkit.ps import _pypsrp as bridge  # noqa: E402
from tests.cutover._labkit import online_config  # noqa: E402

TDD = "contoso.mail.onmicrosoft.com"
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
BENCH = Path(__file__).resolve().parents[2] / "bench" / "waves.py"
LIMIT_TEXT = ("The maximum number of migration batches is already running. Please remove a batch before you add "
              "another one")


def _cli(config: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(config), *args], catch_exceptions=False)


def _users(org: Any, count: int) -> list[str]:
    return sorted(str(r["PrimarySmtpAddress"]).lower() for r in org.onprem.recipients.values()
                  if r.get("RecipientTypeDetails") == "UserMailbox")[:count]


def _write_plan(folder: Path, waves: dict[str, tuple[str, list[str]]]) -> Path:
    """plan.json with completion waves packed into sync batches: ``{wave: (sync batch, mailboxes)}``."""
    batches: dict[str, list[str]] = {}
    for wave, (sync, members) in waves.items():
        batches.setdefault(sync, []).extend(members)
    held = {s: [w for w, (b, _) in waves.items() if b == s] for s in batches}
    doc = {"batches": [{"name": s, "mailboxes": sorted(m), "waves": held[s]} for s, m in batches.items()],
           "waves": [{"name": w, "sync_batch": s, "mailboxes": m} for w, (s, m) in waves.items()]}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan.json").write_text(json.dumps(doc))
    return folder


# ---------------------------------------------------------------- pure: a mailbox's stage, a wave's state


def test_mailbox_stage_reads_move_and_migration_user() -> None:
    def move(status: str, detail: str = "", after: dt.datetime | None = None) -> MoveState:
        return MoveState("a@contoso.com", status, detail, complete_after=after)

    user = ObservedUser("a@contoso.com", "Sync-1", "Synced")
    assert mailbox_stage(move("Synced"), user, NOW) == "synced"
    assert mailbox_stage(move("Synced", after=NOW + dt.timedelta(days=3)), user, NOW) == "synced"  # scheduled later
    assert mailbox_stage(move("Synced", after=NOW - dt.timedelta(minutes=1)), user, NOW) == "completing"
    assert mailbox_stage(move("InProgress", "IncrementalSync", NOW), user, NOW) == "completing"  # resumed to complete
    assert mailbox_stage(move("InProgress", "IncrementalSync"), user, NOW) == "synced"
    assert mailbox_stage(move("InProgress", "CopyingMessages"), user, NOW) == "syncing"
    assert mailbox_stage(move("CompletionInProgress"), user, NOW) == "completing"
    assert mailbox_stage(move("CompletedWithWarning"), user, NOW) == "completed"
    assert mailbox_stage(move("Failed"), user, NOW) == "failed"
    assert mailbox_stage(None, ObservedUser("a@contoso.com", "Sync-1", "Failed", "no such user"), NOW) == "failed"
    assert mailbox_stage(None, ObservedUser("a@contoso.com", "Sync-1", "Queued"), NOW) == "syncing"
    assert mailbox_stage(None, None, NOW) == "not-found"


def test_wave_progress_counts_each_wave_where_its_users_sync() -> None:
    layout = PlanLayout(
        (PlanBatch("Sync-1", ("a@c.com", "b@c.com", "c@c.com"), 0, waves=("W1", "W2")),
         PlanBatch("Sync-2", ("d@c.com", "e@c.com"), 0, waves=("W3",))),
        (Wave("W1", ("a@c.com", "b@c.com"), "Sync-1"), Wave("W2", ("c@c.com",), "Sync-1"),
         Wave("W3", ("d@c.com", "e@c.com"), "Sync-2")))
    users = (ObservedUser("a@c.com", "Sync-1", "Synced"), ObservedUser("b@c.com", "Sync-1", "Synced"),
             ObservedUser("c@c.com", "Sync-1", "Completed"),
             ObservedUser("d@c.com", "Elsewhere", "Synced"),  # created in another batch first
             ObservedUser("d@c.com", "Sync-2", "Failed", "UserDuplicateInOtherBatchException"))
    moves = {"a@c.com": MoveState("a@c.com", "Synced"), "b@c.com": MoveState("b@c.com", "Synced"),
             "c@c.com": MoveState("c@c.com", "Completed"), "d@c.com": MoveState("d@c.com", "Synced")}
    snapshot = StatusSnapshot((ObservedBatch("Sync-1", "Synced", (), users[:3]),
                               ObservedBatch("Sync-2", "SyncedWithErrors", (), users[4:]),
                               ObservedBatch("Elsewhere", "Synced", (), users[3:4])), moves, NOW)
    w1, w2, w3 = wave_progress(layout, snapshot)
    assert (w1.sync_batches, w1.count("synced"), w1.ready, w1.state) == (("Sync-1",), 2, True, "ready")
    assert (w2.count("completed"), w2.ready, w2.state) == (1, False, "completed")
    assert w3.sync_batches == ("Elsewhere",) and w3.count("synced") == 1 and w3.count("not-found") == 1
    assert (w3.ready, w3.state) == (False, "syncing")
    assert [w.wave for w in wave_progress(layout, snapshot, ["sync-2"])] == ["W3"]  # --batch: only its waves


# ---------------------------------------------------------------- the CLI against a lab


@pytest.fixture
def wave_lab(lab_factory, tmp_path):
    handle = lab_factory(org="demo", time_scale=0.0)
    org = handle.server.engine.org
    org.online.settings["lab_move_faults"] = {}
    members = _users(org, 40)[20:40]
    plan = _write_plan(tmp_path / "plan", {
        "Wave-A": ("Sync-1", members[0:4]), "Wave-B": ("Sync-1", members[4:10]),
        "Wave-C": ("Sync-2", members[10:13] + ["nobody@contoso.com"]), "Wave-D": ("Sync-2", members[13:20]),
    })
    config = online_config(tmp_path, handle)
    created = _cli(config, "cutover", "create", str(plan), "--endpoint", DEFAULT_ENDPOINT,
                   "--target-delivery-domain", TDD, "--start")
    assert created.exit_code == 1 and "nobody@contoso.com" in created.output  # Exchange fails the unknown user
    org.clock.advance(7 * 24 * 3600.0)
    return org, config, plan, members


def test_complete_wave_sends_only_its_users_and_status_shows_waves(wave_lab, tmp_path) -> None:
    org, config, plan, members = wave_lab
    status = json.loads(_cli(config, "-o", "json", "cutover", "status", "--plan", str(plan)).output)
    waves = {w["wave"]: w for w in status["waves"]}
    assert set(waves) == {"Wave-A", "Wave-B", "Wave-C", "Wave-D"} and status["items"]  # batches as before
    assert waves["Wave-A"] == {"wave": "Wave-A", "sync_batches": ["Sync-1"], "planned_batch": "Sync-1",
                               "mailboxes": 4, "syncing": 0, "synced": 4, "completing": 0, "completed": 0,
                               "failed": 0, "not_found": 0, "ready": True, "state": "ready"}
    assert (waves["Wave-C"]["failed"], waves["Wave-C"]["ready"], waves["Wave-C"]["state"]) == (1, False, "failed")

    what_if = _cli(config, "cutover", "complete", "--wave", "wave-b", "--plan", str(plan), "--what-if")
    assert what_if.exit_code == 0, what_if.output
    text = what_if.output.replace("\n", "")
    assert all(m in text for m in members[4:10]) and not any(m in text for m in members[:4] + members[10:])
    assert "Set-MoveRequest" in text and "# CompleteAfter" in what_if.output

    journal = str(tmp_path / "journal.sqlite")
    at = ("--at", org.clock.now().isoformat(), "--allow-past")
    done = _cli(config, "-o", "json", "cutover", "complete", "--wave", "Wave-B", "--plan", str(plan), *at,
                "--journal", journal)
    assert done.exit_code == 0, done.output
    doc = json.loads(done.output)
    assert sorted(i["mailbox"] for i in doc["items"]) == members[4:10] and doc["summary"] == {"sent": 6}
    assert doc["method"] == "moverequest" and doc["run_id"]
    sent = [e["identity"] for e in org.online.settings.get("lab_migration_audit", [])
            if e["event"] == "Set-MoveRequest"]
    assert sorted(sent) == members[4:10]  # nobody else in Sync-1 was touched

    # A wave with a user Exchange does not have: reported as today (no move request), the others completed.
    other = _cli(config, "-o", "json", "cutover", "complete", "--wave", "Wave-C", "--plan", str(plan), *at,
                 "--method", "migrationuser", "--journal", journal)
    assert other.exit_code == 1
    rows = {i["mailbox"]: i for i in json.loads(other.output)["items"]}
    assert rows["nobody@contoso.com"]["outcome"] == "not-found"
    assert {rows[m]["outcome"] for m in members[10:13]} == {"sent"}

    org.clock.advance(2 * 3600.0)
    after = json.loads(_cli(config, "-o", "json", "cutover", "status", "--plan", str(plan), "--batch",
                            "Sync-1").output)
    waves = {w["wave"]: w for w in after["waves"]}
    assert set(waves) == {"Wave-A", "Wave-B"}  # --batch Sync-1: its waves
    assert (waves["Wave-B"]["completed"], waves["Wave-B"]["state"]) == (6, "completed")
    assert (waves["Wave-A"]["synced"], waves["Wave-A"]["state"]) == (4, "ready")  # its batch-mates untouched
    table = _cli(config, "cutover", "status", "--plan", str(plan))
    assert table.exit_code == 0 and "Completion waves" in table.output
    assert "Wave-B" in table.output and "nobody@contoso.com" in table.output  # Exchange's failure, in full


def test_complete_wave_refuses_an_unknown_wave_or_a_missing_plan(wave_lab, tmp_path, monkeypatch) -> None:
    org, config, plan, _ = wave_lab
    unknown = _cli(config, "cutover", "complete", "--wave", "Wave-Z", "--plan", str(plan))
    assert unknown.exit_code == 2
    assert "no wave 'Wave-Z' in the plan (waves: Wave-A, Wave-B, Wave-C, Wave-D)" in unknown.output
    assert "plan.json" in unknown.output
    monkeypatch.chdir(tmp_path / "plan")  # plan.json here: found without --plan
    here = _cli(config, "cutover", "complete", "--wave", "Wave-A", "--what-if")
    assert here.exit_code == 0, here.output
    monkeypatch.chdir(tmp_path)
    missing = _cli(config, "cutover", "complete", "--wave", "Wave-A")
    assert missing.exit_code == 2 and "--wave needs the plan" in missing.output and "--plan DIR" in missing.output
    nowhere = _cli(config, "cutover", "complete", "--wave", "Wave-A", "--plan", str(tmp_path / "none"))
    assert nowhere.exit_code == 2 and "no plan.json here" in nowhere.output
    both = _cli(config, "cutover", "complete", "--wave", "Wave-A", "--batch", "Sync-1", "--plan", str(plan))
    assert both.exit_code == 2 and "exactly one of --batch, --mailbox, --from-file or --wave" in both.output
    alone = _cli(config, "cutover", "complete", "--batch", "Sync-1", "--plan", str(plan))
    assert alone.exit_code == 2 and "--plan goes with --wave" in alone.output
    assert not [e for e in org.online.settings.get("lab_migration_audit", []) if e["event"] == "Set-MoveRequest"]


# ---------------------------------------------------------------- the batch limit


def test_lab_refuses_the_101st_migration_batch_in_exchanges_words() -> None:
    org = build_org("synthetic:130", time_scale=0.0)
    seed_migration(org)
    users = _users(org, 101)
    online = InProcessSession(org, "online")
    config = online.run(Command.of("Get-MigrationConfig")).output[0]
    assert config.get("MaxNumberOfBatches") == 100
    for number, user in enumerate(users[:100]):
        made = online.run(Command.of("New-MigrationBatch", Name=f"B{number:03d}", SourceEndpoint=DEFAULT_ENDPOINT,
                                     TargetDeliveryDomain=TDD, CSVData=f"EmailAddress\r\n{user}\r\n".encode()))
        assert not made.errors
    with pytest.raises(CommandFailed) as refused:
        online.run(Command.of("New-MigrationBatch", Name="B100", SourceEndpoint=DEFAULT_ENDPOINT,
                              TargetDeliveryDomain=TDD, CSVData=f"EmailAddress\r\n{users[100]}\r\n".encode()))
    assert LIMIT_TEXT in str(refused.value)
    assert len(org.online.collection("MigrationBatch")) == 100 and "B100" not in org.online.collection("MigrationBatch")


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_waves", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_waves"] = module
    spec.loader.exec_module(module)
    return module


def test_waves_bench_path_fits_a_lowered_batch_limit_end_to_end(tmp_path, monkeypatch) -> None:
    """bench/waves.py's path (plan, create, sync, status --plan, complete two waves of different sync batches,
    the limit) at 800 mailboxes with the lab's MaxNumberOfBatches at 4.

    The bridge's Receive pacing (up to a second at a pipeline's end, for fuller envelopes) is off here: it trades
    time for requests, which the benchmark measures; this test is about the path.
    """
    monkeypatch.setattr(bridge, "RECEIVE_PACE_MAX", 0.0)
    bench = _bench()
    result = bench.run(800, tmp_path, max_mailboxes=10, max_batches=4, sync_batches=2)
    assert len(result.plan["batches"]) == 2 and len(result.plan["waves"]) > 40
    assert result.created["summary"] == {"batches": {"created": 2}, "mailboxes": {"created": 800}}
    assert {w["state"] for w in result.before["waves"]} == {"ready"}
    first, second = result.chosen
    after = {w["wave"]: w for w in result.after["waves"]}
    assert after[first]["sync_batches"] != after[second]["sync_batches"]
    for name, doc in zip(result.chosen, result.completed):
        wave = next(w for w in result.plan["waves"] if w["name"] == name)
        assert sorted(i["mailbox"] for i in doc["items"]) == sorted(wave["mailboxes"])
        assert doc["summary"] == {"sent": len(wave["mailboxes"])}
        assert (after[name]["completed"], after[name]["state"]) == (len(wave["mailboxes"]), "completed")
    rest = [w for w in after.values() if w["wave"] not in result.chosen]
    assert {w["state"] for w in rest} == {"ready"}  # their sync batches' other waves: synced, not completed
    assert result.batches_at_end == 4 and LIMIT_TEXT in result.refused_text
    assert "keeps at most 4" in result.refused_create and "Nothing was created" in result.refused_create
    steps = {s.name: s for s in result.steps}
    assert steps["cutover status --plan"].pipelines <= 5  # read per batch, never per mailbox
