"""The run journal: what each run planned, started and finished, in SQLite (stdlib), so a run can resume.

Default location ``./.hybridkit/journal.sqlite``. Tables::

    runs   (run_id, kind, plan_fingerprint, command_line, profile, started_at, ended_at, status, error)
    steps  (run_id, seq, step_key, target, rendered, state, attempts, outcome, error_class, error, ..., payload)
    locks  (kind, plan_fingerprint, run_id, pid, host, acquired_at)   -- one live run per plan

A step's ``payload`` is JSON the capability keeps with it: what the step covers when it is planned (a chunk's
mailboxes and actions), replaced by what came of it when it is done (each item's outcome), so a resumed run
needs nothing beside the journal. Journals written before payloads existed are migrated when opened (the column
is added; their steps have none).

A step's ``started`` and its outcome are two separate commits, so after a crash a step left ``started`` is known
to be in doubt: the resuming run re-checks it against live state before running it again. Commands are stored
rendered with secrets redacted; the command line is stored with secret-looking option values removed.

A run never stays ``running`` once its process has left it: ``finish_run`` closes it, and a run this
``Journal`` started or resumed that is still open when the journal is closed is closed then, by how the code
left it: ``interrupted`` by Ctrl-C (KeyboardInterrupt), ``aborted`` (with the error) by any other exception, and
as its steps say otherwise. Times are ISO 8601 UTC with a ``Z``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import os
import re
import socket
import sqlite3
import sys
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hybridkit._time import normalise_iso, utc_now_iso
from hybridkit.errors import ConfigError, PlanError

__all__ = [
    "DEFAULT_JOURNAL",
    "Journal",
    "PlannedStep",
    "RunRecord",
    "RunStatus",
    "StepRecord",
    "StepState",
    "redact_argv",
]

DEFAULT_JOURNAL = Path(".hybridkit") / "journal.sqlite"
_SECRET_OPTION = re.compile(r"pass(word)?|secret|token|key|credential|pwd", re.IGNORECASE)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, plan_fingerprint TEXT NOT NULL, command_line TEXT NOT NULL,
    profile TEXT, started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL, error TEXT
);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL REFERENCES runs(run_id), seq INTEGER NOT NULL, step_key TEXT NOT NULL,
    target TEXT NOT NULL, rendered TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    outcome TEXT, error_class TEXT, error TEXT, started_at TEXT, ended_at TEXT, payload TEXT,
    PRIMARY KEY (run_id, step_key)
);
CREATE TABLE IF NOT EXISTS locks (
    kind TEXT NOT NULL, plan_fingerprint TEXT NOT NULL, run_id TEXT NOT NULL, pid INTEGER NOT NULL,
    host TEXT NOT NULL, acquired_at TEXT NOT NULL, PRIMARY KEY (kind, plan_fingerprint)
);
CREATE INDEX IF NOT EXISTS runs_by_plan ON runs(kind, plan_fingerprint);
"""
SCHEMA_VERSION = 2  # 1: runs.error added; 2: steps.payload added
# Columns later versions added, with their definition: a journal written by earlier code gets them when opened.
_ADDED_COLUMNS = (("runs", "error", "TEXT"), ("steps", "payload", "TEXT"))


class RunStatus(enum.Enum):
    """Where a run stands. ``interrupted`` and ``aborted`` runs resume; ``completed`` ones never run again."""

    RUNNING = "running"
    COMPLETED = "completed"  # every step done
    FAILED = "failed"  # finished, some steps failed
    INTERRUPTED = "interrupted"  # stopped by the user (Ctrl-C) or a crash before every step was tried
    ABORTED = "aborted"  # stopped by an error (transport failure past the retries, credentials) before the end
    SUPERSEDED = "superseded"  # a later run of a changed plan took over the steps it had left


class StepState(enum.Enum):
    PENDING = "pending"
    STARTED = "started"  # sent (or about to be); outcome unknown until the next commit
    DONE = "done"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class PlannedStep:
    """A step as planned: a stable key, the item it targets, its rendered (redacted) command and its payload
    (JSON-able data kept with the step, never a secret; None for none)."""

    key: str
    target: str
    rendered: str
    payload: Any = None


@dataclasses.dataclass(frozen=True)
class RunRecord:
    run_id: str
    kind: str
    plan_fingerprint: str
    command_line: str
    profile: str | None
    started_at: str
    ended_at: str | None
    status: RunStatus
    error: str | None = None  # why an aborted run stopped


@dataclasses.dataclass(frozen=True)
class StepRecord:
    run_id: str
    seq: int
    key: str
    target: str
    rendered: str
    state: StepState
    attempts: int
    outcome: str | None
    error_class: str | None
    error: str | None
    payload: Any = None  # the step's JSON payload, decoded (None when it has none)


