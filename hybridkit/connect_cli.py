"""``hybridkit connect test``: open a session through a profile and show who and what is on the other end."""

from __future__ import annotations

import time
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from hybridkit.cli_support import app_context, emit_json, profile_for
from hybridkit.config import Connection, Profile, resolve_connection
from hybridkit.errors import CommandFailed, TransportError
from hybridkit.ps import Command, Pipeline, PSObject, PSSession, negotiated, open_session

__all__ = ["ORGANIZATION_COLUMNS", "SERVER_COLUMNS", "app", "probe", "selected"]

app = typer.Typer(help="Check connections to Exchange.", no_args_is_help=True)


# The data diet: each read asks Exchange for exactly the columns shown (a whole Get-ExchangeServer object is
# hundreds of properties; Exchange's endpoint keeps the real Select-Object, KB 2922668).
ORGANIZATION_COLUMNS = ("Name",)
SERVER_COLUMNS = ("Name", "AdminDisplayVersion", "ServerRole")


def selected(command: Command, columns: tuple[str, ...]) -> Pipeline:
    """``command | Select-Object -Property <columns>``."""
    return Pipeline.of(command, Command.of("Select-Object", Property=list(columns)))


def _first(result_output: list[Any]) -> PSObject | None:
    return next((o for o in result_output if isinstance(o, PSObject)), None)


def probe(session: PSSession, *, online: bool) -> dict[str, Any]:
    """Org name, servers and a timed round trip (``Get-OrganizationConfig``), through an open session."""
    started = time.perf_counter()
    org = _first(session.run(selected(Command.of("Get-OrganizationConfig"), ORGANIZATION_COLUMNS)).output)
    rtt_ms = (time.perf_counter() - started) * 1000
    info: dict[str, Any] = {
        "organization": str(org.get("Name") or org) if org else None,
        "round_trip_ms": round(rtt_ms, 1),
    }
    if not online:
        try:
            servers = session.run(selected(Command.of("Get-ExchangeServer"), SERVER_COLUMNS)).output
        except CommandFailed:
            servers = []
        info["servers"] = [
            {"name": str(s.get("Name")), "version": str(s.get("AdminDisplayVersion") or ""),
             "roles": str(s.get("ServerRole") or "")}
            for s in servers if isinstance(s, PSObject)
        ]
    return info


def _how_reached(profile: Profile, connection: Connection) -> dict[str, str]:
    """Transport, endpoint, auth and account as ``connect test`` shows them.

    WinRM profiles: ``wsman`` and the URL. pwsh profiles: the process (``out-of-process: pwsh -NoLogo -NoProfile
    -s``) or ``ssh user@host``, and the app-only certificate Connect-ExchangeOnline uses.
    """
    if connection.process:
        online = connection.online
        certificate = (f"certificate file {online.certificate_file}" if online and online.certificate_file
                       else f"certificate thumbprint {online.certificate_thumbprint}" if online else "none")
        return {
            "transport": "ssh" if profile.ssh else "out-of-process",
            "endpoint": profile.endpoint_url,
            "configuration": connection.configuration,
            "auth": f"app-only ({certificate})",
            "account": f"app {online.app_id} in {online.organization}" if online else "",
            "certificate_validation": "ssh host keys (OpenSSH known_hosts)" if profile.ssh else "not applicable",
        }
    return {
        "transport": "wsman",
        "endpoint": connection.url,
        "configuration": connection.configuration,
        "auth": connection.auth,
        "account": connection.username or "(Kerberos ticket cache)",
        "certificate_validation": "CA bundle " + connection.cert_validation
        if isinstance(connection.cert_validation, str) else ("on" if connection.cert_validation else "OFF"),
    }


@app.command("test")
def test(
    ctx: typer.Context,
    profile: Annotated[Optional[str], typer.Option("--profile", "-p", help="Profile to test.")] = None,
) -> None:
    """Open a session and show the endpoint, server/organisation, account and round-trip time."""
    app_ctx = app_context(ctx)
    chosen = profile_for(app_ctx, profile)
    connection = resolve_connection(chosen)
    started = time.perf_counter()
    try:
        session = open_session(connection, max_pools=1)
    except TransportError as exc:
        if chosen.kind != "lab" or "refused" not in str(exc).lower():
            raise
        raise TransportError(f"nothing answers at {connection.url}: the lab that wrote {chosen.ready_file} is not "
                             "running any more (a lab killed without SIGINT/SIGTERM leaves its ready file); "
                             f"start it again with `hybridkit lab serve --ready-file {chosen.ready_file}`") from None
    try:
        open_ms = (time.perf_counter() - started) * 1000
        negotiated_info = dict(negotiated(session))  # Kerberos/NTLM: what was used
        info = probe(session, online=connection.online is not None)
        requests = session.request_count
    finally:
        session.close()
    data = {
        "profile": chosen.name,
        "kind": chosen.kind,
        **_how_reached(chosen, connection),
        "connect_ms": round(open_ms, 1),
        **negotiated_info,
        **info,
        # WSMan requests, or the packets sent to a pwsh process (each one waits for its acknowledgement)
        ("packets_sent" if connection.process else "wsman_requests"): requests,
        "warnings": [],
    }
    if app_ctx.json:
        emit_json(app_ctx, data)
        return
    table = Table(title=f"Connected: {chosen.name}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    for key in ("transport", "endpoint", "configuration", "auth", "account", "certificate_validation",
                "organization"):
        if key == "transport" and data["transport"] != "wsman":
            continue  # the endpoint row says it: "out-of-process: pwsh ..." or "ssh user@host"
        table.add_row(key.replace("_", " "), str(data.get(key) or ""))
    for key in negotiated_info:
        table.add_row(key, negotiated_info[key])
    if "servers" in data:
        table.add_row("servers", ", ".join(f"{s['name']} ({s['version']})" for s in data["servers"]) or "none visible")
    table.add_row("connect", f"{data['connect_ms']:.0f} ms")
    table.add_row("round trip", f"{data['round_trip_ms']:.0f} ms (Get-OrganizationConfig)")
    app_ctx.console.print(table)
