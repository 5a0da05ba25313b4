"""``hybridkit profiles init|list|show``: write and inspect connection profiles (secrets always redacted)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

import datetime as dt

from hybridkit.cli_support import app_context, emit_json, load_app_config
from hybridkit.config import Profile, lab_profile_from_ready, read_ready_file, user_config_dir
from hybridkit.errors import ConfigError, InputError
from hybridkit.ps import quote
from hybridkit.templates import load_template

__all__ = ["TEMPLATE", "app"]

app = typer.Typer(help="Connection profiles in hybridkit.toml.", no_args_is_help=True)

TEMPLATE = """\
# hybridkit.toml: connection profiles. Pick one with `hybridkit --profile NAME ...`.
# Relative paths (ready_file, ca_bundle, krb5_config, certificate_path, ssh_identity, ssh_config) are relative
# to this file's folder.
# Passwords never go in this file: name an environment variable (password_env), store the password in the
# OS keyring (service "hybridkit", user "<profile>:<username>", when the keyring package is installed), or
# be prompted when running from a terminal.

default_profile = "onprem"

# Exchange Server remote PowerShell (IIS): http(s)://<server>/PowerShell, configuration Microsoft.Exchange.
[profiles.onprem]
kind = "onprem"
server = "ex01.contoso.local"     # or the URL: "https://ex01.contoso.local/PowerShell"
# port = 443                      # default 443 with https, 80 without
https = true
path = "/PowerShell"
configuration = "Microsoft.Exchange"
auth = "kerberos"                 # kerberos | negotiate | ntlm | basic | credssp
# username = "svc-migration@CONTOSO.LOCAL"   # Kerberos: user@REALM, realm in upper case (not CONTOSO\\user);
#                                           # no username = your ticket cache (kinit)
# spn_hostname = "ex01.contoso.local"   # Kerberos: the server's real name when server is an alias or an IP
# krb5_config = "/etc/krb5.conf"        # Kerberos: the krb5.conf naming your realm and its KDCs
# password_env = "HYBRIDKIT_ONPREM_PASSWORD"
cert_validation = true            # keep it on; point ca_bundle at your internal CA instead
# ca_bundle = "/etc/ssl/certs/contoso-root-ca.pem"
exchange_version = "2019"         # 2010 | 2013 | 2016 | 2019 | SE
max_shells = 4                    # runspace pools at once; must stay below shell_limit (Exchange: 18 per user)
# chunk_size = 500                # pipeline input items per pipeline

# Exchange Online through a Windows jump host reached over WinRM; each new runspace first runs
# Connect-ExchangeOnline -AppId -CertificateThumbprint -Organization (app-only certificate auth).
[profiles.online]
kind = "online"
server = "jump01.contoso.local"
https = true
# port = 5986
path = "/wsman"
configuration = "Microsoft.PowerShell"
auth = "negotiate"
username = "CONTOSO\\\\svc-migration"
password_env = "HYBRIDKIT_JUMP_PASSWORD"
app_id = "00000000-0000-0000-0000-000000000000"
certificate_thumbprint = "0000000000000000000000000000000000000000"
organization = "contoso.onmicrosoft.com"

# Exchange Online from PowerShell 7 with the ExchangeOnlineManagement module, no Windows jump host: hybridkit runs
# `pwsh -s` here and speaks PowerShell remoting (PSRP) over its stdin/stdout; each new runspace first runs
# Connect-ExchangeOnline with app-only certificate auth. Needs pwsh 7 and Install-Module ExchangeOnlineManagement.
[profiles.pwsh]
kind = "pwsh"
command = ["pwsh", "-NoLogo", "-NoProfile", "-s"]   # the default; give the full path if pwsh is not on PATH
# Or run PowerShell 7 on another host over SSH (`ssh -s HOST powershell`, through your OpenSSH client; host keys
# are checked against known_hosts as OpenSSH does, and it never prompts). The host's sshd_config needs
# `Subsystem powershell /usr/bin/pwsh -sshs -NoLogo` (Windows: c:/progra~1/powershell/7/pwsh.exe -sshs -NoLogo).
# Use ssh instead of command, not both.
# ssh = "svc-migration@mgmt01.contoso.local"
# ssh_port = 22
# ssh_identity = "~/.ssh/id_ed25519"     # a key without a passphrase, or one loaded in ssh-agent
# ssh_config = "~/.ssh/config"           # passed as ssh -F (e.g. to use a known_hosts file of your own)
app_id = "00000000-0000-0000-0000-000000000000"
organization = "contoso.onmicrosoft.com"
# The app's certificate as a PFX file (works on Linux, macOS and Windows; over ssh it is a path on that host),
# its password in the environment variable named here (never in this file)...
certificate_path = "exo-app.pfx"
certificate_password_env = "HYBRIDKIT_EXO_PFX_PASSWORD"
# ...or, on a Windows host over ssh, a certificate in its store instead of certificate_path:
# certificate_thumbprint = "0000000000000000000000000000000000000000"

