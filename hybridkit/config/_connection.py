"""Resolving a profile into the bridge's ``Connection``: a lab's ready file read, the password found."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hybridkit.config._lab import lab_kerberos_overrides, lab_profile_from_ready, read_ready_file
from hybridkit.config._profile import Profile
from hybridkit.config._pwsh import pwsh_argv
from hybridkit.config._secrets import resolve_certificate_password, resolve_password
from hybridkit.errors import ConfigError
from hybridkit.ps import Connection, OnlineConnect
from hybridkit.ps._kerberos import kerberos_connection_fields

__all__ = ["resolve_connection"]


def resolve_connection(profile: Profile, *, interactive: bool | None = None) -> Connection:
    """Turn a profile into connection settings: read a lab's ready file, resolve the password."""
    if profile.kind == "pwsh":
        return _pwsh_connection(profile)
    if profile.kind == "lab" and profile.ready_file and not profile.server:
        ready = read_ready_file(Path(profile.ready_file))
        keep = {k: getattr(profile, k) for k in ("max_shells", "shell_limit", "chunk_size", "connection_timeout",
                                                  "operation_timeout", "read_timeout")}
        profile = lab_profile_from_ready(profile.name, ready, endpoint=profile.endpoint, **keep)
        profile = dataclasses.replace(profile, **lab_kerberos_overrides(profile.auth, ready))
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
    return dataclasses.replace(connection, **kerberos_connection_fields(profile))


def _pwsh_connection(profile: Profile) -> Connection:
    """A pwsh profile's connection: the process to run (``process``) and the Connect-ExchangeOnline values.

    No WinRM server, account or password: the process is PowerShell 7 itself (or ssh to a host's subsystem). The
    WSMan fields keep neutral values; ``server`` names the SSH host (or localhost) for messages.
    """
    if profile.certificate_path and not profile.ssh and not Path(profile.certificate_path).is_file():
        raise ConfigError(f"profile {profile.name!r}: certificate_path {profile.certificate_path} is not a file "
                          "(the app registration's certificate as a PFX, for Connect-ExchangeOnline)")
    online = OnlineConnect(
        str(profile.app_id),
        str(profile.certificate_thumbprint or ""),
        str(profile.organization),
        certificate_file=profile.certificate_path,
        certificate_password=resolve_certificate_password(profile),
    )
    host = (profile.ssh or "localhost").rpartition("@")[2]
    return Connection(
        profile_name=profile.name,
        kind="pwsh",
        server=host,
        port=profile.ssh_port or (22 if profile.ssh else 0),
        ssl=False,
        path="",
        configuration=profile.configuration,
        auth="ssh" if profile.ssh else "process",
        username=profile.ssh.rpartition("@")[0] or None if profile.ssh else None,
        password=None,
        cert_validation=True,
        online=online,
        max_shells=profile.max_shells,
        chunk_size=profile.chunk_size,
        connection_timeout=profile.connection_timeout,
        operation_timeout=profile.operation_timeout,
        read_timeout=profile.read_timeout,
        process=pwsh_argv(profile),
    )
