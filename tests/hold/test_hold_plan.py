"""Pure planner tests for litigation hold: table-driven, no lab."""

from __future__ import annotations

import ast
import pathlib

import pytest

from hybridkit.hold._model import HoldAction, HoldSettings, MailboxHold, OutcomeStatus, parse_duration
from hybridkit.hold._plan import is_licence_error, outcomes_after_apply, outcomes_for_status, plan_hold

LICENCE_MSG = (
    "The action 'Set-Mailbox', 'LitigationHoldEnabled', can't be performed on the user 'ann'. Your Microsoft "
    "Exchange Online license doesn't permit you to put a litigation hold on this mailbox."
)


def mbx(key: str, side: str | None = "onprem", *, enabled: bool = False, duration: int | None = None,
        caps: tuple[str, ...] | None = None, identity: str | None = None) -> MailboxHold:
    return MailboxHold(key=key, side=side, identity=identity or (key.split("@")[0] if side else ""),
                       primary_smtp=key, enabled=enabled, duration=duration, capabilities=caps)


@pytest.mark.parametrize(
    ("mailbox", "settings", "version", "action"),
    [
        (mbx("a@x"), HoldSettings(), "2019", HoldAction.ENABLE),
        (mbx("a@x", enabled=True), HoldSettings(), "2019", HoldAction.ALREADY),
        (mbx("a@x", enabled=True, duration=365), HoldSettings(), "2019", HoldAction.ALREADY),
        (mbx("a@x", enabled=True, duration=365), HoldSettings(365, duration_given=True), "2019", HoldAction.ALREADY),
        (mbx("a@x", enabled=True, duration=365), HoldSettings(730, duration_given=True), "2019", HoldAction.CHANGE),
        (mbx("a@x", enabled=True, duration=365), HoldSettings(None, duration_given=True), "2019", HoldAction.CHANGE),
        (mbx("a@x", enabled=True), HoldSettings(None, duration_given=True), "2019", HoldAction.ALREADY),
        (mbx("a@x", None), HoldSettings(), "2019", HoldAction.NOT_FOUND),
        (mbx("a@x", "online", caps=("BPOS_S_Standard",)), HoldSettings(), "2019", HoldAction.UNLICENSED),
        (mbx("a@x", "online", caps=()), HoldSettings(), "2019", HoldAction.UNLICENSED),
        (mbx("a@x", "online", caps=("BPOS_S_Enterprise",)), HoldSettings(), "2019", HoldAction.ENABLE),
        (mbx("a@x", "online", caps=("BPOS_S_Standard", "BPOS_S_ArchiveAddOn")), HoldSettings(), "2019",
         HoldAction.ENABLE),
        (mbx("a@x", "online", caps=None), HoldSettings(), "2019", HoldAction.ENABLE),  # unknown: send, classify error
        (mbx("a@x", "online", enabled=True, caps=()), HoldSettings(), "2019", HoldAction.ALREADY),
        (mbx("a@x"), HoldSettings(30, duration_given=True), "2010", HoldAction.REFUSED),
        (mbx("a@x"), HoldSettings(), "2010", HoldAction.ENABLE),
        (mbx("a@x", "online"), HoldSettings(30, duration_given=True), "2010", HoldAction.ENABLE),
    ],
)
def test_plan_one_mailbox(mailbox: MailboxHold, settings: HoldSettings, version: str, action: HoldAction) -> None:
    plan = plan_hold([mailbox], settings, onprem_version=version)
    assert [i.action for i in plan.items] == [action]
    assert plan.has_changes == action.sends


def test_plan_keeps_order_and_sends_each_mailbox_once() -> None:
    observed = [mbx("b@x"), mbx("a@x", "online", caps=("BPOS_S_Enterprise",)), mbx("B.alias@x", identity="b")]
    plan = plan_hold(observed, HoldSettings())
    assert [i.key for i in plan.items] == ["b@x", "a@x", "B.alias@x"]
    assert [i.identity for i in plan.to_send("onprem")] == ["b"]
    assert [i.identity for i in plan.to_send("online")] == ["a"]
    assert plan.items[2].reason == "same mailbox as b@x"


