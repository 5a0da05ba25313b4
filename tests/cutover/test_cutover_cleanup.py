"""``cutover remove-completed``: Completed batches go (Remove-MigrationBatch -Confirm:$false), CompletedWithErrors
only with --include-errors, a running batch never; journaled, a re-run sends nothing. Real CLI against the lab."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from hybridkit.cli import app  # noqa: E402
from hybridkit.cutover._cleanup import CleanupAction, plan_cleanup  # noqa: E402
from hybridkit.cutover._limits import BatchRoom, check_room  # noqa: E402
from hybridkit.errors import PlanError  # noqa: E402
from hybridkit.cutover._model import ObservedBatch, ObservedUser  # noqa: E402
from hybridkit.lab import InProcessSession  # noqa: E402
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT  # noqa: E402
from hybridkit.outcomes import Outcome  # noqa: E402
from hybridkit.ps import Command, Switch  # noqa: E402
from tests.cutover._labkit import online_config  # noqa: E402

TDD = "contoso.mail.onmicrosoft.com"


def _audit(org: Any, event: str) -> list[str]:
    return [e["identity"] for e in org.online.settings.get("lab_migration_audit", []) if e["event"] == event]


def test_plan_cleanup_removes_completed_keeps_errors_unless_asked_and_never_a_running_batch() -> None:
    observed = {
        "Done": ObservedBatch("Done", "Completed", ("a@x.com",), total=1),
        "Errs": ObservedBatch("Errs", "CompletedWithErrors", ("b@x.com", "c@x.com"),
                              (ObservedUser("b@x.com", "Errs", "Failed", "quota"), ObservedUser("c@x.com", "Errs",
                                                                                               "Completed"))),
        "Live": ObservedBatch("Live", "Syncing", ("d@x.com",)),
    }
    plan = plan_cleanup(observed)
    actions = {i.batch: i.action for i in plan.items}
    assert actions == {"Done": CleanupAction.REMOVE, "Errs": CleanupAction.NONE, "Live": CleanupAction.NONE}
    errs = next(i for i in plan.items if i.batch == "Errs")
    assert errs.failed_users == ("b@x.com",) and "reports" in errs.reason and "--include-errors" in errs.reason
    assert "never removed" in next(i for i in plan.items if i.batch == "Live").reason
    asked = plan_cleanup(observed, ["Errs", "Gone", "Old"], include_errors=True, removed_before={"old": "run-1"})
    assert [(i.batch, i.action, i.outcome) for i in asked.items] == [
        ("Errs", CleanupAction.REMOVE, None), ("Gone", CleanupAction.NONE, Outcome.NOT_FOUND),
        ("Old", CleanupAction.NONE, Outcome.UNCHANGED)]


def test_remove_completed_end_to_end_is_journaled_and_a_rerun_sends_nothing(lab_factory, tmp_path) -> None:
    handle = lab_factory(org="demo", time_scale=0.0)
    org = handle.server.engine.org
    users = sorted(str(r["PrimarySmtpAddress"]).lower() for r in org.onprem.recipients.values()
                   if r.get("RecipientTypeDetails") == "UserMailbox")
    online = InProcessSession(handle.server.engine, "online")

    def batch(name: str, members: list[str]) -> None:
        csv = ("EmailAddress\r\n" + "\r\n".join(members) + "\r\n").encode()
        assert not online.run(Command.of("New-MigrationBatch", Name=name, SourceEndpoint=DEFAULT_ENDPOINT,
                                         TargetDeliveryDomain=TDD, CSVData=csv, AutoStart=Switch())).errors

    batch("Done", users[0:2])
    batch("Errs", users[2:4])  # users[3] is seeded over its quota: it fails
    org.clock.advance(48 * 3600)
    for name in ("Done", "Errs"):
        assert not online.run(Command.of("Complete-MigrationBatch", Identity=name, Confirm=False)).errors
    org.clock.advance(3600)
    batch("Live", users[20:22])  # just started: Syncing
    statuses = {str(b.get("Identity")): str(b.get("Status"))
                for b in online.run(Command.of("Get-MigrationBatch")).output}
    assert statuses == {"Done": "Completed", "Errs": "CompletedWithErrors", "Live": "Syncing"}
    refused = online.run(Command.of("Remove-MigrationBatch", Identity="Live", Confirm=False))
    assert refused.errors and "Syncing" in refused.errors[0].message  # Exchange: stop it first

    config = online_config(tmp_path, handle)

    def cli(*args: str) -> Any:
        return CliRunner().invoke(app, ["--config", str(config), *args], catch_exceptions=False)

    no = cli("cutover", "remove-completed")
    assert no.exit_code == 2 and "--yes" in no.output and "Done" in org.online.collection("MigrationBatch")
    what_if = cli("cutover", "remove-completed", "--what-if")
    assert what_if.exit_code == 0, what_if.output
    assert "Remove-MigrationBatch -Identity 'Done' -Confirm:$false" in what_if.output
    assert "'Errs'" not in what_if.output and "'Live'" not in what_if.output
    assert "reports" in what_if.output and users[3] in what_if.output  # what removing Errs would lose
    assert "…" not in what_if.output  # wrapped, never cropped
    assert not _audit(org, "Remove-MigrationBatch")

    done = cli("-o", "json", "cutover", "remove-completed", "--yes")
    assert done.exit_code == 0, done.output
    doc = json.loads(done.output)
    rows = {i["batch"]: i for i in doc["items"]}
    assert rows["Done"]["action"] == "remove" and rows["Done"]["outcome"] == "removed"
    assert rows["Errs"]["outcome"] == "skipped" and rows["Errs"]["failed_users"] == [users[3]]
    assert rows["Live"]["outcome"] == "skipped" and "Syncing" in rows["Live"]["detail"]
    assert doc["run_id"] and doc["summary"] == {"removed": 1, "skipped": 2}
    assert _audit(org, "Remove-MigrationBatch") == ["Done"]

    errs = cli("-o", "json", "cutover", "remove-completed", "--batch", "Errs", "--batch", "Done",
               "--include-errors", "--yes")
    assert errs.exit_code == 0, errs.output
    rows = {i["batch"]: i for i in json.loads(errs.output)["items"]}
    assert rows["Errs"]["outcome"] == "removed" and rows["Done"]["outcome"] == "unchanged"  # removed before
    again = cli("cutover", "remove-completed", "--batch", "Errs", "--include-errors", "--yes")
    assert again.exit_code == 0 and "already removed" in again.output
    assert _audit(org, "Remove-MigrationBatch") == ["Done", "Errs"]  # each once
    assert sorted(org.online.collection("MigrationBatch")) == ["Live"]
    typo = cli("cutover", "remove-completed", "--batch", "Nope", "--yes")
    assert typo.exit_code == 1 and "no migration batch" in typo.output


def test_the_batch_limit_refusal_names_remove_completed_and_the_flag_for_batches_with_errors() -> None:
    room = BatchRoom(3, {"Old-0": "Completed", "Old-1": "CompletedWithErrors", "Live": "Syncing"})
    with pytest.raises(PlanError) as info:
        check_room(["A", "B", "C"], room)
    text = str(info.value)
    assert "`hybridkit cutover remove-completed --what-if`" in text and "--include-errors" in text
    with pytest.raises(PlanError) as none_done:
        check_room(["A", "B"], BatchRoom(1, {"Live": "Syncing"}))
    assert "complete some batches, then remove them with `hybridkit cutover remove-completed`" in str(none_done.value)


class _KilledAfterRemoving(InProcessSession):
    """Removes ``victim`` in Exchange, then dies (a kill, Ctrl-C) before the outcome reaches the journal."""

    def __init__(self, *args: Any, victim: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.victim = victim

    def run(self, command: Any, input_items: Any = None, **kwargs: Any) -> Any:
        result = super().run(command, input_items, **kwargs)
        if "Remove-MigrationBatch" in str(command) and f"'{self.victim}'" in str(command):
            raise KeyboardInterrupt
        return result


def test_remove_completed_killed_mid_run_carries_on_without_removing_anything_twice(tmp_path) -> None:
    from hybridkit.cutover import remove_completed
    from hybridkit.journal import Journal
    from hybridkit.lab.exchange.engine import ExchangeEngine
    from tests.cutover._labkit import csv_bytes, make_org

    org = make_org()
    engine = ExchangeEngine(org, raise_internal_errors=True)
    session = InProcessSession(engine, "online", user="admin@contoso.onmicrosoft.com")
    for name, members in (("A", ["user00@contoso.com"]), ("B", ["user01@contoso.com"]),
                          ("C", ["user02@contoso.com"])):
        assert not session.run(Command.of("New-MigrationBatch", Name=name, SourceEndpoint=DEFAULT_ENDPOINT,
                                          TargetDeliveryDomain=TDD, CSVData=csv_bytes(members),
                                          AutoStart=Switch())).errors
    org.clock.advance(24 * 3600)
    for name in ("A", "B", "C"):
        assert not session.run(Command.of("Complete-MigrationBatch", Identity=name, Confirm=False)).errors
    org.clock.advance(3600)
    killed = _KilledAfterRemoving(engine, "online", user="admin@contoso.onmicrosoft.com", victim="B")
    with Journal(tmp_path / "j.sqlite") as journal, pytest.raises(KeyboardInterrupt):
        remove_completed(killed, journal, batches=["A", "B", "C"])
    assert _audit(org, "Remove-MigrationBatch") == ["A", "B"]  # B's removal got through; the journal never heard
    with Journal(tmp_path / "j.sqlite") as journal:
        again = remove_completed(session, journal, batches=["A", "B", "C"])
    outcomes = {i.batch: (i.outcome, i.detail) for i in again.items}
    assert outcomes["A"][0] is Outcome.UNCHANGED and outcomes["B"][0] is Outcome.UNCHANGED
    assert "already removed" in outcomes["B"][1] and outcomes["C"][0] is Outcome.REMOVED and not again.failed
    assert _audit(org, "Remove-MigrationBatch") == ["A", "B", "C"]  # each once
