"""The bridge's boundary: only ``hybridkit/ps/_pypsrp.py`` imports pypsrp, and nothing outside the lab sends script."""

from __future__ import annotations

import ast
from pathlib import Path

import hybridkit
from hybridkit import ps

PACKAGE = Path(hybridkit.__file__).resolve().parent


def _modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "lab" not in p.relative_to(PACKAGE).parts]


def test_only_the_bridge_imports_pypsrp() -> None:
    importers = set()
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "pypsrp" or n.startswith("pypsrp.") for n in names):
                importers.add(path.relative_to(PACKAGE).as_posix())
    assert importers == {"ps/_pypsrp.py"}


def test_no_script_text_outside_the_lab() -> None:
    offenders = [
        path.relative_to(PACKAGE).as_posix()
        for path in _modules()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr in ("add_script", "execute_ps")
    ]
    assert offenders == []


def test_public_exports_are_sorted_and_complete() -> None:
    assert ps.__all__ == sorted(ps.__all__)
    assert all(hasattr(ps, name) for name in ps.__all__)