@pytest.mark.parametrize(
    ("held", "asked", "allow", "action"),
    [
        (None, 1, False, HoldAction.KEEP_LONGER),  # unlimited is never cut to a day without asking
        (2555, 1, False, HoldAction.KEEP_LONGER),
        (2555, 2554, False, HoldAction.KEEP_LONGER),
        (None, 1, True, HoldAction.CHANGE),
        (2555, 1, True, HoldAction.CHANGE),
        (30, 2555, False, HoldAction.CHANGE),  # lengthening needs no flag
        (30, None, False, HoldAction.CHANGE),
        (2555, 2555, False, HoldAction.ALREADY),
    ],
)
def test_a_hold_is_never_shortened_unless_asked(held: int | None, asked: int | None, allow: bool,
                                                action: HoldAction) -> None:
    settings = HoldSettings(asked, duration_given=True, allow_shorter=allow)
    plan = plan_hold([mbx("a@x", enabled=True, duration=held)], settings)
    assert [i.action for i in plan.items] == [action]
    if action is HoldAction.KEEP_LONGER:
        rows = outcomes_after_apply(plan, {}, {})
        assert rows[0].status is OutcomeStatus.KEPT_LONGER and "--allow-shorter" in rows[0].message
        assert not plan.has_changes


def test_fingerprint_moves_with_state() -> None:
    one = plan_hold([mbx("a@x")], HoldSettings()).fingerprint
    assert one == plan_hold([mbx("a@x")], HoldSettings()).fingerprint
    assert one != plan_hold([mbx("a@x", enabled=True)], HoldSettings()).fingerprint


@pytest.mark.parametrize(("text", "days"), [("unlimited", None), ("Unlimited", None), (None, None), ("365", 365),
                                            (30, 30), ("2555.00:00:00", 2555)])
def test_parse_duration(text: object, days: int | None) -> None:
    assert parse_duration(text) == days  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["0", "-3", "forever", "1.5"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_outcomes_after_apply_classifies_each_mailbox() -> None:
    observed = [
        mbx("new@x"),
        mbx("held@x", enabled=True),
        mbx("gone@x", None),
        mbx("cloud@x", "online", caps=None),
        mbx("broken@x"),
        mbx("silent@x"),
        mbx("long@x", enabled=True, duration=10),
    ]
    settings = HoldSettings(None, duration_given=True)
    plan = plan_hold(observed, settings)
    verified = {
        "new": mbx("new@x", enabled=True),
        "cloud": mbx("cloud@x", "online"),
        "broken": mbx("broken@x"),
        "silent": mbx("silent@x"),  # Set-Mailbox said nothing, but the hold is not there
        "long": mbx("long@x", enabled=True),
    }
    rows = outcomes_after_apply(plan, {"cloud": LICENCE_MSG, "broken": "Access denied"}, verified)
    got = {r.key: r.status for r in rows}
    assert got == {
        "new@x": OutcomeStatus.ENABLED,
        "held@x": OutcomeStatus.ALREADY,
        "gone@x": OutcomeStatus.NOT_FOUND,
        "cloud@x": OutcomeStatus.UNLICENSED,
        "broken@x": OutcomeStatus.FAILED,
        "silent@x": OutcomeStatus.FAILED,
        "long@x": OutcomeStatus.CHANGED,
    }
    by_key = {r.key: r for r in rows}
    assert by_key["broken@x"].message == "Access denied"
    assert "verification" in by_key["silent@x"].message
    assert by_key["new@x"].verified is True


def test_what_if_reports_without_errors() -> None:
    plan = plan_hold([mbx("a@x"), mbx("b@x", enabled=True, duration=5)], HoldSettings(7, duration_given=True))
    rows = outcomes_after_apply(plan, {}, None, what_if=True)
    assert [r.status for r in rows] == [OutcomeStatus.WOULD_ENABLE, OutcomeStatus.WOULD_CHANGE]


def test_status_rows() -> None:
    rows = outcomes_for_status([mbx("a@x", enabled=True, duration=3), mbx("b@x"), mbx("c@x", None)])
    assert [(r.status, r.duration) for r in rows] == [
        (OutcomeStatus.ON_HOLD, "3"), (OutcomeStatus.NOT_ON_HOLD, ""), (OutcomeStatus.NOT_FOUND, "")]


def test_licence_message_recognised() -> None:
    assert is_licence_error(LICENCE_MSG)
    assert is_licence_error(LICENCE_MSG.replace("'", "\u2019"))
    assert not is_licence_error("The operation couldn't be performed because object 'x' couldn't be found")


def test_pure_layers_import_no_effects() -> None:
    root = pathlib.Path(__file__).resolve().parents[2] / "hybridkit" / "hold"
    for name in ("_model.py", "_plan.py"):
        tree = ast.parse((root / name).read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {m for m in imported if m.split(".")[0] in {"sqlite3", "rich", "pypsrp"} or m.startswith("hybridkit.ps")}
