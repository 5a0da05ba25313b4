"""Connection profiles from ``hybridkit.toml``.

The file is found, in order, at ``--config``, ``$HYBRIDKIT_CONFIG``, ``./hybridkit.toml``, then the user config
directory (``~/.config/hybridkit/hybridkit.toml`` on Linux, ``~/Library/Application Support/hybridkit`` on macOS,
``%APPDATA%\\hybridkit`` on Windows). Three kinds of profile::

    [profiles.onprem]            # Exchange Server: http(s)://server/PowerShell, Microsoft.Exchange
    kind = "onprem"
    server = "ex01.contoso.local"
    auth = "kerberos"            # kerberos | negotiate | ntlm | basic | credssp

    [profiles.online]            # Exchange Online through a Windows jump host over WinRM
    kind = "online"
    server = "jump01.contoso.local"
    app_id = "..."; certificate_thumbprint = "..."; organization = "contoso.onmicrosoft.com"

    [profiles.lab]               # the embedded lab (``hybridkit lab serve --ready-file F``)
    kind = "lab"
    ready_file = ".hybridkit/lab.json"

Secrets never come from argv: a profile names an environment variable (``password_env``); otherwise the OS
keyring is asked (service ``hybridkit``, user ``<profile>:<username>``) when the ``keyring`` package is installed;
otherwise a hidden prompt when stdin is a terminal.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hybridkit.errors import ConfigError, InputError
from hybridkit.ps import DEFAULT_MAX_SHELLS, Connection, OnlineConnect, Secret
from hybridkit.ps import _kerberos

__all__ = [
    "AUTH_METHODS",
    "Config",
    "Connection",
    "OnlineConnect",
    "PROFILE_KINDS",
    "Profile",
    "check_sides",
    "config_candidates",
    "find_config",
    "load_config",
    "resolve_connection",
    "resolve_password",
    "user_config_dir",
]

PROFILE_KINDS = ("onprem", "online", "lab")
AUTH_METHODS = ("kerberos", "negotiate", "ntlm", "basic", "credssp")
EXCHANGE_VERSIONS = ("2010", "2013", "2016", "2019", "SE", "online")  # SE: Exchange Server Subscription Edition
DEFAULT_SHELL_LIMIT = 18  # Exchange on-prem PowerShellMaxConcurrency per user
_NOTHING_CONFIGURED = (
    "no connection profile is configured. Run `hybridkit profiles init` to write a commented hybridkit.toml, "
    "or `hybridkit demo` to try the tool against the built-in lab"
)


def user_config_dir() -> Path:
    """The platform's per-user config directory for hybridkit."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "hybridkit"


def config_candidates(explicit: Path | None = None) -> list[Path]:
    """Where a hybridkit.toml is looked for, in order."""
    if explicit is not None:
        return [explicit]
    paths = []
    env = os.environ.get("HYBRIDKIT_CONFIG")
    if env:
        return [Path(env)]
    paths.append(Path.cwd() / "hybridkit.toml")
    paths.append(user_config_dir() / "hybridkit.toml")
    return paths


def find_config(explicit: Path | None = None) -> Path | None:
    """The first existing config file; an explicit path (or ``$HYBRIDKIT_CONFIG``) must exist."""
    candidates = config_candidates(explicit)
    if explicit is not None or os.environ.get("HYBRIDKIT_CONFIG"):
        if not candidates[0].is_file():
            raise ConfigError(f"{candidates[0]}: config file not found")
        return candidates[0]
    return next((p for p in candidates if p.is_file()), None)


@dataclasses.dataclass(frozen=True)
class Profile:
    """One named connection profile, as written in hybridkit.toml (the password only once resolved)."""

    name: str
    kind: str
    server: str = ""
    port: int | None = None
    https: bool = True
    path: str = "/PowerShell"
    configuration: str = "Microsoft.Exchange"
    auth: str = "kerberos"
    username: str | None = None
    password_env: str | None = None
    password: Secret | None = None
    cert_validation: bool = True
    ca_bundle: str | None = None
    exchange_version: str = "2019"
    app_id: str | None = None
    certificate_thumbprint: str | None = None
    organization: str | None = None
    ready_file: str | None = None
    endpoint: str = "onprem"  # lab only: which lab endpoint (onprem or online)
    allow_unencrypted: bool = False
    max_shells: int = DEFAULT_MAX_SHELLS
    shell_limit: int = DEFAULT_SHELL_LIMIT
    chunk_size: int = 500
    connection_timeout: int = 30
    operation_timeout: int = 20
    read_timeout: int = 30
    # Kerberos (hybridkit.ps._kerberos): realm for a bare username, SPN service/host overrides, krb5.conf path.
    realm: str | None = None
    spn_service: str | None = None
    spn_hostname: str | None = None
    krb5_config: str | None = None

    @property
    def side(self) -> str:
        """The side of the hybrid it reaches: ``online`` (Exchange Online, or the lab's jump host) or ``onprem``."""
        online = self.kind == "online" or (self.kind == "lab" and self.endpoint == "online")
        return "online" if online else "onprem"

    def redacted(self) -> dict[str, Any]:
        """The profile as plain data with secrets masked (for ``profiles show`` and JSON output)."""
        data = dataclasses.asdict(self)
        data["password"] = "****" if self.password is not None else None
        return {k: v for k, v in data.items() if v is not None}

    @property
    def endpoint_url(self) -> str:
        """The URL the profile points at (lab profiles: as far as known without reading the ready file)."""
        if self.kind == "lab" and not self.server:
            return f"lab ({self.ready_file or 'embedded'})"
        scheme = "https" if self.https else "http"
        port = f":{self.port}" if self.port else ""
        return f"{scheme}://{self.server}{port}{self.path}"


