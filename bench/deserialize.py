"""Micro-benchmark: reading pipeline output CLIXML on the client, pypsrp's path vs ``ps/_fastread``.

The objects are the lab's, serialised as the lab's server sends them (``to_ps`` + psrpcore ``serialize`` +
``ElementTree.tostring``, what ``psrpcore`` does for a PIPELINE_OUTPUT message): a ``synthetic:N`` organisation with
migration batches created and a week synced, then the reads ``cutover status`` and others send, each with and
without ``Select-Object`` (Get-MigrationUser, Get-MoveRequest | Get-MoveRequestStatistics, Get-MigrationBatch,
Get-Mailbox, Get-Recipient). Each message is read through

* today's path: ``from_wire(_Serializer().deserialize(xml))`` with the fast reader off;
* the fast path: the same call with it on (what ``PypsrpSession`` does);

and the values are checked equal. Prints objects per second for each and the ratio, per shape and overall.

Run: ``python bench/deserialize.py [--mailboxes 400] [--repeat 3]``

Measured once (2 shared cores, 6 December 2026, 400 mailboxes, 2,654 messages): every message read by the fast
path; 677 objects/s through pypsrp's path, 13,264 through the fast one (19.6x); per read 9.7x (``Get-Mailbox |
Select-Object``) to 18x (full Get-MoveRequestStatistics and Get-Mailbox objects). In ``bench/waves.py`` at 10,000
mailboxes, ``cutover status --plan`` read 20,020 messages: deserialising took 6.0 s of client CPU before, 0.47 s
after, and the step 28.5 s before, 16.0 s after (noisy: another pair of runs gave 24.0 s and 21.8 s; the lab's
server, in the same process, and the bridge's Receive pacing take most of what is left).
"""

from __future__ import annotations

import argparse
import time
import xml.etree.ElementTree as ET
from typing import Any

from psrpcore.types import serialize

from hybridkit.lab._types import CollectingSink, EndpointKind, LabCommand, LabSession
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT, seed_migration
from hybridkit.lab.exchange.engine import ExchangeEngine
from hybridkit.lab.transport._psrp_convert import to_ps
from hybridkit.ps._fastread import Plain
from hybridkit.ps._pypsrp import _Serializer, from_wire

TDD = "contoso.mail.onmicrosoft.com"
USER_COLUMNS = ["Identity", "BatchId", "Status", "ErrorSummary"]
MOVE_COLUMNS = ["Identity", "Status", "StatusDetail", "PercentComplete", "BytesTransferred", "TotalMailboxSize",
                "Message", "CompleteAfter"]
BATCH_COLUMNS = ["Identity", "Status", "TotalCount", "SyncedCount", "FinalizedCount", "FailedCount", "CompleteAfter"]
MAILBOX_COLUMNS = ["Alias", "PrimarySmtpAddress", "ExchangeGuid", "WhenCreated", "EmailAddresses",
                   "LitigationHoldEnabled", "RecipientTypeDetails"]


def _cmd(name: str, **params: Any) -> LabCommand:
    return LabCommand(name, list(params.items()))


def _run(engine: ExchangeEngine, session: LabSession, *commands: LabCommand) -> list[Any]:
    sink = CollectingSink()
    engine.invoke(session, list(commands), [], sink)
    assert not sink.errors, sink.errors[:1]
    return sink.out


def wire(obj: Any) -> str:
    """One lab object as the text of the PIPELINE_OUTPUT message the lab's server sends for it."""
    return ET.tostring(serialize(to_ps(obj), None), encoding="utf-8").decode("utf-8")


