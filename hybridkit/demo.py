"""``hybridkit demo``: the whole tool, end to end, against an embedded lab. No setup, no Exchange needed.

The demo starts the lab (HTTPS with its own CA, validated) on a free loopback port in a background thread,
connects through a ``lab`` profile, and runs its steps in order. The foundation's steps tell the story so far
(connection, servers, databases, mailboxes by type); each capability adds its own step, either by registering it::

    from hybridkit.demo import demo_step

    @demo_step("Litigation hold", order=50)
    def hold_demo(ctx: DemoContext) -> dict | None: ...

in a module ``hybridkit.<capability>.demo_step`` (imported here when present), or by defining a function named
``demo_step`` in that module (with optional ``DEMO_TITLE`` and ``DEMO_ORDER``). A step prints through
``ctx.console``, runs remote work through ``ctx.session``, keeps files under ``ctx.workdir`` and returns data
for ``--output json`` (or None). A step that raises is reported and makes the demo exit 1.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import importlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hybridkit._context import AppContext
from hybridkit.cli_support import app_context, emit_json
from hybridkit.config import Profile, lab_profile_from_ready
from hybridkit.errors import HybridkitError, InputError
from hybridkit.ps import Command, PSObject, PSSession
from hybridkit.sides import connect

__all__ = ["CAPABILITY_MODULES", "DEMO_STEPS", "DemoContext", "DemoStep", "demo", "demo_step", "load_demo_steps"]

CAPABILITY_MODULES = ("inventory", "batches", "cutover", "hold", "mailflow", "decommission")


@dataclasses.dataclass
class DemoContext:
    """What a demo step gets: the running lab, a session to it, the consoles and a scratch directory."""

    app: AppContext
    session: PSSession
    profile: Profile
    lab: Any  # hybridkit.lab.server.LabServer
    ready: dict[str, Any]
    workdir: Path
    journal_path: Path

    @property
    def console(self) -> Console:
        return self.app.err_console if self.app.json else self.app.console

    def show_command(self, line: str) -> None:
        """Print a command for people to copy: one line whatever the width (soft wrap), no markup, no colour."""
        self.console.print(line, highlight=False, markup=False, soft_wrap=True)

    def open_session(self, endpoint: str = "onprem") -> PSSession:
        """A new session to the lab's ``onprem`` or ``online`` endpoint (close it when done)."""
        return connect(lab_profile_from_ready(f"lab-{endpoint}", self.ready, endpoint=endpoint))


DemoFunc = Callable[[DemoContext], "dict[str, Any] | None"]


@dataclasses.dataclass(frozen=True)
class DemoStep:
    title: str
    func: DemoFunc
    order: int = 100


DEMO_STEPS: list[DemoStep] = []


def demo_step(title: str, *, order: int = 100) -> Callable[[DemoFunc], DemoFunc]:
    """Register ``func`` as a demo step (lower ``order`` runs first; the foundation uses 0-20)."""

    def register(func: DemoFunc) -> DemoFunc:
        if not any(s.func is func for s in DEMO_STEPS):
            DEMO_STEPS.append(DemoStep(title, func, order))
        return func

    return register


def load_demo_steps() -> list[DemoStep]:
    """The foundation's steps plus every capability's ``hybridkit.<cap>.demo_step``, in order."""
    for cap in CAPABILITY_MODULES:
        name = f"hybridkit.{cap}.demo_step"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name in (name, f"hybridkit.{cap}"):
                continue
            raise
        func = getattr(module, "demo_step", None)
        if callable(func) and not any(s.func is func for s in DEMO_STEPS):
            DEMO_STEPS.append(DemoStep(getattr(module, "DEMO_TITLE", cap.capitalize()), func,
                                       getattr(module, "DEMO_ORDER", 100)))
    return sorted(DEMO_STEPS, key=lambda s: s.order)


# -- the foundation's steps --------------------------------------------------------------------------------------

@demo_step("Connect", order=0)
def _connect(ctx: DemoContext) -> dict[str, Any]:
    from hybridkit.connect_cli import probe

    info = probe(ctx.session, online=False)
    ctx.console.print(
        f"Connected to [bold]{escape(ctx.ready['onprem_url'])}[/] (Microsoft.Exchange, {ctx.profile.auth} auth, "
        f"TLS validated against the lab's CA) as [bold]{escape(str(ctx.profile.username))}[/]; "
        f"organisation [bold]{escape(str(info['organization']))}[/], round trip {info['round_trip_ms']:.0f} ms.",
        highlight=False,
    )
    return info


