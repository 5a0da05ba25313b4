"""Helpers for the Kerberos tests: profiles and hybridkit.toml files that reach a Kerberos lab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hybridkit.config import Profile, resolve_connection
from hybridkit.lab.transport._kerberos import Realm
from hybridkit.ps._command import Secret

PASSWORD_ENV = "HYBRIDKIT_TEST_KRB_PASSWORD"


def kerberos_profile(krb: Realm, lab: Any, /, auth: str = "kerberos", **overrides: Any) -> Profile:
    """An on-prem profile to the lab by name (``localhost``, which has service principals), as the realm's user."""
    values: dict[str, Any] = dict(
        name="exkrb", kind="onprem", server="localhost", port=lab.port, https=False, auth=auth,
        username=krb.principal, password=Secret(krb.password), krb5_config=str(krb.krb5_config),
    )
    values.update(overrides)
    return Profile(**values)


def connection(krb: Realm, lab: Any, /, auth: str = "kerberos", **overrides: Any) -> Any:
    return resolve_connection(kerberos_profile(krb, lab, auth, **overrides))


def write_config(path: Path, krb: Realm, lab: Any, /, auth: str = "kerberos", **settings: Any) -> Path:
    """A hybridkit.toml with one Kerberos profile (the password comes from $HYBRIDKIT_TEST_KRB_PASSWORD)."""
    values: dict[str, Any] = dict(
        kind="onprem", server="localhost", port=lab.port, https=False, auth=auth, username=krb.principal,
        password_env=PASSWORD_ENV, krb5_config=str(krb.krb5_config),
    )
    values.update(settings)
    lines = ['default_profile = "exkrb"', "", "[profiles.exkrb]"]
    for key, value in values.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int):
            lines.append(f"{key} = {value}")
        else:
            escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{key} = "{escaped}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
