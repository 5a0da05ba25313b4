"""``kind = "pwsh"`` profiles: Exchange Online through PowerShell 7 run here, or on a host reached over SSH.

PowerShell 7 serves PSRP on its stdin/stdout with ``pwsh -s`` (``-ServerMode``, how PowerShell's own Start-Job
starts a job's process, "-s -NoLogo -NoProfile"; over SSH the host's sshd runs ``pwsh -sshs``, the same for SSH); the
ExchangeOnlineManagement module's ``Connect-ExchangeOnline`` runs there with app-only certificate auth, which
works off Windows with a certificate file (``-CertificateFilePath`` and ``-CertificatePassword``) and on a
Windows host from its certificate store (``-CertificateThumbprint``). Sources followed:

* PowerShell remoting over SSH (``ssh -s HOST powershell``; the host's sshd_config says
  ``Subsystem powershell /usr/bin/pwsh -sshs -NoLogo``):
  https://learn.microsoft.com/powershell/scripting/security/remoting/ssh-remoting-in-powershell
* App-only authentication for unattended scripts in Exchange Online PowerShell (certificate file or thumbprint):
  https://learn.microsoft.com/powershell/exchange/app-only-auth-powershell-v2

Over SSH, hybridkit runs the system's OpenSSH client with ``BatchMode=yes``: it never prompts, and host keys are
checked as OpenSSH checks them (``known_hosts``; an unknown or changed key fails the connection). ``ssh_config``
(passed as ``-F``) points at an SSH config of one's own, e.g. with its own ``UserKnownHostsFile``.

The certificate's password comes from the environment variable ``certificate_password_env`` names; it never
reaches argv (the bridge hands it to the process's PowerShell as a SecureString).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any, Protocol

from hybridkit.errors import ConfigError

__all__ = ["DEFAULT_PWSH_COMMAND", "PWSH_ONLY", "check_pwsh_keys", "command_argv", "pwsh_argv", "pwsh_transport", "validate_pwsh"]

DEFAULT_PWSH_COMMAND = ("pwsh", "-NoLogo", "-NoProfile", "-s")  # PowerShell 7 serving PSRP on stdin/stdout
SSH_SUBSYSTEM = "powershell"
PWSH_ONLY = ("command", "ssh", "ssh_port", "ssh_identity", "ssh_config", "certificate_path",
             "certificate_password_env")
_PWSH_KEYS = frozenset({"kind", *PWSH_ONLY, "app_id", "organization", "certificate_thumbprint", "exchange_version",
                        "max_shells", "shell_limit", "chunk_size", "connection_timeout", "operation_timeout",
                        "read_timeout"})
# user@host or host: a name, an IPv4 address or a [bracketed] IPv6 one; never an option (leading "-"). The user
# may hold "@" or a backslash (Windows OpenSSH: svc@contoso.local@mgmt01): ssh splits at the last "@".
_SSH_TARGET = re.compile(r"^(?:[^\s@-][^\s]*@)?(?:[A-Za-z0-9_][A-Za-z0-9._-]*|\[[0-9A-Fa-f:.]+\])$")


class PwshSettings(Protocol):
    """The settings of a ``Profile`` read here (``_profile`` imports this module, not the reverse)."""

    @property
    def name(self) -> str: ...

    @property
    def command(self) -> tuple[str, ...]: ...

    @property
    def ssh(self) -> str | None: ...

    @property
    def ssh_port(self) -> int | None: ...

    @property
    def ssh_identity(self) -> str | None: ...

    @property
    def ssh_config(self) -> str | None: ...

    @property
    def app_id(self) -> str | None: ...

    @property
    def organization(self) -> str | None: ...

    @property
    def certificate_path(self) -> str | None: ...

    @property
    def certificate_password_env(self) -> str | None: ...

    @property
    def certificate_thumbprint(self) -> str | None: ...

    @property
    def exchange_version(self) -> str: ...



def check_pwsh_keys(kind: str, table: Mapping[str, Any], prefix: str) -> None:
    """Refuse WinRM settings in a pwsh profile, and pwsh settings in the others."""
    if kind == "pwsh":
        wrong = [key for key in table if key not in _PWSH_KEYS]
        if wrong:
            raise ConfigError(f"{prefix}: {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not a setting of "
                              "pwsh profiles (they run PowerShell 7 as a process, here or over ssh = \"user@host\"; "
                              "no WinRM server, account or password)")
        return
    wrong = [key for key in PWSH_ONLY if key in table]
    if wrong:
        raise ConfigError(f"{prefix}: {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} only for "
                          'kind = "pwsh" profiles')


def command_argv(value: Any, prefix: str) -> tuple[str, ...]:
    """``command`` as written: a non-empty list of non-empty strings (a program and its arguments)."""
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(a, str) and a for a in value):
        raise ConfigError(f'{prefix}: command must be a list of strings, e.g. ["pwsh", "-NoLogo", "-NoProfile", "-s"]')
    return tuple(value)


def validate_pwsh(p: PwshSettings, prefix: str) -> None:
    """A pwsh profile's own checks (the common ones are ``_profile._validate``'s)."""
    if p.ssh is not None:
        if not _SSH_TARGET.match(p.ssh):
            raise ConfigError(f'{prefix}: ssh must be "user@host" or "host" (got {p.ssh!r})')
        if p.command != DEFAULT_PWSH_COMMAND:
            raise ConfigError(f"{prefix}: give command or ssh, not both (over ssh the host's {SSH_SUBSYSTEM} "
                              "subsystem, set in its sshd_config, says which pwsh runs)")
    else:
        extra = [k for k in ("ssh_port", "ssh_identity", "ssh_config") if getattr(p, k) is not None]
        if extra:
            raise ConfigError(f"{prefix}: {', '.join(extra)} without ssh = \"user@host\"")
    if p.ssh_port is not None and not 1 <= p.ssh_port <= 65535:
        raise ConfigError(f"{prefix}: ssh_port must be between 1 and 65535")
    if p.exchange_version != "online":
        raise ConfigError(f"{prefix}: a pwsh profile reaches Exchange Online; exchange_version can only be online")
    missing = [k for k in ("app_id", "organization") if not getattr(p, k)]
    if missing:
        raise ConfigError(f"{prefix}: pwsh profiles need {', '.join(missing)} for Connect-ExchangeOnline")
    if bool(p.certificate_path) == bool(p.certificate_thumbprint):
        raise ConfigError(f"{prefix}: give certificate_path (a PFX file, with certificate_password_env; works on any "
                          "OS) or certificate_thumbprint (a certificate in a Windows host's store), one of the two")
    if p.certificate_password_env and not p.certificate_path:
        raise ConfigError(f"{prefix}: certificate_password_env without certificate_path")
    if p.certificate_password_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*",
                                                                    p.certificate_password_env):
        raise ConfigError(f"{prefix}: certificate_password_env must name an environment variable "
                          f"(got {p.certificate_password_env!r}); the password itself never goes in hybridkit.toml")


def pwsh_argv(p: PwshSettings) -> tuple[str, ...]:
    """The process a pwsh profile runs: its ``command``, or OpenSSH's client asking ``ssh`` for the subsystem.

    ``ssh -s HOST powershell`` as PowerShell's own SSH remoting runs it, with ``BatchMode=yes`` (never a prompt:
    no password, passphrase or "accept this host key?" question; an unknown host key fails), ``-F`` for
    ``ssh_config``, ``-p`` for ``ssh_port``, ``-i`` for ``ssh_identity`` (and ``IdentitiesOnly=yes``, so that key is
    the one offered). No secret is ever part of it.
    """
    if p.ssh is None:
        return tuple(p.command)
    argv = ["ssh", "-o", "BatchMode=yes"]
    if p.ssh_config:
        argv += ["-F", p.ssh_config]
    if p.ssh_port is not None:
        argv += ["-p", str(p.ssh_port)]
    if p.ssh_identity:
        argv += ["-i", p.ssh_identity, "-o", "IdentitiesOnly=yes"]
    argv += ["-s", p.ssh, SSH_SUBSYSTEM]
    return tuple(argv)


def pwsh_transport(p: PwshSettings) -> str:
    """How a pwsh profile reaches PowerShell, for people: ``ssh user@host`` or ``out-of-process: pwsh -s ...``."""
    if p.ssh is not None:
        port = f" (port {p.ssh_port})" if p.ssh_port is not None else ""
        return f"ssh {p.ssh}{port}"
    return f"out-of-process: {shlex.join(p.command)}"
