"""Fixtures of the hold tests: ``hold``, a fresh demo lab with a lab profile (see ``_holdkit.Hold``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.hold._holdkit import Hold


@pytest.fixture
def hold(lab_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Hold:
    pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")
    monkeypatch.chdir(tmp_path)
    handle = lab_factory(org="demo", ready_file=tmp_path / "lab.json")
    return Hold(handle, tmp_path)
