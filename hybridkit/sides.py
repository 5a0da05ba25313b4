"""The two sides of a hybrid: on-premises Exchange and Exchange Online.

* ``Side`` is the one type for "which side": a ``StrEnum``, so ``Side.ONPREM == "onprem"`` and JSON, journals
  and reports keep writing ``onprem``/``online``.
* Profiles per side: ``side_of(profile)``; ``both_sides(onprem, online)`` for commands that take a profile for each
  side (``--onprem``/``--online``, swapped ones refused); ``pick_sides(...)`` for commands that also work on one
  side or through one lab profile (``hold``, ``inventory``).
* Sessions: ``connect(profile)`` opens one; ``open_sides(profiles)`` opens one per side and closes them all.
* The on-prem release (``onprem_release``), by one rule: the newest release among the servers'
  ``Get-ExchangeServer`` AdminDisplayVersion ("Version 15.2 (Build 1544.4)": 14.x is 2010, 15.0 2013, 15.1
  2016, 15.2 2019, or SE from build 2562 on, Exchange Server SE's RTM build 15.2.2562.17); when no server
  answers with one, the profile's ``exchange_version`` (2019 when it names none). 2019 and SE are one code base
  (SE began as 2019 CU15's): ``same_release`` treats them alike.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from hybridkit.config import Config, Profile, resolve_connection
from hybridkit.errors import ConfigError, HybridkitError, InputError
from hybridkit.ps import Command, Pipeline, PSObject, PSSession, open_session

__all__ = [
    "DEFAULT_RELEASE",
    "Side",
    "both_sides",
    "check_sides",
    "connect",
    "declared_release",
    "live_release",
    "onprem_release",
    "open_sides",
    "pick_sides",
    "release_of",
    "same_release",
    "side_of",
]

DEFAULT_RELEASE = "2019"  # what a profile that names no on-prem release is taken for
_SE_FIRST_BUILD = 2562  # Exchange Server SE RTM is 15.2.2562.17; 2019 CU15 (its last CU) is 15.2.1748
_VERSION = re.compile(r"Version\s+(\d+)\.(\d+)(?:\s*\(Build\s+(\d+))?", re.IGNORECASE)
_RELEASES = {(15, 0): "2013", (15, 1): "2016", (15, 2): "2019"}


class Side(enum.StrEnum):
    """A side of the hybrid."""

    ONPREM = "onprem"
    ONLINE = "online"


def side_of(profile: Profile) -> Side:
    """The side ``profile`` reaches: online for Exchange Online (a jump host, pwsh, or a lab's ``online`` endpoint)."""
    online = profile.kind in ("online", "pwsh") or (profile.kind == "lab" and profile.endpoint == "online")
    return Side.ONLINE if online else Side.ONPREM


def check_sides(onprem: Profile, online: Profile) -> None:
    """Refuse swapped profiles: ``--onprem`` must reach Exchange Server, ``--online`` Exchange Online (or the lab's)."""
    for flag, profile, wanted in (("--onprem", onprem, Side.ONPREM), ("--online", online, Side.ONLINE)):
        if side_of(profile) is not wanted:
            what = "an Exchange Online" if wanted is Side.ONPREM else "an on-premises Exchange"
            raise InputError(f"{flag} {profile.name}: that is {what} profile (were --onprem and --online swapped?)")


def both_sides(onprem: Profile, online: Profile) -> dict[Side, Profile]:
    """A profile per side, as commands that need both take them (``check_sides`` first)."""
    check_sides(onprem, online)
    return {Side.ONPREM: onprem, Side.ONLINE: online}


def pick_sides(
    config: Config,
    *,
    onprem: str | None = None,
    online: str | None = None,
    default: str | None = None,
    lab_sides: Sequence[Side] = (Side.ONPREM, Side.ONLINE),
) -> dict[Side, Profile]:
    """The profiles of the sides a command reaches, for commands that work on one side or both.

    ``onprem``/``online`` name a profile per side (a lab profile is pointed at that side's endpoint; another kind
    must be that side's). Without either, the ``default`` profile (the global ``--profile``, else the config's
    default) is used: a lab profile reaches the lab's endpoints in ``lab_sides``, any other profile its own side.
    """
    chosen: dict[Side, Profile] = {}
    for side, name in ((Side.ONPREM, onprem), (Side.ONLINE, online)):
        if name is None:
            continue
        profile = config.profile(name)
        if profile.kind == "lab":
            profile = dataclasses.replace(profile, endpoint=side.value)
        elif side_of(profile) is not side:
            wanted = "an onprem (or lab)" if side is Side.ONPREM else "an online or pwsh (or lab)"
            raise ConfigError(f"profile {name!r} is a {profile.kind} profile; --{side} needs {wanted} profile")
        chosen[side] = profile
    if chosen:
        return chosen
    profile = config.profile(default)
    if profile.kind == "lab" and not profile.server:
        return {side: dataclasses.replace(profile, endpoint=side.value) for side in lab_sides}
    return {side_of(profile): profile}


def connect(profile: Profile, *, interactive: bool | None = None, **options: Any) -> PSSession:
    """Open a session for ``profile``: read a lab's ready file, resolve the password, open one pool.

    ``options`` go to the bridge (``max_pools``, ``retry``, ``chunk_size``). Close the session when done (it is a
    context manager).
    """
    return open_session(resolve_connection(profile, interactive=interactive), **options)


@contextlib.contextmanager
def open_sides(
    profiles: Mapping[Side, Profile], *, opener: Callable[[Profile], PSSession] = connect
) -> Iterator[dict[Side, PSSession]]:
    """A session per side (on-prem first); every one opened is closed on the way out, also when the next fails."""
    sessions: dict[Side, PSSession] = {}
    try:
        for side in Side:
            if side in profiles:
                sessions[side] = opener(profiles[side])
        yield sessions
    finally:
        for session in sessions.values():
            session.close()


def release_of(admin_display_version: Any) -> str | None:
    """The Exchange Server release an ``AdminDisplayVersion`` names (see the module docstring), or None."""
    match = _VERSION.search(str(admin_display_version or ""))
    if match is None:
        return None
    major, minor = int(match.group(1)), int(match.group(2))
    if major == 14:
        return "2010"
    release = _RELEASES.get((major, minor))
    if release == "2019" and match.group(3) and int(match.group(3)) >= _SE_FIRST_BUILD:
        return "SE"
    return release


def _rank(release: str) -> int:
    return 2025 if release == "SE" else int(release)


def live_release(session: PSSession) -> str | None:
    """The newest release the on-prem servers report (``Get-ExchangeServer``), or None when none does."""
    read = Pipeline.of(Command.of("Get-ExchangeServer"), Command.of("Select-Object", Property=["AdminDisplayVersion"]))
    try:
        servers = session.run(read).output
    except HybridkitError:
        return None
    found = [r for s in servers if isinstance(s, PSObject) and (r := release_of(s.get("AdminDisplayVersion")))]
    return max(found, key=_rank) if found else None


def declared_release(profile: Profile | None) -> str:
    """The on-prem release a profile declares (``exchange_version``); 2019 when it names none."""
    version = str(profile.exchange_version or "") if profile is not None else ""
    return version if version and version != "online" else DEFAULT_RELEASE


def onprem_release(session: PSSession | None, profile: Profile | None = None) -> str:
    """The on-prem Exchange release: what the servers report through ``session``, else what ``profile`` declares."""
    live = live_release(session) if session is not None else None
    return live or declared_release(profile)


def same_release(a: str | None, b: str | None) -> bool:
    """Whether two release names mean the same cmdlets and parameters (2019 and SE do)."""
    family = {"SE": "2019"}
    first, second = str(a or "").upper(), str(b or "").upper()
    return family.get(first, first) == family.get(second, second)
