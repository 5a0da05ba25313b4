"""PowerShell runbook templates from ``ps_templates/`` (shipped in the package as ``hybridkit.ps_templates``).

Templates are ``string.Template`` text: ``${name}`` placeholders are filled by hybridkit with values the command
renderer already quoted; PowerShell's own ``$`` is written ``$$`` in them.
"""

from __future__ import annotations

import string
from importlib import resources
from pathlib import Path

from hybridkit.errors import ConfigError

__all__ = ["load_template"]


def load_template(name: str) -> string.Template:
    """The template ``name`` (e.g. ``mailflow-runbook.ps1``)."""
    try:
        text = resources.files("hybridkit.ps_templates").joinpath(name).read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        # Imported from a source checkout (tests, editable installs): the templates sit beside the package.
        checkout = Path(__file__).resolve().parents[1] / "ps_templates" / name
        if not checkout.is_file():
            raise ConfigError(f"runbook template {name} is missing from this installation of hybridkit") from None
        text = checkout.read_text(encoding="utf-8")
    return string.Template(text)
