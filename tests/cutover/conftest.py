"""Every cutover test runs in its own folder: commands journal to ``.hybridkit/journal.sqlite`` of the current
folder unless told otherwise (``cutover create`` is journaled too), never into the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
