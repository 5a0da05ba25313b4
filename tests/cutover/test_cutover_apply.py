"""``_apply`` against the lab's handlers through an in-memory session: create, readiness, journaled completion."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace as dataclasses_replace

import pytest

from hybridkit.cutover import _apply
from hybridkit.cutover import _discover as _observe
from hybridkit.cutover._model import CompletionMethod, CreateOptions, PlannedBatch, Readiness
from hybridkit.cutover._plan import completion_results, plan_create
from hybridkit.errors import PlanError
from hybridkit.journal import Journal
from hybridkit.lab import InProcessSession
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT
from hybridkit.lab.exchange.engine import ExchangeEngine
from tests.cutover._labkit import make_org

EMAILS = [f"user{i:02d}@contoso.com" for i in range(14)]
OPTIONS = CreateOptions(DEFAULT_ENDPOINT, "contoso.mail.onmicrosoft.com", start=True)


def _session(org, cls=InProcessSession):
    """The Exchange Online endpoint of ``org``, in process; a handler's bug raises instead of failing the pipeline."""
    return cls(ExchangeEngine(org, raise_internal_errors=True), "online", user="admin@contoso.onmicrosoft.com")


def _pipelines(session):
    """(cmdlets, number of input items) of every pipeline the session ran."""
    return [(sent.cmdlets, len(sent.input_items)) for sent in session.sent]


def _setup(tmp_path, emails=EMAILS):
    org = make_org()
    session = _session(org)
    planned = [PlannedBatch("Wave1", tuple(emails))]
    observed = _observe.observe_batches(session)
    results = _apply.create_batches(session, plan_create(planned, observed), OPTIONS, observed)
    assert results.batches[0].outcome == "created"
    org.clock.advance(6 * 3600)
    return org, session, Journal(tmp_path / "j.sqlite")


class _Stopped(InProcessSession):
    """Stops the run (raises ``error``) once the ``after``-th Resume-MoveRequest pipeline got through: the change is
    made in Exchange, its chunk's outcome never reaches the journal (a kill, a Ctrl-C)."""

    def __init__(self, *args, error, after=1, **kwargs):
        super().__init__(*args, **kwargs)
        self.error, self.after, self.resumed = error, after, []

    def run_items(self, command, items, **kwargs):
        outcomes = super().run_items(command, items, **kwargs)
        if self.sent and self.sent[-1].cmdlets == "Resume-MoveRequest" and self.after > 0:
            self.resumed.append([item["Identity"] for item in items])
            self.after -= 1
            if self.after == 0:
                raise self.error
        return outcomes


def _audit(org, event):
    return [e["identity"] for e in org.online.settings["lab_migration_audit"] if e["event"] == event]


def test_create_is_idempotent_and_conflicts_name_the_difference(tmp_path):
    org, session, _ = _setup(tmp_path)
    observed = _observe.observe_batches(session)
    again = plan_create([PlannedBatch("Wave1", tuple(EMAILS))], observed)
    assert [c.action.value for c in again.changes] == ["unchanged"]
    moved = plan_create([PlannedBatch("Wave1", tuple(EMAILS[:-1]) + ("new@contoso.com",))], observed)
    with pytest.raises(PlanError, match="new@contoso.com"):
        _apply.create_commands(moved, OPTIONS)


