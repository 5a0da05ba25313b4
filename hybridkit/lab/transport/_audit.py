"""The lab's audit log: one JSON object per line for every WSMan request and every pipeline.

Tests and benchmarks count round trips and check exactly what was sent from it, so every record is flushed
as it is written. A pipeline's record names each input item it was sent (``inputs``: strings as given, objects by
Identity or PrimarySmtpAddress), so a test can prove each mailbox was acted on exactly once. Secrets never reach the file: parameters whose name looks secret (Password, Credential,
Secret, Token, ...) and every ``LabSecureString`` value are written as ``"****"``.
"""

from __future__ import annotations

import datetime
import json
import re
import threading
import uuid
from pathlib import Path
from typing import Any, TextIO

from hybridkit.lab._types import LabCommand, LabObject, LabSecureString

__all__ = ["AuditLog", "input_identity", "redact_parameters", "read_audit"]

_SECRET_NAME = re.compile(r"password|passwd|secret|credential|token|privatekey|apikey", re.IGNORECASE)
REDACTED = "****"


def _plain(value: Any, depth: int = 0) -> Any:
    if isinstance(value, LabSecureString):
        return REDACTED
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if depth > 4:
        return "..."
    if isinstance(value, LabObject):
        return {"type": value.type_names[0] if value.type_names else None, "value": value.to_string}
    if isinstance(value, dict):
        return {str(k): REDACTED if _SECRET_NAME.search(str(k)) else _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v, depth + 1) for v in value]
    return str(value)


_IDENTITY_PROPERTIES = ("Identity", "PrimarySmtpAddress", "ExternalDirectoryObjectId", "Guid", "Name")


def input_identity(item: Any) -> Any:
    """What one pipeline input item names, compactly: a string (or number) as is; an object by its Identity (else
    PrimarySmtpAddress, ExternalDirectoryObjectId, Guid, Name); anything else by its type."""
    if isinstance(item, LabSecureString):
        return REDACTED
    if item is None or isinstance(item, (str, bool, int, float)):
        return item
    if isinstance(item, uuid.UUID):
        return str(item)
    getter = item.get if isinstance(item, (LabObject, dict)) else None
    if getter is not None:
        for name in _IDENTITY_PROPERTIES:
            value = getter(name)
            if value not in (None, ""):
                return input_identity(value) if not isinstance(value, (LabObject, dict)) else str(value)
        if isinstance(item, LabObject) and item.to_string:
            return item.to_string
    return f"<{type(item).__name__}>"


def redact_parameters(command: LabCommand) -> list[list[Any]]:
    """A command's parameters as ``[name, value]`` pairs with secret values replaced by ``"****"``."""
    pairs: list[list[Any]] = []
    for name, value in command.parameters:
        if name is not None and _SECRET_NAME.search(name) and not isinstance(value, bool):
            pairs.append([name, REDACTED])
        else:
            pairs.append([name, _plain(value)])
    return pairs


class AuditLog:
    """Append-only JSONL writer, thread-safe; ``None`` path means a no-op log that still counts requests."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.request_count = 0
        self.pipeline_count = 0
        self._lock = threading.Lock()
        self._handle: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = path.open("a", encoding="utf-8")

    def _write(self, record: dict[str, Any]) -> None:
        record = {"ts": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"), **record}
        line = json.dumps(record, ensure_ascii=False, default=str)
        with self._lock:
            if self._handle is not None:
                self._handle.write(line + "\n")
                self._handle.flush()

    def request(self, *, endpoint: str, user: str | None, action: str, shell_id: str | None, status: int,
                fault: str | None = None, command_id: str | None = None) -> None:
        """Record one WSMan request (``action`` is the short name: Create, Command, Send, Receive, ...)."""
        with self._lock:
            self.request_count += 1
        self._write({"kind": "request", "endpoint": endpoint, "user": user, "action": action, "shell": shell_id,
                     "command": command_id, "status": status, "fault": fault})

    def pipeline(self, *, endpoint: str, user: str, shell_id: str, command_id: str, commands: list[LabCommand],
                 input_count: int, outcome: str, output_count: int, error_count: int, warning_count: int,
                 seconds: float, error: str | None, inputs: list[Any] | None = None) -> None:
        """Record one finished pipeline with its cmdlets, redacted parameters and each input item's identity."""
        with self._lock:
            self.pipeline_count += 1
        self._write({
            "kind": "pipeline", "endpoint": endpoint, "user": user, "shell": shell_id, "command": command_id,
            "cmdlets": [c.name if not c.is_script else "<script>" for c in commands],
            "parameters": [redact_parameters(c) if not c.is_script else [] for c in commands],
            "input_count": input_count, "inputs": [input_identity(i) for i in inputs or []], "outcome": outcome, "outputs": output_count, "errors": error_count,
            "warnings": warning_count, "seconds": round(seconds, 4), "error": error,
        })

    def close(self) -> None:
        """Flush and close the file."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


def read_audit(path: Path) -> list[dict[str, Any]]:
    """All records of an audit file (for tests and benchmarks)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