@dataclasses.dataclass(frozen=True)
class Config:
    """A loaded hybridkit.toml: its path, profiles by name, and the default profile's name."""

    path: Path | None
    profiles: dict[str, Profile]
    default_profile: str | None = None

    def profile(self, name: str | None = None) -> Profile:
        """The named profile, else the default, else the only one; ConfigError otherwise."""
        if not self.profiles:
            raise ConfigError(_NOTHING_CONFIGURED)
        chosen = name or self.default_profile
        if chosen is None:
            if len(self.profiles) == 1:
                return next(iter(self.profiles.values()))
            raise ConfigError(
                f"{self.path}: several profiles ({', '.join(self.profiles)}) and no default_profile; use --profile"
            )
        try:
            return self.profiles[chosen]
        except KeyError:
            raise ConfigError(
                f"{self.path}: no profile {chosen!r} (have: {', '.join(self.profiles) or 'none'})"
            ) from None


_FIELDS = {f.name: f for f in dataclasses.fields(Profile)}
_TYPES: dict[str, tuple[type, ...]] = {
    "port": (int,),
    "https": (bool,),
    "cert_validation": (bool,),
    "allow_unencrypted": (bool,),
    "max_shells": (int,),
    "shell_limit": (int,),
    "chunk_size": (int,),
    "connection_timeout": (int,),
    "operation_timeout": (int,),
    "read_timeout": (int,),
    "exchange_version": (str, int),  # "2019" or 2019 alike
}


_PATH_FIELDS = ("ready_file", "ca_bundle", "krb5_config")


def _profile_from_table(name: str, table: Mapping[str, Any], where: str) -> Profile:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: [profiles.{name}] must be a table")
    kind = table.get("kind")
    if kind not in PROFILE_KINDS:
        raise ConfigError(f"{where}: profile {name!r}: kind must be one of {', '.join(PROFILE_KINDS)} (got {kind!r})")
    if "password" in table:
        raise ConfigError(
            f"{where}: profile {name!r}: do not write passwords in hybridkit.toml; "
            "name an environment variable with password_env, or use the OS keyring"
        )
    values: dict[str, Any] = {"name": name}
    if kind == "online":
        values.update(path="/wsman", configuration="Microsoft.PowerShell", exchange_version="online")
    if kind == "lab":
        values.update(https=False, auth="basic", allow_unencrypted=True)
    for key, value in table.items():
        if key not in _FIELDS or key in ("name", "password"):
            raise ConfigError(f"{where}: profile {name!r}: unknown setting {key!r}")
        expected = _TYPES.get(key, (str,))
        if isinstance(value, bool) and bool not in expected or not isinstance(value, expected):
            raise ConfigError(f"{where}: profile {name!r}: {key} must be {expected[0].__name__}")
        values[key] = value
    if "exchange_version" in values:
        version = str(values["exchange_version"]).strip()
        values["exchange_version"] = version.upper() if version.upper() == "SE" else version
    if isinstance(values.get("server"), str):
        values.update(_server_settings(values["server"], table, f"{where}: profile {name!r}"))
    for key in _PATH_FIELDS:  # relative paths are relative to the hybridkit.toml that names them
        if isinstance(values.get(key), str) and values[key]:
            path = Path(values[key]).expanduser()
            values[key] = str(path if path.is_absolute() else (Path(where).resolve().parent / path))
    profile = Profile(**values)
    _validate(profile, where)
    return profile


