"""Output of commands that change Exchange: files checked before any change, and script lines written exactly.

A report or runbook written after the changes must not be the first thing to fail: ``check_writable`` proves a
path can be written (creating its folder) before anything is sent, and leaves no file behind; ``write_text`` turns
an OSError into an ``InputError`` naming the path (exit 2, no traceback). ``write_script_line`` puts one line of
PowerShell (``--what-if``) on a console's stream byte for byte: Rich would drop control characters inside a quoted
value, and the line must be the exact command.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

from hybridkit.errors import InputError

__all__ = ["check_writable", "write_script_line", "write_text"]


def check_writable(path: Path) -> None:
    """Raise ``InputError`` unless ``path`` can be written; creates its folder, leaves no new file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory")
        existed = path.exists()
        with open(path, "a", encoding="utf-8"):
            pass
        if not existed:
            path.unlink()
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8), creating its folder; an unwritable path is bad input, not a traceback."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_script_line(console: Any, line: str) -> None:
    """Write ``line`` and a newline to ``console``'s stream as it is (no markup, no wrapping, nothing dropped)."""
    console.file.write(line + "\n")
    console.file.flush()
