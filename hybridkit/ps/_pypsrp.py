"""``PypsrpSession``: the ``PSSession`` over pypsrp. The only module in hybridkit that imports pypsrp.

Design (see STYLE.md 5-7):

* a bounded set of runspace pools ("slots"), each opened lazily and driven by one thread at a time; the number
  stays under the endpoint's shell limit (``Connection.max_shells``, default 4 against Exchange's 18), and drops
  by one whenever the endpoint refuses another shell while one of ours is open;
* every command goes out through ``add_cmdlet``/``add_parameter``, never script text; for Exchange Online
  through a jump host, ``Connect-ExchangeOnline`` (a cmdlet with app-only certificate parameters) runs first in
  each new pool;
* transport-library exceptions are translated by ``_errors.translate_errors``; a pool that failed with a
  ``TransportError`` is discarded and the next attempt (``_retry.call_with_retries``) opens a fresh one;
* non-terminating error records come back in ``PSResult.errors`` (pypsrp's ``had_errors`` stays False for them),
  a terminating one raises ``CommandFailed``;
* WSMan requests are counted by wrapping the transport's ``send``;
* ``cancel()`` (the user pressed Ctrl-C) stops every running pipeline at its next Receive (a WSMan Signal) and
  refuses new ones, so a crawl of many chunks ends within a round trip instead of running every chunk left.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager, suppress
from typing import Any

from pypsrp.complex_objects import GenericComplexObject, PSInvocationState
from pypsrp.powershell import Fragmenter, PowerShell, RunspacePool
from pypsrp.serializer import Serializer, TaggedValue
from pypsrp.wsman import WSMan

from hybridkit.errors import AuthError, CommandFailed, ThrottledError, TransportError
from hybridkit.ps._command import Command, Pipeline, Secret, Switch
from hybridkit.ps._connection import Connection, online_connect_command
from hybridkit.ps._errors import is_tls_name_mismatch, one_line, pipeline_failed, translate_errors
from hybridkit.ps._kerberos import describe_mechanism, wsman_kerberos_kwargs
from hybridkit.ps._kerberos_errors import explain_kerberos_errors
from hybridkit.ps._match import chunk_outcomes
from hybridkit.ps._result import ItemOutcome, PSError, PSObject, PSResult
from hybridkit.ps._retry import DEFAULT_RETRY, RetryPolicy, call_with_retries
from hybridkit.ps._tls import certificate_names, name_mismatch_message

__all__ = ["PypsrpSession", "from_wire", "parse_datetime", "to_wire"]

log = logging.getLogger("hybridkit.ps")

_CATEGORIES = (
    "NotSpecified OpenError CloseError DeviceError DeadlockDetected InvalidArgument InvalidData InvalidOperation "
    "InvalidResult InvalidType MetadataError NotImplemented NotInstalled ObjectNotFound OperationStopped "
    "OperationTimeout SyntaxError ParserError PermissionDenied ResourceBusy ResourceExists ResourceUnavailable "
    "ReadError WriteError FromStdErr SecurityError ProtocolError ConnectionError AuthenticationError "
    "LimitsExceeded QuotaExceeded NotEnabled"
).split()
_I32 = range(-(2**31), 2**31)


def parse_datetime(text: str) -> dt.datetime | str:
    """A .NET round-trip DateTime (``2026-01-02T03:04:05.1234567Z``, 7 fraction digits) as an aware datetime."""
    raw = text.strip()
    main, _, rest = raw.partition(".")
    frac, zone = "", ""
    if rest:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        frac, zone = rest[:digits][:6], rest[digits:]
    else:
        for sep in ("Z", "+", "-"):
            idx = main.rfind(sep)
            if idx > 10:
                main, zone = main[:idx], main[idx:]
                break
    try:
        value = dt.datetime.fromisoformat(main + (f".{frac}" if frac else "") + (zone or ""))
    except ValueError:
        return text
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


class _Serializer(Serializer):
    """pypsrp's serializer, reading DateTimes as datetimes and Exchange's typed collections as lists/dicts."""

    def deserialize(self, element: Any, metadata: Any = None, clear: bool = True) -> Any:
        if isinstance(element, str) and metadata is None:
            try:
                element = ET.fromstring(element)
            except ET.ParseError:
                return super().deserialize(element, metadata, clear)
        if isinstance(element, ET.Element) and (metadata is None or getattr(metadata, "tag", "*") == "*"):
            if element.tag == "DT" and element.text:
                return parse_datetime(element.text)
            if element.tag == "Obj":
                for child in element:
                    if child.tag in ("LST", "IE", "QUE", "STK"):
                        if clear:
                            self._clear()
                        self._get_types_from_obj(element)
                        values = [self.deserialize(c, clear=False) for c in child]
                        self.obj[element.attrib["RefId"]] = values
                        return values
        return super().deserialize(element, metadata, clear)


def to_wire(value: Any, exchange_keys: Callable[[], None] | None = None) -> Any:
    """A Python value as pypsrp serializes it for a parameter or pipeline input."""
    if isinstance(value, Secret):
        if exchange_keys is not None:
            exchange_keys()
        return TaggedValue("SS", value.value)
    if isinstance(value, Switch):
        return value.present
    if value is None or isinstance(value, (bool, str, uuid.UUID, bytes)):
        return value
    if isinstance(value, int):
        return value if value in _I32 else TaggedValue("I64", value)
    if isinstance(value, float):
        return TaggedValue("Db", value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes sent to Exchange must carry a time zone")
        element = ET.Element("DT")
        element.text = value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
        return element
    if isinstance(value, PSObject):
        obj = GenericComplexObject()
        obj.types = list(value.type_names) or ["System.Management.Automation.PSCustomObject", "System.Object"]
        obj.extended_properties = {k: to_wire(v, exchange_keys) for k, v in value.properties.items()}
        obj.to_string = value.to_string
        return obj
    if isinstance(value, Mapping):
        return {str(k): to_wire(v, exchange_keys) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_wire(v, exchange_keys) for v in value]
    return str(value)


def _input_to_wire(item: Any) -> Any:
    # A dict in pipeline input is an object with properties (so Identity binds by property name), not a hashtable.
    if isinstance(item, Mapping):
        return to_wire(PSObject(["System.Management.Automation.PSCustomObject", "System.Object"], dict(item)))
    return to_wire(item)


def from_wire(value: Any) -> Any:
    """pypsrp output as plain Python: PSObject for complex objects, lists, dicts and primitives."""
    if isinstance(value, GenericComplexObject):
        props: dict[str, Any] = {}
        for source in (value.adapted_properties, value.extended_properties):
            for k, v in source.items():
                props[k] = from_wire(v)
        types = [str(t) for t in value.types]
        if "System.Enum" in types or "Deserialized.System.Enum" in types:
            return value.to_string  # an enum value reads as its name, as PowerShell prints it
        if not props and len(value.property_sets) == 1 and value.to_string is None:
            return from_wire(value.property_sets[0])
        return PSObject(type_names=types, properties=props, to_string=value.to_string)
    if isinstance(value, list):
        return [from_wire(v) for v in value]
    if isinstance(value, dict):
        return {from_wire(k) if not isinstance(k, str) else k: from_wire(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool, bytes, uuid.UUID, dt.datetime)) or value is None:
        return value
    return str(value)


def conn_ssl_mismatch(conn: Connection, exc: BaseException) -> bool:
    """Whether a failure to open a pool was the certificate naming other hosts than ``conn.server``."""
    return bool(conn.ssl) and is_tls_name_mismatch(f"{exc} {exc.__cause__ or ''}")


def _error_from_record(record: Any) -> PSError:
    exception = from_wire(getattr(record, "exception", None))
    message = getattr(record, "details_message", None) or ""
    exception_type = ""
    if isinstance(exception, PSObject):
        message = message or str(exception.get("Message") or "")
        exception_type = exception.type_names[0] if exception.type_names else ""
        if exception_type.startswith("Deserialized."):
            exception_type = exception_type[len("Deserialized.") :]
    if not message:
        message = str(getattr(record, "message", None) or record)
    category = getattr(record, "category", 0)
    category_name = _CATEGORIES[category] if isinstance(category, int) and 0 <= category < len(_CATEGORIES) else str(category)
    return PSError(
        message=message,
        error_id=str(getattr(record, "fq_error", "") or ""),
        category=category_name,
        reason=str(getattr(record, "reason", "") or ""),
        target=from_wire(getattr(record, "target_object", None)),
        exception_type=exception_type,
    )


class _Slot:
    """One runspace pool and its WSMan connection, used by one thread at a time."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.wsman: WSMan | None = None
        self.pool: RunspacePool | None = None
        self.keys_exchanged = False
        self.requests = 0
        self.last_used = 0.0  # time.monotonic() when its last pipeline finished
        self.last_response = 0  # bytes of the last WSMan response (how full the last Receive came back)


