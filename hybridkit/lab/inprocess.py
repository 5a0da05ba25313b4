"""``InProcessSession``: a ``hybridkit.ps.PSSession`` over the lab's Exchange engine, with no transport.

As httpx's ``MockTransport`` lets a test use a real ``Client`` with no network, this lets a test (or a capability
under test) use a real ``PSSession`` with no WSMan, PSRP or sockets. Everything Exchange-side is the lab's own:
each command is bound against Microsoft's catalogue by the engine, handlers run over the organisation state, and
a NoLanguage or not-yet-connected runspace refuses what it refuses over the wire. What the bridge would do is
reproduced here:

- values go in and come out as they would through ``hybridkit.ps._pypsrp`` and the lab's PSRP side (a ``Switch``
  as a switch, a ``Secret`` as a SecureString, a dict pipeline input as a PSCustomObject whose properties bind by
  name, aware datetimes in UTC; outputs as ``PSObject`` with plain Python values, enums as their names);
- non-terminating errors come back as ``PSError`` in ``PSResult.errors``, shaped as the bridge reads an
  ErrorRecord; a terminating error raises what the bridge raises (``hybridkit.ps._errors.pipeline_failed``:
  ``CommandFailed``, or ``ThrottledError`` for a refusal for load);
- ``run_items`` chunks the items and attributes outcomes with the bridge's own code (``hybridkit.ps._match``);
- on the Exchange Online endpoint, the runspace signs in with Connect-ExchangeOnline (the organisation's app
  registration, as ``LabServer.ready_info`` hands it to a profile) before the first command, as the bridge does
  in every new pool; an organisation built without an app registration gets an already connected runspace.

``cancel()`` stops a running pipeline at its next write and refuses new ones (``KeyboardInterrupt``), as the
bridge's does. Not reproduced: the transport (no requests, retries, pools, faults, latency or audit log;
``request_count`` counts one request per pipeline). A test that needs a failure injects it with ``before_run``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from psrpcore.types import ErrorCategory

from hybridkit.errors import AuthError, CommandFailed
from hybridkit.lab._types import (
    CollectingSink,
    EndpointKind,
    Engine,
    LabCommand,
    LabError,
    LabObject,
    LabSecureString,
    LabSession,
    LabTerminatingError,
)
from hybridkit.lab.exchange.engine import ExchangeEngine
from hybridkit.lab.exchange.org import Org
from hybridkit.ps._command import Command, Pipeline, Secret, Switch
from hybridkit.ps._errors import one_line, pipeline_failed
from hybridkit.ps._match import chunk_outcomes
from hybridkit.ps._result import ItemOutcome, PSError, PSObject, PSResult

__all__ = ["InProcessSession", "SentPipeline", "from_lab", "to_lab"]

_CUSTOM_OBJECT = ["System.Management.Automation.PSCustomObject", "System.Object"]


def _received_type_names(type_names: Sequence[str]) -> list[str]:
    # The server's deserializer (psrpcore) keeps the names of a PSCustomObject and marks any type it does not know
    # as a deserialized copy, as PowerShell does: "Deserialized.<name>" for each name.
    names = list(type_names) or list(_CUSTOM_OBJECT)
    if names[0] == _CUSTOM_OBJECT[0]:
        return names
    return [f"Deserialized.{name}" for name in names]


def to_lab(value: Any) -> Any:
    """A parameter value or input item as the engine receives it from the bridge over the wire.

    Raises:
        ValueError: for a datetime without a time zone (the bridge refuses to send one).
    """
    if isinstance(value, Secret):
        return LabSecureString(value.value)
    if isinstance(value, Switch):
        return value.present
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, uuid.UUID):
        return uuid.UUID(str(value))
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes sent to Exchange must carry a time zone")
        return value.astimezone(dt.timezone.utc)
    if isinstance(value, PSObject):
        return LabObject(_received_type_names(value.type_names), {k: to_lab(v) for k, v in value.properties.items()},
                         value.to_string)
    if isinstance(value, Mapping):
        return {str(k): to_lab(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_lab(v) for v in value]
    return str(value)


def _input_to_lab(item: Any) -> Any:
    # As the bridge sends it: a dict in pipeline input is an object with properties (so Identity binds by property
    # name), not a hashtable.
    if isinstance(item, Mapping):
        return LabObject(list(_CUSTOM_OBJECT), {k: to_lab(v) for k, v in item.items()})
    return to_lab(item)


def _parameter_to_lab(value: Any) -> Any:
    # The bridge sends a present switch as a name without a value: it arrives as None (the binder makes it $true).
    if isinstance(value, Switch) and value.present:
        return None
    return to_lab(value)


def from_lab(value: Any) -> Any:
    """An engine value as the bridge hands it to its caller after the round trip through CLIXML."""
    if isinstance(value, LabObject):
        type_names = list(value.type_names)
        if "System.Object" not in type_names:
            type_names.append("System.Object")
        return PSObject(type_names, {k: from_lab(v) for k, v in value.properties.items()}, value.to_string)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return from_lab(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, uuid.UUID):
        return uuid.UUID(str(value))
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, Mapping):
        return {from_lab(k): from_lab(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [from_lab(v) for v in value]
    return str(value)


def _ps_error(error: LabError) -> PSError:
    """A non-terminating error record as the bridge reads it (``_pypsrp._error_from_record``)."""
    category = error.category if error.category in ErrorCategory.__members__ else "NotSpecified"
    return PSError(
        message=error.message,
        error_id=error.fully_qualified_error_id,
        category=category,
        reason=error.reason or error.exception_type.rsplit(".", 1)[-1],
        target=from_lab(error.target),
        exception_type=error.exception_type,
    )


class _Sink(CollectingSink):
    """Collects what a pipeline writes; once the session is cancelled, the next write stops the pipeline."""

    def __init__(self, cancelled: threading.Event) -> None:
        super().__init__()
        self._cancelled = cancelled

    def _check(self) -> None:
        if self._cancelled.is_set():
            raise KeyboardInterrupt("interrupted")

    def output(self, obj: Any) -> None:
        self._check()
        super().output(obj)

    def error(self, err: LabError) -> None:
        self._check()
        super().error(err)

    def warning(self, text: str) -> None:
        self._check()
        super().warning(text)


@dataclasses.dataclass(frozen=True)
class SentPipeline:
    """One pipeline a caller ran through an ``InProcessSession``, with its input items."""

    pipeline: Pipeline
    input_items: tuple[Any, ...] = ()

    @property
    def cmdlets(self) -> str:
        """The pipeline's cmdlets as the bridge names them in errors: ``Get-Mailbox | Select-Object``."""
        return " | ".join(c.cmdlet for c in self.pipeline.commands)


