"""``hybridkit lab serve``: run the Exchange lab until interrupted.

Thin: parse flags into ``LabOptions``, start ``LabServer``, print the endpoints, credentials and CA path (and
write them to ``--ready-file`` once the server accepts connections), wait for SIGINT/SIGTERM, save state, exit 0.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from hybridkit.cli_support import app_context, emit_json
from hybridkit.errors import ConfigError, InputError
from hybridkit.lab.cli_pwsh import pwsh
from hybridkit.lab.server import LabOptions, LabServer
from hybridkit.lab.transport._kerberos import KerberosUnavailable

__all__ = ["app", "serve"]

app = typer.Typer(help="A local Exchange lab (WSMan/PSRP) emulating on-prem Exchange and Exchange Online.",
                  no_args_is_help=True)


app.command("pwsh")(pwsh)


@app.callback()
def _lab() -> None:
    """A local Exchange lab (WSMan/PSRP) emulating on-prem Exchange and Exchange Online."""


def _password(env_var: str | None) -> str | None:
    if env_var is None:
        return None
    value = os.environ.get(env_var)
    if not value:
        raise InputError(f"--password-env {env_var}: the environment variable is not set or empty")
    return value


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port; 0 picks a free one.")] = 0,
    tls: Annotated[bool, typer.Option("--tls", help="HTTPS with a lab-generated CA (see --ca-path).")] = False,
    auth: Annotated[str, typer.Option(help="basic, or ntlm (Negotiate with WinRM message encryption), or kerberos "
                                           "(WWW-Authenticate: Kerberos, like Exchange) or negotiate (SPNEGO).")] = "basic",
    org: Annotated[Optional[str], typer.Option(
        help="demo, empty or synthetic:N (default demo; not used when --state names an existing file).")] = None,
    state: Annotated[Optional[Path], typer.Option(
        help="Load the organisation from this file if it exists; every change is saved as it happens (FILE.journal "
             "beside it, folded into FILE on exit), so even a killed lab keeps what it acknowledged.")] = None,
    version: Annotated[Optional[str], typer.Option(
        help="On-prem Exchange version: 2010, 2013, 2016, 2019 or SE (default 2019; an existing --state keeps its "
             "own).")] = None,
    latency_ms: Annotated[float, typer.Option(help="Delay added to every WSMan request.")] = 0.0,
    fault_rate: Annotated[float, typer.Option(help="Probability of a transient fault per request (0..1).")] = 0.0,
    fault_kinds: Annotated[str, typer.Option(
        help="Comma-separated faults to draw from: quota, busy, drop, throttle (the default set), and lost-reply "
             "(the command runs but its answer is lost with the connection).")] = "quota,busy,drop,throttle",
    max_shells: Annotated[Optional[int], typer.Option(help="Open shells allowed per user.")] = None,
    time_scale: Annotated[float, typer.Option(help="Virtual clock speed (1.0 = real time).")] = 1.0,
    audit: Annotated[Optional[Path], typer.Option(help="JSONL audit log of requests and pipelines.")] = None,
    username: Annotated[str, typer.Option(help="The lab user name.")] = "labadmin",
    password_env: Annotated[
        Optional[str], typer.Option(help="Environment variable holding the lab password (else one is generated).")
    ] = None,
    ready_file: Annotated[Optional[Path], typer.Option(help="Write endpoints and credentials here (JSON, 0600).")] = None,
    ca_path: Annotated[Optional[Path], typer.Option(help="With --tls: where to write the CA certificate PEM.")] = None,
    kdc: Annotated[bool, typer.Option("--kdc", help="Start a throwaway Kerberos realm and KDC on loopback "
                                      "(with --auth kerberos|negotiate); its krb5.conf, principal and password "
                                      "go to the ready file.")] = False,
) -> None:
    """Serve the lab until interrupted (SIGINT/SIGTERM save state and exit 0)."""
    app_ctx = app_context(ctx)
    if not 0.0 <= fault_rate <= 1.0:
        raise InputError("--fault-rate must be between 0 and 1")
    if not 0 <= port <= 65535:
        raise InputError(f"--port must be between 0 (a free port) and 65535 (got {port})")
    _check_flags(org, version, state, latency_ms, max_shells, time_scale)
    version = "SE" if version is not None and version.upper() == "SE" else version
    org, version, loaded = _from_state(state, org, version)
    if tls and ca_path is None and ready_file is not None:
        ca_path = ready_file.with_name(ready_file.stem + "-ca.pem")
    for flag, path in (("--ready-file", ready_file), ("--ca-path", ca_path), ("--audit", audit)):
        if path is not None:  # the lab writes these once it runs: a bad place is bad input now, not a bind error
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(f"{flag} {path}: cannot write there ({exc.strerror or exc})") from None
    try:
        options = LabOptions(
            host=host, port=port, tls=tls, auth=auth, org=org, state=state, version=version, latency_ms=latency_ms,
            fault_rate=fault_rate, fault_kinds=tuple(k.strip() for k in fault_kinds.split(",") if k.strip()),
            max_shells=max_shells, time_scale=time_scale, audit=audit, username=username,
            password=_password(password_env), ready_file=ready_file, ca_path=ca_path, kdc=kdc,
        )
        if kdc and auth not in ("kerberos", "negotiate"):
            raise ValueError("--kdc needs --auth kerberos or --auth negotiate")
    except ValueError as exc:
        raise InputError(str(exc)) from None
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server = LabServer(options).start()
        except ValueError as exc:  # the organisation could not be built or loaded
            raise InputError(str(exc)) from None
        except OSError as exc:
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else f" on {host}:{port}"
            raise ConfigError(f"cannot start the lab{where}: {exc.strerror or exc}") from None
        except KerberosUnavailable as exc:  # --kdc or --auth kerberos without the KDC tools, gssapi or a keytab
            raise ConfigError(str(exc)) from None
        try:
            info = server.ready_info()
            if app_ctx.json:
                emit_json(app_ctx, {**info, "password": "****", **({"kerberos_password": "****"} if kdc else {}),
                                    "pwsh": {**info["pwsh"], "certificate_password": "****"},
                                    "ready_file": str(ready_file) if ready_file else None})
            else:
                app_ctx.console.print(_table(info, ready_file, password_env))
                if loaded:
                    app_ctx.err_console.print(f"Organisation loaded from {state} (Exchange {version}).")
                app_ctx.err_console.print("Lab running; press Ctrl+C to stop.")
            while not stop.wait(0.5):
                pass
        finally:
            try:
                server.stop()
            except OSError as exc:
                raise ConfigError(f"could not save the lab state to {state}: {exc.strerror or exc}") from None
            finally:
                if ready_file is not None:  # a stopped lab's endpoints and password must not look usable
                    Path(ready_file).unlink(missing_ok=True)
        app_ctx.err_console.print("Lab stopped" + (f"; state saved to {state}" if state else "") + ".")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_VERSIONS = ("2010", "2013", "2016", "2019", "SE")
_ORG = re.compile(r"demo|empty|synthetic:\d+")


def _check_flags(org: str | None, version: str | None, state: Path | None, latency_ms: float,
                 max_shells: int | None, time_scale: float) -> None:
    """Refuse flag values the lab would only trip over later (after start, or when saving at the end)."""
    if version is not None and version.upper() not in _VERSIONS:
        raise InputError(f"--version must be one of {', '.join(_VERSIONS)} (got {version!r})")
    if org is not None and not _ORG.fullmatch(org):
        raise InputError(f"--org must be demo, empty or synthetic:N (got {org!r})")
    if state is not None and not Path(state).parent.is_dir():
        raise InputError(f"--state {state}: directory {Path(state).parent} does not exist (the state is saved there "
                         "as it changes)")
    if latency_ms < 0:
        raise InputError("--latency-ms must be 0 or more")
    if max_shells is not None and max_shells < 1:
        raise InputError("--max-shells must be 1 or more")
    if time_scale < 0:
        raise InputError("--time-scale must be 0 (a frozen clock) or more")


def _from_state(state: Path | None, org: str | None, version: str | None) -> tuple[str, str, bool]:
    """The org and version to serve: an existing state file brings its own (a different --version is refused)."""
    if state is None or not Path(state).exists():
        return org or "demo", version or "2019", False
    try:
        saved = str(json.loads(Path(state).read_text(encoding="utf-8")).get("version") or "2019")
    except (OSError, ValueError, AttributeError) as exc:
        raise InputError(f"--state {state}: not a lab state file ({exc})") from None
    if version is not None and version.upper() != saved.upper():
        raise InputError(f"--state {state} holds an Exchange {saved} organisation, so --version {version} would be "
                         "ignored; drop --version, or start from a new --state file")
    return org or "demo", saved, True


def _table(info: dict[str, Any], ready_file: Path | None = None, password_env: str | None = None) -> Table:
    table = Table(title="hybridkit lab", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    # A password the user chose (--password-env) or that the ready file holds is not echoed to the terminal.
    in_file = f"(in {ready_file})" if ready_file else None
    hidden = {"password": f"(from ${password_env})" if password_env else in_file, "kerberos_password": in_file}
    pwsh = info.get("pwsh") or {}
    info = {**info, "pwsh_socket": pwsh.get("socket"), "pwsh_certificate_file": pwsh.get("certificate_file")}
    for key in ("onprem_url", "online_url", "auth", "username", "password", "ca_path", "audit_path",
                "online_app_id", "online_certificate_thumbprint", "online_organization", "pwsh_socket",
                "pwsh_certificate_file", "krb5_config", "kerberos_principal", "kerberos_password"):
        if info.get(key) not in (None, ""):
            value = hidden.get(key) or str(info[key])
            table.add_row(key, value)
    return table
