"""``hybridkit lab pwsh``: a stand-in for ``pwsh -s`` speaking PowerShell's out-of-process transport on stdin/stdout.

With ``--ready-file R`` (a running ``hybridkit lab serve``) it pipes its stdin/stdout to that lab's out-of-process
socket, so every such process is a client of the one shared organisation (the cloud), and killing it drops its
runspace pool like killing pwsh. With ``--org``/``--state`` it serves a standalone organisation itself. See
``hybridkit.lab.transport._outofproc`` for the interface. stdout carries only packets; messages go to stderr.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer

from hybridkit.errors import ConfigError, InputError

__all__ = ["pwsh"]


def _pipe_to_socket(path: str) -> None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError as exc:
        raise ConfigError(f"cannot reach the lab's out-of-process socket {path}: {exc.strerror or exc} (is "
                          "`hybridkit lab serve` still running?)") from None
    stdin, stdout = sys.stdin.buffer.fileno(), sys.stdout.buffer.fileno()

    def upstream() -> None:
        try:
            while chunk := os.read(stdin, 1 << 16):
                conn.sendall(chunk)
        except OSError:
            pass
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    threading.Thread(target=upstream, name="lab-pwsh-stdin", daemon=True).start()
    try:
        while chunk := conn.recv(1 << 16):
            view = memoryview(chunk)
            while view:
                view = view[os.write(stdout, view):]
    except OSError:
        pass
    finally:
        conn.close()


def _serve_standalone(org: str, state: Optional[Path]) -> None:
    from hybridkit.lab.exchange.engine import ExchangeEngine
    from hybridkit.lab.transport._outofproc import OutOfProcConnection

    try:
        engine = ExchangeEngine.create(org=org, state=state)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    stdin, stdout = sys.stdin.buffer.fileno(), sys.stdout.buffer.fileno()

    def write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(stdout, view):]

    try:
        OutOfProcConnection(lambda: os.read(stdin, 1 << 16), write, engine).serve()
    finally:
        save = getattr(engine, "save", None)
        if callable(save) and state is not None:
            save()


def pwsh(
    ready_file: Annotated[Optional[Path], typer.Option(
        help="The ready file of a running `hybridkit lab serve`: talk to its shared organisation.")] = None,
    org: Annotated[Optional[str], typer.Option(
        help="Without --ready-file: serve this organisation alone (demo, empty or synthetic:N).")] = None,
    state: Annotated[Optional[Path], typer.Option(
        help="Without --ready-file: load and save the organisation here.")] = None,
) -> None:
    """Speak PowerShell's out-of-process transport on stdin/stdout, like `pwsh -s` (for `process` profiles)."""
    if ready_file is not None:
        if org is not None or state is not None:
            raise InputError("--ready-file talks to a running lab; --org and --state are for a standalone one")
        try:
            info = json.loads(Path(ready_file).read_text(encoding="utf-8"))
            path = info["pwsh"]["socket"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"--ready-file {ready_file}: not a running lab's ready file ({exc})") from None
        _pipe_to_socket(str(path))
        return
    _serve_standalone(org or "demo", state)
