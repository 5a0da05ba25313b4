"""Drive one psrpcore ``ServerRunspacePool`` per WSMan shell and run its pipelines on worker threads.

The WSMan layer hands this module raw PSRP fragments (``Create``/``Command``/``Send``) and asks it for outgoing
fragments (``Receive``). psrpcore is sans-I/O and not thread-safe, so every call into the pool happens under
one lock per shell; pipelines run the engine on their own threads and write through a ``PipelineSink`` that
takes the same lock. Outgoing PSRP payloads are routed into one queue per target (the pool, or a pipeline) so
a Receive for a CommandId only ever sees that pipeline's fragments.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections import deque
from typing import Any, Callable

from psrpcore import ServerPipeline, ServerRunspacePool
from psrpcore._events import (
    CreatePipelineEvent,
    EndOfPipelineInputEvent,
    GetAvailableRunspacesEvent,
    PipelineInputEvent,
    ResetRunspaceStateEvent,
    SetMaxRunspacesEvent,
    SetMinRunspacesEvent,
)
from psrpcore._payload import PSRPPayload, StreamType
from psrpcore.types import PSInvocationState, PSRPMessageType

from hybridkit.lab._types import Engine, LabCommand, LabError, LabSession, LabTerminatingError
from hybridkit.lab.transport._psrp_convert import error_record, from_ps, lab_commands, to_ps

__all__ = ["PipelineReport", "ShellDriver"]

log = logging.getLogger(__name__)

_COALESCE_SECONDS = 0.01  # once data is queued, wait this long for more before answering a Receive


class _PipelineStopped(Exception):
    """Raised inside the engine's thread by the sink once the client stopped the pipeline."""


@dataclasses.dataclass
class PipelineReport:
    """What the audit log records about one finished pipeline."""

    shell_id: str
    command_id: str
    commands: list[LabCommand]
    input_count: int
    outcome: str  # completed | failed | stopped
    output_count: int
    error_count: int
    warning_count: int
    seconds: float
    error: str | None = None
    inputs: list[Any] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Pipe:
    ps: ServerPipeline
    command_id: str
    commands: list[LabCommand] | None = None
    no_input: bool = True
    inputs: list[Any] = dataclasses.field(default_factory=list)
    started: bool = False
    finished: bool = False
    stop_requested: bool = False
    outputs: int = 0
    errors: int = 0
    warnings: int = 0


class _Sink:
    """The ``PipelineSink`` a running pipeline writes to; raises once the client stopped the pipeline."""

    def __init__(self, driver: "ShellDriver", pipe: _Pipe) -> None:
        self._driver = driver
        self._pipe = pipe

    def _write(self, write: Callable[[], None]) -> None:
        with self._driver._cond:
            if self._pipe.stop_requested or self._driver.closed:
                raise _PipelineStopped()
            write()
            self._driver._drain()

    def output(self, obj: Any) -> None:
        self._pipe.outputs += 1
        self._write(lambda: self._pipe.ps.write_output(to_ps(obj)))

    def error(self, err: LabError) -> None:
        self._pipe.errors += 1
        name = self._pipe.commands[-1].name if self._pipe.commands else None
        record = error_record(err, name)
        self._write(lambda: self._pipe.ps.prepare_message(record, message_type=PSRPMessageType.ErrorRecord))

    def warning(self, text: str) -> None:
        self._pipe.warnings += 1
        self._write(lambda: self._pipe.ps.write_warning(text))


