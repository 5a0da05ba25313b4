"""The one error tree of hybridkit.

Every expected failure is a ``HybridkitError``; the CLI turns it into one line on stderr and an exit code
(``exit_code``), with the traceback only under ``-v``::

    HybridkitError                      exit 1 unless a subclass says otherwise
    ├── InputError                      exit 2: a file, sheet, row, column or option is wrong
    ├── ConfigError                     exit 2: hybridkit.toml or a profile is wrong or missing
    ├── PlanError                       exit 2: the plan cannot be made or applied as asked
    │   └── StalePlanError              the live state moved since the plan was made
    ├── AuthError                       exit 1: the endpoint refused our credentials
    ├── CommandFailed                   exit 1: a remote pipeline failed as a whole (terminating error)
    └── TransportError                  exit 1: the connection failed; retryable (the runner retries these)
        └── ThrottledError              Exchange or WinRM said "too many" (shells, requests): back off
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "CommandFailed",
    "ConfigError",
    "HybridkitError",
    "InputError",
    "PlanError",
    "StalePlanError",
    "ThrottledError",
    "TransportError",
]


class HybridkitError(Exception):
    """Root of every expected hybridkit failure."""

    exit_code: int = 1


class InputError(HybridkitError):
    """Bad input a person can fix: names the file, sheet, row and column where known."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.sheet = sheet
        self.row = row
        self.column = column

    def __str__(self) -> str:
        where = [
            part
            for part in (
                self.file,
                f"sheet {self.sheet!r}" if self.sheet else None,
                f"row {self.row}" if self.row is not None else None,
                f"column {self.column!r}" if self.column else None,
            )
            if part
        ]
        return f"{', '.join(where)}: {self.message}" if where else self.message


class ConfigError(HybridkitError):
    """hybridkit.toml or a profile is missing or wrong."""

    exit_code = 2


class PlanError(HybridkitError):
    """A plan cannot be made or applied as asked."""

    exit_code = 2


class StalePlanError(PlanError):
    """The live state changed since the plan was made; plan again."""


class AuthError(HybridkitError):
    """The endpoint refused the credentials, or the authentication mechanism failed."""


class CommandFailed(HybridkitError):
    """A remote pipeline failed as a whole (a terminating error), with Exchange's message."""

    def __init__(self, message: str, *, command: str | None = None, error_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.command = command
        self.error_id = error_id

    def __str__(self) -> str:
        return f"{self.command}: {self.message}" if self.command else self.message


class TransportError(HybridkitError):
    """The connection or the remote shell failed in a way worth retrying on a fresh runspace pool."""


class ThrottledError(TransportError):
    """Exchange or WinRM refused for load (shell quota, throttling, server busy): back off and retry.

    ``retry_after`` is the wait the server asked for in seconds ("Please wait for N seconds"), or None.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
