"""Connection profiles from ``hybridkit.toml``, and what they resolve into.

One concept per module:

* ``_files``: where hybridkit.toml is found, loading it (``load_config`` -> ``Config``);
* ``_profile``: ``Profile``, one named profile as written, and its checks;
* ``_pwsh``: ``kind = "pwsh"`` profiles' own settings: the process (``command``, or ``ssh -s HOST powershell``);
* ``_secrets``: a profile's password (environment variable, OS keyring, hidden prompt; never argv), and a pwsh
  profile's certificate password (its environment variable only);
* ``_lab``: profiles for a running lab, from its ready file;
* ``_connection``: ``resolve_connection``, a profile turned into the bridge's ``ps.Connection``.

Which side of the hybrid a profile reaches, and opening sessions for profiles, is ``hybridkit.sides``.
"""

from hybridkit.config._connection import resolve_connection
from hybridkit.config._files import Config, config_candidates, find_config, load_config, user_config_dir
from hybridkit.config._lab import lab_profile_from_ready, read_ready_file
from hybridkit.config._profile import (
    AUTH_METHODS,
    DEFAULT_SHELL_LIMIT,
    EXCHANGE_VERSIONS,
    PROFILE_KINDS,
    Profile,
)
from hybridkit.config._secrets import resolve_password
from hybridkit.ps import DEFAULT_MAX_SHELLS, Connection, OnlineConnect

__all__ = [
    "AUTH_METHODS",
    "Config",
    "Connection",
    "DEFAULT_MAX_SHELLS",
    "DEFAULT_SHELL_LIMIT",
    "EXCHANGE_VERSIONS",
    "OnlineConnect",
    "PROFILE_KINDS",
    "Profile",
    "config_candidates",
    "find_config",
    "lab_profile_from_ready",
    "load_config",
    "read_ready_file",
    "resolve_connection",
    "resolve_password",
    "user_config_dir",
]
