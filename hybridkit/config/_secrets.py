"""A profile's password, from anywhere but argv.

A pwsh profile's certificate password comes only from the environment variable ``certificate_password_env``
names (``resolve_certificate_password``).

A profile names an environment variable (``password_env``); otherwise the OS keyring is asked (service
``hybridkit``, user ``<profile>:<username>``) when the ``keyring`` package is installed; otherwise a hidden prompt
when stdin is a terminal. Kerberos without a username uses the ticket cache and needs no password.
"""

from __future__ import annotations

import getpass
import os
import sys

from hybridkit.config._profile import Profile
from hybridkit.errors import ConfigError
from hybridkit.ps import Secret

__all__ = ["resolve_certificate_password", "resolve_password"]


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


def resolve_certificate_password(profile: Profile) -> Secret | None:
    """A pwsh profile's PFX password, from the environment variable ``certificate_password_env`` names.

    None when the profile names no variable (a PFX without a password, or a certificate thumbprint).
    """
    if not profile.certificate_password_env:
        return None
    value = os.environ.get(profile.certificate_password_env)
    if value is None:
        raise ConfigError(f"profile {profile.name!r}: environment variable {profile.certificate_password_env} "
                          f"(certificate_password_env, the password of {profile.certificate_path}) is not set")
    return Secret(value)
