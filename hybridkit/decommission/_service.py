"""The decommission service the CLI and the demo call: open both sides, discover, plan, apply, restore, runbook."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from hybridkit.config import Profile, check_sides
from hybridkit.decommission._apply import Resolver, TeardownOutcome, apply_teardown, discover, read, step_command
from hybridkit.decommission._restore import RestoreOutcome, restore_backup
from hybridkit.decommission._model import DecommissionPlan, HybridObject, RemovalStep
from hybridkit.decommission._plan import plan_decommission
from hybridkit.journal import DEFAULT_JOURNAL, Journal
from hybridkit.templates import load_template
from hybridkit.errors import HybridkitError
from hybridkit.ps import Command, PSSession, comment_text, open_session
from hybridkit.runner import StepResult

__all__ = ["make_plan", "onprem_version", "render_runbook", "run_apply", "run_restore", "sessions_for"]


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


_MAJOR_MINOR = re.compile(r"Version\s+(\d+)\.(\d+)")
_RELEASES = {(14, 0): "2010", (14, 1): "2010", (14, 2): "2010", (14, 3): "2010", (15, 0): "2013", (15, 1): "2016",
             (15, 2): "2019"}


def onprem_version(profile: Profile, session: PSSession | None = None) -> str:
    """The on-prem Exchange release: the newest the servers report (Get-ExchangeServer AdminDisplayVersion) when a
    session is given and answers, else what the profile declares (2019 when it says nothing useful)."""
    version = str(profile.exchange_version or "2019")
    declared = "2019" if version == "online" else version
    if session is None:
        return declared
    try:
        servers = session.run(read(Command.of("Get-ExchangeServer"), ["AdminDisplayVersion"])).output
    except HybridkitError:
        return declared
    found = []
    for server in servers:
        match = _MAJOR_MINOR.search(str(getattr(server, "get", lambda _k: "")("AdminDisplayVersion") or ""))
        release = _RELEASES.get((int(match.group(1)), int(match.group(2)))) if match else None
        if release:
            found.append(release)
    if not found:
        return declared
    live = max(found)
    return declared if (live == "2019" and declared.upper() == "SE") else live


@contextlib.contextmanager
def sessions_for(onprem: Profile, online: Profile) -> Iterator[dict[str, PSSession]]:
    """Open a session per side (keys ``onprem``/``online``); close both on the way out."""
    check_sides(onprem, online)
    opened: dict[str, PSSession] = {}
    try:
        opened["onprem"] = open_session(onprem)
        opened["online"] = open_session(online)
        yield opened
    finally:
        for session in opened.values():
            session.close()


def make_plan(sessions: Mapping[str, PSSession], *, version: str = "2019", include_hybrid_configuration: bool = False,
              accepted: Sequence[str] = (), resolver: Resolver | None = None) -> DecommissionPlan:
    """Discover both sides and plan the teardown."""
    found = discover(sessions, onprem_version=version, resolver=resolver if resolver is not None else _default_resolver())
    return plan_decommission(found, include_hybrid_configuration=include_hybrid_configuration, accepted=accepted)


def run_apply(plan: DecommissionPlan, sessions: Mapping[str, PSSession], backup: Path, *, profiles: Sequence[str],
              accepted: Sequence[str] = (), journal_path: Path | None = None, argv: Sequence[str] = (),
              on_step: Callable[[RemovalStep, StepResult], None] | None = None) -> TeardownOutcome:
    """Apply the teardown journaled in ``journal_path`` (see ``apply_teardown``)."""
    with Journal(journal_path or DEFAULT_JOURNAL) as journal:
        return apply_teardown(plan, sessions, journal, backup, profiles=profiles, accepted=accepted, argv=argv,
                              on_step=on_step)


def run_restore(backup: Path, sessions: Mapping[str, PSSession], *, profiles: Sequence[str], only: Sequence[str] = (),
                version: str = "2019", what_if: bool = False, journal_path: Path | None = None,
                argv: Sequence[str] = (),
                on_step: Callable[[HybridObject, StepResult], None] | None = None) -> RestoreOutcome:
    """Recreate what the backup holds and live state lacks, journaled (see ``restore_backup``); under ``what_if``
    no journal is opened and nothing is sent."""
    if what_if:
        return restore_backup(backup, sessions, None, profiles=profiles, only=only, onprem_version=version)
    with Journal(journal_path or DEFAULT_JOURNAL) as journal:
        return restore_backup(backup, sessions, journal, profiles=profiles, only=only, onprem_version=version,
                              argv=argv, on_step=on_step)


def render_runbook(plan: DecommissionPlan, *, onprem: str, online: str, now: dt.datetime | None = None) -> str:
    """The teardown and the manual checklist as a PowerShell runbook (``ps_templates/decommission-runbook.ps1``).

    The removals are rendered with every value single-quoted; everything else (Exchange's names and messages, the
    checklist's commands, profile names) is written into comments through ``comment_text``, one inert line each.
    """
    removals = []
    for step in plan.steps:
        where = "on-premises Exchange Management Shell" if step.target.side == "onprem" else "Exchange Online"
        removals.append(f"# {step.order}. ({where}) {comment_text(step.why)}")
        removals.append(step_command(step).render())
        removals.append("")
    if not plan.steps:
        removals.append("# Nothing left to remove: no hybrid objects were found.")
    manual: list[str] = []
    before: list[str] = []
    for items, lines in (([m for m in plan.manual if m.before], before),
                         ([m for m in plan.manual if not m.before], manual)):
        for number, item in enumerate(items, start=1):
            lines.append(f"# [ ] {number}. {comment_text(item.text)}")
            if item.command:
                lines.append(f"# {comment_text(item.command)}")
    blockers = [f"    {comment_text(b.name)}: {comment_text(b.reason)}" for b in plan.blockers] or ["    none"]
    notices = [f"    {comment_text(n.code)}: {comment_text(n.message)} - {comment_text(n.reason)}"
               for n in plan.notices] or ["    none"]
    generated = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return load_template("decommission-runbook.ps1").substitute(
        generated=generated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        onprem_profile=comment_text(onprem),
        online_profile=comment_text(online),
        blockers="\n".join(blockers),
        warnings="\n".join(notices),
        before="\n".join(before) or "# nothing",
        removals="\n".join(removals).rstrip() + "\n",
        manual="\n".join(manual),
    )