class ShellDriver:
    """One WSMan shell = one PSRP runspace pool on the server, with its pipelines.

    Args:
        shell_id: The WSMan ShellId (the pool id pypsrp chose).
        session: The engine session for this pool (endpoint, authenticated user).
        engine: The Exchange emulation.
        on_pipeline: Called with a ``PipelineReport`` when a pipeline finishes (audit).
        push: For a transport that sends as soon as there is data (out-of-process): called with every outgoing
            ``PSRPPayload`` (under the driver's lock) instead of queueing it for ``receive``.
    """

    def __init__(
        self,
        shell_id: str,
        session: LabSession,
        engine: Engine,
        on_pipeline: Callable[[PipelineReport], None] | None = None,
        push: Callable[[PSRPPayload], None] | None = None,
    ) -> None:
        self.shell_id = shell_id
        self.session = session
        self.closed = False
        self._engine = engine
        self._on_pipeline = on_pipeline
        self._push = push
        self._pool = ServerRunspacePool()
        self._cond = threading.Condition(threading.RLock())
        self._queues: dict[str | None, deque[bytes]] = {None: deque()}
        self._pipes: dict[str, _Pipe] = {}
        self._finished: set[str] = set()  # delivered/terminated command ids (Signal Terminate after Done is fine)
        self._finished_order: deque[str] = deque()
        self._fragment_size = 32 * 1024
        self._running = 0
        self._waiting: deque[Callable[[], None]] = deque()
        self.idle_timeout = 7200.0
        self.last_activity = time.monotonic()

    def touch(self) -> None:
        """Record client activity (WinRM closes shells idle for longer than their IdleTimeOut)."""
        self.last_activity = time.monotonic()

    def expired(self, now: float) -> bool:
        """Idle past IdleTimeOut with no pipeline still running."""
        with self._cond:
            busy = any(not p.finished for p in self._pipes.values())
        return not busy and now - self.last_activity > self.idle_timeout

    # -- inbound -----------------------------------------------------------------------------------------------

    def set_max_envelope(self, max_envelope_size: int) -> None:
        """Size outgoing fragments so a Receive response fits the client's MaxEnvelopeSize."""
        with self._cond:
            self._fragment_size = max(1024, (max_envelope_size - 2048) * 3 // 4)

    def receive_fragments(self, data: bytes, command_id: str | None = None, stream: str = "stdin") -> None:
        """Feed PSRP fragments from Create/Command/Send into the pool and act on the resulting events."""
        with self._cond:
            if command_id and command_id.upper() not in self._pipes and command_id.upper() not in self._finished:
                self._pipes[command_id.upper()] = _Pipe(ServerPipeline(self._pool, uuid.UUID(command_id)), command_id)
                self._queues[command_id.upper()] = deque()
            stream_type = StreamType.prompt_response if stream == "pr" else StreamType.default
            pipeline_id = uuid.UUID(command_id) if command_id else None
            self._pool.receive_data(PSRPPayload(data, stream_type, pipeline_id))
            while True:
                event = self._pool.next_event()
                if event is None:
                    break
                self._handle(event)
            self._drain()

    def _handle(self, event: Any) -> None:
        if isinstance(event, (SetMaxRunspacesEvent, SetMinRunspacesEvent, ResetRunspaceStateEvent)):
            self._pool.runspace_availability_response(event.ci, True)
        elif isinstance(event, GetAvailableRunspacesEvent):
            self._pool.runspace_availability_response(event.ci, max(0, self._pool.max_runspaces - self._running))
        elif isinstance(event, CreatePipelineEvent):
            pipe = self._pipe_for(event.pipeline_id)
            pipeline = event.pipeline
            pipe.commands = lab_commands(pipeline)
            pipe.no_input = bool(pipeline.no_input)
            if pipe.no_input:
                self._start(pipe)
        elif isinstance(event, PipelineInputEvent):
            self._pipe_for(event.pipeline_id).inputs.append(from_ps(event.data))
        elif isinstance(event, EndOfPipelineInputEvent):
            pipe = self._pipe_for(event.pipeline_id)
            if pipe.commands is not None and not pipe.started:
                self._start(pipe)

    def _pipe_for(self, pipeline_id: uuid.UUID | None) -> _Pipe:
        key = str(pipeline_id).upper()
        if key not in self._pipes:
            self._pipes[key] = _Pipe(self._pool.pipeline_table[pipeline_id], key)  # type: ignore[index]
            self._queues[key] = deque()
        return self._pipes[key]

    # -- pipelines ---------------------------------------------------------------------------------------------

    def _start(self, pipe: _Pipe) -> None:
        pipe.started = True
        pipe.ps.start()
        thread = threading.Thread(target=self._run, args=(pipe,), name=f"lab-pipeline-{pipe.command_id[:8]}", daemon=True)
        limit = max(1, self._pool.max_runspaces or 1)
        if self._running < limit:
            self._running += 1
            thread.start()
        else:
            self._waiting.append(thread.start)

    def _release_slot(self) -> None:
        if self._waiting and not self.closed:
            self._waiting.popleft()()
        else:
            self._running -= 1

    def _run(self, pipe: _Pipe) -> None:
        started = time.perf_counter()
        commands = pipe.commands or []
        error: LabError | None = None
        try:
            if pipe.stop_requested:  # stopped while it waited for a free runspace
                raise _PipelineStopped()
            self._engine.invoke(self.session, commands, pipe.inputs, _Sink(self, pipe))
        except _PipelineStopped:
            pass
        except LabTerminatingError as exc:
            error = exc.error
        except Exception as exc:  # noqa: BLE001 - an engine bug must fail the pipeline, not kill the server
            log.exception("engine failed running %s", [c.name for c in commands])
            error = LabError(message=f"{type(exc).__name__}: {exc}", fully_qualified_error_id="LabEngineFailure")
        with self._cond:
            if pipe.stop_requested:
                outcome = "stopped"
            elif error is not None:
                outcome = "failed"
            else:
                outcome = "completed"
            if self._on_pipeline is not None:  # before the client can see the end of the pipeline
                self._on_pipeline(
                    PipelineReport(
                        self.shell_id, pipe.command_id, commands, len(pipe.inputs), outcome, pipe.outputs,
                        pipe.errors, pipe.warnings, time.perf_counter() - started, error.message if error else None,
                        pipe.inputs,
                    )
                )
            if not pipe.finished:
                if outcome == "stopped":
                    pipe.ps.stop()
                elif error is not None:
                    # psrpcore's server pipeline has no public "fail": this emits PipelineState Failed + the record.
                    pipe.ps._change_state(PSInvocationState.Failed, error_record(error))
                else:
                    pipe.ps.complete()
                pipe.finished = True
                self._drain()
                if self._push is not None:  # nothing waits to receive it: forget it now
                    self._forget(pipe.command_id.upper())
            self._release_slot()

    def stop(self, command_id: str) -> None:
        """Signal ctrl_c: stop a running pipeline (its engine thread stops at its next write)."""
        with self._cond:
            pipe = self._pipes.get(command_id.upper())
            if pipe is None or pipe.finished:
                return
            pipe.stop_requested = True
            if not pipe.started:  # still receiving its input: it never reaches the engine
                pipe.started = True
                pipe.ps.start()
                pipe.ps.stop()
                pipe.finished = True
                self._drain()
            self._cond.notify_all()

    def terminate(self, command_id: str) -> bool:
        """Signal Terminate: forget a pipeline (stopping it first if it still runs). False if never seen."""
        key = command_id.upper()
        with self._cond:
            if key in self._finished:
                return True
            if key not in self._pipes:
                return False
        self.stop(key)
        with self._cond:
            self._forget(key)
        return True

    def _forget(self, key: str) -> None:
        pipe = self._pipes.pop(key, None)
        self._queues.pop(key, None)
        if key not in self._finished:
            self._finished.add(key)
            self._finished_order.append(key)
            if len(self._finished_order) > 4096:
                self._finished.discard(self._finished_order.popleft())
        if pipe is not None and pipe.ps.state != PSInvocationState.Running:
            pipe.ps.close()

    # -- outbound ----------------------------------------------------------------------------------------------

    def _drain(self) -> None:
        """Move everything psrpcore queued into the per-target queues (caller holds the lock)."""
        while True:
            payload = self._pool.data_to_send(self._fragment_size)
            if payload is None:
                break
            if self._push is not None:
                self._push(payload)
                continue
            key = str(payload.pipeline_id).upper() if payload.pipeline_id else None
            queue = self._queues.get(key)
            if queue is not None:
                queue.append(payload.data)
        self._cond.notify_all()

    def receive(self, command_id: str | None, max_bytes: int, timeout: float) -> tuple[list[bytes], bool] | None:
        """Wait up to ``timeout`` for fragments for the pool (``command_id`` None) or one pipeline.

        Returns ``(chunks, done)`` (``done``: the pipeline finished and everything was delivered) or None when
        nothing arrived in time (the WSMan layer answers with the TimedOut fault).
        """
        key = command_id.upper() if command_id else None
        deadline = time.monotonic() + timeout
        with self._cond:
            first_data: float | None = None
            while True:
                queue = self._queues.get(key)
                pipe = self._pipes.get(key) if key else None
                if queue is None:
                    return ([], True) if key in self._finished else None
                finished = self.closed or (pipe is not None and pipe.finished)
                queued = sum(len(c) for c in queue)
                now = time.monotonic()
                if queue and first_data is None:
                    first_data = now
                if queue and (finished or queued >= max_bytes or now - (first_data or now) >= _COALESCE_SECONDS):
                    break
                if not queue and finished:
                    break
                if now >= deadline:
                    if queue:
                        break
                    return None
                wait = deadline - now if not queue else min(deadline - now, _COALESCE_SECONDS)
                self._cond.wait(wait)
            chunks: list[bytes] = []
            size = 0
            while queue and (not chunks or size + len(queue[0]) <= max_bytes):
                chunk = queue.popleft()
                chunks.append(chunk)
                size += len(chunk)
            done = key is not None and finished and not queue
            if done and key is not None:
                self._forget(key)
            return chunks, done

    # -- lifetime ----------------------------------------------------------------------------------------------

    @property
    def opened(self) -> bool:
        """Whether the pool reached the Opened state."""
        return self._pool.state.name == "Opened"

    def close(self) -> None:
        """Delete: stop every pipeline and close the pool."""
        with self._cond:
            self.closed = True
            for pipe in self._pipes.values():
                pipe.stop_requested = True
            self._waiting.clear()
            self._cond.notify_all()
