"""The PowerShell bridge: the only way hybridkit reaches Exchange.

Only ``hybridkit/ps/_pypsrp.py`` imports pypsrp. Everything else builds ``Command``/``Pipeline`` values and runs
them through a ``PSSession`` (see ``open_session``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hybridkit.ps._command import Command, Pipeline, Secret, Switch, comment_text, quote, render_value
from hybridkit.ps._result import ItemOutcome, ItemStatus, PSError, PSObject, PSResult
from hybridkit.ps._session import PSSession

if TYPE_CHECKING:
    from hybridkit.config import Profile

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
    "comment_text",
    "open_session",
    "quote",
    "render_value",
]


def open_session(profile: Profile, *, interactive: bool | None = None, **options: Any) -> PSSession:
    """Open a session for ``profile`` (reads a lab's ready file, resolves the password, opens one pool).

    ``options`` go to ``PypsrpSession`` (``max_pools``, ``retry``, ``chunk_size``). Close it when done
    (it is a context manager).
    """
    from hybridkit.config import resolve_connection
    from hybridkit.ps._pypsrp import PypsrpSession

    session = PypsrpSession(resolve_connection(profile, interactive=interactive), **options)
    try:
        session.open()
    except BaseException:
        session.close()
        raise
    return session
