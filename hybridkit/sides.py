"""The two sides of a hybrid: on-premises Exchange and Exchange Online.

``connect(profile)`` opens a session for one profile (the profile resolved into a ``ps.Connection`` by
``hybridkit.config``).
"""

from __future__ import annotations

from typing import Any

from hybridkit.config import Profile, resolve_connection
from hybridkit.ps import PSSession, open_session

__all__ = ["connect"]


def connect(profile: Profile, *, interactive: bool | None = None, **options: Any) -> PSSession:
    """Open a session for ``profile``: read a lab's ready file, resolve the password, open one pool.

    ``options`` go to the bridge (``max_pools``, ``retry``, ``chunk_size``). Close the session when done (it is a
    context manager).
    """
    return open_session(resolve_connection(profile, interactive=interactive), **options)
