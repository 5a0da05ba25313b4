"""Benchmark: litigation hold for N mailboxes through hybridkit vs the one-mailbox-at-a-time loop.

    python bench/hold.py [--mailboxes 20000] [--latency-ms 20] [--sample 500]

Both runs go to the lab, run as its own process (as a real server is) (``synthetic:N`` org, ``--latency-ms`` injected per WSMan request) over loopback with the
real pypsrp client. hybridkit: ``hold enable --all`` (read each side once, selecting only the hold columns; stream
identities through ``Get-Mailbox | Set-Mailbox`` in chunks on a few pools; verify by streaming the same
identities through ``Get-Mailbox | Select-Object`` to read each hold back). The loop: ``Get-Mailbox -ResultSize Unlimited``
once, then one ``Set-Mailbox -Identity X -LitigationHoldEnabled $true`` pipeline per mailbox, one at a time. The
loop is MEASURED on ``--sample`` mailboxes and EXTRAPOLATED linearly to N (its per-mailbox cost is constant);
the printout says which figures are measured and which are extrapolated.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from hybridkit.config import lab_profile_from_ready
from hybridkit.hold import HoldSettings, OutcomeStatus, Selection, run_enable
from hybridkit.journal import Journal
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _labproc import lab_process  # noqa: E402

from hybridkit.ps import Command, PSSession
from hybridkit.sides import connect


def _sessions(ready: dict, pools: int) -> dict[str, PSSession]:
    out: dict[str, PSSession] = {}
    for side in ("onprem", "online"):
        profile = lab_profile_from_ready(side, ready, endpoint=side, max_shells=pools)
        out[side] = connect(profile)
    return out


def _requests(sessions: dict[str, PSSession]) -> int:
    return sum(s.request_count for s in sessions.values())


def bench_tool(n: int, latency: float, pools: int, chunk: int) -> tuple[int, float, dict[str, int]]:
    with lab_process(f"synthetic:{n}", latency) as ready, tempfile.TemporaryDirectory() as tmp:
        sessions = _sessions(ready, pools)
        try:
            before = _requests(sessions)
            t0 = time.perf_counter()
            with Journal(Path(tmp) / "journal.sqlite") as journal:
                result = run_enable(sessions, Selection(all=True), HoldSettings(), journal=journal,
                                    chunk_size=chunk, step_size=chunk * pools)
            wall = time.perf_counter() - t0
            counts: dict[str, int] = {}
            for row in result.outcomes:
                counts[row.status.value] = counts.get(row.status.value, 0) + 1
            return _requests(sessions) - before, wall, counts
        finally:
            for s in sessions.values():
                s.close()


def bench_loop(n: int, latency: float, sample: int) -> tuple[int, float, int, float, int]:
    """(read requests, read seconds, sample loop requests, sample loop seconds, mailboxes in org) measured."""
    with lab_process(f"synthetic:{n}", latency) as ready:
        sessions = _sessions(ready, 1)
        try:
            before = _requests(sessions)
            t0 = time.perf_counter()
            per_side = {side: [str(o.get("PrimarySmtpAddress")) for o in
                               s.run(Command.of("Get-Mailbox", ResultSize="Unlimited")).output]
                        for side, s in sessions.items()}
            read_s = time.perf_counter() - t0
            read_req = _requests(sessions) - before
            total = sum(len(v) for v in per_side.values())
            rng = random.Random(7)
            picks = [(side, a) for side, addrs in per_side.items() for a in addrs]
            picks = rng.sample(picks, min(sample, len(picks)))
            before = _requests(sessions)
            t0 = time.perf_counter()
            for side, address in picks:
                sessions[side].run(Command.of("Set-Mailbox", Identity=address, LitigationHoldEnabled=True))
            loop_s = time.perf_counter() - t0
            return read_req, read_s, _requests(sessions) - before, loop_s, total
        finally:
            for s in sessions.values():
                s.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mailboxes", type=int, default=20000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--pools", type=int, default=4)
    parser.add_argument("--chunk", type=int, default=1000)
    args = parser.parse_args(argv)
    n, lat = args.mailboxes, args.latency_ms

    tool_req, tool_s, counts = bench_tool(n, lat, args.pools, args.chunk)
    read_req, read_s, loop_req, loop_s, total = bench_loop(n, lat, args.sample)
    sample = min(args.sample, total)
    per_req, per_s = loop_req / sample, loop_s / sample
    est_req = read_req + per_req * total
    est_s = read_s + per_s * total
    print(f"litigation hold, {total} mailboxes (lab synthetic:{n}), {lat:g} ms injected latency per WSMan request")
    print(f"  hybridkit hold enable --all   : {tool_req:>8} WSMan requests  {tool_s:8.1f} s   (measured; "
          f"{args.pools} pools/side, {args.chunk} per pipeline, verification included)")
    print(f"      outcome: {counts}")
    print(f"  one-at-a-time loop, sample    : {loop_req:>8} WSMan requests  {loop_s:8.1f} s   (measured on {sample} "
          f"mailboxes: {per_req:.2f} req and {per_s * 1000:.0f} ms each)")
    print(f"  one-at-a-time loop, read      : {read_req:>8} WSMan requests  {read_s:8.1f} s   (measured: Get-Mailbox "
          "-ResultSize Unlimited per side)")
    print(f"  one-at-a-time loop, {total:>6}   : {est_req:>8.0f} WSMan requests  {est_s:8.1f} s   "
          "(EXTRAPOLATED: read + per-mailbox cost x N)")
    fewer, faster = est_req / max(tool_req, 1), est_s / max(tool_s, 1e-9)
    met = "met" if fewer >= 100 and faster >= 40 else "NOT met"
    print(f"  ratio: {fewer:.1f}x fewer requests, {faster:.1f}x less time (issue 13 targets: >= 100x and >= 40x: {met})")
    return 0 if counts.get(OutcomeStatus.FAILED.value, 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