def test_complete_batch_in_chunks_skips_failed_and_follows(tmp_path):
    org, session, journal = _setup(tmp_path)
    moves = _observe.read_moves(session, batches=["Wave1"])
    at = org.clock.now()
    before = len(session.sent)
    outcome = _apply.run_completion(session, journal, EMAILS, moves, method=CompletionMethod.MOVEREQUEST, at=at,
                                    chunk_size=5)
    sent = _pipelines(session)[before:]
    assert [p for p, _ in sent].count("Set-MoveRequest") == 3 and [p for p, _ in sent].count("Resume-MoveRequest") == 3
    failed = {i.mailbox for i in outcome.plan.with_readiness(Readiness.FAILED)}
    assert failed == {"user03@contoso.com", "user07@contoso.com"}
    org.clock.advance(3600)
    final = _apply.follow(session, outcome.followed, poll_interval=0, timeout=5)
    assert {s.status for s in final.values()} == {"Completed"} and len(final) == 12
    assert sorted(_audit(org, "Resume-MoveRequest")) == sorted(outcome.followed)
    # a re-run repeats nothing
    moves = _observe.read_moves(session, batches=["Wave1"])
    again = _apply.run_completion(session, journal, EMAILS, moves, method=CompletionMethod.MOVEREQUEST,
                                  at=org.clock.now())
    assert again.sent == [] and len(_audit(org, "Resume-MoveRequest")) == 12


def test_not_synced_is_reported_and_skipped(tmp_path):
    org = make_org()
    session = _session(org)
    _apply.create_batches(session, plan_create([PlannedBatch("W", tuple(EMAILS[:2]))], {}), OPTIONS)
    moves = _observe.read_moves(session, mailboxes=EMAILS[:2] + ["ghost@contoso.com"])
    outcome = _apply.run_completion(session, Journal(tmp_path / "j.sqlite"), EMAILS[:2] + ["ghost@contoso.com"],
                                    moves, method=CompletionMethod.MOVEREQUEST, at=org.clock.now())
    kinds = {i.mailbox: i.readiness for i in outcome.plan.items}
    assert kinds == {EMAILS[0]: Readiness.NOT_READY, EMAILS[1]: Readiness.NOT_READY,
                     "ghost@contoso.com": Readiness.NOT_FOUND}
    assert outcome.sent == [] and _audit(org, "Resume-MoveRequest") == []


def test_interrupted_run_resumes_without_repeating(tmp_path):
    org, session, journal = _setup(tmp_path)
    moves = _observe.read_moves(session, batches=["Wave1"])

    class Killed(Exception):
        pass

    # killed between the second chunk's Resume and the journal's commit: that chunk is left in doubt
    stopped = _Stopped(session.engine, "online", user="admin@contoso.onmicrosoft.com", error=Killed(), after=2)
    with pytest.raises(Killed):
        _apply.run_completion(stopped, journal, EMAILS, moves, method=CompletionMethod.MOVEREQUEST,
                              at=org.clock.now(), chunk_size=4)
    second = stopped.resumed[1]
    run = journal.list_runs(kind=_apply.JOURNAL_KIND)[0]
    assert [s.state.value for s in journal.steps(run.run_id)][:2] == ["done", "started"]
    moves = _observe.read_moves(session, batches=["Wave1"])
    outcome = _apply.run_completion(session, journal, EMAILS, moves, method=CompletionMethod.MOVEREQUEST,
                                    at=org.clock.now() + dt.timedelta(seconds=1))
    assert outcome.resumed
    assert not set(outcome.sent) & set(second)
    org.clock.advance(3600)
    _apply.follow(session, EMAILS, poll_interval=0, timeout=1)
    resumes = _audit(org, "Resume-MoveRequest")
    completed = _audit(org, "Completed")
    assert sorted(resumes) == sorted(set(resumes)) and len(resumes) == 12
    assert sorted(completed) == sorted(resumes)


def test_migrationuser_method(tmp_path):
    org, session, journal = _setup(tmp_path, EMAILS[:3])
    moves = _observe.read_moves(session, mailboxes=EMAILS[:1])
    outcome = _apply.run_completion(session, journal, EMAILS[:1], moves, method=CompletionMethod.MIGRATIONUSER,
                                    at=org.clock.now())
    assert outcome.sent == [EMAILS[0]] and _pipelines(session)[-1][0] == "Set-MigrationUser"
    org.clock.advance(1800)
    final = _apply.follow(session, EMAILS[:1], poll_interval=0, timeout=1)
    assert final[EMAILS[0]].status == "Completed"
    assert _observe.read_moves(session, mailboxes=[EMAILS[1]])[EMAILS[1]].status == "Synced"


