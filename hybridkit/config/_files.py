"""Where hybridkit.toml is found, and loading it into a ``Config`` of profiles.

The file is found, in order, at ``--config``, ``$HYBRIDKIT_CONFIG``, ``./hybridkit.toml``, then the user config
directory (``~/.config/hybridkit/hybridkit.toml`` on Linux, ``~/Library/Application Support/hybridkit`` on macOS,
``%APPDATA%\\hybridkit`` on Windows).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

from hybridkit.config._profile import Profile, profile_from_table
from hybridkit.errors import ConfigError

__all__ = ["Config", "config_candidates", "find_config", "load_config", "user_config_dir"]

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
    profiles = {name: profile_from_table(name, table, str(path)) for name, table in tables.items()}
    default = data.get("default_profile")
    if default is not None and default not in profiles:
        raise ConfigError(f"{path}: default_profile {default!r} is not a profile")
    return Config(path=path, profiles=profiles, default_profile=default)
