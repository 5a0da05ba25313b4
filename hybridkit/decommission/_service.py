"""The decommission service the CLI and the demo call: open both sides, discover, plan, apply, restore."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from hybridkit.config import Profile
from hybridkit.decommission._apply import RestoreOutcome, TeardownOutcome, apply_teardown, restore_backup
from hybridkit.decommission._discover import Resolver, discover
from hybridkit.decommission._model import DecommissionPlan
from hybridkit.decommission._plan import plan_decommission
from hybridkit.journal import DEFAULT_JOURNAL, Journal
from hybridkit.ps import PSSession
from hybridkit.runner import Reporter
from hybridkit.sides import Side, both_sides, open_sides

__all__ = ["make_plan", "run_apply", "run_restore", "sessions_for"]


def _default_resolver() -> Resolver | None:
    """An MX/Autodiscover resolver when dnspython is installed; otherwise None (the plan says DNS was not checked)."""
    try:
        import dns.resolver  # type: ignore[import-not-found]
    except ImportError:
        return None

    def resolve(domain: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for kind, name, rtype in (("MX", domain, "MX"), ("Autodiscover", f"autodiscover.{domain}", "CNAME")):
            try:
                for answer in dns.resolver.resolve(name, rtype, lifetime=5):
                    out.append((kind, str(getattr(answer, "exchange", None) or getattr(answer, "target", answer))))
            except Exception:  # noqa: BLE001 - a missing record is simply not reported
                continue
        return out

    return resolve


def sessions_for(onprem: Profile, online: Profile) -> contextlib.AbstractContextManager[dict[Side, PSSession]]:
    """Open a session per side (swapped profiles refused first); close both on the way out."""
    return open_sides(both_sides(onprem, online))


def make_plan(sessions: Mapping[str, PSSession], *, version: str = "2019", include_hybrid_configuration: bool = False,
              accepted: Sequence[str] = (), resolver: Resolver | None = None) -> DecommissionPlan:
    """Discover both sides and plan the teardown."""
    found = discover(sessions, onprem_version=version, resolver=resolver if resolver is not None else _default_resolver())
    return plan_decommission(found, include_hybrid_configuration=include_hybrid_configuration, accepted=accepted)


def run_apply(plan: DecommissionPlan, sessions: Mapping[str, PSSession], backup: Path, *, profiles: Sequence[str],
              accepted: Sequence[str] = (), journal_path: Path | None = None, argv: Sequence[str] = (),
              reporter: Reporter | None = None) -> TeardownOutcome:
    """Apply the teardown journaled in ``journal_path`` (see ``apply_teardown``)."""
    with Journal(journal_path or DEFAULT_JOURNAL) as journal:
        return apply_teardown(plan, sessions, journal, backup, profiles=profiles, accepted=accepted, argv=argv,
                              reporter=reporter)


def run_restore(backup: Path, sessions: Mapping[str, PSSession], *, profiles: Sequence[str], only: Sequence[str] = (),
                version: str = "2019", what_if: bool = False, journal_path: Path | None = None,
                argv: Sequence[str] = (), reporter: Reporter | None = None) -> RestoreOutcome:
    """Recreate what the backup holds and live state lacks, journaled (see ``restore_backup``); under ``what_if``
    no journal is opened and nothing is sent."""
    if what_if:
        return restore_backup(backup, sessions, None, profiles=profiles, only=only, onprem_version=version)
    with Journal(journal_path or DEFAULT_JOURNAL) as journal:
        return restore_backup(backup, sessions, journal, profiles=profiles, only=only, onprem_version=version,
                              argv=argv, reporter=reporter)
