"""Engine-level tests of the lab's Set-Mailbox hold rules: handlers driven directly with a fake sink."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hybridkit.lab._types import CollectingSink, EndpointKind, LabSession
from hybridkit.lab.exchange.cmdlets import hold  # noqa: F401  (registers Set-Mailbox)
from hybridkit.lab.exchange.cmdlets._registry import HANDLERS, CmdletContext
from hybridkit.lab.exchange.org import Org, Side, VirtualClock

T0 = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.timezone.utc)


Sink = CollectingSink


def _rec(alias: str, kind: str = "UserMailbox", **extra: Any) -> dict[str, Any]:
    guid = str(uuid.uuid5(uuid.NAMESPACE_DNS, alias))
    return {"Guid": guid, "Alias": alias, "Name": alias, "Identity": alias, "PrimarySmtpAddress": f"{alias}@contoso.com",
            "RecipientTypeDetails": kind, **extra}


def make_org() -> Org:
    onprem, online = Side("onprem"), Side("online")
    for rec in (_rec("ann"), _rec("pf1", "PublicFolderMailbox"), _rec("bob", "RemoteUserMailbox")):
        onprem.recipients[rec["Guid"]] = rec
    for rec in (
        _rec("bob", PersistedCapabilities=["BPOS_S_Enterprise"]),
        _rec("kiosk", PersistedCapabilities=["BPOS_S_Standard"]),
        _rec("arch", PersistedCapabilities=["BPOS_S_Standard", "BPOS_S_ArchiveAddOn"]),
        _rec("ann", "MailUser"),
    ):
        online.recipients[rec["Guid"]] = rec
    return Org(onprem, online, VirtualClock(T0, scale=0.0))


def run(org: Org, side: str, **params: Any) -> Sink:
    sink = Sink()
    online = side == "online"
    session = LabSession(EndpointKind.ONLINE if online else EndpointKind.ONPREM,
                         "admin@contoso.onmicrosoft.com" if online else "CONTOSO\\admin")
    ctx = CmdletContext("Set-Mailbox", params, None, org, org.side(side), session,
                        "Exchange Online" if online else "Exchange Server 2019", sink)
    HANDLERS["set-mailbox"](ctx)
    return sink


def rec(org: Org, side: str, alias: str) -> dict[str, Any]:
    return next(r for r in org.side(side).recipients.values()
                if r["Alias"] == alias and r["RecipientTypeDetails"] not in ("MailUser", "RemoteUserMailbox"))


def test_enable_stamps_date_and_owner_and_keeps_default_duration() -> None:
    org = make_org()
    sink = run(org, "onprem", Identity="ann@contoso.com", LitigationHoldEnabled=True)
    assert not sink.errors
    r = rec(org, "onprem", "ann")
    assert r["LitigationHoldEnabled"] is True
    assert r["LitigationHoldDate"] == T0.isoformat()
    assert r["LitigationHoldOwner"] == "CONTOSO\\admin"
    assert r["LitigationHoldDuration"] == "Unlimited"


def test_owner_and_duration_given_are_kept() -> None:
    org = make_org()
    run(org, "online", Identity="bob", LitigationHoldEnabled=True, LitigationHoldDuration=2555,
        LitigationHoldOwner="Legal (case 42)", RetentionComment="Case 42")
    r = rec(org, "online", "bob")
    assert (r["LitigationHoldDuration"], r["LitigationHoldOwner"], r["RetentionComment"]) == ("2555.00:00:00", "Legal (case 42)",
                                                                                             "Case 42")
    run(org, "online", Identity="bob", LitigationHoldDuration="Unlimited")
    assert rec(org, "online", "bob")["LitigationHoldDuration"] == "Unlimited"


def test_unlicensed_cloud_mailbox_gets_exchange_online_message() -> None:
    org = make_org()
    sink = run(org, "online", Identity="kiosk@contoso.com", LitigationHoldEnabled=True)
    assert len(sink.errors) == 1
    assert sink.errors[0].message.split("|")[-1] == (
        "The action 'Set-Mailbox', 'LitigationHoldEnabled', can't be performed on the user 'kiosk'. Your Microsoft "
        "Exchange Online license doesn't permit you to put a litigation hold on this mailbox.")
    assert sink.errors[0].target == "kiosk"
    assert not rec(org, "online", "kiosk").get("LitigationHoldEnabled")
    assert not run(org, "online", Identity="arch", LitigationHoldEnabled=True).errors  # Plan 1 + archiving add-on


def test_public_folder_mailbox_refused_and_hidden_without_switch() -> None:
    org = make_org()
    hidden = run(org, "onprem", Identity="pf1", LitigationHoldEnabled=True)
    assert "couldn't be found" in hidden.errors[0].message
    refused = run(org, "onprem", Identity="pf1", PublicFolder=True, LitigationHoldEnabled=True)
    assert refused.errors[0].message.startswith("Placing public folder mailboxes on Litigation Hold isn't supported.")


def test_remote_mailbox_and_mail_user_are_not_mailboxes_here() -> None:
    org = make_org()
    assert "couldn't be found" in run(org, "onprem", Identity="bob", LitigationHoldEnabled=True).errors[0].message
    assert "couldn't be found" in run(org, "online", Identity="ann", LitigationHoldEnabled=True).errors[0].message


def test_retention_comment_needs_retention_hold_on_premises() -> None:
    org = make_org()
    sink = run(org, "onprem", Identity="ann", RetentionComment="x")
    assert "RetentionHoldEnabled" in sink.errors[0].message
    assert not run(org, "onprem", Identity="ann", RetentionComment="x", RetentionHoldEnabled=True).errors
    assert rec(org, "onprem", "ann")["RetentionHoldEnabled"] is True


def test_other_parameters_stored_and_whatif_changes_nothing() -> None:
    org = make_org()
    run(org, "onprem", Identity="ann", CustomAttribute1="wave-3")
    assert rec(org, "onprem", "ann")["CustomAttribute1"] == "wave-3"
    run(org, "onprem", Identity="ann", LitigationHoldEnabled=True, WhatIf=True)
    assert not rec(org, "onprem", "ann").get("LitigationHoldEnabled")


def test_reenabling_keeps_the_original_date() -> None:
    org = make_org()
    run(org, "onprem", Identity="ann", LitigationHoldEnabled=True)
    org.clock.advance(3600)
    run(org, "onprem", Identity="ann", LitigationHoldEnabled=True, LitigationHoldDuration=30)
    r = rec(org, "onprem", "ann")
    assert r["LitigationHoldDate"] == T0.isoformat() and r["LitigationHoldDuration"] == "30.00:00:00"


# -- through the engine: catalogue binding in front of the handler ------------------------------------------------

def _engine_run(version: str, commands: list[Any], items: list[Any]) -> Sink:
    import pytest

    engine_mod = pytest.importorskip("hybridkit.lab.exchange.engine")
    from hybridkit.lab._types import LabCommand, LabTerminatingError

    engine = engine_mod.ExchangeEngine.create(org="demo", version=version)
    session = LabSession(EndpointKind.ONPREM, "labadmin", "shell-1")
    engine.open_session(session)
    sink = Sink()
    try:
        engine.invoke(session, [LabCommand(name, list(params)) for name, params in commands], items, sink)
    except LabTerminatingError as exc:
        sink.errors.append(exc.error)
    sink.engine = engine  # type: ignore[attr-defined]
    return sink


def _first_user(sink: Sink) -> dict[str, Any]:
    org = sink.engine.org  # type: ignore[attr-defined]
    return next(r for r in org.onprem.recipients.values() if r.get("RecipientTypeDetails") == "UserMailbox")


def test_engine_refuses_duration_on_exchange_2010() -> None:
    probe = _engine_run("2010", [], [])
    who = _first_user(probe)["PrimarySmtpAddress"]
    sink = _engine_run("2010", [("Set-Mailbox", [("Identity", who), ("LitigationHoldEnabled", True),
                                                 ("LitigationHoldDuration", 30)])], [])
    assert sink.errors and "LitigationHoldDuration" in sink.errors[0].message
    ok = _engine_run("2019", [("Set-Mailbox", [("Identity", who), ("LitigationHoldEnabled", True),
                                               ("LitigationHoldDuration", 30)])], [])
    assert not ok.errors


def test_engine_binds_set_mailbox_identity_by_property_name_only() -> None:
    probe = _engine_run("2019", [], [])
    who = _first_user(probe)["PrimarySmtpAddress"]
    strings = _engine_run("2019", [("Set-Mailbox", [("LitigationHoldEnabled", True)])], [who])
    assert strings.errors and "cannot be bound to any parameters" in strings.errors[0].message
    piped = _engine_run("2019", [("Get-Mailbox", []), ("Set-Mailbox", [("LitigationHoldEnabled", True)])], [who])
    assert not piped.errors
    rec = next(r for r in piped.engine.org.onprem.recipients.values()  # type: ignore[attr-defined]
               if r.get("PrimarySmtpAddress") == who)
    assert rec["LitigationHoldEnabled"] is True and rec["LitigationHoldOwner"] == "labadmin"


def test_duration_beyond_a_timespan_is_refused() -> None:
    org = make_org()
    assert not run(org, "onprem", Identity="ann", LitigationHoldEnabled=True, LitigationHoldDuration=10675199).errors
    sink = run(org, "onprem", Identity="ann", LitigationHoldDuration=10675200)
    assert sink.errors and "LitigationHoldDuration" in sink.errors[0].message
    assert rec(org, "onprem", "ann")["LitigationHoldDuration"] == "10675199.00:00:00"
