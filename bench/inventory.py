"""Benchmark: the inventory crawl of N mailboxes through hybridkit vs a one-mailbox-at-a-time crawl.

    python bench/inventory.py [--mailboxes 10000] [--latency-ms 20] [--sample 200]

Both go to the lab, run as its own process as a real server is (``synthetic:N`` org, ``--latency-ms`` injected
per WSMan request), over loopback with the real pypsrp client. hybridkit: ``inventory export`` (one listing
pipeline, then identities streamed through one pipeline per chunk and stage, a few pools at once), every pipeline
ending in ``Select-Object -Property <columns>`` (Exchange's /PowerShell keeps the real Select-Object;
``--no-select`` sends the cmdlets bare, whole objects). Its WSMan requests are counted by stage and kind from the
lab's audit log, so each figure can be explained. The one-at-a-time crawl (what FastTrack-style scripts do): list
once, then per mailbox Get-MailboxStatistics, Get-MailboxPermission, Get-ADPermission,
Get-MailboxFolderStatistics -FolderScope Calendar and Get-MailboxFolderPermission, each its own pipeline. That
loop is MEASURED on ``--sample`` mailboxes and EXTRAPOLATED linearly to N; the printout says which is which.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hybridkit.config import lab_profile_from_ready
from hybridkit.inventory import INCLUDES, export_inventory
from hybridkit.inventory import _plan
from hybridkit.journal import Journal
from hybridkit.lab.transport._audit import read_audit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _labproc import lab_process  # noqa: E402

from hybridkit.ps import Command, PSSession  # noqa: E402
from hybridkit.sides import connect  # noqa: E402

TARGET_PER_MAILBOX = 0.04
TARGET_FASTER = 20.0


def _session(ready: dict[str, Any], pools: int) -> PSSession:
    return connect(lab_profile_from_ready("onprem", ready, endpoint="onprem", max_shells=pools))


def _by_stage(audit: Path) -> dict[str, collections.Counter[str]]:
    """WSMan requests per pipeline (its cmdlets, Select-Object left out) and kind, from the lab's audit log."""
    records = read_audit(audit)
    stage_of = {r["command"]: " | ".join(c for c in r["cmdlets"] if c != "Select-Object")
                for r in records if r["kind"] == "pipeline"}
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for r in records:
        if r["kind"] == "request":
            counts[stage_of.get(r["command"], "(pool: open, close)")][r["action"]] += 1
    outputs: collections.Counter[str] = collections.Counter()
    for r in records:
        if r["kind"] == "pipeline":
            outputs[stage_of[r["command"]]] += r["outputs"]
    for stage, n in outputs.items():
        counts[stage]["objects returned"] = n
    return counts