class InProcessSession:
    """A ``PSSession`` to one endpoint of a lab organisation, run in this process (see the module docstring).

    Args:
        target: The organisation (an ``ExchangeEngine`` is made over it), or an engine: one to share (e.g. a
            running ``LabServer``'s ``engine``, so the bridge and this session see one state) or any other
            implementation of the seam's ``Engine`` protocol.
        endpoint: ``"onprem"`` (the on-prem /PowerShell endpoint) or ``"online"`` (the Exchange Online jump host).
        name: The profile name the session reports (default: the endpoint's name).
        user: Who the runspace runs as (recorded by some cmdlets, e.g. a hold's owner).
        chunk_size: ``run_items``' default chunk size (the bridge's default is 500).

    Attributes:
        engine: The engine commands run on.
        sent: Every pipeline the caller ran, in order (the sign-in to Exchange Online is not one of them).
        before_run: Called with each pipeline the caller runs, before the engine sees it (None: nothing). What it
            raises, ``run`` raises, and nothing reaches the engine: tests inject a failure this way (a
            ``CommandFailed``, a ``TransportError``), or pause, or look at their own state mid-run.
    """

    def __init__(self, target: Org | Engine, endpoint: str | EndpointKind = EndpointKind.ONPREM, *,
                 name: str | None = None, user: str = "labadmin", chunk_size: int = 500) -> None:
        self.engine: Engine = ExchangeEngine(target) if isinstance(target, Org) else target
        self.endpoint = EndpointKind(endpoint)
        self._name = name or self.endpoint.value
        self.user = user
        self.chunk_size = chunk_size
        self.sent: list[SentPipeline] = []
        self.before_run: Callable[[SentPipeline], None] | None = None
        self._session: LabSession | None = None
        self._requests = 0
        self._cancelled = threading.Event()
        self._lock = threading.RLock()  # the sign-in runs a pipeline while the session is being opened

    @property
    def name(self) -> str:
        return self._name

    @property
    def request_count(self) -> int:
        """One per pipeline run, the sign-in to Exchange Online included (there is no WSMan to count)."""
        return self._requests

    @property
    def lab_session(self) -> LabSession:
        """The engine's runspace state for this session (opened, and signed in online, on first use)."""
        with self._lock:
            if self._session is None:
                session = LabSession(self.endpoint, self.user, shell_id=str(uuid.uuid4()).upper())
                self.engine.open_session(session)
                self._session = session
                if self.endpoint is EndpointKind.ONLINE:
                    self._connect_online(session)
            return self._session

    def _connect_online(self, session: LabSession) -> None:
        app = self.engine.online_app if isinstance(self.engine, ExchangeEngine) else {}
        if not app.get("app_id"):  # an organisation built without an app registration: nothing to sign in with
            session.data["exo_connected"] = True
            return
        connect = Command.of("Connect-ExchangeOnline", AppId=app["app_id"],
                             CertificateThumbprint=app["certificate_thumbprint"], Organization=app["organization"],
                             ShowBanner=Switch(False))
        try:
            result = self._invoke(session, Pipeline.of(connect), None)
        except CommandFailed as exc:
            raise AuthError(f"Connect-ExchangeOnline failed: {one_line(exc.message)}") from exc
        if result.errors:
            raise AuthError(f"Connect-ExchangeOnline failed: {one_line(result.errors[0].message)}")

    def _invoke(self, session: LabSession, pipeline: Pipeline, input_items: Sequence[Any] | None) -> PSResult:
        commands = [LabCommand(c.cmdlet, [(k, _parameter_to_lab(v)) for k, v in c.parameters])
                    for c in pipeline.commands]
        items = [_input_to_lab(i) for i in input_items or ()]
        sink = _Sink(self._cancelled)
        with self._lock:
            self._requests += 1
        try:
            self.engine.invoke(session, commands, items, sink)
        except LabTerminatingError as exc:
            raise pipeline_failed(" | ".join(c.cmdlet for c in pipeline.commands), exc.error.message,
                                  exc.error.fully_qualified_error_id) from None
        return PSResult(output=[from_lab(o) for o in sink.out], errors=[_ps_error(e) for e in sink.errors],
                        warnings=list(sink.warnings), requests=1)

    def run(self, command: Command | Pipeline, input_items: Sequence[Any] | None = None) -> PSResult:
        """Run one pipeline. Raises ``CommandFailed`` (or ``ThrottledError``) on a terminating error."""
        pipeline = command if isinstance(command, Pipeline) else Pipeline.of(command)
        sent = SentPipeline(pipeline, tuple(input_items or ()))
        self.sent.append(sent)
        if self.before_run is not None:
            self.before_run(sent)
        if self._cancelled.is_set():
            raise KeyboardInterrupt("interrupted")
        return self._invoke(self.lab_session, pipeline, input_items)

    def run_items(
        self,
        command: Command | Pipeline,
        items: Sequence[Any],
        *,
        chunk_size: int | None = None,
        key: Callable[[Any], Any] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> list[ItemOutcome]:
        """Stream ``items`` through one pipeline per chunk, one chunk after another (see ``PSSession``)."""
        items = list(items)
        size = max(1, chunk_size or self.chunk_size)
        outcomes: list[ItemOutcome] = []
        for start in range(0, len(items), size):
            chunk = items[start:start + size]
            outcomes.extend(chunk_outcomes(chunk, functools.partial(self.run, command, chunk), key))
            if on_progress:
                on_progress(len(chunk))
        return outcomes

    @property
    def cancelled(self) -> bool:
        """Whether ``cancel()`` was called (a test's ``before_run`` may wait on it, standing in for a pipeline
        Exchange is still running: the lab answers at once)."""
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Refuse every pipeline from now on and stop a running one at its next write, as the bridge's ``cancel``.

        The thread running it gets ``KeyboardInterrupt``; so does any later ``run`` or ``run_items``.
        """
        self._cancelled.set()

    def close(self) -> None:
        """End the runspace (the next command opens a new one, signed in again)."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            self.engine.close_session(session)

    def __enter__(self) -> InProcessSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
