"""The PowerShell bridge: the only way hybridkit reaches Exchange.

Only ``hybridkit/ps/_pypsrp.py`` imports pypsrp. Everything else builds ``Command``/``Pipeline`` values and runs
them through a ``PSSession`` (see ``open_session``).
"""

from hybridkit.ps._command import Command, Pipeline, Secret, Switch, quote, render_value
from hybridkit.ps._result import ItemOutcome, ItemStatus, PSError, PSObject, PSResult
from hybridkit.ps._session import PSSession

__all__ = [
    "Command",
    "ItemOutcome",
    "ItemStatus",
    "PSError",
    "PSObject",
    "PSResult",
    "PSSession",
    "Pipeline",
    "Secret",
    "Switch",
    "quote",
    "render_value",
]
