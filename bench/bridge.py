"""Benchmark: 1,000 mailbox lookups through the bridge (chunked pipeline input) vs one pipeline per item.

Starts an embedded lab (``synthetic:N`` org, 20 ms injected latency per WSMan request), then looks up the same
identities three ways and prints WSMan requests and wall time for each, and the ratios:

* per item:   ``Get-Mailbox -Identity X``, one pipeline per identity, one runspace pool (a naive script);
* chunked/1:  identities streamed as pipeline input, 500 per pipeline, one pool;
* chunked/N:  the same over the session's default pool ceiling (``--pools``, default 4).

Then the same number of Exchange Online lookups (``Get-Recipient``, chunked) two ways, each runspace first running
Connect-ExchangeOnline: over WSMan to the jump host (``/wsman``) and over PowerShell's out-of-process transport
(``hybridkit lab pwsh --ready-file`` processes on the lab's socket, one per runspace pool; the lab delays each
packet it answers by the same latency, as an SSH link would).

Run: ``python bench/bridge.py [--items 1000] [--latency-ms 20] [--pools 4] [--no-pwsh]``

The client's cost of reading each output object (CLIXML to ``PSObject``) is measured apart: ``bench/deserialize.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

from hybridkit.config import lab_profile_from_ready, resolve_connection
from hybridkit.lab.server import LabOptions, LabServer
from hybridkit.ps import Command, Connection, OnlineConnect, PSSession, Secret
from hybridkit.ps._outofproc import OutOfProcSession
from hybridkit.ps._pypsrp import PypsrpSession


def _pwsh_connection(ready: Path) -> Connection:
    """``hybridkit lab pwsh --ready-file ready`` as the process, with the lab app's PFX."""
    info = json.loads(ready.read_text())
    online = OnlineConnect(info["online_app_id"], "", info["online_organization"],
                           certificate_file=info["pwsh"]["certificate_file"],
                           certificate_password=Secret(info["pwsh"]["certificate_password"]))
    return Connection(profile_name="bench-pwsh", kind="pwsh", server="", port=0, ssl=False, path="",
                      configuration="", auth="", username=None, password=None, cert_validation=True, online=online,
                      process=(sys.executable, "-m", "hybridkit", "lab", "pwsh", "--ready-file", str(ready)))


def _online_rows(lab: LabServer, ready: Path, items: int, pools: int, chunk_size: int) -> list[dict[str, Any]]:
    """The same Exchange Online lookups over WSMan (/wsman) and out-of-process (lab pwsh)."""
    wsman = resolve_connection(lab_profile_from_ready("bench", lab.ready_info(), endpoint="online"))
    with PypsrpSession(wsman, max_pools=1) as setup:
        listed = setup.run(Command.of("Get-Recipient", ResultSize="Unlimited")).output
    identities = [str(r.get("Alias") or r.get("Name")) for r in listed][:items]

    def chunked(session: Any) -> int:
        outcomes = session.run_items(Command.of("Get-Recipient"), identities, chunk_size=chunk_size,
                                     key=lambda o: o.get("Alias"))
        return sum(1 for o in outcomes if o.ok)

    rows = []
    for label, factory, n in (
        (f"WSMan /wsman, chunks of {chunk_size} (1 pool)", lambda n: PypsrpSession(wsman, max_pools=n), 1),
        (f"WSMan /wsman, chunks of {chunk_size} ({pools} pools)", lambda n: PypsrpSession(wsman, max_pools=n), pools),
        (f"out-of-process, chunks of {chunk_size} (1 process)",
         lambda n: OutOfProcSession(_pwsh_connection(ready), max_pools=n), 1),
        (f"out-of-process, chunks of {chunk_size} ({pools} processes)",
         lambda n: OutOfProcSession(_pwsh_connection(ready), max_pools=n), pools),
    ):
        with factory(n) as session:
            _open_all(session, n)  # opening pools (starting processes, Connect-ExchangeOnline) is not measured
            rows.append(_measure(label, session, chunked))
    return rows


def _open_all(session: Any, n: int) -> None:
    """Open ``n`` pools at once (each held while the others open) so the measurement starts with all of them."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        for _ in range(n):
            stack.enter_context(session._slot())


def _measure(label: str, session: PSSession, work: Callable[[Any], int]) -> dict[str, Any]:
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
    parser.add_argument("--no-pwsh", action="store_true", help="skip the Exchange Online / out-of-process rows")
    args = parser.parse_args(argv)

    scratch = tempfile.TemporaryDirectory(prefix="hybridkit-bench-")
    ready = Path(scratch.name) / "ready.json"
    online_rows: list[dict[str, Any]] = []
    with LabServer(LabOptions(port=0, org=f"synthetic:{args.items}", latency_ms=args.latency_ms,
                              ready_file=ready)) as lab:
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
        if not args.no_pwsh:
            online_rows = _online_rows(lab, ready, args.items, args.pools, args.chunk_size)
    scratch.cleanup()

    print(f"{args.items} Get-Mailbox lookups, {args.latency_ms:g} ms injected latency per WSMan request")
    print(f"{'method':<40} {'requests':>9} {'wall s':>8} {'found':>6}")
    for row in rows:
        print(f"{row['label']:<40} {row['requests']:>9} {row['seconds']:>8.2f} {row['found']:>6}")
    base = rows[0]
    for row in rows[1:]:
        print(f"ratio per-item / {row['label']}: requests {base['requests'] / max(row['requests'], 1):.0f}x, "
              f"wall time {base['seconds'] / max(row['seconds'], 1e-9):.1f}x")
    if online_rows:
        print()
        print(f"{args.items} Get-Recipient lookups on Exchange Online: WSMan jump host vs PowerShell out-of-process "
              f"({args.latency_ms:g} ms per WSMan request / per out-of-process packet)")
        print(f"{'method':<48} {'requests':>9} {'wall s':>8} {'found':>6}")
        for row in online_rows:
            print(f"{row['label']:<48} {row['requests']:>9} {row['seconds']:>8.2f} {row['found']:>6}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