@demo_step("Organisation summary", order=10)
def _summary(ctx: DemoContext) -> dict[str, Any]:
    from hybridkit.connect_cli import selected

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

    table = Table(title=f"Mailboxes by type ({len(mailboxes)})", title_justify="left",
                  caption=f"Get-Mailbox -ResultSize Unlimited | Select-Object RecipientTypeDetails,Database: "
                          f"{elapsed:.2f} s", caption_justify="left")
    table.add_column("RecipientTypeDetails", overflow="fold")
    table.add_column("Count", justify="right")
    for kind, count in by_type.most_common():
        table.add_row(escape(kind), str(count))
    ctx.console.print(table)
    return {
        "servers": [str(s.get("Name")) for s in servers],
        "databases": [str(d.get("Name")) for d in databases],
        "mailboxes": len(mailboxes),
        "mailboxes_by_type": dict(by_type),
    }


def demo(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Lab organisation: demo, or synthetic:N.")] = "demo",
    tls: Annotated[bool, typer.Option("--tls/--no-tls", help="HTTPS with the lab's CA (validated).")] = True,
    workdir_option: Annotated[
        Optional[Path],
        typer.Option("--workdir", help="Keep the demo's files (inventory, plans, reports, backup, runbooks) here."),
    ] = None,
) -> None:
    """Start an embedded lab and show the tool working end to end (no Exchange needed)."""
    from hybridkit.lab.server import LabOptions, LabServer

    app = app_context(ctx)
    out = app.err_console if app.json else app.console
    steps = load_demo_steps()
    results: dict[str, Any] = {}
    failures: list[str] = []
    items: list[dict[str, Any]] = []  # --output json: one item per step, in the README's vocabulary
    with contextlib.ExitStack() as stack:
        if workdir_option is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hybridkit-demo-")))
        else:
            workdir = workdir_option.resolve()
            if workdir.exists() and any(workdir.iterdir()):
                raise InputError(f"{workdir} is not empty; give --workdir a new or empty folder")
            workdir.mkdir(parents=True, exist_ok=True)
        options = LabOptions(host="127.0.0.1", port=0, tls=tls, org=org, ca_path=workdir / "lab-ca.pem")
        with out.status("Starting the embedded Exchange lab…"):
            lab = LabServer(options).start()
        try:
            ready = lab.ready_info()
            out.print(f"[bold]hybridkit demo[/]: lab running on {escape(ready['onprem_url'])} "
                      f"(on-prem) and {escape(ready['online_url'])} (Exchange Online via a jump host)",
                      highlight=False)
            profile = lab_profile_from_ready("lab", ready)
            session = connect(profile)
            try:
                context = DemoContext(app=app, session=session, profile=profile, lab=lab, ready=ready,
                                      workdir=workdir, journal_path=workdir / "journal.sqlite")
                for number, step in enumerate(steps, 1):
                    out.rule(f"[bold]{number}. {escape(step.title)}", align="left")
                    try:
                        results[step.title] = step.func(context)
                        items.append({"step": step.title, "outcome": "done", "detail": None,
                                      "result": results[step.title]})
                    except HybridkitError as exc:
                        failures.append(step.title)
                        items.append({"step": step.title, "outcome": "failed", "detail": str(exc), "result": None})
                        out.print(f"[bold red]step failed:[/] {escape(str(exc))}", highlight=False)
                results["wsman_requests"] = session.request_count
            finally:
                session.close()
        finally:
            lab.stop()
    if app.json:
        summary: dict[str, int] = {}
        for item in items:
            summary[item["outcome"]] = summary.get(item["outcome"], 0) + 1
        emit_json(app, {"items": items, "summary": summary, "wsman_requests": results.get("wsman_requests", 0),
                        "workdir": str(workdir) if workdir_option is not None else None, "warnings": []})
    if failures:
        out.print(f"[bold red]{len(failures)} demo step(s) failed:[/] {escape(', '.join(failures))}")
        raise typer.Exit(1)
    out.print(f"[bold green]Demo complete[/]: {len(steps)} steps against the lab "
              f"({results.get('wsman_requests', 0)} WSMan requests on the demo's own session).", highlight=False)
    if workdir_option is None:
        out.print("[dim]The demo's files were in a temporary folder, now removed; "
                  "run `hybridkit demo --workdir DIR` to keep them.[/]", highlight=False)
    else:
        out.print(f"The demo's files are in {escape(str(workdir))}.", highlight=False)