def test_create_with_start_starts_an_identical_batch_that_was_never_started(tmp_path):
    org = make_org()
    session = _session(org)
    planned = [PlannedBatch("Wave2", tuple(EMAILS[:4]))]
    idle = CreateOptions(DEFAULT_ENDPOINT, "contoso.mail.onmicrosoft.com", start=False)
    observed = _observe.observe_batches(session)
    assert _apply.create_batches(session, plan_create(planned, observed), idle).batches[0].outcome == "created"
    observed = _observe.observe_batches(session)
    assert observed["Wave2"].status == "Created"
    # Without --start an identical batch is left alone; with it, the idle batch is started, once.
    assert [c.action.value for c in plan_create(planned, observed).changes] == ["unchanged"]
    plan = plan_create(planned, observed, start=True)
    assert [c.render() for c in _apply.create_commands(plan, OPTIONS)] == ["Start-MigrationBatch -Identity 'Wave2'"]
    assert _apply.create_batches(session, plan, OPTIONS).batches[0].outcome == "started"
    org.clock.advance(6 * 3600)
    observed = _observe.observe_batches(session)
    assert observed["Wave2"].status not in ("Created", "Stopped")
    assert [c.action.value for c in plan_create(planned, observed, start=True).changes] == ["unchanged"]


def test_every_read_ends_in_select_object(tmp_path):
    org, session, journal = _setup(tmp_path)
    observed = _observe.observe_batches(session, columns=_observe.BATCH_COLUMNS)
    _observe.observe_batches(session, names=["Wave1"])
    _observe.migration_endpoints(session)
    _observe.batch_members(session, ["Wave1"])
    moves = _observe.read_moves(session, batches=["Wave1"], mailboxes=["ghost@contoso.com"])
    outcome = _apply.run_completion(session, journal, EMAILS, moves, method=CompletionMethod.MOVEREQUEST,
                                    at=org.clock.now())
    _apply.follow(session, outcome.followed, poll_interval=0, timeout=0)
    _apply.create_batches(session, plan_create([PlannedBatch("Wave9", ("user13@contoso.com",))], observed),
                          OPTIONS, observed)
    reads = [p for p, _ in _pipelines(session) if p.startswith("Get-")]
    assert reads and all(p.endswith("| Select-Object") for p in reads), reads
    # the columns: exactly what the callers use
    assert set(_observe.READINESS_COLUMNS) == {"Identity", "Status", "StatusDetail", "Message", "CompleteAfter"}


def test_a_user_already_in_another_batch_is_a_failed_mailbox_not_a_failed_batch_and_a_rerun_says_the_same(tmp_path):
    org, session, _ = _setup(tmp_path, EMAILS[:3])
    planned = [PlannedBatch("Wave2", (EMAILS[2], EMAILS[5]))]
    observed = _observe.observe_batches(session)
    plan = plan_create(planned, observed)
    assert [c.action.value for c in plan.changes] == ["create"] and EMAILS[2] in plan.warnings[0]
    result = _apply.create_batches(session, plan, OPTIONS, observed)
    assert [(b.batch, b.outcome) for b in result.batches] == [("Wave2", "created")] and result.failed
    outcomes = {m.mailbox: m for m in result.mailboxes}
    assert outcomes[EMAILS[5]].outcome == "created"
    assert outcomes[EMAILS[2]].outcome == "failed" and outcomes[EMAILS[2]].detail.startswith(
        'UserDuplicateInOtherBatchException: The user "user02@contoso.com" is already included in migration batch '
        '"Wave1."')
    created = len([p for p, _ in _pipelines(session) if p == "New-MigrationBatch"])
    observed = _observe.observe_batches(session)
    again = _apply.create_batches(session, plan_create(planned, observed), OPTIONS, observed)
    assert [b.outcome for b in again.batches] == ["unchanged"] and again.failed
    assert {m.mailbox: m.outcome for m in again.mailboxes} == {EMAILS[2]: "failed", EMAILS[5]: "unchanged"}
    assert len([p for p, _ in _pipelines(session) if p == "New-MigrationBatch"]) == created


