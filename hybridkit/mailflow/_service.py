"""The mail-flow service the CLI and the demo call: read the file once, plan against live state, apply.

``plan_file`` reads and checks ``mailflow.toml`` before any connection is opened (the release rule with the
file's or the profile's release), then checks it once more against the release the on-prem servers report and
plans. ``apply_file`` reads live state again and refuses with ``StalePlanError`` if it moved since the plan that
was shown (and confirmed), then applies through the runner.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from hybridkit.config import Profile
from hybridkit.errors import StalePlanError
from hybridkit.journal import DEFAULT_JOURNAL, Journal
from hybridkit.mailflow._apply import ApplyOutcome, apply_plan
from hybridkit.mailflow._discover import live_onprem_version, read_observed
from hybridkit.mailflow._model import MailflowSpec, Plan, Side
from hybridkit.mailflow._plan import plan_mailflow, spec_fingerprint
from hybridkit.mailflow._read import check_release, load_spec
from hybridkit.ps import PSSession
from hybridkit.sides import both_sides, connect, open_sides
from hybridkit.runner import Reporter

__all__ = ["MailflowRun", "apply_file", "plan_file", "sessions_for"]

SessionOpener = Callable[[Profile], PSSession]


@dataclasses.dataclass(frozen=True)
class MailflowRun:
    """A validated spec, the profiles of both sides and the plan made against live state."""

    spec: MailflowSpec
    onprem: Profile
    online: Profile
    plan: Plan
    opener: SessionOpener = connect


def sessions_for(onprem: Profile, online: Profile, opener: SessionOpener = connect
                 ) -> contextlib.AbstractContextManager[dict[Side, PSSession]]:
    """Open a session per side (swapped profiles refused first); close both on the way out."""
    return open_sides(both_sides(onprem, online), opener=opener)


@contextlib.contextmanager
def _sides(onprem: Profile, online: Profile, opener: SessionOpener,
           given: Mapping[Side, PSSession] | None) -> Iterator[Mapping[Side, PSSession]]:
    """The caller's sessions (left open), or both sides opened here (closed on the way out)."""
    if given is not None:
        yield given
        return
    with sessions_for(onprem, online, opener) as opened:
        yield opened


def _profile_release(profile: Profile) -> str | None:
    version = str(profile.exchange_version or "")
    return version if version and version != "online" else None


def plan_file(
    path: Path, onprem: Profile, online: Profile, *, opener: SessionOpener = connect,
    sessions: Mapping[Side, PSSession] | None = None,
) -> MailflowRun:
    """Read and check ``path``, then plan it against live state.

    Raises:
        InputError: the file cannot be read, or names another release than the on-prem servers run.
        MailflowConfigError: the file is invalid (every problem with its line), before any connection.
        CommandFailed: a read of live state failed.
    """
    spec = load_spec(path, onprem_version=_profile_release(onprem))
    with _sides(onprem, online, opener, sessions) as opened:
        spec = check_release(spec, live_onprem_version(opened[Side.ONPREM]))
        plan = plan_mailflow(spec, read_observed(opened, spec))
    return MailflowRun(spec, onprem, online, plan, opener)


def apply_file(
    run: MailflowRun,
    *,
    argv: Sequence[str] = (),
    journal_path: Path | None = None,
    reporter: Reporter | None = None,
    sessions: Mapping[Side, PSSession] | None = None,
) -> ApplyOutcome:
    """Apply ``run.plan`` after checking live state has not moved since it was made (journaled, resumable).

    Raises:
        StalePlanError: live state changed since the plan was made.
    """
    with _sides(run.onprem, run.online, run.opener, sessions) as opened:
        fresh = plan_mailflow(run.spec, read_observed(opened, run.spec))
        if fresh.fingerprint != run.plan.fingerprint:
            raise StalePlanError("live mail-flow state changed since the plan was made; run plan again")
        with Journal(journal_path or DEFAULT_JOURNAL) as journal:
            return apply_plan(fresh, opened, journal, spec_fingerprint(run.spec, [run.onprem.name, run.online.name]),
                              argv=argv, profile=f"{run.onprem.name},{run.online.name}", reporter=reporter)
