"""Old module paths of the lab (before it split into ``transport/`` and ``exchange/``), aliased to the new ones.

Temporary, for branches written against the old layout: ``import hybridkit.lab.engine`` gives the very module
object ``hybridkit.lab.exchange.engine`` (not a copy), so monkeypatching through an old path and the handler
registry stay single. Nothing in this repository uses an old path (``tests/lab/test_lab_layers.py`` checks);
delete this module and its line in ``__init__.py`` once the branches of issue 15 have merged.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Sequence

__all__ = ["MOVED", "install"]

# Old name -> new name; a package entry also maps everything below it.
MOVED = {
    "hybridkit.lab._audit": "hybridkit.lab.transport._audit",
    "hybridkit.lab._auth": "hybridkit.lab.transport._auth",
    "hybridkit.lab._faults": "hybridkit.lab.transport._faults",
    "hybridkit.lab._http": "hybridkit.lab.transport._http",
    "hybridkit.lab._kerberos": "hybridkit.lab.transport._kerberos",
    "hybridkit.lab._kerberos_auth": "hybridkit.lab.transport._kerberos_auth",
    "hybridkit.lab._psrp": "hybridkit.lab.transport._psrp",
    "hybridkit.lab._psrp_convert": "hybridkit.lab.transport._psrp_convert",
    "hybridkit.lab._shells": "hybridkit.lab.transport._shells",
    "hybridkit.lab._tls": "hybridkit.lab.transport._tls",
    "hybridkit.lab._wsman": "hybridkit.lab.transport._wsman",
    "hybridkit.lab._persist": "hybridkit.lab.exchange._persist",
    "hybridkit.lab.catalogue": "hybridkit.lab.exchange.catalogue",
    "hybridkit.lab.cmdlets": "hybridkit.lab.exchange.cmdlets",
    "hybridkit.lab.conversion": "hybridkit.lab.exchange.conversion",
    "hybridkit.lab.engine": "hybridkit.lab.exchange.engine",
    "hybridkit.lab.exchange_errors": "hybridkit.lab.exchange.exchange_errors",
    "hybridkit.lab.filters": "hybridkit.lab.exchange.filters",
    "hybridkit.lab.identity": "hybridkit.lab.exchange.identity",
    "hybridkit.lab.migration_state": "hybridkit.lab.exchange.migration_state",
    "hybridkit.lab.objects": "hybridkit.lab.exchange.objects",
    "hybridkit.lab.org": "hybridkit.lab.exchange.org",
    "hybridkit.lab.orgs": "hybridkit.lab.exchange.orgs",
    "hybridkit.lab.orgs_demo": "hybridkit.lab.exchange.orgs_demo",
    "hybridkit.lab.orgs_people": "hybridkit.lab.exchange.orgs_people",
    "hybridkit.lab.shapes": "hybridkit.lab.exchange.shapes",
    "hybridkit.lab.sizes": "hybridkit.lab.exchange.sizes",
}


def new_name(old: str) -> str | None:
    """The module's name in the new layout, or None if ``old`` is not an old path."""
    for prefix, target in MOVED.items():
        if old == prefix or old.startswith(prefix + "."):
            return target + old[len(prefix):]
    return None


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds old names and loads them as the already-imported module of the new name."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None,
                  ) -> importlib.machinery.ModuleSpec | None:
        if new_name(fullname) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        target = new_name(spec.name)
        assert target is not None
        return importlib.import_module(target)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the module under its new name is already loaded."""


def install() -> None:
    """Put the alias finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Alias())
