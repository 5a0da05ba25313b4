"""The lab's Exchange Online side over PowerShell's out-of-process transport (what ``pwsh -s`` speaks).

Interface (issue #17). ``hybridkit lab serve`` keeps "the cloud": one organisation shared by every client, as real
Exchange Online is shared by every pwsh process. Beside its WSMan endpoints it listens on a Unix domain socket (in
a private 0700 temporary directory) speaking the out-of-process framing (``hybridkit.ps._oopframing``), served by
the same engine, organisation, audit log and state as the ``/wsman`` endpoint's online side: a full-language
runspace where ``Connect-ExchangeOnline`` must run first, as in a local pwsh with ExchangeOnlineManagement. It also
writes a password-protected PFX certificate of the lab's app beside the ready file; the ready file gains
``"pwsh": {"socket": PATH, "certificate_file": PATH, "certificate_password": TEXT}``, and Connect-ExchangeOnline
accepts ``-CertificateFilePath``/``-CertificatePassword`` for that file (its thumbprint, the SHA-1 of the
certificate as Windows computes it, is registered on the app; the thumbprint path keeps working).
``hybridkit lab pwsh --ready-file R`` is the process a profile runs: it pipes its stdin/stdout to that socket, so
killing it drops that client's runspace pool and pipelines, like killing pwsh. ``hybridkit lab pwsh --org
demo|synthetic:N [--state F]`` (no ready file) serves a standalone organisation on its own stdin/stdout with the
same code (``OutOfProcConnection``). Tests and profiles run ``[python, "-m", "hybridkit", "lab", "pwsh",
"--ready-file", R]``.

Protocol, as PowerShell's server side (``OutOfProcessMediatorBase`` / ``OutOfProcessServerSessionTransportManager``
in src/System.Management.Automation/engine/remoting/fanin/OutOfProcTransportManager.cs and
server/OutOfProcServerMediator.cs, PowerShell/PowerShell): one process hosts one runspace pool, whose packets carry
the empty GUID; every ``Data`` is answered ``DataAck``, ``Command`` (a new pipeline) ``CommandAck``, ``Signal``
(stop) ``SignalAck``, ``Close`` ``CloseAck``; outgoing PSRP fragments go out as ``Data`` packets as soon as
psrpcore produces them (no Receive polling); end of input closes the pool.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Callable

from psrpcore._payload import PSRPPayload, StreamType

from hybridkit.lab._types import EndpointKind, Engine, LabSession
from hybridkit.lab.transport._psrp import PipelineReport, ShellDriver
from hybridkit.ps._oopframing import NIL_GUID, FramingError, Packet, PacketReader, encode

__all__ = ["OutOfProcConnection"]

log = logging.getLogger(__name__)

_FRAGMENT = 32 * 1024  # PSRP fragment size on this transport (pwsh uses the same 32 KiB default)


class OutOfProcConnection:
    """One client process: a runspace pool on ``engine`` driven over a pair of byte streams.

    Args:
        read: Returns the next bytes from the client (b"" at end of stream).
        write: Writes bytes to the client (whole lines; serialised by this class).
        engine: The Exchange emulation.
        user: Whom the audit log names.
        on_pipeline: Called with each finished pipeline's report (audit).
        latency_ms: Delay before answering each packet (``lab serve --latency-ms``: the round trip of an SSH link).
    """

    def __init__(self, read: Callable[[], bytes], write: Callable[[bytes], None], engine: Engine, *,
                 user: str = "pwsh", on_pipeline: Callable[[PipelineReport], None] | None = None,
                 latency_ms: float = 0.0) -> None:
        self._read = read
        self._write = write
        self._engine = engine
        self._write_lock = threading.Lock()
        self._closed = False
        self._latency = max(0.0, latency_ms) / 1000.0
        shell_id = str(uuid.uuid4()).upper()
        self.session = LabSession(endpoint=EndpointKind.ONLINE, user=user, shell_id=shell_id)
        self.driver = ShellDriver(shell_id, self.session, engine, on_pipeline, push=self._push)
        self.driver.set_max_envelope(_FRAGMENT * 4 // 3 + 2048)

    def _send(self, packet: Packet) -> None:
        line = encode(packet)
        with self._write_lock:
            if self._closed:
                return
            try:
                self._write(line)
            except (OSError, ValueError):  # the client went away; the read side ends the connection
                self._closed = True

    def _push(self, payload: PSRPPayload) -> None:
        stream = "PromptResponse" if payload.stream_type == StreamType.prompt_response else "Default"
        self._send(Packet("Data", payload.pipeline_id or NIL_GUID, payload.data, stream))

    def serve(self) -> None:
        """Serve until the client closes the pool or its stream ends; then stop everything it still runs."""
        self._engine.open_session(self.session)
        reader = PacketReader()
        try:
            while True:
                chunk = self._read()
                if not chunk:
                    break
                try:
                    packets = reader.feed(chunk)
                except FramingError as exc:
                    log.warning("out-of-process client sent a bad packet: %s", exc)
                    break
                if not all(self._handle(p) for p in packets):
                    break
        finally:
            self.driver.close()
            self._engine.close_session(self.session)
            with self._write_lock:
                self._closed = True

    def _handle(self, packet: Packet) -> bool:
        """Act on one packet; False once the pool is closed."""
        if self._latency and packet.kind in ("Data", "Command", "Signal", "Close"):
            time.sleep(self._latency)
        guid = packet.guid
        pipeline = None if guid == NIL_GUID else str(guid).upper()
        if packet.kind == "Data":
            stream = "pr" if packet.stream == "PromptResponse" else "stdin"
            self.driver.receive_fragments(packet.data, pipeline, stream)
            self._send(Packet("DataAck", guid))
        elif packet.kind == "Command":
            self._send(Packet("CommandAck", guid))
        elif packet.kind == "Signal":
            if pipeline is not None:
                self.driver.stop(pipeline)
            self._send(Packet("SignalAck", guid))
        elif packet.kind == "Close":
            if pipeline is not None:
                self.driver.terminate(pipeline)
                self._send(Packet("CloseAck", guid))
                return True
            self.driver.close()
            self._send(Packet("CloseAck", guid))
            return False
        # DataAck/CommandAck/SignalAck/CloseAck from a client are not expected of it; PowerShell ignores them too.
        return True