def bench_tool(n: int, latency: float, pools: int, chunk: int) -> tuple[int, float, int, int, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        audit = Path(tmp) / "audit.jsonl"
        with lab_process(f"synthetic:{n}", latency, extra_args=("--audit", str(audit))) as ready:
            session = _session(ready, pools)
            try:
                before = session.request_count
                t0 = time.perf_counter()
                with Journal(Path(tmp) / "journal.sqlite") as journal:
                    manifest = export_inventory({"onprem": session}, Path(tmp) / "out", includes=frozenset(INCLUDES),
                                                journal=journal, chunk_size=chunk, step_size=chunk * pools)
                wall = time.perf_counter() - t0
                requests = session.request_count - before
            finally:
                session.close()
        return requests, wall, sum(manifest.mailboxes.values()), len(manifest.failures), _by_stage(audit)


def bench_loop(n: int, latency: float, sample: int) -> tuple[int, float, int, float, int]:
    with lab_process(f"synthetic:{n}", latency) as ready:
        session = _session(ready, 1)
        try:
            before = session.request_count
            t0 = time.perf_counter()
            mailboxes = session.run(Command.of("Get-Mailbox", ResultSize="Unlimited")).output
            list_s, list_req = time.perf_counter() - t0, session.request_count - before
            picks = random.Random(7).sample(mailboxes, min(sample, len(mailboxes)))
            before = session.request_count
            t0 = time.perf_counter()
            for mbx in picks:
                smtp = str(mbx.get("PrimarySmtpAddress"))
                session.run(Command.of("Get-MailboxStatistics", Identity=smtp))
                session.run(Command.of("Get-MailboxPermission", Identity=smtp))
                session.run(Command.of("Get-ADPermission", Identity=str(mbx.get("Identity"))))
                folders = session.run(Command.of("Get-MailboxFolderStatistics", Identity=smtp, FolderScope="Calendar"))
                for folder in folders.output:
                    if str(folder.get("FolderType")) == "Calendar":
                        session.run(Command.of("Get-MailboxFolderPermission",
                                               Identity=f"{smtp}:\\{folder.get('Name')}"))
            return list_req, list_s, session.request_count - before, time.perf_counter() - t0, len(mailboxes)
        finally:
            session.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mailboxes", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--sample", type=int, default=200)
    # Few long pipelines: the crawl's requests are mostly Receives, whose count follows how long pipelines run
    # and how many run at once; 2 pools x 5,000 identities keeps both low (the CLI default is --chunk-size 1000).
    parser.add_argument("--pools", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=5000)
    parser.add_argument("--no-select", action="store_true", help="crawl full objects (no Select-Object)")
    args = parser.parse_args(argv)
    _plan.SELECT_COLUMNS = not args.no_select
    n, lat = args.mailboxes, args.latency_ms
    tool_req, tool_s, crawled, failures, stages = bench_tool(n, lat, args.pools, args.chunk)
    list_req, list_s, loop_req, loop_s, total = bench_loop(n, lat, args.sample)
    sample = min(args.sample, total)
    est_req = list_req + loop_req / sample * total
    est_s = list_s + loop_s / sample * total
    print(f"inventory crawl, {crawled} mailboxes (lab synthetic:{n}), {lat:g} ms injected latency per WSMan request")
    print(f"  hybridkit inventory export : {tool_req:>8} WSMan requests ({tool_req / crawled:.4f} per mailbox)  "
          f"{tool_s:8.1f} s  (measured; {args.pools} pools, {args.chunk} per pipeline, {failures} failures)")
    for stage, kinds in sorted(stages.items(), key=lambda kv: -sum(v for k, v in kv[1].items() if k[0].isupper())):
        counted = {k: v for k, v in kinds.items() if k[0].isupper()}
        returned = kinds.get("objects returned")
        print(f"      {stage:44} {sum(counted.values()):>5} requests ({', '.join(f'{k} {v}' for k, v in sorted(counted.items()))})"
              + (f", {returned} objects returned" if returned else ""))
    print(f"  one at a time, sample      : {loop_req:>8} WSMan requests ({loop_req / sample:.2f} per mailbox)  "
          f"{loop_s:8.1f} s  (measured on {sample} mailboxes)")
    print(f"  one at a time, listing     : {list_req:>8} WSMan requests  {list_s:8.1f} s  (measured)")
    print(f"  one at a time, {total:>6}     : {est_req:>8.0f} WSMan requests ({est_req / total:.2f} per mailbox)  "
          f"{est_s:8.1f} s  (EXTRAPOLATED: listing + per-mailbox cost x N)")
    per_mailbox, faster = tool_req / max(crawled, 1), est_s / max(tool_s, 1e-9)
    print(f"  ratio: {est_req / max(tool_req, 1):.0f}x fewer requests, {faster:.1f}x faster")
    met = per_mailbox <= TARGET_PER_MAILBOX and faster >= TARGET_FASTER
    what = "whole objects" if args.no_select else "selected columns"
    print(f"  RESULT (on-prem crawl, {what}): {per_mailbox:.4f} requests per mailbox (target <= {TARGET_PER_MAILBOX}) | "
          f"{faster:.1f}x faster than one at a time (target >= {TARGET_FASTER:g}x) -> {'MET' if met else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