def samples(mailboxes: int = 60, batches: int = 2) -> dict[str, list[str]]:
    """Real-shaped output messages by read (see the module docstring), ``mailboxes`` of them in migration."""
    engine = ExchangeEngine.create(f"synthetic:{mailboxes + 10}", time_scale=0.0, raise_internal_errors=True)
    org = engine.org
    seed_migration(org)
    org.online.settings["lab_move_faults"] = {}
    onprem = LabSession(EndpointKind.ONPREM, "CONTOSO\\admin")
    online = LabSession(EndpointKind.ONLINE, "jump\\svc")
    for session in (onprem, online):
        engine.open_session(session)
    app = engine.online_app
    _run(engine, online, _cmd("Connect-ExchangeOnline", AppId=app["app_id"],
                              CertificateThumbprint=app["certificate_thumbprint"], Organization=app["organization"]))
    users = sorted(str(r.get("PrimarySmtpAddress")).lower() for r in org.onprem.recipients.values()
                   if r.get("RecipientTypeDetails") == "UserMailbox" and r.get("PrimarySmtpAddress"))[:mailboxes]
    for number in range(batches):
        chunk = users[number::batches]
        csv = ("\r\n".join(["EmailAddress", *chunk]) + "\r\n").encode()
        _run(engine, online, _cmd("New-MigrationBatch", Name=f"Wave-{number}", SourceEndpoint=DEFAULT_ENDPOINT,
                                  TargetDeliveryDomain=TDD, CSVData=csv, AutoStart=True))
    org.clock.advance(7 * 24 * 3600)

    def select(columns: list[str]) -> LabCommand:
        return _cmd("Select-Object", Property=columns)

    reads = {
        "Get-MigrationUser | Select": (online, [_cmd("Get-MigrationUser", ResultSize="Unlimited"),
                                                select(USER_COLUMNS)]),
        "Get-MigrationUser": (online, [_cmd("Get-MigrationUser", ResultSize="Unlimited")]),
        "Get-MoveRequestStatistics | Select": (online, [_cmd("Get-MoveRequest", ResultSize="Unlimited"),
                                                        _cmd("Get-MoveRequestStatistics"), select(MOVE_COLUMNS)]),
        "Get-MoveRequestStatistics": (online, [_cmd("Get-MoveRequest", ResultSize="Unlimited"),
                                               _cmd("Get-MoveRequestStatistics")]),
        "Get-MigrationBatch | Select": (online, [_cmd("Get-MigrationBatch"), select(BATCH_COLUMNS)]),
        "Get-MigrationBatch": (online, [_cmd("Get-MigrationBatch")]),
        "Get-Mailbox | Select": (onprem, [_cmd("Get-Mailbox", ResultSize="Unlimited"), select(MAILBOX_COLUMNS)]),
        "Get-Mailbox (on-premises)": (onprem, [_cmd("Get-Mailbox", ResultSize=mailboxes)]),
        "Get-Recipient": (online, [_cmd("Get-Recipient", ResultSize=mailboxes)]),
    }
    return {name: [wire(o) for o in _run(engine, session, *commands)] for name, (session, commands) in reads.items()}


def read_old(xml: str) -> Any:
    serializer = _Serializer()
    serializer.fast = False
    return from_wire(serializer.deserialize(xml))


def read_new(xml: str) -> Any:
    return from_wire(_Serializer().deserialize(xml))


def _rate(read: Any, messages: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for xml in messages:
            read(xml)
        best = min(best, time.perf_counter() - t0)
    return len(messages) / best if best > 0 else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs per path")
    args = parser.parse_args()
    by_read = samples(args.mailboxes)
    print(f"{args.mailboxes} mailboxes in migration; objects per second (best of {args.repeat}), same values checked;\n"
          "fast read: messages the fast path read itself (the rest fell back to pypsrp's)")
    print(f"  {'read':36} {'objects':>8} {'fast read':>9} {'pypsrp':>10} {'fast':>10} {'ratio':>7}")
    everything: list[str] = []
    for name, messages in by_read.items():
        assert all(read_old(x) == read_new(x) for x in messages), name
        if not messages:
            continue
        covered = sum(isinstance(_Serializer().deserialize(x), Plain) for x in messages)
        old, new = _rate(read_old, messages, args.repeat), _rate(read_new, messages, args.repeat)
        print(f"  {name:36} {len(messages):8,} {covered:9,} {old:10,.0f} {new:10,.0f} {new / old:6.1f}x")
        everything += messages
    old, new = _rate(read_old, everything, args.repeat), _rate(read_new, everything, args.repeat)
    print(f"  {'all':36} {len(everything):8,} {'':9} {old:10,.0f} {new:10,.0f} {new / old:6.1f}x")


if __name__ == "__main__":
    main()