class _SyncBetweenSetAndResume(InProcessSession):
    """The lab's clock passes the moves' next scheduled incremental sync between Set- and Resume-MoveRequest."""

    def run(self, command, input_items=None):
        result = super().run(command, input_items)
        if self.sent[-1].cmdlets == "Set-MoveRequest":
            self.engine.org.clock.advance(24 * 3600 + 60)
        return result


def test_resume_refused_because_the_move_is_already_completing_is_a_success(tmp_path):
    org = make_org()
    session = _session(org, _SyncBetweenSetAndResume)
    emails = EMAILS[:3]
    observed = _observe.observe_batches(session)
    _apply.create_batches(session, plan_create([PlannedBatch("Wave1", tuple(emails))], observed), OPTIONS)
    org.clock.advance(6 * 3600)
    moves = _observe.read_moves(session, batches=["Wave1"])
    with Journal(tmp_path / "j.sqlite") as journal:
        outcome = _apply.run_completion(session, journal, emails, moves, method=CompletionMethod.MOVEREQUEST,
                                        at=org.clock.now())
        steps = {s.target: s.state.value for s in journal.steps(outcome.run_id)}
    assert outcome.send_failed == {} and set(outcome.under_way) == set(emails)
    assert set(outcome.followed) == set(emails) and set(steps.values()) == {"done"}
    results = {r.mailbox: r for r in completion_results(outcome, {}, False)}
    assert {r.outcome for r in results.values()} == {"completing"} and not any(r.failed for r in results.values())
    final = _apply.follow(session, outcome.followed, poll_interval=0, timeout=1)
    assert {s.status for s in final.values()} == {"Completed"}


def test_a_completion_exchange_lost_is_sent_again_on_a_rerun(tmp_path):
    import copy

    org, session, journal = _setup(tmp_path, EMAILS[:2])
    saved = copy.deepcopy(org.online.collection("MoveRequest"))  # the state Exchange had persisted
    moves = _observe.read_moves(session, batches=["Wave1"])
    first = _apply.run_completion(session, journal, EMAILS[:2], moves, method=CompletionMethod.MOVEREQUEST,
                                  at=org.clock.now())
    assert sorted(first.sent) == EMAILS[:2]
    org.online.collections["MoveRequest"] = saved  # Exchange restarted before persisting the completions
    moves = _observe.read_moves(session, batches=["Wave1"])
    assert {m.status for m in moves.values()} == {"Synced"} and all(m.complete_after is None for m in moves.values())
    again = _apply.run_completion(session, journal, EMAILS[:2], moves, method=CompletionMethod.MOVEREQUEST,
                                  at=org.clock.now())
    assert sorted(again.sent) == EMAILS[:2], [(i.mailbox, i.readiness, i.reason) for i in again.plan.items]
    org.clock.advance(3600)
    final = _apply.follow(session, EMAILS[:2], poll_interval=0, timeout=1)
    assert {s.status for s in final.values()} == {"Completed"}


