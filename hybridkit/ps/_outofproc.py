"""``OutOfProcSession``: the ``PSSession`` over a process speaking PSRP on its stdin/stdout.

PowerShell 7 started as a server (``pwsh -NoLogo -NoProfile -s``; behind SSH ``ssh -s HOST powershell``, whose
subsystem runs ``pwsh -sshs``) reads PSRP fragments from stdin and writes them to stdout, framed one XML element per
line (``_oopframing``). This reaches Exchange Online without a Windows jump host: the process loads
ExchangeOnlineManagement, and ``Connect-ExchangeOnline`` (with a certificate file, ``OnlineConnect``) runs first in
each new runspace pool, as over WSMan.

Design:

* the pool/retry/chunking/cancel logic is ``_pool.PooledSession`` (shared with ``_pypsrp``); here one slot is one
  process hosting one runspace pool (PowerShell's out-of-process server hosts exactly one), so ``max_shells``
  bounds the processes;
* psrpcore's sans-I/O client (``ClientRunspacePool``/``ClientPowerShell``) builds and reads the PSRP messages; it
  is driven only by the thread that holds the slot, while one reader thread per process turns stdout into packets;
* the client side of the exchange follows PowerShell's ``OutOfProcessClientSessionTransportManager`` and
  ``OutOfProcessClientCommandTransportManager`` (src/System.Management.Automation/engine/remoting/fanin/
  OutOfProcTransportManager.cs, PowerShell/PowerShell): pool messages carry the empty GUID; a pipeline is announced
  with ``Command`` and its fragments are sent after ``CommandAck``; each ``Data`` packet waits for its ``DataAck``
  before the next; ``Signal`` stops a pipeline, ``Close`` (empty GUID) closes the pool; and psrpcore's own
  out-of-process example (jborean93/psrpcore, its tests' process runner) for driving the client objects;
* a process that exits, or writes something that is not a packet, is a ``TransportError``: the slot is discarded
  (the process killed) and the retry starts a new process;
* output comes back as the same Python values as ``_pypsrp.from_wire`` gives (``PSObject`` with properties,
  aware datetimes, ``uuid.UUID``, lists, dicts), so capabilities cannot tell the transports apart;
* ``request_count`` counts the packets sent (each one waits for its acknowledgement: a round trip).
"""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import enum
import logging
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

from psrpcore import ClientPowerShell, ClientRunspacePool
from psrpcore._payload import PSRPPayload, StreamType
from psrpcore.types import (
    PSDateTime,
    PSDouble,
    PSInt64,
    PSInvocationState,
    PSNoteProperty,
    PSSecureString,
    RunspacePoolState,
)
from psrpcore.types import PSObject as CorePSObject

from hybridkit.errors import AuthError, ConfigError, TransportError
from hybridkit.ps._command import Pipeline, Secret, Switch
from hybridkit.ps._connection import Connection
from hybridkit.ps._errors import pipeline_failed
from hybridkit.ps._oopframing import NIL_GUID, FramingError, Packet, PacketReader, encode
from hybridkit.ps._pool import PooledSession, PooledSlot
from hybridkit.ps._result import PSError, PSObject, PSResult

__all__ = ["OutOfProcSession", "from_core", "to_core"]

log = logging.getLogger("hybridkit.ps")

FRAGMENT_SIZE = 32 * 1024  # PSRP fragment size on this transport (PowerShell's default for out-of-process)
_DESERIALIZED = "Deserialized."
_I32 = range(-(2**31), 2**31)

# OpenSSH's own words when it will not let us in (ssh.c / sshconnect.c); retrying cannot change them.
_SSH_REFUSALS = ("Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED", "Permission denied (",
                 "No more authentication methods available")


# -- values ----------------------------------------------------------------------------------------------------


