"""Latency, transient faults and limits the lab injects, with the messages the real servers send. No I/O.

``FaultPlan.decide(action)`` picks, per WSMan request, whether to delay it and which transient fault (if any)
to answer with; the HTTP/WSMan layers act on the decision. Kinds (sources in FIDELITY.md, "Faults and quotas"):

- ``quota``: WinRM's per-user shell quota on Create, fault 2150859173 (ERROR_WSMAN_QUOTA_MAX_SHELLS), as if other
  shells of the user were open;
- ``busy``: HTTP 503 Service Unavailable (IIS/WinRM overloaded);
- ``drop``: the TCP connection is closed without a response;
- ``throttle``: Exchange's runspace budget: on-prem (2013+) Create is refused with the AuthorizationException
  "... maximum number of connections allowed : N for the policy party : MaxConcurrency"; through the Exchange
  Online jump host, Connect-ExchangeOnline fails with "... exceeded your budget to create runspace. Please wait
  for N seconds.";
- ``lost-reply``: the pipeline runs to its end, then the Receive that would carry its output and completion is
  dropped with the connection ("executed, but the answer was lost"). Not among the default kinds: a naive re-send
  of a lost reply runs the command twice, which is what this fault exists to expose.

``max_faults`` caps how many faults are injected in all (tests use 1: exactly one failure, then clean service).
"""

from __future__ import annotations

import dataclasses
import enum
import random
import threading
import uuid

from hybridkit.lab.transport._wsman import Action, WSManFault

__all__ = [
    "BUSY_BODY",
    "DEFAULT_KINDS",
    "FaultKind",
    "FaultPlan",
    "exchange_concurrency_fault",
    "exo_budget_message",
    "quota_fault",
]

BUSY_BODY = (
    b"<html><head><title>Service Unavailable</title></head><body><h2>Service Unavailable</h2>"
    b"<hr><p>HTTP Error 503. The service is unavailable.</p></body></html>"
)
ERROR_WSMAN_QUOTA_MAX_SHELLS = 2150859173
ERROR_WSMAN_QUOTA_MAX_OPERATIONS = 2150859174  # the concurrent-operations quota (not injected by the lab)
_PLUGIN_FAILED = 2152992672  # lab's choice: the code the lab uses for any failure inside the PowerShell plugin
_POLICY = ("Policy: CN=GlobalThrottlingPolicy_{guid},CN=Global Settings,CN=Contoso,CN=Microsoft Exchange,CN=Services,"
           "CN=Configuration,DC=contoso,DC=local; ")


class FaultKind(enum.Enum):
    """A transient fault the lab can inject."""

    QUOTA = "quota"
    BUSY = "busy"
    DROP = "drop"
    THROTTLE = "throttle"
    LOST_REPLY = "lost-reply"


DEFAULT_KINDS = (FaultKind.QUOTA, FaultKind.BUSY, FaultKind.DROP, FaultKind.THROTTLE)
_CREATE_ONLY = {FaultKind.QUOTA, FaultKind.THROTTLE}


def quota_fault(limit: int) -> WSManFault:
    """WinRM's fault when a user already has ``limit`` shells open (winrs MaxShellsPerUser), worded as WinRM does:
    a general s:Reason and a WSManFault Message that names the limit."""
    return WSManFault(
        ERROR_WSMAN_QUOTA_MAX_SHELLS,
        "w:QuotaLimit",
        "The WS-Management service cannot process the request. The maximum number of concurrent shells for this "
        "user has been exceeded. Close existing shells or raise the quota for this user.",
        soap_code="s:Sender",
        message="The WS-Management service cannot process the request. This user is allowed a maximum number of "
        f"{limit} concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user.",
    )


def _authz(text: str) -> str:
    return (f"[AuthZRequestId={uuid.uuid4()}][FailureCategory=AuthZ-AuthorizationException] {text}\r\n"
            + _POLICY.format(guid=uuid.uuid4()))


def exchange_concurrency_fault(limit: int = 18) -> WSManFault:
    """Exchange 2013+'s refusal of a runspace over the user's PowerShellMaxConcurrency budget (default 18)."""
    text = _authz(f"Fail to create a runspace because you have exceeded the maximum number of connections allowed : "
                  f"{limit} for the policy party : MaxConcurrency. Please close existing runspace and try again.")
    return WSManFault(_PLUGIN_FAILED, "w:InternalError", text)


def exo_budget_message(wait_seconds: int) -> str:
    """Exchange Online's refusal when runspaces are created faster than the user's budget allows."""
    return _authz(f"Fail to create runspace because you have exceeded your budget to create runspace. Please wait "
                  f"for {wait_seconds} seconds.")


@dataclasses.dataclass(frozen=True)
class Decision:
    """What to do with one request: sleep ``delay`` seconds, then inject ``fault`` (None = serve normally)."""

    delay: float
    fault: FaultKind | None


class FaultPlan:
    """Per-request latency and random transient faults.

    Args:
        latency_ms: Added to every WSMan request.
        fault_rate: Probability (0..1) that a request gets a transient fault.
        kinds: The fault kinds to choose from (quota and throttle only ever hit Create, lost-reply a Receive that
            completes a pipeline).
        seed: Seed for reproducible fault sequences.
        max_shells: The per-user shell limit the quota fault names.
        max_faults: Inject at most this many faults in all (None = no cap).
        throttle_wait: The N of Exchange Online's "Please wait for N seconds".
    """

    def __init__(
        self,
        latency_ms: float = 0.0,
        fault_rate: float = 0.0,
        kinds: tuple[FaultKind, ...] = DEFAULT_KINDS,
        seed: int | None = None,
        max_shells: int | None = None,
        max_faults: int | None = None,
        throttle_wait: int = 2,
    ) -> None:
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        self.latency = max(0.0, latency_ms) / 1000.0
        self.fault_rate = fault_rate
        self.kinds = tuple(kinds)
        self.max_shells = max_shells
        self.max_faults = max_faults
        self.throttle_wait = throttle_wait
        self.injected = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def _draw(self) -> bool:
        """One random draw against the rate, within the cap (caller holds the lock)."""
        if self.max_faults is not None and self.injected >= self.max_faults:
            return False
        if self._rng.random() >= self.fault_rate:
            return False
        self.injected += 1
        return True

    def decide(self, action: str) -> Decision:
        """The decision for a request with wsa:Action ``action`` (Delete is never faulted: cleanup must work;
        Receive only through ``lose_reply``)."""
        if self.fault_rate <= 0 or action == Action.DELETE or action == Action.RECEIVE:
            return Decision(self.latency, None)
        candidates = [k for k in self.kinds if k is not FaultKind.LOST_REPLY
                      and (action == Action.CREATE or k not in _CREATE_ONLY)]
        if not candidates:
            return Decision(self.latency, None)
        with self._lock:
            if not self._draw():
                return Decision(self.latency, None)
            return Decision(self.latency, self._rng.choice(candidates))

    def lose_reply(self) -> bool:
        """Whether the Receive that completes a pipeline loses its answer (the pipeline has already run)."""
        if self.fault_rate <= 0 or FaultKind.LOST_REPLY not in self.kinds:
            return False
        with self._lock:
            return self._draw()