def test_ctrl_c_mid_completion_records_the_run_interrupted(tmp_path):
    org, session, journal = _setup(tmp_path)
    moves = _observe.read_moves(session, batches=["Wave1"])

    ctrl_c = _Stopped(session.engine, "online", user="admin@contoso.onmicrosoft.com", error=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        _apply.run_completion(ctrl_c, journal, EMAILS, moves, method=CompletionMethod.MOVEREQUEST,
                              at=org.clock.now(), chunk_size=4)
    [run] = journal.list_runs(kind=_apply.JOURNAL_KIND)
    assert run.status.value == "interrupted"
    assert journal.find_resumable(_apply.JOURNAL_KIND, run.plan_fingerprint).run_id == run.run_id


def test_create_is_journaled_and_a_rerun_after_a_lost_connection_sends_only_the_missing_batch(tmp_path):
    from hybridkit.errors import TransportError

    org = make_org()
    session = _session(org)
    planned = [PlannedBatch("W1", tuple(EMAILS[:2])), PlannedBatch("W2", tuple(EMAILS[2:4]))]
    made = []

    def drop_the_second(sent):
        if sent.cmdlets == "New-MigrationBatch":
            made.append(sent)
            if len(made) == 2:
                raise TransportError("connection reset")

    session.before_run = drop_the_second
    with Journal(tmp_path / "j.sqlite") as journal:
        observed = _observe.observe_batches(session)
        with pytest.raises(TransportError):
            _apply.create_batches(session, plan_create(planned, observed), OPTIONS, observed, journal=journal)
        [run] = journal.list_runs(kind=_apply.CREATE_KIND)
        assert run.status.value == "aborted"
        assert {s.target: s.state.value for s in journal.steps(run.run_id)} == {"W1": "done", "W2": "failed"}
        session.before_run = None
        observed = _observe.observe_batches(session)
        again = _apply.create_batches(session, plan_create(planned, observed), OPTIONS, observed, journal=journal)
        assert again.run_id == run.run_id and again.resumed
        assert [(b.batch, b.outcome.value) for b in again.batches] == [("W1", "unchanged"), ("W2", "created")]
        assert journal.get_run(run.run_id).status.value == "completed"
    assert sorted(org.online.collection("MigrationBatch")) == ["W1", "W2"]
    # W1 is never sent again; W2's first attempt was lost on the way (it never reached Exchange)
    assert [sent.pipeline.commands[0].param("Name") for sent in session.sent
            if sent.cmdlets == "New-MigrationBatch"] == ["W1", "W2", "W2"]


def test_a_journal_from_before_chunked_steps_still_says_what_was_sent(tmp_path):
    from hybridkit.journal import PlannedStep

    org, session, journal = _setup(tmp_path, EMAILS[:2])
    old = journal.start_run(_apply.JOURNAL_KIND, "old", [PlannedStep(f"complete:{m}", m, "...") for m in EMAILS[:2]])
    journal.mark_started(old, f"complete:{EMAILS[0]}")
    journal.mark_done(old, f"complete:{EMAILS[0]}", "sent")
    journal.finish_run(old)
    moves = _observe.read_moves(session, batches=["Wave1"])
    moves[EMAILS[0]] = dataclasses_replace(moves[EMAILS[0]], complete_after=org.clock.now())
    outcome = _apply.run_completion(session, journal, EMAILS[:2], moves, method=CompletionMethod.MOVEREQUEST,
                                    at=org.clock.now())
    assert outcome.sent == [EMAILS[1]] and outcome.followed == [EMAILS[0], EMAILS[1]]


def test_status_watch_polls_until_the_batches_settle_and_never_past_its_timeout(tmp_path):
    from hybridkit.cutover import _service

    org, session, _ = _setup(tmp_path, EMAILS[:2])
    org.clock.advance(-6 * 3600 + 60)  # back to just after creation: still syncing
    now = [0.0]
    seen = []

    def sleep(seconds):
        now[0] += seconds
        org.clock.advance(3600)

    snapshot = _service.watch_status(session, ["Wave1"], interval=30, timeout=3600, on_update=seen.append,
                                     clock=lambda: now[0], sleep=sleep)
    assert not snapshot.moving and snapshot.batches[0].status == "Synced"
    assert len(seen) >= 2 and seen[0].moving and seen[-1] is snapshot
    stuck = _service.watch_status(session, [], interval=1000, timeout=5, clock=lambda: now[0],
                                  sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert now[0] <= 10_000 and stuck.batches
