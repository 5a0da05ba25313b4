"""Run the lab in its own process for benchmarks (like a real Exchange server: its CPU is not the client's)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def lab_process(org: str, latency_ms: float, timeout: float = 300.0,
                extra_args: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    """Start ``hybridkit lab serve`` on a free loopback port; yields its ready-file data; stops it on exit.

    ``extra_args`` go to ``lab serve`` as they are (e.g. ``("--audit", path)``).
    """
    with tempfile.TemporaryDirectory(prefix="hk-bench-") as tmp:
        ready = Path(tmp) / "ready.json"
        log = (Path(tmp) / "lab.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "hybridkit", "lab", "serve", "--org", org, "--latency-ms", str(latency_ms),
             "--ready-file", str(ready), *extra_args],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + timeout
            while not ready.exists():
                if proc.poll() is not None:
                    raise RuntimeError(f"lab exited: {(Path(tmp) / 'lab.log').read_text()[-2000:]}")
                if time.monotonic() > deadline:
                    raise TimeoutError("lab did not start")
                time.sleep(0.2)
            time.sleep(0.2)
            yield json.loads(ready.read_text())
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
