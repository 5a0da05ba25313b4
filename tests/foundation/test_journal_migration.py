"""Journals written by earlier hybridkit open, resume and gain step payloads (the schema migration)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hybridkit.journal import SCHEMA_VERSION, Journal, PlannedStep, RunStatus, StepState
from hybridkit.lab import InProcessSession
from hybridkit.ps import Command
from hybridkit.runner import Step, StepStatus, open_run
from tests._inprocess import identities_sent, lab_org, on_hold

# The schema as main's code wrote it before step payloads (runs.error included), and the one before that.
BEFORE_PAYLOADS = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, plan_fingerprint TEXT NOT NULL, command_line TEXT NOT NULL,
    profile TEXT, started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL, error TEXT
);
CREATE TABLE steps (
    run_id TEXT NOT NULL REFERENCES runs(run_id), seq INTEGER NOT NULL, step_key TEXT NOT NULL,
    target TEXT NOT NULL, rendered TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    outcome TEXT, error_class TEXT, error TEXT, started_at TEXT, ended_at TEXT,
    PRIMARY KEY (run_id, step_key)
);
CREATE TABLE locks (
    kind TEXT NOT NULL, plan_fingerprint TEXT NOT NULL, run_id TEXT NOT NULL, pid INTEGER NOT NULL,
    host TEXT NOT NULL, acquired_at TEXT NOT NULL, PRIMARY KEY (kind, plan_fingerprint)
);
CREATE INDEX runs_by_plan ON runs(kind, plan_fingerprint);
"""
BEFORE_ERRORS = BEFORE_PAYLOADS.replace(", status TEXT NOT NULL, error TEXT", ", status TEXT NOT NULL")


def _old_journal(path: Path, schema: str) -> None:
    """A journal as the earlier code left it: one interrupted mailflow run, its first step done."""
    db = sqlite3.connect(path)
    db.executescript(schema)
    db.execute("INSERT INTO runs (run_id, kind, plan_fingerprint, command_line, profile, started_at, ended_at, "
               "status) VALUES ('20261201-101500-abcdef', 'mailflow', 'fp', 'hybridkit mailflow apply m.toml', "
               "'onprem,online', '2026-12-01T10:15:00.000Z', '2026-12-01T10:16:00.000Z', 'interrupted')")
    db.executemany(
        "INSERT INTO steps (run_id, seq, step_key, target, rendered, state, attempts, outcome) VALUES "
        "('20261201-101500-abcdef', ?, ?, ?, ?, ?, ?, ?)",
        [(0, "a", "onprem:a", "Set-Mailbox -Identity 'a'", "done", 1, "ok"),
         (1, "b", "onprem:b", "Set-Mailbox -Identity 'b'", "started", 1, None)],
    )
    db.commit()
    db.close()


@pytest.mark.parametrize("schema", [BEFORE_PAYLOADS, BEFORE_ERRORS], ids=["before-payloads", "before-errors"])
def test_a_journal_written_by_earlier_code_opens_and_resumes(tmp_path: Path, schema: str) -> None:
    path = tmp_path / "journal.sqlite"
    _old_journal(path, schema)
    steps = [Step(k, f"onprem:{k}", Command.of("Set-Mailbox", Identity=k, LitigationHoldEnabled=True))
             for k in ("a", "b")]
    with Journal(path) as journal:
        (old,) = journal.list_runs()
        assert old.status is RunStatus.INTERRUPTED and old.error is None
        assert [(s.state, s.payload) for s in journal.steps(old.run_id)] == [(StepState.DONE, None),
                                                                           (StepState.STARTED, None)]
        session = InProcessSession(lab_org(onprem=["a", "b"]))
        with open_run(journal, "mailflow", "fp", steps) as run:
            report = run.apply(session)
        assert run.resumed and run.run_id == old.run_id
        assert identities_sent(session) == ["b"]
        assert [r.status for r in report.results] == [StepStatus.SKIPPED, StepStatus.DONE]
        assert journal.get_run(old.run_id).status is RunStatus.COMPLETED
        assert on_hold(session, ["a", "b"]) == ["b"]  # only b was sent here: a was the earlier run's
        # The migrated journal keeps payloads like a new one.
        new = journal.start_run("hold", "fp2", [PlannedStep("c", "c", "x", payload={"identities": ["ü@x"]})])
        journal.mark_done(new, "c", payload={"failed": {"ü@x": "refused"}})
        assert journal.step(new, "c").payload == {"failed": {"ü@x": "refused"}}
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_a_payload_must_be_plain_data(tmp_path: Path) -> None:
    """Anything that is not JSON (a Secret, a session) is refused, never stringified into the journal."""
    from hybridkit.ps import Secret

    with Journal(tmp_path / "j.sqlite") as journal, pytest.raises(TypeError):
        journal.start_run("x", "fp", [PlannedStep("k", "t", "r", payload={"password": Secret("pw")})])
