"""The mail-flow service the CLI and the demo call: validate, read both sides, plan; apply journaled.

Validation happens before any connection is opened. ``apply_file`` reads live state again and refuses with
``StalePlanError`` if it moved since the plan that was shown (and confirmed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from hybridkit.config import Profile, check_sides
from hybridkit.errors import HybridkitError, InputError, StalePlanError
from hybridkit.journal import DEFAULT_JOURNAL, Journal
from hybridkit.mailflow._apply import ApplyOutcome, apply_plan, read_observed, spec_fingerprint
from hybridkit.mailflow._config import load_spec
from hybridkit.mailflow._model import Change, MailflowSpec, Plan, Side
from hybridkit.mailflow._plan import plan_mailflow
from hybridkit.ps import Command, Pipeline, PSSession, open_session
from hybridkit.runner import StepResult

__all__ = ["MailflowRun", "apply_file", "live_onprem_version", "plan_file", "sessions_for"]

SessionOpener = Callable[[Profile], PSSession]


@dataclasses.dataclass(frozen=True)
class MailflowRun:
    """A validated spec, the profiles of both sides and the plan made against live state."""

    spec: MailflowSpec
    onprem: Profile
    online: Profile
    plan: Plan
    opener: SessionOpener = open_session


@contextlib.contextmanager
def sessions_for(onprem: Profile, online: Profile, opener: SessionOpener = open_session) -> Iterator[dict[Side, PSSession]]:
    """Open a session per side; close both on the way out."""
    check_sides(onprem, online)
    opened: dict[Side, PSSession] = {}
    try:
        opened[Side.ONPREM] = opener(onprem)
        opened[Side.ONLINE] = opener(online)
        yield opened
    finally:
        for session in opened.values():
            session.close()


def _version(profile: Profile) -> str | None:
    version = str(profile.exchange_version or "")
    return version if version and version != "online" else None


def plan_file(
    path: Path, onprem: Profile, online: Profile, *, opener: SessionOpener = open_session,
    sessions: Mapping[Side, PSSession] | None = None,
) -> MailflowRun:
    """Validate ``path`` (raises ``MailflowConfigError`` with line numbers), then plan against live state."""
    spec = load_spec(path, onprem_version=_version(onprem))
    if sessions is not None:
        spec = _check_live_version(path, spec, sessions[Side.ONPREM])
        plan = plan_mailflow(spec, read_observed(sessions, spec))
    else:
        with sessions_for(onprem, online, opener) as opened:
            spec = _check_live_version(path, spec, opened[Side.ONPREM])
            plan = plan_mailflow(spec, read_observed(opened, spec))
    return MailflowRun(spec, onprem, online, plan, opener)


_MAJOR_MINOR = re.compile(r"Version\s+(\d+)\.(\d+)")
_RELEASES = {(14, None): "2010", (15, 0): "2013", (15, 1): "2016", (15, 2): "2019"}


def live_onprem_version(session: PSSession) -> str | None:
    """The newest Exchange release among the on-prem servers (from AdminDisplayVersion), or None if unknown."""
    try:
        result = session.run(Pipeline.of(Command.of("Get-ExchangeServer"),
                                         Command.of("Select-Object", Property=["AdminDisplayVersion"])))
    except HybridkitError:
        return None
    found = []
    for server in result.output:
        match = _MAJOR_MINOR.search(str(server.get("AdminDisplayVersion") or ""))
        if match:
            major, minor = int(match.group(1)), int(match.group(2))
            release = _RELEASES.get((major, None)) or _RELEASES.get((major, minor))
            if release:
                found.append(release)
    return max(found) if found else None


def _same_release(live: str, declared: str | None) -> bool:
    """Exchange Server SE reports version 15.2 like 2019."""
    wanted = str(declared or "").upper()
    return wanted == live or (live == "2019" and wanted == "SE")


def _check_live_version(path: Path, spec: MailflowSpec, session: PSSession) -> MailflowSpec:
    """Validate again against the release the on-prem servers really run (a profile's exchange_version defaults to
    2019; a lab profile's to the lab's). A file that names another release than the servers run is refused."""
    live = live_onprem_version(session)
    if live is None or _same_release(live, spec.onprem_version):
        return spec
    checked = load_spec(path, onprem_version=live)
    if not _same_release(live, checked.onprem_version):  # the file itself says exchange_version = ...
        raise InputError(f"exchange_version = \"{checked.onprem_version}\" but the on-prem servers run Exchange "
                         f"{live}; fix exchange_version in the file (or remove it to use the servers' release)",
                         file=str(path))
    return checked


def apply_file(
    run: MailflowRun,
    *,
    argv: Sequence[str] = (),
    journal_path: Path | None = None,
    on_step: Callable[[Change, StepResult], None] | None = None,
    sessions: Mapping[Side, PSSession] | None = None,
) -> ApplyOutcome:
    """Apply ``run.plan`` after checking live state has not moved since it was made."""
    fingerprint = spec_fingerprint(run.spec, [run.onprem.name, run.online.name])
    with contextlib.ExitStack() as stack:
        opened = sessions if sessions is not None else stack.enter_context(
            sessions_for(run.onprem, run.online, run.opener))
        fresh = plan_mailflow(run.spec, read_observed(opened, run.spec))
        if fresh.fingerprint != run.plan.fingerprint:
            raise StalePlanError("live mail-flow state changed since the plan was made; run plan again")
        journal = stack.enter_context(Journal(journal_path or DEFAULT_JOURNAL))
        return apply_plan(fresh, opened, journal, fingerprint, argv=argv,
                          profile=f"{run.onprem.name},{run.online.name}", on_step=on_step)