# Receive pacing: while a pipeline runs, its output is asked for when about RECEIVE_FILL of an envelope should be
# waiting at the rate the last Receive filled (at most RECEIVE_PACE_MAX seconds later), not the moment the last
# answer was read. The server goes on producing and buffering meanwhile, so a pipeline takes no longer (but for up
# to RECEIVE_PACE_MAX at its end), and its output comes in a few full envelopes instead of many part-filled ones:
# a crawl's requests are mostly Receives. (pypsrp asks for 500 KiB envelopes once the server speaks PSRP 2.2.)
RECEIVE_FILL = 0.75
RECEIVE_PACE_MAX = 1.0

# A pool idle longer than this is replaced rather than reused: the server may have dropped its shell
# (IdleTimeout), and pypsrp can hang on such a pool (jborean93/pypsrp#203).
IDLE_REUSE_SECONDS = 240.0


class PypsrpSession:
    """A ``PSSession`` to one endpoint over pypsrp (see the module docstring)."""

    def __init__(
        self,
        connection: Connection,
        *,
        max_pools: int | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        chunk_size: int | None = None,
    ) -> None:
        self._conn = connection
        self.max_pools = max(1, max_pools or connection.max_shells)
        self.retry = retry
        self.chunk_size = chunk_size or connection.chunk_size
        self._free: queue.LifoQueue[_Slot] = queue.LifoQueue()
        self._all_slots = [_Slot(i) for i in range(self.max_pools)]
        for slot in self._all_slots:
            self._free.put(slot)
        self._retired = 0
        self._warned_validation = False
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._requests = 0
        self._pools_opened = 0

    @property
    def name(self) -> str:
        return self._conn.profile_name

    @property
    def connection(self) -> Connection:
        return self._conn

    @property
    def request_count(self) -> int:
        return self._requests

    @property
    def pools_opened(self) -> int:
        """How many runspace pools this session has opened (a retry after a transport failure opens one more)."""
        return self._pools_opened

    def cancel(self) -> None:
        """Stop every pipeline of this session at its next Receive and refuse new ones (the user interrupted).

        Threads running pipelines get ``KeyboardInterrupt``; the pipelines are stopped on the server (WSMan Signal)
        and their pools closed, so no shell is left behind. The session cannot run anything afterwards.
        """
        self._cancelled.set()

    def _check_cancelled(self, stop: threading.Event | None = None) -> None:
        if self._cancelled.is_set() or (stop is not None and stop.is_set()):
            raise KeyboardInterrupt("interrupted")

    def _sleep(self, seconds: float) -> None:
        """The retry wait, cut short by ``cancel()``."""
        if self._cancelled.wait(seconds):
            raise KeyboardInterrupt("interrupted")

    # -- pools ---------------------------------------------------------------------------------------------
    def _open_slot(self, slot: _Slot) -> None:
        try:
            self._open_pool(slot)
        except AuthError as exc:
            if conn_ssl_mismatch(self._conn, exc):
                names = certificate_names(self._conn.server, self._conn.port)
                raise AuthError(name_mismatch_message(self._conn.server, names)) from exc
            raise
        self._connect_online(slot)

    def _open_pool(self, slot: _Slot) -> None:
        conn = self._conn
        if not conn.cert_validation and conn.ssl and not self._warned_validation:
            self._warned_validation = True
            log.warning("certificate validation is off for profile %s (cert_validation = false): anyone on the "
                        "path to %s can read and change this session, credentials included; point ca_bundle at "
                        "the CA that signed its certificate instead", conn.profile_name, conn.server)
        with translate_errors(), explain_kerberos_errors(conn):
            wsman = WSMan(
                conn.server,
                port=conn.port,
                path=conn.path.lstrip("/"),
                ssl=conn.ssl,
                auth=conn.auth,
                username=conn.username,
                password=conn.password.value if conn.password is not None else None,
                cert_validation=conn.cert_validation,
                encryption=conn.encryption,
                connection_timeout=conn.connection_timeout,
                operation_timeout=conn.operation_timeout,
                read_timeout=max(conn.read_timeout, conn.operation_timeout + 5),
                no_proxy=conn.kind == "lab",
                **wsman_kerberos_kwargs(conn),
            )
            send = wsman.transport.send

            def counted_send(message: bytes, **kwargs: Any) -> bytes:
                with self._lock:
                    self._requests += 1
                slot.requests += 1
                response = send(message, **kwargs)
                slot.last_response = len(response or b"")
                return response

            wsman.transport.send = counted_send  # type: ignore[method-assign]
            slot.wsman = wsman
            pool = RunspacePool(wsman, configuration_name=conn.configuration, min_runspaces=1, max_runspaces=1)
            serializer = _Serializer()
            pool._serializer = serializer  # read DateTimes and typed collections (see _Serializer)
            pool._fragmenter = Fragmenter(wsman.max_payload_size, serializer)
            log.debug("opening runspace pool %d on %s", slot.index, conn.url)
            pool.open()
            slot.pool = pool
            slot.keys_exchanged = False
        with self._lock:
            self._pools_opened += 1

    def _connect_online(self, slot: _Slot) -> None:
        conn = self._conn
        if conn.online is not None:
            connect = online_connect_command(conn.online)
            try:
                result = self._invoke(slot, Pipeline.of(connect), None)
            except CommandFailed as exc:
                raise AuthError(f"Connect-ExchangeOnline failed: {one_line(exc.message)}") from exc
            if result.errors:
                raise AuthError(f"Connect-ExchangeOnline failed: {one_line(result.errors[0].message)}")

    def _discard(self, slot: _Slot) -> None:
        pool, wsman = slot.pool, slot.wsman
        slot.pool, slot.wsman, slot.keys_exchanged = None, None, False
        # Best effort: ask the server to drop the shell (frees the user's shell quota); the pool may be dead.
        with suppress(Exception):
            if pool is not None:
                pool.close()
        with suppress(Exception):
            if wsman is not None:
                wsman.close()

    @contextmanager
    def _slot(self) -> Iterator[_Slot]:
        slot = self._free.get()
        retire = False
        try:
            if slot.pool is not None and time.monotonic() - slot.last_used > IDLE_REUSE_SECONDS:
                log.debug("runspace pool %d idle too long; opening a fresh one", slot.index)
                self._discard(slot)
            if slot.pool is None:
                try:
                    self._open_slot(slot)
                except ThrottledError as exc:
                    # The endpoint refused one more shell (other sessions of this user hold some): run with one
                    # pool fewer rather than keep knocking, as long as another pool of ours is open. A refusal that
                    # names a wait (a rate budget, not a count) only delays: the pool is tried again after it.
                    self._discard(slot)
                    retire = exc.retry_after is None and self._retire_if_others_open(slot)
                    raise
                except BaseException:
                    self._discard(slot)
                    raise
            yield slot
        except (TransportError, KeyboardInterrupt):
            # A failed pool is not reused; an interrupted one is closed now so the server drops its shell.
            self._discard(slot)
            raise
        finally:
            slot.last_used = time.monotonic()
            if not retire:
                self._free.put(slot)

    def _retire_if_others_open(self, slot: _Slot) -> bool:
        with self._lock:
            if not any(s.pool is not None for s in self._all_slots if s is not slot):
                return False
            self._retired += 1
        log.warning("the endpoint refused another shell; continuing with %d runspace pool(s)",
                    self.max_pools - self._retired)
        return True

    @property
    def pools_retired(self) -> int:
        """Pools given up because the endpoint refused more shells (the effective ceiling went down by this)."""
        return self._retired

    def auth_info(self) -> dict[str, str]:
        """What an open connection negotiated: scheme, mechanism (kerberos/ntlm), sealing; {} for Basic."""
        for slot in list(self._free.queue):
            session = getattr(getattr(slot.wsman, "transport", None), "session", None)
            if session is not None and getattr(session, "auth", None) is not None:
                return describe_mechanism(session.auth)
        return {}

    def open(self) -> None:
        """Open one runspace pool now (fails fast on a wrong endpoint or credentials)."""
        call_with_retries(lambda: self._touch(), self.retry, what="open")

    def _touch(self) -> None:
        with self._slot():
            pass

    # -- pipelines -----------------------------------------------------------------------------------------
    def _invoke(self, slot: _Slot, pipeline: Pipeline, input_items: Sequence[Any] | None,
                stop: threading.Event | None = None) -> PSResult:
        assert slot.pool is not None
        pool = slot.pool

        def exchange_keys() -> None:
            if not slot.keys_exchanged:
                pool.exchange_keys()
                slot.keys_exchanged = True

        before = slot.requests
        with translate_errors():
            ps = PowerShell(pool)
            for command in pipeline.commands:
                ps.add_cmdlet(command.cmdlet)
                for name, value in command.parameters:
                    if isinstance(value, Switch) and value.present:
                        ps.add_parameter(name)
                    else:
                        ps.add_parameter(name, to_wire(value, exchange_keys))
            wire_input = [_input_to_wire(i) for i in input_items] if input_items else None
            ps.begin_invoke(input=wire_input)
            asked = time.monotonic()
            while ps.state == PSInvocationState.RUNNING:  # what pypsrp's end_invoke does, with a way out
                if self._cancelled.is_set() or (stop is not None and stop.is_set()):
                    with suppress(Exception):  # best effort: the pool is closed right after anyway
                        ps.stop()
                    raise KeyboardInterrupt("interrupted")
                ps.poll_invoke()
                now = time.monotonic()
                if ps.state == PSInvocationState.RUNNING:
                    self._pace(slot, now - asked)
                asked = time.monotonic()
        records = list(ps.streams.error)
        failed = ps.state == PSInvocationState.FAILED
        terminating = _error_from_record(records.pop()) if failed and records else None
        result = PSResult(
            output=[from_wire(o) for o in ps.output],
            errors=[_error_from_record(r) for r in records],
            warnings=[str(getattr(w, "message", w)) for w in ps.streams.warning],
            requests=slot.requests - before,
        )
        if failed:
            names = " | ".join(c.cmdlet for c in pipeline.commands)
            message = terminating.message if terminating else "the pipeline failed"
            raise pipeline_failed(names, message, terminating.error_id if terminating else None)
        return result

    def _pace(self, slot: _Slot, interval: float) -> None:
        """Wait before the next Receive until about ``RECEIVE_FILL`` of an envelope should be waiting.

        ``interval``: the time from asking for the last answer to having read it, during which it filled.
        """
        assert slot.wsman is not None
        size, target = slot.last_response, RECEIVE_FILL * slot.wsman.max_envelope_size
        if size <= 0 or size >= target or interval <= 0:
            return
        delay = min(RECEIVE_PACE_MAX, interval * (target / size - 1))
        if delay > 0.01 and self._cancelled.wait(delay):  # Ctrl-C cuts the wait short
            raise KeyboardInterrupt("interrupted")

    def _run_once(self, pipeline: Pipeline, input_items: Sequence[Any] | None,
                  stop: threading.Event | None = None) -> PSResult:
        self._check_cancelled(stop)
        with self._slot() as slot:
            self._check_cancelled(stop)
            log.debug(
                "pipeline %s (%d input items) on pool %d",
                " | ".join(c.cmdlet for c in pipeline.commands), len(input_items or ()), slot.index,
            )
            return self._invoke(slot, pipeline, input_items, stop)

    def run(self, command: Command | Pipeline, input_items: Sequence[Any] | None = None) -> PSResult:
        """Run one pipeline, retrying transient faults on a fresh pool. ``CommandFailed`` if it terminates."""
        return self._run(command, input_items)

    def _run(self, command: Command | Pipeline, input_items: Sequence[Any] | None,
             stop: threading.Event | None = None) -> PSResult:
        pipeline = command if isinstance(command, Pipeline) else Pipeline.of(command)
        what = " | ".join(c.cmdlet for c in pipeline.commands)
        return call_with_retries(lambda: self._run_once(pipeline, input_items, stop), self.retry, what=what,
                                 sleep=self._sleep)

    def run_items(
        self,
        command: Command | Pipeline,
        items: Sequence[Any],
        *,
        chunk_size: int | None = None,
        key: Callable[[Any], Any] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> list[ItemOutcome]:
        """Stream ``items`` through one pipeline per chunk, up to ``max_pools`` chunks at once (see PSSession).

        A chunk whose pipeline fails as a whole (``CommandFailed``) yields failed outcomes for its items with
        that error; transport and authentication failures that survive the retries are raised. When anything
        ends the call early (such a failure, Ctrl-C), the chunks not started never run and the running ones stop
        at their next Receive.
        """
        items = list(items)
        size = max(1, chunk_size or self.chunk_size)
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        results: list[list[ItemOutcome]] = [[] for _ in chunks]
        stop = threading.Event()

        def work(chunk: list[Any]) -> list[ItemOutcome]:
            return chunk_outcomes(chunk, lambda: self._run(command, chunk, stop), key)

        if len(chunks) <= 1 or self.max_pools == 1:
            for n, chunk in enumerate(chunks):
                results[n] = work(chunk)
                if on_progress:
                    on_progress(len(chunk))
        else:
            with ThreadPoolExecutor(max_workers=min(self.max_pools, len(chunks)), thread_name_prefix="hk-pool") as ex:
                futures = {ex.submit(work, chunk): n for n, chunk in enumerate(chunks)}
                try:
                    for future in as_completed(futures):
                        n = futures[future]
                        results[n] = future.result()
                        if on_progress:
                            on_progress(len(chunks[n]))
                except BaseException:
                    stop.set()
                    for f in futures:
                        f.cancel()
                    raise
        return [outcome for outcomes in results for outcome in outcomes]

    def close(self) -> None:
        """Close every runspace pool (each one frees a shell on the server)."""
        drained: list[_Slot] = []
        while True:
            try:
                drained.append(self._free.get_nowait())
            except queue.Empty:
                break
        for slot in drained:
            self._discard(slot)
            self._free.put(slot)

    def __enter__(self) -> PypsrpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
