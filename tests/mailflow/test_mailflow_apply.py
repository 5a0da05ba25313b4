"""Apply through the service with in-process sessions over the lab handlers: idempotence, drift, resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridkit.config import Profile
from hybridkit.errors import CommandFailed, StalePlanError
from hybridkit.journal import Journal, RunStatus
from hybridkit.lab import InProcessSession
from hybridkit.lab.exchange.engine import ExchangeEngine
from hybridkit.mailflow import render_runbook
from hybridkit.mailflow._model import Action, Side
from hybridkit.mailflow._scaffold import SCENARIOS
from hybridkit.mailflow._service import apply_file, plan_file
from hybridkit.runner import StepStatus
from tests.mailflow._mfkit import make_org


@pytest.fixture
def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    org = make_org()
    org.onprem.collection("AcceptedDomain")["contoso.com"] = {
        "Name": "contoso.com", "DomainName": "contoso.com", "DomainType": "Authoritative", "Default": True}
    engine = ExchangeEngine(org)
    sessions = {Side.ONPREM: InProcessSession(engine, "onprem"), Side.ONLINE: InProcessSession(engine, "online")}
    spec = tmp_path / "mailflow.toml"
    spec.write_text(SCENARIOS["azure-relay"], encoding="utf-8")
    profiles = (Profile("onprem", "lab"), Profile("online", "lab", endpoint="online"))
    return org, sessions, spec, profiles, tmp_path / "journal.sqlite"


def cmdlet(sent) -> str:  # type: ignore[no-untyped-def]
    """The first cmdlet of a pipeline a session was sent."""
    return sent.pipeline.commands[0].cmdlet


def refuse(name: str, message: str):  # type: ignore[no-untyped-def]
    """A ``before_run`` that fails every pipeline running cmdlet ``name`` as a broken endpoint would."""

    def before_run(sent) -> None:  # type: ignore[no-untyped-def]
        if any(c.cmdlet == name for c in sent.pipeline.commands):
            raise CommandFailed(message, command=name)

    return before_run


def _plan(env):  # type: ignore[no-untyped-def]
    org, sessions, spec, (onprem, online), _ = env
    return plan_file(spec, onprem, online, sessions=sessions)


def _apply(env, run=None):  # type: ignore[no-untyped-def]
    return apply_file(run or _plan(env), sessions=env[1], journal_path=env[4])


def test_plan_apply_replan(env) -> None:  # type: ignore[no-untyped-def]
    org = env[0]
    first = _plan(env)
    assert [c.action for c in first.plan.actionable] == [Action.CREATE] * 3
    outcome = _apply(env)
    assert outcome.ok and [r.status for r in outcome.results] == [StepStatus.DONE] * 3
    assert org.onprem.collection("SendConnector")["My company to Office 365"]["DNSRoutingEnabled"] is False
    assert not _plan(env).plan.has_changes
    again = _apply(env)
    assert again.results == [] and again.run_id is None


def test_partial_drift_corrected_with_one_set(env) -> None:  # type: ignore[no-untyped-def]
    org, sessions = env[0], env[1]
    _apply(env)
    org.onprem.collection("SendConnector")["My company to Office 365"]["RequireTLS"] = False
    org.online.collection("InboundConnector")["From on-premises relay"]["SenderIPAddresses"] = ["198.51.100.7"]
    sent_before = {side: len(s.sent) for side, s in sessions.items()}
    run = _plan(env)
    assert [(c.cmdlet, [p.name for p in c.properties]) for c in run.plan.actionable] == [
        ("Set-InboundConnector", ["SenderIPAddresses"]), ("Set-SendConnector", ["RequireTLS"])]
    outcome = _apply(env, run)
    assert outcome.ok
    sets = [cmdlet(c) for side, s in sessions.items() for c in s.sent[sent_before[side]:]
            if not cmdlet(c).startswith("Get-")]
    assert sorted(sets) == ["Set-InboundConnector", "Set-SendConnector"]
    assert not _plan(env).plan.has_changes


def test_failure_on_one_side_resumes_without_duplicates(env) -> None:  # type: ignore[no-untyped-def]
    org, sessions = env[0], env[1]
    sessions[Side.ONLINE].before_run = refuse("New-InboundConnector", "The remote server returned an error: (500).")
    broken = _apply(env)
    assert not broken.ok
    assert [r.status for r in broken.results] == [StepStatus.DONE, StepStatus.FAILED]
    assert "fabrikam.com" in {d["DomainName"] for d in org.onprem.collection("AcceptedDomain").values()}
    assert org.onprem.collection("SendConnector") == {}  # stopped: nothing sends before EXO trusts it
    with Journal(env[4]) as journal:
        # A step failed (the send connector after it never ran): the run ended failed, not interrupted - nobody
        # pressed Ctrl-C - and it resumes all the same.
        assert journal.get_run(broken.run_id).status is RunStatus.FAILED
    sessions[Side.ONLINE].before_run = None
    resumed = _apply(env)
    assert resumed.ok and resumed.resumed and resumed.run_id == broken.run_id
    assert [r.step.target for r in resumed.results] == [
        "online:InboundConnector:From on-premises relay", "onprem:SendConnector:My company to Office 365"]
    news = [cmdlet(c) for s in sessions.values() for c in s.sent if cmdlet(c).startswith("New-")]
    assert sorted(news) == ["New-AcceptedDomain", "New-InboundConnector", "New-InboundConnector", "New-SendConnector"]
    assert len([d for d in org.onprem.collection("AcceptedDomain").values() if d["DomainName"] == "fabrikam.com"]) == 1
    with Journal(env[4]) as journal:
        assert journal.get_run(broken.run_id).status is RunStatus.COMPLETED
        assert [s.state.value for s in journal.steps(broken.run_id)] == ["done"] * 3


def test_in_doubt_step_already_applied_is_verified_not_resent(env) -> None:  # type: ignore[no-untyped-def]
    org, sessions = env[0], env[1]
    sessions[Side.ONLINE].before_run = refuse("New-InboundConnector", "connection dropped")
    broken = _apply(env)
    # The connector did get created after all (the failure came after the server acted).
    sessions[Side.ONLINE].before_run = None
    from tests.mailflow._mfkit import run as lab_run
    lab_run(org, "online", "New-InboundConnector", Name="From on-premises relay", ConnectorType="OnPremises",
            SenderDomains=["*"], SenderIPAddresses=["203.0.113.25"], RestrictDomainsToIPAddresses=True,
            RequireTls=True)
    resumed = _apply(env)
    assert resumed.resumed and resumed.run_id == broken.run_id
    assert resumed.verified == ["online:InboundConnector:From on-premises relay"]
    assert [r.step.target for r in resumed.results] == ["onprem:SendConnector:My company to Office 365"]


def test_stale_plan_is_refused(env) -> None:  # type: ignore[no-untyped-def]
    run = _plan(env)
    env[0].onprem.collection("AcceptedDomain")["contoso.com"]["DomainType"] = "InternalRelay"
    with pytest.raises(StalePlanError):
        _apply(env, run)


def test_runbook_has_the_exact_commands(env) -> None:  # type: ignore[no-untyped-def]
    run = _plan(env)
    text = render_runbook(run.plan, source="mailflow.toml", onprem="onprem", online="online")
    assert "$ErrorActionPreference = 'Stop'" in text
    assert ("New-SendConnector -Name 'My company to Office 365' -AddressSpaces @('*') -SmartHosts "
            "@('contoso-com.mail.protection.outlook.com') -CloudServicesMailEnabled:$true -RequireTLS:$true "
            "-TlsAuthLevel 'CertificateValidation'") in text
    assert text.index("New-AcceptedDomain") < text.index("New-InboundConnector") < text.index("New-SendConnector")
    assert "${" not in text


def test_reads_select_exactly_the_columns_the_plan_uses(env) -> None:  # type: ignore[no-untyped-def]
    """Issue 13, data diet: every read ends in Select-Object -Property with the declared keys (and the match key)."""
    from hybridkit.ps import Pipeline

    sessions = env[1]
    _plan(env)
    reads = [sent.pipeline for s in sessions.values() for sent in s.sent]
    assert reads and all(isinstance(c, Pipeline) and c.commands[-1].cmdlet == "Select-Object" for c in reads), reads
    selected = {c.commands[0].cmdlet: c.commands[-1].param("Property") for c in reads}
    assert selected == {
        "Get-ExchangeServer": ["AdminDisplayVersion"],
        "Get-AcceptedDomain": ["Name", "DomainName", "DomainType"],
        "Get-InboundConnector": ["Name", "ConnectorType", "SenderDomains", "SenderIPAddresses",
                                 "RestrictDomainsToIPAddresses", "RequireTls"],
        "Get-SendConnector": ["Name", "AddressSpaces", "SmartHosts", "CloudServicesMailEnabled", "RequireTLS",
                              "TlsAuthLevel"],
        "Get-OutboundConnector": ["Name"],  # nothing declared: only what lists it as present, not declared
    }
