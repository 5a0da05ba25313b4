"""The mail-flow service the CLI and the demo call: validate, read both sides, plan; apply journaled.

Validation happens before any connection is opened. ``apply_file`` reads live state again and refuses with
``StalePlanError`` if it moved since the plan that was shown (and confirmed).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from hybridkit.config import Profile
from hybridkit.errors import StalePlanError
from hybridkit.journal import DEFAULT_JOURNAL, Journal
from hybridkit.mailflow._apply import ApplyOutcome, apply_plan, read_observed, spec_fingerprint
from hybridkit.mailflow._config import load_spec
from hybridkit.mailflow._model import Change, MailflowSpec, Plan, Side
from hybridkit.mailflow._plan import plan_mailflow
from hybridkit.ps import PSSession, open_session
from hybridkit.runner import StepResult

__all__ = ["MailflowRun", "apply_file", "plan_file", "sessions_for"]

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
        plan = plan_mailflow(spec, read_observed(sessions))
    else:
        with sessions_for(onprem, online, opener) as opened:
            plan = plan_mailflow(spec, read_observed(opened))
    return MailflowRun(spec, onprem, online, plan, opener)


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
        fresh = plan_mailflow(run.spec, read_observed(opened))
        if fresh.fingerprint != run.plan.fingerprint:
            raise StalePlanError("live mail-flow state changed since the plan was made; run plan again")
        journal = stack.enter_context(Journal(journal_path or DEFAULT_JOURNAL))
        return apply_plan(fresh, opened, journal, fingerprint, argv=argv,
                          profile=f"{run.onprem.name},{run.online.name}", on_step=on_step)
