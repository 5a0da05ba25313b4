"""The demo's first steps: the connection, and the organisation at a glance (servers, databases, mailboxes)."""

from __future__ import annotations

import collections
import time
from typing import Any

from rich.markup import escape
from rich.table import Table

from hybridkit.connect_cli import probe, selected
from hybridkit.demo._context import DemoContext
from hybridkit.ps import Command, PSObject

__all__ = ["connect_step", "summary_step"]


def connect_step(ctx: DemoContext) -> dict[str, Any]:
    info = probe(ctx.session, online=False)
    ctx.console.print(
        f"Connected to [bold]{escape(ctx.ready['onprem_url'])}[/] (Microsoft.Exchange, {ctx.profile.auth} auth, "
        f"TLS validated against the lab's CA) as [bold]{escape(str(ctx.profile.username))}[/]; "
        f"organisation [bold]{escape(str(info['organization']))}[/], round trip {info['round_trip_ms']:.0f} ms.",
        highlight=False,
    )
    return info


def summary_step(ctx: DemoContext) -> dict[str, Any]:
    def read(command: Command, *columns: str) -> list[PSObject]:  # only the columns shown (the data diet)
        return [o for o in ctx.session.run(selected(command, columns)).output if isinstance(o, PSObject)]

    servers = read(Command.of("Get-ExchangeServer"), "Name", "AdminDisplayVersion", "ServerRole", "Site")
    databases = read(Command.of("Get-MailboxDatabase"), "Name", "Server")
    started = time.perf_counter()
    mailboxes = read(Command.of("Get-Mailbox", ResultSize="Unlimited"), "RecipientTypeDetails", "Database")
    elapsed = time.perf_counter() - started
    by_type = collections.Counter(str(m.get("RecipientTypeDetails") or "Unknown") for m in mailboxes)
    by_db = collections.Counter(str(m.get("Database") or "") for m in mailboxes)

    table = Table(title="Exchange servers", title_justify="left")
    for column in ("Name", "Version", "Roles", "Site"):
        table.add_column(column, overflow="fold")  # wrap, never crop
    for s in servers:
        table.add_row(*(escape(str(s.get(k) or "")) for k in ("Name", "AdminDisplayVersion", "ServerRole", "Site")))
    ctx.console.print(table)

    table = Table(title="Mailbox databases", title_justify="left")
    for column in ("Name", "Server", "Mailboxes"):
        table.add_column(column, overflow="fold")
    for d in databases:
        name = str(d.get("Name") or d)
        table.add_row(escape(name), escape(str(d.get("Server") or "")), str(by_db.get(name, 0)))
    ctx.console.print(table)

    table = Table(title=f"Mailboxes by type ({len(mailboxes)})", title_justify="left")
    table.add_column("RecipientTypeDetails", overflow="fold")
    table.add_column("Count", justify="right")
    for kind, count in by_type.most_common():
        table.add_row(escape(kind), str(count))
    ctx.console.print(table)
    # on its own line: a caption is as narrow as this two-column table and would break the pipeline mid-word
    ctx.console.print(f"Get-Mailbox -ResultSize Unlimited | Select-Object RecipientTypeDetails,Database: "
                      f"{elapsed:.2f} s", highlight=False, markup=False, soft_wrap=True)
    return {
        "servers": [str(s.get("Name")) for s in servers],
        "databases": [str(d.get("Name")) for d in databases],
        "mailboxes": len(mailboxes),
        "mailboxes_by_type": dict(by_type),
    }
