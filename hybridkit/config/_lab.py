"""Profiles for a running lab, from the ready file ``hybridkit lab serve --ready-file F`` writes.

The ready file gives the lab's URLs, account, CA and (with ``--kdc``) its Kerberos realm; a ``kind = "lab"``
profile names the file and which endpoint (``onprem`` or ``online``) it reaches.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hybridkit.config._profile import Profile
from hybridkit.errors import ConfigError
from hybridkit.ps import Secret
from hybridkit.ps._kerberos import KERBEROS_AUTHS

__all__ = ["lab_kerberos_overrides", "lab_profile_from_ready", "read_ready_file"]


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


def lab_kerberos_overrides(auth: str, ready: Mapping[str, Any]) -> dict[str, Any]:
    """Profile overrides for a lab profile with Kerberos auth, from a ready file written by ``lab serve --kdc``.

    Connects by the name the lab's service principals were made for (not 127.0.0.1), as the lab's Kerberos user,
    with the lab realm's krb5.conf. Raises ConfigError when the lab runs without ``--kdc``.
    """
    if auth not in KERBEROS_AUTHS:
        return {}
    if not ready.get("krb5_config"):
        raise ConfigError(
            f"the lab profile asks for {auth} auth but the lab runs without a KDC; start it with "
            "`hybridkit lab serve --kdc --auth kerberos`"
        )
    hostnames = list(ready.get("kerberos_hostnames") or ["localhost"])
    return {
        "auth": auth,
        "server": hostnames[0],
        "username": str(ready["kerberos_principal"]),
        "password": Secret(str(ready["kerberos_password"])),
        "krb5_config": str(ready["krb5_config"]),
        "allow_unencrypted": False,
    }
