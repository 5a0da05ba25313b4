"""Pure tests: WHEN parsing, plan.json parsing, create planning, completion readiness."""

from __future__ import annotations

import datetime as dt

import pytest

from hybridkit.cutover._model import BatchAction, CompletionMethod, MoveState, ObservedBatch, PlannedBatch, Readiness
from hybridkit.cutover._plan import csv_data, parse_plan, plan_completion, plan_create, select_batches
from hybridkit.cutover._when import iso_z, parse_when, show_time
from hybridkit.errors import InputError

NOW = dt.datetime(2026, 11, 28, 1, 30, tzinfo=dt.timezone.utc)
UTC = dt.timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("+2h", NOW + dt.timedelta(hours=2)),
        ("+30m", NOW + dt.timedelta(minutes=30)),
        ("+1d", NOW + dt.timedelta(days=1)),
        ("2026-11-28T02:00Z", dt.datetime(2026, 11, 28, 2, 0, tzinfo=UTC)),
        ("2026-11-28T03:00:00+01:00", dt.datetime(2026, 11, 28, 2, 0, tzinfo=UTC)),
        ("2026-11-27T21:00-05:00", dt.datetime(2026, 11, 28, 2, 0, tzinfo=UTC)),
    ],
)
def test_when_forms(text, expected):
    got = parse_when(text, NOW)
    assert got == expected and got.utcoffset() == dt.timedelta(0)


def test_when_without_zone_is_refused_with_explanation():
    with pytest.raises(InputError) as info:
        parse_when("2026-11-28T02:00", NOW, option="--complete-after")
    text = str(info.value)
    assert "--complete-after" in text and "no time zone" in text and "2026-11-28T02:00Z" in text


@pytest.mark.parametrize("text", ["tomorrow", "+2x", "2h", "28/11/2026 02:00"])
def test_when_garbage_refused(text):
    with pytest.raises(InputError):
        parse_when(text, NOW)


@pytest.mark.parametrize("text", ["2026-12-24Z", "2026-12-24", "2026-12-24+01:00"])
def test_a_date_without_a_time_is_refused_as_lacking_a_time_not_a_zone(text):
    with pytest.raises(InputError) as info:
        parse_when(text, NOW, option="--at")
    said = str(info.value)
    assert "--at" in said and "no time of day" in said and "zone" not in said, said


def test_times_in_the_past_are_refused_unless_now_or_allowed():
    slip = "2025-11-28T01:00Z"  # a one-digit slip: a year ago
    with pytest.raises(InputError) as info:
        parse_when(slip, NOW, option="--at")
    said = str(info.value)
    assert "--at" in said and "in the past" in said and "--allow-past" in said and "'now'" in said, said
    assert parse_when(slip, NOW, allow_past=True) == dt.datetime(2025, 11, 28, 1, 0, tzinfo=UTC)
    assert parse_when("2026-11-28T01:27Z", NOW) == NOW - dt.timedelta(minutes=3)  # a few minutes: clock skew
    assert parse_when("now", NOW) == NOW


