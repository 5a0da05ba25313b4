"""Completing 2,000 mailboxes: hybridkit's chunked pipelines versus the one-mailbox-at-a-time two-cmdlet loop.

Starts a lab (synthetic org, Exchange Online endpoint, 20 ms injected latency per WSMan request), creates two
started batches (2,000 mailboxes, plus a sample for the loop), lets the lab clock run until they are synced, then:

* hybridkit: read readiness (``Get-MoveRequest -BatchName | Get-MoveRequestStatistics | Select-Object`` with the
  five columns it uses) and complete through pipeline input in chunks (``Set-MoveRequest ...`` then
  ``Resume-MoveRequest``), journaled;
* loop: ``Set-MoveRequest -Identity X ...`` and ``Resume-MoveRequest -Identity X``, one pipeline each per mailbox,
  as the usual ``foreach`` script does. The loop runs on ``--loop-sample`` mailboxes (default 100) and is scaled
  to 2,000 (it is linear: every mailbox costs the same two pipelines); ``--loop-sample 2000`` measures it all.

Usage: python bench/cutover.py [--mailboxes 2000] [--latency-ms 20] [--loop-sample 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hybridkit.config import lab_profile_from_ready
from hybridkit.cutover import (
    READINESS_COLUMNS,
    CompletionMethod,
    CreateOptions,
    PlannedBatch,
    create_batches,
    plan_create,
    read_moves,
    run_completion,
)
from hybridkit.journal import Journal
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT, seed_migration
from hybridkit.lab.server import LabOptions, LabServer
from hybridkit.ps import Command
from hybridkit.sides import connect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--loop-sample", type=int, default=100)
    parser.add_argument("--chunk-size", type=int, default=500)
    args = parser.parse_args()
    n, sample = args.mailboxes, min(args.loop_sample, args.mailboxes)

    with tempfile.TemporaryDirectory(prefix="hk-bench-cutover-") as tmp, \
            LabServer(LabOptions(port=0, org=f"synthetic:{int((n + sample) * 1.2) + 50}",
                                 latency_ms=args.latency_ms, time_scale=1.0)) as lab:
        org = lab.engine.org  # type: ignore[attr-defined]
        seed_migration(org)
        org.online.settings["lab_move_faults"] = {}  # no seeded failures in the benchmark
        users = sorted(str(r["PrimarySmtpAddress"]).lower() for r in org.onprem.recipients.values()
                       if r.get("RecipientTypeDetails") == "UserMailbox")
        ours, loop = users[:n], users[n:n + sample]
        profile = lab_profile_from_ready("bench", lab.ready_info(), endpoint="online")
        session = connect(profile)
        try:
            plan = plan_create([PlannedBatch("Bench-Chunked", tuple(ours)), PlannedBatch("Bench-Loop", tuple(loop))],
                               {})
            created = create_batches(session, plan, CreateOptions(
                DEFAULT_ENDPOINT, "contoso.mail.onmicrosoft.com", start=True))
            assert all(b.outcome == "created" for b in created.batches) and not created.failed, created.batches
            org.clock.advance(7 * 24 * 3600)  # a week of syncing: every move is Synced
            # The lab replays that week lazily on its next command; a real server did it as it went: not timed.
            session.run(Command.of("Get-MoveRequest", ResultSize=1))

            with Journal(Path(tmp) / "journal.sqlite") as journal:
                r0, t0 = session.request_count, time.perf_counter()
                moves = read_moves(session, batches=["Bench-Chunked"], columns=READINESS_COLUMNS)
                outcome = run_completion(session, journal, ours, moves, method=CompletionMethod.MOVEREQUEST,
                                                at=org.clock.now(), chunk_size=args.chunk_size)
                ours_time, ours_requests = time.perf_counter() - t0, session.request_count - r0
            assert len(outcome.sent) == n and not outcome.send_failed, (len(outcome.sent), outcome.send_failed)

            at = org.clock.now()
            r0, t0 = session.request_count, time.perf_counter()
            for mailbox in loop:
                session.run(Command.of("Set-MoveRequest", Identity=mailbox, SuspendWhenReadyToComplete=False,
                                       PreventCompletion=False, CompleteAfter=at))
                session.run(Command.of("Resume-MoveRequest", Identity=mailbox))
            loop_time, loop_requests = time.perf_counter() - t0, session.request_count - r0
        finally:
            session.close()

    scale = n / sample
    loop_time_n, loop_requests_n = loop_time * scale, loop_requests * scale
    print(f"Completing {n:,} synced mailboxes, {args.latency_ms:g} ms injected latency per WSMan request")
    print(f"  hybridkit (readiness + chunks of {args.chunk_size}):  {ours_requests:>8,} requests  {ours_time:8.2f} s")
    label = "measured" if sample == n else f"{sample} measured, scaled x{scale:g}"
    print(f"  loop, 2 pipelines per mailbox ({label}):  {loop_requests_n:>8,.0f} requests  {loop_time_n:8.2f} s")
    req_ratio, time_ratio = loop_requests_n / max(1, ours_requests), loop_time_n / max(1e-9, ours_time)
    print(f"  ratio: {req_ratio:.1f}x fewer requests (target >= 100x), {time_ratio:.1f}x less time (target >= 40x)")
    print("  targets " + ("met" if req_ratio >= 100 and time_ratio >= 40 else "NOT met"))


from cutover_failures import main as failures_main  # noqa: E402  (the failures-listing line; its own module)

if __name__ == "__main__":
    main()
    failures_main()
