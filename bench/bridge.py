"""Benchmark: 1,000 mailbox lookups through the bridge (chunked pipeline input) vs one pipeline per item.

Starts an embedded lab (``synthetic:N`` org, 20 ms injected latency per WSMan request), then looks up the same
identities three ways and prints WSMan requests and wall time for each, and the ratios:

* per item:   ``Get-Mailbox -Identity X``, one pipeline per identity, one runspace pool (a naive script);
* chunked/1:  identities streamed as pipeline input, 500 per pipeline, one pool;
* chunked/N:  the same over the session's default pool ceiling (``--pools``, default 4).

Run: ``python bench/bridge.py [--items 1000] [--latency-ms 20] [--pools 4]``
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from hybridkit.config import lab_profile_from_ready, resolve_connection
from hybridkit.lab.server import LabOptions, LabServer
from hybridkit.ps import Command
from hybridkit.ps._pypsrp import PypsrpSession


def _measure(label: str, session: PypsrpSession, work: Callable[[PypsrpSession], int]) -> dict[str, Any]:
    before = session.request_count
    started = time.perf_counter()
    found = work(session)
    elapsed = time.perf_counter() - started
    return {"label": label, "requests": session.request_count - before, "seconds": elapsed, "found": found}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--pools", type=int, default=4)
    parser.add_argument("--chunk-size", type=int, default=500)
    args = parser.parse_args(argv)

    with LabServer(LabOptions(port=0, org=f"synthetic:{args.items}", latency_ms=args.latency_ms)) as lab:
        connection = resolve_connection(lab_profile_from_ready("bench", lab.ready_info()))
        with PypsrpSession(connection, max_pools=1) as setup:
            listed = setup.run(Command.of("Get-Mailbox", ResultSize="Unlimited")).output
        identities = [str(m.get("Alias") or m.get("Name")) for m in listed][: args.items]
        if len(identities) < args.items:
            print(f"the lab has only {len(identities)} mailboxes", file=sys.stderr)
            return 2

        def per_item(session: PypsrpSession) -> int:
            return sum(len(session.run(Command.of("Get-Mailbox", Identity=i)).output) for i in identities)

        def chunked(session: PypsrpSession) -> int:
            outcomes = session.run_items(Command.of("Get-Mailbox"), identities, chunk_size=args.chunk_size,
                                         key=lambda o: o.get("Alias"))
            return sum(1 for o in outcomes if o.ok)

        rows = []
        for label, pools, work in (
            ("one pipeline per item (1 pool)", 1, per_item),
            (f"bridge, chunks of {args.chunk_size} (1 pool)", 1, chunked),
            (f"bridge, chunks of {args.chunk_size} ({args.pools} pools)", args.pools, chunked),
        ):
            with PypsrpSession(connection, max_pools=pools) as session:
                session.open()  # pool opening is not part of the measurement
                rows.append(_measure(label, session, work))

    print(f"{args.items} Get-Mailbox lookups, {args.latency_ms:g} ms injected latency per WSMan request")
    print(f"{'method':<40} {'requests':>9} {'wall s':>8} {'found':>6}")
    for row in rows:
        print(f"{row['label']:<40} {row['requests']:>9} {row['seconds']:>8.2f} {row['found']:>6}")
    base = rows[0]
    for row in rows[1:]:
        print(f"ratio per-item / {row['label']}: requests {base['requests'] / max(row['requests'], 1):.0f}x, "
              f"wall time {base['seconds'] / max(row['seconds'], 1e-9):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
