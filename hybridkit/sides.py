"""The two sides of a hybrid: on-premises Exchange and Exchange Online.

``Side`` is the one type for "which side": a ``StrEnum``, so ``Side.ONPREM == "onprem"`` and JSON, journals and
reports keep writing ``onprem``/``online``. ``side_of(profile)`` says which side a profile reaches;
``connect(profile)`` opens a session for one profile (resolved into a ``ps.Connection`` by ``hybridkit.config``).
"""

from __future__ import annotations

import enum
from typing import Any

from hybridkit.config import Profile, resolve_connection
from hybridkit.errors import InputError
from hybridkit.ps import PSSession, open_session

__all__ = ["Side", "check_sides", "connect", "side_of"]


class Side(enum.StrEnum):
    """A side of the hybrid."""

    ONPREM = "onprem"
    ONLINE = "online"


def side_of(profile: Profile) -> Side:
    """The side ``profile`` reaches: online for Exchange Online (or a lab profile's ``online`` endpoint)."""
    online = profile.kind == "online" or (profile.kind == "lab" and profile.endpoint == "online")
    return Side.ONLINE if online else Side.ONPREM


def check_sides(onprem: Profile, online: Profile) -> None:
    """Refuse swapped profiles: ``--onprem`` must reach Exchange Server, ``--online`` Exchange Online (or the lab's)."""
    for flag, profile, wanted in (("--onprem", onprem, Side.ONPREM), ("--online", online, Side.ONLINE)):
        if side_of(profile) is not wanted:
            what = "an Exchange Online" if wanted is Side.ONPREM else "an on-premises Exchange"
            raise InputError(f"{flag} {profile.name}: that is {what} profile (were --onprem and --online swapped?)")


def connect(profile: Profile, *, interactive: bool | None = None, **options: Any) -> PSSession:
    """Open a session for ``profile``: read a lab's ready file, resolve the password, open one pool.

    ``options`` go to the bridge (``max_pools``, ``retry``, ``chunk_size``). Close the session when done (it is a
    context manager).
    """
    return open_session(resolve_connection(profile, interactive=interactive), **options)