def _dump(payload: Any) -> str | None:
    """A payload as JSON text (None stays NULL). Only plain data: anything else is a programming error."""
    return None if payload is None else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def redact_argv(argv: Sequence[str]) -> str:
    """The command line with values of secret-looking options (``--password x``, ``--token=x``) masked."""
    out: list[str] = []
    mask_next = False
    for arg in argv:
        if mask_next:
            out.append("****")
            mask_next = False
            continue
        if arg.startswith("-") and _SECRET_OPTION.search(arg):
            if "=" in arg:
                out.append(arg.split("=", 1)[0] + "=****")
            else:
                out.append(arg)
                mask_next = not arg.endswith("-env")  # --password-env NAME names a variable, not a secret
            continue
        out.append(arg)
    return " ".join(out)


def _now() -> str:
    return utc_now_iso(milliseconds=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class Journal:
    """A journal file. Thread-safe (one connection, serialized); use as a context manager or ``close()``."""

    def __init__(self, path: Path | str = DEFAULT_JOURNAL) -> None:
        self.path = Path(path)
        self._open_runs: set[str] = set()  # started or resumed here and not finished yet
        if self.path.is_dir():
            raise ConfigError(f"{self.path}: is a folder; --journal takes the journal file (e.g. journal.sqlite)")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"{self.path}: cannot open the run journal: {exc}") from exc
        self._lock = threading.RLock()
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ConfigError(f"{self.path}: not a hybridkit run journal (SQLite): {exc}") from None

    def _migrate(self) -> None:
        """Bring a journal written by earlier code to ``SCHEMA_VERSION``: add the columns it lacks."""
        if self._db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        with self._tx() as db:
            for table, column, kind in _ADDED_COLUMNS:
                if column not in {r["name"] for r in db.execute(f"PRAGMA table_info({table})")}:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        """Close the file; a run started or resumed here and still open is closed first (see the module doc)."""
        if self._open_runs:
            self._close_open_runs(sys.exc_info()[1])
        self._db.close()

    def _close_open_runs(self, exc: BaseException | None) -> None:
        for run_id in sorted(self._open_runs):
            if self._status(self._db, run_id) != RunStatus.RUNNING.value:
                continue
            if isinstance(exc, KeyboardInterrupt):
                self.finish_run(run_id, RunStatus.INTERRUPTED)
            elif exc is not None and not isinstance(exc, (SystemExit, GeneratorExit)) \
                    and not type(exc).__module__.startswith("click."):  # typer.Exit: the command chose its exit
                self.finish_run(run_id, RunStatus.ABORTED, error=f"{type(exc).__name__}: {exc}")
            else:
                self.finish_run(run_id)
        self._open_runs.clear()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()  # sees the exception leaving the block through sys.exc_info()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- runs ------------------------------------------------------------------------------------------------
    def start_run(
        self,
        kind: str,
        plan_fingerprint: str,
        steps: Sequence[PlannedStep],
        *,
        argv: Sequence[str] = (),
        profile: str | None = None,
    ) -> str:
        """Record a new run and its planned steps, taking the plan's lock. Returns the run id."""
        run_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        keys = [s.key for s in steps]
        if len(set(keys)) != len(keys):
            raise PlanError("the plan has duplicate step keys")
        with self._tx() as db:
            self._take_lock(db, kind, plan_fingerprint, run_id)
            db.execute(
                "INSERT INTO runs (run_id, kind, plan_fingerprint, command_line, profile, started_at, ended_at, "
                "status) VALUES (?,?,?,?,?,?,?,?)",
                (run_id, kind, plan_fingerprint, redact_argv(argv), profile, _now(), None, RunStatus.RUNNING.value),
            )
            db.executemany(
                "INSERT INTO steps (run_id, seq, step_key, target, rendered, state, payload) VALUES (?,?,?,?,?,?,?)",
                [(run_id, n, s.key, s.target, s.rendered, StepState.PENDING.value, _dump(s.payload))
                 for n, s in enumerate(steps)],
            )
        self._open_runs.add(run_id)
        return run_id

    def resume_run(self, run_id: str) -> RunRecord:
        """Take the lock of an unfinished run again and mark it running."""
        run = self.get_run(run_id)
        if run.status is RunStatus.COMPLETED:
            raise PlanError(f"run {run_id} already completed; nothing to resume")
        if run.run_id in self._open_runs:
            raise PlanError(f"run {run.run_id} of this plan is already running in this process")
        with self._tx() as db:
            self._take_lock(db, run.kind, run.plan_fingerprint, run_id)
            db.execute("UPDATE runs SET status=?, ended_at=NULL, error=NULL WHERE run_id=?",
                       (RunStatus.RUNNING.value, run_id))
        self._open_runs.add(run_id)
        return self.get_run(run_id)

    def _take_lock(self, db: sqlite3.Connection, kind: str, fingerprint: str, run_id: str) -> None:
        row = db.execute(
            "SELECT run_id, pid, host FROM locks WHERE kind=? AND plan_fingerprint=?", (kind, fingerprint)
        ).fetchone()
        host = socket.gethostname()
        if row is not None:
            same_process = row["pid"] == os.getpid() and row["host"] == host
            stale = row["host"] == host and not _pid_alive(row["pid"])
            if not stale and not same_process:
                raise PlanError(
                    f"run {row['run_id']} of this plan is in progress (pid {row['pid']} on {row['host']}); "
                    f"wait for it to finish, or if that process is gone, `hybridkit journal unlock {row['run_id']}`"
                )
            if same_process and row["run_id"] != run_id and self._status(db, row["run_id"]) == "running":
                raise PlanError(f"run {row['run_id']} of this plan is already running in this process")
        db.execute(
            "INSERT OR REPLACE INTO locks VALUES (?,?,?,?,?,?)", (kind, fingerprint, run_id, os.getpid(), host, _now())
        )

    @staticmethod
    def _status(db: sqlite3.Connection, run_id: str) -> str | None:
        row = db.execute("SELECT status FROM runs WHERE run_id=?", (run_id,)).fetchone()
        return row["status"] if row else None

    def finish_run(self, run_id: str, status: RunStatus | None = None, *, error: str | None = None) -> RunStatus:
        """Close a run and release the plan's lock.

        Args:
            run_id: the run.
            status: its final status; None derives it from the steps: every step done -> completed; steps not
                tried -> aborted when the run recorded an error (``note_error``), else interrupted; otherwise
                failed.
            error: why the run stopped (kept with it; ``journal show`` prints it).
        """
        with self._tx() as db:
            if status is None:
                states = {r["state"] for r in db.execute("SELECT DISTINCT state FROM steps WHERE run_id=?", (run_id,))}
                noted = db.execute("SELECT error FROM runs WHERE run_id=?", (run_id,)).fetchone()
                if states <= {StepState.DONE.value}:
                    status = RunStatus.COMPLETED
                elif states & {StepState.PENDING.value, StepState.STARTED.value}:
                    status = RunStatus.ABORTED if noted is not None and noted["error"] else RunStatus.INTERRUPTED
                else:
                    status = RunStatus.FAILED
            if error is not None:
                db.execute("UPDATE runs SET error=? WHERE run_id=?", (error[:2000], run_id))
            db.execute("UPDATE runs SET status=?, ended_at=? WHERE run_id=?", (status.value, _now(), run_id))
            db.execute("DELETE FROM locks WHERE run_id=?", (run_id,))
        self._open_runs.discard(run_id)
        return status

    def note_error(self, run_id: str, error: str) -> None:
        """Record why a run is stopping early (the run stays open; ``finish_run`` then closes it ``aborted``)."""
        with self._tx() as db:
            db.execute("UPDATE runs SET error=? WHERE run_id=?", (error[:2000], run_id))

    def release_lock(self, run_id: str) -> bool:
        """Drop a run's plan lock by hand (its process died on another host); marks it interrupted."""
        run = self.get_run(run_id)
        with self._tx() as db:
            cur = db.execute("DELETE FROM locks WHERE run_id=?", (run.run_id,))
            if run.status is RunStatus.RUNNING:
                db.execute("UPDATE runs SET status=?, ended_at=? WHERE run_id=?",
                           (RunStatus.INTERRUPTED.value, _now(), run.run_id))
        return cur.rowcount > 0

    def get_run(self, run_id: str) -> RunRecord:
        with self._lock:
            row = self._db.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
            if row is None:
                # allow a unique prefix, as people type it
                rows = self._db.execute("SELECT * FROM runs WHERE run_id LIKE ?", (run_id + "%",)).fetchall()
                if len(rows) != 1:
                    raise PlanError(f"no run {run_id!r} in {self.path}")
                row = rows[0]
        return _run(row)

    def list_runs(self, limit: int = 50, kind: str | None = None) -> list[RunRecord]:
        """The most recent runs first."""
        sql = "SELECT * FROM runs" + (" WHERE kind=?" if kind else "") + " ORDER BY started_at DESC, rowid DESC LIMIT ?"
        args: tuple[Any, ...] = (kind, limit) if kind else (limit,)
        with self._lock:
            return [_run(r) for r in self._db.execute(sql, args)]

    def find_resumable(self, kind: str, plan_fingerprint: str) -> RunRecord | None:
        """The latest run of this plan that did not complete and still has steps not done, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM runs r WHERE kind=? AND plan_fingerprint=? AND status NOT IN (?, ?) AND EXISTS "
                "(SELECT 1 FROM steps s WHERE s.run_id=r.run_id AND s.state != ?) "
                "ORDER BY started_at DESC, rowid DESC LIMIT 1",
                (kind, plan_fingerprint, RunStatus.COMPLETED.value, RunStatus.SUPERSEDED.value,
                 StepState.DONE.value),
            ).fetchone()
        return _run(row) if row else None

    def latest_run(self, kind: str, plan_fingerprint: str) -> RunRecord | None:
        """The most recent run of this plan, whatever its status."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM runs WHERE kind=? AND plan_fingerprint=? ORDER BY started_at DESC, rowid DESC LIMIT 1",
                (kind, plan_fingerprint),
            ).fetchone()
        return _run(row) if row else None

    # -- steps -----------------------------------------------------------------------------------------------
    def steps(self, run_id: str) -> list[StepRecord]:
        with self._lock:
            return [_step(r) for r in self._db.execute("SELECT * FROM steps WHERE run_id=? ORDER BY seq", (run_id,))]

    def pending_steps(self, run_id: str) -> list[StepRecord]:
        """Steps not done yet (pending, in doubt after ``started``, or failed), in plan order."""
        return [s for s in self.steps(run_id) if s.state is not StepState.DONE]

    def step(self, run_id: str, key: str) -> StepRecord:
        with self._lock:
            row = self._db.execute("SELECT * FROM steps WHERE run_id=? AND step_key=?", (run_id, key)).fetchone()
        if row is None:
            raise PlanError(f"run {run_id} has no step {key!r}")
        return _step(row)

    def mark_started(self, run_id: str, key: str, rendered: str | None = None) -> None:
        """Commit that the step is about to be sent (before sending it); ``rendered``, when given, is the (redacted)
        command this attempt sends, which a resumed run may have made differently (``--at`` given again)."""
        if rendered is None:
            self._set(run_id, key, "state=?, attempts=attempts+1, started_at=?, error_class=NULL, error=NULL",
                      (StepState.STARTED.value, _now()))
        else:
            self._set(run_id, key, "state=?, attempts=attempts+1, started_at=?, error_class=NULL, error=NULL, "
                      "rendered=?", (StepState.STARTED.value, _now(), rendered))

    def mark_done(self, run_id: str, key: str, outcome: str = "ok", *, payload: Any = None) -> None:
        """Commit the step's success (``outcome``: ok, verified, superseded ...); ``payload``, when given, replaces
        the step's payload in the same commit (what came of the step, e.g. each item's outcome)."""
        if payload is None:
            self._set(run_id, key, "state=?, outcome=?, ended_at=?", (StepState.DONE.value, outcome, _now()))
        else:
            self._set(run_id, key, "state=?, outcome=?, ended_at=?, payload=?",
                      (StepState.DONE.value, outcome, _now(), _dump(payload)))

    def mark_failed(self, run_id: str, key: str, error_class: str, error: str) -> None:
        """Commit the step's failure with the error's class and message (never a secret)."""
        self._set(run_id, key, "state=?, outcome='failed', error_class=?, error=?, ended_at=?",
                  (StepState.FAILED.value, error_class, error[:2000], _now()))

    def _set(self, run_id: str, key: str, assignments: str, args: tuple[Any, ...]) -> None:
        with self._tx() as db:
            cur = db.execute(f"UPDATE steps SET {assignments} WHERE run_id=? AND step_key=?", (*args, run_id, key))
            if cur.rowcount != 1:
                raise PlanError(f"run {run_id} has no step {key!r}")


def _run(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        run_id=row["run_id"], kind=row["kind"], plan_fingerprint=row["plan_fingerprint"],
        command_line=row["command_line"], profile=row["profile"], started_at=str(normalise_iso(row["started_at"])),
        ended_at=normalise_iso(row["ended_at"]), status=RunStatus(row["status"]), error=row["error"],
    )


def _step(row: sqlite3.Row) -> StepRecord:
    return StepRecord(
        run_id=row["run_id"], seq=row["seq"], key=row["step_key"], target=row["target"], rendered=row["rendered"],
        state=StepState(row["state"]), attempts=row["attempts"], outcome=row["outcome"],
        error_class=row["error_class"], error=row["error"],
        payload=json.loads(row["payload"]) if row["payload"] is not None else None,
    )