def test_iso_z_is_iso_8601_utc():
    assert iso_z(dt.datetime(2026, 11, 28, 3, 0, 5, 123, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == \
        "2026-11-28T02:00:05Z"
    assert iso_z(None) is None


def test_show_time_says_its_zone():
    assert show_time(dt.datetime(2026, 11, 28, 2, 0, tzinfo=UTC)) == "2026-11-28 02:00:00 UTC"
    cet = dt.timezone(dt.timedelta(hours=1), "CET")
    assert show_time(dt.datetime(2026, 11, 28, 2, 0, tzinfo=UTC), cet).endswith("(2026-11-28 03:00 CET)")


def test_parse_plan_checks_names_and_members():
    plan = parse_plan({"batches": [{"name": "W1", "mailboxes": ["A@x.com", "b@x.com"], "size_bytes": 5}]})
    assert plan == (PlannedBatch("W1", ("a@x.com", "b@x.com"), 5),)
    with pytest.raises(InputError, match="64"):
        parse_plan({"batches": [{"name": "n" * 65, "mailboxes": ["a@x.com"]}]})
    with pytest.raises(InputError, match="also planned"):
        parse_plan({"batches": [{"name": "A", "mailboxes": ["a@x.com"]}, {"name": "B", "mailboxes": ["a@x.com"]}]})
    with pytest.raises(InputError, match="not an email"):
        parse_plan({"batches": [{"name": "A", "mailboxes": ["nobody"]}]})
    with pytest.raises(InputError):
        parse_plan([1, 2])
    with pytest.raises(InputError, match="not in the plan"):
        select_batches(plan, ["W9"])


def test_plan_create_create_unchanged_conflict():
    planned = [
        PlannedBatch("New", ("a@x.com",)),
        PlannedBatch("Same", ("b@x.com", "c@x.com")),
        PlannedBatch("Diff", ("d@x.com", "e@x.com")),
        PlannedBatch("Taken", ("z@x.com",)),
    ]
    observed = {
        "same": ObservedBatch("Same", "Syncing", ("c@x.com", "b@x.com")),
        "Diff": ObservedBatch("Diff", "Synced", ("d@x.com", "f@x.com")),
        "Other": ObservedBatch("Other", "Synced", ("z@x.com",)),
    }
    plan = plan_create(planned, observed)
    actions = {c.name: c.action for c in plan.changes}
    # A mailbox already in another batch does not stop the batch: Exchange creates it and fails only that user.
    assert actions == {"New": BatchAction.CREATE, "Same": BatchAction.UNCHANGED, "Diff": BatchAction.CONFLICT,
                       "Taken": BatchAction.CREATE}
    diff = next(c for c in plan.conflicts if c.name == "Diff")
    assert diff.missing == ("e@x.com",) and diff.extra == ("f@x.com",)
    assert "e@x.com" in diff.reason and "f@x.com" in diff.reason
    [warning] = plan.warnings
    assert "z@x.com" in warning and "Other" in warning and "Taken" in warning
    assert "UserDuplicateInOtherBatchException" in warning


def test_csv_data_bytes():
    assert csv_data(["a@x.com", "b@x.com"]) == b"EmailAddress\r\na@x.com\r\nb@x.com\r\n"


def _m(mailbox, status, detail="", after=None, message=""):
    return MoveState(mailbox, status, detail, complete_after=after, message=message)


def test_completion_readiness():
    at = NOW
    moves = {m.mailbox: m for m in [
        _m("s@x.com", "Synced"), _m("a@x.com", "AutoSuspended"), _m("q@x.com", "InProgress", "CopyingMessages"),
        _m("f@x.com", "Failed", message="Error: quota"), _m("c@x.com", "Completed"),
        _m("p@x.com", "CompletionInProgress"), _m("j@x.com", "Synced"),
        _m("d@x.com", "InProgress", "IncrementalSync", after=at), _m("e@x.com", "Synced", after=at),
        _m("i@x.com", "InProgress", "IncrementalSync"), _m("k@x.com", "Synced", after=at - dt.timedelta(hours=1)),
    ]}
    plan = plan_completion(
        ["S@x.com", "a@x.com", "q@x.com", "f@x.com", "c@x.com", "p@x.com", "j@x.com", "d@x.com", "e@x.com",
         "n@x.com", "s@x.com", "i@x.com", "k@x.com"],
        moves, method=CompletionMethod.MOVEREQUEST, at=at, signalled=["j@x.com", "k@x.com"],
        in_doubt=["d@x.com", "e@x.com"],
    )
    got = {i.mailbox: i.readiness for i in plan.items}
    assert got == {
        "s@x.com": Readiness.COMPLETE, "a@x.com": Readiness.COMPLETE, "q@x.com": Readiness.NOT_READY,
        "f@x.com": Readiness.FAILED, "c@x.com": Readiness.DONE, "p@x.com": Readiness.SIGNALLED,
        # j: the journal says sent, but Exchange shows Synced with no CompleteAfter: the completion was lost
        "j@x.com": Readiness.COMPLETE, "d@x.com": Readiness.SIGNALLED, "e@x.com": Readiness.COMPLETE,
        "n@x.com": Readiness.NOT_FOUND, "i@x.com": Readiness.COMPLETE, "k@x.com": Readiness.SIGNALLED,
    }
    assert len(plan.items) == 12  # duplicates folded
    assert "not in Exchange" in next(i.reason for i in plan.items if i.mailbox == "j@x.com")
    assert "skipped, not forced" in next(i.reason for i in plan.items if i.mailbox == "q@x.com")
    mu = plan_completion(["e@x.com"], moves, method=CompletionMethod.MIGRATIONUSER, at=at, in_doubt=["e@x.com"])
    assert mu.items[0].readiness is Readiness.SIGNALLED


def test_plan_modules_are_pure():
    import hybridkit.cutover._model as model
    import hybridkit.cutover._plan as plan_mod
    import hybridkit.cutover._when as when_mod

    for module in (model, plan_mod, when_mod):
        source = open(module.__file__, encoding="utf-8").read()
        for banned in ("import rich", "from rich", "sqlite3", "pypsrp", "hybridkit.ps", "open("):
            assert banned not in source, (module.__name__, banned)
