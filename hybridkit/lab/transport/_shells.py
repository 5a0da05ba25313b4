"""WSMan shell service: dispatch parsed WSMan requests to per-shell PSRP drivers. No sockets.

``WSManService.handle`` takes an authenticated request body for an endpoint and returns ``(status, body)``;
faults come back as SOAP fault envelopes with HTTP 500 like WinRM sends them; status 0 means "drop the connection
without an answer". Shell ownership is per user: another user cannot drive someone else's shell, and
``max_shells`` limits open shells per user: over it, on-prem Exchange 2013+ refuses with its runspace budget
(MaxConcurrency), Exchange 2010 and the jump host's WinRM with WinRM's shell quota fault. Faults the HTTP layer
injects on Create (quota, throttle) and the lost reply of a completed pipeline are acted on here.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
from typing import Callable

from hybridkit.lab.transport._audit import AuditLog
from hybridkit.lab.transport._faults import (
    FaultKind,
    FaultPlan,
    exchange_concurrency_fault,
    exo_budget_message,
    quota_fault,
)
from hybridkit.lab.transport._psrp import PipelineReport, ShellDriver
from hybridkit.lab._types import EXO_BUDGET_REFUSAL, EndpointKind, Engine, LabSession, LabTerminatingError
from hybridkit.lab.transport._wsman import (
    NS,
    Action,
    WSManFault,
    WSManRequest,
    command_response,
    create_response,
    empty_response,
    envelope_overhead,
    fault_envelope,
    parse_duration,
    parse_request,
    receive_response,
)

__all__ = ["ENDPOINTS", "WSManService", "pipeline_reporter"]

log = logging.getLogger(__name__)

_PS_URI = "http://schemas.microsoft.com/powershell/"
ENDPOINTS: dict[EndpointKind, tuple[str, str]] = {
    EndpointKind.ONPREM: ("/PowerShell", "Microsoft.Exchange"),
    EndpointKind.ONLINE: ("/wsman", "Microsoft.PowerShell"),
}
_SIGNAL_TERMINATE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/Terminate"


def _short(action: str) -> str:
    return action.rsplit("/", 1)[-1] if action else "?"


class WSManService:
    """All shells of a lab server, and the WSMan operations on them.

    Args:
        engine: The Exchange emulation.
        audit: Where requests and pipelines are recorded.
        max_shells: Open shells allowed per user (WinRM's MaxShellsPerUser); None = unlimited.
        address: The base URL used in Create's EPR.
        create_fault: Optional hook called on Create with the user; returns a fault to refuse it (throttling).
        faults: The fault plan (for the lost reply of a completed pipeline and Exchange Online's wait).
    """

    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        max_shells: int | None = None,
        address: str = "http://localhost",
        create_fault: Callable[[str], WSManFault | None] | None = None,
        faults: FaultPlan | None = None,
    ) -> None:
        self.engine = engine
        self.audit = audit
        self.max_shells = max_shells
        self.address = address
        self._create_fault = create_fault
        self.faults = faults
        self._shells: dict[str, ShellDriver] = {}
        self._lock = threading.Lock()

    # -- entry point -------------------------------------------------------------------------------------------

    def handle(self, endpoint: EndpointKind, user: str, body: bytes, client_ip: str,
               injected: FaultKind | None = None) -> tuple[int, bytes]:
        """Serve one WSMan request; returns the HTTP status and the response envelope (0: drop the connection).

        ``injected`` is a fault the HTTP layer drew for this request that the shell service acts on (quota,
        throttle: Create only).
        """
        request: WSManRequest | None = None
        command_id: str | None = None
        try:
            request = parse_request(body)
            command_id = self._command_id(request)
            response = self._dispatch(endpoint, user, request, client_ip, injected)
            self._audit(endpoint, user, request, 200, None, command_id)
            return 200, response
        except _LostReply:
            assert request is not None
            self._audit(endpoint, user, request, 0, f"injected:{FaultKind.LOST_REPLY.value}", command_id)
            return 0, b""
        except WSManFault as fault:
            if request is not None:
                self._audit(endpoint, user, request, fault.http_status, fault.subcode, command_id)
            return fault.http_status, fault_envelope(fault, request.message_id if request else "")
        except Exception as exc:  # noqa: BLE001 - a bad PSRP message must fault the request, not the connection
            log.exception("cannot process %s", request.action if request else "request")
            fault = WSManFault.internal(f"{type(exc).__name__}: {exc}")
            if request is not None:
                self._audit(endpoint, user, request, fault.http_status, fault.subcode, command_id)
            return fault.http_status, fault_envelope(fault, request.message_id if request else "")

    def _audit(self, endpoint: EndpointKind, user: str, request: WSManRequest, status: int, fault: str | None,
               command_id: str | None) -> None:
        shell_id = request.shell_id
        if shell_id is None and request.action == Action.CREATE:
            shell_el = request.find("rsp:Shell")
            shell_id = shell_el.get("ShellId") if shell_el is not None else None
        self.audit.request(endpoint=endpoint.value, user=user, action=_short(request.action),
                           shell_id=shell_id.upper() if shell_id else None, status=status, fault=fault,
                           command_id=command_id.upper() if command_id else None)

    @staticmethod
    def _command_id(request: WSManRequest) -> str | None:
        for path in ("rsp:CommandLine", "rsp:Send/rsp:Stream", "rsp:Receive/rsp:DesiredStream", "rsp:Signal"):
            element = request.find(path)
            if element is not None:
                return element.get("CommandId")
        return None

    def _dispatch(self, endpoint: EndpointKind, user: str, request: WSManRequest, client_ip: str,
                  injected: FaultKind | None = None) -> bytes:
        expected = _PS_URI + ENDPOINTS[endpoint][1]
        if request.action == Action.CREATE:
            if request.resource_uri.lower() != expected.lower():
                raise WSManFault.resource_not_found(request.resource_uri)
            return self._create(endpoint, user, request, client_ip, injected)
        shell = self._shell(user, request)
        shell.touch()
        shell.set_max_envelope(request.max_envelope_size)
        if request.action == Action.COMMAND:
            return self._command(shell, request)
        if request.action == Action.SEND:
            return self._send(shell, request)
        if request.action == Action.RECEIVE:
            return self._receive(shell, request)
        if request.action == Action.SIGNAL:
            return self._signal(shell, request)
        if request.action == Action.DELETE:
            self._delete(shell)
            return empty_response(request)
        raise WSManFault.action_not_supported(request.action)

    # -- operations --------------------------------------------------------------------------------------------

    def _version(self) -> str:
        return str(getattr(getattr(self.engine, "org", None), "version", None) or "2019")

    def _over_limit(self, endpoint: EndpointKind, limit: int) -> WSManFault:
        """The refusal of one shell too many: Exchange 2013+'s budget on-prem, WinRM's quota elsewhere."""
        if endpoint is EndpointKind.ONPREM and self._version() != "2010":
            return exchange_concurrency_fault(limit)
        return quota_fault(limit)

    def _create(self, endpoint: EndpointKind, user: str, request: WSManRequest, client_ip: str,
                injected: FaultKind | None = None) -> bytes:
        shell_el = request.find("rsp:Shell")
        creation = request.find("rsp:Shell/pwsh:creationXml")
        if shell_el is None or creation is None or not creation.text:
            raise WSManFault.invalid("The Create request has no rsp:Shell/creationXml.")
        shell_id = (shell_el.get("ShellId") or "").upper()
        if not shell_id:
            raise WSManFault.invalid("The Create request has no ShellId.")
        self._reap_idle()
        if injected is FaultKind.QUOTA:  # as if other shells of this user were open
            raise quota_fault(self.max_shells or 5)
        if injected is FaultKind.THROTTLE and endpoint is EndpointKind.ONPREM:
            raise self._over_limit(endpoint, self.max_shells or 18)
        with self._lock:
            if self.max_shells is not None:
                open_count = sum(1 for s in self._shells.values() if s.session.user.lower() == user.lower())
                if open_count >= self.max_shells:
                    raise self._over_limit(endpoint, self.max_shells)
            if self._create_fault is not None:
                fault = self._create_fault(user)
                if fault is not None:
                    raise fault
            session = LabSession(endpoint=endpoint, user=user, shell_id=shell_id)
            if injected is FaultKind.THROTTLE:  # the jump host opens; its Connect-ExchangeOnline meets the budget
                wait = self.faults.throttle_wait if self.faults is not None else 2
                session.data[EXO_BUDGET_REFUSAL] = exo_budget_message(wait)
            driver = ShellDriver(shell_id, session, self.engine, self._pipeline_reporter(endpoint, user))
            idle = request.find("rsp:Shell/rsp:IdleTimeOut")
            driver.idle_timeout = parse_duration(idle.text if idle is not None else None, 7200.0)
            self._shells[shell_id] = driver
        try:
            self.engine.open_session(session)
        except LabTerminatingError as exc:  # the engine refuses this runspace (e.g. a broken account)
            with self._lock:
                self._shells.pop(shell_id, None)
            raise WSManFault.internal(exc.error.message) from None
        driver.set_max_envelope(request.max_envelope_size)
        driver.receive_fragments(_b64(creation.text))
        path = ENDPOINTS[endpoint][0]
        return create_response(request, shell_id, f"{self.address}{path}", user, client_ip, driver.idle_timeout)

    def _command(self, shell: ShellDriver, request: WSManRequest) -> bytes:
        line = request.find("rsp:CommandLine")
        if line is None:
            raise WSManFault.invalid("The Command request has no rsp:CommandLine.")
        command_id = (line.get("CommandId") or "").upper()
        if not command_id:
            raise WSManFault.invalid("The Command request has no CommandId.")
        args = line.find("rsp:Arguments", NS)
        shell.receive_fragments(_b64(args.text if args is not None else ""), command_id)
        return command_response(request, command_id)

    def _send(self, shell: ShellDriver, request: WSManRequest) -> bytes:
        for stream in request.body.findall("rsp:Send/rsp:Stream", NS):
            command_id = stream.get("CommandId")
            shell.receive_fragments(_b64(stream.text or ""), command_id.upper() if command_id else None,
                                    stream.get("Name", "stdin"))
        return empty_response(request)

    def _receive(self, shell: ShellDriver, request: WSManRequest) -> bytes:
        desired = request.find("rsp:Receive/rsp:DesiredStream")
        command_id = desired.get("CommandId") if desired is not None else None
        max_bytes = max(1024, (request.max_envelope_size - envelope_overhead()) * 3 // 4)
        result = shell.receive(command_id, max_bytes, request.operation_timeout)
        if result is None:
            raise WSManFault.timed_out()
        chunks, done = result
        if done and command_id and self.faults is not None and self.faults.lose_reply():
            raise _LostReply()  # the pipeline ran to its end; its output and completion never reach the client
        return receive_response(request, command_id.upper() if command_id else None, chunks, done)

    def _signal(self, shell: ShellDriver, request: WSManRequest) -> bytes:
        signal = request.find("rsp:Signal")
        code_el = request.find("rsp:Signal/rsp:Code")
        command_id = (signal.get("CommandId") or "") if signal is not None else ""
        code = (code_el.text or "").strip() if code_el is not None else ""
        if code == _SIGNAL_TERMINATE:
            if not shell.terminate(command_id):
                raise WSManFault.invalid(f"The command {command_id} was not found in shell {shell.shell_id}.")
        else:  # powershell/signal/ctrl_c and the WinRS ctrl_c/ctrl_break codes stop the pipeline
            shell.stop(command_id)
        return empty_response(request)

    def _delete(self, shell: ShellDriver) -> None:
        with self._lock:
            self._shells.pop(shell.shell_id, None)
        shell.close()
        self.engine.close_session(shell.session)

    # -- helpers -----------------------------------------------------------------------------------------------

    def _shell(self, user: str, request: WSManRequest) -> ShellDriver:
        shell_id = (request.shell_id or "").upper()
        with self._lock:
            shell = self._shells.get(shell_id)
        if shell is None or shell.session.user.lower() != user.lower():
            raise WSManFault.shell_not_found(request.shell_id or "")
        return shell

    def _pipeline_reporter(self, endpoint: EndpointKind, user: str) -> Callable[[PipelineReport], None]:
        return pipeline_reporter(self.audit, endpoint, user)

    def _reap_idle(self) -> None:
        """Close shells whose client went away without Delete (idle past their IdleTimeOut)."""
        now = time.monotonic()
        with self._lock:
            expired = [s for s in self._shells.values() if s.expired(now)]
            for shell in expired:
                self._shells.pop(shell.shell_id, None)
        for shell in expired:
            shell.close()
            self.engine.close_session(shell.session)

    def open_shell_count(self, user: str | None = None) -> int:
        """How many shells are open (for one user, or in total)."""
        with self._lock:
            return sum(1 for s in self._shells.values() if user is None or s.session.user.lower() == user.lower())

    def close_all(self) -> None:
        """Close every shell (server shutdown)."""
        with self._lock:
            shells = list(self._shells.values())
            self._shells.clear()
        for shell in shells:
            shell.close()
            try:
                self.engine.close_session(shell.session)
            except Exception:  # noqa: BLE001 - shutting down; the engine's own errors must not block it
                pass


class _LostReply(Exception):
    """The answer to this Receive is lost: the connection drops without a response."""


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip())
    except (binascii.Error, ValueError):
        raise WSManFault.invalid("The stream data is not valid base64.") from None


def pipeline_reporter(audit: AuditLog, endpoint: EndpointKind, user: str) -> Callable[[PipelineReport], None]:
    """What records a finished pipeline in ``audit`` (for WSMan shells and out-of-process pools alike)."""

    def report(r: PipelineReport) -> None:
        audit.pipeline(endpoint=endpoint.value, user=user, shell_id=r.shell_id, command_id=r.command_id,
                       commands=r.commands, input_count=r.input_count, outcome=r.outcome,
                       output_count=r.output_count, error_count=r.error_count,
                       warning_count=r.warning_count, seconds=r.seconds, error=r.error, inputs=r.inputs)

    return report
