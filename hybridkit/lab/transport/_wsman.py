"""WSMan (MS-WSMV) envelopes for the lab: parse requests, build responses and SOAP faults. No I/O.

Only the subset of WS-Management that the PowerShell remoting shell uses is implemented: ``Create`` (open a
runspace pool), ``Command`` (create a pipeline), ``Send``, ``Receive``, ``Signal`` and ``Delete``.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import uuid
import xml.etree.ElementTree as ET
from typing import Iterable

__all__ = [
    "NS",
    "Action",
    "CommandState",
    "WSManFault",
    "WSManRequest",
    "build_response",
    "command_response",
    "create_response",
    "empty_response",
    "envelope_overhead",
    "fault_envelope",
    "parse_duration",
    "parse_request",
    "receive_response",
]

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "wsmv": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "wsmanfault": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "wst": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "pwsh": "http://schemas.microsoft.com/powershell",
    "xml": "http://www.w3.org/XML/1998/namespace",
}
for _prefix, _uri in NS.items():
    if _prefix != "xml":
        ET.register_namespace(_prefix, _uri)

_TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
_SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
_ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"


class Action:
    """The wsa:Action URIs the lab understands (request URI; the response URI is request + ``Response``)."""

    CREATE = f"{_TRANSFER}/Create"
    DELETE = f"{_TRANSFER}/Delete"
    GET = f"{_TRANSFER}/Get"
    COMMAND = f"{_SHELL}/Command"
    SEND = f"{_SHELL}/Send"
    RECEIVE = f"{_SHELL}/Receive"
    SIGNAL = f"{_SHELL}/Signal"


class CommandState:
    """rsp:CommandState values."""

    DONE = f"{_SHELL}/CommandState/Done"
    RUNNING = f"{_SHELL}/CommandState/Running"


@dataclasses.dataclass(frozen=True)
class WSManFault(Exception):
    """A SOAP fault the server answers with (HTTP 500 unless ``http_status`` says otherwise).

    ``code`` is the Windows error number (``WSManFault@Code``) pypsrp exposes as ``WSManFaultError.code``;
    ``subcode`` the ``s:Subcode`` value (``w:TimedOut``, ``w:QuotaLimit``, ...); ``reason`` the ``s:Reason`` text and
    ``message`` the ``WSManFault/Message`` text when WinRM words them differently (pypsrp reports the Message).
    """

    code: int
    subcode: str
    reason: str
    soap_code: str = "s:Receiver"
    http_status: int = 500
    message: str | None = None

    def __str__(self) -> str:
        return f"WSManFault {self.code} ({self.subcode}): {self.message or self.reason}"

    @classmethod
    def timed_out(cls) -> "WSManFault":
        """The Receive long-poll found nothing within OperationTimeout; the client polls again."""
        return cls(
            2150858793,
            "w:TimedOut",
            "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
        )

    @classmethod
    def shell_not_found(cls, shell_id: str) -> "WSManFault":
        """The ShellId selector names no open shell (closed, dropped, or never created)."""
        return cls(
            2150858843,
            "w:InvalidSelectors",
            f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not found "
            "on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on "
            "the server. Provide the correct ShellId or create a new shell and retry the operation.",
            soap_code="s:Sender",
        )

    @classmethod
    def resource_not_found(cls, resource_uri: str) -> "WSManFault":
        """No endpoint serves this ResourceURI at this path."""
        return cls(
            2150858811,  # ERROR_WSMAN_INVALID_RESOURCE_URI, as WinRM answers an unknown configuration (pypsrp #41)
            "w:DestinationUnreachable",
            f"The WS-Management service cannot process the request. The resource URI ({resource_uri}) was not found "
            "in the WS-Management catalog. The catalog contains the metadata that describes resources, or logical "
            "endpoints.",
            soap_code="s:Sender",
        )

    @classmethod
    def action_not_supported(cls, action: str) -> "WSManFault":
        """An action the lab does not implement (Enumerate, Reconnect, ...)."""
        return cls(
            2150858891,
            "wsa:ActionNotSupported",
            f"The WS-Management service does not support the specified action: {action}",
            soap_code="s:Sender",
        )

    @classmethod
    def internal(cls, detail: str) -> "WSManFault":
        """The plugin failed processing the request (a PSRP message it cannot deserialize, ...)."""
        return cls(2152992672, "w:InternalError", f"The WS-Management service cannot process the request. {detail}")

    @classmethod
    def invalid(cls, detail: str) -> "WSManFault":
        """A malformed request."""
        return cls(2150858817, "wsman:InvalidParameter", f"The WS-Management service cannot process the request. {detail}",
                   soap_code="s:Sender")


@dataclasses.dataclass
class WSManRequest:
    """The parts of a WSMan request envelope the lab acts on."""

    action: str
    message_id: str
    resource_uri: str
    max_envelope_size: int
    operation_timeout: float
    shell_id: str | None
    options: dict[str, str]
    body: ET.Element

    def find(self, path: str) -> ET.Element | None:
        """An element of the SOAP body by rsp:/pwsh: path."""
        return self.body.find(path, NS)


_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")


def parse_duration(text: str | None, default: float) -> float:
    """An xs:duration like ``PT20S``/``PT7200.000S`` in seconds (``default`` when absent or malformed)."""
    match = _DURATION.match((text or "").strip())
    if not match:
        return default
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def parse_request(data: bytes) -> WSManRequest:
    """Parse a WSMan request envelope; raises ``WSManFault`` when it is not one."""
    try:
        envelope = ET.fromstring(data)
    except ET.ParseError as exc:
        raise WSManFault.invalid(f"The request is not well-formed XML: {exc}") from None
    header = envelope.find("s:Header", NS)
    body = envelope.find("s:Body", NS)
    if header is None or body is None:
        raise WSManFault.invalid("The SOAP envelope has no Header or Body.")

    def text(path: str) -> str:
        element = header.find(path, NS)
        return (element.text or "").strip() if element is not None else ""

    options = {o.get("Name", ""): (o.text or "") for o in header.findall("wsman:OptionSet/wsman:Option", NS)}
    selectors = {s.get("Name", ""): (s.text or "") for s in header.findall("wsman:SelectorSet/wsman:Selector", NS)}
    try:
        max_envelope = int(text("wsman:MaxEnvelopeSize") or 153600)
    except ValueError:
        raise WSManFault.invalid("MaxEnvelopeSize is not a number.") from None
    return WSManRequest(
        action=text("wsa:Action"),
        message_id=text("wsa:MessageID"),
        resource_uri=text("wsman:ResourceURI"),
        max_envelope_size=max_envelope,
        operation_timeout=parse_duration(text("wsman:OperationTimeout"), 60.0),
        shell_id=selectors.get("ShellId"),
        options=options,
        body=body,
    )


def _envelope(action: str, relates_to: str, body_children: Iterable[ET.Element]) -> bytes:
    s, wsa = NS["s"], NS["wsa"]
    envelope = ET.Element(f"{{{s}}}Envelope")
    header = ET.SubElement(envelope, f"{{{s}}}Header")
    ET.SubElement(header, f"{{{wsa}}}Action").text = action
    ET.SubElement(header, f"{{{wsa}}}MessageID").text = f"uuid:{str(uuid.uuid4()).upper()}"
    ET.SubElement(header, f"{{{wsa}}}RelatesTo").text = relates_to
    ET.SubElement(header, f"{{{wsa}}}To").text = _ANONYMOUS
    body = ET.SubElement(envelope, f"{{{s}}}Body")
    for child in body_children:
        body.append(child)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=False)


def build_response(request: WSManRequest, *body_children: ET.Element) -> bytes:
    """A success envelope answering ``request`` (Action = request action + ``Response``)."""
    return _envelope(f"{request.action}Response", request.message_id, body_children)


def empty_response(request: WSManRequest) -> bytes:
    """The response for Delete (empty body), Send and Signal (an empty rsp: element)."""
    if request.action == Action.SEND:
        return build_response(request, ET.Element(f"{{{NS['rsp']}}}SendResponse"))
    if request.action == Action.SIGNAL:
        return build_response(request, ET.Element(f"{{{NS['rsp']}}}SignalResponse"))
    return build_response(request)


def create_response(request: WSManRequest, shell_id: str, address: str, owner: str, client_ip: str,
                    idle_timeout: float = 7200.0) -> bytes:
    """The Create response: the ResourceCreated EPR with the ShellId selector plus the rsp:Shell description."""
    wst, wsa, wsman, rsp = NS["wst"], NS["wsa"], NS["wsman"], NS["rsp"]
    created = ET.Element(f"{{{wst}}}ResourceCreated")
    ET.SubElement(created, f"{{{wsa}}}Address").text = address
    params = ET.SubElement(created, f"{{{wsa}}}ReferenceParameters")
    ET.SubElement(params, f"{{{wsman}}}ResourceURI").text = request.resource_uri
    selectors = ET.SubElement(params, f"{{{wsman}}}SelectorSet")
    ET.SubElement(selectors, f"{{{wsman}}}Selector", Name="ShellId").text = shell_id
    shell = ET.Element(f"{{{rsp}}}Shell")
    for name, value in (
        ("ShellId", shell_id),
        ("ResourceUri", request.resource_uri),
        ("Owner", owner),
        ("ClientIP", client_ip),
        ("IdleTimeOut", f"PT{idle_timeout:.3f}S"),
        ("InputStreams", "stdin pr"),
        ("OutputStreams", "stdout"),
        ("ShellRunTime", "P0DT0H0M0S"),
        ("ShellInactivity", "P0DT0H0M0S"),
    ):
        ET.SubElement(shell, f"{{{rsp}}}{name}").text = value
    return build_response(request, created, shell)


def command_response(request: WSManRequest, command_id: str) -> bytes:
    """The Command response carrying the CommandId (pypsrp uses the PowerShell id it proposed)."""
    rsp = NS["rsp"]
    response = ET.Element(f"{{{rsp}}}CommandResponse")
    ET.SubElement(response, f"{{{rsp}}}CommandId").text = command_id
    return build_response(request, response)


def receive_response(request: WSManRequest, command_id: str | None, chunks: list[bytes], done: bool) -> bytes:
    """A ReceiveResponse: one stdout Stream per chunk of PSRP fragments, CommandState Done when finished."""
    rsp = NS["rsp"]
    response = ET.Element(f"{{{rsp}}}ReceiveResponse")
    for chunk in chunks:
        stream = ET.SubElement(response, f"{{{rsp}}}Stream", Name="stdout")
        if command_id:
            stream.set("CommandId", command_id)
        stream.text = base64.b64encode(chunk).decode("ascii")
    if command_id:
        state = ET.SubElement(
            response,
            f"{{{rsp}}}CommandState",
            CommandId=command_id,
            State=CommandState.DONE if done else CommandState.RUNNING,
        )
        if done:
            ET.SubElement(state, f"{{{rsp}}}ExitCode").text = "0"
    return build_response(request, response)


def envelope_overhead() -> int:
    """Bytes a ReceiveResponse needs besides its base64 stream text (generous, like pypsrp's own estimate)."""
    return 1024


def fault_envelope(fault: WSManFault, relates_to: str = "", machine: str = "localhost") -> bytes:
    """A SOAP 1.2 fault with the WSManFault detail pypsrp parses (Code, Machine, Message)."""
    s, wsmanfault = NS["s"], NS["wsmanfault"]
    fault_el = ET.Element(f"{{{s}}}Fault")
    code = ET.SubElement(fault_el, f"{{{s}}}Code")
    ET.SubElement(code, f"{{{s}}}Value").text = fault.soap_code
    subcode = ET.SubElement(code, f"{{{s}}}Subcode")
    ET.SubElement(subcode, f"{{{s}}}Value").text = fault.subcode
    reason = ET.SubElement(fault_el, f"{{{s}}}Reason")
    ET.SubElement(reason, f"{{{s}}}Text", {f"{{{NS['xml']}}}lang": "en-US"}).text = fault.reason
    detail = ET.SubElement(fault_el, f"{{{s}}}Detail")
    wsman_fault = ET.SubElement(detail, f"{{{wsmanfault}}}WSManFault", Code=str(fault.code), Machine=machine)
    ET.SubElement(wsman_fault, f"{{{wsmanfault}}}Message").text = fault.message or fault.reason
    return _envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, [fault_el])
