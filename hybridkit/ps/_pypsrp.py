"""``PypsrpSession``: the ``PSSession`` over pypsrp. The only module in hybridkit that imports pypsrp.

Design (see STYLE.md 5-7):

* a bounded set of runspace pools ("slots"), each opened lazily and driven by one thread at a time; the number
  stays under the endpoint's shell limit (``Connection.max_shells``, default 4 against Exchange's 18), and drops
  by one whenever the endpoint refuses another shell while one of ours is open (that part, with retries, chunking
  and cancel, is ``_pool.PooledSession``, shared with the out-of-process transport);
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
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from typing import Any

from pypsrp.complex_objects import GenericComplexObject, PSInvocationState
from pypsrp.powershell import Fragmenter, PowerShell, RunspacePool
from pypsrp.serializer import Serializer, TaggedValue
from pypsrp.wsman import WSMan

from hybridkit.errors import AuthError
from hybridkit.ps._command import Pipeline, Secret, Switch
from hybridkit.ps._connection import Connection
from hybridkit.ps._pool import PooledSession, PooledSlot
from hybridkit.ps._fastread import Plain, read_fast
from hybridkit.ps._errors import is_tls_name_mismatch, pipeline_failed, translate_errors
from hybridkit.ps._kerberos import describe_mechanism, wsman_kerberos_kwargs
from hybridkit.ps._kerberos_errors import explain_kerberos_errors
from hybridkit.ps._result import PSError, PSObject, PSResult
from hybridkit.ps._retry import DEFAULT_RETRY, RetryPolicy
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


_DYNAMIC: dict[tuple[str, ...], bool] = {}


def _is_dynamic(types: list[str]) -> bool:
    """Whether pypsrp reads an ``<Obj>`` with these type names as a ``GenericComplexObject`` (for ``_fastread``).

    Asked of pypsrp itself (an empty object with the same TN), so its table of known types is not repeated here.
    """
    key = tuple(types)
    known = _DYNAMIC.get(key)
    if known is None:
        probe = ET.Element("Obj", RefId="0")
        if types:
            tn = ET.SubElement(probe, "TN", RefId="0")
            for name in types:
                ET.SubElement(tn, "T").text = name
        try:
            known = type(Serializer().deserialize(probe)) is GenericComplexObject
        except Exception:
            known = False
        if len(_DYNAMIC) > 1000:
            _DYNAMIC.clear()
        _DYNAMIC[key] = known
    return known


class _Serializer(Serializer):
    """pypsrp's serializer, reading DateTimes as datetimes and Exchange's typed collections as lists/dicts.

    A whole message given as text with no metadata (pypsrp's ``Message.unpack`` for PIPELINE_OUTPUT) is first
    offered to ``_fastread.read_fast``, which gives the value ``from_wire`` would give, wrapped in ``Plain``, for
    the common shapes, and leaves the rest to this path (``fast = False``: always this path).
    """

    fast = True

    def deserialize(self, element: Any, metadata: Any = None, clear: bool = True) -> Any:
        if isinstance(element, str) and metadata is None:
            try:
                element = ET.fromstring(element)
            except ET.ParseError:
                return super().deserialize(element, metadata, clear)
            if clear and self.fast:
                plain = read_fast(element, unescape=self._deserialize_string, datetime=parse_datetime,
                                  dynamic=_is_dynamic)
                if plain is not None:
                    return plain
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
    if isinstance(value, Plain):  # read by _fastread: already plain
        return value.value
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


class _Slot(PooledSlot):
    """One runspace pool and its WSMan connection, used by one thread at a time."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.wsman: WSMan | None = None
        self.pool: RunspacePool | None = None
        self.keys_exchanged = False
        self.last_response = 0  # bytes of the last WSMan response (how full the last Receive came back)


# Receive pacing: while a pipeline runs, its output is asked for when about RECEIVE_FILL of an envelope should be
# waiting at the rate the last Receive filled (at most RECEIVE_PACE_MAX seconds later), not the moment the last
# answer was read. The server goes on producing and buffering meanwhile, so a pipeline takes no longer (but for up
# to RECEIVE_PACE_MAX at its end), and its output comes in a few full envelopes instead of many part-filled ones:
# a crawl's requests are mostly Receives. (pypsrp asks for 500 KiB envelopes once the server speaks PSRP 2.2.)
# 0.95: once output is read quickly (ps/_fastread), answers come back as full as the target asks; at 0.75 the
# 10,000-mailbox crawl took 0.0426 requests per mailbox (bench/inventory.py's target is 0.04), at 0.95 0.0378.
RECEIVE_FILL = 0.95
RECEIVE_PACE_MAX = 1.0

def receive_delay(size: int, target: float, interval: float, window: float) -> float:
    """Seconds to wait before the next Receive so that about ``target`` bytes are waiting when it is asked.

    The last answer (``size`` bytes) filled over ``window`` seconds: from the answer before it to this one, the wait
    before asking included (taking only the ``interval`` of the last request overstated the rate after every wait,
    so a faster reader asked sooner and got emptier envelopes). ``interval`` of that time has passed since it was
    sent. Nothing to wait for when the last answer was already full enough.
    """
    if size <= 0 or size >= target or window <= 0:
        return 0.0
    return max(0.0, min(RECEIVE_PACE_MAX, window * target / size - interval))


# A pool idle longer than this is replaced rather than reused: the server may have dropped its shell
# (IdleTimeout), and pypsrp can hang on such a pool (jborean93/pypsrp#203).
IDLE_REUSE_SECONDS = 240.0


class PypsrpSession(PooledSession):
    """A ``PSSession`` to one endpoint over pypsrp (see the module docstring)."""

    def __init__(self, connection: Connection, *, max_pools: int | None = None, retry: RetryPolicy = DEFAULT_RETRY,
                 chunk_size: int | None = None) -> None:
        super().__init__(connection, max_pools=max_pools, retry=retry, chunk_size=chunk_size)
        self._warned_validation = False

    def _new_slot(self, index: int) -> _Slot:
        return _Slot(index)

    def _idle_reuse_seconds(self) -> float:
        return IDLE_REUSE_SECONDS

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

    def auth_info(self) -> dict[str, str]:
        """What an open connection negotiated: scheme, mechanism (kerberos/ntlm), sealing; {} for Basic."""
        for slot in list(self._free.queue):
            session = getattr(getattr(slot.wsman, "transport", None), "session", None)
            if session is not None and getattr(session, "auth", None) is not None:
                return describe_mechanism(session.auth)
        return {}

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
            asked = answered = time.monotonic()
            while ps.state == PSInvocationState.RUNNING:  # what pypsrp's end_invoke does, with a way out
                if self._cancelled.is_set() or (stop is not None and stop.is_set()):
                    with suppress(Exception):  # best effort: the pool is closed right after anyway
                        ps.stop()
                    raise KeyboardInterrupt("interrupted")
                ps.poll_invoke()
                now = time.monotonic()
                if ps.state == PSInvocationState.RUNNING:
                    self._pace(slot, now - asked, now - answered)
                asked, answered = time.monotonic(), now
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

    def _pace(self, slot: _Slot, interval: float, window: float) -> None:
        """Wait before the next Receive until about ``RECEIVE_FILL`` of an envelope should be waiting.

        ``interval``: the time from asking for the last answer to having read it; ``window``: the time since the
        answer before it was read, over which the last answer filled (the wait before asking included).
        """
        assert slot.wsman is not None
        delay = receive_delay(slot.last_response, RECEIVE_FILL * slot.wsman.max_envelope_size, interval, window)
        if delay > 0.01 and self._cancelled.wait(delay):  # Ctrl-C cuts the wait short
            raise KeyboardInterrupt("interrupted")

