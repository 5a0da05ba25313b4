"""The PowerShell bridge: the only way hybridkit reaches Exchange.

Only ``hybridkit/ps/_pypsrp.py`` imports pypsrp; only ``_outofproc.py`` drives psrpcore's client. Everything else builds ``Command``/``Pipeline`` values and runs
them through a ``PSSession`` (see ``open_session``). The bridge stands on ``hybridkit.errors`` alone: it takes a
resolved ``Connection`` (``hybridkit.config`` makes one from a profile) and retries transient faults itself
(``RetryPolicy``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hybridkit.ps._command import Command, Pipeline, Secret, Switch, comment_text, quote, render_value
from hybridkit.ps._connection import DEFAULT_MAX_SHELLS, Connection, OnlineConnect, online_connect_command
from hybridkit.ps._result import ItemOutcome, ItemStatus, PSError, PSObject, PSResult
from hybridkit.ps._retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy, call_with_retries
from hybridkit.ps._session import PSSession

__all__ = [
    "Command",
    "Connection",
    "DEFAULT_MAX_SHELLS",
    "DEFAULT_RETRY",
    "ItemOutcome",
    "ItemStatus",
    "NO_RETRY",
    "OnlineConnect",
    "PSError",
    "PSObject",
    "PSResult",
    "PSSession",
    "Pipeline",
    "RetryPolicy",
    "Secret",
    "Switch",
    "call_with_retries",
    "comment_text",
    "negotiated",
    "online_connect_command",
    "open_session",
    "quote",
    "render_value",
]


def open_session(connection: Connection, **options: Any) -> PSSession:
    """Open a session to ``connection``'s endpoint (one runspace pool now, more on demand).

    Over WSMan (``PypsrpSession``), or, when ``connection.process`` is set, over the stdin/stdout of that process
    (``OutOfProcSession``: ``pwsh -s``, ``ssh -s host powershell``; one process per runspace pool). ``options``
    go to the session (``max_pools``, ``retry``, ``chunk_size``). Close it when done (it is a context manager). A
    session for a profile: ``hybridkit.sides.connect(profile)``.
    """
    session: Any
    if connection.process:
        from hybridkit.ps._outofproc import OutOfProcSession

        session = OutOfProcSession(connection, **options)
    else:
        from hybridkit.ps._pypsrp import PypsrpSession

        session = PypsrpSession(connection, **options)
    try:
        session.open()
    except BaseException:
        session.close()
        raise
    return session


def negotiated(session: PSSession) -> Mapping[str, str]:
    """What an open session's authentication negotiated (Kerberos or NTLM, for whom, sealing), for ``connect test``.

    Empty for Basic auth and for sessions that are not over WSMan (test doubles).
    """
    from hybridkit.ps._kerberos_errors import negotiated_summary

    connection = getattr(session, "connection", None)
    auth_info = getattr(session, "auth_info", None)
    if connection is None or auth_info is None:
        return {}
    return negotiated_summary(connection, auth_info())
