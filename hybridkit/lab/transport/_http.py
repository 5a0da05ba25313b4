"""The lab's HTTP/1.1 keep-alive server: TLS, TCP_NODELAY, authentication and message sealing per connection.

One handler instance serves one TCP connection for its whole life, so the Negotiate security context lives
on the handler: after the handshake every request must arrive sealed (``multipart/encrypted``) and every
response, faults included, leaves sealed; plaintext on such a connection is refused (AllowUnencrypted=false).
Requests are handed to a ``WSManApp`` callback: ``(endpoint, user, body, client_ip, injected) -> (status, body)``;
transport faults (503, a dropped connection) are injected here, the shell-level ones (quota, throttle) are passed
to the app as ``injected``, and an app status of 0 drops the connection without an answer (a lost reply).
"""

from __future__ import annotations

import base64
import dataclasses
import http.server
import logging
import socket
import socketserver
import ssl
import threading
import time
from typing import Callable

from hybridkit.lab._types import EndpointKind
from hybridkit.lab.transport._auth import AuthFailed, NegotiateContext, check_basic
from hybridkit.lab.transport._faults import BUSY_BODY, FaultKind, FaultPlan
from hybridkit.lab.transport._wsman import parse_request

__all__ = ["HttpOptions", "LabHTTPServer", "WSManApp"]

log = logging.getLogger(__name__)

WSManApp = Callable[[EndpointKind, str, bytes, str, "FaultKind | None"], tuple[int, bytes]]
_SOAP = "application/soap+xml;charset=UTF-8"
_PATHS = {"/powershell": EndpointKind.ONPREM, "/wsman": EndpointKind.ONLINE}


@dataclasses.dataclass
class HttpOptions:
    """Transport settings: ``auth`` is "basic" or "ntlm" (Negotiate: raw NTLM or SPNEGO-wrapped)."""

    auth: str
    users: dict[str, str]
    faults: FaultPlan
    ssl_context: ssl.SSLContext | None = None
    on_fault: Callable[[EndpointKind, str, FaultKind], None] | None = None
    # auth "kerberos"/"negotiate" (hybridkit.lab.transport._kerberos_auth.LabKerberos.http_options): context and challenge.
    context_factory: Callable[[], NegotiateContext] = NegotiateContext
    challenge: str = "Negotiate"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "LabHTTPServer"

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()
        self._negotiate: NegotiateContext | None = None
        self._user: str | None = None

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.client_address[0], *args)

    # -- plumbing ----------------------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes = b"", content_type: str | None = _SOAP,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body and content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._send(405, b"", None, {"Allow": "POST"})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        endpoint = _PATHS.get(self.path.split("?", 1)[0].rstrip("/").lower())
        if endpoint is None:
            self._send(404, b"", None)
            return
        if self.server.options.auth in ("ntlm", "kerberos", "negotiate"):
            self._post_negotiate(endpoint, body)
        else:
            self._post_basic(endpoint, body)

    # -- Basic -------------------------------------------------------------------------------------------------

    def _post_basic(self, endpoint: EndpointKind, body: bytes) -> None:
        user = check_basic(self.headers.get("Authorization", ""), self.server.options.users)
        if user is None:
            self._send(401, b"", None, {"WWW-Authenticate": 'Basic realm="WSMAN"'})
            return
        if not body:
            self._send(200, b"", None)
            return
        status, response = self._serve(endpoint, user, body)
        if status:
            self._send(status, response, _content_type(status))

    # -- Negotiate ---------------------------------------------------------------------------------------------

    def _post_negotiate(self, endpoint: EndpointKind, body: bytes) -> None:
        header = self.headers.get("Authorization", "")
        if header.split(" ", 1)[0].lower() in ("negotiate", "ntlm", "kerberos"):
            if self._negotiate is None or self._negotiate.complete:
                self._negotiate, self._user = self.server.options.context_factory(), None
            try:
                token = self._negotiate.step(header)
            except AuthFailed as exc:
                log.info("authentication failed: %s", exc)
                self._negotiate = None
                self._send(401, b"", None, {"WWW-Authenticate": self.server.options.challenge})
                return
            scheme = self._negotiate.scheme
            if not self._negotiate.complete:
                self._send(401, b"", None, {"WWW-Authenticate": f"{scheme} {_b64(token)}"})
                return
            self._user = self._negotiate.user
            final = {"WWW-Authenticate": f"{scheme} {_b64(token)}"} if token else {}
            if not body:
                self._send(200, b"", None, final)
                return
        if self._negotiate is None or not self._negotiate.complete or self._user is None:
            self._send(401, b"", None, {"WWW-Authenticate": self.server.options.challenge})
            return
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/encrypted"):
            if isinstance(self.request, ssl.SSLSocket):  # over HTTPS, TLS already protects the body
                status, response = self._serve(endpoint, self._user, body)
                if status:
                    self._send(status, response, _content_type(status))
                return
            # WinRM with AllowUnencrypted=false refuses plaintext once a sealing context exists.
            self._send(401, b"", None, {"WWW-Authenticate": self.server.options.challenge})
            return
        try:
            plain = self._negotiate.unwrap(body, content_type)
        except Exception as exc:  # noqa: BLE001 - any unsealing failure means a bad message
            log.info("cannot unseal request: %s", exc)
            self._send(400, b"", None)
            return
        status, response = self._serve(endpoint, self._user, plain)
        if not status:
            return
        if _content_type(status) != _SOAP:  # an IIS/HTTP.sys error page is never sealed
            self._send(status, response, _content_type(status))
            return
        sealed_type, sealed = self._negotiate.wrap(response)
        self._send(status, sealed, sealed_type)

    # -- application -------------------------------------------------------------------------------------------

    def _serve(self, endpoint: EndpointKind, user: str, body: bytes) -> tuple[int, bytes]:
        """Run faults/latency, then the WSMan app; (0, b"") means the connection was dropped."""
        plan = self.server.options.faults
        action = ""
        if plan.fault_rate > 0:  # faults depend on the action; parse it only when faults are on
            try:
                action = parse_request(body).action
            except Exception:  # noqa: BLE001 - the app answers malformed requests with a proper fault
                action = ""
        decision = plan.decide(action)
        if decision.delay:
            time.sleep(decision.delay)
        if decision.fault is not None:
            if self.server.options.on_fault is not None:
                self.server.options.on_fault(endpoint, action, decision.fault)
            if decision.fault is FaultKind.DROP:
                self._drop()
                return 0, b""
            if decision.fault is FaultKind.BUSY:
                return 503, BUSY_BODY
        status, response = self.server.app(endpoint, user, body, self.client_address[0], decision.fault)
        if status == 0:  # the app lost the reply on purpose: the client sees the connection drop
            self._drop()
        return status, response


def _content_type(status: int) -> str:
    """SOAP for WSMan answers (200 and 500 faults); HTML for the injected 503 error page."""
    return "text/html" if status == 503 else _SOAP


def _b64(token: bytes | None) -> str:
    return base64.b64encode(token or b"").decode("ascii")


class LabHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """Threaded HTTP/1.1 server (one thread per connection; long-polls block only their own connection)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], app: WSManApp, options: HttpOptions) -> None:
        self.app = app
        self.options = options
        super().__init__(address, _Handler)
        if options.ssl_context is not None:
            self.socket = options.ssl_context.wrap_socket(self.socket, server_side=True,
                                                          do_handshake_on_connect=False)
        self._thread: threading.Thread | None = None

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return int(self.server_address[1])

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="lab-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting and close the listening socket."""
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
