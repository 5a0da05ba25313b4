"""Layering across capabilities (STYLE.md): planners and models are pure; effects live in _apply/_run/cli.

A capability's ``_model.py`` and ``_plan.py`` turn inputs and observed state into decisions and ``Command``
values. They may use the bridge's pure value types (``hybridkit.ps._command``/``_result``) but never open a
session, touch the journal (sqlite), print (rich/typer) or reach the network.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "hybridkit"
CAPABILITIES = ("batches", "cutover", "hold", "mailflow", "decommission", "inventory")
PURE_MODULES = [
    path
    for cap in CAPABILITIES
    for name in ("_model.py", "_plan.py")
    if (path := ROOT / cap / name).is_file()
]
FORBIDDEN = (
    "pypsrp", "psrpcore", "spnego", "requests", "socket", "sqlite3", "rich", "typer", "subprocess",
    "hybridkit.ps._pypsrp", "hybridkit.ps._session", "hybridkit.journal", "hybridkit.runner", "hybridkit.cli",
    "hybridkit.cli_support", "hybridkit.lab",
)  # fmt: skip


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "hybridkit.ps":  # `from hybridkit.ps import X`: only the pure value types
                names |= {f"hybridkit.ps.{alias.name}" for alias in node.names}
    return names


def test_every_capability_has_a_pure_planner() -> None:
    assert {p.parent.name for p in PURE_MODULES if p.name == "_plan.py"} == set(CAPABILITIES)


@pytest.mark.parametrize("path", PURE_MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_planners_and_models_import_nothing_with_effects(path: Path) -> None:
    bad = sorted(
        name for name in _imports(path) for f in FORBIDDEN if name == f or name.startswith(f + ".")
    )
    sessions = sorted(n for n in _imports(path) if n in ("hybridkit.ps.open_session", "hybridkit.ps.PSSession"))
    assert not bad and not sessions, f"{path.relative_to(ROOT.parent)} imports {bad + sessions}"
    assert "open(" not in path.read_text(encoding="utf-8")
