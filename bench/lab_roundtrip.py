"""Round-trip benchmark of the lab with the plain pypsrp client.

Prints the median Get-Mailbox round trip (one pipeline per call on an open pool), then the time and WSMan request
count for N identities sent through ONE pipeline as pipeline input versus N pipelines (one per identity).

    python bench/lab_roundtrip.py [--count 1000] [--samples 50] [--org synthetic:2000] [--auth basic|ntlm] [--tls]

The request count comes from the lab's own counter (the same numbers the ``--audit`` log records).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hybridkit.lab.server import LabOptions, LabServer  # noqa: E402


def _identities(pool: RunspacePool, count: int) -> list[str]:
    ps = PowerShell(pool)
    ps.add_cmdlet("Get-Mailbox").add_parameter("ResultSize", "Unlimited")
    mailboxes = ps.invoke()
    if ps.had_errors or ps.streams.error:
        raise SystemExit(f"Get-Mailbox failed: {[str(e) for e in ps.streams.error][:3]}")
    ids = [str(m.adapted_properties.get("PrimarySmtpAddress") or m.to_string) for m in mailboxes]
    if len(ids) < count:
        raise SystemExit(f"the org has only {len(ids)} mailboxes; use a larger --org synthetic:N")
    return ids[:count]


def _timed(lab: LabServer, action: Any) -> tuple[float, int, Any]:
    before = lab.audit.request_count
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, lab.audit.request_count - before, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--org", default="synthetic:2000")
    parser.add_argument("--auth", default="basic", choices=("basic", "ntlm"))
    parser.add_argument("--tls", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp, LabServer(
        LabOptions(org=args.org, auth=args.auth, tls=args.tls, ca_path=Path(tmp) / "ca.pem")
    ) as lab:
        info = lab.ready_info()
        wsman = WSMan("127.0.0.1", port=info["port"], username=info["username"], password=info["password"],
                      ssl=args.tls, path="PowerShell", auth=args.auth,
                      cert_validation=info["ca_path"] if args.tls else True,
                      encryption="never" if args.auth == "basic" and not args.tls else "auto")
        with RunspacePool(wsman, configuration_name="Microsoft.Exchange") as pool:
            ids = _identities(pool, args.count)

            def one(identity: str) -> list[Any]:
                ps = PowerShell(pool)
                ps.add_cmdlet("Get-Mailbox").add_parameter("Identity", identity)
                return ps.invoke()

            samples = []
            for identity in ids[: args.samples]:
                start = time.perf_counter()
                assert len(one(identity)) == 1
                samples.append(time.perf_counter() - start)

            def through_one_pipeline() -> list[Any]:
                ps = PowerShell(pool)
                ps.add_cmdlet("Get-Mailbox")
                return ps.invoke(ids)

            def one_pipeline_each() -> list[Any]:
                return [m for identity in ids for m in one(identity)]

            single_time, single_requests, single_out = _timed(lab, through_one_pipeline)
            many_time, many_requests, many_out = _timed(lab, one_pipeline_each)

    print(f"lab: {args.org}, auth={args.auth}{' +TLS' if args.tls else ''}, pypsrp {_pypsrp_version()}")
    print(f"median Get-Mailbox round trip ({len(samples)} samples): {statistics.median(samples) * 1000:.1f} ms")
    print(f"{args.count} identities, one pipeline:      {single_time:7.2f} s  {single_requests:6d} WSMan requests"
          f"  ({len(single_out)} objects)")
    print(f"{args.count} identities, {args.count} pipelines: {many_time:7.2f} s  {many_requests:6d} WSMan requests"
          f"  ({len(many_out)} objects)")
    return 0


def _pypsrp_version() -> str:
    from importlib.metadata import version

    return version("pypsrp")


if __name__ == "__main__":
    raise SystemExit(main())
