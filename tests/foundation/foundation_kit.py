"""Helpers for the foundation tests: profiles and config files pointing at a lab from ``lab``/``lab_factory``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from hybridkit.config import Profile, lab_profile_from_ready

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lab"))


def ready_of(handle: Any) -> dict[str, Any]:
    """The ready-file content of a running lab handle."""
    return handle.server.ready_info()


def lab_profile(handle: Any, endpoint: str = "onprem", **overrides: Any) -> Profile:
    """A resolved lab profile for ``handle`` (HTTPS labs are validated against their CA)."""
    return lab_profile_from_ready("lab", ready_of(handle), endpoint=endpoint, **overrides)


def write_lab_config(tmp_path: Path, handle: Any, endpoint: str = "onprem") -> Path:
    """A hybridkit.toml whose ``lab`` profile reads the lab's ready file (as `lab serve --ready-file` writes it)."""
    ready = tmp_path / "lab-ready.json"
    ready.write_text(json.dumps(ready_of(handle)))
    config = tmp_path / "hybridkit.toml"
    config.write_text(
        'default_profile = "lab"\n\n[profiles.lab]\nkind = "lab"\n'
        f'ready_file = "{ready.as_posix()}"\nendpoint = "{endpoint}"\n'
    )
    return config


@pytest.fixture()
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory with no config anywhere."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYBRIDKIT_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path


@pytest.fixture()
def restore_logging() -> Any:
    """Undo the root logger changes ``hybridkit -v`` makes (DEBUG everywhere would slow every later test)."""
    import logging

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers
