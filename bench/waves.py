"""Cutover at real scale: a 100,000-mailbox plan inside Exchange Online's 100 migration batches, end to end.

Exchange Online keeps at most 100 migration batches (Get-MigrationConfig MaxNumberOfBatches) and refuses a 101st
with "The maximum number of migration batches is already running. Please remove a batch before you add another
one". Microsoft's pattern (Exchange Team blog, 19 April 2019) is large batches for the initial sync and completing
users in smaller groups. This runs that pattern through the real CLI (``hybridkit.cli.app``) against a lab
organisation of the same size over loopback WSMan (``LabServer`` in this process; virtual clock):

1. ``batches plan``: the organisation's mailboxes and FullAccess links (teams around shared mailboxes) planned
   into completion waves of at most ``--max-mailboxes``; past 100 waves the planner packs them into sync batches;
2. ``cutover create --start``: one New-MigrationBatch per sync batch (checked against MaxNumberOfBatches first);
3. a week of syncing on the lab clock (the lab replays it on its next command: timed apart, not ours);
4. ``cutover status --plan``: every wave counted per stage, read per batch;
5. ``cutover complete --wave`` twice: two waves of different sync batches, each alone;
6. ``cutover status --plan`` again: those two waves completed, their sync batches' other waves still synced;
7. the batch limit: the lab filled up to MaxNumberOfBatches, then a New-MigrationBatch past it is refused with
   Exchange's words, and ``cutover create`` of one more planned batch is refused before it sends anything.

Prints per step: seconds, WSMan requests and pipelines (the lab server's own counts).

    python bench/waves.py [--mailboxes 100000] [--max-mailboxes 500] [--latency-ms 0]

Measured once (2 shared cores, lab in this process, 0 ms latency; 6 December 2026): 200 waves in 50 sync batches;
plan 4.9 s; create 178 s (365 requests, 105 pipelines: the 50 batches and each one's users read back); status
--plan 146 s (358 requests, 53 pipelines: one Get-MigrationUser, one move read per batch); complete --wave 4.2 s
and 3.9 s (17 requests, 4 pipelines each, 500 mailboxes); the 101st batch refused in Exchange's words; 584 s in
all. Most of status's time was then deserialising 200,000 objects' CLIXML (pypsrp's Serializer, client side).
Again after the fast reader (``hybridkit/ps/_fastread.py``), same machine and day: plan 4.2 s; create 119 s (367
requests); status --plan 93 s (391 requests, 53 pipelines); complete --wave 3.8 s and 3.7 s; 378 s in all. The lab
runs in this process, so its own work (building and serialising the objects) is in every figure.

``run(...)`` is what ``tests/cutover/test_cutover_waves.py`` runs at a few thousand mailboxes with the lab's limit
lowered (its ``migration_max_batches`` setting), so the test and this benchmark walk the same path.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from hybridkit.cli import app
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT, seed_migration
from hybridkit.lab.server import LabOptions, LabServer
from hybridkit.ps import Command
from hybridkit.lab import InProcessSession

TDD = "contoso.mail.onmicrosoft.com"
LIMIT_TEXT = ("The maximum number of migration batches is already running. Please remove a batch before you add "
              "another one")
SPARE = 120  # mailboxes beyond the plan: the filler batches that take the lab up to its limit


@dataclasses.dataclass
class Step:
    name: str
    seconds: float
    requests: int
    pipelines: int
    note: str = ""


@dataclasses.dataclass
class Result:
    """What ``run`` saw: the steps' figures and the documents the CLI printed (tests assert on them)."""

    steps: list[Step] = dataclasses.field(default_factory=list)
    plan: dict[str, Any] = dataclasses.field(default_factory=dict)
    created: dict[str, Any] = dataclasses.field(default_factory=dict)
    before: dict[str, Any] = dataclasses.field(default_factory=dict)
    completed: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    after: dict[str, Any] = dataclasses.field(default_factory=dict)
    chosen: tuple[str, str] = ("", "")
    max_batches: int = 100
    refused_text: str = ""
    refused_create: str = ""
    batches_at_end: int = 0


def _mailboxes(org: Any) -> list[dict[str, Any]]:
    kinds = {"UserMailbox", "SharedMailbox", "RoomMailbox"}
    found = [r for r in org.onprem.recipients.values() if r.get("RecipientTypeDetails") in kinds]
    return sorted(found, key=lambda r: str(r["PrimarySmtpAddress"]).lower())


