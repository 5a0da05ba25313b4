"""``OutOfProcSession``: the ``PSSession`` over a process speaking PSRP on its stdin/stdout (work in progress)."""

from __future__ import annotations

from typing import Any

from hybridkit.errors import TransportError
from hybridkit.ps._connection import Connection

__all__ = ["OutOfProcSession"]


class OutOfProcSession:
    """Placeholder until the transport lands: refuses to open."""

    def __init__(self, connection: Connection, **options: Any) -> None:
        self.connection = connection

    def open(self) -> None:
        raise TransportError("the out-of-process transport is not built yet")

    def close(self) -> None:
        pass
