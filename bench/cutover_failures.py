"""Listing migration failures across 2,000 mailboxes: ``cutover failures``' few pipelines versus the per-mailbox
``Get-MoveRequestStatistics`` loop engineers write today.

Starts a lab (synthetic org, Exchange Online endpoint, 20 ms injected latency per WSMan request), marks about 3 %
of the mailboxes with the failures a real cutover meets (bad items, large items, over quota, stalled, skipped
items), starts one batch of 2,000 and lets the lab clock run a week, then:

* hybridkit: ``list_failures`` (two pipelines for the batch, one chunked read of skipped items);
* loop: ``Get-MoveRequestStatistics -Identity X``, one pipeline per mailbox, on ``--loop-sample`` mailboxes
  (default 100) scaled to 2,000 (linear: every mailbox costs the same pipeline).

Target: hybridkit in at most 1/20 of the loop's requests. Run by ``bench/cutover.py`` after its completion figures,
or alone: python bench/cutover_failures.py [--mailboxes 2000] [--latency-ms 20] [--loop-sample 100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from hybridkit.config import lab_profile_from_ready
from hybridkit.cutover._remedy_run import list_failures
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT, seed_migration
from hybridkit.lab.exchange.migration_faults import MoveFault, mark_moves
from hybridkit.lab.server import LabOptions, LabServer
from hybridkit.ps import Command, Switch
from hybridkit.sides import connect

_FAULTS = (MoveFault.BAD_ITEMS, MoveFault.LARGE_ITEMS, MoveFault.QUOTA, MoveFault.STALLED, MoveFault.SKIPPED)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--loop-sample", type=int, default=100)
    args, _ = parser.parse_known_args(argv)
    n, sample = args.mailboxes, min(args.loop_sample, args.mailboxes)

    with LabServer(LabOptions(port=0, org=f"synthetic:{int(n * 1.2) + 50}", latency_ms=args.latency_ms,
                              time_scale=1.0)) as lab:
        org = lab.engine.org  # type: ignore[attr-defined]
        seed_migration(org)
        org.online.settings["lab_move_faults"] = {}
        users = sorted(str(r["PrimarySmtpAddress"]).lower() for r in org.onprem.recipients.values()
                       if r.get("RecipientTypeDetails") == "UserMailbox")[:n]
        marked = users[::33]  # about 3 % of the batch
        for index, mailbox in enumerate(marked):
            mark_moves(org, {mailbox: _FAULTS[index % len(_FAULTS)]}, stall=dt.timedelta(days=30))
        session = connect(lab_profile_from_ready("bench", lab.ready_info(), endpoint="online"))
        try:
            csv = ("EmailAddress\r\n" + "".join(u + "\r\n" for u in users)).encode()
            created = session.run(Command.of("New-MigrationBatch", Name="Bench-Failures", CSVData=csv,
                                             SourceEndpoint=DEFAULT_ENDPOINT, AutoStart=Switch(),
                                             TargetDeliveryDomain="contoso.mail.onmicrosoft.com"))
            assert not created.errors, created.errors
            org.clock.advance(7 * 24 * 3600)
            session.run(Command.of("Get-MoveRequest", ResultSize=1))  # the lab replays the week lazily: not timed

            r0, t0 = session.request_count, time.perf_counter()
            found = list_failures(session, batches=["Bench-Failures"])
            ours_time, ours_requests = time.perf_counter() - t0, session.request_count - r0

            r0, t0 = session.request_count, time.perf_counter()
            for mailbox in users[:sample]:
                session.run(Command.of("Get-MoveRequestStatistics", Identity=mailbox))
            loop_time, loop_requests = time.perf_counter() - t0, session.request_count - r0
        finally:
            session.close()

    scale = n / sample
    loop_time_n, loop_requests_n = loop_time * scale, loop_requests * scale
    label = "measured" if sample == n else f"{sample} measured, scaled x{scale:g}"
    share = ours_requests / max(1.0, loop_requests_n)
    print(f"Listing failures across {n:,} mailboxes ({len(found)} listed of {len(marked)} marked), "
          f"{args.latency_ms:g} ms per WSMan request")
    print(f"  hybridkit (cutover failures):  {ours_requests:>8,} requests  {ours_time:8.2f} s")
    print(f"  loop, Get-MoveRequestStatistics per mailbox ({label}):  {loop_requests_n:>8,.0f} requests  "
          f"{loop_time_n:8.2f} s")
    print(f"  hybridkit used 1/{1 / max(share, 1e-9):.0f} of the loop's requests (target <= 1/20): "
          + ("met" if share <= 1 / 20 else "NOT met"))


if __name__ == "__main__":
    main()