def _server_settings(server: str, table: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """``server`` as written: a host name (as is), or a URL whose scheme, host, port and path are taken from it.

    ``server = "https://ex01.contoso.local/PowerShell"`` is what people copy from the Exchange docs; it becomes
    https, ex01.contoso.local, the scheme's port, /PowerShell. A setting written beside it that says otherwise
    (``https = false``, another ``port`` or ``path``) is refused rather than guessed.
    """
    text = server.strip()
    if "://" not in text:
        if "/" in text or "\\" in text:
            raise ConfigError(f"{prefix}: server must be a host name (ex01.contoso.local) or a URL "
                              f"(https://ex01.contoso.local/PowerShell), not {server!r}")
        return {"server": text}
    url = urlsplit(text)
    scheme = url.scheme.lower()
    if scheme not in ("http", "https"):
        raise ConfigError(f"{prefix}: server URL must start with https:// or http:// (got {server!r})")
    if url.username or url.password:
        raise ConfigError(f"{prefix}: server URL must not carry a user or password; use username and password_env")
    if url.query or url.fragment:
        raise ConfigError(f"{prefix}: server URL must not have a query or fragment (got {server!r})")
    try:
        port = url.port
    except ValueError:
        raise ConfigError(f"{prefix}: server URL has a bad port (got {server!r})") from None
    if not url.hostname:
        raise ConfigError(f"{prefix}: server URL has no host name (got {server!r})")
    settings: dict[str, Any] = {"server": url.hostname, "https": scheme == "https"}
    if port is not None:
        settings["port"] = port
    if url.path.strip("/"):
        settings["path"] = "/" + url.path.strip("/")
    for key, value in settings.items():
        if key != "server" and key in table and table[key] != value:
            raise ConfigError(f"{prefix}: server URL {server!r} says {key} = {value!r} but the profile sets "
                              f"{key} = {table[key]!r}; keep one")
    return settings


def _validate(p: Profile, where: str) -> None:
    prefix = f"{where}: profile {p.name!r}"
    if p.kind != "lab" and not p.server:
        raise ConfigError(f"{prefix}: server is required")
    if p.auth not in AUTH_METHODS:
        raise ConfigError(f"{prefix}: auth must be one of {', '.join(AUTH_METHODS)} (got {p.auth!r})")
    if p.kind == "onprem" and p.exchange_version not in EXCHANGE_VERSIONS[:-1]:
        raise ConfigError(f"{prefix}: exchange_version must be 2010, 2013, 2016, 2019 or SE "
                          f"(got {p.exchange_version!r})")
    if p.kind == "online":
        missing = [k for k in ("app_id", "certificate_thumbprint", "organization") if not getattr(p, k)]
        if missing:
            raise ConfigError(f"{prefix}: online profiles need {', '.join(missing)} for Connect-ExchangeOnline")
    if p.kind == "lab" and not p.ready_file and not p.server:
        raise ConfigError(f"{prefix}: a lab profile needs ready_file (from `hybridkit lab serve --ready-file`)")
    if p.kind == "lab" and p.endpoint not in ("onprem", "online"):
        raise ConfigError(f"{prefix}: endpoint must be onprem or online")
    if not 1 <= p.max_shells < p.shell_limit:
        raise ConfigError(f"{prefix}: max_shells must be at least 1 and below shell_limit ({p.shell_limit})")
    if p.chunk_size < 1:
        raise ConfigError(f"{prefix}: chunk_size must be positive")
    if p.auth == "basic" and not p.https and not p.allow_unencrypted:
        raise ConfigError(
            f"{prefix}: basic auth over http sends the password in clear; use https, another auth, "
            "or set allow_unencrypted = true (labs only)"
        )
    if p.ca_bundle and not p.cert_validation:
        raise ConfigError(f"{prefix}: ca_bundle given but cert_validation = false")


def load_config(explicit: Path | None = None) -> Config:
    """Load hybridkit.toml (see the module docstring for where it is looked for); empty Config if none exists."""
    path = find_config(explicit)
    if path is None:
        return Config(path=None, profiles={})
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    tables = data.get("profiles", {})
    if not isinstance(tables, Mapping):
        raise ConfigError(f"{path}: [profiles] must be a table of profiles")
    profiles = {name: _profile_from_table(name, table, str(path)) for name, table in tables.items()}
    default = data.get("default_profile")
    if default is not None and default not in profiles:
        raise ConfigError(f"{path}: default_profile {default!r} is not a profile")
    return Config(path=path, profiles=profiles, default_profile=default)


def resolve_password(profile: Profile, *, interactive: bool | None = None) -> Secret | None:
    """The profile's password: already set, from ``password_env``, the OS keyring, or a hidden prompt.

    Kerberos with no username uses the ticket cache and needs no password (returns None).
    """
    if profile.password is not None:
        return profile.password
    if profile.password_env:
        value = os.environ.get(profile.password_env)
        if value is None:
            raise ConfigError(f"profile {profile.name!r}: environment variable {profile.password_env} is not set")
        return Secret(value)
    if profile.username is None:
        if profile.auth in ("kerberos", "negotiate"):
            return None
        raise ConfigError(f"profile {profile.name!r}: {profile.auth} auth needs a username")
    try:
        import keyring  # type: ignore[import-not-found]
    except ImportError:
        keyring = None
    if keyring is not None:
        try:
            stored = keyring.get_password("hybridkit", f"{profile.name}:{profile.username}")
        except Exception:  # noqa: BLE001 - any keyring backend failure just means "not there"
            stored = None
        if stored is not None:
            return Secret(stored)
    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        raise ConfigError(
            f"profile {profile.name!r}: no password: set password_env in the profile (and that variable), "
            "store it in the OS keyring, or run from a terminal to be prompted"
        )
    return Secret(getpass.getpass(f"Password for {profile.username} ({profile.name}): "))


def read_ready_file(path: Path) -> dict[str, Any]:
    """The JSON a running lab wrote with ``--ready-file``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: lab ready file not found; is `hybridkit lab serve --ready-file {path}` running?") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the lab ready file: {exc}") from exc
    if not isinstance(data, dict) or "onprem_url" not in data:
        raise ConfigError(f"{path}: not a lab ready file")
    return data


def lab_profile_from_ready(name: str, ready: Mapping[str, Any], *, endpoint: str = "onprem", **overrides: Any) -> Profile:
    """A resolved lab profile (password included) for the lab described by ``ready``."""
    url = urlsplit(str(ready["onprem_url"] if endpoint == "onprem" else ready["online_url"]))
    ssl = url.scheme == "https"
    values: dict[str, Any] = dict(
        name=name,
        kind="lab",
        server=url.hostname or "127.0.0.1",
        port=url.port or (443 if ssl else 80),
        https=ssl,
        path=url.path or "/PowerShell",
        configuration="Microsoft.Exchange" if endpoint == "onprem" else "Microsoft.PowerShell",
        auth=str(ready.get("auth") or "basic"),
        username=str(ready["username"]),
        password=Secret(str(ready["password"])),
        ca_bundle=str(ready["ca_path"]) if ssl and ready.get("ca_path") else None,
        allow_unencrypted=True,
        endpoint=endpoint,
        exchange_version="online" if endpoint == "online" else str(ready.get("version", "2019")),
    )
    if endpoint == "online":
        values.update(
            app_id=str(ready["online_app_id"]),
            certificate_thumbprint=str(ready["online_certificate_thumbprint"]),
            organization=str(ready["online_organization"]),
        )
    values.update(overrides)
    return Profile(**values)


def check_sides(onprem: Profile, online: Profile) -> None:
    """Refuse swapped profiles: ``--onprem`` must reach Exchange Server, ``--online`` Exchange Online (or the lab's)."""
    for flag, profile, wanted in (("--onprem", onprem, "onprem"), ("--online", online, "online")):
        if profile.side != wanted:
            what = "an Exchange Online" if wanted == "onprem" else "an on-premises Exchange"
            raise InputError(f"{flag} {profile.name}: that is {what} profile (were --onprem and --online swapped?)")


def resolve_connection(profile: Profile, *, interactive: bool | None = None) -> Connection:
    """Turn a profile into connection settings: read a lab's ready file, resolve the password."""
    if profile.kind == "lab" and profile.ready_file and not profile.server:
        ready = read_ready_file(Path(profile.ready_file))
        keep = {k: getattr(profile, k) for k in ("max_shells", "shell_limit", "chunk_size", "connection_timeout",
                                                  "operation_timeout", "read_timeout")}
        profile = lab_profile_from_ready(profile.name, ready, endpoint=profile.endpoint, **keep)
        profile = dataclasses.replace(profile, **_kerberos.lab_kerberos_overrides(profile.auth, ready))
    password = resolve_password(profile, interactive=interactive)
    ssl = profile.https
    online = None
    if profile.app_id and profile.certificate_thumbprint and profile.organization:
        online = OnlineConnect(profile.app_id, profile.certificate_thumbprint, profile.organization)
    cert_validation: bool | str = profile.cert_validation
    if profile.ca_bundle and profile.cert_validation:
        cert_validation = str(Path(profile.ca_bundle).expanduser())
    encryption = "auto"
    if not ssl and profile.auth in ("basic",):
        encryption = "never"  # allowed by _validate only with allow_unencrypted
    connection = Connection(
        profile_name=profile.name,
        kind=profile.kind,
        server=profile.server,
        port=profile.port or (443 if ssl else 80),
        ssl=ssl,
        path=profile.path,
        configuration=profile.configuration,
        auth=profile.auth,
        username=profile.username,
        password=password,
        cert_validation=cert_validation,
        online=online,
        max_shells=profile.max_shells,
        chunk_size=profile.chunk_size,
        connection_timeout=profile.connection_timeout,
        operation_timeout=profile.operation_timeout,
        read_timeout=profile.read_timeout,
        encryption=encryption,
    )
    return dataclasses.replace(connection, **_kerberos.kerberos_connection_fields(profile))
