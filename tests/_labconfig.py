"""A hybridkit.toml with an ``onprem`` and an ``online`` profile, both reading one lab's ready file."""

from __future__ import annotations

from pathlib import Path


def write_two_sided_config(directory: Path, ready: Path, *, onprem_extra: str = "") -> Path:
    """``directory/hybridkit.toml``: profiles ``onprem`` (the lab's /PowerShell) and ``online`` (its /wsman).

    ``onprem_extra`` adds settings to the onprem profile (e.g. ``exchange_version = "2010"``).
    """
    config = directory / "hybridkit.toml"
    onprem = f'[profiles.onprem]\nkind = "lab"\nready_file = "{ready}"\nendpoint = "onprem"\n'
    if onprem_extra:
        onprem += onprem_extra.rstrip("\n") + "\n"
    online = f'[profiles.online]\nkind = "lab"\nready_file = "{ready}"\nendpoint = "online"\n'
    config.write_text(onprem + "\n" + online, encoding="utf-8")
    return config