def _type_names(obj: CorePSObject) -> list[str]:
    # psrpcore marks every type it did not rehydrate "Deserialized." (as .NET does); pypsrp keeps the names as sent.
    return [t[len(_DESERIALIZED):] if t.startswith(_DESERIALIZED) else t for t in obj.PSObject.type_names]


def from_core(value: Any) -> Any:
    """psrpcore output as the plain Python values ``_pypsrp.from_wire`` gives for the same CLIXML."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, PSSecureString):
        return Secret(str(value.decrypt()))
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        plain = dt.datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                            value.microsecond, value.tzinfo)
        return plain if plain.tzinfo else plain.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, uuid.UUID):
        return uuid.UUID(str(value))
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, dict):
        return {k if isinstance(k, str) and type(k) is str else from_core(k): from_core(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [from_core(v) for v in value]
    if isinstance(value, CorePSObject):
        meta = value.PSObject
        types = _type_names(value)
        if "System.Enum" in types:
            return meta.to_string
        props = {p.name: from_core(p.get_value(value)) for p in list(meta.adapted_properties) +
                 list(meta.extended_properties)}
        return PSObject(type_names=types, properties=props, to_string=meta.to_string)
    return str(value)


def to_core(value: Any) -> Any:
    """A Python value as psrpcore serializes it for a parameter or pipeline input (as ``_pypsrp.to_wire``)."""
    if isinstance(value, Secret):
        return PSSecureString(value.value)
    if isinstance(value, Switch):
        return value.present
    if value is None or isinstance(value, (bool, str, uuid.UUID, bytes)):
        return value
    if isinstance(value, int):
        return value if value in _I32 else PSInt64(value)
    if isinstance(value, float):
        return PSDouble(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes sent to Exchange must carry a time zone")
        utc = value.astimezone(dt.timezone.utc)
        return PSDateTime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond,
                          dt.timezone.utc)
    if isinstance(value, PSObject):
        return _core_object(value.type_names, value.properties, value.to_string)
    if isinstance(value, Mapping):
        return {str(k): to_core(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_core(v) for v in value]
    return str(value)


def _core_object(type_names: Sequence[str], properties: Mapping[str, Any], to_string: str | None = None) -> Any:
    obj = CorePSObject()
    meta = obj.PSObject
    meta.type_names = list(type_names) or ["System.Management.Automation.PSCustomObject", "System.Object"]
    for name, prop_value in properties.items():
        prop = PSNoteProperty(str(name))
        prop.set_value(to_core(prop_value), obj)
        meta.extended_properties.append(prop)
    meta.to_string = to_string
    return obj


def _input_to_core(item: Any) -> Any:
    # A dict in pipeline input is an object with properties (so Identity binds by property name), not a hashtable.
    if isinstance(item, Mapping):
        return _core_object(["System.Management.Automation.PSCustomObject", "System.Object"], item)
    return to_core(item)


def _error_from_core(record: Any) -> PSError:
    details = getattr(record, "ErrorDetails", None)
    exception = getattr(record, "Exception", None)
    message = str(getattr(details, "Message", "") or "") if details is not None else ""
    exception_type = ""
    if isinstance(exception, CorePSObject):
        message = message or str(getattr(exception, "Message", "") or "")
        names = _type_names(exception)
        exception_type = names[0] if names else ""
    info = getattr(record, "CategoryInfo", None)
    category = getattr(info, "Category", None)
    return PSError(
        message=message or str(record),
        error_id=str(getattr(record, "FullyQualifiedErrorId", "") or ""),
        category=category.name if isinstance(category, enum.Enum) else str(category or "NotSpecified"),
        reason=str(getattr(info, "Reason", "") or ""),
        target=from_core(getattr(record, "TargetObject", None)),
        exception_type=exception_type,
    )


# -- the process -------------------------------------------------------------------------------------------------


class _Process:
    """One PowerShell server process: packets written to its stdin, packets read from its stdout by a thread."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = list(argv)
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - the profile's own command line, never a shell
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
            )
        except OSError as exc:
            raise ConfigError(f"cannot start the PowerShell process {self.argv[0]!r}: {exc.strerror or exc}") from None
        self._cond = threading.Condition()
        self._packets: collections.deque[Packet] = collections.deque()
        self._stderr = collections.deque(maxlen=20)
        self.failure: str | None = None
        self.not_framing: str | None = None  # what it wrote instead of packets (a wrong command line)
        self._reader = threading.Thread(target=self._read_stdout, name="hk-oop-reader", daemon=True)
        self._reader.start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, name="hk-oop-stderr", daemon=True)
        self._stderr_reader.start()

    def _read_stdout(self) -> None:
        reader = PacketReader()
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        failure = None
        try:
            while True:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                packets = reader.feed(chunk)
                if packets:
                    with self._cond:
                        self._packets.extend(packets)
                        self._cond.notify_all()
        except FramingError as exc:
            failure = self.not_framing = str(exc)
        except OSError as exc:
            failure = f"reading its output failed ({exc})"
        with self._cond:
            self.failure = failure or "it ended its output"
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        with suppress(OSError, ValueError):
            for line in self.proc.stderr:
                text = line.decode("utf-8", "replace").strip()
                if text:
                    self._stderr.append(text)

    def fault(self) -> TransportError | ConfigError | AuthError:
        """Why the process stopped talking: ``TransportError`` (it ended: retry on a new one, with its last stderr
        line), or ``ConfigError`` when it wrote something else than packets (the command does not start a
        PowerShell server; retrying would not help)."""
        if self.not_framing is not None:
            return ConfigError(f"the process {' '.join(self.argv[:3])} does not speak PowerShell's out-of-process "
                               f"transport on stdout ({self.not_framing}); start pwsh with -s (or ssh -s HOST "
                               "powershell, the subsystem running pwsh -sshs)")
        code = self.proc.poll()
        if code is None:
            with suppress(subprocess.TimeoutExpired):
                code = self.proc.wait(0.2)
        if code is not None:
            self._stderr_reader.join(0.5)  # its last words, when it ended
        how = f"exited with code {code}" if code is not None else (self.failure or "stopped answering")
        tail = f": {self._stderr[-1]}" if self._stderr else ""
        said = " ".join(self._stderr)
        if any(words in said for words in _SSH_REFUSALS):  # OpenSSH refused: a new process would be refused too
            return AuthError(f"ssh refused the connection ({self.argv[0]} {how}): {said}")
        if "subsystem request failed" in said:
            return ConfigError(f"the SSH server has no 'powershell' subsystem ({self.argv[0]} {how}): {said}; add "
                               "`Subsystem powershell /usr/bin/pwsh -sshs -NoLogo -NoProfile` to its sshd_config")
        return TransportError(f"the PowerShell process ({self.argv[0]}) {how}{tail}")

    def send(self, packet: Packet) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(encode(packet))
            self.proc.stdin.flush()
        except (OSError, ValueError):
            raise self.fault() from None

    def next_packet(self, deadline: float | None) -> Packet | None:
        """The next packet, or None at ``deadline``; ``TransportError`` once the process is gone."""
        with self._cond:
            while not self._packets:
                if self.failure is not None:
                    raise self.fault()
                wait = None if deadline is None else deadline - time.monotonic()
                if wait is not None and wait <= 0:
                    return None
                self._cond.wait(0.5 if wait is None else min(wait, 0.5))
            return self._packets.popleft()

    def stop(self, grace: float = 2.0) -> None:
        with suppress(OSError, ValueError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(grace)
        for stream in (self.proc.stdout, self.proc.stderr):
            with suppress(OSError, ValueError):
                if stream is not None:
                    stream.close()


class _Slot(PooledSlot):
    """One process and the runspace pool it hosts."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.process: _Process | None = None
        self.pool: ClientRunspacePool | None = None
        self.keys_exchanged = False


class _Exchange:
    """Drives one slot's psrpcore pool over its process: send what psrpcore queued, read until a condition holds."""

    def __init__(self, session: OutOfProcSession, slot: _Slot) -> None:
        assert slot.process is not None and slot.pool is not None
        self.session = session
        self.slot = slot
        self.process = slot.process
        self.pool = slot.pool
        self.events: list[Any] = []
        self._acks: set[tuple[str, uuid.UUID]] = set()

    def _count(self) -> None:
        self.slot.requests += 1
        with self.session._lock:
            self.session._requests += 1

    def send_packet(self, packet: Packet, ack: str | None) -> None:
        self._count()
        self.process.send(packet)
        if ack is not None:
            self.wait(lambda: (ack, packet.guid) in self._acks, self.session.ack_timeout)
            self._acks.discard((ack, packet.guid))

    def flush(self) -> None:
        """Send every PSRP fragment psrpcore queued, one ``Data`` packet each, each after the last one's ack."""
        while True:
            payload = self.pool.data_to_send(FRAGMENT_SIZE)
            if payload is None:
                return
            stream = "PromptResponse" if payload.stream_type == StreamType.prompt_response else "Default"
            guid = payload.pipeline_id or NIL_GUID
            self.send_packet(Packet("Data", guid, payload.data, stream), "DataAck")

    def wait(self, done: Any, timeout: float | None, stop: threading.Event | None = None) -> None:
        """Read packets (feeding Data to psrpcore, collecting events) until ``done()``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not done():
            if stop is not None and (stop.is_set() or self.session._cancelled.is_set()):
                raise KeyboardInterrupt("interrupted")
            packet = self.process.next_packet(min(deadline, time.monotonic() + 0.25) if deadline else
                                              time.monotonic() + 0.25)
            if packet is None:
                if deadline is not None and time.monotonic() >= deadline:
                    raise TransportError(f"the PowerShell process ({self.process.argv[0]}) did not answer within "
                                         f"{timeout:.0f} s")
                continue
            if packet.kind == "Data":
                stream = StreamType.prompt_response if packet.stream == "PromptResponse" else StreamType.default
                pipeline_id = None if packet.guid == NIL_GUID else packet.guid
                self.pool.receive_data(PSRPPayload(packet.data, stream, pipeline_id))
                while True:
                    event = self.pool.next_event()
                    if event is None:
                        break
                    self.events.append(event)
            else:
                self._acks.add((packet.kind, packet.guid))


class OutOfProcSession(PooledSession):
    """A ``PSSession`` over processes speaking PSRP out-of-process (see the module docstring)."""

    def __init__(self, connection: Connection, **options: Any) -> None:
        if not connection.process:
            raise ValueError("an out-of-process session needs Connection.process (the command line to start)")
        super().__init__(connection, **options)
        self.ack_timeout = float(max(connection.connection_timeout, connection.operation_timeout, 5))
        self._processes_started = 0

    def _new_slot(self, index: int) -> _Slot:
        return _Slot(index)

    @property
    def processes_started(self) -> int:
        """How many processes this session started (a retry after one died starts one more)."""
        return self._processes_started

    # -- pools ---------------------------------------------------------------------------------------------
    def _open_pool(self, slot: _Slot) -> None:
        log.debug("starting %s for runspace pool %d", self._conn.process[0], slot.index)
        slot.process = _Process(self._conn.process)
        with self._lock:
            self._processes_started += 1
        slot.pool = ClientRunspacePool()
        slot.keys_exchanged = False
        pool = slot.pool
        exchange = _Exchange(self, slot)
        pool.open()
        exchange.flush()
        exchange.wait(lambda: pool.state in (RunspacePoolState.Opened, RunspacePoolState.Broken,
                                             RunspacePoolState.Closed), self.ack_timeout)
        if pool.state != RunspacePoolState.Opened:
            raise TransportError(f"the PowerShell process ({self._conn.process[0]}) refused to open a runspace pool "
                                 f"(state {pool.state.name})")
        with self._lock:
            self._pools_opened += 1

    def _discard(self, slot: _Slot) -> None:
        process, pool = slot.process, slot.pool
        slot.process, slot.pool, slot.keys_exchanged = None, None, False
        if process is None:
            return
        # Best effort: close the pool (the server ends), then make sure the process is gone.
        if pool is not None and process.failure is None and pool.state == RunspacePoolState.Opened:
            with suppress(Exception):
                process.send(Packet("Close", NIL_GUID))
                deadline = time.monotonic() + 2.0
                while (packet := process.next_packet(deadline)) is not None and packet.kind != "CloseAck":
                    pass
        process.stop()

    # -- pipelines -----------------------------------------------------------------------------------------
    def _exchange_keys(self, exchange: _Exchange) -> None:
        slot = exchange.slot
        if slot.keys_exchanged:
            return
        pool = exchange.pool
        pool.exchange_key()
        exchange.flush()
        exchange.wait(lambda: any(type(e).__name__ == "EncryptedSessionKeyEvent" for e in exchange.events),
                      self.ack_timeout)
        exchange.events.clear()
        slot.keys_exchanged = True

    def _invoke(self, slot: _Slot, pipeline: Pipeline, input_items: Sequence[Any] | None,
                stop: threading.Event | None = None) -> PSResult:
        assert slot.pool is not None and slot.process is not None
        exchange = _Exchange(self, slot)
        before = slot.requests
        if any(isinstance(v, Secret) for c in pipeline.commands for _, v in c.parameters):
            self._exchange_keys(exchange)
        ps = ClientPowerShell(slot.pool, no_input=not input_items)
        for command in pipeline.commands:
            ps.add_command(command.cmdlet)
            for name, value in command.parameters:
                if isinstance(value, Switch) and value.present:
                    ps.add_parameter(name, True)  # noqa: FBT003 - a switch's value on the wire
                else:
                    ps.add_parameter(name, to_core(value))
        ps.start()
        exchange.send_packet(Packet("Command", ps.pipeline_id), "CommandAck")
        exchange.flush()
        if input_items:
            for item in input_items:
                ps.send(_input_to_core(item))
            ps.send_eof()
            exchange.flush()
        finished = (PSInvocationState.Completed, PSInvocationState.Failed, PSInvocationState.Stopped)
        try:
            exchange.wait(lambda: ps.state in finished, None, stop or threading.Event())
        except KeyboardInterrupt:
            with suppress(Exception):  # best effort: the process is ended right after anyway
                exchange.send_packet(Packet("Signal", ps.pipeline_id), None)
            raise
        output: list[Any] = []
        errors: list[PSError] = []
        warnings: list[str] = []
        terminating: PSError | None = None
        for event in exchange.events:
            kind = type(event).__name__
            if kind == "PipelineOutputEvent":
                output.append(from_core(event.data))
            elif kind == "ErrorRecordEvent":
                errors.append(_error_from_core(event.record))
            elif kind == "WarningRecordEvent":
                warnings.append(str(getattr(event.record, "Message", event.record)))
            elif kind == "PipelineStateEvent" and event.reason is not None:
                terminating = _error_from_core(event.reason)
        with suppress(Exception):
            ps.close()
        exchange.send_packet(Packet("Close", ps.pipeline_id), "CloseAck")
        if ps.state == PSInvocationState.Failed:
            names = " | ".join(c.cmdlet for c in pipeline.commands)
            message = terminating.message if terminating else "the pipeline failed"
            raise pipeline_failed(names, message, terminating.error_id if terminating else None)
        return PSResult(output=output, errors=errors, warnings=warnings, requests=slot.requests - before)

    def __enter__(self) -> OutOfProcSession:
        return self