def write_inputs(folder: Path, mailboxes: list[dict[str, Any]]) -> list[Path]:
    """The planner's inputs as Exchange exports them: the mailbox list, and FullAccess for teams of about 20
    around each shared mailbox (its members hold FullAccess on it: they move with it)."""
    inventory = folder / "mailboxes.csv"
    with inventory.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["DisplayName", "Alias", "PrimarySmtpAddress", "SamAccountName", "RecipientTypeDetails"])
        for r in mailboxes:
            out.writerow([r.get("DisplayName") or r["Alias"], r["Alias"], str(r["PrimarySmtpAddress"]).lower(),
                          r.get("SamAccountName") or r["Alias"], r["RecipientTypeDetails"]])
    users = [str(r["PrimarySmtpAddress"]).lower() for r in mailboxes if r["RecipientTypeDetails"] == "UserMailbox"]
    shared = [str(r["PrimarySmtpAddress"]).lower() for r in mailboxes if r["RecipientTypeDetails"] == "SharedMailbox"]
    fullaccess = folder / "fullaccess.csv"
    with fullaccess.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["Identity", "User", "AccessRights", "IsInherited", "Deny"])
        team = max(1, len(users) // max(1, len(shared)))
        for index, box in enumerate(shared):
            for member in users[index * team:(index + 1) * team][:20]:
                out.writerow([box, member, "FullAccess", "False", "False"])
    return [inventory, fullaccess]


@contextmanager
def _timed(result: Result, server: LabServer, name: str) -> Iterator[Callable[[str], None]]:
    notes: list[str] = []
    r0, p0, t0 = server.audit.request_count, server.audit.pipeline_count, time.perf_counter()
    yield notes.append
    result.steps.append(Step(name, time.perf_counter() - t0, server.audit.request_count - r0,
                             server.audit.pipeline_count - p0, "; ".join(notes)))


def _cli(config: Path, *args: str, expect: tuple[int, ...] = (0,)) -> Any:
    outcome = CliRunner().invoke(app, ["--config", str(config), *args], catch_exceptions=False)
    if outcome.exit_code not in expect:
        raise AssertionError(f"{' '.join(args[:3])}: exit {outcome.exit_code}\n{outcome.output[-3000:]}")
    return outcome


def _json(config: Path, *args: str, expect: tuple[int, ...] = (0,)) -> dict[str, Any]:
    return json.loads(_cli(config, "-o", "json", *args, expect=expect).stdout)


def _config(folder: Path, server: LabServer) -> Path:
    ready = folder / "lab-ready.json"
    ready.write_text(json.dumps(server.ready_info()))
    config = folder / "hybridkit.toml"
    config.write_text('default_profile = "online"\n\n[profiles.online]\nkind = "lab"\n'
                      f'ready_file = "{ready.as_posix()}"\nendpoint = "online"\n')
    return config


def run(mailboxes: int, folder: Path, *, max_mailboxes: int = 500, max_batches: int | None = None,
        sync_batches: int | None = None, latency_ms: float = 0.0, chunk_size: int = 500) -> Result:
    """The whole path at ``mailboxes`` (plus ``SPARE`` for the filler batches), in ``folder``.

    ``max_batches``: lower the lab's MaxNumberOfBatches (``migration_max_batches``) to run the limit at a small
    size; None keeps Exchange Online's 100. ``sync_batches``: ``batches plan --sync-batches`` (None: the planner
    packs on its own past 100 waves).
    """
    result = Result()
    with LabServer(LabOptions(port=0, org=f"synthetic:{mailboxes + SPARE}", latency_ms=latency_ms,
                              time_scale=0.0)) as server:
        org = server.engine.org  # type: ignore[attr-defined]
        seed_migration(org)
        org.online.settings["lab_move_faults"] = {}  # no seeded failures: the scale is what is measured
        if max_batches is not None:
            org.online.settings["migration_max_batches"] = max_batches
        result.max_batches = max_batches or 100
        everyone = _mailboxes(org)
        planned, spare = everyone[:mailboxes], everyone[mailboxes:]
        config = _config(folder, server)
        plan_dir = folder / "plan"

        with _timed(result, server, "batches plan") as note:
            inputs = write_inputs(folder, planned)
            _cli(config, "batches", "plan", *map(str, inputs), "--out", str(plan_dir), "--no-xlsx",
                 "--max-mailboxes", str(max_mailboxes), "--name-prefix", "Wave",
                 *(("--sync-batches", str(sync_batches)) if sync_batches else ()))
            result.plan = json.loads((plan_dir / "plan.json").read_text())
            note(f"{len(result.plan['waves'])} waves in {len(result.plan['batches'])} sync batches")

        with _timed(result, server, "cutover create --start") as note:
            result.created = _json(config, "cutover", "create", str(plan_dir), "--endpoint", DEFAULT_ENDPOINT,
                                   "--target-delivery-domain", TDD, "--start")
            note(f"{result.created['summary']['batches']} / mailboxes {result.created['summary']['mailboxes']}")

        org.clock.advance(7 * 24 * 3600)  # a week of syncing on the lab's clock
        with _timed(result, server, "lab: replay a week of syncing (not hybridkit)"):
            InProcessSession(server.engine, "online").run(Command.of("Get-MoveRequest", ResultSize=1))

        with _timed(result, server, "cutover status --plan") as note:
            result.before = _json(config, "cutover", "status", "--plan", str(plan_dir))
            states: dict[str, int] = {}
            for wave in result.before["waves"]:
                states[wave["state"]] = states.get(wave["state"], 0) + 1
            note(f"waves {states}")

        first, second = _two_waves(result.plan)
        result.chosen = (first, second)
        for wave in (first, second):
            with _timed(result, server, f"cutover complete --wave {wave}") as note:
                # the lab's clock, not this machine's: its synthetic organisation lives on its own date
                doc = _json(config, "cutover", "complete", "--wave", wave, "--plan", str(plan_dir),
                            "--at", org.clock.now().isoformat(), "--allow-past", "--chunk-size", str(chunk_size),
                            "--journal", str(folder / "journal.sqlite"))
                result.completed.append(doc)
                note(f"{doc['summary']}")
        org.clock.advance(2 * 3600)  # the completions finalise
        InProcessSession(server.engine, "online").run(Command.of("Get-MoveRequest", ResultSize=1))

        with _timed(result, server, "cutover status --plan (after)") as note:
            result.after = _json(config, "cutover", "status", "--plan", str(plan_dir))
            note(", ".join(f"{w['wave']} {w['state']}" for w in result.after["waves"] if w["wave"] in result.chosen))

        with _timed(result, server, "the batch limit") as note:
            online = InProcessSession(server.engine, "online")
            existing = len(org.online.collection("MigrationBatch"))
            fillers = spare[:max(0, result.max_batches - existing)]
            for number, box in enumerate(fillers):
                made = online.run(Command.of("New-MigrationBatch", Name=f"Filler-{number:03d}",
                                             SourceEndpoint=DEFAULT_ENDPOINT, TargetDeliveryDomain=TDD,
                                             CSVData=_csv([str(box["PrimarySmtpAddress"]).lower()])))
                assert not made.errors, made.errors
            last = str(spare[len(fillers)]["PrimarySmtpAddress"]).lower()
            try:
                refused = online.run(Command.of("New-MigrationBatch", Name="One-Too-Many",
                                                SourceEndpoint=DEFAULT_ENDPOINT, TargetDeliveryDomain=TDD,
                                                CSVData=_csv([last])))
                result.refused_text = refused.errors[0].message if refused.errors else ""
            except Exception as exc:  # a terminating error: CommandFailed with Exchange's message
                result.refused_text = str(exc)
            extra = folder / "extra"
            extra.mkdir()
            (extra / "plan.json").write_text(json.dumps({"batches": [{"name": "One-More", "mailboxes": [last]}]}))
            refusal = _cli(config, "cutover", "create", str(extra), "--endpoint", DEFAULT_ENDPOINT,
                           "--target-delivery-domain", TDD, expect=(2,))
            result.refused_create = refusal.output
            result.batches_at_end = len(org.online.collection("MigrationBatch"))
            note(f"{result.batches_at_end} batches; the next New-MigrationBatch refused")
    return result


def _csv(addresses: list[str]) -> bytes:
    return ("\r\n".join(["EmailAddress", *addresses]) + "\r\n").encode()


def _two_waves(plan: dict[str, Any]) -> tuple[str, str]:
    """Two waves syncing in different sync batches (the second batch's first wave)."""
    batches = plan["batches"]
    if len(batches) < 2:
        raise AssertionError("the plan has one sync batch: nothing to show across batches")
    return batches[0]["waves"][0], batches[1]["waves"][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--max-mailboxes", type=int, default=500, help="the planner's wave size cap")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--chunk-size", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hk-bench-waves-") as tmp:
        t0 = time.perf_counter()
        result = run(args.mailboxes, Path(tmp), max_mailboxes=args.max_mailboxes, latency_ms=args.latency_ms,
                     chunk_size=args.chunk_size)
        total = time.perf_counter() - t0
    print(f"{args.mailboxes:,} mailboxes, {len(result.plan['waves'])} completion waves in "
          f"{len(result.plan['batches'])} sync batches (Exchange Online's limit: {result.max_batches}); "
          f"{args.latency_ms:g} ms injected latency")
    print(f"  {'step':52} {'seconds':>8} {'requests':>9} {'pipelines':>9}")
    for step in result.steps:
        print(f"  {step.name:52} {step.seconds:8.2f} {step.requests:9,} {step.pipelines:9,}  {step.note}")
    print(f"  total (with the lab's start and org build) {total:.1f} s")
    print(f"  101st batch: {result.refused_text!r}")


if __name__ == "__main__":
    main()
