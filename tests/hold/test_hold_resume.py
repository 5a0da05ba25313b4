"""A hold run resumes from the journal alone (payloads, no side files), and an old run it cannot read is replaced."""

from __future__ import annotations

import pytest

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from hybridkit.hold._model import HoldSettings, Selection  # noqa: E402
from hybridkit.hold._plan import request_fingerprint  # noqa: E402
from hybridkit.journal import Journal, PlannedStep, RunStatus, StepState  # noqa: E402
from hybridkit.sides import Side  # noqa: E402
from tests.hold._holdkit import Hold, pick  # noqa: E402


def _journal(hold: Hold) -> Journal:
    return Journal(hold.tmp / ".hybridkit" / "journal.sqlite")


def test_a_run_journaled_without_payloads_is_superseded_not_resumed(hold: Hold) -> None:
    who = pick(hold)
    fingerprint = request_fingerprint("hold", Selection(mailboxes=(who["onprem"],)), HoldSettings(),
                                      [Side.ONPREM, Side.ONLINE])
    with _journal(hold) as journal:  # as a journal written before payloads holds an interrupted hold run
        old = journal.start_run("hold", fingerprint, [PlannedStep("onprem/00000/0123456789ab",
                                                                  f"onprem: 1 mailbox(es), {who['onprem']}",
                                                                  "Get-Mailbox | Set-Mailbox")])
        journal.finish_run(old, RunStatus.INTERRUPTED)
    result = hold.run("enable", "-m", who["onprem"])
    assert result.exit_code == 0, result.output
    body = hold.json(result)
    assert body["resumed"] is False and "Resumed run" not in result.stderr
    assert [(i["mailbox"], i["outcome"]) for i in body["items"]] == [(who["onprem"], "enabled")]
    with _journal(hold) as journal:
        runs = {r.run_id: r.status for r in journal.list_runs(kind="hold")}
        steps = journal.steps(body["run_id"])
    assert runs == {old: RunStatus.SUPERSEDED, body["run_id"]: RunStatus.COMPLETED}
    assert [s.state for s in steps] == [StepState.DONE]
    assert steps[0].payload["planned"]["identities"] == [hold.rec("onprem", who["onprem"])["Identity"]]


def test_journal_show_reads_a_hold_run(hold: Hold) -> None:
    who = pick(hold)
    body = hold.json(hold.run("enable", "-m", who["onprem"], "-m", who["cloud"]))
    shown = hold.json(hold.run_root("journal", "show", body["run_id"]))
    assert shown["kind"] == "hold" and shown["status"] == "completed"
    assert sorted(i["target"].split(":")[0] for i in shown["items"]) == ["online", "onprem"]
    assert all(i["state"] == "done" and "| Get-Mailbox | Set-Mailbox -LitigationHoldEnabled:$true" in i["command"]
               for i in shown["items"])
