"""Drive the lab's migration handlers directly (no protocol, no catalogue binding): a fake sink and a tiny org."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from hybridkit.lab._types import CollectingSink, EndpointKind, LabSession, LabTerminatingError
from hybridkit.lab.exchange.cmdlets import migration  # noqa: F401  (registers handlers)
from hybridkit.lab.exchange.cmdlets._registry import HANDLERS, CmdletContext
from hybridkit.lab.exchange.org import Org, Side, VirtualClock

T0 = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.timezone.utc)


FakeSink = CollectingSink


def make_org(count: int = 14) -> Org:
    onprem = Side("onprem", settings={"domain": "contoso.com", "routing_domain": "contoso.mail.onmicrosoft.com"})
    online = Side("online")
    for i in range(count):
        email = f"user{i:02d}@contoso.com"
        guid = str(uuid.uuid5(uuid.NAMESPACE_URL, email))
        onprem.recipients[guid] = {
            "Guid": guid, "Alias": f"user{i:02d}", "DisplayName": f"User {i:02d}", "PrimarySmtpAddress": email,
            "RecipientTypeDetails": "UserMailbox", "ExchangeGuid": guid, "TotalItemSizeBytes": (i + 1) * 100 * 1024**2,
        }
        oguid = str(uuid.uuid5(uuid.NAMESPACE_URL, "cloud:" + email))
        online.recipients[oguid] = {
            "Guid": oguid, "Alias": f"user{i:02d}", "PrimarySmtpAddress": email, "RecipientTypeDetails": "MailUser",
        }
    org = Org(onprem, online, VirtualClock(T0, scale=0.0))
    migration.seed_migration(org)
    return org


def run(org: Org, name: str, inputs: list[Any] | None = None, **params: Any) -> FakeSink:
    """Run one command like the engine does: once per input item (bound to Identity) or once."""
    sink = FakeSink()
    state: dict[str, Any] = {}
    session = LabSession(EndpointKind.ONLINE, "admin@contoso.onmicrosoft.com")
    for item in inputs if inputs is not None else [None]:
        bound = dict(params)
        if item is not None:
            bound["Identity"] = item
        ctx = CmdletContext(name, bound, item, org, org.online, session, "Exchange Online", sink, state)
        try:
            HANDLERS[name.lower()](ctx)
        except LabTerminatingError as exc:
            sink.errors.append(exc.error)
            break
    return sink


def csv_bytes(emails: list[str], extra: str = "") -> bytes:
    head = "EmailAddress" + ("," + extra if extra else "")
    return ("\r\n".join([head, *[e + ("," if extra else "") for e in emails]]) + "\r\n").encode()


def online_config(tmp_path: Path, handle: Any) -> Path:
    """A hybridkit.toml whose default profile is the running lab's Exchange Online side (via its ready file)."""
    ready = tmp_path / "lab-ready.json"
    ready.write_text(json.dumps(handle.server.ready_info()))
    config = tmp_path / "hybridkit.toml"
    config.write_text('default_profile = "online"\n\n[profiles.online]\nkind = "lab"\n'
                      f'ready_file = "{ready.as_posix()}"\nendpoint = "online"\n')
    return config