# The embedded lab: start it with `hybridkit lab serve --ready-file .hybridkit/lab.json`.
[profiles.lab]
kind = "lab"
ready_file = ".hybridkit/lab.json"
endpoint = "onprem"               # onprem (/PowerShell) or online (/wsman + Connect-ExchangeOnline)
"""


_INIT_PROFILES = ("onprem", "online", "pwsh", "lab")


@app.command("init")
def init(
    ctx: typer.Context,
    path: Annotated[Optional[Path], typer.Argument(help="Where to write (default ./hybridkit.toml).")] = None,
    user: Annotated[bool, typer.Option("--user", help="Write to the user config directory instead.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented hybridkit.toml with one profile of each kind (onprem, online, pwsh, lab)."""
    app_ctx = app_context(ctx)
    if path is not None and user:
        raise InputError("give a path or --user, not both")
    target = (user_config_dir() / "hybridkit.toml") if user else (path or Path("hybridkit.toml"))
    if target.exists() and not force:
        raise InputError(f"{target} exists; use --force to overwrite it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(TEMPLATE, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write: {exc}") from exc
    if app_ctx.json:
        emit_json(app_ctx, {"written": str(target), "items": [
            {"profile": name, "kind": name, "outcome": "created", "detail": None} for name in _INIT_PROFILES],
            "summary": {"created": len(_INIT_PROFILES)}, "warnings": []})
    else:
        app_ctx.console.print(f"Wrote [bold]{target}[/] with profiles onprem, online, pwsh and lab. Edit it, then run "
                              "`hybridkit connect test --profile onprem`.")


@app.command("list")
def list_profiles(ctx: typer.Context) -> None:
    """List the configured profiles."""
    app_ctx = app_context(ctx)
    config = load_app_config(app_ctx)
    if not config.profiles:
        config.profile(None)  # raises the "nothing configured" ConfigError
    rows = [
        {"name": p.name, "kind": p.kind, "endpoint": p.endpoint_url,
         "auth": "app certificate" if p.kind == "pwsh" else p.auth, "username": p.username,
         "default": p.name == (config.default_profile or (p.name if len(config.profiles) == 1 else None))}
        for p in config.profiles.values()
    ]
    if app_ctx.json:
        summary: dict[str, int] = {}
        for row in rows:
            summary[str(row["kind"])] = summary.get(str(row["kind"]), 0) + 1
        emit_json(app_ctx, {"config": str(config.path), "items": rows, "summary": summary, "warnings": []})
        return
    table = Table(title=f"Profiles in {escape(str(config.path))}")
    # Wrap long endpoints and account names rather than cutting them: they are what tells two profiles apart.
    for column in ("name", "kind", "endpoint", "auth", "username"):
        table.add_column(column, overflow="fold", no_wrap=column in ("kind", "auth"))
    for row in rows:
        name = f"{row['name']} (default)" if row["default"] else row["name"]
        table.add_row(escape(name), row["kind"], escape(row["endpoint"]), row["auth"], escape(row["username"] or ""))
    app_ctx.console.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Argument(help="Profile (default: --profile or the default).")] = None,
) -> None:
    """Show one profile's settings (secrets redacted; where its password comes from)."""
    app_ctx = app_context(ctx)
    config = load_app_config(app_ctx)
    profile = config.profile(name or app_ctx.profile)
    data = profile.redacted()
    if profile.kind == "lab" and profile.ready_file and not profile.server:
        data.update(_lab_settings(profile))
    if profile.kind == "pwsh":
        data["transport"] = profile.endpoint_url
        data["certificate_password_source"] = (f"environment variable {profile.certificate_password_env}"
                                               if profile.certificate_password_env else "none")
    elif profile.password_env:
        data["password_source"] = f"environment variable {profile.password_env}"
    elif profile.kind == "lab":
        data["password_source"] = "the lab's ready file"
    elif profile.username:
        data["password_source"] = "OS keyring, else a hidden prompt"
    else:
        data["password_source"] = "none (Kerberos ticket cache)"
    if app_ctx.json:
        emit_json(app_ctx, data)
        return
    table = Table(title=f"Profile {profile.name} ({config.path})", show_header=False)
    table.add_column("setting", style="bold")
    table.add_column("value")
    for key, value in data.items():
        table.add_row(key, str(value))
    app_ctx.console.print(table)


