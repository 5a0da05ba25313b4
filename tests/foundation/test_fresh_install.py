"""What a fresh `pip install .` gives must be enough: no module may import a package the project does not declare."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Import names of the declared runtime dependencies (distribution name -> module names it provides).
PROVIDES = {
    "pypsrp": {"pypsrp"},
    "psrpcore": {"psrpcore"},
    "pyspnego": {"spnego"},
    "cryptography": {"cryptography"},
    "typer": {"typer"},
    "rich": {"rich"},
    "tenacity": {"tenacity"},
    "numpy": {"numpy"},
    "xlsxwriter": {"xlsxwriter"},
    "python-calamine": {"python_calamine"},
}
# Imported only inside try/except ImportError, with a fallback or a clear message.
OPTIONAL = {"keyring", "gssapi", "krb5", "dns"}


def _declared_modules() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {dep.split(">")[0].split("=")[0].split("<")[0].split("[")[0].strip().lower() for dep in project["dependencies"]}
    modules = {"hybridkit"}
    for name in names:
        modules |= PROVIDES.get(name, {name.replace("-", "_")})
    return modules


def test_every_import_in_the_package_is_declared_stdlib_or_optional() -> None:
    allowed = _declared_modules() | set(sys.stdlib_module_names) | OPTIONAL
    undeclared = []
    for path in (ROOT / "hybridkit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            undeclared += [f"{path.relative_to(ROOT)}: {top}" for top in tops if top not in allowed]
    assert not undeclared, "imports of packages pyproject.toml does not declare: " + ", ".join(sorted(undeclared))
