"""``Profile``: one named connection profile as written in hybridkit.toml, read and checked.

Four kinds of profile::

    [profiles.onprem]            # Exchange Server: http(s)://server/PowerShell, Microsoft.Exchange
    kind = "onprem"
    server = "ex01.contoso.local"
    auth = "kerberos"            # kerberos | negotiate | ntlm | basic | credssp

    [profiles.online]            # Exchange Online through a Windows jump host over WinRM
    kind = "online"
    server = "jump01.contoso.local"
    app_id = "..."; certificate_thumbprint = "..."; organization = "contoso.onmicrosoft.com"

    [profiles.eol]               # Exchange Online from PowerShell 7 run here (or on a host over SSH)
    kind = "pwsh"
    command = ["pwsh", "-NoLogo", "-NoProfile", "-s"]      # or: ssh = "admin@mgmt01" (``ssh -s HOST powershell``)
    app_id = "..."; organization = "contoso.onmicrosoft.com"
    certificate_path = "eol-app.pfx"; certificate_password_env = "EOL_PFX_PASSWORD"   # or certificate_thumbprint

    [profiles.lab]               # the embedded lab (``hybridkit lab serve --ready-file F``)
    kind = "lab"
    ready_file = ".hybridkit/lab.json"

A setting that is unknown, of the wrong type or contradicts another is a ``ConfigError`` naming the file and the
profile. Passwords are never written here (see ``hybridkit.config._secrets``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hybridkit.config._pwsh import DEFAULT_PWSH_COMMAND, check_pwsh_keys, command_argv, pwsh_transport, validate_pwsh
from hybridkit.errors import ConfigError
from hybridkit.ps import DEFAULT_MAX_SHELLS, Secret

__all__ = ["AUTH_METHODS", "DEFAULT_PWSH_COMMAND", "DEFAULT_SHELL_LIMIT", "EXCHANGE_VERSIONS", "PROFILE_KINDS", "Profile",
           "profile_from_table"]

PROFILE_KINDS = ("onprem", "online", "pwsh", "lab")
AUTH_METHODS = ("kerberos", "negotiate", "ntlm", "basic", "credssp")
EXCHANGE_VERSIONS = ("2010", "2013", "2016", "2019", "SE", "online")  # SE: Exchange Server Subscription Edition
DEFAULT_SHELL_LIMIT = 18  # Exchange on-prem PowerShellMaxConcurrency per user


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
    # pwsh (hybridkit.config._pwsh): the process speaking PSRP on stdin/stdout, or the SSH host whose powershell
    # subsystem does; the app certificate as a PFX file (password from an environment variable) or a thumbprint.
    command: tuple[str, ...] = DEFAULT_PWSH_COMMAND
    ssh: str | None = None
    ssh_port: int | None = None
    ssh_identity: str | None = None
    ssh_config: str | None = None
    certificate_path: str | None = None
    certificate_password_env: str | None = None

    def redacted(self) -> dict[str, Any]:
        """The profile as plain data with secrets masked (for ``profiles show`` and JSON output)."""
        data = dataclasses.asdict(self)
        data["password"] = "****" if self.password is not None else None
        if self.kind == "pwsh":  # a process, not a WinRM endpoint: its WSMan settings mean nothing
            data["command"] = list(self.command)
            for key in _WSMAN_ONLY:
                data.pop(key, None)
        else:
            data.pop("command")
        return {k: v for k, v in data.items() if v is not None}

    @property
    def endpoint_url(self) -> str:
        """The URL the profile points at (lab profiles: as far as known without reading the ready file)."""
        if self.kind == "lab" and not self.server:
            return f"lab ({self.ready_file or 'embedded'})"
        if self.kind == "pwsh":
            return pwsh_transport(self)
        scheme = "https" if self.https else "http"
        port = f":{self.port}" if self.port else ""
        return f"{scheme}://{self.server}{port}{self.path}"


_FIELDS = {f.name: f for f in dataclasses.fields(Profile)}
_WSMAN_ONLY = ("server", "port", "https", "path", "auth", "username", "password_env", "password", "cert_validation",
               "ca_bundle", "ready_file", "endpoint", "allow_unencrypted", "realm", "spn_service", "spn_hostname",
               "krb5_config")
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
    "command": (list,),
    "ssh_port": (int,),
}


_PATH_FIELDS = ("ready_file", "ca_bundle", "krb5_config", "ssh_identity", "ssh_config", "certificate_path")


def profile_from_table(name: str, table: Mapping[str, Any], where: str) -> Profile:
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
    if kind == "pwsh":
        values.update(configuration="Microsoft.PowerShell", exchange_version="online")
    for key, value in table.items():
        if key not in _FIELDS or key in ("name", "password"):
            raise ConfigError(f"{where}: profile {name!r}: unknown setting {key!r}")
        expected = _TYPES.get(key, (str,))
        if isinstance(value, bool) and bool not in expected or not isinstance(value, expected):
            raise ConfigError(f"{where}: profile {name!r}: {key} must be {expected[0].__name__}")
        values[key] = value
    check_pwsh_keys(kind, table, f"{where}: profile {name!r}")
    if "command" in values:
        values["command"] = command_argv(values["command"], f"{where}: profile {name!r}")
    if "exchange_version" in values:
        version = str(values["exchange_version"]).strip()
        values["exchange_version"] = version.upper() if version.upper() == "SE" else version
    if isinstance(values.get("server"), str):
        values.update(_server_settings(values["server"], table, f"{where}: profile {name!r}"))
    for key in _PATH_FIELDS:  # relative paths are relative to the hybridkit.toml that names them
        if key == "certificate_path" and values.get("ssh"):
            continue  # a path on the SSH host, where Connect-ExchangeOnline runs
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
    if p.kind == "pwsh":
        validate_pwsh(p, prefix)
    if p.kind not in ("lab", "pwsh") and not p.server:
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