def _lab_settings(profile: Profile) -> dict[str, object]:
    """What a lab profile really connects to: the running lab's ready file, or how to start one."""
    try:
        ready = read_ready_file(Path(str(profile.ready_file)))
    except ConfigError:
        return {"lab": f"not running (no {profile.ready_file}; start `hybridkit lab serve --ready-file "
                       f"{profile.ready_file}`)"}
    live = lab_profile_from_ready(profile.name, ready, endpoint=profile.endpoint)
    settings: dict[str, object] = {"lab": f"running at {live.endpoint_url}"}
    for key in ("server", "port", "https", "path", "configuration", "auth", "username", "ca_bundle",
                "exchange_version", "allow_unencrypted"):
        settings[key] = getattr(live, key)
    return settings


def render_jumphost_script(profile: Profile, *, remoting_account: str | None = None,
                           now: dt.datetime | None = None) -> str:
    """The jump-host setup script (``ps_templates/jumphost-setup.ps1``) for an ``online`` profile."""
    if profile.kind != "online":
        raise InputError(f"profile {profile.name!r} is of kind {profile.kind}; the jump-host script is for "
                         "an online profile (a Windows jump host running Connect-ExchangeOnline)")
    missing = [k for k in ("app_id", "certificate_thumbprint", "organization") if not getattr(profile, k)]
    if missing:
        raise ConfigError(f"profile {profile.name!r} lacks {', '.join(missing)}")
    # `profiles init` writes all-zero placeholders: a script built from them could only fail on the jump host.
    placeholders = [k for k in ("app_id", "certificate_thumbprint")
                    if not str(getattr(profile, k)).replace("-", "").strip("0")]
    if placeholders:
        raise ConfigError(f"profile {profile.name!r} still has the placeholder {' and '.join(placeholders)} from "
                          "`profiles init`; set the app registration's values in hybridkit.toml first")
    account = remoting_account or profile.username
    if not account:
        raise InputError("name the WinRM account with --remoting-account (the profile has no username)")
    return load_template("jumphost-setup.ps1").substitute(
        generated=(now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC"),
        profile=_comment_safe(profile.name),
        server=_comment_safe(profile.server),
        app_id=quote(str(profile.app_id)),
        thumbprint=quote(str(profile.certificate_thumbprint)),
        organization=quote(str(profile.organization)),
        remoting_account=quote(account),
        ready_message=quote(f"Jump host ready. From your machine: hybridkit --profile {profile.name} connect test"),
    )


def _comment_safe(text: str) -> str:
    """Text for inside a <# ... #> block comment: nothing that could close it."""
    return text.replace("#>", "# >").replace("\n", " ")


@app.command("jumphost-script")
def jumphost_script(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Argument(help="An online profile (default: --profile or the default).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the script here instead of stdout.")] = None,
    remoting_account: Annotated[
        Optional[str], typer.Option("--remoting-account", help="The WinRM account (default: the profile's username).")
    ] = None,
) -> None:
    """Write the PowerShell script that prepares the Windows jump host for an online profile.

    It installs ExchangeOnlineManagement, imports the app certificate and lets the remoting account read its key, \
sets up WinRM over HTTPS, and checks Connect-ExchangeOnline once. Review it, then run it on the jump host.
    """
    app_ctx = app_context(ctx)
    profile = load_app_config(app_ctx).profile(name or app_ctx.profile)
    script = render_jumphost_script(profile, remoting_account=remoting_account)
    if out is None:
        app_ctx.console.out(script, highlight=False)
        return
    try:
        out.write_text(script, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{out}: cannot write: {exc}") from exc
    if app_ctx.json:
        emit_json(app_ctx, {"written": str(out), "profile": profile.name})
    else:
        app_ctx.console.print(f"Wrote [bold]{out}[/]: review it, then run it on {profile.server} as an administrator.")
