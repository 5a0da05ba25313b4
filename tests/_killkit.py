"""Killing a real CLI run part-way: how many journal steps it has finished, and kill -9 once it has done enough."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest


def done_steps(journal: Path) -> int:
    """Steps the running command has finished, read from its journal as it goes (0 before the journal exists)."""
    if not journal.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=1)) as db:
            return int(db.execute("SELECT count(*) FROM steps WHERE state='done'").fetchone()[0])
    except sqlite3.Error:  # the schema is not there yet, or a writer holds it
        return 0


def kill_after_steps(argv: Sequence[str], env: Mapping[str, str], journal: Path, steps: int, *,
                     timeout: float = 60) -> None:
    """Run ``argv``; SIGKILL it as soon as its journal shows ``steps`` done (fails if it finishes first)."""
    proc = subprocess.Popen(list(argv), env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and done_steps(journal) < steps:
            if proc.poll() is not None:
                pytest.fail("the CLI finished before it could be killed")
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
